//! OpenShift releases (`mirror.platform`) end to end: a local Cincinnati
//! (graph, graph-data, signature store) in front of the standard release
//! world, signatures made with a throwaway key oc-mirror is told to trust.
//!
//! What a user checks: which releases landed in the mirror (payloads at
//! `openshift/release-images:<version>-<arch>`, components at
//! `openshift/release:<version>-<arch>-<name>`, digest for digest), and the
//! cluster resources (IDMS, signature ConfigMap, UpdateService).
//!
//! The Cincinnati server runs on the test's runtime while the test waits for
//! oc-mirror synchronously: the tests use the multi-threaded runtime.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use oc_mirror_tests::cincinnati::compare_versions;
use oc_mirror_tests::client::sha256_digest;
use oc_mirror_tests::fixture::read_tar_gz;
use oc_mirror_tests::media_type;
use oc_mirror_tests::release::{
    PushedRelease, PushedReleaseWorld, ReleaseSpec, standard_components,
};
use oc_mirror_tests::{
    CincinnatiServer, FilesLayer, GraphSpec, Registry, ReleaseArch, ReleaseSigner, ReleaseWorld,
    ServerMode, TarEntry,
};
use serde::Deserialize as _;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::*;

/// Namespace of the release world in the source registry.
const NS: &str = "openshift-release-dev";
/// Where payloads land under the destination prefix.
const RELEASE_IMAGES: &str = "openshift/release-images";
/// Where components land.
const RELEASE: &str = "openshift/release";
/// Where the graph image lands.
const GRAPH_IMAGE: &str = "openshift/graph-image";
/// The graph image's `Cmd`.
const GRAPH_CMD: [&str; 3] = [
    "/bin/bash",
    "-c",
    "exec cp -rp /var/lib/cincinnati-graph-data/* /var/lib/cincinnati/graph-data",
];
/// Where the graph data sits in the graph image.
const GRAPH_DATA_DIR: &str = "var/lib/cincinnati-graph-data/";

/// One test's setup: a source holding the standard releases, an empty
/// mirror, a Cincinnati serving their graph with every payload signed
/// (`signature-1`) by `signer`, whose public key oc-mirror trusts.
struct Releases {
    src: Registry,
    mirror: Registry,
    world: PushedReleaseWorld,
    server: CincinnatiServer,
    signer: ReleaseSigner,
    keys: TempDir,
}

impl Releases {
    async fn start() -> Releases {
        let src = plain_registry().await;
        let world = ReleaseWorld::standard()
            .push(&src, NS)
            .await
            .expect("push releases");
        Releases::with_world(src, world).await
    }

    async fn with_world(src: Registry, world: PushedReleaseWorld) -> Releases {
        let mirror = plain_registry().await;
        let server = CincinnatiServer::start(GraphSpec::for_release_world(&world))
            .await
            .expect("start cincinnati");
        let signer = ReleaseSigner::new();
        let keys = tempfile::tempdir().expect("tempdir");
        std::fs::write(keys.path().join("release.asc"), signer.public_key_armored()).unwrap();
        let releases = Releases {
            src,
            mirror,
            world,
            server,
            signer,
            keys,
        };
        releases
            .server
            .sign_releases(&releases.signer, &releases.world);
        releases
    }

    /// Serves a good `signature-1` for `release`; returns its bytes.
    fn sign(&self, release: &PushedRelease) -> Vec<u8> {
        let bytes = self
            .signer
            .sign_release(&release.digest, &release.tag_reference());
        self.server.add_signature(&release.digest, 1, bytes.clone());
        bytes
    }

    /// The signature the store serves as `signature-1` of `release`.
    fn signature(&self, release: &PushedRelease) -> Vec<u8> {
        self.signer
            .sign_release(&release.digest, &release.tag_reference())
    }

    fn release(&self, version: &str, arch: &str) -> &PushedRelease {
        self.world
            .get(version, arch)
            .unwrap_or_else(|| panic!("no release {version} {arch}"))
    }

    /// The environment pointing oc-mirror at the local service and key.
    fn env(&self) -> [(&'static str, String); 3] {
        self.server
            .release_env(&self.keys.path().join("release.asc"))
    }

    /// Mirror to mirror into `mirror/prefix`.
    fn mirror(&self, ctx: &Ctx, isc: &str, prefix: &str, extra: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ctx.mirror_env(&env, isc, &self.mirror, prefix, extra)
    }

    /// Mirror to disk into `dir`.
    fn create(&self, ctx: &Ctx, isc: &str, dir: &Path) -> Run {
        self.create_with(ctx, isc, dir, &[])
    }

    /// [`Releases::create`] with extra flags.
    fn create_with(&self, ctx: &Ctx, isc: &str, dir: &Path, extra: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ctx.create_env(&env, isc, dir, extra)
    }

    /// The standard graph with only the versions `keep` allows.
    fn graph_with(&self, keep: impl Fn(&str) -> bool) -> GraphSpec {
        let mut graph = GraphSpec::for_release_world(&self.world);
        graph.nodes.retain(|n| keep(&n.version));
        graph
    }

    /// `<mirror>/<prefix>/<repo>`.
    fn mirrored(&self, prefix: &str, repo: &str) -> String {
        format!("{}/{prefix}/{repo}", self.mirror.host())
    }
}

/// `platform:` with `body` (indented under it).
fn platform(body: &str) -> String {
    format!("  platform:\n{body}")
}

/// `channels:` entries: `(name, extra fields)`.
fn channels(list: &[(&str, &str)]) -> String {
    let mut s = String::from("    channels:\n");
    for (name, extra) in list {
        s.push_str(&format!("      - name: {name}\n        type: ocp\n"));
        for field in extra.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            s.push_str(&format!("        {field}\n"));
        }
    }
    s
}

/// The first shard of the architecture whose `image-references` a payload
/// is read from (for a multi-arch list, the linux/amd64 one).
fn named_components(release: &PushedRelease) -> Vec<&oc_mirror_tests::release::PushedComponent> {
    let shard = release
        .shards
        .iter()
        .find(|s| s.arch == ReleaseArch::X86_64)
        .unwrap_or(&release.shards[0]);
    shard.components.iter().collect()
}

/// Tag → digest of everything `releases` put in the mirror.
fn expected_tags(
    releases: &[&PushedRelease],
    kubevirt: bool,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut payloads = BTreeMap::new();
    let mut components = BTreeMap::new();
    for r in releases {
        payloads.insert(r.tag.clone(), r.digest.clone());
        for c in named_components(r) {
            components.insert(format!("{}-{}", r.tag, c.name), c.digest.clone());
        }
        if kubevirt && let Some(k) = r.kubevirt() {
            components.insert(format!("{}-kube-virt-container", r.tag), k.digest.clone());
        }
    }
    (payloads, components)
}

/// Every tag of `repo` with the digest it points at.
async fn tags_with_digests(mirror: &Registry, repo: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for tag in mirror.tags(repo).await.expect("tags") {
        let digest = digest_at(mirror, repo, &tag)
            .await
            .expect("tagged manifest");
        out.insert(tag, digest);
    }
    out
}

/// The mirror under `prefix` holds exactly `releases` (payloads and every
/// component, by their tags, digest for digest) and nothing else.
async fn assert_exactly(
    mirror: &Registry,
    prefix: &str,
    releases: &[&PushedRelease],
    kubevirt: bool,
) {
    let (payloads, components) = expected_tags(releases, kubevirt);
    let versions = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    let found = tags_with_digests(mirror, &format!("{prefix}/{RELEASE_IMAGES}")).await;
    assert_eq!(
        versions(&found),
        versions(&payloads),
        "payload tags in {prefix}/{RELEASE_IMAGES}"
    );
    assert_eq!(found, payloads, "payload digests");
    let found = tags_with_digests(mirror, &format!("{prefix}/{RELEASE}")).await;
    assert_eq!(
        versions(&found),
        versions(&components),
        "component tags in {prefix}/{RELEASE}"
    );
    assert_eq!(found, components, "component digests");
}

/// Sorted versions of `releases`.
fn versions_of(releases: &[&PushedRelease]) -> Vec<String> {
    let mut v: Vec<String> = releases.iter().map(|r| r.version.clone()).collect();
    v.sort_by(|a, b| compare_versions(a, b));
    v
}

/// Every YAML document of a file, as JSON values.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// The signature ConfigMap (JSON and YAML) holds exactly `signatures`
/// (`(payload digest, bytes)`), base64 of the bytes served.
fn assert_signature_configmap(resources: &Path, signatures: &[(&str, Vec<u8>)]) {
    let json_path = resources.join("signature-configmap.json");
    let text = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
    let cm: Value = serde_json::from_str(&text).expect("signature-configmap.json is JSON");
    assert_eq!(cm["kind"], "ConfigMap", "{text}");
    assert_eq!(
        cm["metadata"]["name"], "mirrored-release-signatures",
        "{text}"
    );
    assert_eq!(
        cm["metadata"]["namespace"], "openshift-config-managed",
        "{text}"
    );
    let data = cm["binaryData"].as_object().expect("binaryData");
    assert_eq!(data.len(), signatures.len(), "{text}");
    for (digest, bytes) in signatures {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(
            data.iter().any(|(k, v)| {
                k.strip_prefix(&format!("sha256-{hex}-"))
                    .is_some_and(|n| n.parse::<u32>().is_ok())
                    && v.as_str() == Some(encoded.as_str())
            }),
            "no binaryData sha256-{hex}-N holding the served signature:\n{text}"
        );
    }
    let yaml = yaml_docs(&resources.join("signature-configmap.yaml"));
    assert_eq!(yaml, vec![cm], "the YAML file holds the same ConfigMap");
}

/// `idms-release-0` maps both source repositories to the mirror's.
fn assert_release_idms(resources: &Path, r: &Releases, prefix: &str) {
    let docs = yaml_docs(&resources.join("idms-oc-mirror.yaml"));
    let idms = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "idms-release-0")
        .unwrap_or_else(|| panic!("no idms-release-0: {docs:?}"));
    assert_eq!(idms["kind"], "ImageDigestMirrorSet");
    let entries = idms["spec"]["imageDigestMirrors"]
        .as_array()
        .expect("imageDigestMirrors");
    let src = r.src.host();
    for (source, mirror) in [
        (
            format!("{src}/{NS}/ocp-v4.0-art-dev"),
            r.mirrored(prefix, RELEASE),
        ),
        (
            format!("{src}/{NS}/ocp-release"),
            r.mirrored(prefix, RELEASE_IMAGES),
        ),
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e["source"] == source.as_str() && e["mirrors"] == json!([mirror])),
            "no {source} → {mirror} in {idms:#}"
        );
    }
}

/// Heads only: the channel's head and nothing else, with its signature in
/// the ConfigMap and the release mirror set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_only_mirrors_the_channel_head() {
    let r = Releases::start().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[("stable-4.14", "")])));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();

    let head = r.release("4.14.3", "x86_64");
    assert_exactly(&r.mirror, "ocp", &[head], false).await;
    let resources = ctx.working_dir().join("cluster-resources");
    assert_signature_configmap(&resources, &[(&head.digest, r.signature(head))]);
    assert_release_idms(&resources, &r, "ocp");
    assert!(
        !resources.join("updateService.yaml").exists(),
        "no UpdateService without `graph: true`"
    );
}

/// Heads only, run again after the channel gained a release: everything from
/// the head mirrored last time up to the new head (the plugin's state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_only_continues_from_the_previous_head() {
    let r = Releases::start().await;
    r.server
        .set_graph(r.graph_with(|v| compare_versions(v, "4.14.2").is_le()))
        .unwrap();
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[("stable-4.14", "")])));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();
    let (old, new) = (r.release("4.14.2", "x86_64"), r.release("4.14.3", "x86_64"));
    assert_exactly(&r.mirror, "ocp", &[old], false).await;
    let state = std::fs::read_to_string(ctx.working_dir().join("plugin-state.json"))
        .expect("plugin-state.json");
    assert!(state.contains("4.14.2"), "{state}");

    r.server
        .set_graph(GraphSpec::for_release_world(&r.world))
        .unwrap();
    // Into a fresh prefix: what this run chose, alone.
    r.mirror(&ctx, &isc, "next", &[]).assert_ok();
    assert_exactly(&r.mirror, "next", &[old, new], false).await;
    let resources = ctx.working_dir().join("cluster-resources");
    assert_signature_configmap(
        &resources,
        &[
            (&old.digest, r.signature(old)),
            (&new.digest, r.signature(new)),
        ],
    );

    // Nothing new since: the head alone.
    r.mirror(&ctx, &isc, "again", &[]).assert_ok();
    assert_exactly(&r.mirror, "again", &[new], false).await;
}

/// Mirrors `channel` with `fields` into `prefix` of a fresh workspace and
/// checks that exactly the releases `want` landed.
async fn assert_channel_choice(
    r: &Releases,
    prefix: &str,
    channel: &str,
    fields: &str,
    want: &[&str],
) {
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[(channel, fields)])));
    r.mirror(&ctx, &isc, prefix, &[]).assert_ok();
    let releases: Vec<&PushedRelease> = want.iter().map(|v| r.release(v, "x86_64")).collect();
    assert_eq!(versions_of(&releases), want);
    assert_exactly(&r.mirror, prefix, &releases, false).await;
}

/// `minVersion`/`maxVersion`: every release in the range; with
/// `shortestPath` only those on the shortest update path (4.14.1→4.14.3 is
/// a direct update).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_and_shortest_path_within_a_minor() {
    let r = Releases::start().await;
    assert_channel_choice(
        &r,
        "range",
        "stable-4.14",
        "minVersion: 4.14.1,maxVersion: 4.14.3",
        &["4.14.1", "4.14.2", "4.14.3"],
    )
    .await;
    assert_channel_choice(
        &r,
        "short",
        "stable-4.14",
        "minVersion: 4.14.1,maxVersion: 4.14.3,shortestPath: true",
        &["4.14.1", "4.14.3"],
    )
    .await;
}

/// `shortestPath` across minors in fast-4.15: 4.14.1→4.14.3→4.15.0→4.15.1.
/// The tie with the path through 4.14.2 goes to the higher version, and the
/// conditional-only update 4.14.3→4.15.1 is not taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shortest_path_across_minors() {
    let r = Releases::start().await;
    assert_channel_choice(
        &r,
        "across",
        "fast-4.15",
        "minVersion: 4.14.1,maxVersion: 4.15.1,shortestPath: true",
        &["4.14.1", "4.14.3", "4.15.0", "4.15.1"],
    )
    .await;
}

/// `full: true`: the whole channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_channel() {
    let r = Releases::start().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[("stable-4.15", "full: true")])));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();
    let releases: Vec<&PushedRelease> = ["4.14.2", "4.14.3", "4.15.0", "4.15.1"]
        .iter()
        .map(|v| r.release(v, "x86_64"))
        .collect();
    assert_exactly(&r.mirror, "ocp", &releases, false).await;
    let signatures: Vec<(&str, Vec<u8>)> = releases
        .iter()
        .map(|x| (x.digest.as_str(), r.signature(x)))
        .collect();
    assert_signature_configmap(&ctx.working_dir().join("cluster-resources"), &signatures);
}

/// Two channels' heads, and the update path between them (4.14.3 → 4.15.0 →
/// 4.15.1; not the conditional-only 4.14.3 → 4.15.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_channels_mirror_the_path_between_their_heads() {
    let r = Releases::start().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[
        ("stable-4.14", ""),
        ("stable-4.15", ""),
    ])));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();
    let releases: Vec<&PushedRelease> = ["4.14.3", "4.15.0", "4.15.1"]
        .iter()
        .map(|v| r.release(v, "x86_64"))
        .collect();
    assert_exactly(&r.mirror, "ocp", &releases, false).await;
}

/// `architectures: [multi]`: the payload is the manifest list, both
/// platforms, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_arch_payload_is_the_manifest_list() {
    let r = Releases::start().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&format!(
        "{}    architectures: [multi]\n",
        channels(&[("stable-4.15", "")])
    )));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();
    let multi = r.release("4.15.1", "multi");
    assert_exactly(&r.mirror, "ocp", &[multi], false).await;
    let repo = format!("ocp/{RELEASE_IMAGES}");
    let (digest, _, body) = r
        .mirror
        .manifest(&repo, &multi.tag)
        .await
        .unwrap()
        .expect("the multi payload");
    assert_eq!(digest, multi.digest);
    assert_eq!(
        body, multi.manifest_bytes,
        "the manifest list, byte for byte"
    );
    let list: Value = serde_json::from_slice(&body).unwrap();
    let platforms: BTreeSet<String> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(platforms, BTreeSet::from(["amd64".into(), "arm64".into()]));
    for shard in &multi.shards {
        assert_eq!(
            digest_at(&r.mirror, &repo, &shard.image.manifest_digest)
                .await
                .as_deref(),
            Some(shard.image.manifest_digest.as_str()),
            "the {} payload",
            shard.arch
        );
    }
    assert_signature_configmap(
        &ctx.working_dir().join("cluster-resources"),
        &[(&multi.digest, r.signature(multi))],
    );
}

/// `release: REF` without channels: that release (signatures required, here
/// two: one compressed as `gpg --sign` writes it), with its KubeVirt image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_release_with_kubevirt() {
    let r = Releases::start().await;
    let release = r.release("4.15.0", "x86_64");
    let compressed = r
        .signer
        .sign_release_compressed(&release.digest, &release.tag_reference());
    let plain = r.signature(release);
    r.server
        .add_signature(&release.digest, 1, compressed.clone());
    r.server.add_signature(&release.digest, 2, plain.clone());

    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&format!(
        "    release: {}\n    kubeVirtContainer: true\n",
        release.tag_reference()
    )));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();
    assert!(release.kubevirt().is_some());
    assert_exactly(&r.mirror, "ocp", &[release], true).await;
    let resources = ctx.working_dir().join("cluster-resources");
    assert_signature_configmap(
        &resources,
        &[(&release.digest, compressed), (&release.digest, plain)],
    );
    assert_release_idms(&resources, &r, "ocp");
}

/// The base image for the graph image: an OCI index, linux/amd64 and
/// linux/arm64, each one small layer and a config with a `Cmd`.
struct BaseImage {
    reference: String,
    /// arch → (layer digests, diff ids).
    children: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

async fn push_base_image(src: &Registry) -> BaseImage {
    let repo = "ubi9/ubi";
    let client = src.client();
    let mut children = BTreeMap::new();
    let mut descriptors = Vec::new();
    for arch in ["amd64", "arm64"] {
        let layer = FilesLayer::new()
            .dir("etc")
            .file(
                "etc/os-release",
                format!("NAME=\"Test UBI\"\nARCH={arch}\n"),
            )
            .dir("bin")
            .file("bin/bash", "#!/fake/bash\n");
        let (info, bytes) = layer.write().unwrap();
        client.upload_blob(repo, bytes).await.unwrap();
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {
                "Cmd": ["/bin/bash"],
                "Env": ["PATH=/usr/local/bin:/usr/bin"],
                "Labels": {"name": "ubi9", "vendor": "oc-mirror tests"},
            },
            "rootfs": {"type": "layers", "diff_ids": [info.diff_id]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test base"}],
        }))
        .unwrap();
        let config_size = config.len();
        let config_digest = client.upload_blob(repo, config).await.unwrap();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "config": {"mediaType": media_type::OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "digest": info.digest, "size": info.size}],
        }))
        .unwrap();
        let digest = client
            .put_manifest(
                repo,
                &sha256_digest(&manifest),
                media_type::OCI_MANIFEST,
                &manifest,
            )
            .await
            .unwrap();
        descriptors.push(json!({
            "mediaType": media_type::OCI_MANIFEST,
            "digest": digest,
            "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
        children.insert(arch.to_string(), (vec![info.digest], vec![info.diff_id]));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": descriptors,
    }))
    .unwrap();
    client
        .put_manifest(repo, "latest", media_type::OCI_INDEX, &index)
        .await
        .unwrap();
    BaseImage {
        reference: format!("{}/{repo}:latest", src.host()),
        children,
    }
}

/// Files of the graph-data tarball the server serves, as they must appear
/// in the graph image's layer.
fn expected_graph_files(graph: &GraphSpec) -> BTreeMap<String, Vec<u8>> {
    graph
        .graph_data_entries()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            TarEntry::File { path, contents } => Some((
                format!("{GRAPH_DATA_DIR}{}", path.trim_start_matches("./")),
                contents,
            )),
            _ => None,
        })
        .collect()
}

/// Checks the graph image in `prefix` against the base and the served graph
/// data; returns its digest.
async fn assert_graph_image(r: &Releases, prefix: &str, base: &BaseImage) -> String {
    let repo = format!("{prefix}/{GRAPH_IMAGE}");
    let (digest, _, body) = r
        .mirror
        .manifest(&repo, "latest")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {repo}:latest"));
    let index: Value = serde_json::from_slice(&body).unwrap();
    let manifests = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("the graph image is not an index: {index:#}"));
    let platforms: BTreeSet<String> = manifests
        .iter()
        .map(|m| {
            m["platform"]["architecture"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        platforms,
        base.children.keys().cloned().collect::<BTreeSet<_>>(),
        "the base's platforms"
    );
    let expected = expected_graph_files(&r.server.graph());
    for m in manifests {
        let arch = m["platform"]["architecture"].as_str().unwrap();
        let child_digest = m["digest"].as_str().unwrap();
        let (_, _, child) = r
            .mirror
            .manifest(&repo, child_digest)
            .await
            .unwrap()
            .expect("child manifest");
        let child: Value = serde_json::from_slice(&child).unwrap();
        let layers: Vec<String> = child["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect();
        let (base_layers, base_diff_ids) = &base.children[arch];
        assert_eq!(
            layers.len(),
            base_layers.len() + 1,
            "{arch}: one added layer"
        );
        assert_eq!(
            &layers[..base_layers.len()],
            &base_layers[..],
            "{arch}: base layers kept"
        );
        let config_digest = child["config"]["digest"].as_str().unwrap();
        let config = r
            .mirror
            .client()
            .blob(&repo, config_digest)
            .await
            .unwrap()
            .unwrap();
        let config: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(config["config"]["Cmd"], json!(GRAPH_CMD), "{arch}: Cmd");
        assert_eq!(config["architecture"], arch);
        let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(diff_ids.len(), layers.len());
        assert_eq!(diff_ids[0], base_diff_ids[0].as_str());
        let top = r
            .mirror
            .client()
            .blob(&repo, layers.last().unwrap())
            .await
            .unwrap()
            .unwrap();
        let members = read_tar_gz(&top).expect("the graph layer is a gzip'd tar");
        let files: BTreeMap<String, Vec<u8>> = members
            .into_iter()
            .filter(|m| m.is_file())
            .map(|m| {
                let path = m.path.trim_start_matches("./").trim_start_matches('/');
                (path.to_string(), m.contents)
            })
            .collect();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{arch}: the graph layer's files"
        );
        assert!(files == expected, "{arch}: graph data contents differ");
    }
    digest
}

/// `graph: true`: the graph image built on the given base, the UpdateService
/// naming it by digest; an identical run gives the identical image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_image_and_update_service() {
    let r = Releases::start().await;
    let base = push_base_image(&r.src).await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&format!(
        "{}    graph: true\n",
        channels(&[("stable-4.14", "")])
    )));
    let args = ["--graph-base-image", base.reference.as_str()];
    r.mirror(&ctx, &isc, "ocp", &args).assert_ok();
    let head = r.release("4.14.3", "x86_64");
    assert_exactly(&r.mirror, "ocp", &[head], false).await;
    let digest = assert_graph_image(&r, "ocp", &base).await;
    assert!(
        r.server
            .requests()
            .iter()
            .any(|q| q.path.ends_with("/graph-data")),
        "the graph data comes from the update service"
    );

    let resources = ctx.working_dir().join("cluster-resources");
    let docs = yaml_docs(&resources.join("updateService.yaml"));
    assert_eq!(docs.len(), 1, "{docs:?}");
    let us = &docs[0];
    assert_eq!(us["kind"], "UpdateService");
    assert_eq!(us["metadata"]["name"], "update-service-oc-mirror");
    assert_eq!(
        us["spec"]["graphDataImage"],
        format!("{}@{digest}", r.mirrored("ocp", GRAPH_IMAGE))
    );
    assert_eq!(us["spec"]["releases"], r.mirrored("ocp", RELEASE_IMAGES));

    // The same run again, and from a fresh workspace: the same image.
    r.mirror(&ctx, &isc, "ocp", &args).assert_ok();
    assert_eq!(
        digest_at(&r.mirror, &format!("ocp/{GRAPH_IMAGE}"), "latest").await,
        Some(digest.clone())
    );
    let fresh = Ctx::new();
    let isc = fresh.isc(&platform(&format!(
        "{}    graph: true\n",
        channels(&[("stable-4.14", "")])
    )));
    r.mirror(&fresh, &isc, "again", &args).assert_ok();
    assert_eq!(
        digest_at(&r.mirror, &format!("again/{GRAPH_IMAGE}"), "latest").await,
        Some(digest)
    );
}

/// Manifest and config digests of `releases`: what every imageset carries
/// whole; the rest of its blobs are layers.
fn manifests_and_configs(releases: &[&PushedRelease]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in releases {
        out.extend(r.manifest_digests());
        for shard in &r.shards {
            out.insert(shard.image.config_digest.clone());
            for c in shard.components.iter().chain(&shard.kubevirt) {
                out.insert(c.image.config_digest.clone());
            }
        }
    }
    out
}

/// Mirror to disk and back: the first imageset has the head; after the
/// channel gains a release the next one carries only the new layers, and
/// published in order the mirror is complete, with the signatures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imagesets_carry_only_new_release_layers() {
    let r = Releases::start().await;
    r.server
        .set_graph(r.graph_with(|v| compare_versions(v, "4.14.2").is_le()))
        .unwrap();
    let (old, new) = (r.release("4.14.2", "x86_64"), r.release("4.14.3", "x86_64"));
    let connected = Ctx::new();
    let isc = connected.isc(&platform(&channels(&[("stable-4.14", "")])));
    let out = connected.path("out");
    r.create(&connected, &isc, &out)
        .assert_ok()
        .stdout_has("Created imageset sequence 1");
    assert!(
        !out.join("working-dir/cluster-resources/signature-configmap.json")
            .exists(),
        "create writes no cluster resources"
    );
    let usb = connected.path("usb");
    carry(&out, &usb, 1);
    let disconnected = Ctx::new();
    disconnected
        .publish(&usb, &r.mirror, "ocp", &[])
        .assert_ok()
        .stdout_has("Published sequence 1");
    assert_exactly(&r.mirror, "ocp", &[old], false).await;
    let resources = usb.join("working-dir/cluster-resources");
    assert_signature_configmap(&resources, &[(&old.digest, r.signature(old))]);
    assert_release_idms(&resources, &r, "ocp");

    r.server
        .set_graph(GraphSpec::for_release_world(&r.world))
        .unwrap();
    r.create(&connected, &isc, &out)
        .assert_ok()
        .stdout_has("Created imageset sequence 2");
    let parts = carry(&out, &usb, 2);
    let blobs = archive_blobs(&parts);
    // Manifests, configs and the releases' signatures travel whole.
    let mut small = manifests_and_configs(&[old, new]);
    small.extend([old, new].map(|x| sha256_digest(&r.signature(x))));
    let layers: BTreeMap<String, u64> = blobs
        .into_iter()
        .filter(|(d, _)| !small.contains(d))
        .collect();
    let expected: BTreeMap<String, u64> = r
        .world
        .blobs_not_in(new, old)
        .into_iter()
        .filter(|(d, _)| !small.contains(d))
        .collect();
    let changed: Vec<&str> = r
        .world
        .components_not_in(new, old)
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(changed, ["cluster-version-operator", "etcd", "installer"]);
    assert_eq!(
        layers, expected,
        "the second imageset carries exactly the new components' layers"
    );

    disconnected
        .publish(&usb, &r.mirror, "ocp", &[])
        .assert_ok()
        .stdout_has("Published sequence 2");
    assert_exactly(&r.mirror, "ocp", &[old, new], false).await;
    assert_signature_configmap(
        &resources,
        &[
            (&old.digest, r.signature(old)),
            (&new.digest, r.signature(new)),
        ],
    );
}

// ---- failures: exit 1, a clear message, no panic, nothing mirrored ----

/// A stable-4.14 heads-only run that must fail with `needle`.
async fn assert_refused(r: &Releases, isc_body: &str, needle: &str) -> Run {
    let ctx = Ctx::new();
    let isc = ctx.isc(isc_body);
    let run = r.mirror(&ctx, &isc, "ocp", &[]);
    // The release plugin failing on its section: the release bit.
    run.assert_failed(2).stderr_has(needle);
    assert!(
        r.mirror
            .tags(&format!("ocp/{RELEASE_IMAGES}"))
            .await
            .unwrap()
            .is_empty(),
        "nothing is mirrored"
    );
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_by_another_key_is_refused() {
    let r = Releases::start().await;
    let head = r.release("4.14.3", "x86_64");
    let other = ReleaseSigner::with_seed(7);
    r.server.add_signature(
        &head.digest,
        1,
        other.sign_release(&head.digest, &head.tag_reference()),
    );
    let body = platform(&channels(&[("stable-4.14", "")]));
    assert_refused(&r, &body, "is refused")
        .await
        .stderr_has(&head.digest);

    // A flipped byte in a signature of the right key.
    let mut flipped = r.signature(head);
    let at = flipped.len() - 10;
    flipped[at] ^= 1;
    r.server.add_signature(&head.digest, 1, flipped);
    assert_refused(&r, &body, "is refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_signature_is_refused() {
    let r = Releases::start().await;
    let head = r.release("4.14.3", "x86_64");
    r.server.remove_signatures(&head.digest);
    let body = platform(&channels(&[("stable-4.14", "")]));
    assert_refused(&r, &body, "no valid signature").await;

    // `release:` needs one too.
    let named = r.release("4.15.0", "x86_64");
    r.server.remove_signatures(&named.digest);
    let body = platform(&format!("    release: {}\n", named.tag_reference()));
    assert_refused(&r, &body, "no valid signature")
        .await
        .stderr_has(&named.digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_service_down_or_failing() {
    let mut r = Releases::start().await;
    let body = platform(&channels(&[("stable-4.14", "")]));
    r.server.set_mode(ServerMode::Error {
        status: 500,
        kind: "failed_upstream_fetch".into(),
        value: "could not fetch the upstream graph".into(),
    });
    assert_refused(&r, &body, "failed_upstream_fetch").await;
    r.server.set_mode(ServerMode::Normal);
    r.server.stop().await;
    assert_refused(&r, &body, "cannot be reached").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_channel_has_no_releases() {
    let r = Releases::start().await;
    let body = platform(&channels(&[("stable-9.99", "")]));
    assert_refused(&r, &body, "has no releases").await;
}

/// `release:` naming an image that is not a release payload (no
/// `image-references`), signed, so only its content is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_without_image_references_is_refused() {
    let src = plain_registry().await;
    let world = ReleaseWorld::standard().push(&src, NS).await.unwrap();
    let r = Releases::with_world(src, world).await;
    let broken = ReleaseWorld::single(
        ReleaseSpec::new("4.15.9", ReleaseArch::X86_64, standard_components("4.15.1"))
            .without_image_references(),
    )
    .push(&r.src, "broken")
    .await
    .unwrap();
    let payload = &broken.releases[0];
    r.sign(payload);
    let body = platform(&format!("    release: {}\n", payload.tag_reference()));
    assert_refused(&r, &body, "not an OpenShift release payload").await;
}

/// The graph-data image crosses the gap like any other: built on the
/// connected side, carried in the imageset, published, and named by the
/// UpdateService written on the disconnected side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_image_through_an_imageset() {
    let r = Releases::start().await;
    let base = push_base_image(&r.src).await;
    let connected = Ctx::new();
    let isc = connected.isc(&platform(&format!(
        "{}    graph: true\n",
        channels(&[("stable-4.14", "")])
    )));
    let out = connected.path("out");
    r.create_with(
        &connected,
        &isc,
        &out,
        &["--graph-base-image", base.reference.as_str()],
    )
    .assert_ok();
    let usb = connected.path("usb");
    carry(&out, &usb, 1);
    Ctx::new()
        .publish(&usb, &r.mirror, "ocp", &[])
        .assert_ok()
        .stdout_has("Published sequence 1");
    let head = r.release("4.14.3", "x86_64");
    assert_exactly(&r.mirror, "ocp", &[head], false).await;
    let digest = assert_graph_image(&r, "ocp", &base).await;
    let docs = yaml_docs(&usb.join("working-dir/cluster-resources/updateService.yaml"));
    assert_eq!(
        docs[0]["spec"]["graphDataImage"],
        format!("{}@{digest}", r.mirrored("ocp", GRAPH_IMAGE))
    );
}

/// A payload is read (its `image-references`, out of its top layer) and then
/// mirrored: each of its blobs crosses the network once, the layer read for
/// the plugin being kept in the workspace's blob cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_layers_are_downloaded_once() {
    let r = Releases::start().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[("stable-4.14", "")])));
    r.mirror(&ctx, &isc, "ocp", &[]).assert_ok();
    let head = r.release("4.14.3", "x86_64");
    assert_exactly(&r.mirror, "ocp", &[head], false).await;
    for digest in head.payload_blobs().keys() {
        assert_eq!(
            r.src.blob_gets(digest),
            1,
            "payload blob {digest} was downloaded {} times",
            r.src.blob_gets(digest)
        );
    }
}

/// `oc-mirror plan` chooses releases as a run does, from the update graph
/// alone: the versions and payload references, each with the channel that
/// chose it, and not one request to the source registry; `--images` reads
/// the payloads to list every image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_chooses_releases_from_the_graph_alone() {
    let r = Releases::start().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&platform(&channels(&[(
        "stable-4.14",
        "minVersion: 4.14.1,maxVersion: 4.14.3,shortestPath: true",
    )])));
    let env = r.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mark = r.src.log_mark();
    let run = ctx.run_env(
        &env,
        &["plan", "-c", &isc, "-o", "json", "--src-tls-verify=false"],
    );
    run.assert_ok();
    assert!(
        r.src.requests_since(mark).is_empty(),
        "a plan read the registry: {:?}",
        r.src.requests_since(mark)
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let section = &report["sections"][0];
    assert_eq!(section["key"], "platform");
    let chosen: Vec<(String, String)> = section["plan"]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["version"].as_str().unwrap().to_string(),
                x["payload"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = ["4.14.1", "4.14.3"]
        .iter()
        .map(|v| {
            let release = r.release(v, "x86_64");
            (v.to_string(), release.digest_reference())
        })
        .collect();
    assert_eq!(chosen, want);
    assert_eq!(
        section["plan"]["releases"][0]["chosenBy"],
        json!(["channel stable-4.14 (amd64)"])
    );
    assert_eq!(section["images"], json!([]), "no payload was read");

    // The text form, with every image.
    let run = ctx.run_env(
        &env,
        &["plan", "-c", &isc, "--images", "--src-tls-verify=false"],
    );
    run.assert_ok()
        .stdout_has("Releases (plugin release)")
        .stdout_has("4.14.3 x86_64");
    let release = r.release("4.14.3", "x86_64");
    for component in named_components(release) {
        run.stdout_has(&component.reference);
    }
}

/// Delete and prune of a release that shares components with one that
/// stays: the old payload and the components only it had go, the shared
/// manifests stay, and the release that stays still resolves completely.
/// `a`: the channel range moves, then a delete (generated, carried out);
/// `b`: the channel range moves with `--prune`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_deleted_or_pruned_leaves_the_other_whole() {
    let r = Releases::start().await;
    let (old, new) = (r.release("4.14.2", "x86_64"), r.release("4.14.3", "x86_64"));
    let shared: Vec<&str> = named_components(old)
        .iter()
        .filter(|c| named_components(new).iter().any(|n| n.digest == c.digest))
        .map(|c| c.digest.as_str())
        .collect();
    assert!(!shared.is_empty(), "the fixture releases share components");
    let both = platform(&channels(&[(
        "stable-4.14",
        "minVersion: 4.14.2,maxVersion: 4.14.3",
    )]));
    let newer = platform(&channels(&[(
        "stable-4.14",
        "minVersion: 4.14.3,maxVersion: 4.14.3",
    )]));

    // a: mirrored, the range moved (kept without --prune), then deleted.
    let ctx = Ctx::new();
    r.mirror(&ctx, &ctx.isc(&both), "a", &[]).assert_ok();
    r.mirror(&ctx, &ctx.isc(&newer), "a", &[])
        .assert_ok()
        .stdout_has("are no longer configured (kept; `--prune` deletes them)");
    assert_exactly(&r.mirror, "a", &[old, new], false).await;
    let disc = crate::delete::delete_config(
        &ctx,
        &platform(&channels(&[(
            "stable-4.14",
            "minVersion: 4.14.2,maxVersion: 4.14.2",
        )])),
    );
    let env = r.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dest = format!("docker://{}/a", r.mirror.host());
    let ws = ctx.workspace();
    ctx.run_env(
        &env,
        &[
            "delete",
            "--generate",
            "-c",
            &disc,
            "--workspace",
            &ws,
            &dest,
            "--src-tls-verify=false",
        ],
    )
    .assert_ok();
    let file = ctx.working_dir().join("delete/delete-images.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("type: ocpRelease\n"), "{text}");
    assert!(text.contains("type: ocpReleaseContent"), "{text}");
    ctx.run(&[
        "delete",
        "--delete-yaml-file",
        &file.display().to_string(),
        &dest,
        "--dest-tls-verify=false",
    ])
    .assert_ok();
    assert_left_whole(&r, "a", old, new, &shared).await;

    // b: the range moves with --prune.
    let ctx = Ctx::new();
    r.mirror(&ctx, &ctx.isc(&both), "b", &[]).assert_ok();
    r.mirror(&ctx, &ctx.isc(&newer), "b", &["--prune"])
        .assert_ok()
        .stdout_has("pruned (")
        .stdout_has("cannot delete a tag alone");
    assert_left_whole(&r, "b", old, new, &shared).await;
}

/// After `old` was deleted from `prefix`: its payload and its own components
/// are gone; the shared ones and every image of `new` resolve completely.
async fn assert_left_whole(
    r: &Releases,
    prefix: &str,
    old: &PushedRelease,
    new: &PushedRelease,
    shared: &[&str],
) {
    let payloads = format!("{prefix}/{RELEASE_IMAGES}");
    let components = format!("{prefix}/{RELEASE}");
    assert_eq!(digest_at(&r.mirror, &payloads, &old.tag).await, None);
    for c in named_components(old) {
        let there = digest_at(&r.mirror, &components, &c.digest).await;
        if shared.contains(&c.digest.as_str()) {
            assert_eq!(
                there.as_deref(),
                Some(c.digest.as_str()),
                "{} is shared",
                c.name
            );
        } else {
            assert_eq!(there, None, "{} of {} only", c.name, old.tag);
        }
    }
    crate::delete::assert_resolves(&r.mirror, &payloads, &new.tag).await;
    for c in named_components(new) {
        let tag = format!("{}-{}", new.tag, c.name);
        assert_eq!(
            digest_at(&r.mirror, &components, &tag).await.as_deref(),
            Some(c.digest.as_str())
        );
        crate::delete::assert_resolves(&r.mirror, &components, &tag).await;
    }
}
