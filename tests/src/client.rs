//! A deliberately small distribution-API client for fixtures and assertions.
//!
//! The tests must not trust the code under test to check its own work, so
//! fixtures are pushed and results are read back with this independent client
//! written straight against the distribution API (`reqwest`, one request per
//! endpoint, no retries, no cleverness). It understands exactly what the test
//! registries need: anonymous or basic auth, plain HTTP or HTTPS with a private
//! CA, monolithic blob uploads and manifest GET/PUT.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LINK, LOCATION};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest as _, Sha256};

use crate::media_type;

/// The `Accept` header sent for manifest GETs: all four manifest media types.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// The `User-Agent` of this client, so its requests can be told apart from
/// oc-mirror's in a registry log ([`crate::registry::LoggedRequest::user_agent`]).
pub const USER_AGENT: &str = "oc-mirror-tests";

/// Where a registry is and how to reach it: plain data, cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// `host:port`, e.g. `127.0.0.1:5000`.
    pub host: String,
    /// `true` for `https://`, `false` for `http://`.
    pub tls: bool,
    /// Basic-auth credentials `(user, password)`, sent on every request.
    pub auth: Option<(String, String)>,
    /// PEM of the CA that signed the server certificate (HTTPS only). When
    /// set it is the *only* trusted root, so a wrong CA really fails.
    pub ca_pem: Option<String>,
}

impl Target {
    /// A plain-HTTP, anonymous target.
    pub fn plain(host: impl Into<String>) -> Target {
        Target {
            host: host.into(),
            ..Target::default()
        }
    }

    /// The base URL, `http://host` or `https://host`, without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }

    /// Builds a [`RegistryClient`] for this target.
    pub fn client(&self) -> anyhow::Result<RegistryClient> {
        RegistryClient::new(self.clone())
    }
}

/// An HTTP client bound to one [`Target`]. Cloning is cheap (shared pool).
#[derive(Clone, Debug)]
pub struct RegistryClient {
    target: Target,
    base: Url,
    http: reqwest::Client,
}

impl AsRef<RegistryClient> for RegistryClient {
    fn as_ref(&self) -> &RegistryClient {
        self
    }
}

impl RegistryClient {
    /// Builds a client for `target`: no proxies, the target's CA as the only
    /// trusted root when given.
    pub fn new(target: Target) -> anyhow::Result<RegistryClient> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(8);
        if let Some(ca) = &target.ca_pem {
            let cert = reqwest::Certificate::from_pem(ca.as_bytes())
                .context("parsing the CA certificate")?;
            builder = builder.tls_certs_only([cert]);
        }
        let http = builder.build().context("building the HTTP client")?;
        let base = Url::parse(&target.base_url())
            .with_context(|| format!("parsing the base URL of {}", target.host))?;
        Ok(RegistryClient { target, base, http })
    }

    /// The target this client talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The same client without credentials (to check that a registry refuses
    /// anonymous access).
    pub fn anonymous(&self) -> RegistryClient {
        let mut target = self.target.clone();
        target.auth = None;
        RegistryClient {
            target,
            base: self.base.clone(),
            http: self.http.clone(),
        }
    }

    /// The underlying reqwest client (trusts the target's CA, no proxies).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Resolves `path_or_url` (`/v2/...` or an absolute URL) against the base.
    pub fn url(&self, path_or_url: &str) -> anyhow::Result<Url> {
        self.base
            .join(path_or_url)
            .with_context(|| format!("resolving {path_or_url} against {}", self.base))
    }

    /// A request to `path_or_url` with this target's credentials attached.
    pub fn request(
        &self,
        method: Method,
        path_or_url: &str,
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        let url = self.url(path_or_url)?;
        Ok(self.authorize(self.http.request(method, url)))
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.target.auth {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// `GET /v2/` and return its status (200, or 401 when auth is required).
    pub async fn ping(&self) -> anyhow::Result<StatusCode> {
        let response = self.request(Method::GET, "/v2/")?.send().await?;
        Ok(response.status())
    }

    /// GETs a manifest by tag or digest with an `Accept` of all four manifest
    /// media types. Returns `(digest from Docker-Content-Digest, content type,
    /// body)`, or `None` on 404.
    pub async fn manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Option<(String, String, Vec<u8>)>> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let response = self
            .request(Method::GET, &path)?
            .header(ACCEPT, MANIFEST_ACCEPT)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = ensure_status(response, &[StatusCode::OK], &path).await?;
        let digest = header_str(response.headers(), "docker-content-digest")
            .with_context(|| format!("GET {path}: no Docker-Content-Digest"))?;
        let content_type =
            header_str(response.headers(), CONTENT_TYPE.as_str()).unwrap_or_default();
        let body = response.bytes().await?.to_vec();
        Ok(Some((digest, content_type, body)))
    }

    /// All tags of `repo` (following `Link` pagination); empty if the
    /// repository does not exist.
    pub async fn tags(&self, repo: &str) -> anyhow::Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut next = Some(format!("/v2/{repo}/tags/list?n=1000"));
        while let Some(path) = next.take() {
            let response = self.request(Method::GET, &path)?.send().await?;
            if response.status() == StatusCode::NOT_FOUND {
                break;
            }
            let response = ensure_status(response, &[StatusCode::OK], &path).await?;
            next = next_link(response.headers());
            let page: TagList = serde_json::from_slice(&response.bytes().await?)
                .with_context(|| format!("GET {path}: decoding the tag list"))?;
            tags.extend(page.tags.unwrap_or_default());
        }
        Ok(tags)
    }

    /// All repositories from `GET /v2/_catalog` (following `Link` pagination).
    pub async fn catalog(&self) -> anyhow::Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            repositories: Option<Vec<String>>,
        }
        let mut repos = Vec::new();
        let mut next = Some("/v2/_catalog?n=1000".to_string());
        while let Some(path) = next.take() {
            let response = self.request(Method::GET, &path)?.send().await?;
            let response = ensure_status(response, &[StatusCode::OK], &path).await?;
            next = next_link(response.headers());
            let page: Catalog = serde_json::from_slice(&response.bytes().await?)
                .with_context(|| format!("GET {path}: decoding the catalog"))?;
            repos.extend(page.repositories.unwrap_or_default());
        }
        Ok(repos)
    }

    /// `HEAD /v2/<repo>/blobs/<digest>`: whether the blob is linked in `repo`.
    /// docker-registry 2.8 now and then answers a transient 500 while
    /// another push writes the same repository (DESIGN §9): asked again.
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> anyhow::Result<bool> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self.request(Method::HEAD, &path)?.send().await?;
            match response.status() {
                StatusCode::OK => return Ok(true),
                StatusCode::NOT_FOUND => return Ok(false),
                status if status.is_server_error() && attempt < 5 => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                status => bail!("HEAD {path}: unexpected status {status}"),
            }
        }
    }

    /// GETs a whole blob into memory (meant for configs and small layers);
    /// `None` on 404.
    pub async fn blob(&self, repo: &str, digest: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let response = self.request(Method::GET, &path)?.send().await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = ensure_status(response, &[StatusCode::OK], &path).await?;
        Ok(Some(response.bytes().await?.to_vec()))
    }

    /// PUTs a manifest under `reference` (tag or digest) and returns the
    /// digest the registry reports, checked against the bytes' sha256.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> anyhow::Result<String> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let expected = sha256_digest(bytes);
        let response = self
            .request(Method::PUT, &path)?
            .header(CONTENT_TYPE, media_type)
            .body(bytes.to_vec())
            .send()
            .await
            .with_context(|| format!("PUT {path}"))?;
        let response = ensure_status(response, &[StatusCode::CREATED], &path).await?;
        if let Some(reported) = header_str(response.headers(), "docker-content-digest")
            && reported != expected
        {
            bail!("PUT {path}: registry reports digest {reported}, expected {expected}");
        }
        Ok(expected)
    }

    /// Uploads an in-memory blob with a monolithic POST + PUT and returns its
    /// digest. Does not check whether it exists first.
    pub async fn upload_blob(&self, repo: &str, bytes: Vec<u8>) -> anyhow::Result<String> {
        let digest = sha256_digest(&bytes);
        let size = bytes.len() as u64;
        self.upload(repo, &digest, size, reqwest::Body::from(bytes))
            .await?;
        Ok(digest)
    }

    /// Uploads the file at `path` as the blob `digest` of `size` bytes,
    /// streaming it from disk in 1 MiB chunks (memory stays bounded).
    pub async fn upload_blob_file(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
        path: &Path,
    ) -> anyhow::Result<()> {
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let stream = futures_util::stream::try_unfold(file, |mut file| async move {
            use tokio::io::AsyncReadExt as _;
            let mut chunk = vec![0u8; 1 << 20];
            let n = file.read(&mut chunk).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            chunk.truncate(n);
            Ok(Some((bytes::Bytes::from(chunk), file)))
        });
        self.upload(repo, digest, size, reqwest::Body::wrap_stream(stream))
            .await
    }

    /// `POST /v2/<repo>/blobs/uploads/` then `PUT <Location>&digest=…`.
    async fn upload(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
        body: reqwest::Body,
    ) -> anyhow::Result<()> {
        let start = format!("/v2/{repo}/blobs/uploads/");
        let response = self
            .request(Method::POST, &start)?
            .header(CONTENT_LENGTH, 0)
            .send()
            .await
            .with_context(|| format!("POST {start}"))?;
        let response = ensure_status(response, &[StatusCode::ACCEPTED], &start).await?;
        let location = header_str(response.headers(), LOCATION.as_str())
            .with_context(|| format!("POST {start}: no Location"))?;
        let mut url = self.url(&location)?;
        url.query_pairs_mut().append_pair("digest", digest);
        let response = self
            .authorize(self.http.put(url.clone()))
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body)
            .send()
            .await
            .with_context(|| format!("PUT blob {digest} to {repo}"))?;
        ensure_status(response, &[StatusCode::CREATED], url.path()).await?;
        Ok(())
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Whether `media_type` is one of the two index / manifest-list types.
pub fn is_index_media_type(media_type: &str) -> bool {
    media_type == media_type::OCI_INDEX || media_type == media_type::DOCKER_MANIFEST_LIST
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The `<…>` target of a `Link: <…>; rel="next"` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(LINK)?.to_str().ok()?;
    if !link.contains("rel=\"next\"") {
        return None;
    }
    let start = link.find('<')? + 1;
    let end = link[start..].find('>')? + start;
    Some(link[start..end].to_string())
}

/// Passes `response` through when its status is expected; otherwise fails
/// with the status and the (truncated) error body.
async fn ensure_status(
    response: reqwest::Response,
    expected: &[StatusCode],
    what: &str,
) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if expected.contains(&status) {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(500).collect();
    bail!("{what}: unexpected status {status}: {body}")
}
