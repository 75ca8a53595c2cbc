//! Operator catalogs: filtered as oc-mirror filters them, rebuilt, and the
//! bundles' images mirrored; read back out of the mirror.

use std::collections::BTreeSet;

use oc_mirror_tests::catalog::{self, Catalog, CatalogImage, read_catalog};
use serde_json::Value;

use crate::support::*;

/// `mirror.operators` for `catalog`, with `body` (indented to sit under the
/// catalog entry) as its packages.
fn operators_isc(catalog: &str, body: &str) -> String {
    format!("  operators:\n    - catalog: {catalog}\n{body}")
}

/// `(schema, name)` of every object, sorted.
fn summary(objects: &[Value]) -> BTreeSet<(String, String)> {
    objects
        .iter()
        .map(|o| {
            (
                o["schema"].as_str().unwrap_or_default().to_string(),
                o["name"]
                    .as_str()
                    .or(o["package"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn heads_of_a_package_are_mirrored_with_a_rebuilt_catalog() {
    let src = plain_registry().await;
    let pushed = Catalog::small()
        .push(&src, &CatalogImage::new("redhat/test-index", "v1"))
        .await
        .unwrap();
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&operators_isc(
        &pushed.reference,
        "      packages:\n        - name: foo\n",
    ));
    let run = ctx.mirror(&isc, &mirror, "ocp", &[]);
    run.assert_ok();
    let rebuilt = read_catalog(mirror.client(), "ocp/redhat/test-index", "v1")
        .await
        .unwrap();
    let objects = rebuilt.objects().unwrap();
    let kept = summary(&objects);
    eprintln!("{kept:?}\n{}", run.stderr);
    assert!(kept.contains(&("olm.bundle".into(), "foo.v1.2.0".into())));
    assert!(kept.contains(&("olm.bundle".into(), "foo.v2.0.0".into())));
    assert!(
        !kept
            .iter()
            .any(|(s, n)| s == "olm.bundle" && n.starts_with("bar"))
    );
    assert_eq!(
        rebuilt.config["config"]["Cmd"],
        serde_json::json!(["serve", "/configs"])
    );
    let _ = catalog::CONFIGS_LABEL;
}
