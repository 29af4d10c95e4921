//! The `ado-sync` command line: argument parsing and the commands.
//!
//! Every command but `demo` and `sim` works on one SQLite file (`--db`, created on first run)
//! that holds the plugin's storage, the encrypted vault (key in `<db>.key`) and the workspace.

pub mod configure;
pub mod demo;
pub mod output;
pub mod sim;
pub mod sync;

use crate::app::configure::ConnectRequest;
use crate::app::sync::{Direction, SyncParams};
use crate::app::{App, AppError, AppOptions, AppResult};
use crate::serve::ServeOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// ado-sync: two-way sync between a product workspace and Azure DevOps.
#[derive(Debug, Parser)]
#[command(name = "ado-sync", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Print JSON instead of human-readable output (errors too, on stdout).
    #[arg(long, global = true)]
    pub json: bool,
    /// The component to load (default: the release build in target/, or $ADO_SYNC_COMPONENT).
    #[arg(long, global = true)]
    pub component: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok · 2 other plugin error · 3 host failure (component, database) · 4 invalid input or mapping · 5 ADO refused the credentials or a permission · 6 not found · 7 ADO unavailable or throttling (retry later) · 8 sync finished with failed items · 64 usage.\nLogs: ADO_SYNC_LOG=info (or debug) on stderr; ADO_SYNC_LOG_FORMAT=json for JSON lines. Secrets are never logged.";

/// Where the host keeps its state, and where ADO is.
#[derive(Debug, Clone, Args)]
pub struct HostArgs {
    /// The SQLite database (created on first run; the vault key is kept beside it as <db>.key).
    #[arg(long, env = "ADO_SYNC_DB", default_value = "ado-sync.db")]
    pub db: PathBuf,
    /// The workspace id of a new database (it appears in the webhook URL).
    #[arg(long, default_value = "ws-local")]
    pub workspace_id: String,
    /// Send all ADO traffic to a simulated ADO at this URL (see `ado-sync sim`).
    #[arg(long, env = "ADO_SYNC_ADO_SIM")]
    pub ado_sim: Option<String>,
}

/// Sync direction flag.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    /// Read work items from ADO into the workspace.
    AdoToHost,
    /// Write workspace items to ADO.
    HostToAdo,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to an ADO organisation (PAT) or collection (user name + password).
    Connect {
        #[command(flatten)]
        host: HostArgs,
        /// A unique name for the connection.
        #[arg(long)]
        name: String,
        /// https://dev.azure.com/{org} (ADO Services) or the collection URL (Azure DevOps Server).
        #[arg(long)]
        url: String,
        /// ADO Services: the e-mail of the token's owner.
        #[arg(long)]
        email: Option<String>,
        /// ADO Services: the personal access token (prefer the environment variable).
        #[arg(long, env = "ADO_SYNC_PAT", hide_env_values = true)]
        pat: Option<String>,
        /// Azure DevOps Server: the user name.
        #[arg(long)]
        username: Option<String>,
        /// Azure DevOps Server: the password (prefer the environment variable).
        #[arg(long, env = "ADO_SYNC_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Remove a connection with its projects and links (host items stay).
    Disconnect {
        #[command(flatten)]
        host: HostArgs,
        /// The connection (id or name).
        connection: String,
    },
    /// Project integrations: add, list, remove.
    Projects {
        #[command(flatten)]
        host: HostArgs,
        #[command(subcommand)]
        action: configure::ProjectsAction,
    },
    /// Store a mapping from a JSON file (validated; errors name the field), or print one.
    Map {
        #[command(flatten)]
        host: HostArgs,
        /// The integration (id or name).
        integration: String,
        /// The mapping file to validate and store.
        file: Option<PathBuf>,
        /// Print the proposed mapping (a starting point for the file) instead.
        #[arg(long, conflicts_with = "file")]
        propose: bool,
        /// With --propose: ADO's Epic maps to the host's top (Product) level.
        #[arg(long)]
        epic_product_level: bool,
    },
    /// One-time sync, either way, with filters.
    Sync {
        #[command(flatten)]
        host: HostArgs,
        /// Which way.
        #[arg(long, value_enum)]
        direction: DirectionArg,
        /// Integrations (id or name); default: every mapped one.
        #[arg(long = "integration")]
        integrations: Vec<String>,
        /// ADO → host: only these work item types (comma-separated).
        #[arg(long, value_delimiter = ',')]
        types: Vec<String>,
        /// ADO → host: only items with one of these tags (comma-separated).
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// ADO → host: only open items.
        #[arg(long)]
        open_only: bool,
        /// Host → ADO: only items in these sprints (ids or names, comma-separated).
        #[arg(long, value_delimiter = ',')]
        sprints: Vec<String>,
        /// Host → ADO: only items in these releases (ids or names, comma-separated).
        #[arg(long, value_delimiter = ',')]
        releases: Vec<String>,
        /// Plan only: show what would happen, write nothing anywhere.
        #[arg(long)]
        dry_run: bool,
        /// Items per page (progress granularity).
        #[arg(long)]
        page_size: Option<u32>,
    },
    /// Connections, webhook health, projects and item counts.
    Status {
        #[command(flatten)]
        host: HostArgs,
        /// Also print each connection's webhook delivery credential (for manual subscriptions).
        #[arg(long)]
        show_webhook_credential: bool,
    },
    /// Service-hook subscriptions of a connection.
    Webhook {
        #[command(flatten)]
        host: HostArgs,
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Serve the webhook endpoint and the admin API.
    Serve {
        #[command(flatten)]
        host: HostArgs,
        /// Address to listen on (loopback by default; elsewhere needs --admin-token).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Bearer token for /api/ (required off loopback).
        #[arg(long, env = "ADO_SYNC_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// The HTTPS base URL ADO reaches this server at (default http://<listen>).
        #[arg(long, env = "ADO_SYNC_PUBLIC_URL")]
        public_url: Option<String>,
        /// Seconds between webhook heals (re-enable subscriptions ADO degraded, gap-fill missed
        /// events); 0 turns it off.
        #[arg(long, default_value_t = crate::serve::heal::DEFAULT_EVERY.as_secs())]
        heal_every: u64,
    },
    /// Run the whole story on embedded defaults: a simulated ADO and a SQLite file.
    Demo {
        /// The SQLite database file (recreated on each run).
        #[arg(long, default_value = "ado-sync-demo.db")]
        db: PathBuf,
    },
    /// Run the seeded simulated ADO on a port (try the CLI and `serve` without an organisation).
    Sim {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Do not deliver service-hook events to subscriptions.
        #[arg(long)]
        no_deliver: bool,
        /// How often pending events are delivered, in milliseconds.
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
    },
}

/// `ado-sync webhook …`.
#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Create the service-hook subscriptions (idempotent).
    Provision {
        /// The connection (id or name).
        connection: String,
        /// The HTTPS base URL ADO reaches `ado-sync serve` at.
        #[arg(long, env = "ADO_SYNC_PUBLIC_URL")]
        public_url: String,
    },
    /// Re-enable subscriptions ADO disabled, and apply what the webhook missed.
    Heal {
        /// The connection (id or name).
        connection: String,
    },
}

/// Exit codes scripts can rely on.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The plugin reported a typed error not covered below (conflict, bad payload, internal).
    pub const PLUGIN_ERROR: i32 = 2;
    /// The host failed (component missing, storage, trap).
    pub const HOST_ERROR: i32 = 3;
    /// Invalid input: a flag, a file, a configuration value or a mapping (the field is named).
    pub const INVALID: i32 = 4;
    /// ADO refused the credentials, or they lack a permission.
    pub const AUTH: i32 = 5;
    /// A connection, project, mapping or item does not exist.
    pub const NOT_FOUND: i32 = 6;
    /// ADO is unreachable, failing or throttling: retry later.
    pub const ADO_UNAVAILABLE: i32 = 7;
    /// A sync finished, but some items failed (listed in the output).
    pub const PARTIAL: i32 = 8;
    /// The command line is wrong.
    pub const USAGE: i32 = 64;
}

async fn open(component: &Path, host: &HostArgs) -> AppResult<App> {
    App::open(&AppOptions {
        db: host.db.clone(),
        component: component.to_path_buf(),
        workspace_id: host.workspace_id.clone(),
        ado_sim: host.ado_sim.clone(),
    })
    .await
}

/// Run a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let component = cli.component.clone().unwrap_or_else(crate::component_path);
    let json = cli.json;
    match dispatch(cli, &component).await {
        Ok(code) => code,
        Err(e) => output::fail(json, &e),
    }
}

async fn dispatch(cli: Cli, component: &Path) -> AppResult<i32> {
    let json = cli.json;
    match cli.command {
        Command::Demo { db } => {
            let report = demo::run(component, &db).await.map_err(|e| {
                match e.downcast::<crate::HostError>() {
                    Ok(h) => AppError::Host(h),
                    Err(e) => AppError::Io(format!("{e:#}")),
                }
            })?;
            output::emit(json, &report, demo::render);
        }
        Command::Sim {
            port,
            no_deliver,
            interval_ms,
        } => {
            sim::run(
                json,
                port,
                !no_deliver,
                std::time::Duration::from_millis(interval_ms.max(10)),
            )
            .await?
        }
        Command::Connect {
            host,
            name,
            url,
            email,
            pat,
            username,
            password,
        } => {
            let app = open(component, &host).await?;
            let request = ConnectRequest {
                name,
                url,
                email,
                pat,
                username,
                password,
            };
            configure::connect(&app, json, &request).await?;
        }
        Command::Disconnect { host, connection } => {
            let app = open(component, &host).await?;
            configure::disconnect(&app, json, &connection).await?;
        }
        Command::Projects { host, action } => {
            let app = open(component, &host).await?;
            configure::projects(&app, json, &action).await?;
        }
        Command::Map {
            host,
            integration,
            file,
            propose,
            epic_product_level,
        } => {
            // Read the file before loading anything, so a broken file fails fast.
            if let Some(f) = &file {
                configure::read_mapping(f)?;
            }
            let app = open(component, &host).await?;
            configure::map(
                &app,
                json,
                &integration,
                file.as_deref(),
                propose,
                epic_product_level,
            )
            .await?;
        }
        Command::Sync {
            host,
            direction,
            integrations,
            types,
            tags,
            open_only,
            sprints,
            releases,
            dry_run,
            page_size,
        } => {
            let app = open(component, &host).await?;
            let params = SyncParams {
                integrations,
                direction: match direction {
                    DirectionArg::AdoToHost => Direction::AdoToHost,
                    DirectionArg::HostToAdo => Direction::HostToAdo,
                },
                types,
                tags,
                open_only,
                sprints,
                releases,
                dry_run,
                page_size,
            };
            return sync::run(&app, json, &params).await;
        }
        Command::Status {
            host,
            show_webhook_credential,
        } => {
            let app = open(component, &host).await?;
            configure::status(&app, json, show_webhook_credential).await?;
        }
        Command::Webhook { host, action } => {
            let app = open(component, &host).await?;
            match action {
                WebhookAction::Provision {
                    connection,
                    public_url,
                } => {
                    let out = app.provision_webhook(&connection, &public_url).await?;
                    output::emit(json, &out, |o| {
                        let mut s = format!(
                            "webhook URL  {}\n  {} subscription(s), {} created now\n",
                            o.url,
                            o.subscriptions.len(),
                            o.created
                        );
                        for sub in &o.subscriptions {
                            s.push_str(&format!(
                                "  {:<18} {:<10} {}\n",
                                sub.event_type, sub.project, sub.status
                            ));
                        }
                        if let Some(m) = &o.manual_steps {
                            s.push_str(&format!("manual steps needed:\n  {m}\n"));
                        }
                        s
                    });
                }
                WebhookAction::Heal { connection } => {
                    let out = app.heal_webhook(&connection).await?;
                    output::emit(json, &out, |o| {
                        format!(
                            "healed: {} subscription(s) re-enabled, {} missed item(s) applied ({} created, {} updated, {} deleted)\n",
                            o.recreated, o.gap_filled, o.applied.created, o.applied.updated, o.applied.deleted
                        )
                    });
                }
            }
        }
        Command::Serve {
            host,
            listen,
            admin_token,
            public_url,
            heal_every,
        } => {
            let options = ServeOptions {
                listen,
                admin_token: admin_token.filter(|t| !t.trim().is_empty()),
                public_url,
                heal_every: (heal_every > 0).then(|| std::time::Duration::from_secs(heal_every)),
            };
            crate::serve::check(&options)?;
            let app = Arc::new(open(component, &host).await?);
            crate::serve::run(app, options).await?;
        }
    }
    Ok(exit::OK)
}
