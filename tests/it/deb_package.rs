//! The Debian package: deploy/deb/assets.sh and `cargo deb --no-build`
//! package the release binary these tests run (never a rebuild), and the
//! .deb holds what docs/deploy.md says, where it says, byte for byte: the
//! binary (which still runs once stripped), the units with ExecStart=
//! naming /usr/bin/staticd, the config as a conffile, the man page and
//! completions the binary prints, the docs; installed disabled. Skipped,
//! saying so, without cargo-deb, dpkg-deb or dpkg-shlibdeps, or when the
//! tests run a debug build, unless STATICD_REQUIRE_LINT=1 (as in CI).
//!
//! assets.sh writes target/deb-assets/ in the checkout (gitignored), the
//! fixed path Cargo.toml names; the package itself goes to a temp dir.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::deploy::unit_directives;
use common::process::BIN;
use common::tools::{lint_tool, read, repo, required, text};

/// How .ci/run installs it; the version it pins.
const INSTALL: &str = "cargo install cargo-deb --locked --version 3.8.0";

/// Every regular file of the package and its mode, as `dpkg-deb -c` shows
/// them: nothing missing, nothing else.
const FILES: &[(&str, &str)] = &[
    ("etc/staticd/staticd.conf", "-rw-r--r--"),
    ("usr/bin/staticd", "-rwxr-xr-x"),
    ("usr/lib/systemd/system/staticd.service", "-rw-r--r--"),
    ("usr/lib/systemd/system/staticd.socket", "-rw-r--r--"),
    (
        "usr/share/bash-completion/completions/staticd",
        "-rw-r--r--",
    ),
    ("usr/share/doc/staticd/LICENSE-APACHE", "-rw-r--r--"),
    ("usr/share/doc/staticd/LICENSE-MIT", "-rw-r--r--"),
    ("usr/share/doc/staticd/README.md", "-rw-r--r--"),
    ("usr/share/doc/staticd/copyright", "-rw-r--r--"),
    (
        "usr/share/fish/vendor_completions.d/staticd.fish",
        "-rw-r--r--",
    ),
    ("usr/share/man/man1/staticd.1.gz", "-rw-r--r--"),
    ("usr/share/zsh/vendor-completions/_staticd", "-rw-r--r--"),
];

/// The completions: (shell, where the package puts them).
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "usr/share/bash-completion/completions/staticd"),
    ("zsh", "usr/share/zsh/vendor-completions/_staticd"),
    ("fish", "usr/share/fish/vendor_completions.d/staticd.fish"),
];

#[test]
fn deb_assets_script_passes_shellcheck() {
    let Some(tool) = lint_tool("shellcheck", "apt-get install shellcheck") else {
        return;
    };
    let script = repo("deploy/deb/assets.sh");
    let out = Command::new(tool).args(["-s", "sh"]).arg(script).output();
    let out = out.expect("run shellcheck");
    assert!(out.status.success(), "shellcheck -s sh:\n{}", text(&out));
}

/// The target dir holding the release binary the tests run, or None after
/// printing SKIP (failing instead when required) for a debug build, which
/// cargo-deb refuses to package.
fn release_target_dir() -> Option<PathBuf> {
    let profile = Path::new(BIN).parent().expect("BIN has a directory");
    if profile.file_name().is_some_and(|name| name == "release") {
        return profile.parent().map(Path::to_path_buf);
    }
    let message = format!("SKIP: {BIN} is no release build (cargo test --release)");
    assert!(!required(), "{message}");
    println!("{message}");
    None
}

/// Runs assets.sh on BIN, then cargo-deb without building, into `out`;
/// returns the .deb.
fn build_package(cargo_deb: &Path, target: &Path, out: &Path) -> PathBuf {
    let assets = Command::new("sh")
        .arg(repo("deploy/deb/assets.sh"))
        .arg(BIN)
        .output()
        .expect("run sh");
    assert!(assets.status.success(), "assets.sh:\n{}", text(&assets));
    let built = Command::new(cargo_deb)
        .args(["--no-build", "--locked", "--output"])
        .arg(out)
        .arg("--manifest-path")
        .arg(repo("Cargo.toml"))
        .current_dir(repo(""))
        // target/release/ in Cargo.toml's assets is cargo-deb's name for
        // this dir: the package holds BIN itself.
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run cargo-deb");
    let report = text(&built);
    assert!(built.status.success(), "cargo deb:\n{report}");
    // A warning is a package missing something: no dependencies found, no
    // unit found, a missing maintainer-scripts dir.
    assert!(!report.contains("warning"), "cargo deb warned:\n{report}");
    let mut debs = std::fs::read_dir(out).expect("read output dir").map(|e| {
        let path = e.expect("dir entry").path();
        assert_eq!(path.extension().unwrap_or_default(), "deb", "{report}");
        path
    });
    let deb = debs.next().expect("cargo deb made no .deb");
    assert!(debs.next().is_none(), "cargo deb made more than one file");
    deb
}

/// `dpkg-deb ACTION DEB EXTRA...`, which must succeed: its stdout.
fn dpkg_deb(tool: &Path, action: &str, deb: &Path, extra: &[&str]) -> String {
    let out = Command::new(tool).arg(action).arg(deb).args(extra).output();
    let out = out.expect("run dpkg-deb");
    let what = format!("dpkg-deb {action} {} {extra:?}", deb.display());
    assert!(out.status.success(), "{what}:\n{}", text(&out));
    String::from_utf8(out.stdout).expect("UTF-8 from dpkg-deb")
}

/// The regular files that `dpkg-deb -c` lists, with their modes; every
/// entry owned by root.
fn contents(listing: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [mode, owner, .., path] = fields[..] else {
            panic!("dpkg-deb -c line: {line}");
        };
        assert!(["0/0", "root/root"].contains(&owner), "not root's: {line}");
        if mode.starts_with('-') {
            let path = path.strip_prefix("./").unwrap_or(path);
            files.insert(path.to_owned(), mode.to_owned());
        }
    }
    files
}

/// What BIN prints on stdout for `args`.
fn bin_output(args: &[&str]) -> Vec<u8> {
    let out = Command::new(BIN).args(args).env_clear().output();
    let out = out.expect("run staticd");
    assert!(out.status.success(), "staticd {args:?}:\n{}", text(&out));
    out.stdout
}

#[test]
fn deb_package_holds_what_the_docs_say() {
    let Some(target) = release_target_dir() else {
        return;
    };
    let Some(cargo_deb) = lint_tool("cargo-deb", INSTALL) else {
        return;
    };
    let Some(tool) = lint_tool("dpkg-deb", "apt-get install dpkg") else {
        return;
    };
    // cargo-deb reads Depends: from it; without it, it only warns.
    if lint_tool("dpkg-shlibdeps", "apt-get install dpkg-dev").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir out");
    let deb = build_package(&cargo_deb, &target, &out);

    let name = deb.file_name().expect("a file name").to_string_lossy();
    let stem = format!("staticd_{}-1_", env!("CARGO_PKG_VERSION"));
    assert!(name.starts_with(&stem), "{name} is not {stem}ARCH.deb");

    let files = contents(&dpkg_deb(&tool, "--contents", &deb, &[]));
    let expected: BTreeMap<String, String> = FILES
        .iter()
        .map(|&(path, mode)| (path.to_owned(), mode.to_owned()))
        .collect();
    assert_eq!(files, expected, "the package's files and modes");

    control_fields(&tool, &deb);
    installed_disabled(&tool, &deb);

    let root = dir.path().join("root");
    let out = Command::new(&tool).arg("-x").arg(&deb).arg(&root).output();
    let out = out.expect("run dpkg-deb -x");
    assert!(out.status.success(), "dpkg-deb -x:\n{}", text(&out));
    extracted_binary(&root);
    extracted_units(&root);
    extracted_files(&root);
}

/// The control file: name, version, section, priority, a maintainer, the
/// C library in Depends:, the description; the conffile.
fn control_fields(tool: &Path, deb: &Path) {
    let control = dpkg_deb(tool, "--field", deb, &[]);
    let value = |key: &str| {
        let prefix = format!("{key}: ");
        let line = control.lines().find_map(|l| l.strip_prefix(&prefix));
        line.unwrap_or_else(|| panic!("no {key}: in\n{control}"))
            .to_owned()
    };
    assert_eq!(value("Package"), "staticd");
    let version = format!("{}-1", env!("CARGO_PKG_VERSION"));
    assert_eq!(value("Version"), version);
    assert_eq!(value("Section"), "httpd");
    assert_eq!(value("Priority"), "optional");
    assert!(!value("Maintainer").is_empty(), "an empty Maintainer:");
    let depends = value("Depends");
    assert!(depends.starts_with("libc6"), "Depends: {depends}");
    // cargo-deb wraps the crate's description at 79 characters.
    let synopsis = value("Description");
    let description = env!("CARGO_PKG_DESCRIPTION");
    assert!(
        description.starts_with(&synopsis),
        "Description: {synopsis}"
    );
    let words = control.split_whitespace().collect::<Vec<_>>().join(" ");
    let enable = words.contains("systemctl enable --now staticd");
    assert!(
        enable,
        "the extended description says how to start it:\n{control}"
    );

    let conffiles = dpkg_deb(tool, "--info", deb, &["conffiles"]);
    assert_eq!(conffiles, "/etc/staticd/staticd.conf\n", "conffiles");
}

/// The maintainer scripts neither enable nor start a unit on install
/// (dh_installsystemd --no-enable --no-start): they re-enable only a unit
/// enabled before, restart only a running one on upgrade, stop both on
/// remove and forget them on purge.
fn installed_disabled(tool: &Path, deb: &Path) {
    let script = |name: &str| dpkg_deb(tool, "--info", deb, &[name]);
    let (postinst, prerm, postrm) = (script("postinst"), script("prerm"), script("postrm"));
    for unit in ["staticd.service", "staticd.socket"] {
        let guard = format!("deb-systemd-helper debian-installed {unit}");
        assert!(
            postinst.contains(&guard),
            "{unit} enabled on install:\n{postinst}"
        );
    }
    let starts = ["deb-systemd-invoke start", "_dh_action=start"];
    let started = starts.iter().any(|s| postinst.contains(s));
    assert!(!started, "postinst starts a unit:\n{postinst}");
    let restart = "deb-systemd-invoke try-restart staticd.service staticd.socket";
    assert!(
        postinst.contains(restart),
        "no try-restart on upgrade:\n{postinst}"
    );
    let stop = "deb-systemd-invoke stop staticd.service staticd.socket";
    assert!(
        prerm.contains(stop),
        "prerm does not stop the units:\n{prerm}"
    );
    let purge = "deb-systemd-helper purge staticd.service staticd.socket";
    assert!(
        postrm.contains(purge),
        "postrm does not purge the units:\n{postrm}"
    );
}

/// The packaged binary, stripped by cargo-deb, is BIN and still runs.
fn extracted_binary(root: &Path) {
    let packaged = root.join("usr/bin/staticd");
    let out = Command::new(&packaged)
        .arg("--version")
        .env_clear()
        .output();
    let out = out.expect("run the packaged staticd");
    assert!(out.status.success(), "packaged --version:\n{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&bin_output(&["--version"])),
        "the packaged binary is not the one the tests ran"
    );
}

/// The service is deploy/systemd/staticd.service directive for directive,
/// but for ExecStart= naming the packaged binary; the socket is as shipped.
fn extracted_units(root: &Path) {
    let units = root.join("usr/lib/systemd/system");
    let packaged = unit_directives(&read(&units.join("staticd.service")));
    let source = unit_directives(&read(&repo("deploy/systemd/staticd.service")));
    let exec = |unit: &[(String, String, String)]| {
        let mut found = unit
            .iter()
            .filter(|(s, k, _)| s == "Service" && k == "ExecStart");
        let (_, _, value) = found.next().expect("an ExecStart=");
        assert!(found.next().is_none(), "more than one ExecStart=");
        value.clone()
    };
    let packaged_exec = exec(&packaged);
    let config = "/usr/bin/staticd --config /etc/staticd/staticd.conf";
    assert_eq!(packaged_exec, config, "the packaged ExecStart=");
    let rewritten: Vec<_> = source
        .iter()
        .map(|(s, k, v)| match k.as_str() {
            "ExecStart" => (s.clone(), k.clone(), packaged_exec.clone()),
            _ => (s.clone(), k.clone(), v.clone()),
        })
        .collect();
    assert_eq!(
        packaged, rewritten,
        "the packaged unit differs from the source"
    );
    let socket = read(&units.join("staticd.socket"));
    assert_eq!(socket, read(&repo("deploy/systemd/staticd.socket")));
}

/// The config, docs, man page and completions: the repository's files and
/// what BIN prints, byte for byte.
fn extracted_files(root: &Path) {
    let same = |packaged: &str, source: &str| {
        let packaged_bytes = std::fs::read(root.join(packaged)).expect(packaged);
        let source_bytes = std::fs::read(repo(source)).expect(source);
        assert!(packaged_bytes == source_bytes, "{packaged} is not {source}");
    };
    same("etc/staticd/staticd.conf", "deploy/systemd/staticd.conf");
    same("usr/share/doc/staticd/README.md", "README.md");
    same("usr/share/doc/staticd/LICENSE-MIT", "LICENSE-MIT");
    same("usr/share/doc/staticd/LICENSE-APACHE", "LICENSE-APACHE");
    let copyright = read(&root.join("usr/share/doc/staticd/copyright"));
    let license = format!("License: {}", env!("CARGO_PKG_LICENSE"));
    assert!(copyright.contains(&license), "copyright:\n{copyright}");

    let gz = std::fs::read(root.join("usr/share/man/man1/staticd.1.gz")).expect("man page");
    let mut man = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(&gz[..]);
    std::io::Read::read_to_end(&mut decoder, &mut man).expect("a gzip man page");
    assert!(man == bin_output(&["--generate", "man"]), "the man page");
    for &(shell, path) in COMPLETIONS {
        let packaged = std::fs::read(root.join(path)).expect(path);
        let printed = bin_output(&["--generate", shell]);
        assert!(
            packaged == printed,
            "{path} is not staticd --generate {shell}"
        );
    }
}
