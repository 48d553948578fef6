//! Each default is written once, in the layers' `Default`s: what `--help`
//! shows, what `--print-config` prints with nothing set, and
//! `Options::default()` agree, option by option. An option that
//! gains a default in one of the three and not the others fails here.

use std::collections::BTreeMap;
use std::process::Command;

use clap::ValueEnum;
use staticd::{Options, parse_duration};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_staticd"));
    command.env_clear();
    command
}

fn stdout(command: &mut Command) -> String {
    let out = command.output().expect("run staticd");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn name<T: ValueEnum>(value: T) -> String {
    value
        .to_possible_value()
        .expect("named")
        .get_name()
        .to_owned()
}

/// The defaults from the library, as the option syntax writes them;
/// durations and sizes are compared as values, not text.
fn library() -> BTreeMap<&'static str, String> {
    let d = Options::default();
    let site = &d.site;
    // Off until --acme-domain: its defaults are AcmeOptions' own.
    let acme = staticd::AcmeOptions::default();
    let switch = |on: bool| if on { "on" } else { "off" }.to_owned();
    BTreeMap::from([
        ("root", d.root.display().to_string()),
        ("bind", d.addr.ip().to_string()),
        ("port", d.addr.port().to_string()),
        ("socket-mode", format!("{:04o}", d.socket_mode)),
        ("workers", d.workers.to_string()),
        ("balance", name(d.balance)),
        ("index", site.index.join(",")),
        ("base-path", site.base_path.clone()),
        ("clean-urls", site.clean_urls.to_string()),
        ("autoindex", name(site.autoindex)),
        ("symlinks", name(d.symlinks)),
        ("precompressed", switch(site.precompressed)),
        ("compress", switch(site.compress.enabled)),
        ("compress-min", site.compress.min.to_string()),
        ("compress-cache", site.compress.cache_bytes.to_string()),
        ("archive", name(site.archive)),
        ("auth-realm", site.auth.realm.clone()),
        ("log-format", name(d.log_format)),
        ("header-timeout", format!("{:?}", d.limits.header_timeout)),
        (
            "keepalive-timeout",
            format!("{:?}", d.limits.keepalive_timeout),
        ),
        ("send-timeout", format!("{:?}", d.limits.send_timeout)),
        ("max-connections", d.max_connections.to_string()),
        ("max-requests", d.limits.max_requests.to_string()),
        ("grace-period", format!("{:?}", d.grace_period)),
        ("show-hidden", site.show_hidden.to_string()),
        ("security-headers", site.rules.headers.security.to_string()),
        ("hsts-subdomains", hsts_subdomains(&d).to_string()),
        ("qrcode", d.qrcode.to_string()),
        ("proxy-protocol", d.proxy_protocol.to_string()),
        (
            "http2",
            if d.http2.enabled { "on" } else { "off" }.to_owned(),
        ),
        ("http2-max-streams", d.http2.max_streams.to_string()),
        ("acme-directory", acme.directory.clone()),
        ("acme-state", acme.state.display().to_string()),
        ("acme-challenge", name(acme.challenge)),
    ])
}

/// Flags: off unless given, which `--help` does not spell out.
const FLAGS: &[&str] = &[
    "show-hidden",
    "clean-urls",
    "security-headers",
    "hsts-subdomains",
    "qrcode",
    "proxy-protocol",
];

fn hsts_subdomains(d: &Options) -> bool {
    d.tls
        .as_ref()
        .and_then(|tls| tls.hsts)
        .is_some_and(|hsts| hsts.include_subdomains)
}

/// A shown value in the library's form: durations as `Duration`'s debug
/// text, sizes in bytes.
fn normal(option: &str, value: &str) -> String {
    match option {
        "header-timeout" | "keepalive-timeout" | "send-timeout" | "grace-period" => {
            format!("{:?}", parse_duration(value).expect("a duration"))
        }
        "compress-min" | "compress-cache" => {
            let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let shift = match &value[digits.len()..] {
                "" => 0,
                "k" => 10,
                "M" => 20,
                "G" => 30,
                unit => panic!("unit {unit} in {value}"),
            };
            (digits.parse::<u64>().expect("a size") << shift).to_string()
        }
        _ => value.to_owned(),
    }
}

/// `--help`'s `[default: X]` per long option (the types list aside, whose
/// default is hidden as too long).
fn help() -> BTreeMap<String, String> {
    let text = stdout(binary().arg("--help"));
    let mut shown = BTreeMap::new();
    let mut option = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        // `--name` or `-n, --name`; not a possible value's `- name:`.
        if trimmed.starts_with("--") || trimmed.get(2..6) == Some(", --") {
            option = trimmed
                .split("--")
                .nth(1)
                .map(|rest| rest.split([' ', '=']).next().unwrap_or("").to_owned());
        }
        if let (Some(at), Some(option)) = (line.find("[default: "), &option) {
            let rest = &line[at + "[default: ".len()..];
            let value = rest.split(']').next().unwrap_or("").to_owned();
            shown.insert(option.clone(), value);
        }
    }
    shown
}

/// `--print-config` with nothing set: every option with a value (the
/// realm's is a comment line, as it applies only with an auth file).
fn print_config() -> BTreeMap<String, String> {
    let text = stdout(binary().arg("--print-config"));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let (setting, origin) = line.rsplit_once(" # ")?;
            assert!(origin.starts_with("default"), "{line}");
            let setting = match setting.strip_prefix("# ") {
                Some(shown) if origin.ends_with("with auth-file") => shown,
                Some(_) => return None, // unset
                None => setting,
            };
            let (option, value) = setting.split_once(' ')?;
            Some((option.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

#[test]
fn help_print_config_and_default_agree() {
    let library = library();
    let printed = print_config();
    let mut help = help();
    // Defaults that --help states in words, not as a value of the option.
    for (option, words) in [
        ("workers", "number of CPUs"),
        ("log-level", "RUST_LOG, else info"),
        ("auth-path", "every path"),
        ("redirect", "301"),
    ] {
        assert_eq!(help.remove(option).as_deref(), Some(words), "--{option}");
    }
    help.insert("workers".into(), library["workers"].clone());
    // The types list is printed but its --help default is hidden.
    let mut printed_values = printed.clone();
    printed_values.remove("compress-types");
    for (option, value) in &library {
        let want = normal(option, value);
        let from_help = help.get(*option).map(|v| normal(option, v));
        let from_print = printed_values.get(*option).map(|v| normal(option, v));
        if !FLAGS.contains(option) {
            assert_eq!(
                from_help.as_deref(),
                Some(want.as_str()),
                "--help, --{option}"
            );
        }
        assert_eq!(
            from_print.as_deref(),
            Some(want.as_str()),
            "--print-config, {option}"
        );
    }
    let extra_help: Vec<_> = help
        .keys()
        .filter(|o| !library.contains_key(o.as_str()))
        .collect();
    let extra_print: Vec<_> = printed_values
        .keys()
        .filter(|o| !library.contains_key(o.as_str()))
        .collect();
    assert!(
        extra_help.is_empty(),
        "defaults only --help shows: {extra_help:?}"
    );
    assert!(
        extra_print.is_empty(),
        "defaults only --print-config shows: {extra_print:?}"
    );
}

#[test]
fn the_compressed_types_printed_are_the_sites() {
    let printed = print_config();
    let types: Vec<String> = Options::default()
        .site
        .compress
        .types
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(printed["compress-types"], types.join(","));
}
