//! HTTP serving on hyper: one task per connection (keep-alive included), the request
//! body read with a size cap, then [`crate::service::route`] decides the answer. Only this
//! module touches sockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::service::verify::MAX_BODY_BYTES;
use crate::service::{route, Body, Received, Reply, Service};

/// Bodies past the limit are read and thrown away up to this much more, so that the
/// client can read the answer; beyond that the connection is closed after answering.
const DRAIN_CAP_BYTES: u64 = 64 * 1024 * 1024;
/// A connection that sends nothing of a request head for this long is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A request whose body takes longer than this to arrive is dropped.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts connections until the listener fails; each connection gets a task.
pub async fn serve(listener: tokio::net::TcpListener, service: Arc<Service>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait a moment rather than spin.
            Err(e) if is_transient_accept_error(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            let handler = service_fn(move |request| respond(Arc::clone(&service), peer, request));
            // A connection that ends badly (client gone, `close` fault) is nothing to report.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}

fn is_transient_accept_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        || e.raw_os_error().is_some_and(|c| c == libc::EMFILE || c == libc::ENFILE)
}

/// Returned to hyper to close a connection without an answer.
#[derive(Debug)]
struct CloseWithoutAnswer;

impl std::fmt::Display for CloseWithoutAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed without an answer")
    }
}

impl std::error::Error for CloseWithoutAnswer {}

async fn respond(
    service: Arc<Service>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, CloseWithoutAnswer> {
    let (parts, incoming) = request.into_parts();
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let read = match tokio::time::timeout(BODY_READ_TIMEOUT, read_body(incoming, declared)).await {
        Ok(read) => read,
        Err(_) => Err(Body::Unreadable),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let received = Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: match &read {
            Ok(bytes) => Body::Complete(bytes),
            Err(unread) => *unread,
        },
        remote: Some(peer.to_string()),
    };
    match route(&service, &received) {
        Reply::Close => Err(CloseWithoutAnswer),
        Reply::Hang(time) => {
            tokio::time::sleep(time).await;
            Err(CloseWithoutAnswer)
        }
        Reply::Answer { status, content_type, body, delay, close } => {
            if !delay.is_zero() {
                // Only this request waits; other connections go on.
                tokio::time::sleep(delay).await;
            }
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            // hyper would send the host's time; the emulator's clock may run offset.
            if let Ok(date) = HeaderValue::from_str(&service.clock().http_date()) {
                headers.insert(DATE, date);
            }
            if close {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    }
}

/// The whole body, or why there is none to use.
async fn read_body(mut incoming: Incoming, declared: Option<u64>) -> Result<Vec<u8>, Body<'static>> {
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64 + DRAIN_CAP_BYTES) {
        return Err(Body::TooLarge { close: true });
    }
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else { return Err(Body::Unreadable) };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > MAX_BODY_BYTES as u64 + DRAIN_CAP_BYTES {
            return Err(Body::TooLarge { close: true });
        }
        if total <= MAX_BODY_BYTES as u64 {
            buf.extend_from_slice(&data);
        }
    }
    if total > MAX_BODY_BYTES as u64 {
        Err(Body::TooLarge { close: false })
    } else {
        Ok(buf)
    }
}
