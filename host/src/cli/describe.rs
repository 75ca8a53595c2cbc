//! `oc-mirror describe DIR/mirror_seq<N>_000000.tar`: what an imageset holds.
//!
//! Reads only the metadata at the head of part 0, so it is instant whatever
//! the imageset's size, and prints its UUID, sequence, parent, parts, images
//! and the bytes it carries (`--output json` prints the metadata itself).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::reporters::human_bytes;
use crate::imageset;
use crate::metadata::Metadata;

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The first part of an imageset, `mirror_seq<N>_000000.tar`.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// Output format: `text` or `json` (the metadata document).
    #[arg(long, short = 'o', default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
}

pub fn run(args: &DescribeArgs) -> anyhow::Result<()> {
    let name = args
        .archive
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let Some((seq, _)) = crate::imageset::parse_any_part_name(name) else {
        bail!(
            "`{}` is not an imageset part\nhint: name the first part, `mirror_seq<N>_000000.tar`",
            args.archive.display()
        );
    };
    let dir = args
        .archive
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let bytes = imageset::read_metadata(&dir, seq)?;
    let m = Metadata::from_slice(&bytes)
        .with_context(|| format!("metadata of `{}`", args.archive.display()))?;
    if args.output == "json" {
        print!("{}", String::from_utf8_lossy(&m.to_canonical_bytes()));
        return Ok(());
    }
    println!("imageset:  sequence {} of workspace {}", m.sequence, m.uuid);
    match &m.parent {
        Some(p) => println!("parent:    sequence {} ({})", p.sequence, p.digest),
        None => println!("parent:    none (first imageset)"),
    }
    match m.since {
        Some(s) => println!("carries:   layers that sequences up to {s} did not ship"),
        None => println!("carries:   every blob (full imageset)"),
    }
    println!("digest:    {}", m.digest());
    let carried: u64 = m.blobs.iter().map(|b| b.size).sum();
    println!(
        "blobs:     {} ({}) besides manifests",
        m.blobs.len(),
        human_bytes(carried)
    );
    println!("parts:     {}", m.parts.join(", "));
    println!("images:    {}", m.images.len());
    for i in &m.images {
        println!(
            "  {} → {}  {}  ({} manifests, {} blobs)",
            i.source,
            i.destination,
            i.digest,
            i.manifests.len(),
            i.blobs.len()
        );
    }
    Ok(())
}
