//! The `ado-sync` binary's contract with scripts: exit codes and errors that name the field,
//! for failures found before the component is even loaded.

use std::process::Command;

fn ado_sync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ado-sync"))
        .args(args)
        .env_remove("ADO_SYNC_ADMIN_TOKEN")
        .output()
        .expect("run ado-sync");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_broken_mapping_file_names_the_field_and_exits_4() {
    let dir = std::env::temp_dir().join(format!("ado-sync-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("mapping.json");
    std::fs::write(
        &file,
        r#"{"epic_is_product_level": false, "types": [], "fields": [{"host_field": "value", "ado_field": "X", "direction": "Sideways", "owner": "Host"}], "statuses": [], "sprints": [], "delete_policy": "Unlink", "default_area_path": null}"#,
    )
    .expect("write");
    let db = dir.join("never-created.db");
    let (code, _, stderr) = ado_sync(&[
        "map",
        "web",
        file.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("fields[0].direction"), "{stderr}");
    assert!(stderr.contains("Sideways"), "{stderr}");

    let (code, stdout, _) = ado_sync(&[
        "--json",
        "map",
        "web",
        file.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert_eq!(code, 4);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON error on stdout");
    assert_eq!(v["error"]["kind"], "invalid-input");
    assert!(v["error"]["field"]
        .as_str()
        .unwrap_or_default()
        .ends_with("fields[0].direction"));
    assert!(!db.exists(), "nothing was created for a broken file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serving_off_loopback_without_a_token_is_refused() {
    let (code, _, stderr) = ado_sync(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--db",
        "/nonexistent/x.db",
    ]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("admin-token"), "{stderr}");
}

#[test]
fn usage_errors_exit_64() {
    let (code, _, _) = ado_sync(&["sync", "--direction", "sideways"]);
    assert_eq!(code, 64);
    let (code, stdout, _) = ado_sync(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Exit codes"));
}
