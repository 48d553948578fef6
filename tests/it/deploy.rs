//! Deployment assets under deploy/: the systemd unit keeps its sandbox and
//! reloads with SIGHUP, the Kubernetes manifests (plain and HTTPS) validate
//! and agree with staticd's options, and every TLS option, variable or
//! config key that deploy/ names is one the built staticd has.
//! The manifest check is skipped, saying so, when kubernetes-validate is not
//! installed, unless STATICD_REQUIRE_LINT=1 (as in CI).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::BIN;
use common::tools::{help_names, lint_tool, on_path, read, repo, text};

/// `(section, key, value)` for each `Key=Value` line of a unit file.
pub(crate) fn unit_directives(text: &str) -> Vec<(String, String, String)> {
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

/// The socket unit: a stream socket, named for its role, installed under
/// sockets.target, activating staticd.service (the unit of its name);
/// `systemd-analyze verify` checks the pair.
#[test]
fn systemd_socket_unit_names_its_socket() {
    let socket = read(&repo("deploy/systemd/staticd.socket"));
    let unit = unit_directives(&socket);
    let value = |key: &str| {
        let found = unit.iter().find(|(s, k, _)| s == "Socket" && k == key);
        found.map(|(_, _, v)| v.clone())
    };
    assert_eq!(value("ListenStream").as_deref(), Some("80"));
    let name = value("FileDescriptorName");
    assert!(
        matches!(name.as_deref(), Some("http" | "https")),
        "FileDescriptorName={name:?}"
    );
    let install = ("Install".into(), "WantedBy".into(), "sockets.target".into());
    assert!(unit.contains(&install), "WantedBy=sockets.target");
    let Some(tool) = on_path("systemd-analyze") else {
        return println!("SKIP: systemd-analyze not installed");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let service = read(&repo("deploy/systemd/staticd.service")).replace(
        "ExecStart=/usr/local/bin/staticd ",
        &format!("ExecStart={BIN} "),
    );
    std::fs::write(dir.path().join("staticd.service"), service).unwrap();
    let copy = dir.path().join("staticd.socket");
    std::fs::write(&copy, &socket).unwrap();
    let out = Command::new(tool).arg("verify").arg(&copy).output();
    let out = out.expect("systemd-analyze");
    let report = text(&out);
    let clean = out.status.success() && !report.contains("Unknown");
    assert!(clean, "systemd-analyze verify:\n{report}");
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
/// ExecStart names the built binary (verify insists that it exists), as
/// shipped and with its commented-out HTTPS block switched on.
fn systemd_analyze_verify() {
    let Some(tool) = on_path("systemd-analyze") else {
        return println!("SKIP: systemd-analyze not installed");
    };
    let unit = read(&repo("deploy/systemd/staticd.service"));
    verify_unit(&tool, &unit);
    verify_unit(&tool, &uncommented(&unit));
}

fn verify_unit(tool: &Path, unit: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/staticd ",
        &format!("ExecStart={BIN} "),
    );
    let copy = dir.path().join("staticd.service");
    std::fs::write(&copy, &unit).expect("write unit copy");
    let out = Command::new(tool)
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze");
    let report = text(&out);
    let clean = out.status.success() && !report.contains("Unknown");
    assert!(clean, "systemd-analyze verify:\n{report}\n{unit}");
}

/// The unit with its commented-out directives switched on: lines of the
/// form `#Key=value` (no blank after `#`; prose comments have one).
fn uncommented(unit: &str) -> String {
    let directive = |line: &str| {
        line.split_once('=').is_some_and(|(key, _)| {
            key.starts_with(|c: char| c.is_ascii_uppercase())
                && key.chars().all(|c| c.is_ascii_alphanumeric())
        })
    };
    let lines = unit.lines().map(|line| match line.strip_prefix('#') {
        Some(rest) if directive(rest) => rest,
        _ => line,
    });
    lines.map(|l| format!("{l}\n")).collect()
}

/// The values of `key` in the [Service] section of `unit`.
fn service_values(unit: &str, key: &str) -> Vec<String> {
    let directives = unit_directives(unit).into_iter();
    let found = directives.filter(|(s, k, _)| s == "Service" && k == key);
    found.map(|(_, _, v)| v).collect()
}

#[test]
fn systemd_reload_sends_sighup_to_the_main_process() {
    let unit = read(&repo("deploy/systemd/staticd.service"));
    let reload = service_values(&unit, "ExecReload");
    assert_eq!(reload.len(), 1, "one ExecReload=, not {reload:?}");
    let words: Vec<&str> = reload[0].split_whitespace().collect();
    let (program, args) = words.split_first().expect("ExecReload= runs a command");
    let kill = program.starts_with('/') && program.ends_with("/kill");
    assert!(kill, "ExecReload= runs {program}, not an absolute kill");
    let hup = |s: &str| ["HUP", "SIGHUP", "1"].contains(&s);
    let target = match args {
        [signal, target] if signal.strip_prefix('-').is_some_and(hup) => target,
        [option, signal, target] if ["-s", "--signal"].contains(option) && hup(signal) => target,
        _ => panic!("ExecReload={} does not send SIGHUP", reload[0]),
    };
    let main = ["$MAINPID", "${MAINPID}"].contains(target);
    assert!(main, "ExecReload= signals {target}, not $MAINPID");

    // Run it as systemd would, $MAINPID being a shell that writes down the
    // signal it gets: SIGHUP, and it is still there to get it.
    if !Path::new(program).is_file() {
        return println!("SKIP: {program} is not on this machine");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (ready, got) = (dir.path().join("ready"), dir.path().join("got"));
    let script = format!(
        "trap 'echo HUP >{got}; exit 0' HUP; trap 'echo TERM >{got}; exit 0' TERM; \
         : >{ready}; while :; do sleep 0.05; done",
        got = got.display(),
        ready = ready.display()
    );
    let mut main = Command::new("sh")
        .arg("-c")
        .arg(script)
        .spawn()
        .expect("sh");
    let pid = main.id().to_string();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if a == target { &pid } else { *a })
        .collect();
    if wait_until(|| ready.exists()) {
        let status = Command::new(program)
            .args(&args)
            .status()
            .expect("run kill");
        assert!(status.success(), "{program} {args:?}: {status}");
    }
    if !wait_until(|| main.try_wait().is_ok_and(|s| s.is_some())) {
        let _ = main.kill();
        let _ = main.wait();
    }
    let got = std::fs::read_to_string(&got).unwrap_or_default();
    assert_eq!(got.trim(), "HUP", "the main process got no SIGHUP");
}

/// Polls `done` for up to 10 s; whether it came true.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + common::IO_TIMEOUT;
    while !done() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

/// The values of the example config's commented-out `# key value` lines
/// for `key` (as written, `_` or `-`).
fn commented_values(conf: &str, key: &str) -> Vec<String> {
    let lines = conf.lines().filter_map(|l| l.trim().strip_prefix("# "));
    let lines = lines.filter_map(|l| l.split_once(' '));
    let same = |k: &str| k.replace('-', "_") == key.replace('-', "_");
    lines
        .filter(|(k, _)| same(k))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

/// The unit's HTTPS block agrees with the example config's: the files
/// staticd.conf names are under the paths the unit keeps readable, and
/// the variables name credentials the unit loads.
#[test]
fn systemd_https_block_agrees_with_the_example_config() {
    let unit = uncommented(&read(&repo("deploy/systemd/staticd.service")));
    let conf = read(&repo("deploy/systemd/staticd.conf"));
    let certs = commented_values(&conf, "tls_cert");
    let keys = commented_values(&conf, "tls_key");
    assert!(!certs.is_empty(), "staticd.conf shows no tls_cert");
    assert_eq!(
        certs.len(),
        keys.len(),
        "tls_cert and tls_key come in pairs"
    );
    let readable = service_values(&unit, "ReadOnlyPaths").join(" ");
    let readable: Vec<&str> = readable
        .split_whitespace()
        .map(|p| p.trim_start_matches('-'))
        .collect();
    for file in certs.iter().chain(&keys) {
        let under = readable
            .iter()
            .any(|dir| file.starts_with(&format!("{dir}/")));
        assert!(
            under,
            "{file} is under no ReadOnlyPaths= of the HTTPS block: {readable:?}"
        );
    }
    let groups = service_values(&unit, "SupplementaryGroups");
    assert!(
        !groups.is_empty(),
        "the HTTPS block names no group to read the keys"
    );

    let loaded: Vec<String> = service_values(&unit, "LoadCredential")
        .iter()
        .map(|v| {
            v.split_once(':')
                .expect("LoadCredential=ID:PATH")
                .0
                .to_owned()
        })
        .collect();
    let environment = service_values(&unit, "Environment");
    let mut credentials = 0;
    for assignment in &environment {
        let Some((name, value)) = assignment.trim_matches('"').split_once('=') else {
            continue;
        };
        let from_dir = value
            .strip_prefix("%d/")
            .or_else(|| value.strip_prefix("${CREDENTIALS_DIRECTORY}/"));
        if let Some(id) = from_dir {
            assert!(
                loaded.iter().any(|l| l == id),
                "{name}={value}: no LoadCredential={id}:..."
            );
            credentials += 1;
        }
    }
    assert_eq!(
        credentials, 2,
        "the credentials variant names a cert and a key"
    );
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

/// What a deployment.yaml says, checked against staticd's options and the
/// site (the ConfigMap); returns its args.
fn deployment_agrees_with_staticd(deployment: &Path, configmap: &Path) -> Vec<String> {
    let deployment = read(deployment);
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
    let site = read(configmap);
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
    args
}

/// The trimmed lines of `yaml` from the first that is `start` on.
fn yaml_from<'a>(yaml: &'a str, start: &str) -> impl Iterator<Item = &'a str> + use<'a> {
    let start = start.to_owned();
    let lines = yaml.lines().map(str::trim);
    lines.skip_while(move |l| *l != start)
}

/// The value of the `- name: NAME` / `value: ...` pair in an env list.
fn yaml_env(yaml: &str, name: &str) -> Option<String> {
    let mut lines = yaml_from(yaml, &format!("- name: {name}")).skip(1);
    let value = lines.next()?.strip_prefix("value: ")?;
    Some(value.trim_matches('"').to_owned())
}

/// tls/deployment.yaml: HTTPS on the port the probes use, with HTTPS; the
/// certificate and key from the Secret, mounted read-only where the
/// variables point; the redirect listener on the other port; and
/// tls/service.yaml sending 443 and 80 to them.
fn tls_deployment_agrees_with_staticd(dir: &Path) {
    let args = deployment_agrees_with_staticd(
        &dir.join("tls/deployment.yaml"),
        &dir.join("configmap.yaml"),
    );
    let deployment = read(&dir.join("tls/deployment.yaml"));
    let after = |flag: &str| {
        let at = args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1));
        at.unwrap_or_else(|| panic!("no {flag} in tls args {args:?}"))
            .clone()
    };
    let port_named = |name: &str| {
        let mut lines = yaml_from(&deployment, &format!("- name: {name}")).skip(1);
        let line = lines.next().and_then(|l| l.strip_prefix("containerPort: "));
        line.unwrap_or_else(|| panic!("no container port named {name}"))
            .to_owned()
    };
    assert_eq!(
        after("--port"),
        port_named("https"),
        "--port is not the https port"
    );
    assert_eq!(
        after("--redirect-http"),
        port_named("http"),
        "--redirect-http"
    );
    for probe in ["readinessProbe:", "livenessProbe:"] {
        let block: Vec<&str> = yaml_from(&deployment, probe).skip(1).take(4).collect();
        let https = block.contains(&"scheme: HTTPS") && block.contains(&"port: https");
        assert!(https, "{probe} is not over HTTPS on port https: {block:?}");
    }

    let mut mount = yaml_from(&deployment, "volumeMounts:").skip_while(|l| *l != "- name: tls");
    let mount: Vec<&str> = mount.by_ref().skip(1).take(2).collect();
    let dir_in_pod = mount.first().and_then(|l| l.strip_prefix("mountPath: "));
    let dir_in_pod = dir_in_pod.expect("the tls volume's mountPath");
    assert!(
        mount.contains(&"readOnly: true"),
        "the Secret is mounted writable"
    );
    let secret: Vec<&str> = yaml_from(&deployment, "volumes:")
        .skip_while(|l| *l != "- name: tls")
        .take(12)
        .collect();
    assert!(
        secret.contains(&"secretName: staticd-tls"),
        "volume tls: {secret:?}"
    );
    for (var, key) in [
        ("STATICD_TLS_CERT", "tls.crt"),
        ("STATICD_TLS_KEY", "tls.key"),
    ] {
        let value = yaml_env(&deployment, var).unwrap_or_else(|| panic!("no env {var}"));
        assert_eq!(value, format!("{dir_in_pod}/{key}"), "{var}");
        assert!(
            secret.contains(&format!("path: {key}").as_str()),
            "no {key} in {secret:?}"
        );
    }

    let service = read(&dir.join("tls/service.yaml"));
    for (port, target) in [("443", "https"), ("80", "http")] {
        let mut lines = yaml_from(&service, &format!("port: {port}")).skip(1);
        let to = lines.next().and_then(|l| l.strip_prefix("targetPort: "));
        assert_eq!(to, Some(target), "service port {port}");
    }
}

/// No private key or Secret manifest is committed: the Secret is made with
/// `kubectl create secret tls`, as the docs say.
#[test]
fn no_key_material_is_committed() {
    for file in deploy_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let name = file.display();
        assert!(
            !text.contains("PRIVATE KEY-----"),
            "{name} holds a private key"
        );
        let secret = text.lines().any(|l| l.trim() == "kind: Secret");
        assert!(!secret, "{name} is a Secret manifest");
    }
    let readme = read(&repo("deploy/README.md"));
    let create = "kubectl create secret tls staticd-tls";
    assert!(
        readme.contains(create),
        "deploy/README.md does not show `{create}`"
    );
}

#[test]
fn kubernetes_manifests_validate() {
    let dir = repo("deploy/k8s");
    deployment_agrees_with_staticd(&dir.join("deployment.yaml"), &dir.join("configmap.yaml"));
    tls_deployment_agrees_with_staticd(&dir);
    let mut files = Vec::new();
    for dir in [dir.clone(), dir.join("tls")] {
        let entries = std::fs::read_dir(&dir).expect("deploy/k8s");
        files.extend(entries.map(|e| e.expect("dir entry").path()));
    }
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    assert!(files.len() >= 5, "manifests: {files:?}");

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

/// Every file under deploy/, and the Dockerfile.
fn deploy_files() -> Vec<PathBuf> {
    let mut files = vec![repo("Dockerfile")];
    let mut dirs = vec![repo("deploy")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read deploy dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The TLS names `text` uses, as the long options they stand for
/// (`--tls-cert`), and the `STATICD_` variables among them: flags
/// (`--tls-cert`, `--hsts`, `--redirect-http`), config keys (`tls_cert`,
/// `hsts_subdomains`; in a `.conf` file also a bare `hsts` line, commented
/// out or not) and variables (`STATICD_TLS_CERT`).
fn tls_names(text: &str, conf: bool) -> (Vec<String>, Vec<String>) {
    let tls = |word: &str| {
        [
            "tls-",
            "tls_",
            "hsts-",
            "hsts_",
            "redirect-http",
            "redirect_http",
        ]
        .iter()
        .any(|p| word.starts_with(p))
    };
    let (mut options, mut vars) = (Vec::new(), Vec::new());
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    for word in words {
        let flag = word.strip_prefix("--");
        let bare = flag.unwrap_or(word);
        if tls(bare) || flag == Some("hsts") {
            options.push(format!("--{}", bare.replace('_', "-")));
        } else if ["STATICD_TLS", "STATICD_HSTS", "STATICD_REDIRECT"]
            .iter()
            .any(|p| word.starts_with(p))
            && !word.ends_with('_')
        // STATICD_TLS_*: a pattern, not a name
        {
            vars.push(word.to_owned());
        }
    }
    if conf {
        let lines = text.lines().map(|l| l.trim().trim_start_matches("# "));
        let keys = lines.filter_map(|l| l.split_whitespace().next());
        options.extend(keys.filter(|k| *k == "hsts").map(|k| format!("--{k}")));
    }
    (options, vars)
}

/// Every TLS option, config key and variable that the deployment files
/// and their docs name (the commented-out HTTPS blocks included) is one
/// the built staticd lists in --help, so a renamed option fails here.
#[test]
fn tls_names_in_deploy_files_are_staticd_options() {
    let mut seen = 0;
    let mut unknown = Vec::new();
    let (flags, variables) = help_names();
    for file in deploy_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let conf = file.extension().is_some_and(|e| e == "conf");
        let (options, vars) = tls_names(&text, conf);
        seen += options.len() + vars.len();
        let file = file
            .strip_prefix(repo(""))
            .unwrap_or(&file)
            .display()
            .to_string();
        for option in options.iter().filter(|o| !flags.contains(o)) {
            unknown.push(format!("{file}: {option}"));
        }
        for var in vars.iter().filter(|v| !variables.contains(v)) {
            unknown.push(format!("{file}: {var}"));
        }
    }
    assert!(seen >= 10, "deploy/ names only {seen} TLS options");
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "not staticd options (--help):\n{}",
        unknown.join("\n")
    );
}

/// A self-signed certificate and key for `name`, as PEM files in `dir`.
fn cert_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("rcgen");
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

/// staticd.conf with its HTTPS lines switched on as its comments say (the
/// files replaced by certificates made here, port 80 changed to 443) is
/// accepted by --print-config.
#[test]
fn example_config_with_https_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = read(&repo("deploy/systemd/staticd.conf"));
    let mut made = Vec::new();
    let mut copy = String::new();
    for line in conf.lines() {
        let setting = line.strip_prefix("# ").filter(|l| {
            let (options, _) = tls_names(l.split_whitespace().next().unwrap_or(""), true);
            !options.is_empty()
        });
        let Some(setting) = setting else {
            copy.push_str(if line.trim() == "port 80" {
                "port 443"
            } else {
                line
            });
            copy.push('\n');
            continue;
        };
        let (key, value) = setting.split_once(' ').unwrap_or((setting, ""));
        let value = match key.replace('-', "_").as_str() {
            "tls_cert" | "tls_key" => {
                // .../live/NAME/fullchain.pem: a pair made for NAME.
                let name = Path::new(value).parent().and_then(Path::file_name);
                let name = name
                    .expect("a live/NAME/ path")
                    .to_string_lossy()
                    .into_owned();
                let (cert, key_file) = cert_pair(dir.path(), &name);
                let file = if key.ends_with("cert") {
                    cert
                } else {
                    key_file
                };
                made.push(file.display().to_string());
                file.display().to_string()
            }
            _ => value.to_owned(),
        };
        copy.push_str(&format!("{key} {value}\n"));
    }
    assert!(made.len() >= 2, "no tls_cert/tls_key lines switched on");
    assert!(
        copy.contains("\nport 443\n"),
        "staticd.conf has no `port 80` to change"
    );
    let file = dir.path().join("staticd.conf");
    std::fs::write(&file, &copy).expect("write config copy");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .arg("--print-config")
        .env_clear()
        .output()
        .expect("run --print-config");
    let report = text(&out);
    assert!(
        out.status.success(),
        "HTTPS config not accepted:\n{report}\n{copy}"
    );
    for file in &made {
        assert!(
            report.contains(file.as_str()),
            "--print-config lost {file}:\n{report}"
        );
    }
}

/// `systemctl reload` and the init script's reload send SIGHUP whatever
/// the configuration: staticd keeps serving through it, plain HTTP or
/// HTTPS, and through a reload whose new key does not load.
#[test]
fn sighup_keeps_staticd_serving() {
    let site = common::fixture();
    let root = site.path().to_str().expect("UTF-8 path");
    // SIGHUP, then the outcome staticd logs for it: proof that it handled
    // the signal, not only that it is still alive.
    let hup = |server: &common::tools::Listening, outcome: &str| {
        let pid = server.child.id().to_string();
        let status = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(status.expect("run kill").success(), "kill -HUP {pid}");
        server.line_with(outcome);
    };

    let mut plain = common::tools::listening(&["--root", root], &[]);
    hup(&plain, "SIGHUP: reloaded");
    assert!(
        plain.child.try_wait().expect("wait").is_none(),
        "SIGHUP stopped plain staticd"
    );
    let got = common::get(plain.addr, &common::request("GET", "/text..txt"));
    assert_eq!(got.body, b"hello", "plain staticd after SIGHUP");
    drop(plain);

    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = cert_pair(dir.path(), "localhost");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let env = [
        ("STATICD_TLS_CERT", cert.as_str()),
        ("STATICD_TLS_KEY", key.as_str()),
    ];
    let mut tls = common::tools::listening(&["--root", root], &env);
    assert_eq!(tls.scheme, "https", "STATICD_TLS_* did not turn HTTPS on");
    let probe = |port: u16| {
        let out = Command::new(BIN)
            .args([
                "--root",
                root,
                "--bind",
                "127.0.0.1",
                "--probe",
                "/text..txt",
            ])
            .arg("--port")
            .arg(port.to_string())
            .envs(env)
            .output()
            .expect("run --probe");
        assert!(out.status.success(), "--probe over TLS:\n{}", text(&out));
    };
    hup(&tls, "SIGHUP: reloaded");
    assert!(
        tls.child.try_wait().expect("wait").is_none(),
        "SIGHUP stopped HTTPS staticd"
    );
    probe(tls.addr.port());
    std::fs::write(&key, "not a key\n").expect("spoil the key");
    hup(
        &tls,
        "SIGHUP: reload refused, the configuration in force stays",
    );
    assert!(
        tls.child.try_wait().expect("wait").is_none(),
        "a bad reload stopped staticd"
    );
    probe(tls.addr.port());
}

/// The args and env of both Deployments, given to the built staticd after
/// the image's ENTRYPOINT config, are accepted by --print-config (the
/// Secret's files replaced by a pair made here).
#[test]
fn kubernetes_args_are_accepted_by_staticd() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = cert_pair(dir.path(), "localhost");
    let manifests = [
        ("deploy/k8s/deployment.yaml", false),
        ("deploy/k8s/tls/deployment.yaml", true),
    ];
    for (manifest, tls) in manifests {
        let yaml = read(&repo(manifest));
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(repo("deploy/docker/container.conf"))
            .args(yaml_args(&yaml))
            .arg("--print-config")
            .env_clear();
        if tls {
            command
                .env("STATICD_TLS_CERT", &cert)
                .env("STATICD_TLS_KEY", &key);
            for var in ["STATICD_TLS_CERT", "STATICD_TLS_KEY"] {
                assert!(yaml_env(&yaml, var).is_some(), "{manifest}: no env {var}");
            }
        }
        let out = command.output().expect("run --print-config");
        let report = text(&out);
        assert!(
            out.status.success(),
            "{manifest} args not accepted:\n{report}"
        );
        if tls {
            let shown = report.contains(&cert.display().to_string());
            assert!(
                shown,
                "{manifest}: --print-config shows no certificate:\n{report}"
            );
        }
    }
}
