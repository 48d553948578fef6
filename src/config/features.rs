//! What staticd says about itself without the clap definition: the
//! features `--version` lists, each tied to the option that governs it so
//! the list cannot name something the command line does not have (a test
//! holds it against `--help`), and what `--generate` can make.

use clap::ValueEnum;

/// What this build does, each with the option that turns it on or tunes
/// it: `--version` prints the list, and a test checks every option exists.
pub const FEATURES: &[(&str, &str)] = &[
    ("http/1.1 keep-alive and pipelining", "--keepalive-timeout"),
    (
        "openat2 root confinement (fallback: realpath + O_NOFOLLOW)",
        "--symlinks",
    ),
    ("conditional requests and byte ranges", "--cache-control"),
    ("precompressed .br/.zst/.gz", "--precompressed"),
    ("compression on the fly (br, zstd, gzip)", "--compress"),
    ("listings html/json", "--autoindex"),
    ("folder archives tar/tar.gz", "--archive"),
    ("redirects", "--redirect"),
    ("app fallback", "--fallback"),
    ("error pages", "--error-page"),
    ("headers by path", "--path-header"),
    ("security headers", "--security-headers"),
    ("cors", "--cors-origin"),
    ("basic auth (htpasswd bcrypt)", "--auth-file"),
    ("https via rustls (TLS 1.2/1.3, SNI)", "--tls-cert"),
    ("hsts", "--hsts"),
    ("http to https redirect", "--redirect-http"),
    ("access log combined/json", "--log-format"),
    ("config files", "--config"),
    ("configuration check", "--check"),
    ("graceful shutdown", "--grace-period"),
    ("workers packed or spread", "--balance"),
];

/// `--version`'s long form: the version, then one feature per line.
pub(super) fn long_version() -> String {
    let mut text = format!("{}\nfeatures:", env!("CARGO_PKG_VERSION"));
    for (feature, option) in FEATURES {
        text.push_str(&format!("\n  {feature} ({option})"));
    }
    text
}

/// `--generate WHAT`: the man page, or a shell's completion script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
}
