//! Server-streaming helpers shared by the services.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tonic::Status;

use crate::context::Context;
use crate::events::Sequenced;

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

/// A `Watch` stream: the `snapshot` messages first, then every event from `events`
/// converted by `convert`, until the client goes away or the daemon shuts down. A client
/// that falls behind the bus gets `DATA_LOSS` and should reconnect with a snapshot.
pub fn watch<E, T>(
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
