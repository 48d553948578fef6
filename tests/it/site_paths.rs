//! How a request path maps to a file: the `--index` names tried for a
//! directory, in order, under the hidden-file and symlink policies; and
//! bad names refused at start-up.

use crate::common;

use common::process::run;
use common::{get, request, serve_root};
use staticd::Autoindex;

/// The site in `root/` of the returned directory, beside a file outside it.
fn site() -> (tempfile::TempDir, std::path::PathBuf) {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("root");
    std::fs::create_dir(&dir).unwrap();
    for sub in ["both", "htm", "none", "hidden", "link"] {
        std::fs::create_dir(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("both/index.html"), "html").unwrap();
    std::fs::write(dir.join("both/index.htm"), "htm").unwrap();
    std::fs::write(dir.join("htm/index.htm"), "htm only").unwrap();
    std::fs::write(dir.join("hidden/.index"), "secret").unwrap();
    let outside = top.path().join("outside-index.htm");
    std::fs::write(&outside, "outside").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("link/index.htm")).unwrap();
    (top, dir)
}

#[test]
fn the_first_index_name_that_exists_answers() {
    let (_top, root) = site();
    let addr = serve_root(&root, |c| {
        c.index = vec!["index.htm".into(), "index.html".into()];
    });
    let body = |t: &str| String::from_utf8(get(addr, &request("GET", t)).body).unwrap();
    assert_eq!(body("/both/"), "htm");
    assert_eq!(body("/htm/"), "htm only");
    let reply = get(addr, &request("GET", "/htm/"));
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    assert_eq!(get(addr, &request("GET", "/none/")).status, 404);
    // A link leaving the root is refused as a direct request for it is.
    assert_eq!(get(addr, &request("GET", "/link/")).status, 403);
}

#[test]
fn the_default_is_index_html_and_autoindex_decides_without_one() {
    let (_top, root) = site();
    let addr = serve_root(&root, |c| c.autoindex = Autoindex::Forbid);
    assert_eq!(get(addr, &request("GET", "/both/")).body, b"html");
    assert_eq!(get(addr, &request("GET", "/htm/")).status, 403);
}

#[test]
fn a_hidden_index_is_served_only_with_show_hidden() {
    let (_top, root) = site();
    let hidden = serve_root(&root, |c| c.index = vec![".index".into()]);
    assert_eq!(get(hidden, &request("GET", "/hidden/")).status, 404);
    let shown = serve_root(&root, |c| {
        c.index = vec![".index".into()];
        c.show_hidden = true;
    });
    assert_eq!(get(shown, &request("GET", "/hidden/")).body, b"secret");
}

#[test]
fn bad_index_names_exit_2_naming_the_option() {
    for bad in ["a/b", "..", ".", "index.html,"] {
        let (code, _, stderr) = run(&["--port", "0", "--index", bad], &[]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--index"), "{bad}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: invalid value"), "{stderr}");
    }
    let (code, _, stderr) = run(&["--port", "0"], &[("STATICD_INDEX", "x/y")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--index"), "{stderr}");
}
