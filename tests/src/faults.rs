//! A loopback front that injects the faults a real registry will not produce.
//!
//! `FaultProxy` listens on a free 127.0.0.1 port and forwards every connection
//! to a registry, one request per connection (it adds `Connection: close` both
//! ways). A [`Fault`] rule picks requests by method and a substring of the path
//! and, for its first `times` matches, answers with an HTTP status, cuts the
//! response body after some bytes, or flips one byte of it. Everything else
//! passes through untouched, so the registry under it stays the real thing.
//!
//! A [`Tripwire`] shared by one or more fronts counts the requests that reach
//! them and holds the k-th (and every later one) unanswered, so that a test
//! can kill the client at a point of the run that a number names.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to do to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer with this status and an empty body, without asking the registry.
    Status(u16),
    /// Forward, but close the connection after this many body bytes.
    CutAfter(usize),
    /// Forward, with the body byte at this offset inverted.
    FlipByte(usize),
    /// Forward the head, then the body one byte every 100 ms.
    Trickle,
    /// Accept the request and never answer it.
    Stall,
}

/// A fault rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `GET`, `HEAD`, … (exact).
    pub method: String,
    /// A substring of the request path, e.g. `/blobs/sha256:…` or `/manifests/`.
    pub path_contains: String,
    pub action: Action,
    /// How many matching requests get the fault (`usize::MAX`: all).
    pub times: usize,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<(Fault, usize)>,
    /// Every fault injected: (method, path, action).
    injected: Vec<(String, String, Action)>,
}

/// Counts requests across fronts; once armed at `k`, the k-th request and
/// every later one are held (never forwarded, never answered).
#[derive(Debug, Default)]
pub struct Tripwire {
    seen: AtomicUsize,
    at: AtomicUsize,
    tripped: AtomicBool,
    released: AtomicBool,
    /// Requests forwarded and not finished yet.
    in_flight: AtomicUsize,
}

impl Tripwire {
    pub fn new() -> Arc<Tripwire> {
        Arc::new(Tripwire::default())
    }

    /// Starts counting again from 0; holds the `at`-th request (0: none).
    pub fn arm(&self, at: usize) {
        self.tripped.store(false, Ordering::SeqCst);
        self.released.store(false, Ordering::SeqCst);
        self.seen.store(0, Ordering::SeqCst);
        self.at.store(at, Ordering::SeqCst);
    }

    /// Requests seen since [`Tripwire::arm`].
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// Whether a request is being held.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::SeqCst)
    }

    /// Lets the held requests, and every later one, through.
    pub fn release(&self) {
        self.at.store(0, Ordering::SeqCst);
        self.released.store(true, Ordering::SeqCst);
    }

    /// Waits until every forwarded request has finished: after a kill, the
    /// requests already on their way still reach the registry, and what the
    /// registry holds is only settled once they have.
    pub async fn settle(&self) {
        for _ in 0..6000 {
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("requests still in flight 30 s after the client stopped");
    }

    /// Counts a request; false when it must be held.
    fn pass(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let at = self.at.load(Ordering::SeqCst);
        if at != 0 && n >= at {
            self.tripped.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }
}

/// A running fault-injecting front; stops when dropped.
pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a front for `upstream` (`host:port`, plain HTTP) with these rules.
    pub async fn start(upstream: &str, faults: Vec<Fault>) -> anyhow::Result<FaultProxy> {
        Self::start_with(upstream, faults, None).await
    }

    /// A front that passes everything, counted by `wire`.
    pub async fn tripped_by(upstream: &str, wire: Arc<Tripwire>) -> anyhow::Result<FaultProxy> {
        Self::start_with(upstream, Vec::new(), Some(wire)).await
    }

    async fn start_with(
        upstream: &str,
        faults: Vec<Fault>,
        wire: Option<Arc<Tripwire>>,
    ) -> anyhow::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State {
            rules: faults.into_iter().map(|f| (f, 0)).collect(),
            injected: Vec::new(),
        }));
        let upstream = upstream.to_string();
        let st = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let st = st.clone();
                let wire = wire.clone();
                tokio::spawn(async move {
                    let _ = handle(conn, &upstream, &st, wire.as_deref()).await;
                });
            }
        });
        Ok(FaultProxy { port, state, task })
    }

    /// `127.0.0.1:PORT`, to use in image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The faults injected so far, as (method, path, action).
    pub fn injected(&self) -> Vec<(String, String, Action)> {
        self.state
            .lock()
            .map(|s| s.injected.clone())
            .unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts a forwarded request as in flight while it lives.
struct InFlight<'a>(&'a Tripwire);

impl<'a> InFlight<'a> {
    fn new(wire: &'a Tripwire) -> InFlight<'a> {
        wire.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(wire)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads until the end of an HTTP head; returns (head, bytes read past it).
async fn read_head(conn: &mut TcpStream) -> anyhow::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        let n = conn.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the end of the head");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The head with `Connection: close` in place of any connection header.
fn close_head(head: &str) -> String {
    let mut out: Vec<&str> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    out.push("Connection: close");
    out.join("\r\n") + "\r\n\r\n"
}

async fn handle(
    mut client: TcpStream,
    upstream: &str,
    state: &Mutex<State>,
    wire: Option<&Tripwire>,
) -> anyhow::Result<()> {
    // Like a plain-HTTP registry, refuse a TLS handshake at once (0x16 starts one).
    let mut first = [0u8; 1];
    if client.peek(&mut first).await? == 1 && first[0] == 0x16 {
        return Ok(());
    }
    let (head, body_start) = read_head(&mut client).await?;
    if let Some(w) = wire
        && !w.pass()
    {
        // Held until released, or until the client goes away.
        let mut byte = [0u8; 1];
        while !w.released.load(Ordering::SeqCst) {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
                r = client.peek(&mut byte) => {
                    if r.map_or(true, |n| n == 0) {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    }
    let _in_flight = wire.map(InFlight::new);
    let mut parts = head.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let action = {
        let mut st = state.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let hit = st.rules.iter_mut().find(|(f, used)| {
            f.method == method && path.contains(&f.path_contains) && *used < f.times
        });
        let action = hit.map(|(f, used)| {
            *used += 1;
            f.action.clone()
        });
        if let Some(a) = &action {
            st.injected.push((method.clone(), path.clone(), a.clone()));
        }
        action
    };
    if action == Some(Action::Stall) {
        let mut sink = [0u8; 8192];
        while client.read(&mut sink).await.is_ok_and(|n| n > 0) {}
        return Ok(());
    }
    if let Some(Action::Status(code)) = action {
        let resp =
            format!("HTTP/1.1 {code} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        client.write_all(resp.as_bytes()).await?;
        return Ok(());
    }
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(close_head(&head).as_bytes()).await?;
    up.write_all(&body_start).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut up_read, mut up_write) = up.into_split();
    // Request body (if any) flows on while the response comes back.
    let upload = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut up_write).await;
        // The client went away (killed, say): let the registry see the end.
        let _ = up_write.shutdown().await;
    });
    let (resp_head, mut resp_body) = {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let rest = buf.split_off(end + 4);
                break (String::from_utf8_lossy(&buf).into_owned(), rest);
            }
            let n = up_read.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "upstream closed before the end of the head");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    client_write
        .write_all(close_head(&resp_head).as_bytes())
        .await?;
    let mut sent = 0usize;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if resp_body.is_empty() {
            let n = up_read.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            resp_body.extend_from_slice(&chunk[..n]);
        }
        if let Some(Action::FlipByte(at)) = action
            && at >= sent
            && at < sent + resp_body.len()
        {
            resp_body[at - sent] ^= 0xff;
        }
        if action == Some(Action::Trickle) {
            for byte in resp_body.iter() {
                client_write.write_all(&[*byte]).await?;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            sent += resp_body.len();
            resp_body.clear();
            continue;
        }
        if let Some(Action::CutAfter(limit)) = action
            && sent + resp_body.len() >= limit
        {
            client_write.write_all(&resp_body[..limit - sent]).await?;
            break;
        }
        client_write.write_all(&resp_body).await?;
        sent += resp_body.len();
        resp_body.clear();
    }
    let _ = client_write.shutdown().await;
    upload.abort();
    Ok(())
}
