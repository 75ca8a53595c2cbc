//! `oc-mirror delete`: the two phases of a delete, as oc-mirror v2 has them.
//!
//! ```text
//! oc-mirror delete --generate -c delete-isc.yaml --workspace file://WS docker://REG/PREFIX
//! oc-mirror delete --delete-yaml-file FILE docker://REG/PREFIX [--dry-run] [--force-cache-delete]
//! ```
//!
//! The first runs where the workspace is (the connected side) and writes the
//! delete list; the second runs where the mirror is, from that file alone.
//! The workflow is [`crate::workflow::delete`]; this module checks the flags
//! and prints what it reports.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::mirror::{MirrorArgs, file_url, resolve_settings, run_workflow};
use super::reporters;
use crate::config::{self, ConfigDocument};
use crate::reference::MirrorTarget;
use crate::settings::Environment;
use crate::workflow::delete::{self, Removal, RemovalReport, RemoveOptions};

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Phase 1: write the delete list (`WS/working-dir/delete/delete-images.yaml`)
    /// from `-c` (a DeleteImageSetConfiguration) and `--workspace`.
    #[arg(long)]
    pub generate: bool,
    /// Phase 2: the delete list to carry out.
    #[arg(long, value_name = "FILE")]
    pub delete_yaml_file: Option<PathBuf>,
    /// Phase 1: add `-ID` to the names of the files written, to keep several.
    #[arg(long, value_name = "ID")]
    pub delete_id: Option<String>,
    /// Phase 2: also remove the deleted images' blobs from the workspace
    /// cache (`--workspace file://DIR`) where nothing kept needs them.
    #[arg(long)]
    pub force_cache_delete: bool,
    /// Phase 2: also delete each image's cosign signature (`sha256-<hex>.sig`).
    #[arg(long)]
    pub delete_signatures: bool,
    #[command(flatten)]
    pub mirror: MirrorArgs,
}

pub fn run(args: &DeleteArgs) -> anyhow::Result<()> {
    let m = &args.mirror;
    reporters::init_logging(&m.log_level);
    if m.from.is_some() {
        bail!(
            "`delete` takes no `--from`\nhint: oc-mirror delete --delete-yaml-file FILE docker://REGISTRY[/PREFIX]"
        );
    }
    let Some(dest) = m.destination.as_deref() else {
        bail!(
            "`delete` needs the mirror: a `docker://REGISTRY[/PREFIX]` argument\nhint: oc-mirror delete --generate -c delete-isc.yaml --workspace file://DIR docker://REGISTRY[/PREFIX]"
        );
    };
    if !dest.starts_with("docker://") {
        bail!("`delete` works on a registry: `{dest}` must start with `docker://`");
    }
    let target = MirrorTarget::parse(dest)?;
    let workspace = m
        .workspace
        .as_deref()
        .map(|w| file_url("workspace", w))
        .transpose()?;
    let env = Environment::from_process();
    let settings = resolve_settings(m, None, &env)?;
    if args.generate {
        let (Some(path), Some(ws)) = (&m.config, &workspace) else {
            bail!(
                "`delete --generate` needs `-c` (a DeleteImageSetConfiguration) and `--workspace file://DIR`"
            );
        };
        if args.delete_yaml_file.is_some() || args.force_cache_delete {
            bail!(
                "`--delete-yaml-file` and `--force-cache-delete` belong to the second phase, not to `--generate`"
            );
        }
        let ConfigDocument::Delete(dsc) = config::load_file(path)? else {
            bail!(
                "`{}` is an ImageSetConfiguration; `delete --generate` needs `kind: DeleteImageSetConfiguration` with a `delete:` section",
                path.display()
            );
        };
        let report = run_workflow(settings, &m.log_level, async |ctx| {
            delete::generate(ctx, &dsc, ws, &target, args.delete_id.as_deref()).await
        })?;
        print_generated(&report);
        return Ok(());
    }
    let Some(file) = &args.delete_yaml_file else {
        bail!(
            "`delete` needs `--generate` (phase 1) or `--delete-yaml-file FILE` (phase 2)\nhint: oc-mirror delete --delete-yaml-file WS/working-dir/delete/delete-images.yaml docker://REGISTRY[/PREFIX]"
        );
    };
    if args.force_cache_delete && workspace.is_none() {
        bail!(
            "`--force-cache-delete` needs the workspace whose cache to clean: `--workspace file://DIR`"
        );
    }
    let options = RemoveOptions {
        dry_run: m.dry_run,
        signatures: args.delete_signatures,
    };
    let cache = if args.force_cache_delete {
        workspace.as_deref()
    } else {
        None
    };
    let report = run_workflow(settings, &m.log_level, async |ctx| {
        delete::execute(ctx, file, &target, options, cache).await
    })?;
    print_executed(&report);
    Ok(())
}

fn print_generated(r: &delete::GenerateReport) {
    let l = &r.list;
    println!(
        "Delete list: {} images to delete, {} kept",
        l.items.len(),
        l.kept.len()
    );
    for k in &l.kept {
        println!("  kept: {}: {}", k.image_reference, first_line(&k.reason));
    }
    if !r.absent.is_empty() {
        println!(
            "  {} images the configuration names are not in the mirror (never mirrored from this workspace, or already deleted)",
            r.absent.len()
        );
    }
    match r.sequence {
        Some(n) => println!(
            "  recorded as sequence {n} of the workspace: the next imageset carries again what a configuration asks for again"
        ),
        None => println!("  nothing to delete: nothing recorded"),
    }
    println!("  delete list: {}", r.file.display());
    println!("  configuration: {}", r.config_file.display());
    if r.sequence.is_some() {
        println!(
            "  next: review it, carry it to the mirror's side, and run `oc-mirror delete --delete-yaml-file {} docker://…`",
            r.file.display()
        );
    }
}

fn print_executed(r: &delete::ExecuteReport) {
    let verb = if r.dry_run {
        "Dry run of a delete"
    } else {
        "Deleted"
    };
    println!("{verb} from {}", r.target);
    print_removal(&r.removal, "");
    if r.cache_blobs_removed > 0 {
        println!(
            "  {} blobs removed from the workspace cache",
            r.cache_blobs_removed
        );
    }
    match (r.recorded, r.resumed, r.dry_run) {
        (_, _, true) => println!("  nothing was deleted or recorded (--dry-run)"),
        (Some(n), true, _) => println!(
            "  the mirror had already recorded this delete (sequence {n}): the rest is done now"
        ),
        (Some(n), false, _) => println!("  recorded in the mirror as sequence {n}"),
        (None, _, _) => {
            println!("  not recorded: the mirror keeps no metadata (mirrored to, not published to)")
        }
    }
    println!(
        "  blobs are left to the registry's garbage collector (for Distribution: `registry garbage-collect --delete-untagged`)"
    );
}

/// The lines about what a delete or a prune did.
pub(super) fn print_removal(r: &RemovalReport, indent: &str) {
    let count = |f: fn(&Removal) -> bool| r.count(f);
    println!(
        "{indent}  images: {} deleted, {} tag only, {} already gone, {} would go, {} kept; {} manifests deleted",
        count(|x| matches!(x, Removal::Deleted)),
        count(|x| matches!(x, Removal::Untagged)),
        count(|x| matches!(x, Removal::AlreadyGone)),
        count(|x| matches!(x, Removal::WouldDelete)),
        count(|x| matches!(x, Removal::Kept(_))),
        r.manifests_deleted
    );
    for (image, outcome) in &r.images {
        if matches!(outcome, Removal::Kept(_) | Removal::WouldDelete) {
            println!(
                "{indent}  {image}: {}",
                first_line(&delete::describe(outcome))
            );
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
