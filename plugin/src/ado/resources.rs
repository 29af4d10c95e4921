//! Typed ADO endpoints: connection check, projects, discovery, WIQL, batch reads and writes.

use crate::ado::client::{seg, AdoClient};
use crate::api::{
    AdoField, AdoIteration, AdoState, AdoWorkItemType, ProjectDiscovery, Result, StatusCategory,
    SyncError,
};
use crate::core::convert::PatchOp;
use crate::core::kinds::kind_of_ado_type;
use crate::core::paths::node_path_to_field_path;
use crate::core::propose::backlog_level;
use crate::core::work_item::list_items;
use serde_json::{json, Value};

/// Most ids ADO accepts in one batch read.
pub const BATCH_LIMIT: usize = 200;

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Me {
    /// Display name.
    pub display_name: String,
    /// Unique name (e-mail / `DOMAIN\user`), when ADO tells.
    pub unique_name: Option<String>,
}

/// An ADO project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// GUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Process template name.
    pub process: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn bad(what: &str) -> SyncError {
    SyncError::AdoError(crate::api::AdoFailure {
        status: 200,
        message: format!("unexpected response shape: {what}"),
    })
}

/// The state category ADO reports, as a status category.
pub fn category(name: &str) -> StatusCategory {
    match name.to_ascii_lowercase().replace(' ', "").as_str() {
        "inprogress" => StatusCategory::InProgress,
        "resolved" => StatusCategory::Resolved,
        "completed" => StatusCategory::Completed,
        "removed" => StatusCategory::Removed,
        _ => StatusCategory::Proposed,
    }
}

impl AdoClient<'_> {
    /// Who am I: checks that the credentials work.
    pub fn connection_data(&self) -> Result<Me> {
        let v = self.get("_apis/connectionData?api-version=7.1-preview")?;
        let user = v
            .get("authenticatedUser")
            .ok_or_else(|| bad("connectionData without authenticatedUser"))?;
        let unique_name = user
            .pointer("/properties/Account/$value")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Me {
            display_name: text(user, "providerDisplayName"),
            unique_name,
        })
    }

    /// Checks read access to projects (the documented connection check).
    pub fn check_projects_readable(&self) -> Result<()> {
        self.get("_apis/projects?$top=1").map(|_| ())
    }

    /// One project by name or id, with its process template.
    pub fn project(&self, name_or_id: &str) -> Result<Project> {
        let v = self.get(&format!(
            "_apis/projects/{}?includeCapabilities=true",
            seg(name_or_id)
        ))?;
        Ok(Project {
            id: text(&v, "id"),
            name: text(&v, "name"),
            process: v
                .pointer("/capabilities/processTemplate/templateName")
                .and_then(Value::as_str)
                .unwrap_or("Custom")
                .to_string(),
        })
    }

    /// Types, states, fields, areas, iterations and tags of a project.
    pub fn discover(&self, project: &Project) -> Result<ProjectDiscovery> {
        let p = seg(&project.name);
        let types_json = self.get(&format!("{p}/_apis/wit/workitemtypes"))?;
        let mut work_item_types = Vec::new();
        for t in list_items(&types_json) {
            if t.get("isDisabled").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name = text(t, "name");
            let mut states: Vec<AdoState> = t
                .get("states")
                .map(list_items)
                .unwrap_or(&[])
                .iter()
                .map(|s| AdoState {
                    name: text(s, "name"),
                    category: category(&text(s, "category")),
                })
                .collect();
            if states.is_empty() {
                let sj = self.get(&format!(
                    "{p}/_apis/wit/workitemtypes/{}/states",
                    seg(&name)
                ))?;
                states = list_items(&sj)
                    .iter()
                    .map(|s| AdoState {
                        name: text(s, "name"),
                        category: category(&text(s, "category")),
                    })
                    .collect();
            }
            let fields = t
                .get("fieldInstances")
                .or_else(|| t.get("fields"))
                .map(list_items)
                .unwrap_or(&[])
                .iter()
                .map(|f| text(f, "referenceName"))
                .collect();
            work_item_types.push(AdoWorkItemType {
                level: backlog_level(&name),
                reference_name: text(t, "referenceName"),
                name,
                states,
                fields,
            });
        }
        // Allowed values of picklist fields, per type (the same field may differ by type; the
        // union is kept).
        let mut allowed: Vec<(String, Vec<String>)> = Vec::new();
        for t in &work_item_types {
            let per_type = self.get(&format!(
                "{p}/_apis/wit/workitemtypes/{}/fields?$expand=allowedValues",
                seg(&t.name)
            ))?;
            for f in list_items(&per_type) {
                let values: Vec<String> = f
                    .get("allowedValues")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if values.is_empty() {
                    continue;
                }
                let name = text(f, "referenceName");
                match allowed.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, known)) => {
                        for v in values {
                            if !known.contains(&v) {
                                known.push(v);
                            }
                        }
                    }
                    None => allowed.push((name, values)),
                }
            }
        }
        let fields_json = self.get(&format!("{p}/_apis/wit/fields"))?;
        let fields = list_items(&fields_json)
            .iter()
            .map(|f| {
                let ado_type = text(f, "type");
                let is_picklist = f
                    .get("isPicklist")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let is_identity = f
                    .get("isIdentity")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                AdoField {
                    reference_name: text(f, "referenceName"),
                    name: text(f, "name"),
                    kind: kind_of_ado_type(&ado_type, is_picklist, is_identity),
                    ado_type,
                    read_only: f.get("readOnly").and_then(Value::as_bool).unwrap_or(false),
                    allowed_values: allowed
                        .iter()
                        .find(|(n, _)| n == &text(f, "referenceName"))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                }
            })
            .collect();
        let iterations_json = self.get(&format!(
            "{p}/_apis/wit/classificationnodes/iterations?$depth=10"
        ))?;
        let mut iterations = Vec::new();
        walk_nodes(&iterations_json, &mut |node| {
            iterations.push(AdoIteration {
                name: text(node, "name"),
                path: node_path_to_field_path(&text(node, "path")),
                start: node
                    .pointer("/attributes/startDate")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                finish: node
                    .pointer("/attributes/finishDate")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
        });
        let areas_json = self.get(&format!(
            "{p}/_apis/wit/classificationnodes/areas?$depth=10"
        ))?;
        let mut area_paths = Vec::new();
        walk_nodes(&areas_json, &mut |node| {
            area_paths.push(node_path_to_field_path(&text(node, "path")))
        });
        let tags_json = self.get(&format!("{p}/_apis/wit/tags"))?;
        let tags = list_items(&tags_json)
            .iter()
            .map(|t| text(t, "name"))
            .collect();
        Ok(ProjectDiscovery {
            integration_id: String::new(),
            process: project.process.clone(),
            work_item_types,
            fields,
            area_paths,
            iterations,
            tags,
        })
    }

    /// Run a WIQL query in a project; returns the ids in result order.
    pub fn wiql(&self, project: &str, query: &str) -> Result<Vec<i64>> {
        self.wiql_at(&format!("{}/_apis/wit/wiql", seg(project)), query)
    }

    /// Run a WIQL query comparing dates with their time of day (`timePrecision=true`).
    pub fn wiql_precise(&self, project: &str, query: &str) -> Result<Vec<i64>> {
        self.wiql_at(
            &format!("{}/_apis/wit/wiql?timePrecision=true", seg(project)),
            query,
        )
    }

    /// Run a WIQL query returning at most `top` ids.
    pub fn wiql_top(&self, project: &str, query: &str, top: u32) -> Result<Vec<i64>> {
        self.wiql_at(
            &format!("{}/_apis/wit/wiql?$top={top}", seg(project)),
            query,
        )
    }

    fn wiql_at(&self, path: &str, query: &str) -> Result<Vec<i64>> {
        let v = self.post(path, &json!({ "query": query }))?;
        Ok(v.get("workItems")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.get("id").and_then(Value::as_i64))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The `workitemsbatch` request for up to 200 ids (all fields and relations).
    pub fn batch_request(&self, project: &str, ids: &[i64]) -> crate::ports::HttpRequest {
        let body = json!({ "ids": ids, "$expand": "relations", "errorPolicy": "omit" });
        self.request(
            "POST",
            &format!("{}/_apis/wit/workitemsbatch", seg(project)),
            Some(("application/json", &body)),
        )
    }

    /// One work item with its relations.
    pub fn work_item(&self, id: i64) -> Result<Value> {
        self.get(&format!("_apis/wit/workitems/{id}?$expand=relations"))
    }

    /// The request creating a work item of `work_item_type`.
    pub fn create_request(
        &self,
        project: &str,
        work_item_type: &str,
        ops: &[PatchOp],
    ) -> crate::ports::HttpRequest {
        let path = format!(
            "{}/_apis/wit/workitems/${}",
            seg(project),
            seg(work_item_type)
        );
        let body = PatchOp::to_json(ops);
        self.request("POST", &path, Some(("application/json-patch+json", &body)))
    }

    /// Create a work item of `work_item_type`.
    pub fn create_work_item(
        &self,
        project: &str,
        work_item_type: &str,
        ops: &[PatchOp],
    ) -> Result<Value> {
        Self::created(self.send(&self.create_request(project, work_item_type, ops)))
    }

    /// The created work item in a create's answer.
    pub fn created(answer: Result<Option<Value>>) -> Result<Value> {
        answer?.ok_or_else(|| bad("create returned no body"))
    }

    /// Whether these credentials may create work items of `work_item_type` in `project`: a
    /// validate-only create (ADO saves nothing). A rule failure (400) still means the write was
    /// allowed; 401 and 403 mean the token lacks the scope or the user the permission.
    pub fn can_create_work_items(&self, project: &str, work_item_type: &str) -> Result<bool> {
        let path = format!(
            "{}/_apis/wit/workitems/${}?validateOnly=true",
            seg(project),
            seg(work_item_type)
        );
        let ops = [PatchOp::add(
            "/fields/System.Title",
            json!("ado-sync write check"),
        )];
        let body = PatchOp::to_json(&ops);
        match self.send(&self.request("POST", &path, Some(("application/json-patch+json", &body))))
        {
            Ok(_) => Ok(true),
            Err(SyncError::PermissionDenied(_) | SyncError::AuthFailed(_)) => Ok(false),
            Err(SyncError::AdoError(f)) if f.status == 400 => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Update a work item (the patch should start with `test /rev`).
    pub fn update_work_item(&self, id: i64, ops: &[PatchOp]) -> Result<Value> {
        let body = PatchOp::to_json(ops);
        let path = format!("_apis/wit/workitems/{id}?$expand=relations");
        self.send(&self.request("PATCH", &path, Some(("application/json-patch+json", &body))))?
            .ok_or_else(|| bad("update returned no body"))
    }
}

fn walk_nodes(node: &Value, visit: &mut dyn FnMut(&Value)) {
    if node.get("path").is_some() {
        visit(node);
    }
    if let Some(children) = node.get("children").and_then(Value::as_array) {
        for child in children {
            walk_nodes(child, visit);
        }
    }
    if let Some(items) = node.get("value").and_then(Value::as_array) {
        for item in items {
            walk_nodes(item, visit);
        }
    }
}
