//! `oc-mirror list releases`: what the update service offers, to help write
//! the `platform.channels` of an ImageSetConfiguration. The release plugin
//! reads the graph (the same code that resolves releases for a mirror run).

use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::plugin::{PluginHost, PluginHostConfig};
use crate::settings::{Environment, ReleaseSettings};
use crate::sources::Sources;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(subcommand)]
    pub what: ListCommand,
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// Versions of a channel, or the channels the update graph names.
    Releases(ReleasesArgs),
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// The channel to read, e.g. `stable-4.16` (default: `stable-<--version>`).
    #[arg(long)]
    pub channel: Option<String>,
    /// `major.minor`, e.g. `4.16`.
    #[arg(long)]
    pub version: Option<String>,
    /// List channels instead of versions.
    #[arg(long)]
    pub channels: bool,
    /// Architecture: amd64, arm64, ppc64le, s390x or multi.
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// Read OKD's update service instead of OpenShift's.
    #[arg(long)]
    pub okd: bool,
}

pub fn run(args: &ListArgs) -> anyhow::Result<()> {
    let ListCommand::Releases(r) = &args.what;
    if r.channel.is_none() && r.version.is_none() {
        anyhow::bail!("name a channel (`--channel stable-4.16`) or a version (`--version 4.16`)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let env = Environment::from_process();
    let host = Arc::new(PluginHost::new(PluginHostConfig {
        cache_dir: env.plugin_cache_dir(),
        epoch: env.source_date_epoch.unwrap_or(0),
        ..PluginHostConfig::default()
    })?);
    let release = ReleaseSettings::resolve(&env, ReleaseSettings::GRAPH_BASE_IMAGE)?;
    let sources = runtime.block_on(Sources::load(host, None, release, Vec::new()))?;
    let query = serde_json::json!({
        "channel": r.channel,
        "version": r.version,
        "channels": r.channels,
        "arch": r.arch,
        "okd": r.okd,
    });
    let text = runtime.block_on(sources.list_releases(query))?;
    print!("{text}");
    Ok(())
}
