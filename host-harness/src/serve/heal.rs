//! The periodic heal. ADO puts a subscription on probation, then disables it, after deliveries
//! fail (this server was down, say), and tells no one; events of that time are not re-sent.
//! Every interval the server heals each connection whose webhook is provisioned: degraded
//! subscriptions are re-enabled and the items changed since the last event are gap-filled.

use crate::app::App;
use std::sync::Arc;
use std::time::Duration;

/// The default interval of `ado-sync serve --heal-every`.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(15 * 60);

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Round {
    /// Connections healed.
    pub healed: usize,
    /// Subscriptions re-enabled or recreated.
    pub recreated: u32,
    /// Work items gap-filled.
    pub gap_filled: u32,
    /// Connections whose heal failed (logged; tried again next round).
    pub failed: usize,
}

/// Heal every provisioned connection once.
pub async fn round(app: &App) -> Round {
    let mut out = Round::default();
    let connections = match app.connections().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "periodic heal: listing connections failed");
            out.failed += 1;
            return out;
        }
    };
    for c in connections {
        match app.webhook_credential(&c.id).await {
            Ok(Some(_)) => {}
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(connection = %c.id, error = %e, "periodic heal: vault read failed");
                out.failed += 1;
                continue;
            }
        }
        match app.heal_webhook(&c.id).await {
            Ok(h) => {
                out.healed += 1;
                out.recreated += h.recreated;
                out.gap_filled += h.gap_filled;
                if h.recreated > 0 || h.gap_filled > 0 {
                    tracing::info!(connection = %c.id, recreated = h.recreated, gap_filled = h.gap_filled, "webhook healed");
                }
            }
            Err(e) => {
                out.failed += 1;
                tracing::warn!(connection = %c.id, kind = e.kind(), error = %e, "periodic heal failed; trying again next round");
            }
        }
    }
    out
}

/// Heal every `every`, the first round one interval after the start.
pub fn spawn(app: Arc<App>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            round(&app).await;
        }
    })
}
