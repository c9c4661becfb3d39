//! Every domain error becomes a `tonic::Status` here, and only here, so that clients see
//! one consistent mapping (not found, invalid argument, failed precondition, ...).

use tonic::Status;

use crate::sessions::index::ResolveError;
use crate::store::StoreError;

impl From<StoreError> for Status {
    fn from(err: StoreError) -> Status {
        Status::internal(err.to_string())
    }
}

impl From<ResolveError> for Status {
    fn from(err: ResolveError) -> Status {
        match err {
            ResolveError::NotFound(_) => Status::not_found(err.to_string()),
            ResolveError::Ambiguous { .. } => Status::invalid_argument(err.to_string()),
        }
    }
}

/// A blocking task that panicked or was cancelled.
pub fn join_error(err: tokio::task::JoinError) -> Status {
    Status::internal(format!("internal task failed: {err}"))
}

/// An I/O error while serving a request, with what was being done.
pub fn io_error(what: &str, err: std::io::Error) -> Status {
    match err.kind() {
        std::io::ErrorKind::NotFound => Status::not_found(format!("{what}: {err}")),
        _ => Status::internal(format!("{what}: {err}")),
    }
}

impl From<crate::supervisor::SupervisorError> for Status {
    fn from(err: crate::supervisor::SupervisorError) -> Status {
        use crate::supervisor::SupervisorError as E;
        use crate::worktree::WorktreeError as W;
        let message = err.to_string();
        match err {
            E::NotFound(_) => Status::not_found(message),
            E::Ambiguous(..) | E::Invalid(_) => Status::invalid_argument(message),
            E::Precondition(_) => Status::failed_precondition(message),
            E::Worktree(
                W::NotARepo { .. }
                | W::NoCommits { .. }
                | W::UnknownRef { .. }
                | W::CheckedOut { .. },
            ) => Status::failed_precondition(message),
            E::Worktree(_) => Status::internal(message),
            E::Store(_) | E::Task { .. } => Status::internal(message),
        }
    }
}

impl From<crate::devices::DeviceError> for Status {
    fn from(err: crate::devices::DeviceError) -> Status {
        use crate::devices::DeviceError as E;
        let message = err.to_string();
        match err {
            E::BadCode | E::BadToken | E::BadLink => Status::unauthenticated(message),
            E::BadName(_) => Status::invalid_argument(message),
            E::NoPage(_) => Status::failed_precondition(message),
            E::RateLimited => Status::resource_exhausted(message),
            E::NotFound(_) => Status::not_found(message),
            E::Store(_) => Status::internal(message),
        }
    }
}

impl From<crate::approvals::ApprovalError> for Status {
    fn from(err: crate::approvals::ApprovalError) -> Status {
        use crate::approvals::ApprovalError as E;
        let message = err.to_string();
        match err {
            E::NotFound(_) => Status::not_found(message),
            E::Ambiguous(..) | E::Invalid(_) => Status::invalid_argument(message),
            E::AlreadyAnswered(_) => Status::failed_precondition(message),
            E::Store(_) => Status::internal(message),
        }
    }
}

impl From<crate::notify::PushError> for Status {
    fn from(err: crate::notify::PushError) -> Status {
        use crate::notify::PushError as E;
        let message = err.to_string();
        match err {
            E::Invalid(_) => Status::invalid_argument(message),
            E::Store(_) => Status::internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use crate::supervisor::{SupervisorError, blocking};

    #[tokio::test]
    async fn a_panicked_blocking_task_is_internal_not_a_precondition() {
        let err = blocking("a task that panics", || panic!("boom"))
            .await
            .expect_err("the task panicked");
        assert!(matches!(err, SupervisorError::Task { .. }), "{err}");
        let status = tonic::Status::from(err);
        assert_eq!(status.code(), Code::Internal, "{status:?}");
        assert!(
            status
                .message()
                .contains("a task that panics failed unexpectedly"),
            "{status:?}"
        );
    }
}
