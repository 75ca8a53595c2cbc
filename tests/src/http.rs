//! The tiny HTTP/1.1 server under the in-process test services
//! ([`crate::cincinnati`]'s update service, [`crate::charts`]' chart
//! repository).
//!
//! One request per connection: a [`Server`] accepts connections on a
//! loopback port, reads each request head (at most 64 KiB, [`read_head`]),
//! parses it into a [`Request`], asks the handler for a [`Response`] and
//! writes it with `Content-Length` and `Connection: close` (no body for
//! `HEAD`, [`write_response`]), then closes the connection. Request bodies are
//! never read.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// `GET`, `HEAD`, … (empty when the request line has none).
    pub method: String,
    /// The request target as sent, query included.
    pub target: String,
    /// The target without the query.
    pub path: String,
    /// The raw query string (without `?`; empty when there is none).
    pub query: String,
    /// Header fields in order, names lowercased, names and values trimmed.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// Parses a request head (without the final blank line).
    pub fn parse(head: &str) -> Request {
        let mut lines = head.split("\r\n");
        let mut parts = lines.next().unwrap_or_default().split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_string(), query.to_string()),
            None => (target.clone(), String::new()),
        };
        Request {
            method,
            target,
            path,
            query,
            headers,
        }
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// A response to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: String,
    /// The body (its length is always sent; the bytes are not for `HEAD`).
    pub body: Vec<u8>,
    /// More header fields, written after `Content-Type`.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// A response with no extra headers.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: content_type.to_string(),
            body,
            headers: Vec::new(),
        }
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            text.as_bytes().to_vec(),
        )
    }

    /// The status line, headers and blank line.
    fn head(&self) -> String {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        head
    }
}

/// The reason phrase of `status` (`Status` for codes the services never
/// answer with on their own).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// A server listening on a `127.0.0.1` port: the accept loop of [`spawn`]
/// and how to stop and restart it. Stops when dropped.
pub(crate) struct Server {
    port: u16,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds a free `127.0.0.1` port, to pass to [`Server::start`] (its port
    /// is known before anything is served).
    pub async fn bind() -> anyhow::Result<TcpListener> {
        TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")
    }

    /// Serves `listener` with `handler` (see [`spawn`]).
    pub fn start<H>(listener: TcpListener, handler: H) -> anyhow::Result<Server>
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let port = listener.local_addr()?.port();
        Ok(Server {
            port,
            task: Some(spawn(listener, handler)),
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops listening: from now on connections are refused. Returns once the
    /// port is closed.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port with `handler` (after
    /// [`Server::stop`]; nothing when it is listening).
    pub async fn resume<H>(&mut self, handler: H) -> anyhow::Result<()>
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        if self.task.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{} again", self.port))?;
        self.task = Some(spawn(listener, handler));
        Ok(())
    }

    /// Whether it is listening.
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Serves every connection `listener` accepts, each on its own task, with
/// `handler` (called once per request, off the async path: it must not
/// block for long). Abort the returned task to stop listening.
fn spawn<H>(listener: TcpListener, handler: H) -> JoinHandle<()>
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = serve(conn, &*handler).await;
            });
        }
    })
}

/// Reads the request head (at most 64 KiB), without the final blank line.
pub(crate) async fn read_head(conn: &mut TcpStream) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
        anyhow::ensure!(buf.len() < 64 << 10, "request head too large");
        let n = conn.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the end of the head");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Writes `response` (no body for a `HEAD` request) and closes the stream.
pub(crate) async fn write_response(
    conn: &mut TcpStream,
    method: &str,
    response: &Response,
) -> anyhow::Result<()> {
    conn.write_all(response.head().as_bytes()).await?;
    if method != "HEAD" {
        conn.write_all(&response.body).await?;
    }
    conn.flush().await?;
    let _ = conn.shutdown().await;
    Ok(())
}

async fn serve<H>(mut conn: TcpStream, handler: &H) -> anyhow::Result<()>
where
    H: Fn(&Request) -> Response,
{
    let request = Request::parse(&read_head(&mut conn).await?);
    let response = handler(&request);
    write_response(&mut conn, &request.method, &response).await
}
