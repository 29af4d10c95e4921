//! The host-product stand-in: a workspace schema and its items, which applies the changes the
//! plugin returns exactly as a host product would (and refuses ones it cannot hold).

pub mod persist;
pub mod sample;

use crate::api::{FieldEntry, HostChange, HostItem, HostPatch, WorkspaceSchema};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A change the workspace refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    /// The item.
    pub item: String,
    /// Why.
    pub reason: String,
}

/// What applying a batch of changes did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// Items created.
    pub created: usize,
    /// Items updated.
    pub updated: usize,
    /// Items deleted.
    pub deleted: usize,
    /// Changes refused.
    pub rejected: Vec<Rejected>,
}

/// A workspace: schema plus items by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    /// What the workspace can hold.
    pub schema: WorkspaceSchema,
    /// Items by id.
    pub items: BTreeMap<String, HostItem>,
}

impl Workspace {
    /// An empty workspace.
    pub fn new(schema: WorkspaceSchema) -> Self {
        Workspace {
            schema,
            items: BTreeMap::new(),
        }
    }

    fn check(&self, item: &HostItem) -> Result<(), String> {
        if !self
            .schema
            .item_types
            .iter()
            .any(|t| t.id == item.item_type)
        {
            return Err(format!("unknown item type '{}'", item.item_type));
        }
        if let Some(s) = &item.status {
            if !self.schema.statuses.iter().any(|x| &x.id == s) {
                return Err(format!("unknown status '{s}'"));
            }
        }
        if let Some(s) = &item.sprint {
            if !self.schema.sprints.iter().any(|x| &x.id == s) {
                return Err(format!("unknown sprint '{s}'"));
            }
        }
        for f in &item.fields {
            if !self.schema.fields.iter().any(|d| d.id == f.field) {
                return Err(format!("unknown field '{}'", f.field));
            }
        }
        if let Some(p) = &item.parent {
            let Some(parent) = self.items.get(p) else {
                return Err(format!("parent '{p}' does not exist"));
            };
            let level = |t: &str| {
                self.schema
                    .item_types
                    .iter()
                    .find(|x| x.id == t)
                    .map(|x| x.level)
            };
            if level(&parent.item_type) >= level(&item.item_type) {
                return Err(format!(
                    "parent '{p}' is not above '{}' in the hierarchy",
                    item.id
                ));
            }
        }
        Ok(())
    }

    /// Apply changes in order. Creating an existing id overwrites it (changes are idempotent).
    pub fn apply(&mut self, changes: &[HostChange]) -> Applied {
        let mut out = Applied::default();
        for change in changes {
            match change {
                HostChange::Create(item) | HostChange::Update(item) => {
                    if let Err(reason) = self.check(item) {
                        out.rejected.push(Rejected {
                            item: item.id.clone(),
                            reason,
                        });
                        continue;
                    }
                    if self.items.insert(item.id.clone(), item.clone()).is_some() {
                        out.updated += 1;
                    } else {
                        out.created += 1;
                    }
                }
                HostChange::Patch(patch) => {
                    let item = match self.items.get(&patch.item.id) {
                        Some(current) => patched(current, patch),
                        None => patch.item.clone(),
                    };
                    if let Err(reason) = self.check(&item) {
                        out.rejected.push(Rejected {
                            item: item.id.clone(),
                            reason,
                        });
                        continue;
                    }
                    if self.items.insert(item.id.clone(), item).is_some() {
                        out.updated += 1;
                    } else {
                        out.created += 1;
                    }
                }
                HostChange::Delete(id) => {
                    if self.items.remove(id).is_some() {
                        out.deleted += 1;
                        for child in self.items.values_mut() {
                            if child.parent.as_deref() == Some(id.as_str()) {
                                child.parent = None;
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Items as a list (the host hands these to sync requests).
    pub fn item_list(&self) -> Vec<HostItem> {
        self.items.values().cloned().collect()
    }

    /// Find an item by title.
    pub fn by_title(&self, title: &str) -> Option<&HostItem> {
        self.items.values().find(|i| i.title == title)
    }
}

/// `current` with the patch's parts taken from the patch's item.
pub fn patched(current: &HostItem, patch: &HostPatch) -> HostItem {
    let mut out = current.clone();
    let from = &patch.item;
    for part in &patch.parts {
        match part.as_str() {
            "title" => out.title = from.title.clone(),
            "description" => out.description = from.description.clone(),
            "parent" => out.parent = from.parent.clone(),
            "status" => out.status = from.status.clone(),
            "sprint" => out.sprint = from.sprint.clone(),
            "tags" => out.tags = from.tags.clone(),
            "releases" => out.releases = from.releases.clone(),
            field => {
                let value = from
                    .fields
                    .iter()
                    .find(|f| f.field == field)
                    .and_then(|f| f.value.clone());
                match out.fields.iter_mut().find(|f| f.field == field) {
                    Some(entry) => entry.value = value,
                    None => out.fields.push(FieldEntry {
                        field: field.to_string(),
                        value,
                    }),
                }
            }
        }
    }
    out
}
