//! The agent's end of the control socket: binding it safely and serving
//! one request per connection.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::group::gid_of;
use super::protocol::{Request, Response, MAX_LINE};

/// The socket's mode: owner and group may connect, others may not.
const SOCKET_MODE: u32 = 0o660;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the control socket could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another agent answers on the socket: it is not taken from it.
    #[error("{0} is in use by a running agent (control.socket): stop it first or give this one another socket")]
    InUse(PathBuf),
    /// Something that is not a socket is in the way.
    #[error("{0} exists and is not a socket (control.socket): remove it or choose another path")]
    NotASocket(PathBuf),
    /// The group does not exist.
    #[error("group {0:?} (control.group) is not in /etc/group")]
    UnknownGroup(String),
    /// Any other failure, with what was being done.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What failed, e.g. "cannot bind".
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A request from a client, to be answered through `reply`.
pub struct Incoming {
    /// What the client asks.
    pub request: Request,
    /// The client's uid (`SO_PEERCRED`).
    pub uid: u32,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Response>,
}

/// The bound control socket; the file is removed when it is dropped.
pub struct ControlListener {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlListener {
    /// Binds the socket at `path` with mode 0660 (and `group`, when given).
    /// A socket file left by a dead agent is replaced; a live agent's is not.
    pub fn bind(path: &Path, group: Option<&str>) -> Result<ControlListener, BindError> {
        let io = |what, source| BindError::Io {
            what,
            path: path.to_path_buf(),
            source,
        };
        remove_stale(path)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("cannot create the directory of", e))?;
        }
        let listener = UnixListener::bind(path).map_err(|e| io("cannot bind", e))?;
        let bound = ControlListener {
            listener,
            path: path.to_path_buf(),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|e| io("cannot set the mode of", e))?;
        if let Some(group) = group {
            let gid = gid_of(group, Path::new("/etc/group"))
                .map_err(|e| io("cannot read", e))?
                .ok_or_else(|| BindError::UnknownGroup(group.to_owned()))?;
            std::os::unix::fs::chown(path, None, Some(gid))
                .map_err(|e| io("cannot change the group of", e))?;
        }
        Ok(bound)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts connections until `shutdown` turns true, handing each
    /// request to `handler` and writing back its answer. A failed accept is
    /// logged and survived.
    pub async fn serve(self, handler: mpsc::Sender<Incoming>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(answer(stream, handler.clone()));
                    }
                    Err(error) => {
                        tracing::warn!("control socket {}: accept failed: {error}", self.path.display());
                    }
                },
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
    }
}

impl Drop for ControlListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes a socket file nobody listens on; refuses to touch a live one.
fn remove_stale(path: &Path) -> Result<(), BindError> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(BindError::Io {
                what: "cannot look at",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if !metadata.file_type().is_socket() {
        return Err(BindError::NotASocket(path.to_path_buf()));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(BindError::InUse(path.to_path_buf())),
        Err(error) if error.kind() == ErrorKind::ConnectionRefused => {
            tracing::info!("replacing the stale control socket {}", path.display());
            std::fs::remove_file(path).map_err(|source| BindError::Io {
                what: "cannot remove the stale socket",
                path: path.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(BindError::Io {
            what: "cannot connect to the existing socket",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads one request, has it handled, writes the answer.
async fn answer(stream: UnixStream, handler: mpsc::Sender<Incoming>) {
    let uid = match rustix::net::sockopt::socket_peercred(&stream) {
        Ok(credentials) => credentials.uid.as_raw(),
        Err(error) => {
            tracing::warn!("control socket: cannot read the peer's credentials: {error}");
            return;
        }
    };
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(reader.take(MAX_LINE as u64));
    let read = tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line)).await;
    let response = match read {
        Ok(Ok(_)) => match serde_json::from_str::<Request>(line.trim()) {
            Ok(request) => {
                let (reply, answer) = oneshot::channel();
                let incoming = Incoming {
                    request,
                    uid,
                    reply,
                };
                if handler.send(incoming).await.is_err() {
                    Response::refused("the agent is stopping")
                } else {
                    answer
                        .await
                        .unwrap_or_else(|_| Response::refused("the agent is stopping"))
                }
            }
            Err(error) => Response::refused(format!("not a request: {error}")),
        },
        Ok(Err(error)) => Response::refused(format!("cannot read the request: {error}")),
        Err(_) => Response::refused("no request within 5 s"),
    };
    let mut text = serde_json::to_string(&response).unwrap_or_default();
    text.push('\n');
    let _ = writer.write_all(text.as_bytes()).await;
    let _ = writer.shutdown().await;
}
