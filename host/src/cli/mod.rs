//! The command line: flags as oc-mirror users know them, and nothing else.
//!
//! `cli` only declares and validates; each subcommand's `run` turns the flags
//! into settings, calls the workflow that does the work, and prints what it
//! reports. Errors become exit codes in one place
//! ([`crate::workflow::error::exit_code`]).

pub mod delete;
pub mod describe;
pub mod list;
pub mod mirror;
pub mod plan;
pub mod plugin;
pub mod reporters;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keep a disconnected mirror registry in step with OpenShift content.
#[derive(Debug, Parser)]
#[command(
    name = "oc-mirror",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Workflows:\n  mirror to disk:    oc-mirror -c isc.yaml file://DIR\n  publish:           oc-mirror --from file://DIR docker://REGISTRY[/PREFIX]\n  mirror to mirror:  oc-mirror -c isc.yaml --workspace file://DIR docker://REGISTRY[/PREFIX]"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub mirror: mirror::MirrorArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Delete from the mirror: `--generate` a delete list from a
    /// DeleteImageSetConfiguration, then carry it out with `--delete-yaml-file`.
    Delete(Box<delete::DeleteArgs>),
    /// Show what an imageset holds: UUID, sequence, parent, images, sizes.
    Describe(describe::DescribeArgs),
    /// What the update service or an operator catalog offers.
    List(list::ListArgs),
    /// What a configuration selects, and why, without copying anything.
    Plan(Box<plan::PlanArgs>),
    /// Plugins: list the built-in ones, inspect one before using it.
    Plugin(plugin::PluginArgs),
    /// Print the version of oc-mirror.
    Version(VersionArgs),
}

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Output format: `text` or `json`.
    #[arg(long, short = 'o', default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
}

/// Parses the command line and runs it.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Some(Command::Version(v)) => version(&v),
        Some(Command::Delete(d)) => delete::run(&d),
        Some(Command::Describe(d)) => describe::run(&d),
        Some(Command::List(l)) => list::run(&l),
        Some(Command::Plan(p)) => plan::run(&p),
        Some(Command::Plugin(p)) => plugin::run(&p),
        None => mirror::run(cli.mirror),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            reporters::print_error(&err);
            ExitCode::from(crate::workflow::error::exit_code(&err))
        }
    }
}

fn version(args: &VersionArgs) -> anyhow::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    if args.output == "json" {
        println!(
            "{}",
            serde_json::json!({ "clientVersion": { "gitVersion": version, "implementation": "oc-mirror-rs" } })
        );
    } else {
        println!("oc-mirror {version} (oc-mirror in Rust)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
