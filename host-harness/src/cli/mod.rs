//! The `ado-sync` command line: argument parsing and the commands.

pub mod demo;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// ado-sync: two-way sync between a product workspace and Azure DevOps.
#[derive(Debug, Parser)]
#[command(name = "ado-sync", version, about)]
pub struct Cli {
    /// Print JSON instead of human-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    /// The component to load (default: the release build in target/, or $ADO_SYNC_COMPONENT).
    #[arg(long, global = true)]
    pub component: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole story on embedded defaults: a simulated ADO and a SQLite file.
    Demo {
        /// The SQLite database file (recreated on each run).
        #[arg(long, default_value = "ado-sync-demo.db")]
        db: PathBuf,
    },
}

/// Exit codes scripts can rely on.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The plugin reported a typed error (bad input, auth, ADO error…).
    pub const PLUGIN_ERROR: i32 = 2;
    /// The host failed (component missing, storage, trap).
    pub const HOST_ERROR: i32 = 3;
}
