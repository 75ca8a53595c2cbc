//! Registry access: one client for every registry a run talks to.
//!
//! `RegistryClient` wraps oci-client with what mirroring needs and the library
//! leaves to its caller:
//!
//! - **TLS per registry.** With `--src-tls-verify=false` / `--dest-tls-verify=false`
//!   a registry is first tried over HTTPS without certificate checks, and over
//!   plain HTTP when it does not speak TLS at all (as containers/image does).
//!   Extra CAs come from `--src-cert-dir` / `--dest-cert-dir` and the usual
//!   `certs.d` directories.
//! - **Credentials** from the auth files ([`auth`]), looked up per repository and
//!   handed to oci-client, which does the basic or bearer-token dance.
//! - **Retries** of transient failures ([`retry`]), re-authentication when a token
//!   expires, and errors that name the image, the operation and the cause.
//! - **Verification**: every manifest read is checked against its digest here;
//!   blobs are checked by the copy engine as it streams them to disk.

pub mod auth;
mod delete;
pub mod layout;
pub mod retry;
#[cfg(test)]
pub(crate) mod test_registry;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use tracing::{debug, warn};

use crate::digest::{Digest, DigestError};
use crate::manifest::{self, ManifestError};
use auth::AuthStore;
pub use delete::DeleteOutcome;
use retry::{RetryPolicy, Verdict, classify};

/// How long to wait for a TCP connection before counting it as a transient failure.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a read may stall before the request counts as failed (and is retried).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Directories searched for per-registry CA files (`<dir>/<host[:port]>/*.crt`),
/// the containers and Docker conventions.
const CERTS_D: &[&str] = &["/etc/containers/certs.d", "/etc/docker/certs.d"];
/// How long to wait for a TLS handshake when probing an unverified registry;
/// a plain-HTTP server usually refuses one at once.
const TLS_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!("oc-mirror-rs/", env!("CARGO_PKG_VERSION"));

/// What a [`RegistryClient`] needs to know; one per side (source, destination).
#[derive(Clone)]
pub struct RegistryConfig {
    /// Verify TLS certificates and require HTTPS.
    pub tls_verify: bool,
    /// Extra directories of PEM CA files (`*.crt`, `*.pem`) to trust.
    pub cert_dirs: Vec<PathBuf>,
    pub retry: RetryPolicy,
    pub auth: Arc<AuthStore>,
    /// Local OCI layouts read as registries (sources only).
    pub layouts: layout::Layouts,
}

impl fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("tls_verify", &self.tls_verify)
            .field("cert_dirs", &self.cert_dirs)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A failed registry operation, with the image and the cause.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("`{reference}` was not found: {cause}")]
    NotFound { reference: String, cause: String },
    #[error(
        "{operation} `{reference}` was refused: not authorized\nhint: check the credentials for `{registry}` in the auth file (`--authfile`, `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json` or `~/.docker/config.json`)"
    )]
    Unauthorized {
        operation: &'static str,
        reference: String,
        registry: String,
    },
    #[error(
        "{operation} `{reference}` failed after {attempts} attempt(s) in {elapsed:.1?}: {cause}"
    )]
    Failed {
        operation: &'static str,
        reference: String,
        attempts: u32,
        elapsed: Duration,
        cause: String,
    },
    #[error(
        "{what} `{reference}` does not match its digest: expected `{expected}`, got `{actual}`"
    )]
    DigestMismatch {
        what: &'static str,
        reference: String,
        expected: String,
        actual: String,
    },
    /// A registry answered with something that is not a digest.
    #[error("{what} `{reference}`: the registry answered with a bad digest: {source}")]
    BadDigest {
        what: &'static str,
        reference: String,
        source: DigestError,
    },
    #[error("manifest of `{reference}`: {source}")]
    Manifest {
        reference: String,
        source: ManifestError,
    },
    #[error("cannot read CA certificates from `{path}`: {source}")]
    Certificates {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// The registry answered a manifest DELETE with 400 or 405: deletion (or
    /// deletion of tags) is disabled or not supported there.
    #[error(
        "{registry} does not allow deleting `{reference}` ({status}){}",
        delete::refusal_tail(.reference, *.status, .detail)
    )]
    DeleteRefused {
        registry: String,
        reference: String,
        status: u16,
        /// The registry's error codes and messages, short.
        detail: String,
    },
}

impl RegistryError {
    /// Whether the thing asked for does not exist (as opposed to being unreachable).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }

    /// Whether the registry refuses to delete manifests (or tags): see
    /// [`RegistryClient::delete_manifest`].
    pub fn is_delete_refused(&self) -> bool {
        matches!(self, RegistryError::DeleteRefused { .. })
    }
}

/// A manifest exactly as the registry served it.
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub bytes: Bytes,
    pub media_type: String,
    /// `sha256:…` of `bytes`, checked against the reference when it has a digest.
    pub digest: Digest,
}

/// A blob being downloaded.
pub struct BlobStream {
    /// Whether the registry honoured the requested offset (otherwise the stream
    /// starts at byte 0).
    pub partial: bool,
    pub stream: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
}

struct Host {
    client: oci_client::Client,
    /// (repository, push?) pairs already authenticated.
    authenticated: Mutex<HashSet<(String, bool)>>,
    /// The registry asked for no credentials and we have none for it: there is
    /// nothing to authenticate, repository after repository.
    open: std::sync::atomic::AtomicBool,
    /// Whether the registry is spoken to over HTTPS (else plain HTTP).
    https: bool,
    /// The HTTP client and authorization that manifest deletion uses.
    deletion: delete::Deletion,
}

/// Talks to any number of registries with one configuration.
pub struct RegistryClient {
    config: RegistryConfig,
    hosts: tokio::sync::Mutex<HashMap<String, Arc<Host>>>,
}

impl RegistryClient {
    pub fn new(config: RegistryConfig) -> RegistryClient {
        RegistryClient {
            config,
            hosts: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.config.retry
    }

    /// The oci-client for a registry, made on first use: that is when we learn
    /// whether an unverified registry speaks TLS.
    async fn host(&self, registry: &str) -> Result<Arc<Host>, RegistryError> {
        let mut hosts = self.hosts.lock().await;
        if let Some(h) = hosts.get(registry) {
            return Ok(h.clone());
        }
        let mut extra = Vec::new();
        let mut dirs: Vec<PathBuf> = self.config.cert_dirs.clone();
        dirs.extend(CERTS_D.iter().map(|d| Path::new(d).join(registry)));
        for dir in dirs {
            extra.extend(read_certificates(&dir)?);
        }
        let https = self.config.tls_verify || speaks_tls(registry).await;
        let protocol = if https {
            ClientProtocol::Https
        } else {
            debug!(registry, "no TLS on this registry: using plain HTTP");
            ClientProtocol::Http
        };
        let client = oci_client::Client::new(ClientConfig {
            protocol,
            accept_invalid_certificates: !self.config.tls_verify,
            use_monolithic_push: true,
            extra_root_certificates: extra,
            platform_resolver: None,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            user_agent: USER_AGENT,
            ..Default::default()
        });
        let host = Arc::new(Host {
            client,
            authenticated: Mutex::new(HashSet::new()),
            open: std::sync::atomic::AtomicBool::new(false),
            https,
            deletion: delete::Deletion::default(),
        });
        hosts.insert(registry.to_string(), host.clone());
        Ok(host)
    }

    /// Makes sure oci-client holds a token (or basic credentials) for this
    /// repository and operation.
    async fn authenticate(
        &self,
        host: &Host,
        r: &Reference,
        push: bool,
        force: bool,
    ) -> Result<(), RegistryError> {
        let key = (r.repository().to_string(), push);
        if !force
            && host
                .authenticated
                .lock()
                .map(|s| s.contains(&key))
                .unwrap_or(false)
        {
            return Ok(());
        }
        let creds = self
            .config
            .auth
            .lookup(r.registry(), r.repository())
            .await?;
        if creds.is_none() && !force && host.open.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let auth = creds
            .as_ref()
            .map(|c| c.to_registry_auth())
            .unwrap_or(RegistryAuth::Anonymous);
        let op = if push {
            RegistryOperation::Push
        } else {
            RegistryOperation::Pull
        };
        match host.client.auth(r, &auth, op).await {
            Ok(None) if creds.is_none() => {
                host.open.store(true, std::sync::atomic::Ordering::Relaxed)
            }
            Ok(_) => {}
            // A registry that refuses the token request is reported by the
            // request that follows, with its image and operation.
            Err(e) => debug!(registry = r.registry(), error = %e, "authentication failed"),
        }
        if let Ok(mut set) = host.authenticated.lock() {
            set.insert(key);
        }
        Ok(())
    }

    /// Runs `op` with authentication, retries and backoff.
    async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        r: &Reference,
        push: bool,
        mut op: F,
    ) -> Result<T, RegistryError>
    where
        F: FnMut(Arc<Host>) -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        let started = Instant::now();
        let host = self.host(r.registry()).await?;
        let policy = self.config.retry;
        let mut reauthenticated = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.authenticate(&host, r, push, false).await?;
            let err = match op(host.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let verdict = classify(&err);
            match verdict {
                Verdict::NotFound => {
                    return Err(RegistryError::NotFound {
                        reference: r.whole(),
                        cause: describe(&err),
                    });
                }
                Verdict::Reauthenticate if !reauthenticated => {
                    reauthenticated = true;
                    self.authenticate(&host, r, push, true).await?;
                    continue;
                }
                Verdict::Reauthenticate => {
                    return Err(RegistryError::Unauthorized {
                        operation,
                        reference: r.whole(),
                        registry: r.registry().to_string(),
                    });
                }
                Verdict::Retry if attempt <= policy.retries => {
                    let delay = policy.delay(attempt);
                    warn!(
                        "{operation} `{}`: {} ({} tries remaining, next in {delay:.1?})",
                        r.whole(),
                        describe(&err),
                        policy.retries + 1 - attempt
                    );
                    tokio::time::sleep(delay).await;
                }
                Verdict::Retry | Verdict::Fail => {
                    return Err(RegistryError::Failed {
                        operation,
                        reference: r.whole(),
                        attempts: attempt,
                        elapsed: started.elapsed(),
                        cause: describe(&err),
                    });
                }
            }
        }
    }

    /// Fetches a manifest or index as it is stored, checked against the digest
    /// when the reference has one.
    pub async fn get_manifest(&self, r: &Reference) -> Result<RawManifest, RegistryError> {
        if let Some(dir) = self.config.layouts.get(r.registry()) {
            return layout::get_manifest(dir, r).await;
        }
        let (bytes, _) = self
            .call("fetching manifest of", r, false, |h| {
                let r = r.clone();
                async move {
                    h.client
                        .pull_manifest_raw(&r, &RegistryAuth::Anonymous, manifest::ACCEPTED)
                        .await
                }
            })
            .await?;
        let digest = Digest::of(&bytes);
        if let Some(expected) = r.digest()
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                what: "manifest",
                reference: r.whole(),
                expected: expected.to_string(),
                actual: digest.into_string(),
            });
        }
        let media_type =
            manifest::media_type_of(&bytes, None).map_err(|source| RegistryError::Manifest {
                reference: r.whole(),
                source,
            })?;
        Ok(RawManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// The digest a tag or digest currently resolves to, or `None` when absent.
    /// The registry's `Docker-Content-Digest` is parsed here, where it enters.
    pub async fn manifest_digest(&self, r: &Reference) -> Result<Option<Digest>, RegistryError> {
        if let Some(dir) = self.config.layouts.get(r.registry()) {
            return layout::manifest_digest(dir, r).await;
        }
        let res = self
            .call("checking manifest of", r, false, |h| {
                let r = r.clone();
                async move {
                    h.client
                        .fetch_manifest_digest(&r, &RegistryAuth::Anonymous)
                        .await
                }
            })
            .await;
        match res {
            Ok(d) => Digest::parse(&d)
                .map(Some)
                .map_err(|source| RegistryError::BadDigest {
                    what: "checking manifest of",
                    reference: r.whole(),
                    source,
                }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the repository of `r` holds the blob.
    pub async fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        if let Some(dir) = self.config.layouts.get(r.registry()) {
            return Ok(layout::blob_exists(dir, digest).await);
        }
        let res = self
            .call("checking blob in", r, true, |h| {
                let r = r.clone();
                let digest = digest.to_string();
                async move { h.client.blob_exists(&r, &digest).await }
            })
            .await;
        match res {
            Ok(b) => Ok(b),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Opens a blob for download from `offset` (to resume a partial download).
    /// Only opening is retried here; the caller resumes a stream cut short.
    pub async fn open_blob(
        &self,
        r: &Reference,
        desc: &manifest::Descriptor,
        offset: u64,
    ) -> Result<BlobStream, RegistryError> {
        if let Some(dir) = self.config.layouts.get(r.registry()) {
            return layout::open_blob(dir, r, &desc.digest, offset).await;
        }
        let oci_desc = OciDescriptor {
            media_type: desc.media_type.clone(),
            digest: desc.digest.to_string(),
            size: i64::try_from(desc.size).unwrap_or(i64::MAX),
            urls: desc.urls.clone(),
            annotations: None,
            artifact_type: None,
        };
        self.call("downloading blob from", r, false, |h| {
            let r = r.clone();
            let d = oci_desc.clone();
            async move {
                if offset == 0 {
                    let s = h.client.pull_blob_stream(&r, &d).await?;
                    Ok(BlobStream {
                        partial: false,
                        stream: Box::pin(s.stream),
                    })
                } else {
                    match h
                        .client
                        .pull_blob_stream_partial(&r, &d, offset, None)
                        .await?
                    {
                        oci_client::client::BlobResponse::Partial(s) => Ok(BlobStream {
                            partial: true,
                            stream: Box::pin(s.stream),
                        }),
                        oci_client::client::BlobResponse::Full(s) => Ok(BlobStream {
                            partial: false,
                            stream: Box::pin(s.stream),
                        }),
                    }
                }
            }
        })
        .await
    }

    /// Uploads a blob from a file in one request (size known up front: the
    /// fastest path on Distribution, see DESIGN §9). Retried from the start.
    pub async fn push_blob_file(
        &self,
        r: &Reference,
        digest: &Digest,
        size: u64,
        open: &(dyn Fn() -> std::io::Result<std::fs::File> + Sync),
    ) -> Result<(), RegistryError> {
        self.call("uploading blob to", r, true, |h| {
            let r = r.clone();
            let digest = digest.to_string();
            let file = open();
            async move {
                let file = tokio::fs::File::from_std(file?);
                h.client
                    .push_blob_stream(&r, file_stream(file), &digest, Some(size))
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Every tag of the repository of `r`, page by page.
    pub async fn list_tags(&self, r: &Reference) -> Result<Vec<String>, RegistryError> {
        if let Some(dir) = self.config.layouts.get(r.registry()) {
            return layout::list_tags(dir, r).await;
        }
        /// Tags asked for per page.
        const PAGE: usize = 1000;
        /// More than any real repository holds: a registry that pages on
        /// past this is broken or hostile, and memory must stay bounded.
        const MAX_TAGS: usize = 1_000_000;
        let misbehaving = |what: String| RegistryError::Failed {
            operation: "listing tags of",
            reference: r.whole(),
            attempts: 1,
            elapsed: Duration::ZERO,
            cause: format!(
                "{what}\nhint: the registry is misbehaving; name the tags to mirror instead of listing them"
            ),
        };
        let mut tags: Vec<String> = Vec::new();
        loop {
            if tags.len() >= MAX_TAGS {
                return Err(misbehaving(format!(
                    "the registry lists more than {MAX_TAGS} tags and keeps paging"
                )));
            }
            let last = tags.last().cloned();
            let page = self
                .call("listing tags of", r, false, |h| {
                    let r = r.clone();
                    let last = last.clone();
                    async move {
                        h.client
                            .list_tags(&r, &RegistryAuth::Anonymous, Some(PAGE), last.as_deref())
                            .await
                    }
                })
                .await?;
            let n = page.tags.len();
            // Each page must start past the last tag of the one before (the
            // `last` parameter); a page that repeats it would page forever.
            if let (Some(last), Some(first)) = (&last, page.tags.first())
                && first <= last
            {
                return Err(misbehaving(format!(
                    "the registry's tag list does not advance: the page after `{last}` starts at `{first}`"
                )));
            }
            tags.extend(page.tags);
            if n < PAGE {
                return Ok(tags);
            }
        }
    }

    /// Uploads a small blob held in memory (metadata, configs we build).
    pub async fn push_blob_bytes(
        &self,
        r: &Reference,
        bytes: &Bytes,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        let size = bytes.len() as u64;
        // One HEAD instead of a second upload: a record or a rebuilt image
        // pushed again (a rerun after an interruption, say) finds its small
        // blobs already there.
        if matches!(self.blob_exists(r, &digest).await, Ok(true)) {
            return Ok(digest);
        }
        self.call("uploading blob to", r, true, |h| {
            let r = r.clone();
            let body = bytes.clone();
            let digest = digest.clone();
            async move {
                let stream =
                    futures_util::stream::once(async move { Ok::<_, OciDistributionError>(body) });
                h.client
                    .push_blob_stream(&r, stream, digest.as_str(), Some(size))
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        Ok(digest)
    }

    /// Reads a small blob whole (at most `max` bytes), checked against its digest.
    pub async fn get_blob_bytes(
        &self,
        r: &Reference,
        digest: &Digest,
        max: u64,
    ) -> Result<Bytes, RegistryError> {
        use futures_util::TryStreamExt;
        let desc = manifest::Descriptor {
            media_type: String::new(),
            digest: digest.clone(),
            size: max,
            platform: None,
            urls: None,
        };
        let mut blob = self.open_blob(r, &desc, 0).await?;
        let mut out = Vec::new();
        let failed = |cause: String| RegistryError::Failed {
            operation: "downloading blob from",
            reference: r.whole(),
            attempts: 1,
            elapsed: Duration::ZERO,
            cause,
        };
        while let Some(chunk) = blob
            .stream
            .try_next()
            .await
            .map_err(|e| failed(e.to_string()))?
        {
            out.extend_from_slice(&chunk);
            if out.len() as u64 > max {
                return Err(failed(format!(
                    "{digest} is larger than the {max} bytes expected"
                )));
            }
        }
        let actual = Digest::of(&out);
        if actual != *digest {
            return Err(RegistryError::DigestMismatch {
                what: "blob",
                reference: r.whole(),
                expected: digest.to_string(),
                actual: actual.into_string(),
            });
        }
        Ok(Bytes::from(out))
    }

    /// Uploads a blob from a channel of chunks as they arrive, in one attempt
    /// (a stream cannot be replayed; the caller falls back to the cache).
    pub async fn push_blob_stream_once(
        &self,
        r: &Reference,
        chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
        digest: &Digest,
        size: u64,
    ) -> Result<(), RegistryError> {
        let host = self.host(r.registry()).await?;
        self.authenticate(&host, r, true, false).await?;
        let stream = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv()
                .await
                .map(|item| (item.map_err(OciDistributionError::IoError), rx))
        });
        let started = Instant::now();
        host.client
            .push_blob_stream(r, stream, digest.as_str(), Some(size))
            .await
            .map(|_| ())
            .map_err(|e| RegistryError::Failed {
                operation: "uploading blob to",
                reference: r.whole(),
                attempts: 1,
                elapsed: started.elapsed(),
                cause: describe(&e),
            })
    }

    /// Asks the registry to link a blob it already holds in `from` into the
    /// repository of `r`. `Ok(false)` when it declines (the caller uploads).
    pub async fn mount_blob(
        &self,
        r: &Reference,
        from: &Reference,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let host = self.host(r.registry()).await?;
        self.authenticate(&host, r, true, false).await?;
        match host.client.mount_blob(r, from, digest.as_str()).await {
            Ok(()) => Ok(true),
            Err(e) => {
                debug!(digest = %digest, from = from.repository(), to = r.repository(), error = %describe(&e), "mount declined");
                Ok(false)
            }
        }
    }

    /// Stores a manifest under the tag or digest of `r`.
    pub async fn put_manifest(
        &self,
        r: &Reference,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<(), RegistryError> {
        let content_type = reqwest::header::HeaderValue::from_str(media_type).map_err(|_| {
            RegistryError::Manifest {
                reference: r.whole(),
                source: ManifestError::Unsupported(media_type.to_string()),
            }
        })?;
        self.call("pushing manifest to", r, true, |h| {
            let r = r.clone();
            let body = bytes.clone();
            let ct = content_type.clone();
            async move { h.client.push_manifest_raw(&r, body, ct).await.map(|_| ()) }
        })
        .await
    }
}

/// A tokio file as the byte stream oci-client uploads, in 1 MiB reads.
fn file_stream(
    file: tokio::fs::File,
) -> impl Stream<Item = Result<Bytes, OciDistributionError>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    const CHUNK: usize = 1 << 20;
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(OciDistributionError::IoError(e)), None)),
        }
    })
}

/// Whether anything answers TLS on the registry's port (certificates unchecked).
async fn speaks_tls(registry: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(TLS_PROBE_TIMEOUT)
        .build()
    else {
        return false;
    };
    client
        .get(format!("https://{registry}/v2/"))
        .send()
        .await
        .is_ok()
}

/// PEM certificates (`*.crt`, `*.pem`, `*.cert`) in a directory; none when it
/// does not exist.
fn read_certificates(dir: &Path) -> Result<Vec<Certificate>, RegistryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RegistryError::Certificates {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "crt" || x == "pem" || x == "cert")
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            std::fs::read(&path)
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                })
                .map_err(|source| RegistryError::Certificates { path, source })
        })
        .collect()
}

/// One line for an oci-client error: the registry's own error codes and
/// messages when it sent them, the HTTP status, or the transport cause chain.
pub fn describe(err: &OciDistributionError) -> String {
    match err {
        OciDistributionError::RegistryError { envelope, url } => {
            let parts: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| format!("{:?}: {}", e.code, e.message))
                .collect();
            format!("{} ({url})", parts.join("; "))
        }
        OciDistributionError::ServerError { code, url, message } => {
            let msg: String = message.trim().chars().take(200).collect();
            if msg.is_empty() {
                format!("HTTP {code} ({url})")
            } else {
                format!("HTTP {code}: {msg} ({url})")
            }
        }
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(e) = src {
                let t = e.to_string();
                if !s.contains(&t) {
                    s.push_str(": ");
                    s.push_str(&t);
                }
                src = e.source();
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::retry::RetryPolicy;
    use crate::registry::test_registry::FakeRegistry;

    /// A client for a plain-HTTP fake, without retries.
    fn client() -> RegistryClient {
        RegistryClient::new(RegistryConfig {
            tls_verify: false,
            cert_dirs: vec![],
            retry: RetryPolicy {
                retries: 0,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(10),
            },
            auth: Arc::new(auth::AuthStore::empty()),
            layouts: Default::default(),
        })
    }

    /// A registry whose tag list answers every page with the same full page
    /// (it ignores `last`) is stopped at the second page, not followed
    /// forever; an honest one is read to its end.
    #[tokio::test]
    async fn tag_pages_must_advance() {
        let page = |from: usize, count: usize| {
            let tags: Vec<String> = (from..from + count).map(|i| format!("t{i:05}")).collect();
            serde_json::json!({ "name": "x/y", "tags": tags }).to_string()
        };
        let json = || vec![("Content-Type".to_string(), "application/json".to_string())];
        let stuck = FakeRegistry::start(move |req, _| match req.path.contains("/tags/list") {
            true => (200, json(), page(0, 1000)),
            false => (200, vec![], String::new()),
        });
        let r = crate::reference::parse(&format!("{}/x/y:t", stuck.host)).unwrap();
        let err = client().list_tags(&r).await.unwrap_err().to_string();
        assert!(err.contains("does not advance"), "{err}");
        assert!(err.contains("hint:"), "{err}");
        assert_eq!(
            stuck
                .seen()
                .iter()
                .filter(|s| s.path.contains("/tags/list"))
                .count(),
            2
        );

        let honest = FakeRegistry::start(move |req, _| {
            if !req.path.contains("/tags/list") {
                return (200, vec![], String::new());
            }
            match req.path.contains("last=t00999") {
                false => (200, json(), page(0, 1000)),
                true => (200, json(), page(1000, 5)),
            }
        });
        let r = crate::reference::parse(&format!("{}/x/y:t", honest.host)).unwrap();
        assert_eq!(client().list_tags(&r).await.unwrap().len(), 1005);
    }
}
