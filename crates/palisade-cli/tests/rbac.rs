//! `palisade rbac check|list|validate`: the CLI contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use assert_cmd::Command;

const TOML: &str = r#"
[[tenants]]
id = "acme"
projects = [{ id = "sales" }]
folders = [{ id = "leads", parent = "project:sales" }, { id = "hot", parent = "folder:leads" }]
assets = [
  { type = "recipe", id = "r1", parent = "folder:hot" },
  { type = "recipe", id = "r2", parent = "project:sales" },
]

[[tenants.roles]]
name = "Lead runner"
privileges = { recipe = ["view", "run"] }
scope = ["folder:leads"]

[[tenants.assignments]]
environment = "production"
user = "lee"
role = "Lead runner"

[[tenants]]
id = "globex"
projects = [{ id = "p" }]
assets = [{ type = "recipe", id = "g1", parent = "project:p" }]
"#;

fn write(name: &str, text: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn check(
    policy: &PathBuf,
    user: &str,
    privilege: &str,
    resource: &str,
    json: bool,
) -> assert_cmd::assert::Assert {
    let mut c = palisade();
    c.args(["rbac", "check", "--policy"]).arg(policy).args([
        "--tenant",
        "acme",
        "--env",
        "production",
        "--user",
        user,
        "--privilege",
        privilege,
        "--resource",
        resource,
    ]);
    if json {
        c.arg("--json");
    }
    c.assert()
}

#[test]
fn check_allows_with_exit_0_and_explains() {
    let policy = write("rbac-allow.toml", TOML);
    let out = check(&policy, "lee", "run", "recipe:r1", false).code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("allowed") && text.contains("Lead runner") && text.contains("folder:leads"),
        "{text}"
    );
    let out = check(&policy, "lee", "run", "recipe:r1", true).code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["allowed"], true);
    assert_eq!(v["grant"]["role"], "Lead runner");
    assert_eq!(v["grant"]["path"], serde_json::json!(["recipe:r1", "folder:hot", "folder:leads"]));
}

#[test]
fn check_denies_with_exit_1_and_explains() {
    let policy = write("rbac-deny.toml", TOML);
    let out = check(&policy, "lee", "run", "recipe:r2", true).code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["reason"], "not_granted");
    assert!(v["considered"][0].as_str().unwrap().contains("Lead runner"));
    let out = check(&policy, "lee", "edit", "recipe:r1", false).code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("denied"));
    let out = check(&policy, "lee", "view", "globex/recipe:g1", true).code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["reason"], "cross_tenant");
    check(&policy, "nobody", "view", "recipe:r1", false).code(1);
}

#[test]
fn json_policy_works_the_same() {
    let catalog: serde_json::Value = serde_json::json!({
        "tenants": [{
            "id": "acme",
            "projects": [{"id": "sales"}],
            "assets": [{"type": "connection", "id": "c1", "parent": "project:sales"}],
            "assignments": [{"environment": "production", "user": "lee", "role": "Operator"}]
        }]
    });
    let policy = write("rbac.json", &catalog.to_string());
    check(&policy, "lee", "view", "connection:c1", false).code(0);
    check(&policy, "lee", "edit", "connection:c1", false).code(1);
}

#[test]
fn usage_errors_exit_2() {
    let policy = write("rbac-usage.toml", TOML);
    check(&policy, "lee", "run", "recipe", false).code(2); // malformed resource
    check(&policy, "lee bad", "run", "recipe:r1", false).code(2); // malformed user
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-policy.toml");
    check(&missing, "lee", "run", "recipe:r1", false).code(2);
    let invalid = write(
        "rbac-invalid.toml",
        "[[tenants]]\nid = \"acme\"\n[[tenants.assignments]]\nenvironment = \"production\"\nuser = \"u\"\nrole = \"admin\"\n",
    );
    let out = check(&invalid, "u", "view", "workspace", false).code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("unknown role admin"));
    let yaml = write("rbac.yaml", "tenants: []\n");
    check(&yaml, "u", "view", "workspace", false).code(2);
}

#[test]
fn list_prints_items_and_the_filter() {
    let policy = write("rbac-list.toml", TOML);
    let out = palisade()
        .args(["rbac", "list", "--policy"])
        .arg(&policy)
        .args([
            "--tenant",
            "acme",
            "--env",
            "production",
            "--user",
            "lee",
            "--privilege",
            "view",
            "--type",
            "recipe",
            "--json",
        ])
        .assert()
        .code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["items"], serde_json::json!(["recipe:r1"]));
    assert_eq!(v["containers"], serde_json::json!(["folder:leads", "folder:hot"]));
    assert_eq!(v["roots"], serde_json::json!(["folder:leads"]));
    assert_eq!(v["whole_workspace"], false);
    let out = palisade()
        .args(["rbac", "list", "--policy"])
        .arg(&policy)
        .args(["--tenant", "acme", "--env", "production", "--user", "lee", "--privilege", "view"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("recipe:r1") && !text.contains("recipe:r2"), "{text}");
}

#[test]
fn validate_lists_problems() {
    let good = write("rbac-valid.toml", TOML);
    palisade().args(["rbac", "validate", "--policy"]).arg(&good).assert().code(0);
    let bad = write(
        "rbac-bad.toml",
        "[[tenants]]\nid = \"acme\"\nfolders = [{ id = \"f\", parent = \"folder:f\" }]\n",
    );
    let out = palisade().args(["rbac", "validate", "--json", "--policy"]).arg(&bad).assert().code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["problems"][0].as_str().unwrap().contains("cycle"));
}
