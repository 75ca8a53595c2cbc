//! Real `docker-registry` processes for tests.
//!
//! oc-mirror's job is to talk to registries, so its tests run against the real
//! CNCF Distribution server (2.8, Debian's `docker-registry`) rather than a
//! mock: each [`Registry`] is its own process on a free loopback port, with its
//! own temporary config, storage, log and (optionally) htpasswd file, token
//! server ([`crate::token`]) and TLS certificate. Its request log doubles as a
//! witness: [`Registry::requests`] and [`Registry::blob_gets`] say what a
//! client really fetched, which is how tests check that already-mirrored blobs
//! are not downloaded again.

use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use crate::client::{RegistryClient, Target};
use crate::tls::TlsMaterial;
use crate::token::{IssuedToken, TokenServer};

/// Environment variable naming the registry binary; defaults to
/// `docker-registry` on `PATH`.
pub const REGISTRY_BIN_ENV: &str = "OC_MIRROR_TESTS_REGISTRY_BIN";

/// How long [`Registry::start`] waits for `GET /v2/` to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many fresh ports to try when the chosen one turns out to be taken.
const PORT_ATTEMPTS: usize = 5;

/// How a [`Registry`] is configured. `Default` is anonymous, plain HTTP,
/// writable, with storage in the registry's own temporary directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Require basic auth with this `(user, password)` (bcrypt htpasswd).
    pub htpasswd: Option<(String, String)>,
    /// Require bearer tokens (Distribution's `auth.token`) from a
    /// [`TokenServer`] that hands them out for this `(user, password)`.
    /// Exclusive with `htpasswd`. The registry's own [`Registry::client`]
    /// speaks basic auth only, so it is refused: fill the storage before
    /// (e.g. start anonymous, push, then [`Registry::restart`] with a token).
    pub token: Option<(String, String)>,
    /// Serve HTTPS with a certificate signed by a throwaway CA.
    pub tls: bool,
    /// Enable `storage.maintenance.readonly`: pulls work, pushes are refused.
    pub read_only: bool,
    /// Leave `storage.delete` off, as Distribution ships: DELETE answers 405.
    pub no_delete: bool,
    /// Use this storage root instead of a fresh one (to reuse content across
    /// registries); it is not deleted on drop.
    pub storage_dir: Option<PathBuf>,
}

/// One request as recorded by the registry's `response completed` log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `http.request.method`, e.g. `GET`.
    pub method: String,
    /// `http.request.uri`, path plus query as sent, e.g. `/v2/a/blobs/sha256:…`.
    pub uri: String,
    /// `http.response.status`.
    pub status: u16,
    /// `http.request.useragent` (this crate's client sends
    /// [`crate::client::USER_AGENT`]).
    pub user_agent: String,
}

/// A running `docker-registry serve` process; killed when dropped.
#[derive(Debug)]
pub struct Registry {
    workdir: TempDir,
    storage_dir: PathBuf,
    log_path: PathBuf,
    port: u16,
    options: RegistryOptions,
    tls: Option<TlsMaterial>,
    /// The token server of token mode (kept across restarts, also without
    /// token mode, so what it issued can still be read).
    token_server: Option<TokenServer>,
    /// What token servers replaced by a restart with other credentials issued.
    retired_tokens: Vec<IssuedToken>,
    child: Option<Child>,
    client: RegistryClient,
}

impl AsRef<RegistryClient> for Registry {
    fn as_ref(&self) -> &RegistryClient {
        &self.client
    }
}

impl Registry {
    /// Starts a registry with `options` on a free `127.0.0.1` port and waits
    /// (at most 10 s) until `GET /v2/` answers 200 or 401.
    pub async fn start(options: RegistryOptions) -> anyhow::Result<Registry> {
        let workdir = tempfile::Builder::new()
            .prefix("oc-mirror-registry-")
            .tempdir()
            .context("creating the registry's temporary directory")?;
        let storage_dir = match &options.storage_dir {
            Some(dir) => dir.clone(),
            None => workdir.path().join("storage"),
        };
        let log_path = workdir.path().join("registry.log");
        let client = Target::plain("127.0.0.1:0").client()?;
        let mut registry = Registry {
            workdir,
            storage_dir,
            log_path,
            port: 0,
            options: RegistryOptions::default(),
            tls: None,
            token_server: None,
            retired_tokens: Vec::new(),
            child: None,
            client,
        };
        registry.configure(options)?;
        registry.launch(None).await?;
        Ok(registry)
    }

    /// Stops the registry and starts it again with `options` on the same
    /// storage (`options.storage_dir` is ignored) and, if it is still free,
    /// the same port. A TLS registry keeps its CA across restarts.
    pub async fn restart(&mut self, options: RegistryOptions) -> anyhow::Result<()> {
        self.stop();
        let options = RegistryOptions {
            storage_dir: self.options.storage_dir.clone(),
            ..options
        };
        self.configure(options)?;
        self.launch(Some(self.port)).await
    }

    /// Kills the process (SIGKILL) and waits for it. Idempotent; the storage,
    /// log and certificates stay until drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the registry listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.target().base_url()
    }

    /// The options the registry currently runs with.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Host, scheme, credentials and CA, as plain data.
    pub fn target(&self) -> Target {
        self.client.target().clone()
    }

    /// A client for this registry (credentials and CA included).
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// PEM of the CA that signed the server certificate (TLS only).
    pub fn ca_pem(&self) -> Option<String> {
        self.tls.as_ref().map(|tls| tls.ca_pem.clone())
    }

    /// Path of the CA certificate file, `<cert_dir>/ca.crt` (TLS only).
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|_| self.cert_dir().join("ca.crt"))
    }

    /// A directory holding only `ca.crt`, usable as a containers-style
    /// `--cert-dir` (e.g. skopeo's `--dest-cert-dir`). Exists only with TLS.
    pub fn cert_dir(&self) -> PathBuf {
        self.workdir.path().join("certs")
    }

    /// The token server (token mode; it stays after a restart without it).
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token_server.as_ref()
    }

    /// Every token the token servers of this registry have issued so far,
    /// in order (empty without token mode).
    pub fn issued_tokens(&self) -> Vec<String> {
        let current = self.token_server.iter().flat_map(|t| t.issued());
        self.retired_tokens
            .iter()
            .cloned()
            .chain(current)
            .map(|t| t.token)
            .collect()
    }

    /// The storage root (filesystem driver).
    pub fn storage_dir(&self) -> &Path {
        &self.storage_dir
    }

    /// The path of the process's combined stdout/stderr log (appended to
    /// across restarts).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log so far (empty if unreadable).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The current length of the log, to pass to [`Registry::requests_since`]
    /// and [`Registry::blob_gets_since`] to look only at later requests.
    pub fn log_mark(&self) -> usize {
        self.log_text().len()
    }

    /// Every request the registry has logged so far (all runs).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.requests_since(0)
    }

    /// The requests logged after `mark` (a [`Registry::log_mark`] value).
    pub fn requests_since(&self, mark: usize) -> Vec<LoggedRequest> {
        let text = self.log_text();
        let tail = text.get(mark..).unwrap_or("");
        tail.lines().filter_map(parse_request_line).collect()
    }

    /// How many successful (200, or 206 for a ranged read) GETs of
    /// `/v2/<any repo>/blobs/<digest>` the registry has logged.
    pub fn blob_gets(&self, digest: &str) -> usize {
        self.blob_gets_since(0, digest)
    }

    /// Digests of the blob uploads completed since `mark` (the `digest=`
    /// parameter of each upload's closing PUT), in order.
    pub fn uploaded_since(&self, mark: usize) -> Vec<String> {
        self.requests_since(mark)
            .into_iter()
            .filter(|r| r.method == "PUT" && r.uri.contains("/blobs/uploads/") && r.status == 201)
            .filter_map(|r| {
                let query = r.uri.split_once('?')?.1.to_string();
                query.split('&').find_map(|kv| {
                    kv.strip_prefix("digest=")
                        .map(|d| d.replace("%3A", ":").replace("%3a", ":"))
                })
            })
            .collect()
    }

    /// Like [`Registry::blob_gets`], counting only requests after `mark`.
    pub fn blob_gets_since(&self, mark: usize, digest: &str) -> usize {
        self.requests_since(mark)
            .iter()
            .filter(|r| r.method == "GET" && (r.status == 200 || r.status == 206))
            .filter(|r| blob_digest_of(&r.uri) == Some(digest))
            .count()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// See [`RegistryClient::manifest`].
    pub async fn manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Option<(String, String, Vec<u8>)>> {
        self.client.manifest(repo, reference).await
    }

    /// The digest `reference` (a tag or digest) of `repo` resolves to, if any.
    pub async fn digest(&self, repo: &str, reference: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .manifest(repo, reference)
            .await?
            .map(|(digest, _, _)| digest))
    }

    /// See [`RegistryClient::tags`].
    pub async fn tags(&self, repo: &str) -> anyhow::Result<Vec<String>> {
        self.client.tags(repo).await
    }

    /// See [`RegistryClient::catalog`].
    pub async fn catalog(&self) -> anyhow::Result<Vec<String>> {
        self.client.catalog().await
    }

    /// See [`RegistryClient::blob_exists`].
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> anyhow::Result<bool> {
        self.client.blob_exists(repo, digest).await
    }

    /// Writes the auxiliary files for `options` (htpasswd, certificates) and
    /// records them; the config itself is written per launch (it has the port).
    fn configure(&mut self, options: RegistryOptions) -> anyhow::Result<()> {
        let dir = self.workdir.path();
        if options.htpasswd.is_some() && options.token.is_some() {
            bail!("a registry takes htpasswd or token auth, not both");
        }
        fs::create_dir_all(&self.storage_dir)
            .with_context(|| format!("creating {}", self.storage_dir.display()))?;
        if let Some((user, password)) = &options.token {
            let same = self
                .token_server
                .as_ref()
                .is_some_and(|t| t.credentials() == (user.clone(), password.clone()));
            if !same {
                if let Some(old) = self.token_server.take() {
                    self.retired_tokens.extend(old.issued());
                }
                let server = TokenServer::start(user, password)?;
                fs::write(dir.join("token.crt"), server.cert_pem())
                    .context("writing the token certificate")?;
                self.token_server = Some(server);
            }
        }
        if let Some((user, password)) = &options.htpasswd {
            // Cost 4 (the minimum): the registry checks the hash on every request.
            let hash = bcrypt::hash_with_result(password, 4)
                .context("hashing the htpasswd password")?
                .format_for_version(bcrypt::Version::TwoY);
            fs::write(dir.join("htpasswd"), format!("{user}:{hash}\n"))
                .context("writing htpasswd")?;
        }
        if options.tls && self.tls.is_none() {
            let material = TlsMaterial::generate()?;
            let server = dir.join("server");
            fs::create_dir_all(&server)?;
            fs::write(server.join("server.crt"), &material.cert_pem)?;
            fs::write(server.join("server.key"), &material.key_pem)?;
            fs::create_dir_all(self.cert_dir())?;
            fs::write(self.cert_dir().join("ca.crt"), &material.ca_pem)?;
            self.tls = Some(material);
        }
        self.options = options;
        Ok(())
    }

    /// The registry's config.yml for `port`.
    fn config_yaml(&self, port: u16) -> String {
        let dir = self.workdir.path();
        let quote = |p: &Path| serde_json::Value::from(p.display().to_string()).to_string();
        let mut yaml = format!(
            "\
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: {delete}
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: {read_only}
http:
  addr: 127.0.0.1:{port}
  secret: oc-mirror-tests-secret
",
            storage = quote(&self.storage_dir),
            read_only = self.options.read_only,
            delete = !self.options.no_delete,
        );
        if self.options.tls {
            let server = dir.join("server");
            yaml.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                quote(&server.join("server.crt")),
                quote(&server.join("server.key")),
            ));
        }
        if self.options.htpasswd.is_some() {
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: oc-mirror-tests\n    path: {}\n",
                quote(&dir.join("htpasswd")),
            ));
        }
        if let (Some(_), Some(server)) = (&self.options.token, &self.token_server) {
            yaml.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                serde_json::Value::from(server.realm()),
                crate::token::SERVICE,
                crate::token::ISSUER,
                quote(&dir.join("token.crt")),
            ));
        }
        yaml
    }

    /// Spawns the process (on `preferred_port` first, then fresh ports if
    /// the port is taken) and waits until it serves `/v2/`.
    async fn launch(&mut self, preferred_port: Option<u16>) -> anyhow::Result<()> {
        let mut last_clash = String::new();
        for attempt in 0..PORT_ATTEMPTS {
            let port = match (attempt, preferred_port) {
                (0, Some(port)) => port,
                _ => free_port()?,
            };
            self.port = port;
            self.client = Target {
                host: self.host(),
                tls: self.options.tls,
                auth: self.options.htpasswd.clone(),
                ca_pem: self.ca_pem(),
            }
            .client()?;
            let config = self.workdir.path().join("config.yml");
            fs::write(&config, self.config_yaml(port)).context("writing config.yml")?;
            let mark = self.log_mark();
            self.spawn(&config)?;
            match self.wait_ready(port, mark).await? {
                Ready::Yes => return Ok(()),
                Ready::PortTaken => {
                    self.stop();
                    last_clash = self.log_tail(5);
                }
            }
        }
        bail!(
            "docker-registry could not find a free port after {PORT_ATTEMPTS} attempts:\n{last_clash}"
        )
    }

    fn spawn(&mut self, config: &Path) -> anyhow::Result<()> {
        let bin = std::env::var_os(REGISTRY_BIN_ENV).unwrap_or_else(|| "docker-registry".into());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .context("opening the registry log")?;
        let log_err = log.try_clone()?;
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .arg(config)
            .current_dir(self.workdir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // The registry lets REGISTRY_* variables override its config file.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("REGISTRY_") {
                command.env_remove(key);
            }
        }
        let child = command.spawn().map_err(|e| {
            anyhow::anyhow!(
                "{} (or set {REGISTRY_BIN_ENV})",
                crate::tools::not_started(&bin.to_string_lossy(), &e)
            )
        })?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until this run's log says it listens on `port` and `GET /v2/`
    /// answers 200 or 401. Checking the log guards against a neighbour that
    /// grabbed the port first and answers in our place.
    async fn wait_ready(&mut self, port: u16, mark: usize) -> anyhow::Result<Ready> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let listening = format!("listening on 127.0.0.1:{port}");
        loop {
            let log = self.log_text();
            let this_run = log.get(mark..).unwrap_or("");
            if !self.is_running() {
                if this_run.contains("address already in use") {
                    return Ok(Ready::PortTaken);
                }
                bail!(
                    "docker-registry exited during start-up; log tail:\n{}",
                    self.log_tail(30)
                );
            }
            if this_run.contains(&listening) {
                let ping = tokio::time::timeout(Duration::from_secs(2), self.client.ping()).await;
                if let Ok(Ok(status)) = ping
                    && (status.as_u16() == 200 || status.as_u16() == 401)
                {
                    return Ok(Ready::Yes);
                }
            }
            if Instant::now() > deadline {
                self.stop();
                bail!(
                    "docker-registry did not answer GET /v2/ within {READY_TIMEOUT:?}; log tail:\n{}",
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Ready {
    Yes,
    PortTaken,
}

/// A port that was free a moment ago: bind `127.0.0.1:0`, read it, release it.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Parses one Distribution 2.8 `response completed` log line (logrus text
/// format, `key=value` or `key="quoted value"` pairs), e.g.
///
/// ```text
/// time="…" level=info msg="response completed" … http.request.method=GET …
/// http.request.uri="/v2/a/blobs/sha256:…" … http.response.status=200 …
/// ```
///
/// Other lines (start-up messages, the combined-format access log that
/// repeats each request) yield `None`.
pub fn parse_request_line(line: &str) -> Option<LoggedRequest> {
    let fields = parse_logfmt(line);
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    };
    if !get("msg")?.starts_with("response completed") {
        return None;
    }
    Some(LoggedRequest {
        method: get("http.request.method")?.to_string(),
        uri: get("http.request.uri")?.to_string(),
        status: get("http.response.status")?.parse().ok()?,
        user_agent: get("http.request.useragent")
            .unwrap_or_default()
            .to_string(),
    })
}

/// The digest in a `/v2/<name>/blobs/<digest>` URI (query ignored), if it is one.
fn blob_digest_of(uri: &str) -> Option<&str> {
    let path = uri.split('?').next()?;
    let rest = path.strip_prefix("/v2/")?;
    let (name, digest) = rest.rsplit_once("/blobs/")?;
    if name.is_empty() || digest.is_empty() || digest.contains('/') {
        return None;
    }
    Some(digest)
}

/// Splits a logrus text line into `(key, value)` pairs, unquoting values.
fn parse_logfmt(line: &str) -> Vec<(&str, String)> {
    let mut fields = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = &rest[..eq];
        if key.contains(' ') {
            // Not a key=value line (e.g. the combined access log).
            break;
        }
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            value = out;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            value = rest[..end].to_string();
            rest = &rest[end..];
        }
        fields.push((key, value));
        rest = rest.trim_start();
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_completed_line() {
        let line = r#"time="2026-11-25T12:01:50.152025505Z" level=info msg="response completed" go.version=go1.19.8 http.request.host="127.0.0.1:5999" http.request.id=44f2 http.request.method=GET http.request.remoteaddr="127.0.0.1:51746" http.request.uri="/v2/foo/bar/blobs/sha256:4413" http.request.useragent=curl/7.88.1 http.response.contenttype="application/octet-stream" http.response.duration="689.919µs" http.response.status=200 http.response.written=2"#;
        let request = parse_request_line(line).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.uri, "/v2/foo/bar/blobs/sha256:4413");
        assert_eq!(request.status, 200);
        assert_eq!(request.user_agent, "curl/7.88.1");
        assert_eq!(blob_digest_of(&request.uri), Some("sha256:4413"));
        let access = r#"127.0.0.1 - - [25/Nov/2026:12:01:50 +0000] "GET /v2/foo/blobs/sha256:4413 HTTP/1.1" 200 2 "" "curl/7.88.1""#;
        assert_eq!(parse_request_line(access), None);
        assert_eq!(blob_digest_of("/v2/foo/blobs/uploads/"), None);
        assert_eq!(blob_digest_of("/v2/foo/blobs/uploads/1234-abcd"), None);
        assert_eq!(blob_digest_of("/v2/foo/manifests/latest"), None);
    }
}
