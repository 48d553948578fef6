//! Helpers shared by the deployment tests: repository paths, command
//! output, and linters that CI must have but a developer may not.

use std::path::{Path, PathBuf};
use std::process::Output;

/// `path` in the repository (the crate root).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A finished command's stdout and stderr.
pub fn text(out: &Output) -> String {
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    String::from_utf8_lossy(stdout).into_owned() + &String::from_utf8_lossy(stderr)
}

/// Where `tool` is on PATH.
/// Runs `command` with `input` on its standard input; its output.
pub fn piped(command: &mut std::process::Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{command:?}: {err}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

pub fn on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut found = std::env::split_paths(&path).map(|dir| dir.join(tool));
    found.find(|p| p.is_file())
}

/// Whether STATICD_REQUIRE_LINT=1 (as in CI): no tool-driven test may skip.
pub fn required() -> bool {
    std::env::var_os("STATICD_REQUIRE_LINT").is_some_and(|v| v == "1")
}

/// A linter on PATH, or None after printing SKIP; when STATICD_REQUIRE_LINT=1
/// (as in CI) a missing linter fails the test instead.
pub fn lint_tool(name: &str, install: &str) -> Option<PathBuf> {
    let found = on_path(name);
    if found.is_none() {
        let message = format!("SKIP: {name} not installed ({install})");
        assert!(!required(), "{message}");
        println!("{message}");
    }
    found
}

/// `staticd --help` of the built binary.
pub fn help() -> String {
    let out = std::process::Command::new(super::process::BIN)
        .arg("--help")
        .env_clear()
        .output()
        .expect("run staticd --help");
    assert!(out.status.success(), "staticd --help:\n{}", text(&out));
    text(&out)
}

/// The long options (`--root`, ...) and variables (`STATICD_ROOT`, ...)
/// that `--help` names.
pub fn help_names() -> (Vec<String>, Vec<String>) {
    let help = help();
    let words = help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let (mut flags, mut vars) = (Vec::new(), Vec::new());
    for word in words {
        if word.starts_with("--") && word.len() > 2 {
            flags.push(word.to_owned());
        } else if word.starts_with("STATICD_") {
            vars.push(word.to_owned());
        }
    }
    (flags, vars)
}

/// A staticd child process, killed on drop.
pub struct Listening {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    /// `http` or `https`, from the listening line.
    pub scheme: String,
    /// Its log lines (stderr) after the listening line.
    lines: std::sync::mpsc::Receiver<String>,
}

impl Listening {
    /// The next log line that contains `needle`, waiting up to IO_TIMEOUT
    /// for each line.
    pub fn line_with(&self, needle: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(super::IO_TIMEOUT);
            let line = line.unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the built staticd on a free loopback port with `args` and `env`
/// added, and waits for its `listening on http://` (or `https://`) line.
pub fn listening(args: &[&str], env: &[(&str, &str)]) -> Listening {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(super::process::BIN)
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn staticd");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line); // dropped once nobody listens
        }
    });
    let mut listening = Listening {
        child,
        addr: ([127, 0, 0, 1], 0).into(),
        scheme: String::new(),
        lines: rx,
    };
    loop {
        let line = listening.lines.recv_timeout(super::IO_TIMEOUT);
        let line = line.unwrap_or_else(|_| panic!("no listening line from staticd {args:?}"));
        let Some((_, rest)) = line.split_once("listening on ") else {
            continue;
        };
        let Some((scheme, addr)) = rest.split_once("://") else {
            continue;
        };
        let addr = addr.split_whitespace().next().unwrap_or_default();
        listening.scheme = scheme.to_owned();
        listening.addr = addr.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        return listening;
    }
}

/// Runs one of the repository's Python checks (`httptest/SCRIPT`) against
/// the built binary, echoing what it printed: (succeeded, stdout, stderr).
pub fn python_check(script: &str, extra: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new("python3")
        .arg(repo(&format!("httptest/{script}")))
        .args(["--bin", super::process::BIN])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("{stdout}{stderr}");
    (out.status.success(), stdout, stderr)
}
