//! The host side of what a plugin may import: `registry`, `http`, `log`.
//!
//! Every call is checked against the plugin's grants (what it declared ∩ what
//! the user granted). A denied call returns `error::denied` to the plugin and
//! is remembered, so that the host's error can name the capability and how to
//! grant it. Large data crosses in chunks of at most [`MAX_CHUNK`] bytes.

use std::sync::Arc;

use bytes::Bytes;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{StoreLimits, component::HasData};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::content_source::oc_mirror::plugin::{http, log, registry};
use super::bindings::types::{self, Error};
use crate::reference::Reference;
use crate::registry::RegistryClient;

/// Largest chunk handed to a plugin per read (as WASI caps its reads).
pub const MAX_CHUNK: u32 = 64 * 1024;
/// A plugin's HTTP request gives up connecting after this long.
const HTTP_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// ...and waiting for more of a response after this long.
const HTTP_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Largest manifest handed to a plugin.
const MAX_MANIFEST: usize = 4 << 20;

/// What a plugin is allowed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Read registries (manifests, tags, files in images).
    pub registry: bool,
    /// Hosts it may GET from (`host` or `host:port`).
    pub http_hosts: Vec<String>,
    /// GET from any host. Only the host gives this, and only to a
    /// first-party plugin whose configuration cannot name every host it
    /// reaches (a Helm repository's index names where its archives are); no
    /// user grant can express it.
    pub any_http_host: bool,
}

/// One capability, as a plugin declares it and a user grants it: `registry`
/// (read registries), `http:HOST[:PORT]` (GET from that host), and, declared
/// only, `http:*` (GET from whatever hosts the user grants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    Registry,
    Http(String),
}

/// Text that is not a capability; the message names it and says what is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a capability ({why})")]
pub struct CapabilityError {
    pub text: String,
    why: &'static str,
}

impl Capability {
    /// Parses one capability; `http:*` only when `wildcard` (a plugin's
    /// declaration: a user grant names its hosts).
    pub fn parse(text: &str, wildcard: bool) -> Result<Capability, CapabilityError> {
        let bad = |why| CapabilityError {
            text: text.to_string(),
            why,
        };
        if text == "registry" {
            return Ok(Capability::Registry);
        }
        let Some(host) = text.strip_prefix("http:") else {
            return Err(bad("unknown"));
        };
        if host == "*" {
            return if wildcard {
                Ok(Capability::Http(host.into()))
            } else {
                Err(bad("a grant names its hosts"))
            };
        }
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !n.contains(':') || n.ends_with(']') => (n, Some(p)),
            _ => (host, None),
        };
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b));
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
        if !name_ok || !port_ok {
            return Err(bad("not a host or host:port"));
        }
        Ok(Capability::Http(host.to_ascii_lowercase()))
    }
}

impl Grants {
    fn from_list(caps: &[Capability]) -> Grants {
        let mut g = Grants::default();
        for c in caps {
            match c {
                Capability::Registry => g.registry = true,
                Capability::Http(h) => g.http_hosts.push(h.clone()),
            }
        }
        g
    }

    /// What a user grants (`plugins[].grants`, or the host for a first-party
    /// plugin): every entry must be a capability, and no wildcard.
    pub fn parse(caps: &[String]) -> Result<Grants, CapabilityError> {
        let list = caps
            .iter()
            .map(|c| Capability::parse(c, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Grants::from_list(&list))
    }

    /// What a plugin declares (`info().capabilities`): `http:*` allowed.
    pub fn parse_declared(caps: &[String]) -> Result<Grants, CapabilityError> {
        let list = caps
            .iter()
            .map(|c| Capability::parse(c, true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Grants::from_list(&list))
    }

    /// What both allow: a capability must be declared by the plugin (`self`)
    /// and granted by the user (`granted`). A plugin that declares `http:*`
    /// (it fetches from hosts its configuration names) gets exactly the
    /// hosts the user grants; a user grant is never a wildcard.
    pub fn intersect(&self, granted: &Grants) -> Grants {
        let granted_hosts = granted.http_hosts.iter().filter(|h| h.as_str() != "*");
        let any = self.http_hosts.iter().any(|h| h == "*");
        Grants {
            registry: self.registry && granted.registry,
            http_hosts: granted_hosts
                .filter(|h| any || self.http_hosts.contains(h))
                .cloned()
                .collect(),
            any_http_host: any && granted.any_http_host,
        }
    }

    /// Whether `url` is on a granted host (and is http or https).
    pub fn allows_url(&self, url: &reqwest::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let with_port = url.port().map(|p| format!("{host}:{p}"));
        (url.scheme() == "https" || url.scheme() == "http")
            && (self.any_http_host
                || self
                    .http_hosts
                    .iter()
                    .any(|h| h == &host.to_ascii_lowercase() || Some(h) == with_port.as_ref()))
    }
}

/// Why a GET on granted hosts failed.
pub enum GetError {
    /// The server could not be reached or the request failed.
    Upstream(String),
    /// A redirect pointed off the granted hosts (named).
    RedirectDenied {
        host: String,
    },
    Other(String),
}

/// GET `url` (already checked against `grants`), following redirects only
/// while they stay on granted hosts. Shared by plugins' `http.get` and the
/// host's own downloads on a plugin's behalf (image builds).
pub async fn get_allowed(
    grants: &Grants,
    url: reqwest::Url,
    headers: Vec<(String, String)>,
) -> Result<reqwest::Response, GetError> {
    let policy_grants = grants.clone();
    let client = reqwest::Client::builder()
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        .read_timeout(HTTP_READ_TIMEOUT)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if policy_grants.allows_url(attempt.url()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| GetError::Other(e.to_string()))?;
    let mut request = client.get(url);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = request
        .send()
        .await
        .map_err(|e| GetError::Upstream(e.to_string()))?;
    // A redirect that was stopped leaves the allowed hosts.
    if response.status().is_redirection() {
        let to = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let host = reqwest::Url::parse(&to)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or(to);
        return Err(GetError::RedirectDenied { host });
    }
    Ok(response)
}

/// An open file inside an image (or a directory's tar, or a blob), in a
/// temporary file served in chunks.
pub struct FileReader {
    file: tokio::fs::File,
}

impl FileReader {
    /// Serves `file` from where it is positioned.
    pub(super) fn new(file: std::fs::File) -> FileReader {
        FileReader {
            file: tokio::fs::File::from_std(file),
        }
    }
}

/// A response body being read.
pub struct HttpBody {
    response: reqwest::Response,
    pending: Bytes,
}

/// A plugin's store data.
pub struct PluginState {
    pub(crate) plugin: String,
    wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    grants: Grants,
    registry: Option<Arc<RegistryClient>>,
    /// Where layers read for the plugin are kept (the workspace's blob
    /// cache), and the layers it writes.
    pub(super) blob_cache: Option<Arc<crate::workspace::BlobCache>>,
    /// The layers the plugin wrote in this call (contract 0.3.0).
    pub(super) written: super::layers::Written,
    /// Files and directories read out of images by digest in this call,
    /// kept for the call: a plugin that reads the same one again (the
    /// operator plugin reads a catalog's FBC twice, to select, then to
    /// render) does not have it extracted again.
    extracted: Vec<((String, String), tempfile::NamedTempFile)>,
    /// Capabilities the plugin asked for and did not get, for the error message.
    pub(crate) denied: Vec<String>,
    /// When the call began, and how long the host has worked for the plugin
    /// since (reads, downloads): the plugin's own time is the difference.
    started: std::time::Instant,
    host_time: std::time::Duration,
}

impl PluginState {
    pub(crate) fn new(
        plugin: &str,
        wasi: WasiCtx,
        limits: StoreLimits,
        grants: Grants,
        registry: Option<Arc<RegistryClient>>,
        blob_cache: Option<Arc<crate::workspace::BlobCache>>,
    ) -> PluginState {
        PluginState {
            plugin: plugin.to_string(),
            wasi,
            table: ResourceTable::new(),
            limits,
            grants,
            registry,
            blob_cache,
            written: Default::default(),
            extracted: Vec::new(),
            denied: Vec::new(),
            started: std::time::Instant::now(),
            host_time: std::time::Duration::ZERO,
        }
    }

    /// How long the plugin's own code has run in this call: the wall time
    /// minus the host's work for it.
    pub(crate) fn own_time(&self) -> std::time::Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// Runs host work for the plugin, keeping its time off the plugin's clock.
    pub(super) async fn timed<T>(&mut self, work: impl std::future::Future<Output = T>) -> T {
        let began = std::time::Instant::now();
        let out = work.await;
        self.host_time += began.elapsed();
        out
    }

    /// The registry client, if `registry` is granted, and `text` parsed as
    /// an image reference: what every `registry` call starts with.
    pub(super) fn registry_for(
        &mut self,
        text: &str,
    ) -> Result<(Arc<RegistryClient>, Reference), Error> {
        let Some(client) = self.registry.clone().filter(|_| self.grants.registry) else {
            return Err(self.deny("registry".into()));
        };
        let r = crate::reference::parse(text).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        Ok((client, r))
    }

    fn deny(&mut self, capability: String) -> Error {
        self.denied.push(capability.clone());
        Error::Denied(capability)
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Marker for `add_to_linker`.
pub struct HasPluginState;
impl HasData for HasPluginState {
    type Data<'a> = &'a mut PluginState;
}

impl types::Host for PluginState {}
impl super::bindings::v0_2::content_source::oc_mirror::plugin0_2_0::types::Host for PluginState {}
impl super::bindings::v0_3::types::Host for PluginState {}

impl super::bindings::v0_2::content_source::oc_mirror::plugin0_2_0::openpgp::Host for PluginState {
    async fn verify_message(
        &mut self,
        signed: Vec<u8>,
        keys: String,
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        // CPU work on small inputs; off the async threads all the same.
        let check =
            tokio::task::spawn_blocking(move || super::openpgp::verify_message(&signed, &keys));
        Ok(self
            .timed(check)
            .await
            .unwrap_or_else(|e| Err(Error::Other(format!("checking the signature failed: {e}")))))
    }
}

impl registry::Host for PluginState {
    async fn get_manifest(
        &mut self,
        reference: String,
    ) -> wasmtime::Result<Result<registry::Manifest, Error>> {
        let (client, r) = match self.registry_for(&reference) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let pull = crate::reference::pull_reference(&r);
        Ok(match self.timed(client.get_manifest(&pull)).await {
            Ok(m) if m.bytes.len() > MAX_MANIFEST => Err(Error::Other(format!(
                "manifest of `{reference}` is larger than {MAX_MANIFEST} bytes"
            ))),
            Ok(m) => Ok(registry::Manifest {
                digest: m.digest.into_string(),
                media_type: m.media_type,
                bytes: m.bytes.to_vec(),
            }),
            Err(e) if e.is_not_found() => Err(Error::NotFound(e.to_string())),
            Err(e) => Err(Error::Upstream(e.to_string())),
        })
    }

    async fn list_tags(
        &mut self,
        repository: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let (client, r) = match self.registry_for(&repository) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.timed(client.list_tags(&r)).await {
            Ok(tags) => Ok(tags),
            Err(e) if e.is_not_found() => Err(Error::NotFound(e.to_string())),
            Err(e) => Err(Error::Upstream(e.to_string())),
        })
    }

    async fn open_file(
        &mut self,
        reference: String,
        path: String,
    ) -> wasmtime::Result<Result<Resource<FileReader>, Error>> {
        let (client, r) = match self.registry_for(&reference) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        tracing::debug!(plugin = %self.plugin, reference, path, "reading a file out of an image");
        // An image named by digest cannot change: what was read stays right.
        let key = (r.whole(), path.clone());
        let known = r.digest().is_some().then(|| {
            self.extracted
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, f)| f.reopen())
        });
        if let Some(Some(reopened)) = known {
            return Ok(match reopened {
                Ok(file) => Ok(self.table.push(FileReader {
                    file: tokio::fs::File::from_std(file),
                })?),
                Err(e) => Err(Error::Other(format!("reading an extracted file: {e}"))),
            });
        }
        let cache = self.blob_cache.clone();
        let extracted = self
            .timed(crate::image_files::extract(
                &client,
                cache.as_deref(),
                &r,
                &path,
            ))
            .await;
        Ok(match extracted {
            Ok(named) => match named.reopen() {
                Ok(file) => {
                    if r.digest().is_some() {
                        self.extracted.push((key, named));
                    }
                    Ok(self.table.push(FileReader {
                        file: tokio::fs::File::from_std(file),
                    })?)
                }
                Err(e) => Err(Error::Other(format!("reading an extracted file: {e}"))),
            },
            Err(e) if e.is_not_found() => Err(Error::NotFound(e.to_string())),
            Err(e @ crate::image_files::ImageFilesError::BadPath(_)) => {
                Err(Error::InvalidConfig(e.to_string()))
            }
            Err(e) => Err(Error::Upstream(e.to_string())),
        })
    }
}

impl registry::HostFileReader for PluginState {
    async fn read(
        &mut self,
        reader: Resource<FileReader>,
        max_bytes: u32,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        use tokio::io::AsyncReadExt;
        let r = self.table.get_mut(&reader)?;
        let mut buf = vec![0u8; max_bytes.clamp(1, MAX_CHUNK) as usize];
        Ok(match r.file.read(&mut buf).await {
            Ok(0) => Ok(None),
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Err(e) => Err(Error::Other(format!("reading an extracted file: {e}"))),
        })
    }

    async fn drop(&mut self, reader: Resource<FileReader>) -> wasmtime::Result<()> {
        self.table.delete(reader)?;
        Ok(())
    }
}

impl http::Host for PluginState {
    async fn get(
        &mut self,
        url: String,
        headers: Vec<(String, String)>,
    ) -> wasmtime::Result<Result<http::Response, Error>> {
        let parsed = match reqwest::Url::parse(&url) {
            Ok(u) => u,
            Err(e) => return Ok(Err(Error::InvalidConfig(format!("`{url}`: {e}")))),
        };
        if !self.grants.allows_url(&parsed) {
            let host = parsed.host_str().unwrap_or_default().to_string();
            return Ok(Err(self.deny(format!("http:{host}"))));
        }
        let grants = self.grants.clone();
        let response = match self.timed(get_allowed(&grants, parsed, headers)).await {
            Ok(r) => r,
            Err(GetError::Upstream(e)) => return Ok(Err(Error::Upstream(e))),
            Err(GetError::Other(e)) => return Ok(Err(Error::Other(e))),
            Err(GetError::RedirectDenied { host }) => {
                self.denied.push(format!("http:{host}"));
                return Ok(Err(Error::Denied(format!(
                    "`{url}` redirects to `{host}`, which is not granted"
                ))));
            }
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = self.table.push(HttpBody {
            response,
            pending: Bytes::new(),
        })?;
        Ok(Ok(http::Response {
            status,
            headers,
            body,
        }))
    }
}

impl http::HostBody for PluginState {
    async fn read(
        &mut self,
        body: Resource<HttpBody>,
        max_bytes: u32,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let max = max_bytes.clamp(1, MAX_CHUNK) as usize;
        let began = std::time::Instant::now();
        let b = self.table.get_mut(&body)?;
        if b.pending.is_empty() {
            let next = b.response.chunk().await;
            self.host_time += began.elapsed();
            let b = self.table.get_mut(&body)?;
            match next {
                Ok(Some(c)) => b.pending = c,
                Ok(None) => return Ok(Ok(None)),
                Err(e) => return Ok(Err(Error::Upstream(e.to_string()))),
            }
        }
        let b = self.table.get_mut(&body)?;
        let out = b.pending.split_to(max.min(b.pending.len()));
        Ok(Ok(Some(out.to_vec())))
    }

    async fn drop(&mut self, body: Resource<HttpBody>) -> wasmtime::Result<()> {
        self.table.delete(body)?;
        Ok(())
    }
}

impl log::Host for PluginState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let plugin = &self.plugin;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Capability, Grants};

    fn g(caps: &[&str]) -> Grants {
        Grants::parse_declared(&caps.iter().map(|c| c.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn effective_grants_are_declared_and_granted() {
        let declared = g(&["registry", "http:a.example", "http:b.example"]);
        assert_eq!(
            declared.intersect(&g(&[])),
            Grants::default(),
            "an empty grant denies everything"
        );
        let both = declared.intersect(&g(&["http:b.example", "http:c.example"]));
        assert_eq!(
            both,
            Grants {
                registry: false,
                http_hosts: vec!["b.example".into()],
                any_http_host: false,
            }
        );
        let anywhere = Grants {
            any_http_host: true,
            ..Grants::default()
        };
        assert!(
            !declared.intersect(&anywhere).any_http_host,
            "only a plugin declaring `http:*` gets any host"
        );
        assert!(g(&["http:*"]).intersect(&anywhere).any_http_host);
        let wildcard = g(&["http:*"]).intersect(&g(&["http:c.example", "http:*"]));
        assert_eq!(
            wildcard.http_hosts,
            vec!["c.example".to_string()],
            "a declared wildcard takes the user's concrete hosts only"
        );
    }

    #[test]
    fn urls_must_match_an_allowed_host() {
        let grants = g(&["http:a.example", "http:b.example:8443"]);
        let ok = |u: &str| grants.allows_url(&reqwest::Url::parse(u).unwrap());
        assert!(ok("https://a.example/x"));
        assert!(ok("https://b.example:8443/x"));
        assert!(!ok("https://b.example/x"));
        assert!(!ok("https://evil.example/x"));
        assert!(!ok("file:///etc/passwd"));
        assert!(!ok("https://a.example.evil.example/x"));
    }

    #[test]
    fn one_grammar_for_grants_and_declarations() {
        assert_eq!(
            Capability::parse("registry", false),
            Ok(Capability::Registry)
        );
        assert_eq!(
            Capability::parse("http:Example.COM:8443", false),
            Ok(Capability::Http("example.com:8443".into()))
        );
        assert_eq!(
            Capability::parse("http:[::1]:5000", false),
            Ok(Capability::Http("[::1]:5000".into()))
        );
        assert!(Capability::parse("http:*", true).is_ok());
        for bad in [
            "registy",
            "http:",
            "http:a/b",
            "http:h:99999",
            "https:h",
            "",
            "http:*",
        ] {
            let err = Capability::parse(bad, false).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        let err = Grants::parse(&["registry".into(), "regsitry".into()]).unwrap_err();
        assert_eq!(err.text, "regsitry");
        let declared = Grants::parse_declared(&["http:*".into()]).unwrap();
        let granted = Grants::parse(&["http:a.example".into()]).unwrap();
        assert_eq!(declared.intersect(&granted).http_hosts, ["a.example"]);
    }
}
