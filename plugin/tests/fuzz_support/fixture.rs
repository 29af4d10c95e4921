//! One configured workspace, written straight into storage: a schema, a cloud connection with
//! one Agile-like project and a valid mapping, three links (one in ADO's recycle bin), the
//! vault secrets and a provisioned webhook. The webhook and engine-level ADO targets start here.

use super::fakes::{MemKv, MemVault};
use ado_sync_plugin::api::{
    AdoField, AdoIteration, AdoState, AdoWorkItemType, DeletePolicy, Direction, FieldDef,
    FieldEntry, FieldKind, FieldMapping, FieldValue, HostItem, InstanceKind, ItemType, Mapping,
    ProjectDiscovery, Release, Side, Sprint, SprintMapping, Status, StatusCategory, StatusMapping,
    TypeMapping, WorkspaceSchema,
};
use ado_sync_plugin::core::fingerprint::of_host_item;
use ado_sync_plugin::core::mapping::validate;
use ado_sync_plugin::ports::Vault;
use ado_sync_plugin::store::keys;
use ado_sync_plugin::store::records::{
    ConnectionRecord, IntegrationRecord, LinkRecord, WebhookRecord,
};
use ado_sync_plugin::store::Store;

pub const WORKSPACE: &str = "ws-fuzz";
pub const CONNECTION: &str = "c1";
pub const INTEGRATION: &str = "i1";
pub const PROJECT_ID: &str = "0f1e2d3c-aaaa-bbbb-cccc-000000000001";
pub const PROJECT: &str = "Fuzz";
pub const WEBHOOK_SECRET: &str = "hook-secret-0001";
pub const PAT: &str = "pat-secret-0001";

fn s(v: &str) -> String {
    v.to_string()
}

pub fn schema() -> WorkspaceSchema {
    let fields = [
        ("effort", FieldKind::Number),
        ("owner", FieldKind::User),
        ("area", FieldKind::TreePath),
        ("ready", FieldKind::Boolean),
        ("kind", FieldKind::SingleSelect),
        ("due", FieldKind::Date),
        ("notes", FieldKind::RichText),
        ("code", FieldKind::Text),
    ];
    WorkspaceSchema {
        workspace_id: s(WORKSPACE),
        item_types: ["product", "epic", "feature", "story", "task"]
            .iter()
            .zip(0u8..)
            .map(|(id, level)| ItemType {
                id: s(id),
                name: s(id),
                level,
            })
            .collect(),
        statuses: vec![
            Status {
                id: s("todo"),
                name: s("To do"),
                category: StatusCategory::Proposed,
            },
            Status {
                id: s("doing"),
                name: s("Doing"),
                category: StatusCategory::InProgress,
            },
            Status {
                id: s("done"),
                name: s("Done"),
                category: StatusCategory::Completed,
            },
        ],
        sprints: vec![Sprint {
            id: s("s1"),
            name: s("Sprint 1"),
            start: None,
            finish: None,
        }],
        releases: vec![Release {
            id: s("r1"),
            name: s("R1"),
        }],
        fields: fields
            .iter()
            .map(|(id, kind)| FieldDef {
                id: s(id),
                name: s(id),
                kind: *kind,
                options: vec![],
            })
            .collect(),
    }
}

pub fn discovery() -> ProjectDiscovery {
    let states = || {
        [
            ("New", StatusCategory::Proposed),
            ("Active", StatusCategory::InProgress),
            ("Resolved", StatusCategory::Resolved),
            ("Closed", StatusCategory::Completed),
            ("Removed", StatusCategory::Removed),
        ]
        .iter()
        .map(|(name, category)| AdoState {
            name: s(name),
            category: *category,
        })
        .collect::<Vec<_>>()
    };
    let ty = |name: &str, level: Option<u8>| AdoWorkItemType {
        name: s(name),
        reference_name: format!("Microsoft.VSTS.WorkItemTypes.{}", name.replace(' ', "")),
        level,
        states: states(),
        fields: vec![],
    };
    let field = |reference: &str, ado_type: &str, kind: FieldKind, read_only: bool| AdoField {
        reference_name: s(reference),
        name: s(reference),
        ado_type: s(ado_type),
        kind,
        read_only,
        allowed_values: vec![],
    };
    ProjectDiscovery {
        integration_id: s(INTEGRATION),
        process: s("Agile"),
        work_item_types: vec![
            ty("Epic", Some(0)),
            ty("Feature", Some(1)),
            ty("User Story", Some(2)),
            ty("Task", Some(3)),
            ty("Bug", None),
        ],
        fields: vec![
            field("System.Title", "string", FieldKind::Text, false),
            field("System.Description", "html", FieldKind::RichText, false),
            field("System.Tags", "plainText", FieldKind::Text, false),
            field(
                "Microsoft.VSTS.Scheduling.StoryPoints",
                "double",
                FieldKind::Number,
                false,
            ),
            field("System.AssignedTo", "identity", FieldKind::User, false),
            field("System.AreaPath", "treePath", FieldKind::TreePath, false),
            field("Custom.Ready", "boolean", FieldKind::Boolean, false),
            field(
                "Custom.Kind",
                "picklistString",
                FieldKind::SingleSelect,
                false,
            ),
            field("Custom.Due", "dateTime", FieldKind::Date, false),
            field("Custom.Notes", "html", FieldKind::RichText, false),
            field("System.CreatedBy", "string", FieldKind::Text, true),
        ],
        area_paths: vec![s(PROJECT), s("Fuzz\\Web")],
        iterations: vec![AdoIteration {
            name: s("Sprint 1"),
            path: s("Fuzz\\Sprint 1"),
            start: None,
            finish: None,
        }],
        tags: vec![s("q3")],
    }
}

pub fn mapping() -> Mapping {
    let types = [
        ("epic", "Epic"),
        ("feature", "Feature"),
        ("story", "User Story"),
        ("task", "Task"),
    ];
    let fields = [
        (
            "effort",
            "Microsoft.VSTS.Scheduling.StoryPoints",
            Direction::Both,
            Side::Host,
        ),
        ("owner", "System.AssignedTo", Direction::Both, Side::Ado),
        ("area", "System.AreaPath", Direction::Both, Side::Ado),
        ("ready", "Custom.Ready", Direction::ToAdo, Side::Host),
        ("kind", "Custom.Kind", Direction::Both, Side::Host),
        ("due", "Custom.Due", Direction::ToHost, Side::Ado),
        ("notes", "Custom.Notes", Direction::Both, Side::Host),
        ("code", "System.CreatedBy", Direction::ToHost, Side::Ado),
    ];
    let statuses = [("todo", "New"), ("doing", "Active"), ("done", "Closed")];
    Mapping {
        epic_is_product_level: false,
        types: types
            .iter()
            .map(|(h, a)| TypeMapping {
                host_type: s(h),
                ado_type: s(a),
            })
            .collect(),
        fields: fields
            .iter()
            .map(|(h, a, direction, owner)| FieldMapping {
                host_field: s(h),
                ado_field: s(a),
                direction: *direction,
                owner: *owner,
            })
            .collect(),
        statuses: statuses
            .iter()
            .map(|(h, a)| StatusMapping {
                host_status: s(h),
                ado_state: s(a),
                ado_type: None,
            })
            .collect(),
        sprints: vec![SprintMapping {
            host_sprint: s("s1"),
            iteration_path: s("Fuzz\\Sprint 1"),
        }],
        delete_policy: DeletePolicy::Unlink,
        default_area_path: Some(s(PROJECT)),
    }
}

/// A host item of the fixture.
pub fn host_item(id: &str, item_type: &str, parent: Option<&str>) -> HostItem {
    HostItem {
        id: s(id),
        item_type: s(item_type),
        title: format!("item {id}"),
        description: Some(s("<p>text</p>")),
        parent: parent.map(s),
        status: Some(s("doing")),
        sprint: Some(s("s1")),
        releases: vec![s("r1")],
        tags: vec![s("q3")],
        fields: vec![
            FieldEntry {
                field: s("effort"),
                value: Some(FieldValue::Number(3.0)),
            },
            FieldEntry {
                field: s("owner"),
                value: Some(FieldValue::User(s("dana@example.com"))),
            },
        ],
    }
}

/// The host items the fixture's links point at: h-1 (epic, work item 1), h-2 (story under h-1,
/// work item 2), h-3 (story, work item 3, in ADO's recycle bin).
pub fn linked_items() -> Vec<(HostItem, i64, bool)> {
    vec![
        (host_item("h-1", "epic", None), 1, false),
        (host_item("h-2", "story", Some("h-1")), 2, false),
        (host_item("h-3", "story", None), 3, true),
    ]
}

/// Storage and vault holding the configured workspace.
pub fn configured() -> (MemKv, MemVault) {
    let kv = MemKv::default();
    let vault = MemVault::default();
    let (schema, discovery, mapping) = (schema(), discovery(), mapping());
    validate(&mapping, &schema, &discovery).expect("the fixture's mapping is valid");
    let store = Store::new(&kv);
    let put = |key: &str, value: &dyn Record| value.write(&store, key);
    put(keys::WORKSPACE, &schema);
    put(
        &keys::connection(CONNECTION),
        &ConnectionRecord {
            id: s(CONNECTION),
            name: s("fuzz"),
            kind: InstanceKind::Cloud,
            base_url: s("https://dev.azure.com/fuzz"),
            user: s("dana@example.com"),
            user_display_name: s("Dana"),
            secret_name: keys::secret(CONNECTION),
            created_at: s("2026-01-01T00:00:00Z"),
            credentials_checked_at: s("2026-01-01T00:00:00Z"),
        },
    );
    put(
        &keys::integration(INTEGRATION),
        &IntegrationRecord {
            id: s(INTEGRATION),
            name: s("fuzz-project"),
            connection_id: s(CONNECTION),
            project_id: s(PROJECT_ID),
            project_name: s(PROJECT),
            process: s("Agile"),
            can_write: true,
        },
    );
    put(&keys::discovery(INTEGRATION), &discovery);
    put(&keys::mapping(INTEGRATION), &mapping);
    for (item, work_item, deleted_in_ado) in linked_items() {
        let fingerprint = of_host_item(&item);
        put(
            &keys::link_by_host(CONNECTION, &item.id),
            &serde_json::json!(work_item),
        );
        put(
            &keys::link_by_work_item(CONNECTION, work_item),
            &LinkRecord {
                host_id: item.id.clone(),
                work_item,
                integration_id: s(INTEGRATION),
                ado_rev: 5,
                base: item,
                ado_fingerprint: fingerprint.clone(),
                host_fingerprint: fingerprint,
                synced_at: s("2026-01-02T00:00:00Z"),
                deleted_in_ado,
            },
        );
    }
    put(
        &keys::webhook(CONNECTION),
        &WebhookRecord {
            url: Some(format!(
                "https://hooks.example.com/webhooks/{WORKSPACE}/ado"
            )),
            watermark: Some(s("2026-01-01T00:00:00Z")),
            ..WebhookRecord::default()
        },
    );
    vault.put(&keys::secret(CONNECTION), PAT).expect("vault");
    vault
        .put(&keys::webhook_secret(CONNECTION), WEBHOOK_SECRET)
        .expect("vault");
    (kv, vault)
}

/// Any record, written through one closure.
trait Record {
    fn write(&self, store: &Store, key: &str);
}

impl<T: serde::Serialize> Record for T {
    fn write(&self, store: &Store, key: &str) {
        store.put(key, self).expect("fixture write");
    }
}
