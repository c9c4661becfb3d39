//! One attempt at sending: what it answered, or how it went wrong and whether another
//! try could help. Every channel ([`super::channels`], [`super::desktop`], [`super::webpush`])
//! reports in these terms, and [`super::delivery`] retries on them.

/// How one attempt went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth another try: no connection, a timeout, a 5xx or 429 answer.
    #[error("{0}")]
    Transient(String),
    /// Another try would fail the same way (a 4xx answer, a bad URL).
    #[error("{0}")]
    Permanent(String),
}

/// What an attempt answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Delivered; the receiver's answer ("200 OK").
    Sent(String),
    /// Not attempted, on purpose (no desktop session).
    Skipped(String),
}

impl Answer {
    /// The answer as text.
    pub fn text(&self) -> &str {
        match self {
            Answer::Sent(text) | Answer::Skipped(text) => text,
        }
    }
}

/// Turns an HTTP outcome into an answer or an error of the right sort.
pub async fn answer(
    outcome: Result<reqwest::Response, reqwest::Error>,
) -> Result<Answer, SendError> {
    let response = outcome.map_err(|err| {
        let what = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            format!("cannot connect: {}", root_cause(&err))
        } else {
            root_cause(&err)
        };
        if err.is_builder() {
            SendError::Permanent(what)
        } else {
            SendError::Transient(what)
        }
    })?;
    let status = response.status();
    let text = status.to_string();
    if status.is_success() {
        Ok(Answer::Sent(text))
    } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Err(SendError::Transient(format!("answered {text}")))
    } else {
        Err(SendError::Permanent(format!("answered {text}")))
    }
}

/// The innermost cause of `err`, which says what actually went wrong.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
