//! Deployment assets under deploy/: the systemd unit keeps its sandbox,
//! and the Kubernetes manifests validate and agree with staticd's options.
//! The manifest check is skipped, saying so, when kubernetes-validate is not
//! installed, unless STATICD_REQUIRE_LINT=1 (as in CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::BIN;
use common::tools::{lint_tool, on_path, read, repo, text};

/// `(section, key, value)` for each `Key=Value` line of a unit file.
fn unit_directives(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with(['#', ';']))
    {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((key, value)) = line.split_once('=') {
            let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
            out.push((section.clone(), key, value));
        }
    }
    out
}

/// Seconds in `10s`, `1500ms`, `2m` or `10`.
fn seconds(text: &str) -> f64 {
    let text = text.trim().trim_matches('"');
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("no number: '{text}'"));
    match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        _ => panic!("unknown unit in '{text}'"),
    }
}

/// The value of `key` in a `key value` config file.
fn conf_value(conf: &str, key: &str) -> String {
    let mut lines = conf.lines().map(str::trim);
    let line = lines.find(|l| l.split_whitespace().next() == Some(key));
    let line = line.unwrap_or_else(|| panic!("staticd.conf has no {key}"));
    line[key.len()..].trim().to_owned()
}

/// Directives the unit must have, as written in it.
const SANDBOX: &str = "DynamicUser=yes
ProtectSystem=strict
NoNewPrivileges=yes
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallFilter=@system-service
Restart=on-failure
KillSignal=SIGTERM";

#[test]
fn systemd_unit_is_sandboxed() {
    let unit = unit_directives(&read(&repo("deploy/systemd/staticd.service")));
    let values = |key: &str| -> Vec<&str> {
        let found = unit.iter().filter(|(s, k, _)| s == "Service" && k == key);
        found.map(|(_, _, v)| v.as_str()).collect()
    };
    for (key, value) in SANDBOX.lines().filter_map(|l| l.split_once('=')) {
        let found = values(key);
        assert!(found.contains(&value), "{key}={value}, not {found:?}");
    }
    let private_users = values("PrivateUsers").contains(&"yes");
    assert!(!private_users, "PrivateUsers breaks port 80");
    let exec = values("ExecStart").concat();
    let config = "/usr/local/bin/staticd --config /etc/staticd/staticd.conf";
    assert!(exec.starts_with(config), "ExecStart={exec}");
    let install = (
        "Install".into(),
        "WantedBy".into(),
        "multi-user.target".into(),
    );
    assert!(unit.contains(&install), "WantedBy=multi-user.target");

    // The unit and the example config agree.
    let conf = read(&repo("deploy/systemd/staticd.conf"));
    let root = conf_value(&conf, "document_root");
    let read_only = [values("ReadOnlyPaths"), values("BindReadOnlyPaths")]
        .concat()
        .join(" ");
    let mut paths = read_only
        .split_whitespace()
        .map(|p| p.trim_start_matches('-'));
    assert!(paths.any(|p| p == root), "{root} is not in ReadOnlyPaths=");
    let stop = seconds(&values("TimeoutStopSec").concat());
    let grace = seconds(&conf_value(&conf, "grace_period"));
    assert!(stop > grace, "TimeoutStopSec={stop}s <= grace {grace}s");

    example_config_is_accepted();
    systemd_analyze_verify();
}

/// The binary accepts deploy/systemd/staticd.conf: --print-config reads it
/// and exits without binding. Skipped by a staticd without that option.
fn example_config_is_accepted() {
    let help = Command::new(BIN)
        .arg("--help")
        .output()
        .expect("run --help");
    if !text(&help).contains("--print-config") {
        return println!("SKIP: this staticd has no --print-config");
    }
    let conf = repo("deploy/systemd/staticd.conf");
    let mut command = Command::new(BIN);
    let out = command
        .arg("--config")
        .arg(conf)
        .arg("--print-config")
        .env_clear();
    let out = out.output().expect("run --print-config");
    let report = text(&out);
    let ok = out.status.success() && report.contains("/srv/www");
    assert!(ok, "staticd.conf not accepted:\n{report}");
}

/// `systemd-analyze verify`, if installed, on a copy of the unit whose
/// ExecStart names the built binary (verify insists that it exists).
fn systemd_analyze_verify() {
    let Some(tool) = on_path("systemd-analyze") else {
        return println!("SKIP: systemd-analyze not installed");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = read(&repo("deploy/systemd/staticd.service"));
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/staticd ",
        &format!("ExecStart={BIN} "),
    );
    let copy = dir.path().join("staticd.service");
    std::fs::write(&copy, unit).expect("write unit copy");
    let out = Command::new(tool)
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze");
    let report = text(&out);
    let clean = out.status.success() && !report.contains("Unknown");
    assert!(clean, "systemd-analyze verify:\n{report}");
}

/// The list items under `args:` in a manifest, unquoted (comments skipped).
fn yaml_args(yaml: &str) -> Vec<String> {
    let lines = yaml.lines().map(str::trim).filter(|l| !l.starts_with('#'));
    let mut lines = lines.skip_while(|l| *l != "args:").skip(1);
    let items = lines.by_ref().map_while(|l| l.strip_prefix("- "));
    items
        .map(|item| item.trim().trim_matches('"').to_owned())
        .collect()
}

/// The number after `key:` on the first line that starts with it.
fn yaml_number(yaml: &str, key: &str) -> Option<f64> {
    let mut lines = yaml.lines().map(str::trim);
    let line = lines.find(|l| l.starts_with(&format!("{key}:")))?;
    line[key.len() + 1..].trim().trim_matches('"').parse().ok()
}

/// What deployment.yaml says, checked against staticd's options and the site.
fn deployment_agrees_with_staticd(dir: &Path) {
    let deployment = read(&dir.join("deployment.yaml"));
    let args = yaml_args(&deployment);
    let after = |flag: &str| {
        let at = args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1));
        at.unwrap_or_else(|| panic!("no {flag} in args {args:?}"))
            .clone()
    };
    let grace = seconds(&after("--grace-period"));
    let pre_stop = yaml_number(&deployment, "seconds").unwrap_or(0.0);
    let term = yaml_number(&deployment, "terminationGracePeriodSeconds").expect("termination");
    let drain = grace + pre_stop;
    assert!(term > drain, "{term}s <= preStop + grace = {drain}s");
    let port = yaml_number(&deployment, "containerPort").expect("containerPort");
    assert_eq!(after("--port").parse().ok(), Some(port), "containerPort");
    assert!(deployment.contains("image: staticd:latest"), "image");
    let links = deployment.contains("enableServiceLinks: false");
    assert!(links, "service links would set STATICD_PORT=tcp://...");
    let site = read(&dir.join("configmap.yaml"));
    for probe in ["readinessProbe:", "livenessProbe:"] {
        let rest = deployment
            .split(probe)
            .nth(1)
            .unwrap_or_else(|| panic!("no {probe}"));
        let mut lines = rest.lines().map(str::trim);
        let path = lines
            .find_map(|l| l.strip_prefix("path: /"))
            .expect("httpGet path");
        let served = site.contains(&format!("  {path}: "));
        assert!(served, "{probe} /{path} is not in the ConfigMap");
    }
}

#[test]
fn kubernetes_manifests_validate() {
    let dir = repo("deploy/k8s");
    deployment_agrees_with_staticd(&dir);
    let entries = std::fs::read_dir(&dir).expect("deploy/k8s");
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    assert!(files.len() >= 3, "manifests: {files:?}");

    let hint = "pip install -r deploy/k8s/validate-requirements.txt";
    let Some(tool) = lint_tool("kubernetes-validate", hint) else {
        return;
    };
    let mut command = Command::new(tool);
    let out = command
        .args(["--strict", "-k", "1.30.0"])
        .args(&files)
        .output();
    let out = out.expect("run kubernetes-validate");
    let report = text(&out);
    println!("{report}");
    assert!(out.status.success(), "kubernetes-validate:\n{report}");
    let passed = report.matches(" passed ").count();
    assert_eq!(passed, files.len(), "not every file validated:\n{report}");
}
