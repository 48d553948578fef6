//! The gate's decisions; over TCP, with timing and the pool, in
//! tests/it/rules_auth.rs.
use super::*;

const SALT: [u8; 16] = *b"0123456789abcdef";

fn hash(password: &str, cost: u32) -> String {
    bcrypt::hash_with_salt(password, cost, SALT)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY)
}

fn auth_all_paths() -> Auth {
    auth(&[])
}

fn auth(paths: &[&str]) -> Auth {
    let text = format!("alice:{}\nbob:{}\n", hash("wonder", 4), hash("builder", 4));
    let options = AuthOptions {
        file: None,
        paths: paths.iter().map(|p| Pattern::parse(p).unwrap()).collect(),
        realm: "staff".to_owned(),
    };
    Auth::from_text(&text, &options).unwrap()
}

fn get(fields: &str) -> Request {
    let head = format!("GET / HTTP/1.1\r\nHost: h\r\n{fields}\r\n");
    crate::http::request::parse(head.as_bytes())
        .unwrap()
        .unwrap()
        .0
}

fn request(user: &str, password: &str) -> Request {
    let token = basic_token(&format!("{user}:{password}"));
    get(&format!("Authorization: Basic {token}\r\n"))
}

fn basic_token(text: &str) -> String {
    const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, &b)| bits | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(DIGITS[(bits >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How many verified credentials the cache holds.
fn cached(auth: &Auth) -> usize {
    auth.table.as_ref().map_or(0, |t| t.verified.len())
}

/// Gates `request`, running a check when one is asked for.
fn decide(auth: &Auth, request: &Request) -> Gate {
    match auth.gate(request, None) {
        Gate::Check(check) => auth.gate(request, Some(check.run())),
        other => other,
    }
}

#[test]
fn verifies_once_then_answers_from_the_cache() {
    let auth = auth(&[]);
    let alice = request("alice", "wonder");
    assert!(matches!(auth.gate(&alice, None), Gate::Check(_)));
    assert!(matches!(decide(&auth, &alice), Gate::Pass));
    // Passed without a check: a cached credential runs no bcrypt, on any
    // clone of the rule (every connection of a server holds one).
    for gate in [auth.gate(&alice, None), auth.clone().gate(&alice, None)] {
        assert!(matches!(gate, Gate::Pass), "{gate:?}");
    }
    assert_eq!(cached(&auth), 1);
}

#[test]
fn refuses_wrong_passwords_and_unknown_users_alike() {
    let auth = auth(&[]);
    for (user, password) in [("alice", "builder"), ("carol", "wonder"), ("alice", "")] {
        let request = request(user, password);
        let Gate::Check(check) = auth.gate(&request, None) else {
            panic!("{user}: bcrypt runs for a refusal too");
        };
        let refused = auth.gate(&request, Some(check.run()));
        assert!(matches!(refused, Gate::Challenge), "{user}: {refused:?}");
        // Asked again, it is checked again: refusals are not cached.
        assert!(
            matches!(auth.gate(&request, None), Gate::Check(_)),
            "{user}"
        );
    }
    // The decoy is alice's hash, yet grants nothing to another name.
    assert!(matches!(
        decide(&auth, &request("mallory", "wonder")),
        Gate::Challenge
    ));
    assert_eq!(cached(&auth), 0, "refusals are not cached");
    for fields in ["", "Authorization: Bearer abc\r\n"] {
        assert!(matches!(auth.gate(&get(fields), None), Gate::Challenge));
    }
    // Sent twice, even a right credential is refused, without a check.
    let token = basic_token("alice:wonder");
    let twice = format!("Authorization: Basic {token}\r\nAuthorization: Basic {token}\r\n");
    assert!(matches!(auth.gate(&get(&twice), None), Gate::Challenge));
}

#[test]
fn a_verdict_counts_only_for_its_own_credential() {
    let auth = auth(&[]);
    let Gate::Check(check) = auth.gate(&request("alice", "wonder"), None) else {
        panic!("a check");
    };
    let granted = check.run();
    let other = request("bob", "nope");
    assert!(matches!(auth.gate(&other, Some(granted)), Gate::Check(_)));
    let Gate::Check(check) = auth.gate(&other, None) else {
        panic!("a check");
    };
    assert!(matches!(auth.gate(&other, Some(check.busy())), Gate::Busy));
}

#[test]
fn protects_only_the_paths_given() {
    let auth = auth(&["/private/**", "*.pdf"]);
    let protects = |path: &str| auth.protects(&Target::parse(path).unwrap());
    for open in [
        "/",
        "/index.html",
        "/privately",
        "/public/a.txt",
        "/private.pdf/",
    ] {
        assert!(!protects(open), "{open}");
    }
    for closed in [
        "/private/",
        "/private",
        "/private/a/b.txt",
        "/x/report.pdf",
        "/public/../private/a",
        "/public/%2e%2e/private/a",
        "//private//a",
        "/%70rivate/a",
    ] {
        assert!(protects(closed), "{closed}");
    }
    assert!(auth_all_paths().protects(&Target::parse("/any").unwrap()));
    assert!(!Auth::default().protects(&Target::parse("/any").unwrap()));
    assert!(Auth::default().challenge().is_none());
    assert!(matches!(Auth::default().gate(&get(""), None), Gate::Pass));
    assert_eq!(
        auth.challenge(),
        Some("Basic realm=\"staff\", charset=\"UTF-8\"")
    );
}

#[test]
fn the_decoy_has_the_most_common_cost() {
    let text = format!(
        "a:{}\nb:{}\nc:{}\n",
        hash("x", 4),
        hash("x", 5),
        hash("y", 5)
    );
    let auth = Auth::from_text(&text, &AuthOptions::default()).unwrap();
    let table = auth.table.as_ref().unwrap();
    assert_eq!(&table.decoy[4..6], "05");
    assert_eq!(auth.mixed_costs().as_deref(), Some("04, 05"));
}
