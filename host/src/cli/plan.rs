//! `oc-mirror plan -c isc.yaml [--workspace file://DIR] [--images] [-o json]`:
//! what a configuration selects, and why, before a byte is downloaded. The
//! workflow ([`crate::workflow::plan`]) asks the same plugins as a run; this
//! module prints their answer, as text for people or JSON for machines.

use std::fmt::Write as _;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::mirror::{MirrorArgs, file_url, load_config, resolve_settings, run_workflow};
use super::reporters;
use crate::settings::Environment;
use crate::workflow::plan::PlanReport;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format: `text` or `json`.
    #[arg(long, short = 'o', default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
    /// List every image too (for releases this reads the payloads).
    #[arg(long)]
    pub images: bool,
    #[command(flatten)]
    pub mirror: MirrorArgs,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<()> {
    let m = &args.mirror;
    if m.destination.is_some() || m.from.is_some() || m.dry_run {
        bail!(
            "`plan` copies nothing, so it takes no destination, `--from` or `--dry-run`\nhint: oc-mirror plan -c isc.yaml [--workspace file://DIR]"
        );
    }
    reporters::init_logging(&m.log_level);
    let env = Environment::from_process();
    let isc = load_config(m)?;
    let workspace = m
        .workspace
        .as_deref()
        .map(|w| file_url("workspace", w))
        .transpose()?;
    let settings = resolve_settings(m, Some(&isc), &env)?;
    let report = run_workflow(settings, &m.log_level, async |ctx| {
        crate::workflow::plan::plan(ctx, &isc, workspace.as_deref(), args.images).await
    })?;
    if args.output == "json" {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report, args.images));
    }
    Ok(())
}

/// The plan as text: a block per section.
pub fn text(report: &PlanReport, images: bool) -> String {
    let mut out = String::new();
    if report.sections.is_empty() {
        out.push_str("the configuration asks for nothing to mirror\n");
    }
    for section in &report.sections {
        let _ = writeln!(out, "{} (plugin {})", title(&section.key), section.plugin);
        match (section.key.as_str(), &section.plan) {
            ("operators", Some(plan)) => operators(&mut out, plan),
            ("platform", Some(plan)) => releases(&mut out, plan),
            ("helm", Some(plan)) => charts(&mut out, plan),
            _ => {}
        }
        let _ = writeln!(out, "  {} images", section.images.len());
        if images {
            for image in &section.images {
                let _ = writeln!(out, "    {image}");
            }
        }
        for b in &section.blocked {
            let _ = writeln!(out, "  blocked: {} (by `{}`)", b.image, b.pattern);
        }
    }
    if !report.unselected.is_empty() {
        let _ = writeln!(
            out,
            "No longer configured: {} images earlier sequences brought (kept; `--prune` on publish or mirror to mirror deletes them)",
            report.unselected.len()
        );
        for d in &report.unselected {
            let _ = writeln!(out, "  {d}");
        }
    }
    out
}

fn title(key: &str) -> String {
    match key {
        "operators" => "Operators".into(),
        "platform" => "Releases".into(),
        "additionalImages" => "Additional images".into(),
        "helm" => "Helm charts".into(),
        other => other.to_string(),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// Per catalog: package → channel → bundles with why each is kept.
fn operators(out: &mut String, plan: &Value) {
    for catalog in list(plan, "catalogs") {
        let how = if catalog["rebuilt"].as_bool().unwrap_or(true) {
            "rebuilt with the filtered FBC"
        } else {
            "mirrored whole"
        };
        let _ = writeln!(out, "  catalog {}", str_of(catalog, "catalog"));
        let _ = writeln!(
            out,
            "    {} ({}) → {}, {how}",
            str_of(catalog, "catalog"),
            str_of(catalog, "digest"),
            str_of(catalog, "destination")
        );
        for package in list(catalog, "packages") {
            let default = str_of(package, "defaultChannel");
            let _ = writeln!(
                out,
                "    package {} (default channel {})",
                str_of(package, "name"),
                if default.is_empty() { "none" } else { default }
            );
            for channel in list(package, "channels") {
                let _ = writeln!(
                    out,
                    "      channel {} (head {})",
                    str_of(channel, "name"),
                    str_of(channel, "head")
                );
                let rows: Vec<[&str; 3]> = list(channel, "bundles")
                    .map(|b| [str_of(b, "name"), str_of(b, "version"), str_of(b, "reason")])
                    .collect();
                let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
                let (w0, w1) = (width(0), width(1));
                for [name, version, reason] in &rows {
                    let _ = writeln!(out, "        {name:<w0$}  {version:<w1$}  {reason}");
                }
            }
        }
        for warning in list(catalog, "warnings") {
            let _ = writeln!(out, "    warning: {}", warning.as_str().unwrap_or_default());
        }
    }
}

/// Per chart version: where it goes, each image and the template it came from.
fn charts(out: &mut String, plan: &Value) {
    for chart in list(plan, "charts") {
        let _ = writeln!(
            out,
            "  chart {} {} ({}) → {}",
            str_of(chart, "chart"),
            str_of(chart, "version"),
            str_of(chart, "source"),
            str_of(chart, "destination")
        );
        let rows: Vec<[&str; 2]> = list(chart, "images")
            .map(|i| [str_of(i, "image"), str_of(i, "template")])
            .collect();
        let w = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
        for [image, template] in &rows {
            let _ = writeln!(out, "    {image:<w$}  {template}");
        }
        for warning in list(chart, "warnings") {
            let _ = writeln!(out, "    warning: {}", warning.as_str().unwrap_or_default());
        }
    }
}

/// The releases chosen, oldest first, with what chose each.
fn releases(out: &mut String, plan: &Value) {
    for r in list(plan, "releases") {
        let why: Vec<&str> = list(r, "chosenBy").filter_map(Value::as_str).collect();
        let _ = writeln!(
            out,
            "  {} {}  {}  ({})",
            str_of(r, "version"),
            str_of(r, "arch"),
            str_of(r, "payload"),
            why.join("; ")
        );
    }
    if let Some(release) = plan.get("release").and_then(Value::as_str) {
        let _ = writeln!(out, "  release {release} (named directly)");
    }
    if let Some(graph) = plan.get("graphImage").and_then(Value::as_str) {
        let _ = writeln!(out, "  graph-data image, built as {graph}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SectionPlan;

    #[test]
    fn the_text_says_what_and_why() {
        let report = PlanReport {
            sections: vec![SectionPlan {
                key: "operators".into(),
                plugin: "operator".into(),
                plan: Some(serde_json::json!({"catalogs": [{
                "catalog": "q.io/idx:v1", "digest": "sha256:ab", "destination": "idx:v1",
                "rebuilt": true, "warnings": ["w"],
                "packages": [{"name": "foo", "defaultChannel": "stable", "channels": [
                    {"name": "stable", "head": "foo.v1.1.0", "bundles": [
                        {"name": "foo.v1.1.0", "version": "1.1.0", "reason": "channel head"},
                        {"name": "foo.v1.0.0", "version": "1.0.0", "reason": "kept from an earlier sequence"}
                    ]}]}]}]})),
                images: vec!["q.io/a@sha256:1".into()],
                blocked: Vec::new(),
            }],
            unselected: Vec::new(),
        };
        assert_eq!(
            text(&report, true),
            "Operators (plugin operator)
  catalog q.io/idx:v1
    q.io/idx:v1 (sha256:ab) → idx:v1, rebuilt with the filtered FBC
    package foo (default channel stable)
      channel stable (head foo.v1.1.0)
        foo.v1.1.0  1.1.0  channel head
        foo.v1.0.0  1.0.0  kept from an earlier sequence
    warning: w
  1 images
    q.io/a@sha256:1
"
        );
    }

    #[test]
    fn charts_list_each_image_with_its_template() {
        let report = PlanReport {
            sections: vec![SectionPlan {
                key: "helm".into(),
                plugin: "helm".into(),
                plan: Some(serde_json::json!({"charts": [{
                "chart": "web", "version": "1.2.0", "source": "http://r/charts/web",
                "destination": "r/web:1.2.0", "warnings": ["no tag"],
                "images": [
                    {"image": "q.io/web:1", "template": "web/templates/deploy.yaml"},
                    {"image": "q.io/job-runner:2", "template": "web/templates/hook.yaml"}
                ]}]})),
                images: vec!["q.io/web:1".into(), "q.io/job-runner:2".into()],
                blocked: Vec::new(),
            }],
            unselected: vec!["web/old:0.9".into()],
        };
        assert_eq!(
            text(&report, false),
            "Helm charts (plugin helm)
  chart web 1.2.0 (http://r/charts/web) → r/web:1.2.0
    q.io/web:1         web/templates/deploy.yaml
    q.io/job-runner:2  web/templates/hook.yaml
    warning: no tag
  2 images
No longer configured: 1 images earlier sequences brought (kept; `--prune` on publish or mirror to mirror deletes them)
  web/old:0.9
"
        );
    }
}
