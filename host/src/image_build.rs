//! Images the host builds for content sources: a base image plus layers made
//! from archives downloaded over HTTP (the Cincinnati graph-data image) or
//! written by the plugin through the host (the filtered operator catalog).
//!
//! A plugin cannot write blobs, so it describes the image
//! ([`Build`]: base, layers, `Cmd`, labels, destination) and the host makes it.
//! The result is a [`ResolvedImage`] like any other: its new layer and
//! configs sit in the workspace cache, its base layers are copied from the
//! base image's registry, so mirror to mirror and imagesets carry it alike.
//!
//! Deterministic: the same archive (or files) and base give the same bytes,
//! so a rerun is a no-op in the mirror. A downloaded archive's entries keep
//! their order and are placed below the requested directory; every layer is
//! made by [`crate::layer`] (root owners, fixed modes, time 0). Every
//! platform of a multi-platform base gets the same layers. A destination
//! without a tag is tagged by the built image's digest (`sha256-<hex>`), as
//! oc-mirror v2 tags a rebuilt catalog that was named by digest.

use std::io::{self, Seek};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::copy::plan::{self, ImageJob, ManifestCopy, ResolvedImage};
use crate::digest::Digest;
use crate::layer::{Layer, LayerBuilder};
use crate::manifest::{self, Descriptor};
use crate::plugin::host::{GetError, get_allowed};
use crate::plugin::v0_2::TarballLayer;
use crate::plugin::{Artifact, Build, BuildLayer, Grants};
use crate::reference::{self, MirrorTarget};
use crate::registry::RegistryClient;
use crate::workspace::BlobCache;

/// Largest archive downloaded for a layer.
const MAX_ARCHIVE: u64 = 1 << 30;
/// Largest base image config read.
const MAX_CONFIG: u64 = 4 << 20;

/// Who asked for a build: the part of the configuration its plugin serves,
/// and what that plugin may reach.
#[derive(Debug, Clone)]
pub struct Requester {
    pub origin: crate::copy::Origin,
    pub grants: Grants,
}

/// Builds `build` on its base (read from `client`), within the grants of
/// the plugin that asked, placing it under `target`.
pub async fn build(
    client: &RegistryClient,
    cache: &BlobCache,
    requester: &Requester,
    build: &Build,
    target: &MirrorTarget,
) -> anyhow::Result<ResolvedImage> {
    let grants = &requester.grants;
    let what = format!("building `{}`", build.destination);
    let base = reference::parse(&build.base)
        .map_err(|e| anyhow::anyhow!("{what}: base `{}`: {e}", build.base))?;
    let (path, tag) = match build.destination.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p.to_string(), Some(t.to_string())),
        _ => (build.destination.clone(), None),
    };
    // Untagged: a placeholder until the digest is known.
    let destination = target.destination(&base, Some(&path), Some(tag.as_deref().unwrap_or("0")));
    let mut job = ImageJob {
        source: base.clone(),
        destination,
        platforms: Vec::new(),
        origin: requester.origin,
        kind: crate::plugin::bindings::kind_from_wit(build.kind),
    };

    let mut layers = Vec::new();
    for layer in &build.layers {
        layers.push(match layer {
            BuildLayer::Tarball(t) => tarball_layer(cache, grants, t)
                .await
                .map_err(|e| anyhow::anyhow!("{what}: {e:#}"))?,
            BuildLayer::Written(l) => l.clone(),
        });
    }
    let base_image = plan::resolve(client, &job).await.map_err(|e| {
        anyhow::anyhow!(
            "{what}: its base image `{}` cannot be read: {e}\nhint: `--graph-base-image REF` names another base",
            build.base
        )
    })?;

    // Each image manifest gets the layers and a new config; an index then
    // points at the new manifests.
    let mut manifests = Vec::new();
    let mut replaced: Vec<(Digest, Digest, u64)> = Vec::new();
    for m in &base_image.manifests {
        if m.blobs.is_empty() {
            continue; // the index, redone below
        }
        let config = &m.blobs[0];
        let config_bytes = client
            .get_blob_bytes(
                &reference::pull_reference(&base),
                &config.digest,
                MAX_CONFIG,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{what}: reading the base's config: {e}"))?;
        let new_config = extend_config(&config_bytes, &layers, &build.cmd, &build.labels)
            .map_err(|e| anyhow::anyhow!("{what}: the base's config: {e}"))?;
        let config_desc = store(cache, &config.media_type, new_config)?;
        let new = extend_manifest(&m.bytes, &config_desc, &layers)
            .map_err(|e| anyhow::anyhow!("{what}: the base's manifest: {e}"))?;
        let digest = Digest::of(&new);
        let mut blobs = vec![config_desc];
        blobs.extend(m.blobs[1..].iter().cloned());
        blobs.extend(layers.iter().map(|l| l.descriptor(&m.media_type)));
        replaced.push((m.digest.clone(), digest.clone(), new.len() as u64));
        manifests.push(ManifestCopy {
            bytes: Bytes::from(new),
            media_type: m.media_type.clone(),
            digest,
            blobs,
        });
    }
    if let Some(index) = base_image.manifests.last().filter(|m| m.blobs.is_empty()) {
        let new = repoint_index(&index.bytes, &replaced)
            .map_err(|e| anyhow::anyhow!("{what}: the base's index: {e}"))?;
        manifests.push(ManifestCopy {
            digest: Digest::of(&new),
            bytes: Bytes::from(new),
            media_type: index.media_type.clone(),
            blobs: Vec::new(),
        });
    }
    if tag.is_none() {
        // The top manifest (the index, or the only image) names the build.
        let top = manifests
            .last()
            .ok_or_else(|| anyhow::anyhow!("{what}: its base has no image"))?;
        job.destination = target.destination(
            &base,
            Some(&path),
            Some(&reference::digest_tag(top.digest.as_str())),
        );
    }
    Ok(ResolvedImage { job, manifests })
}

/// Where an artifact seems to come from, in mapping.txt and the metadata: it
/// comes from no registry (the host assembled it from a plugin's blobs).
pub const ARTIFACT_SOURCE: &str = "artifact.oc-mirror.invalid";

/// Assembles an OCI artifact ([`Artifact`]) whose blobs a plugin wrote into
/// the cache: an OCI image manifest over its config and layers, with its
/// annotations, placed under `target`. Deterministic: the same blobs and
/// annotations give the same manifest bytes.
pub fn artifact(
    requester: &Requester,
    a: &Artifact,
    target: &MirrorTarget,
) -> anyhow::Result<ResolvedImage> {
    let (path, tag) = a
        .destination
        .rsplit_once(':')
        .filter(|(p, t)| !p.is_empty() && !t.is_empty() && !t.contains('/'))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "artifact `{}`: its destination is not `path:tag`",
                a.destination
            )
        })?;
    let source = reference::parse(&format!("{ARTIFACT_SOURCE}/{path}:{tag}"))
        .map_err(|e| anyhow::anyhow!("artifact `{}`: {e}", a.destination))?;
    let destination = target.destination(&source, Some(path), Some(tag));
    let descriptor = |b: &crate::plugin::ArtifactBlob| {
        let mut d = serde_json::json!({
            "mediaType": b.media_type,
            "digest": b.digest.to_string(),
            "size": b.size,
        });
        if !b.annotations.is_empty() {
            d["annotations"] = annotations(&b.annotations);
        }
        d
    };
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest::OCI_MANIFEST,
        "config": descriptor(&a.config),
        "layers": a.layers.iter().map(descriptor).collect::<Vec<_>>(),
    });
    if !a.annotations.is_empty() {
        m["annotations"] = annotations(&a.annotations);
    }
    let bytes = serde_json::to_vec(&m)?;
    let blob = |b: &crate::plugin::ArtifactBlob| Descriptor {
        media_type: b.media_type.clone(),
        digest: b.digest.clone(),
        size: b.size,
        platform: None,
        urls: None,
    };
    let mut blobs = vec![blob(&a.config)];
    blobs.extend(a.layers.iter().map(blob));
    Ok(ResolvedImage {
        job: ImageJob {
            source,
            destination,
            platforms: Vec::new(),
            origin: requester.origin,
            kind: crate::plugin::bindings::kind_from_wit(a.kind),
        },
        manifests: vec![ManifestCopy {
            digest: Digest::of(&bytes),
            bytes: Bytes::from(bytes),
            media_type: manifest::OCI_MANIFEST.to_string(),
            blobs,
        }],
    })
}

/// Annotations as a JSON object (sorted by key).
fn annotations(pairs: &[(String, String)]) -> serde_json::Value {
    let sorted: std::collections::BTreeMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    serde_json::json!(sorted)
}

impl Layer {
    /// Its descriptor in a manifest of `manifest_type` (Docker or OCI names).
    fn descriptor(&self, manifest_type: &str) -> Descriptor {
        let media_type = if manifest_type == manifest::DOCKER_MANIFEST {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        } else {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        };
        Descriptor {
            media_type: media_type.into(),
            digest: self.digest.clone(),
            size: self.size,
            platform: None,
            urls: None,
        }
    }
}

/// Downloads the archive and turns it into a layer in the cache.
async fn tarball_layer(
    cache: &BlobCache,
    grants: &Grants,
    layer: &TarballLayer,
) -> anyhow::Result<Layer> {
    let url = reqwest::Url::parse(&layer.url)
        .map_err(|e| anyhow::anyhow!("`{}` is not a URL: {e}", layer.url))?;
    if !grants.allows_url(&url) {
        anyhow::bail!("`{}` is not on a host the plugin may reach", layer.url);
    }
    let mut response = get_allowed(grants, url, Vec::new())
        .await
        .map_err(|e| match e {
            GetError::Upstream(m) => anyhow::anyhow!(
                "{} cannot be downloaded: {m}\nhint: check the network, or point UPDATE_URL_OVERRIDE at a service you can reach",
                layer.url
            ),
            GetError::RedirectDenied { host } => {
                anyhow::anyhow!("{} redirects to `{host}`, which is not allowed", layer.url)
            }
            GetError::Other(m) => anyhow::anyhow!("{}: {m}", layer.url),
        })?;
    if !response.status().is_success() {
        anyhow::bail!("{} answered {}", layer.url, response.status());
    }
    let mut file = tokio::fs::File::from_std(tempfile::tempfile()?);
    let mut total = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| anyhow::anyhow!("downloading {}: {e}", layer.url))?
    {
        total += chunk.len() as u64;
        if total > MAX_ARCHIVE {
            anyhow::bail!("{} is larger than {MAX_ARCHIVE} bytes", layer.url);
        }
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    let archive = file.into_std().await;
    let directory = layer.directory.clone();
    let source = layer.url.clone();
    let cache = cache.try_clone()?;
    let created_by = format!("oc-mirror: {} from {}", layer.directory, layer.url);
    tokio::task::spawn_blocking(move || relayer(archive, &directory)?.finish(&cache, created_by))
        .await
        .map_err(|e| anyhow::anyhow!("building the layer failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("{source} is not a gzip'd tar archive: {e}"))
}

/// A layer of the archive's entries placed below `directory` (links and
/// special files have no place in graph data and are left out).
fn relayer(mut archive: std::fs::File, directory: &str) -> io::Result<LayerBuilder> {
    archive.rewind()?;
    let input = flate2::read::GzDecoder::new(io::BufReader::new(archive));
    let mut entries = tar::Archive::new(input);
    let mut builder = LayerBuilder::new()?;
    let prefix = directory.trim_matches('/');
    // The directory and its parents first.
    let mut parent = String::new();
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        parent = if parent.is_empty() {
            part.to_string()
        } else {
            format!("{parent}/{part}")
        };
        builder.directory(&parent)?;
    }
    for entry in entries.entries()? {
        let mut entry = entry?;
        let raw = entry.path_bytes().into_owned();
        let raw = String::from_utf8_lossy(&raw);
        let rel: Vec<&str> = raw
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if rel.is_empty() || rel.contains(&"..") {
            continue;
        }
        let path = format!("{prefix}/{}", rel.join("/"));
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            builder.directory(&path)?;
        } else if kind.is_file() {
            let size = entry.header().size()?;
            builder.file(&path, size, &mut entry)?;
        }
    }
    Ok(builder)
}

/// Stores bytes in the cache as a blob; its descriptor.
fn store(cache: &BlobCache, media_type: &str, bytes: Vec<u8>) -> anyhow::Result<Descriptor> {
    let digest = Digest::of(&bytes);
    let size = bytes.len() as u64;
    cache.store(&digest, size, &mut bytes.as_slice())?;
    Ok(Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        platform: None,
        urls: None,
    })
}

/// The base config with the layers' diff ids and history added, `Cmd`
/// replaced when one is given, and `labels` set (the base's others kept).
fn extend_config(
    base: &[u8],
    layers: &[Layer],
    cmd: &[String],
    labels: &[(String, String)],
) -> Result<Vec<u8>, String> {
    let mut config: serde_json::Value =
        serde_json::from_slice(base).map_err(|e| format!("not JSON: {e}"))?;
    let object = config.as_object_mut().ok_or("not a JSON object")?;
    let rootfs = object
        .entry("rootfs")
        .or_insert_with(|| serde_json::json!({"type": "layers", "diff_ids": []}));
    let diff_ids = rootfs
        .get_mut("diff_ids")
        .and_then(|d| d.as_array_mut())
        .ok_or("no `rootfs.diff_ids`")?;
    for l in layers {
        diff_ids.push(l.diff_id.to_string().into());
    }
    let history = object
        .entry("history")
        .or_insert_with(|| serde_json::json!([]));
    if let Some(history) = history.as_array_mut() {
        for l in layers {
            history.push(serde_json::json!({
                "created": "1970-01-01T00:00:00Z",
                "created_by": l.created_by,
            }));
        }
    }
    if !cmd.is_empty() || !labels.is_empty() {
        let inner = object
            .entry("config")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .ok_or("`config` is not a JSON object")?;
        if !cmd.is_empty() {
            inner.insert("Cmd".into(), serde_json::json!(cmd));
        }
        if !labels.is_empty() {
            let map = inner
                .entry("Labels")
                .or_insert_with(|| serde_json::json!({}));
            if map.is_null() {
                *map = serde_json::json!({});
            }
            let map = map
                .as_object_mut()
                .ok_or("`config.Labels` is not a JSON object")?;
            for (k, v) in labels {
                map.insert(k.clone(), v.clone().into());
            }
        }
    }
    serde_json::to_vec(&config).map_err(|e| e.to_string())
}

/// The base manifest pointing at the new config, with the layers added.
fn extend_manifest(base: &[u8], config: &Descriptor, layers: &[Layer]) -> Result<Vec<u8>, String> {
    let mut m: serde_json::Value =
        serde_json::from_slice(base).map_err(|e| format!("not JSON: {e}"))?;
    let media_type = m
        .get("mediaType")
        .and_then(|t| t.as_str())
        .unwrap_or(manifest::OCI_MANIFEST)
        .to_string();
    let c = m.get_mut("config").ok_or("no `config`")?;
    c["digest"] = config.digest.to_string().into();
    c["size"] = config.size.into();
    let list = m
        .get_mut("layers")
        .and_then(|l| l.as_array_mut())
        .ok_or("no `layers`")?;
    for l in layers {
        let d = l.descriptor(&media_type);
        list.push(serde_json::json!({
            "mediaType": d.media_type,
            "digest": d.digest,
            "size": d.size,
        }));
    }
    serde_json::to_vec(&m).map_err(|e| e.to_string())
}

/// The base index pointing at the rebuilt manifests (`(old, new, size)`).
fn repoint_index(base: &[u8], replaced: &[(Digest, Digest, u64)]) -> Result<Vec<u8>, String> {
    let mut index: serde_json::Value =
        serde_json::from_slice(base).map_err(|e| format!("not JSON: {e}"))?;
    let entries = index
        .get_mut("manifests")
        .and_then(|m| m.as_array_mut())
        .ok_or("no `manifests`")?;
    // Entries for platforms the base does not carry (attestations…) go.
    entries.retain(|e| {
        e.get("digest")
            .and_then(|d| d.as_str())
            .is_some_and(|d| replaced.iter().any(|(old, _, _)| *old == d))
    });
    for e in entries.iter_mut() {
        let old = e
            .get("digest")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_string();
        if let Some((_, new, size)) = replaced.iter().find(|(o, _, _)| *o == old) {
            e["digest"] = new.to_string().into();
            e["size"] = (*size).into();
        }
    }
    serde_json::to_vec(&index).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> std::fs::File {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_uid(1000850000);
            h.set_mtime(1_700_000_000);
            h.set_entry_type(tar::EntryType::Regular);
            // Written raw: the tar crate refuses to write `..` itself.
            h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            tar.append(&h, *data).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&gz.finish().unwrap()).unwrap();
        f
    }

    #[test]
    fn relayered_archives_are_placed_normalised_and_reproducible() {
        let entries: &[(&str, &[u8])] = &[
            ("./version", b"1.1.0"),
            ("./channels/stable-4.14.yaml", b"name: stable-4.14\n"),
            ("../escape", b"no"),
        ];
        let tmp = tempfile::tempdir().unwrap();
        let ws = crate::workspace::Workspace::open(tmp.path()).unwrap();
        let cache = ws.blob_cache().unwrap();
        let layer = |n: &str| {
            relayer(archive(entries), "/var/lib/cincinnati-graph-data")
                .unwrap()
                .finish(&cache, n.into())
                .unwrap()
        };
        let Layer {
            digest,
            size,
            diff_id,
            ..
        } = layer("a");
        assert_eq!(layer("b").digest, digest, "same archive, same layer");
        let mut bytes = Vec::new();
        cache
            .open(&digest)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(Digest::of(&bytes), digest);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(Digest::of(&tar), diff_id);
        let mut a = tar::Archive::new(&tar[..]);
        let got: Vec<(String, u32, u64, u64)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("var/".to_string(), 0o755, 0, 0),
                ("var/lib/".to_string(), 0o755, 0, 0),
                ("var/lib/cincinnati-graph-data/".to_string(), 0o755, 0, 0),
                (
                    "var/lib/cincinnati-graph-data/version".to_string(),
                    0o644,
                    0,
                    0
                ),
                (
                    "var/lib/cincinnati-graph-data/channels/stable-4.14.yaml".to_string(),
                    0o644,
                    0,
                    0
                ),
            ]
        );
    }

    #[test]
    fn config_manifest_and_index_are_extended() {
        let layer = Layer {
            digest: Digest::of(b"a"),
            size: 10,
            diff_id: Digest::of(b"b"),
            created_by: "test".into(),
        };
        let config = br#"{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:x"]},"history":[{"created_by":"base"}]}"#;
        let labels = [("l".to_string(), "new".to_string())];
        let new = extend_config(
            config,
            std::slice::from_ref(&layer),
            &["run".into()],
            &labels,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(v["rootfs"]["diff_ids"][1], layer.diff_id.as_str());
        assert_eq!(v["config"]["Cmd"], serde_json::json!(["run"]));
        assert_eq!(v["config"]["Labels"], serde_json::json!({"l": "new"}));
        assert_eq!(v["history"].as_array().unwrap().len(), 2);
        let kept = extend_config(config, std::slice::from_ref(&layer), &[], &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&kept).unwrap();
        assert_eq!(v["config"]["Cmd"], serde_json::json!(["/bin/sh"]));

        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"c","digest":"sha256:old","size":1},"layers":[{"mediaType":"l","digest":"sha256:l1","size":5}]}"#;
        let new_digest = Digest::of(b"new");
        let cfg = Descriptor {
            media_type: "c".into(),
            digest: new_digest.clone(),
            size: 7,
            platform: None,
            urls: None,
        };
        let new = extend_manifest(m, &cfg, std::slice::from_ref(&layer)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(v["config"]["digest"], new_digest.as_str());
        assert_eq!(
            v["layers"][1]["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );

        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"digest":"{a}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},{{"digest":"sha256:att","size":1}}]}}"#
        );
        let new = repoint_index(index.as_bytes(), &[(a, b.clone(), 9)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(v["manifests"].as_array().unwrap().len(), 1);
        assert_eq!(v["manifests"][0]["digest"], b.as_str());
        assert_eq!(v["manifests"][0]["size"], 9);
        assert_eq!(v["manifests"][0]["platform"]["architecture"], "amd64");
    }
}
