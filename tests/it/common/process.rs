//! The built binary as a child process: run to completion, or started
//! on port 0 with its listening line read from stderr and killed on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};

pub const BIN: &str = env!("CARGO_BIN_EXE_staticd");

/// Runs the binary to completion with `args` and `env` added to the
/// environment (`RUST_LOG` removed): (exit code, stdout, stderr).
pub fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command.env_remove("RUST_LOG").envs(env.iter().copied());
    finish(command.args(args))
}

/// Runs `command` to completion, no standard input: (exit code, stdout,
/// stderr).
pub fn finish(command: &mut Command) -> (i32, String, String) {
    let out = command.stdin(Stdio::null()).output().expect("run staticd");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// What to do with the child's stdout (where the access log goes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    Null,
    /// Read line by line into `Process::stdout`.
    Lines,
    /// A pipe nobody reads: a stalled terminal.
    Stalled,
}

/// A running `staticd` process, killed on drop.
pub struct Process {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr: Receiver<String>,
    pub stdout: Option<Receiver<String>>,
    /// The stderr lines before the `listening on` line.
    pub startup: Vec<String>,
    _stalled: Option<ChildStdout>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines<R: std::io::Read + Send + 'static>(pipe: R) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

impl Process {
    /// Starts the binary on port 0 and waits for its `listening on` line.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
        Process::start_with(Command::new(BIN), args, env, Stdout::Null)
    }

    pub fn start_with(
        mut command: Command,
        args: &[&str],
        env: &[(&str, &str)],
        stdout: Stdout,
    ) -> Process {
        let mut child = command
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(if stdout == Stdout::Null {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn staticd");
        let stderr = lines(child.stderr.take().unwrap());
        let (stdout, stalled) = match stdout {
            Stdout::Null => (None, None),
            Stdout::Lines => (Some(lines(child.stdout.take().unwrap())), None),
            Stdout::Stalled => (None, child.stdout.take()),
        };
        let mut startup = Vec::new();
        let addr = loop {
            let line = stderr
                .recv_timeout(super::IO_TIMEOUT)
                .expect("listening line");
            startup.push(line.clone());
            if let Some((_, url)) = line.split_once("listening on ") {
                let addr = url
                    .trim()
                    .trim_start_matches("http://")
                    .trim_start_matches("https://");
                break addr.parse().expect("address in listening line");
            }
        };
        Process {
            child,
            addr,
            stderr,
            stdout,
            startup,
            _stalled: stalled,
        }
    }

    /// The next stderr line containing `needle`.
    pub fn line_with(&self, needle: &str) -> String {
        loop {
            let line = self
                .stderr
                .recv_timeout(super::IO_TIMEOUT)
                .expect("log line");
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The next access-log line (stdout).
    pub fn access_line(&self) -> String {
        let stdout = self.stdout.as_ref().expect("started with Stdout::Lines");
        stdout
            .recv_timeout(super::IO_TIMEOUT)
            .expect("access log line")
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: signalling our own child process.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) },
            0
        );
    }

    pub fn proc_status(&self, field: &str) -> u64 {
        proc_status(self.child.id(), field)
    }
}

fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).expect(field);
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The binary, started with `args` as given (no `--bind` of its own), its
/// stderr read line by line; killed on drop.
pub struct Started {
    pub child: Child,
    pub stderr: Receiver<String>,
    /// The `listening on` line.
    pub listening: String,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Started {
    pub fn new(args: &[&str], env: &[(&str, &str)]) -> Started {
        let mut command = Command::new(BIN);
        command.args(args).envs(env.iter().copied());
        Started::spawn(command)
    }

    /// Spawns `command` (the binary, or a wrapper that runs it) and waits
    /// for its `listening on` line.
    pub fn spawn(mut command: Command) -> Started {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn staticd");
        let stderr = lines(child.stderr.take().unwrap());
        let mut before = Vec::new();
        let listening = loop {
            let Ok(line) = stderr.recv_timeout(super::IO_TIMEOUT) else {
                panic!("no listening line; stderr:\n{}", before.join("\n"));
            };
            if line.contains("listening on ") {
                break line;
            }
            before.push(line);
        };
        Started {
            child,
            stderr,
            listening,
        }
    }

    /// A field of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`).
    pub fn proc_status(&self, field: &str) -> u64 {
        proc_status(self.child.id(), field)
    }

    /// The next stderr line holding `needle`.
    pub fn line_with(&self, needle: &str) -> String {
        loop {
            let line = self
                .stderr
                .recv_timeout(super::IO_TIMEOUT)
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// What follows `listening on ` in its line.
    pub fn listening_on(&self) -> &str {
        self.listening.split_once("listening on ").unwrap().1.trim()
    }

    /// The port of a TCP `listening on` line.
    pub fn port(&self) -> u16 {
        let addr = self.listening_on().rsplit_once(':').unwrap().1;
        addr.parse().expect("port in listening line")
    }

    /// Sends SIGTERM and returns every stderr line until the process ends.
    pub fn stop(&mut self) -> Vec<String> {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(super::IO_TIMEOUT) {
            lines.push(line);
        }
        let _ = self.child.wait();
        lines
    }
}
