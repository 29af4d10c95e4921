//! Service-hook deliveries, and provisioning and healing of the subscriptions behind them.

use super::error::kebab;
use super::{App, AppError, AppResult};
use crate::api::*;
use crate::imports::secrets::Vault;
use crate::workspace::Applied;
use serde::Serialize;

/// What a delivery did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Delivery {
    /// Host changes were applied and committed.
    Applied {
        /// Changes the plugin returned.
        changes: usize,
        /// What the workspace did with them.
        applied: Applied,
    },
    /// A valid delivery that changes nothing.
    Ignored {
        /// Why (`echo`, `duplicate`, `project-not-integrated`, …).
        reason: String,
    },
}

/// What healing did.
#[derive(Debug, Clone, Serialize)]
pub struct Healed {
    /// Subscriptions re-enabled or recreated.
    pub recreated: u32,
    /// Subscriptions in place.
    pub subscriptions: Vec<SubscriptionInfo>,
    /// Work items the webhook had missed.
    pub gap_filled: u32,
    /// What the workspace did with their changes.
    pub applied: Applied,
}

impl App {
    /// Handle one delivery: the plugin's writes and the workspace changes commit in one
    /// transaction before this returns, so an acknowledged delivery is never lost, and an
    /// unacknowledged one leaves no trace (ADO's retry is applied afresh).
    pub async fn handle_webhook(&self, request: &WebhookRequest) -> AppResult<Delivery> {
        self.handle_webhooks(std::slice::from_ref(request))
            .await?
            .pop()
            .unwrap_or_else(|| Err(AppError::Io("the component gave no outcome".into())))
    }

    /// Handle deliveries in one component call: the plugin's writes and every workspace change
    /// commit in one transaction, then each delivery gets its own result. A failure of the host
    /// (database, trap) fails them all and leaves no trace, as for one delivery.
    pub async fn handle_webhooks(
        &self,
        requests: &[WebhookRequest],
    ) -> AppResult<Vec<AppResult<Delivery>>> {
        let mut ws = self.workspace.lock().await;
        let unit = self.storage.begin()?;
        let results = match self.host.handle_webhooks(requests).await {
            Ok(r) => r,
            Err(e) => {
                unit.rollback();
                return Err(AppError::Host(e));
            }
        };
        let mut touched = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(results.len());
        for result in results {
            out.push(match result {
                Ok(WebhookOutcome::Applied(changes)) => {
                    touched.extend(super::touched_ids(&ws, &changes));
                    let applied = ws.apply(&changes);
                    Ok(Delivery::Applied {
                        changes: changes.len(),
                        applied,
                    })
                }
                Ok(WebhookOutcome::Ignored(reason)) => Ok(Delivery::Ignored {
                    reason: kebab(&format!("{reason:?}")),
                }),
                Err(e) => Err(AppError::Plugin(e)),
            });
        }
        self.commit_workspace(&mut ws, unit, &touched)?;
        Ok(out)
    }

    /// Create the service-hook subscriptions of a connection, delivering to `public_base_url`.
    pub async fn provision_webhook(
        &self,
        connection: &str,
        public_base_url: &str,
    ) -> AppResult<ProvisionOutcome> {
        let id = self.connection_id(connection).await?;
        let _one_at_a_time = self.workspace.lock().await;
        let out = self.host.provision_webhook(&id, public_base_url).await?;
        tracing::info!(connection = %id, url = %out.url, created = out.created, "webhook provisioned");
        Ok(out)
    }

    /// Re-enable degraded subscriptions and apply what the webhook missed.
    pub async fn heal_webhook(&self, connection: &str) -> AppResult<Healed> {
        let id = self.connection_id(connection).await?;
        let mut ws = self.workspace.lock().await;
        let unit = self.storage.begin()?;
        let out = self.host.heal_webhook(&id).await?;
        let applied = self.apply(&mut ws, &out.changes, Some(unit))?;
        Ok(Healed {
            recreated: out.recreated,
            subscriptions: out.subscriptions,
            gap_filled: out.gap_filled,
            applied,
        })
    }

    /// The credential ADO must send with deliveries (HTTP Basic user `ado-sync`), for an
    /// administrator who creates the subscriptions by hand. `None` until provisioned.
    pub async fn webhook_credential(&self, connection: &str) -> AppResult<Option<String>> {
        let id = self.connection_id(connection).await?;
        self.vault
            .get(&format!("webhook/{id}/delivery-credential"))
            .map_err(AppError::Storage)
    }
}
