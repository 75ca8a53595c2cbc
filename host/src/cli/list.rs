//! `oc-mirror list releases` and `oc-mirror list operators`: what the update
//! service and an operator catalog offer, to help write the
//! `platform.channels` and `operators` of an ImageSetConfiguration. The
//! release and operator plugins answer, with the same code that resolves a
//! mirror run.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::plugin::{PluginHost, PluginHostConfig};
use crate::registry::auth::AuthStore;
use crate::registry::retry::RetryPolicy;
use crate::registry::{RegistryClient, RegistryConfig};
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
    /// A catalog's packages; a package's channels and their heads; a channel's versions.
    Operators(OperatorsArgs),
}

#[derive(Debug, Args)]
pub struct OperatorsArgs {
    /// The catalog image, e.g. `registry.redhat.io/redhat/redhat-operator-index:v4.18`
    /// (or `oci:///path` for a local OCI layout).
    #[arg(long)]
    pub catalog: String,
    /// List this package's channels and their heads.
    #[arg(long)]
    pub package: Option<String>,
    /// With `--package`: list this channel's versions.
    #[arg(long, requires = "package")]
    pub channel: Option<String>,
    /// Registry credentials file (default: as for mirroring).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verified certificates from the catalog's registry.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub src_tls_verify: bool,
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
    let text = match &args.what {
        ListCommand::Releases(r) => {
            if r.channel.is_none() && r.version.is_none() {
                anyhow::bail!(
                    "name a channel (`--channel stable-4.16`) or a version (`--version 4.16`)"
                );
            }
            let sources = runtime.block_on(Sources::load(host, None, release, Vec::new()))?;
            let query = serde_json::json!({
                "channel": r.channel,
                "version": r.version,
                "channels": r.channels,
                "arch": r.arch,
                "okd": r.okd,
            });
            runtime.block_on(sources.list_releases(query))?
        }
        ListCommand::Operators(o) => {
            let mut config = RegistryConfig {
                tls_verify: o.src_tls_verify,
                cert_dirs: Vec::new(),
                retry: RetryPolicy::default(),
                auth: Arc::new(AuthStore::discover(o.authfile.as_deref(), &env.auth)?),
                layouts: Default::default(),
            };
            if let Some(dir) = crate::registry::layout::local_path(&o.catalog) {
                config.layouts.add(std::path::Path::new(dir));
            }
            let client = Arc::new(RegistryClient::new(config));
            let sources =
                runtime.block_on(Sources::load(host, Some(client), release, Vec::new()))?;
            let query = serde_json::json!({
                "catalog": o.catalog,
                "package": o.package,
                "channel": o.channel,
            });
            runtime.block_on(sources.list_operators(query))?
        }
    };
    print!("{text}");
    Ok(())
}
