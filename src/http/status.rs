//! `/status`: the snapshot as compact JSON (the schema is described in the README;
//! `version` changes whenever a field changes meaning or disappears).

use hyper::{Response, StatusCode};

use super::{ok, plain, Body};
use crate::snapshot::Snapshot;

/// The JSON answer.
pub fn respond(snapshot: &Snapshot) -> Response<Body> {
    match serde_json::to_vec(snapshot) {
        Ok(mut json) => {
            json.push(b'\n');
            ok("application/json", json)
        }
        Err(error) => {
            tracing::error!("cannot serialize the snapshot: {error}");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot serialize the status\n",
            )
        }
    }
}
