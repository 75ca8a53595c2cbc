//! The copy engine: moves images from their sources to the mirror, streaming,
//! verified, resumable.
//!
//! # Overview
//! The engine takes a [`CopyPlan`], returns a [`CopyReport`] and tells a
//! [`Reporter`] what it is doing; it never draws anything itself.
//!
//! # Steps
//! 1. **Resolve** every image (`--parallel-images` at a time): read its manifests
//!    from the source ([`plan::resolve`]) and ask the destination whether its tag
//!    already points at that digest; such images are done (the no-op re-run).
//! 2. **Blobs** of each remaining image (`--parallel-layers` at a time, largest
//!    first). For each blob, in order of preference: already in the destination
//!    repository (skip); in another repository of the destination registry
//!    (mount); in the workspace cache (upload from it); otherwise download it
//!    into the cache, hashing as it streams, resuming a cut download with a range
//!    request, then upload it. One task per digest does the work; others wait
//!    for it and then mount or skip.
//! 3. **Manifests**, byte for byte: platform manifests by digest, then the
//!    top-level one by tag.
//!
//! # Invariants
//! - A manifest is pushed only after every blob it references is in place, and
//!   an index only after its platform manifests: a tag the mirror shows is whole.
//! - Every blob is checked against its digest and size before it enters the
//!   cache; nothing unverified is ever uploaded.
//! - Memory does not grow with blob size: blobs stream in chunks between the
//!   network and the cache file.
//! - A failed image does not stop the others; every failure is in the report.

pub mod plan;

use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use tracing::{debug, warn};

use crate::digest::Digest;
use crate::manifest::Descriptor;
use crate::reference::Reference;
use crate::registry::{RegistryClient, RegistryError};
use crate::workspace::BlobCache;
pub use plan::{CopyPlan, ImageJob, ImageKind, ManifestCopy, Origin, Platform, ResolvedImage};

/// oc-mirror's `--parallel-images` default.
pub const DEFAULT_PARALLEL_IMAGES: usize = 4;
/// oc-mirror's `--parallel-layers` default.
pub const DEFAULT_PARALLEL_LAYERS: usize = 5;
/// oc-mirror caps both at 10, so as not to overwhelm a registry.
pub const MAX_PARALLEL: usize = 10;
/// Buffer between the network and the cache file.
const WRITE_BUFFER: usize = 1 << 20;
/// Chunks in flight between a download and the upload it feeds: enough to
/// smooth out both sides, small enough that memory stays flat.
const TEE_DEPTH: usize = 16;

/// Where a download also sends its chunks (a streamed upload).
type Tee = tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>;

/// How much happens at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    pub images: usize,
    pub layers: usize,
}

/// Most manifest lookups (resolving sources, checking the mirror) at once.
const MAX_LOOKUPS: usize = 32;

impl Concurrency {
    /// Manifest lookups in flight at once: small requests, so as many as
    /// the blobs of every image copied at once (a catalog's thousand related
    /// images resolve in a fraction of the time), within [`MAX_LOOKUPS`].
    pub fn lookups(&self) -> usize {
        (self.images * self.layers).clamp(self.images.max(1), MAX_LOOKUPS)
    }
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency {
            images: DEFAULT_PARALLEL_IMAGES,
            layers: DEFAULT_PARALLEL_LAYERS,
        }
    }
}

/// Receives the engine's progress. Implementations must be cheap: they are
/// called from the copy tasks.
pub trait Reporter: Send + Sync {
    /// Resolution is done: how many images, the bytes of their blobs image by
    /// image (what [`Reporter::bytes`] will add up to), and the bytes of the
    /// distinct blobs (what moves at most).
    fn planned(&self, _images: usize, _bytes: u64, _distinct_bytes: u64) {}
    /// Bytes of blobs moved (downloaded or uploaded from cache) or found in place.
    fn bytes(&self, _n: u64) {}
    /// An image is finished, one way or another.
    fn image_done(&self, _outcome: &ImageOutcome) {}
}

/// How one image ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStatus {
    /// Its blobs and manifests were pushed.
    Copied,
    /// The destination already had it, digest for digest.
    AlreadyPresent,
    /// It could not be mirrored; the message says why.
    Failed(String),
}

/// One image's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOutcome {
    pub source: Reference,
    pub destination: Reference,
    /// What the image is for.
    pub kind: plan::ImageKind,
    /// The part of the configuration that asked for it.
    pub origin: plan::Origin,
    /// The manifest digest the destination tag points at (when resolved).
    pub digest: Option<Digest>,
    pub status: ImageStatus,
}

/// Blob traffic of a run.
#[derive(Debug, Default)]
pub struct BlobCounters {
    /// Downloaded from a source registry.
    pub downloaded_bytes: AtomicU64,
    pub downloaded: AtomicU64,
    /// Uploaded to the destination.
    pub uploaded_bytes: AtomicU64,
    pub uploaded: AtomicU64,
    /// Linked from another repository of the destination registry.
    pub mounted: AtomicU64,
    /// Already in the destination repository.
    pub present: AtomicU64,
    /// Served from the workspace cache instead of the source.
    pub from_cache: AtomicU64,
}

/// What a run did.
#[derive(Debug)]
pub struct CopyReport {
    pub images: Vec<ImageOutcome>,
    pub blobs: BlobCounters,
    pub elapsed: Duration,
}

impl CopyReport {
    pub fn failures(&self) -> impl Iterator<Item = &ImageOutcome> {
        self.images
            .iter()
            .filter(|i| matches!(i.status, ImageStatus::Failed(_)))
    }
    pub fn count(&self, status: &ImageStatus) -> usize {
        self.images.iter().filter(|i| &i.status == status).count()
    }
}

/// Copies images from source registries into the mirror.
pub struct CopyEngine {
    /// Where images come from; `None` when publishing an imageset, whose blobs
    /// are all in the cache or already in the mirror.
    source: Option<Arc<RegistryClient>>,
    destination: Arc<RegistryClient>,
    cache: Arc<BlobCache>,
    concurrency: Concurrency,
    reporter: Arc<dyn Reporter>,
    /// One lock per key (a download of a digest, an upload of a digest to a
    /// registry), so that each is done once however many images share it.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Per destination registry: a repository known to hold each digest.
    known: Mutex<HashMap<String, HashMap<Digest, String>>>,
    counters: BlobCounters,
    /// Set (by a first Ctrl-C) to start no new image; copies under way finish.
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Longest one image's copy may take.
    image_timeout: Option<Duration>,
}

impl CopyEngine {
    pub fn new(
        source: Option<Arc<RegistryClient>>,
        destination: Arc<RegistryClient>,
        cache: BlobCache,
        concurrency: Concurrency,
        reporter: Arc<dyn Reporter>,
    ) -> CopyEngine {
        CopyEngine {
            source,
            destination,
            cache: Arc::new(cache),
            concurrency: Concurrency {
                images: concurrency.images.clamp(1, MAX_PARALLEL),
                layers: concurrency.layers.clamp(1, MAX_PARALLEL),
            },
            reporter,
            locks: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
            counters: BlobCounters::default(),
            stop: Arc::default(),
            image_timeout: None,
        }
    }

    /// Fails an image whose copy takes longer than `limit` (`--image-timeout`).
    pub fn with_image_timeout(mut self, limit: Duration) -> CopyEngine {
        self.image_timeout = Some(limit);
        self
    }

    /// Shares a stop flag: once it is set, images not yet started are reported
    /// as not copied, and those under way finish.
    pub fn with_stop(mut self, stop: Arc<std::sync::atomic::AtomicBool>) -> CopyEngine {
        self.stop = stop;
        self
    }

    /// Reads every image's manifests from its source (step 1 without the
    /// destination check), for the dry run. Failures are returned per image.
    pub async fn resolve_all(
        &self,
        plan: &CopyPlan,
    ) -> Vec<Result<ResolvedImage, (ImageJob, RegistryError)>> {
        futures_util::stream::iter(plan.images.iter().cloned())
            .map(|job| async move {
                match &self.source {
                    Some(source) => plan::resolve(source, &job).await.map_err(|e| (job, e)),
                    None => {
                        let e = RegistryError::NotFound {
                            reference: job.source.whole(),
                            cause: "no source registry in this workflow".into(),
                        };
                        Err((job, e))
                    }
                }
            })
            .buffered(self.concurrency.lookups())
            .collect()
            .await
    }

    /// Whether every blob of an image is in the workspace cache.
    pub fn fully_cached(&self, image: &ResolvedImage) -> bool {
        image
            .blobs()
            .iter()
            .all(|b| matches!(self.cache.size(&b.digest), Ok(Some(_))))
    }

    /// Downloads the given blobs of resolved images into the workspace cache
    /// (mirror to disk: what the imageset will carry).
    pub async fn prefetch(&self, blobs: Vec<(Reference, Descriptor)>) -> Result<(), RegistryError> {
        let results: Vec<Result<(), RegistryError>> = futures_util::stream::iter(blobs)
            .map(|(source, blob)| async move { self.ensure_cached(&source, &blob, None).await })
            .buffer_unordered(self.concurrency.images * self.concurrency.layers)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Steps 1b to 3 for images already resolved (from sources, or from an
    /// imageset's metadata), reported in the order given.
    pub async fn copy_resolved(
        self,
        resolved: Vec<Result<ResolvedImage, (ImageJob, RegistryError)>>,
        started: Instant,
    ) -> CopyReport {
        let order: Vec<String> = resolved
            .iter()
            .map(|r| match r {
                Ok(i) => i.job.destination.whole() + &i.job.source.whole(),
                Err((j, _)) => j.destination.whole() + &j.source.whole(),
            })
            .collect();
        let this = &self;

        // Step 1b: which images does the destination already have?
        let checks: Vec<Result<(ResolvedImage, bool), ImageOutcome>> =
            futures_util::stream::iter(resolved)
                .map(|r| async move {
                    match r {
                        Err((job, e)) => Err(failed(&job, None, &e)),
                        Ok(image) => match this
                            .destination
                            .manifest_digest(&image.job.destination)
                            .await
                        {
                            Ok(Some(d)) if d == *image.digest() => Ok((image, true)),
                            Ok(_) => Ok((image, false)),
                            Err(e) => Err(failed(&image.job, Some(image.digest().clone()), &e)),
                        },
                    }
                })
                .buffered(self.concurrency.lookups())
                .collect()
                .await;

        // Images already in the mirror tell us where their blobs are: others
        // that share them mount instead of uploading.
        for (image, _) in checks
            .iter()
            .filter_map(|c| c.as_ref().ok())
            .filter(|(_, present)| *present)
        {
            for blob in image.blobs() {
                self.remember(
                    image.job.destination.registry(),
                    &blob.digest,
                    image.job.destination.repository(),
                );
            }
        }
        let resolved_ok = || {
            checks
                .iter()
                .filter_map(|c| c.as_ref().ok())
                .map(|(i, _)| i)
        };
        let planned_bytes: u64 = resolved_ok()
            .map(|i| i.blobs().iter().map(|b| b.size).sum::<u64>())
            .sum();
        let distinct: HashMap<Digest, u64> = resolved_ok()
            .flat_map(|i| i.blobs())
            .map(|b| (b.digest, b.size))
            .collect();
        self.reporter
            .planned(order.len(), planned_bytes, distinct.values().sum());

        // Operator catalogs go last, once everything else is in: a catalog
        // in the mirror tells clusters its bundles can be installed (oc-mirror
        // v2 orders them so too).
        let (catalogs, rest): (Vec<_>, Vec<_>) = checks.into_iter().partition(|c| match c {
            Ok((image, _)) => image.job.kind == plan::ImageKind::OperatorCatalog,
            Err(_) => false,
        });
        let mut outcomes = self.copy_checked(rest).await;
        outcomes.extend(self.copy_checked(catalogs).await);

        // Report in plan order, whatever order the copies finished in.
        let mut by_key: HashMap<String, ImageOutcome> = outcomes
            .into_iter()
            .map(|o| (o.destination.whole() + &o.source.whole(), o))
            .collect();
        let images = order.iter().filter_map(|k| by_key.remove(k)).collect();
        CopyReport {
            images,
            blobs: self.counters,
            elapsed: started.elapsed(),
        }
    }

    /// Steps 2 and 3 for images whose presence in the mirror was checked.
    async fn copy_checked(
        &self,
        checks: Vec<Result<(ResolvedImage, bool), ImageOutcome>>,
    ) -> Vec<ImageOutcome> {
        futures_util::stream::iter(checks)
            .map(|c| async {
                let outcome = match c {
                    Err(outcome) => outcome,
                    Ok((image, true)) => {
                        self.reporter
                            .bytes(image.blobs().iter().map(|b| b.size).sum());
                        debug!(image = %image.job.source, "already in the mirror");
                        outcome(&image, ImageStatus::AlreadyPresent)
                    }
                    Ok((image, false)) if self.stop.load(Ordering::Relaxed) => {
                        let e = RegistryError::NotFound {
                            reference: image.job.source.whole(),
                            cause: "not copied: the run was interrupted".into(),
                        };
                        failed(&image.job, Some(image.digest().clone()), &e)
                    }
                    Ok((image, false)) => match self.copy_within_limit(&image).await {
                        Ok(()) => outcome(&image, ImageStatus::Copied),
                        Err(e) => failed(&image.job, Some(image.digest().clone()), &e),
                    },
                };
                self.reporter.image_done(&outcome);
                outcome
            })
            .buffer_unordered(self.concurrency.images)
            .collect()
            .await
    }

    /// [`CopyEngine::copy_image`] within the image timeout. A copy stopped
    /// by it leaves its downloads in the cache's `partial/`, to resume.
    async fn copy_within_limit(&self, image: &ResolvedImage) -> Result<(), RegistryError> {
        let Some(limit) = self.image_timeout else {
            return self.copy_image(image).await;
        };
        match tokio::time::timeout(limit, self.copy_image(image)).await {
            Ok(result) => result,
            Err(_) => Err(RegistryError::Failed {
                operation: "copying",
                reference: image.job.source.whole(),
                attempts: 1,
                elapsed: limit,
                cause: format!(
                    "the copy did not finish within --image-timeout ({limit:?})\nhint: a registry that answers this slowly may be overloaded or the link too slow; run again later (what was downloaded is kept), or raise --image-timeout"
                ),
            }),
        }
    }

    /// Steps 2 and 3 for one image.
    async fn copy_image(&self, image: &ResolvedImage) -> Result<(), RegistryError> {
        let dest = &image.job.destination;
        let blobs = image.blobs();
        // Every blob task runs to its end even when one fails, so that no
        // download is cut off half-way (and fetched again next time).
        let results: Vec<Result<(), RegistryError>> = futures_util::stream::iter(blobs)
            .map(|blob| async move { self.ensure_blob(image, &blob).await })
            .buffer_unordered(self.concurrency.layers)
            .collect()
            .await;
        if let Some(err) = results.into_iter().find_map(Result::err) {
            return Err(err);
        }
        let last = image.manifests.len().saturating_sub(1);
        for (i, m) in image.manifests.iter().enumerate() {
            let target = if i == last {
                dest.clone()
            } else {
                dest.clone_with_digest(m.digest.to_string())
            };
            let target = if i == last {
                target
            } else {
                crate::reference::pull_reference(&target)
            };
            self.destination
                .put_manifest(&target, &m.bytes, &m.media_type)
                .await?;
        }
        debug!(
            "mirrored {} → {} ({})",
            image.job.source.whole(),
            dest.whole(),
            image.digest()
        );
        Ok(())
    }

    fn lock_for(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(key).or_default().clone()
    }

    fn known_repo(&self, registry: &str, digest: &Digest) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(registry).and_then(|m| m.get(digest)).cloned()
    }

    fn remember(&self, registry: &str, digest: &Digest, repo: &str) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .entry(registry.to_string())
            .or_default()
            .insert(digest.clone(), repo.to_string());
    }

    /// Puts one blob into the destination repository of `image`.
    async fn ensure_blob(
        &self,
        image: &ResolvedImage,
        blob: &Descriptor,
    ) -> Result<(), RegistryError> {
        let dest = &image.job.destination;
        let registry = dest.registry();
        let lock = self.lock_for(format!("push {registry} {}", blob.digest));
        let _guard = lock.lock().await;

        let known = self.known_repo(registry, &blob.digest);
        if known.as_deref() == Some(dest.repository()) {
            self.counters.present.fetch_add(1, Ordering::Relaxed);
            self.reporter.bytes(blob.size);
            return Ok(());
        }
        if self.destination.blob_exists(dest, &blob.digest).await? {
            self.remember(registry, &blob.digest, dest.repository());
            self.counters.present.fetch_add(1, Ordering::Relaxed);
            self.reporter.bytes(blob.size);
            return Ok(());
        }
        if let Some(repo) = known {
            let from = Reference::with_digest(registry.to_string(), repo, blob.digest.to_string());
            if self
                .destination
                .mount_blob(dest, &from, &blob.digest)
                .await?
            {
                self.remember(registry, &blob.digest, dest.repository());
                self.counters.mounted.fetch_add(1, Ordering::Relaxed);
                self.reporter.bytes(blob.size);
                return Ok(());
            }
        }
        // A blob neither cached nor half-fetched streams from the source to the
        // cache and to the mirror at once; the mirror checks the digest of what
        // it receives, and we check it before the blob enters the cache.
        let fresh = matches!(self.cache.size(&blob.digest), Ok(None))
            && self.cache.partial_len(&blob.digest) == 0;
        let streamed = if fresh {
            let (tx, rx) = tokio::sync::mpsc::channel(TEE_DEPTH);
            let upload = self
                .destination
                .push_blob_stream_once(dest, rx, &blob.digest, blob.size);
            let (fetched, uploaded) = tokio::join!(
                self.ensure_cached(&image.job.source, blob, Some(tx)),
                upload
            );
            fetched?;
            match uploaded {
                Ok(()) => true,
                Err(e) => {
                    debug!(digest = %blob.digest, error = %e, "streamed upload failed; uploading from the cache");
                    false
                }
            }
        } else {
            self.ensure_cached(&image.job.source, blob, None).await?;
            false
        };
        if !streamed {
            let cache = self.cache.clone();
            let digest = blob.digest.clone();
            let open = move || cache.open(&digest);
            self.destination
                .push_blob_file(dest, &blob.digest, blob.size, &open)
                .await?;
        }
        self.remember(registry, &blob.digest, dest.repository());
        self.counters.uploaded.fetch_add(1, Ordering::Relaxed);
        self.counters
            .uploaded_bytes
            .fetch_add(blob.size, Ordering::Relaxed);
        Ok(())
    }

    /// Makes sure a verified copy of the blob is in the cache, downloading (or
    /// resuming) it from the source when it is not. The first download attempt
    /// also sends every chunk to `tee` (the streamed upload), if given.
    async fn ensure_cached(
        &self,
        source: &Reference,
        blob: &Descriptor,
        mut tee: Option<Tee>,
    ) -> Result<(), RegistryError> {
        let lock = self.lock_for(format!("download {}", blob.digest));
        let _guard = lock.lock().await;
        let io = |e: std::io::Error| RegistryError::Failed {
            operation: "caching blob from",
            reference: source.whole(),
            attempts: 1,
            elapsed: Duration::ZERO,
            cause: format!("{}: {e}", blob.digest),
        };
        match self.cache.size(&blob.digest) {
            Ok(Some(size)) if size == blob.size => {
                self.counters.from_cache.fetch_add(1, Ordering::Relaxed);
                self.reporter.bytes(blob.size);
                return Ok(());
            }
            Ok(_) => {}
            Err(e) => return Err(io(std::io::Error::other(e))),
        }
        let repo = crate::reference::pull_reference(source);
        let Some(source_client) = &self.source else {
            return Err(RegistryError::NotFound {
                reference: repo.whole(),
                cause: format!(
                    "blob {} is neither in the imageset nor in the mirror\nhint: publish the earlier imagesets of this workspace first, or create this one again against the sequence the mirror has",
                    blob.digest
                ),
            });
        };
        let policy = source_client.retry_policy();
        let mut attempt = 0u32;
        let started = Instant::now();
        loop {
            attempt += 1;
            match self.download(&repo, blob, tee.take()).await {
                Ok(()) => break,
                Err(DownloadError::Registry(e)) => return Err(e),
                Err(DownloadError::Cache(e)) => {
                    let hint = if e.raw_os_error() == Some(28) {
                        "\nhint: the disk is full: free space there (or use a workspace on a bigger filesystem) and run the same command again; what is cached stays"
                    } else {
                        ""
                    };
                    return Err(io(std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot write to the blob cache `{}`: {e}{hint}",
                            self.cache.path().display()
                        ),
                    )));
                }
                Err(DownloadError::Mismatch { actual }) => {
                    self.cache.discard_partial(&blob.digest).map_err(io)?;
                    if attempt > policy.retries {
                        return Err(RegistryError::DigestMismatch {
                            what: "blob",
                            reference: repo.whole(),
                            expected: format!("{} ({} bytes)", blob.digest, blob.size),
                            actual,
                        });
                    }
                    warn!(
                        "blob {} from `{}` did not match its digest; fetching it again",
                        blob.digest,
                        repo.whole()
                    );
                }
                Err(DownloadError::Interrupted(e)) => {
                    if attempt > policy.retries {
                        return Err(RegistryError::Failed {
                            operation: "downloading blob from",
                            reference: repo.whole(),
                            attempts: attempt,
                            elapsed: started.elapsed(),
                            cause: format!("{}: {e}", blob.digest),
                        });
                    }
                    let delay = policy.delay(attempt);
                    warn!(
                        "download of {} from `{}` was cut short: {e} ({} tries remaining, resuming in {delay:.1?})",
                        blob.digest,
                        repo.whole(),
                        policy.retries + 1 - attempt
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
        self.cache.commit(&blob.digest).map_err(io)?;
        self.counters.downloaded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// One download attempt, appending to the partial file from where it ends.
    async fn download(
        &self,
        repo: &Reference,
        blob: &Descriptor,
        mut tee: Option<Tee>,
    ) -> Result<(), DownloadError> {
        let (mut file, mut have) = self
            .cache
            .open_partial(&blob.digest)
            .map_err(DownloadError::Cache)?;
        let mut hasher = Sha256::new();
        if have > blob.size {
            file.set_len(0).map_err(DownloadError::Cache)?;
            have = 0;
        } else if have > 0 {
            // Re-hash what an earlier attempt or run left behind.
            hash_file(&mut file, &mut hasher).map_err(DownloadError::Cache)?;
        }
        let mut total = have;
        if have < blob.size {
            let Some(source) = &self.source else {
                return Err(DownloadError::Interrupted(std::io::Error::other(
                    "no source registry",
                )));
            };
            let mut stream = source
                .open_blob(repo, blob, have)
                .await
                .map_err(DownloadError::Registry)?;
            if have > 0 && !stream.partial {
                // The registry ignored the range: start over.
                file.set_len(0).map_err(DownloadError::Cache)?;
                hasher = Sha256::new();
                total = 0;
            }
            let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, &mut file);
            loop {
                let chunk = match stream.stream.try_next().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    // Every byte is here: our own hash below decides (the client's
                    // check of a whole-blob stream reports a mismatch this way).
                    Err(_) if total >= blob.size => break,
                    Err(e) => {
                        writer.flush().map_err(DownloadError::Cache)?;
                        if let Some(t) = &tee {
                            let _ = t
                                .send(Err(std::io::Error::other("the download was cut short")))
                                .await;
                        }
                        return Err(DownloadError::Interrupted(e));
                    }
                };
                hasher.update(&chunk);
                writer.write_all(&chunk).map_err(DownloadError::Cache)?;
                total += chunk.len() as u64;
                if let Some(t) = &tee
                    && t.send(Ok(chunk.clone())).await.is_err()
                {
                    // The upload gave up; the download goes on for the cache.
                    tee = None;
                }
                self.counters
                    .downloaded_bytes
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                self.reporter.bytes(chunk.len() as u64);
                if total > blob.size {
                    break;
                }
            }
            writer.flush().map_err(DownloadError::Cache)?;
        }
        if total < blob.size {
            return Err(DownloadError::Interrupted(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("got {total} of {} bytes", blob.size),
            )));
        }
        let actual = Digest::from_hasher(hasher);
        if total != blob.size || actual != blob.digest {
            return Err(DownloadError::Mismatch {
                actual: format!("{actual} ({total} bytes)"),
            });
        }
        file.sync_data().map_err(DownloadError::Cache)?;
        Ok(())
    }
}

enum DownloadError {
    Registry(RegistryError),
    /// The network failed; worth another try.
    Interrupted(std::io::Error),
    /// Our own disk failed (full, say); another try would fail the same way.
    Cache(std::io::Error),
    Mismatch {
        actual: String,
    },
}

fn hash_file(file: &mut std::fs::File, hasher: &mut Sha256) -> std::io::Result<()> {
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut buf = vec![0u8; WRITE_BUFFER];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    file.seek(std::io::SeekFrom::End(0))?;
    Ok(())
}

fn outcome(image: &ResolvedImage, status: ImageStatus) -> ImageOutcome {
    ImageOutcome {
        source: image.job.source.clone(),
        destination: image.job.destination.clone(),
        kind: image.job.kind,
        origin: image.job.origin,
        digest: Some(image.digest().clone()),
        status,
    }
}

fn failed(job: &ImageJob, digest: Option<Digest>, err: &RegistryError) -> ImageOutcome {
    ImageOutcome {
        source: job.source.clone(),
        destination: job.destination.clone(),
        kind: job.kind,
        origin: job.origin,
        digest,
        status: ImageStatus::Failed(err.to_string()),
    }
}
