//! Where receipts go: a network printer (raw TCP, port 9100), a device file (`/dev/usb/lp0`,
//! a serial port) or a plain file (appended to: tests, archiving). [`send`] is async and
//! bounded in time, so a printer that is off or goes away mid-receipt gives a typed
//! [`PrinterError`] instead of a hang or a panic.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `DLE EOT 4`: the roll paper sensor status query.
pub const STATUS_QUERY: [u8; 3] = [0x10, 0x04, 0x04];
/// Paper-end bits of the answer to [`STATUS_QUERY`].
pub const PAPER_END: u8 = 0x60;

/// The raw printing port of network receipt printers.
pub const DEFAULT_PORT: u16 = 9100;

/// How the till reaches its receipt printer (`printer.connection` in `kasse.toml`):
/// `none`, `tcp://HOST[:PORT]`, `device:/dev/usb/lp0` or `file:/path/receipts.escpos`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PrinterConnection {
    /// No printer: printing is refused with [`PrinterError::NotConfigured`].
    #[default]
    None,
    /// A network printer's raw port.
    Tcp { host: String, port: u16 },
    /// A character device (USB line printer, serial port).
    Device(PathBuf),
    /// A file the ESC/POS bytes are appended to.
    File(PathBuf),
}

/// A `printer.connection` value that is none of the forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("printer connection {0:?} is not one of: none, tcp://HOST[:PORT], device:PATH, file:PATH")]
pub struct ConnectionParseError(pub String);

impl FromStr for PrinterConnection {
    type Err = ConnectionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || ConnectionParseError(s.to_string());
        if text.is_empty() || text.eq_ignore_ascii_case("none") {
            return Ok(Self::None);
        }
        if let Some(rest) = text.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                    (h, p.parse::<u16>().map_err(|_| bad())?)
                }
                _ => (rest, DEFAULT_PORT),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || port == 0 {
                return Err(bad());
            }
            return Ok(Self::Tcp {
                host: host.to_string(),
                port,
            });
        }
        if let Some(path) = text.strip_prefix("device:").filter(|p| !p.is_empty()) {
            return Ok(Self::Device(PathBuf::from(path)));
        }
        if let Some(path) = text.strip_prefix("file:").filter(|p| !p.is_empty()) {
            return Ok(Self::File(PathBuf::from(path)));
        }
        Err(bad())
    }
}

impl fmt::Display for PrinterConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Self::Device(p) => write!(f, "device:{}", p.display()),
            Self::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl Serialize for PrinterConnection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PrinterConnection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a document did not reach the printer. `Clone` (sources shared) so it can travel in a
/// message to the window.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PrinterError {
    #[error("no receipt printer is configured (set printer.connection)")]
    NotConfigured,
    #[error("the printer at {address} refused the connection: is it on and connected?")]
    Refused {
        address: String,
        source: Arc<std::io::Error>,
    },
    #[error("the printer at {address} cannot be reached: {source}")]
    Unreachable {
        address: String,
        source: Arc<std::io::Error>,
    },
    #[error("the printer at {address} did not answer within {seconds} s ({stage})")]
    Timeout {
        address: String,
        stage: &'static str,
        seconds: u64,
    },
    #[error("the printer at {address} is out of paper (or its cover is open)")]
    PaperOut { address: String },
    #[error("the printer at {address} went away in the middle of the receipt: {source}")]
    Lost {
        address: String,
        source: Arc<std::io::Error>,
    },
    #[error("cannot open the printer {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("writing to the printer {} failed: {source}", path.display())]
    Write {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
}

/// Time limits of one print job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub write: Duration,
    /// After the last byte: how long to wait for a network printer to close its side (a
    /// reset in this time means it lost the receipt; silence means it kept the line open).
    pub drain: Duration,
    /// A network printer is first asked for its paper status (`DLE EOT 4`); this long is
    /// waited for the answer (no answer: the receipt is sent anyway). `None`: not asked.
    pub status: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            write: Duration::from_secs(15),
            drain: Duration::from_secs(2),
            status: Some(Duration::from_millis(500)),
        }
    }
}

/// Sends `bytes` to the printer. Never panics; every failure is a [`PrinterError`].
pub async fn send(
    connection: &PrinterConnection,
    bytes: &[u8],
    timeouts: Timeouts,
) -> Result<(), PrinterError> {
    match connection {
        PrinterConnection::None => Err(PrinterError::NotConfigured),
        PrinterConnection::Tcp { host, port } => send_tcp(host, *port, bytes, timeouts).await,
        PrinterConnection::Device(path) => write_file(path, bytes, false, timeouts).await,
        PrinterConnection::File(path) => write_file(path, bytes, true, timeouts).await,
    }
}

async fn send_tcp(
    host: &str,
    port: u16,
    bytes: &[u8],
    timeouts: Timeouts,
) -> Result<(), PrinterError> {
    let address = format!("{host}:{port}");
    let timeout = |stage: &'static str, limit: Duration| PrinterError::Timeout {
        address: address.clone(),
        stage,
        seconds: limit.as_secs().max(1),
    };
    let connect = tokio::net::TcpStream::connect((host, port));
    let mut stream = match tokio::time::timeout(timeouts.connect, connect).await {
        Err(_) => return Err(timeout("connecting", timeouts.connect)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(PrinterError::Refused {
                address,
                source: Arc::new(e),
            });
        }
        Ok(Err(e)) => {
            return Err(PrinterError::Unreachable {
                address,
                source: Arc::new(e),
            });
        }
        Ok(Ok(s)) => s,
    };
    let lost = |e: std::io::Error| PrinterError::Lost {
        address: address.clone(),
        source: Arc::new(e),
    };
    if let Some(wait) = timeouts.status {
        // DLE EOT 4: roll paper sensor status. Bits 5 and 6 set: the paper has run out.
        stream.write_all(&STATUS_QUERY).await.map_err(lost)?;
        let mut status = [0u8; 1];
        if let Ok(Ok(1)) = tokio::time::timeout(wait, stream.read(&mut status)).await
            && status[0] & 0x12 == 0x12
            && status[0] & PAPER_END != 0
        {
            return Err(PrinterError::PaperOut { address });
        }
    }
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    match tokio::time::timeout(timeouts.write, write).await {
        Err(_) => return Err(timeout("sending the receipt", timeouts.write)),
        Ok(Err(e)) => return Err(lost(e)),
        Ok(Ok(())) => {}
    }
    // The printer may answer status bytes; a reset means it dropped what we sent.
    let mut sink = [0u8; 64];
    let drain = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e),
            }
        }
    };
    match tokio::time::timeout(timeouts.drain, drain).await {
        Err(_) | Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(lost(e)),
    }
}

async fn write_file(
    path: &std::path::Path,
    bytes: &[u8],
    append: bool,
    timeouts: Timeouts,
) -> Result<(), PrinterError> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true);
    if append {
        options.create(true).append(true);
    }
    let open = tokio::time::timeout(timeouts.connect, options.open(path));
    let mut file = match open.await {
        Err(_) => {
            return Err(PrinterError::Timeout {
                address: path.display().to_string(),
                stage: "opening",
                seconds: timeouts.connect.as_secs().max(1),
            });
        }
        Ok(Err(e)) => {
            return Err(PrinterError::Open {
                path: path.to_path_buf(),
                source: Arc::new(e),
            });
        }
        Ok(Ok(f)) => f,
    };
    let write = async {
        file.write_all(bytes).await?;
        file.flush().await?;
        if append {
            file.sync_data().await?;
        }
        Ok::<(), std::io::Error>(())
    };
    match tokio::time::timeout(timeouts.write, write).await {
        Err(_) => Err(PrinterError::Timeout {
            address: path.display().to_string(),
            stage: "writing",
            seconds: timeouts.write.as_secs().max(1),
        }),
        Ok(Err(e)) => Err(PrinterError::Write {
            path: path.to_path_buf(),
            source: Arc::new(e),
        }),
        Ok(Ok(())) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_text_forms_round_trip() {
        for (text, want) in [
            ("none", PrinterConnection::None),
            ("", PrinterConnection::None),
            (
                "tcp://192.0.2.10",
                PrinterConnection::Tcp {
                    host: "192.0.2.10".into(),
                    port: 9100,
                },
            ),
            (
                "tcp://printer.local:9101",
                PrinterConnection::Tcp {
                    host: "printer.local".into(),
                    port: 9101,
                },
            ),
            (
                "tcp://[::1]:9100",
                PrinterConnection::Tcp {
                    host: "::1".into(),
                    port: 9100,
                },
            ),
            (
                "device:/dev/usb/lp0",
                PrinterConnection::Device("/dev/usb/lp0".into()),
            ),
            (
                "file:/tmp/r.bin",
                PrinterConnection::File("/tmp/r.bin".into()),
            ),
        ] {
            let parsed: PrinterConnection = text.parse().unwrap();
            assert_eq!(parsed, want, "{text}");
            assert_eq!(parsed.to_string().parse::<PrinterConnection>(), Ok(want));
        }
        for bad in ["lp0", "tcp://", "tcp://host:port", "file:", "usb:/dev/x"] {
            assert!(bad.parse::<PrinterConnection>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn refused_and_missing_device_are_typed_errors() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let tcp = PrinterConnection::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let err = send(&tcp, b"x", Timeouts::default()).await.unwrap_err();
        assert!(matches!(err, PrinterError::Refused { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let device = PrinterConnection::Device(dir.path().join("lp9"));
        let err = send(&device, b"x", Timeouts::default()).await.unwrap_err();
        assert!(matches!(err, PrinterError::Open { .. }), "{err}");
        let err = send(&PrinterConnection::None, b"x", Timeouts::default())
            .await
            .unwrap_err();
        assert!(matches!(err, PrinterError::NotConfigured));
        let file = PrinterConnection::File(dir.path().join("r.bin"));
        send(&file, b"ab", Timeouts::default()).await.unwrap();
        send(&file, b"cd", Timeouts::default()).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("r.bin")).unwrap(), b"abcd");
    }
}
