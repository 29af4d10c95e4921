//! The `ado-sync` binary: parse, set up logging, run, exit with a code scripts can use.

use ado_sync_host::cli::{exit, Cli};
use clap::Parser;

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ADO_SYNC_LOG")
        .unwrap_or_else(|_| "warn".into());
    let json = std::env::var("ADO_SYNC_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_logging();
    let code = ado_sync_host::cli::run(cli).await;
    std::process::exit(code);
}
