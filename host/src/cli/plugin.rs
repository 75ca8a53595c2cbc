//! `oc-mirror plugin list` and `oc-mirror plugin inspect PATH|REF`: what
//! plugins there are and what each asks for, before anyone runs them.

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::plugin::{Plugin, PluginHost, PluginHostConfig, World};
use crate::registry::auth::AuthStore;
use crate::registry::{RegistryClient, RegistryConfig};
use crate::settings::Environment;

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the plugins built into this oc-mirror.
    List,
    /// Show a plugin's name, version, API version, world and declared capabilities.
    Inspect {
        /// A `.wasm` file, or an OCI reference to a wasm artifact (`docker://REG/REPO:TAG`).
        plugin: String,
        /// Accept plain HTTP or unverified TLS from the registry.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
        src_tls_verify: bool,
    },
}

pub fn run(args: &PluginArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let env = Environment::from_process();
    let host = PluginHost::new(PluginHostConfig {
        cache_dir: env.plugin_cache_dir(),
        ..PluginHostConfig::default()
    })?;
    match &args.command {
        PluginCommand::List => {
            println!(
                "{:<20} {:<9} {:<5} {:<15} {:<18} CAPABILITIES",
                "NAME", "VERSION", "API", "WORLD", "CONFIG KEY"
            );
            for (name, bytes) in crate::plugin::embedded::CONTENT_SOURCES
                .iter()
                .chain(crate::plugin::embedded::PUBLISHERS)
            {
                let plugin = host.load(bytes, &format!("embedded:{name}"))?;
                let info = runtime.block_on(host.info(&plugin))?;
                println!(
                    "{:<20} {:<9} {:<5} {:<15} {:<18} {}",
                    info.name,
                    info.version,
                    plugin.api.version(),
                    world_name(plugin.world),
                    if info.config_key.is_empty() {
                        "-"
                    } else {
                        &info.config_key
                    },
                    if info.capabilities.is_empty() {
                        "none".to_string()
                    } else {
                        info.capabilities.join(", ")
                    }
                );
            }
            Ok(())
        }
        PluginCommand::Inspect {
            plugin,
            src_tls_verify,
        } => {
            let client = RegistryClient::new(RegistryConfig {
                tls_verify: *src_tls_verify,
                cert_dirs: Vec::new(),
                retry: Default::default(),
                auth: Arc::new(AuthStore::discover(None, &env.auth)?),
                layouts: Default::default(),
            });
            let bytes = runtime.block_on(crate::plugin::fetch::plugin_bytes(plugin, &client))?;
            let loaded: Plugin = host.load(&bytes, plugin)?;
            let info = runtime.block_on(host.info(&loaded))?;
            println!("name:          {}", info.name);
            println!("version:       {}", info.version);
            println!("api version:   {}", loaded.api.version());
            println!("world:         {}", world_name(loaded.world));
            println!(
                "config key:    {}",
                if info.config_key.is_empty() {
                    "-"
                } else {
                    &info.config_key
                }
            );
            println!(
                "capabilities:  {}",
                if info.capabilities.is_empty() {
                    "none".to_string()
                } else {
                    info.capabilities.join(", ")
                }
            );
            println!("digest:        {}", loaded.digest);
            println!("size:          {} bytes", bytes.len());
            Ok(())
        }
    }
}

fn world_name(w: World) -> &'static str {
    match w {
        World::ContentSource => "content-source",
        World::Publisher => "publisher",
    }
}
