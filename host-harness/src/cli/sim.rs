//! `ado-sync sim`: the seeded simulated ADO on a port, delivering its service-hook events to the
//! subscriptions' URLs as they happen (so `ado-sync serve` can be tried without an organisation).

use crate::ado_sim::AdoSim;
use crate::app::{AppError, AppResult};
use std::time::Duration;

/// Run until Ctrl-C.
pub async fn run(json: bool, port: u16, deliver: bool, interval: Duration) -> AppResult<()> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| AppError::input("port", format!("cannot listen on {port}: {e}")))?;
    let sim = AdoSim::start_seeded_on(listener)
        .await
        .map_err(|e| AppError::Io(e.to_string()))?;
    let info = serde_json::json!({
        "url": sim.uri(),
        "org_url": sim.org_url(),
        "collection_url": sim.collection_url(),
        "pat": AdoSim::PAT,
        "delivering": deliver,
    });
    if json {
        println!("{info}");
    } else {
        println!("simulated ADO at {}", sim.uri());
        println!(
            "  organisation  {}  (or connect to https://dev.azure.com/contoso with --ado-sim {})",
            sim.org_url(),
            sim.uri()
        );
        println!("  collection    {}", sim.collection_url());
        println!("  PAT           {}", AdoSim::PAT);
        println!(
            "  projects      Fabrikam (Agile), Tailspin (Scrum){}",
            if deliver {
                "; service hooks are delivered as changes happen"
            } else {
                ""
            }
        );
        println!("Ctrl-C to stop.");
    }
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick(), if deliver => {
                for r in sim.deliver_events().await {
                    if r.delivered() {
                        tracing::info!(event = %r.event_type, status = r.status, "delivered");
                    } else {
                        tracing::warn!(event = %r.event_type, status = r.status, error = r.error.as_deref().unwrap_or(""), "delivery failed");
                    }
                }
            }
        }
    }
    Ok(())
}
