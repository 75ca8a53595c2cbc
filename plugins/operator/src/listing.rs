//! `oc-mirror list operators`: what a catalog offers, to help write the
//! `operators` section, laid out as oc-mirror v2 lays it out: its packages
//! (`NAME  DISPLAY NAME  DEFAULT CHANNEL`, the display name of each
//! package's newest bundle); a package's row and its channels with their
//! heads (`PACKAGE  CHANNEL  HEAD`); a channel's `VERSIONS` (in semver order,
//! where v2 sorts bundle names as text). Read with the same code that reads
//! a catalog for a mirror run.

use oc_mirror_plugin_sdk::Error;
use serde::Deserialize;

use crate::catalog_image::CatalogImage;
use crate::select;
use crate::version;

/// What `oc-mirror list operators` asks.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Query {
    /// The catalog image.
    pub catalog: String,
    /// A package: list its channels.
    #[serde(default)]
    pub package: Option<String>,
    /// A channel of the package: list its versions.
    #[serde(default)]
    pub channel: Option<String>,
    /// Set by the host for an `oci:` catalog.
    #[serde(default)]
    pub local_reference: Option<String>,
}

/// The answer, as text: a header line, then one row per item, in columns.
pub fn answer(query: &Query) -> Result<String, Error> {
    let image = CatalogImage::open_reference(&query.catalog, query.local_reference.as_deref())?;
    let catalog = image.read()?;
    let rows: Vec<Vec<String>> = match (&query.package, &query.channel) {
        (None, Some(_)) => {
            return Err(Error::InvalidConfig("`--channel` needs `--package`".into()));
        }
        (None, None) => {
            let mut rows = vec![package_header()];
            rows.extend(catalog.packages.values().map(package_row));
            rows
        }
        (Some(name), channel) => {
            let package = catalog.packages.get(name).ok_or_else(|| {
                Error::NotFound(format!(
                    "package {name:?} is not in catalog {}",
                    query.catalog
                ))
            })?;
            match channel {
                None => {
                    let mut text = String::new();
                    if package.default_channel.is_some() {
                        text = columns(&[package_header(), package_row(package)]) + "\n";
                    }
                    let mut rows = vec![vec![
                        "PACKAGE".to_string(),
                        "CHANNEL".to_string(),
                        "HEAD".to_string(),
                    ]];
                    for c in package.channels.values() {
                        let head =
                            select::channel_head(c).unwrap_or_else(|e| format!("ERROR: {e}"));
                        rows.push(vec![name.clone(), c.name.clone(), head]);
                    }
                    return Ok(text + &columns(&rows));
                }
                Some(channel) => {
                    let c = package.channels.get(channel).ok_or_else(|| {
                        Error::NotFound(format!(
                            "channel {channel:?} is not in package {name:?} of catalog {}",
                            query.catalog
                        ))
                    })?;
                    let mut versions: Vec<String> = c
                        .entries
                        .iter()
                        .filter_map(|e| package.bundles.get(&e.name)?.version.clone())
                        .collect();
                    versions.sort_by(|a, b| match (version::parse(a), version::parse(b)) {
                        (Some(x), Some(y)) => version::cmp(&x, &y),
                        _ => a.cmp(b),
                    });
                    versions.dedup();
                    let mut rows = vec![vec!["VERSIONS".to_string()]];
                    rows.extend(versions.into_iter().map(|v| vec![v]));
                    rows
                }
            }
        }
    };
    Ok(columns(&rows))
}

fn package_header() -> Vec<String> {
    ["NAME", "DISPLAY NAME", "DEFAULT CHANNEL"]
        .map(String::from)
        .to_vec()
}

/// A package's name, the display name of its newest bundle, its default channel.
fn package_row(package: &crate::fbc::Package) -> Vec<String> {
    let newest = package
        .bundles
        .values()
        .filter_map(|b| Some((version::parse(b.version.as_deref()?)?, b)))
        .max_by(|(a, _), (b, _)| version::cmp(a, b))
        .map(|(_, b)| b);
    vec![
        package.name.clone(),
        newest
            .and_then(|b| b.display_name.clone())
            .unwrap_or_default(),
        package.default_channel.clone().unwrap_or_default(),
    ]
}

/// Rows as left-aligned columns two spaces apart, a line each.
pub fn columns(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::fbc::{Bundle, Package};

    #[test]
    fn a_package_shows_its_newest_bundles_display_name() {
        let bundle = |name: &str, version: &str, display: Option<&str>| Bundle {
            name: name.into(),
            version: Some(version.into()),
            display_name: display.map(str::to_string),
            ..Bundle::default()
        };
        let mut package = Package {
            name: "foo".into(),
            default_channel: Some("stable".into()),
            ..Package::default()
        };
        for b in [
            bundle("foo.v1.10.0", "1.10.0", Some("Foo Operator")),
            bundle("foo.v1.9.0", "1.9.0", Some("Old Foo")),
        ] {
            package.bundles.insert(b.name.clone(), b);
        }
        assert_eq!(
            super::package_row(&package),
            ["foo", "Foo Operator", "stable"]
        );
        package
            .bundles
            .insert("foo.v2.0.0".into(), bundle("foo.v2.0.0", "2.0.0", None));
        assert_eq!(super::package_row(&package), ["foo", "", "stable"]);
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["NAME".to_string(), "DEFAULT CHANNEL".to_string()],
            vec!["a-long-name".to_string(), "stable".to_string()],
        ];
        assert_eq!(
            super::columns(&rows),
            "NAME         DEFAULT CHANNEL\na-long-name  stable\n"
        );
    }
}
