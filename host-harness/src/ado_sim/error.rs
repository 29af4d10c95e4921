//! ADO-shaped error bodies and the handler reply type.

use serde_json::{json, Value};

/// An error as the ADO REST API reports it: a status code plus the standard
/// `{"$id","innerException","message","typeName","typeKey","errorCode","eventId"}` body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AdoError {
    pub status: u16,
    pub type_key: &'static str,
    pub message: String,
}

impl AdoError {
    pub fn new(status: u16, type_key: &'static str, message: impl Into<String>) -> Self {
        AdoError {
            status,
            type_key,
            message: message.into(),
        }
    }

    pub fn bad_request(type_key: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, type_key, message)
    }

    pub fn not_found(type_key: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, type_key, message)
    }

    /// Generic 404 for URLs the sim does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::not_found(
            "ResourceNotFoundException",
            format!("VS800075: The resource '{path}' could not be found on this server."),
        )
    }

    pub fn work_item_missing(id: i64) -> Self {
        Self::not_found(
            "WorkItemUnauthorizedAccessException",
            format!(
                "TF401232: Work item {id} does not exist, or you do not have permissions to read it."
            ),
        )
    }

    pub fn project_missing(name: &str) -> Self {
        Self::not_found(
            "ProjectDoesNotExistWithNameException",
            format!(
                "TF200016: The following project does not exist: {name}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
            ),
        )
    }

    pub fn read_only() -> Self {
        Self::new(
            403,
            "UnauthorizedRequestException",
            "TF400813: The user is not authorized to access this resource. The personal access token does not have the required scope (vso.work_write).",
        )
    }

    /// The JSON body ADO sends with this error.
    pub fn body(&self) -> Value {
        let namespace = if self.type_key.starts_with("WorkItem")
            || self.type_key.starts_with("Rule")
            || self.type_key.starts_with("Wiql")
            || self.type_key.starts_with("Field")
            || self.type_key.starts_with("Classification")
        {
            "Microsoft.TeamFoundation.WorkItemTracking.Server"
        } else {
            "Microsoft.VisualStudio.Services.WebApi"
        };
        json!({
            "$id": "1",
            "innerException": null,
            "message": self.message,
            "typeName": format!("{namespace}.{}, {namespace}", self.type_key),
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": 3000
        })
    }
}

/// Body of a handler reply.
#[derive(Debug, Clone)]
pub(crate) enum ReplyBody {
    Json(Value),
    Empty,
    Raw { bytes: Vec<u8>, mime: String },
}

/// What a route handler answers; converted into a wiremock response by the router.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: ReplyBody::Json(body),
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn no_content() -> Self {
        Reply {
            status: 204,
            body: ReplyBody::Empty,
            headers: Vec::new(),
        }
    }

    pub fn raw(status: u16, bytes: Vec<u8>, mime: &str) -> Self {
        Reply {
            status,
            body: ReplyBody::Raw {
                bytes,
                mime: mime.to_string(),
            },
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

impl From<AdoError> for Reply {
    fn from(e: AdoError) -> Self {
        Reply::json(e.status, e.body())
    }
}

/// `{"count": N, "value": [...]}`.
pub(crate) fn list(values: Vec<Value>) -> Value {
    json!({ "count": values.len(), "value": values })
}

pub(crate) type HandlerResult = Result<Reply, AdoError>;
