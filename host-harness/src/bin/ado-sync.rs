//! The `ado-sync` binary.

use ado_sync_host::cli::{exit, Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ADO_SYNC_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let component = cli
        .component
        .clone()
        .unwrap_or_else(ado_sync_host::component_path);
    let code = match cli.command {
        Command::Demo { db } => match ado_sync_host::cli::demo::run(&component, &db).await {
            Ok(report) => {
                if cli.json {
                    match serde_json::to_string_pretty(&report) {
                        Ok(s) => println!("{s}"),
                        Err(e) => eprintln!("error: {e}"),
                    }
                } else {
                    print!("{}", ado_sync_host::cli::demo::render(&report));
                }
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                if e.downcast_ref::<ado_sync_host::HostError>().is_some() {
                    exit::HOST_ERROR
                } else {
                    exit::PLUGIN_ERROR
                }
            }
        },
    };
    std::process::exit(code);
}
