//! The local control socket: how `dnsfailover drain`, `pin`, `release`,
//! `overrides`, `failback` and `reload` talk to the running agent.
//!
//! A Unix stream socket (never a TCP port), mode 0660 and optionally given
//! a group, so that only its owner, root and the group's members can
//! connect; each request is attributed to the peer's uid from
//! `SO_PEERCRED`.
//!
//! The protocol is one JSON object per line each way: the client sends one
//! [`Request`] and reads one [`Response`], then the connection closes.
//!
//! ```text
//! > {"command":"drain","server":"web1","record":null,"for_seconds":600.0,"reason":"kernel update"}
//! < {"ok":true,"message":"web1 drained in every record until 2026-12-02T15:40:00.000Z","overrides":[...]}
//! > {"command":"release","target":"web1"}
//! > {"command":"pin","record":"www.example.test.","server":"web2","for_seconds":null,"reason":""}
//! > {"command":"failback","record":"www.example.test."}
//! > {"command":"overrides"}
//! > {"command":"reload"}
//! ```
//!
//! `ok: false` means the agent refused (an unknown server or record, a
//! reload whose file is invalid); `message` says why.

mod client;
mod group;
mod listener;
mod protocol;

pub use client::{ask, ClientError};
pub use listener::{BindError, ControlListener, Incoming};
pub use protocol::{Request, Response, MAX_LINE};
