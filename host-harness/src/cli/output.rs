//! Printing: human text by default, JSON with `--json`; errors with the field named and a hint,
//! and the exit code scripts can branch on.

use super::exit;
use crate::app::AppError;
use serde::Serialize;

/// Print `value` as pretty JSON, or its human form.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot print JSON: {e}"),
        }
    } else {
        let text = human(value);
        print!("{text}");
        if !text.ends_with('\n') {
            println!();
        }
    }
}

/// The exit code of an error.
pub fn exit_code(e: &AppError) -> i32 {
    match e.kind() {
        "invalid-config" | "field-type-mismatch" | "invalid-input" | "bad-payload" => exit::INVALID,
        "auth-failed" | "permission-denied" => exit::AUTH,
        "not-found" => exit::NOT_FOUND,
        "unreachable" | "tls-failed" | "ado-error" | "rate-limited" => exit::ADO_UNAVAILABLE,
        "host" | "storage" | "io" => exit::HOST_ERROR,
        _ => exit::PLUGIN_ERROR,
    }
}

fn hint(e: &AppError) -> Option<&'static str> {
    Some(match e.kind() {
        "auth-failed" => "check the user and token; a PAT needs the scopes vso.work_write and vso.project (vso.hooks_write for webhooks)",
        "permission-denied" => "the account lacks a permission in ADO; ask a project collection administrator",
        "unreachable" => "check the URL and the network; with --ado-sim, is `ado-sync sim` still running?",
        "tls-failed" => "the server's certificate is not trusted by this host (self-signed, expired, another name, or a corporate CA): fix the certificate or install the CA",
        "rate-limited" => "ADO is throttling this account; run again after the wait",
        "host" => "is the component built? cargo build -p ado-sync-plugin --release --target wasm32-wasip2",
        "field-type-mismatch" => "map fields of the same kind (text↔text, number↔number, …) or drop the pair",
        _ => return None,
    })
}

/// Print an error (to stdout as JSON with `--json`, to stderr otherwise) and return its exit code.
pub fn fail(json: bool, e: &AppError) -> i32 {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&e.to_json()).unwrap_or_default()
        );
    } else {
        eprintln!("error: {e}");
        if let Some(field) = e.field() {
            eprintln!("  field: {field}");
        }
        eprintln!("  kind:  {}", e.kind());
        if let Some(h) = hint(e) {
            eprintln!("  hint:  {h}");
        }
    }
    exit_code(e)
}
