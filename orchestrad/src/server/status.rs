//! Every domain error becomes a `tonic::Status` here, and only here, so that clients see
//! one consistent mapping (not found, invalid argument, failed precondition, ...).

use tonic::Status;

use crate::store::StoreError;

impl From<StoreError> for Status {
    fn from(err: StoreError) -> Status {
        Status::internal(err.to_string())
    }
}
