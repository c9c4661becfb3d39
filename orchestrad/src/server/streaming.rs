//! Server-streaming helpers shared by the services.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tonic::Status;

use crate::context::Context;
use crate::events::{Bus, Sequenced};

/// A boxed server stream.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A server stream fed by a task through a bounded channel (backpressure: a slow client
/// makes its own task wait, not the daemon).
pub fn async_stream<T, F, Fut>(body: F) -> BoxStream<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(body(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// What a `Watch` call streams: when asked, the current items first (each as a
/// `snapshot` message), then every event of the bus.
pub struct Watch<'a, E, S> {
    /// The bus to follow.
    pub bus: &'a Bus<E>,
    /// Whether the client asked for the current items first.
    pub snapshot: bool,
    /// The current items, read only when asked for, after subscribing to the bus, so no
    /// event falls between the two.
    pub current: Box<dyn FnOnce() -> Vec<S> + 'a>,
}

impl<E: Clone + Send + 'static, S> Watch<'_, E, S> {
    /// The stream: `as_snapshot` makes the snapshot messages, `as_event` the live ones.
    pub fn stream<T: Send + 'static>(
        self,
        ctx: Arc<Context>,
        as_snapshot: impl Fn(&S) -> T,
        as_event: impl Fn(Sequenced<E>) -> T + Send + 'static,
    ) -> BoxStream<T> {
        let events = self.bus.subscribe();
        let snapshot = if self.snapshot {
            (self.current)().iter().map(as_snapshot).collect()
        } else {
            Vec::new()
        };
        watch(ctx, events, snapshot, as_event)
    }
}

/// A `Watch` stream: the `snapshot` messages first, then every event from `events`
/// converted by `convert`, until the client goes away or the daemon shuts down. A client
/// that falls behind the bus gets `DATA_LOSS` and should reconnect with a snapshot.
fn watch<E, T>(
    ctx: Arc<Context>,
    mut events: broadcast::Receiver<Sequenced<E>>,
    snapshot: Vec<T>,
    convert: impl Fn(Sequenced<E>) -> T + Send + 'static,
) -> BoxStream<T>
where
    E: Clone + Send + 'static,
    T: Send + 'static,
{
    async_stream(move |tx| async move {
        for message in snapshot {
            if tx.send(Ok(message)).await.is_err() {
                return;
            }
        }
        loop {
            let next = tokio::select! {
                next = events.recv() => next,
                () = ctx.shutdown_requested() => return,
            };
            let message = match next {
                Ok(event) => Ok(convert(event)),
                Err(RecvError::Lagged(missed)) => Err(Status::data_loss(format!(
                    "this watcher fell {missed} events behind; reconnect with a snapshot"
                ))),
                Err(RecvError::Closed) => return,
            };
            let failed = message.is_err();
            if tx.send(message).await.is_err() || failed {
                return;
            }
        }
    })
}
