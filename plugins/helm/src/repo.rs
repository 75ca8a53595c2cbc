//! Chart repositories: HTTP ones (an `index.yaml` naming every chart
//! version and where its archive is) and OCI ones (charts as OCI artifacts
//! with Helm's media types, one repository per chart, tags the versions).
//!
//! Which versions: the configured charts (the newest semver version when no
//! version is given); with no charts listed, every version of every chart
//! of an HTTP repository that is not a library chart, as oc-mirror does.
//! Archives from an HTTP repository are checked against the index's digest.

use std::collections::BTreeMap;
use std::io::Read;

use oc_mirror_plugin_sdk::{Error, http, registry, semver};
use serde::Deserialize;
use sha2::Digest as _;

/// Largest `index.yaml` read.
const MAX_INDEX: u64 = 256 << 20;
/// Largest chart archive read.
pub const MAX_CHART: u64 = 64 << 20;
/// Helm's media type of a chart archive in an OCI artifact.
pub const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The older media type some registries still hold.
const LEGACY_CHART_LAYER: &str = "application/tar+gzip";

/// An HTTP repository's `index.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<Entry>>,
}

/// One chart version of an index.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub urls: Vec<String>,
    /// sha256 of the archive, bare hex (or with `sha256:`).
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default, rename = "type")]
    pub chart_type: Option<String>,
}

/// Reads a response body, at most `max` bytes.
fn read_limited(body: impl Read, max: u64, what: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    body.take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Upstream(format!("{what}: {e}")))?;
    if out.len() as u64 > max {
        return Err(Error::Upstream(format!(
            "{what} is larger than {max} bytes"
        )));
    }
    Ok(out)
}

/// GETs `url` (a 2xx answer), at most `max` bytes.
pub fn get(url: &str, max: u64) -> Result<Vec<u8>, Error> {
    let response = http::get(url, &[])?;
    if !(200..300).contains(&response.status) {
        return Err(Error::Upstream(format!(
            "{url} answered HTTP {}",
            response.status
        )));
    }
    read_limited(response.body, max, url)
}

/// `url` with one trailing `/`.
fn base(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// Fetches and parses a repository's `index.yaml`.
pub fn fetch_index(url: &str) -> Result<Index, Error> {
    let index_url = format!("{}index.yaml", base(url));
    let bytes = get(&index_url, MAX_INDEX)?;
    serde_norway::from_slice(&bytes)
        .map_err(|e| Error::Upstream(format!("{index_url} is not a chart repository index: {e}")))
}

/// The newest version by semver (versions that are not semver last).
pub fn newest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    versions.into_iter().max_by(|a, b| {
        match (semver::Version::parse(a), semver::Version::parse(b)) {
            (Some(_), None) => std::cmp::Ordering::Greater,
            (None, Some(_)) => std::cmp::Ordering::Less,
            _ => semver::compare(a, b),
        }
    })
}

impl Index {
    /// The entry of `chart` at `version`, or at its newest version.
    pub fn find(&self, chart: &str, version: Option<&str>) -> Result<&Entry, Error> {
        let versions = self.entries.get(chart).ok_or_else(|| {
            Error::NotFound(format!("chart `{chart}` is not in the repository's index"))
        })?;
        let wanted = match version {
            Some(v) => v.to_string(),
            // As Helm: the newest release, pre-releases only when named.
            None => newest(
                versions
                    .iter()
                    .map(|e| e.version.as_str())
                    .filter(|v| semver::Version::parse(v).is_some_and(|v| v.pre.is_empty())),
            )
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "chart `{chart}` has no released version (only pre-releases, or none): name one under `version`"
                ))
            })?
            .to_string(),
        };
        versions
            .iter()
            .find(|e| {
                e.version == wanted
                    || e.version.trim_start_matches('v') == wanted.trim_start_matches('v')
            })
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "chart `{chart}` has no version `{wanted}` in the repository's index"
                ))
            })
    }

    /// Every version of every chart that is not a library chart, by name
    /// then newest first.
    pub fn everything(&self) -> Vec<&Entry> {
        let mut out = Vec::new();
        for versions in self.entries.values() {
            let mut v: Vec<&Entry> = versions
                .iter()
                .filter(|e| e.chart_type.as_deref() != Some("library"))
                .collect();
            v.sort_by(|a, b| semver::compare(&b.version, &a.version));
            out.extend(v);
        }
        out
    }
}

/// Resolves a chart URL of the index against the repository URL.
pub fn chart_url(repo: &str, url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    if let Some(path) = url.strip_prefix('/') {
        // Absolute path on the repository's host.
        let scheme_end = repo.find("://").map_or(0, |i| i + 3);
        let host_end = repo[scheme_end..]
            .find('/')
            .map_or(repo.len(), |i| scheme_end + i);
        return format!("{}/{path}", &repo[..host_end]);
    }
    format!("{}{url}", base(repo))
}

/// Downloads the archive of `entry` from repository `repo` and checks it
/// against the index's digest.
pub fn download(repo: &str, entry: &Entry) -> Result<Vec<u8>, Error> {
    let what = format!("chart {} {}", entry.name, entry.version);
    let url = entry
        .urls
        .first()
        .ok_or_else(|| Error::NotFound(format!("{what}: the index names no URL")))?;
    let url = chart_url(repo, url);
    let bytes = get(&url, MAX_CHART)?;
    if let Some(expected) = entry.digest.as_deref().filter(|d| !d.is_empty()) {
        let expected = expected.strip_prefix("sha256:").unwrap_or(expected);
        let got = hex(&sha2::Sha256::digest(&bytes));
        if !got.eq_ignore_ascii_case(expected) {
            return Err(Error::Upstream(format!(
                "{what}: {url} has sha256 {got}, but the index says {expected}: refusing it"
            )));
        }
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `oci://registry/path` → `registry/path`.
pub fn oci_repository(url: &str) -> Option<&str> {
    url.strip_prefix("oci://").map(|r| r.trim_end_matches('/'))
}

/// The tag of a chart version (Helm turns `+` into `_`).
pub fn oci_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The newest version of an OCI chart repository, from its tags.
pub fn oci_newest(repository: &str) -> Result<String, Error> {
    let tags = registry::list_tags(repository)?;
    let versions: Vec<String> = tags.iter().map(|t| t.replace('_', "+")).collect();
    newest(
        versions
            .iter()
            .map(String::as_str)
            .filter(|v| semver::Version::parse(v).is_some_and(|v| v.pre.is_empty())),
    )
    .map(str::to_string)
    .ok_or_else(|| {
        Error::NotFound(format!(
            "{repository} has no released chart version among its tags: name one under `version`"
        ))
    })
}

/// The archive of an OCI chart (`repository:tag`), as stored.
pub fn oci_download(reference: &str) -> Result<Vec<u8>, Error> {
    let manifest = registry::get_manifest(reference)?;
    let m: serde_json::Value = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| Error::Upstream(format!("{reference}: its manifest is not JSON: {e}")))?;
    let layer = m["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| {
            matches!(
                l["mediaType"].as_str(),
                Some(CHART_LAYER) | Some(LEGACY_CHART_LAYER)
            )
        })
        .and_then(|l| l["digest"].as_str())
        .ok_or_else(|| {
            Error::Other(format!(
                "{reference} is not a Helm chart (no {CHART_LAYER} layer)"
            ))
        })?;
    let reader = oc_mirror_plugin_sdk::images::open_blob(reference, layer)?;
    read_limited(reader, MAX_CHART, reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "apiVersion: v1
entries:
  podinfo:
    - name: podinfo
      version: 6.5.0
      urls: [podinfo-6.5.0.tgz]
      digest: abc
    - name: podinfo
      version: 6.10.1
      urls: [https://cdn.example.com/podinfo-6.10.1.tgz]
    - name: podinfo
      version: 7.0.0-rc.1
      urls: [/charts/podinfo-7.0.0-rc.1.tgz]
  common:
    - name: common
      version: 2.0.0
      type: library
      urls: [common-2.0.0.tgz]
";

    #[test]
    fn versions_and_urls() {
        let index: Index = serde_norway::from_str(INDEX).unwrap();
        assert_eq!(
            index.find("podinfo", None).unwrap().version,
            "6.10.1",
            "pre-releases only when named"
        );
        assert_eq!(
            index.find("podinfo", Some("7.0.0-rc.1")).unwrap().version,
            "7.0.0-rc.1"
        );
        assert_eq!(
            index.find("podinfo", Some("6.5.0")).unwrap().urls[0],
            "podinfo-6.5.0.tgz"
        );
        assert!(matches!(
            index.find("podinfo", Some("9.9.9")),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(index.find("nope", None), Err(Error::NotFound(_))));
        let all: Vec<String> = index
            .everything()
            .iter()
            .map(|e| format!("{}-{}", e.name, e.version))
            .collect();
        assert_eq!(
            all,
            ["podinfo-7.0.0-rc.1", "podinfo-6.10.1", "podinfo-6.5.0"]
        );
        let repo = "https://charts.example.com/stable";
        assert_eq!(
            chart_url(repo, "a-1.tgz"),
            "https://charts.example.com/stable/a-1.tgz"
        );
        assert_eq!(
            chart_url(repo, "/x/a-1.tgz"),
            "https://charts.example.com/x/a-1.tgz"
        );
        assert_eq!(
            chart_url(repo, "https://o.example/a.tgz"),
            "https://o.example/a.tgz"
        );
        assert_eq!(
            oci_repository("oci://ghcr.io/org/charts/"),
            Some("ghcr.io/org/charts")
        );
        assert_eq!(oci_tag("1.0.0+build.1"), "1.0.0_build.1");
        assert_eq!(newest(["1.2.0", "1.10.0", "latest"]), Some("1.10.0"));
    }
}
