//! A third-party content source that reads its image list out of another
//! image's layers (`registry.open-file`), as the release and catalog sources
//! do: a file, and a whole directory, with an upper layer that rewrites one
//! file and whites another out. What gets mirrored is what the image's final
//! filesystem says, nothing the lower layer alone held.

use oc_mirror_tests::fixture::{self, FilesLayer, Format, ImageSpec, LayerSpec, TarEntry};

use crate::hostile_plugins::fixtures;
use crate::support::{Ctx, plain_registry};

/// Pushes a small image `repo:1` and returns its reference on `host`.
async fn small_image(src: &oc_mirror_tests::Registry, repo: &str, seed: u64) -> String {
    let spec = ImageSpec::new(
        repo,
        Some("1"),
        Format::Oci,
        vec![LayerSpec { seed, size: 700 }],
    );
    fixture::push_image(src.client(), &spec)
        .await
        .expect("push image");
    format!("{}/{repo}:1", src.host())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_reads_files_and_directories_out_of_image_layers() {
    let src = plain_registry().await;
    let mirror = plain_registry().await;
    let a = small_image(&src, "apps/a", 101).await;
    let b = small_image(&src, "apps/b", 102).await;
    let c = small_image(&src, "apps/c", 103).await;
    let old = small_image(&src, "apps/old", 104).await;

    // Lower layer: the first list, and a directory of one-image files.
    let lower = FilesLayer::new()
        .file("images.txt", format!("{a}\n{old}\n"))
        .file("configs/a.txt", a.clone())
        .file("configs/gone.txt", old.clone())
        .file("configs/sub/b.txt", b.clone());
    // Upper layer: the list rewritten, one file whited out, one added.
    let mut upper = FilesLayer::new()
        .file("images.txt", format!("{a}\n{b}\n"))
        .file("configs/c.txt", c.clone());
    upper.entries.push(TarEntry::Whiteout {
        path: "configs/gone.txt".into(),
    });
    let catalog = ImageSpec::new(
        "catalogs/lists",
        Some("v1"),
        Format::Oci,
        vec![LayerSpec {
            seed: 105,
            size: 300,
        }],
    )
    .with_files_layer(lower)
    .with_files_layer(upper);
    fixture::push_image(src.client(), &catalog)
        .await
        .expect("push catalog");
    let catalog_ref = format!("{}/catalogs/lists:v1", src.host());

    let ctx = Ctx::new();
    let wasm = ctx.path("image-files.wasm");
    std::fs::write(&wasm, fixtures::IMAGE_FILES).expect("write plugin");
    let write_isc = |file: &str| {
        let path = ctx.path("isc.yaml");
        std::fs::write(
            &path,
            format!(
                "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nplugins:\n  - path: {}\n    config: {{image: {catalog_ref}, file: {file}, directory: /configs}}\n    grants: [registry]\nmirror: {{}}\n",
                wasm.display()
            ),
        )
        .expect("write isc");
        path.display().to_string()
    };

    let isc = write_isc("/images.txt");
    ctx.mirror(&isc, &mirror, "m", &[]).assert_ok();
    let mut repos = mirror.catalog().await.expect("catalog");
    repos.sort();
    assert_eq!(
        repos,
        ["m/apps/a", "m/apps/b", "m/apps/c"],
        "the final filesystem lists a, b (file and sub-directory) and c; `old` was rewritten away and whited out"
    );
    // The plugin's state (what it walked in the directory) was kept for next time.
    let state =
        std::fs::read_to_string(ctx.working_dir().join("plugin-state.json")).expect("plugin state");
    let state: serde_json::Value = serde_json::from_str(&state).expect("json");
    let mut walked: Vec<String> = state["image-files"]["walked"]
        .as_array()
        .expect("walked")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    walked.sort();
    assert_eq!(walked, ["a.txt", "c.txt", "sub/b.txt"]);

    // A path the image does not hold is a clear error, naming it.
    let isc = write_isc("/nope.txt");
    ctx.mirror(&isc, &mirror, "m", &[])
        .assert_failed(1)
        .stderr_has("`/nope.txt` is not in image");
}
