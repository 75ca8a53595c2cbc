//! ImageSetConfiguration text for oc-mirror runs (`-c isc.yaml`).

/// A `mirror.openshift.io/v2alpha1` ImageSetConfiguration whose `mirror:`
/// body is `mirror_yaml` (already indented by two spaces).
pub fn image_set_config(mirror_yaml: &str) -> String {
    format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n{mirror_yaml}"
    )
}

/// The `additionalImages:` section (indented for [`image_set_config`]) naming
/// every one of `refs` on `host`.
pub fn additional_images<S: AsRef<str>>(host: &str, refs: &[S]) -> String {
    let mut s = String::from("  additionalImages:\n");
    for r in refs {
        s.push_str(&format!("    - name: {host}/{}\n", r.as_ref()));
    }
    s
}

/// An ImageSetConfiguration mirroring every entry of `world` (by
/// [`WorldEntry::reference`](crate::WorldEntry::reference)) from `host`.
pub fn additional_images_of(host: &str, world: &crate::PushedWorld) -> String {
    let refs: Vec<String> = world.entries.iter().map(|e| e.reference()).collect();
    image_set_config(&additional_images(host, &refs))
}
