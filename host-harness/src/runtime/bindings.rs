//! Host-side bindings of the `ado-sync:plugin` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

pub use ado_sync::plugin::types::*;
pub use exports::ado_sync::plugin::configure::{
    AdoField, AdoIteration, AdoState, AdoWorkItemType, CloudCredentials, ConnectionInfo,
    ConnectionTarget, DeletePolicy, Direction, FieldMapping, InstanceKind, Mapping,
    OnPremCredentials, ProjectDiscovery, ProjectIntegration, Side, SprintMapping, StatusMapping,
    TypeMapping,
};
pub use exports::ado_sync::plugin::map_item::{AdoPatch, PatchOperation};
pub use exports::ado_sync::plugin::on_webhook::{
    HealOutcome, IgnoredReason, ProvisionOutcome, SubscriptionInfo, WebhookOutcome, WebhookRequest,
    WebhookStatus,
};
pub use exports::ado_sync::plugin::sync_once::{
    ActionKind, AdoFilter, HistoryEntry, HostScope, ItemAction, ItemFailure, ItemRef,
    SyncDirection, SyncOutcome, SyncReport, SyncRequest, TypeCounts,
};
