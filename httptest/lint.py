#!/usr/bin/env python3
"""Third-party HTTP lint of staticd's responses, using REDbot ("lint for HTTP").

    pip install -r httptest/lint-requirements.txt
    python3 httptest/lint.py [--bin PATH] [--timeout SECONDS] [--verbose]

Builds a temporary document root, starts staticd on 127.0.0.1 (port 0) with
--autoindex on and --cache-control 'max-age=60' (see --cache-control), and
has REDbot check:

  * GET /page.html     a file with a fresh .gz sidecar; REDbot also makes its
                       own follow-up requests (gzip negotiation, a Range
                       request, If-None-Match and If-Modified-Since
                       revalidation), and lints each of those responses too;
  * GET /style.css     a second file type, with the same follow-up requests;
  * GET /app.js        a script without a sidecar, compressed on the fly;
  * GET /dir/          a directory listing (no index file), same follow-ups;
  * GET /dir           a directory without its slash (301 redirect);
  * GET /page.html with If-None-Match: <its ETag>   the 304 response.

Every note is printed with its level (good, info, warning, bad). A note
worse than informational (warning or bad) counts as a failure and is printed
with the linter's explanation; anything else counts as passed. Closes with
'N passed, N failed' and exits 0 only when nothing failed.

If REDbot is not installed this prints a SKIP line and exits 0, unless
STATICD_REQUIRE_LINT=1 is set, when it is an error (exit 1).

All traffic goes to 127.0.0.1 only; every wait is bounded; the server is
killed at the end.
"""

import argparse
import gzip
import html.parser
import http.client
import os
import re
import sys
import tempfile
import textwrap
from pathlib import Path

sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from harness import Server, ServerError  # noqa: E402

PACKAGE = "redbot"
# Not "public, max-age=60": REDbot warns that "public" is unnecessary on a
# response to a request without Authorization (STORE_PUBLIC_UNNECESSARY).
CACHE_CONTROL = "max-age=60"
FAIL_LEVELS = ("warning", "bad")
IO_TIMEOUT = 5.0


# --------------------------------------------------------------------------
# the document root

def build_root(root):
    """A small site: an HTML page with a .gz sidecar, a stylesheet, and a
    directory without an index file."""
    rows = "".join(
        f"    <tr><td>{i}</td><td>Row {i} of the sample table, with some text "
        f"so that the page compresses well.</td></tr>\n" for i in range(60))
    page = (
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n"
        "<head>\n"
        "  <meta charset=\"utf-8\">\n"
        "  <title>staticd lint page</title>\n"
        "  <link rel=\"stylesheet\" href=\"style.css\">\n"
        "</head>\n"
        "<body>\n"
        "  <h1>staticd lint page</h1>\n"
        "  <p>A few kilobytes of HTML for the HTTP linter.</p>\n"
        "  <table>\n" + rows + "  </table>\n"
        "  <p><a href=\"dir/\">A directory</a></p>\n"
        "</body>\n"
        "</html>\n").encode("utf-8")
    css = ("body { font-family: sans-serif; margin: 2em; color: #222; }\n"
           "h1 { font-size: 1.5em; }\n"
           "table { border-collapse: collapse; }\n"
           "td { border: 1px solid #ccc; padding: 0.2em 0.5em; }\n").encode("utf-8")

    page_path = root / "page.html"
    page_path.write_bytes(page)
    gz_path = root / "page.html.gz"
    gz_path.write_bytes(gzip.compress(page, compresslevel=9))
    # The sidecar is fresh: never older than the file it stands for.
    st = page_path.stat()
    os.utime(gz_path, ns=(st.st_atime_ns, st.st_mtime_ns))

    (root / "style.css").write_bytes(css)
    # No sidecar: compressed on the fly, once, for clients that accept it.
    script = "".join(f"export function item{i}(list) {{ return list.map((x) => x * {i}); }}\n"
                     for i in range(80)).encode("utf-8")
    (root / "app.js").write_bytes(script)

    d = root / "dir"
    d.mkdir()
    (d / "alpha.txt").write_bytes(b"alpha\n" * 50)
    (d / "beta.txt").write_bytes(b"beta\n" * 80)
    (d / "gamma.json").write_bytes(b'{"gamma": [1, 2, 3]}\n')
    sub = d / "sub"
    sub.mkdir()
    (sub / "delta.txt").write_bytes(b"delta\n")


def fetch_etag(port, path):
    """The ETag of a plain GET of path (stdlib client, bounded)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("ETag")
    finally:
        conn.close()


# --------------------------------------------------------------------------
# output

class _TextOnly(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def plain(markup):
    """The text of a note's HTML explanation, whitespace collapsed."""
    p = _TextOnly()
    p.feed(str(markup))
    p.close()
    return re.sub(r"\s+", " ", "".join(p.parts)).strip()


def level_name(note):
    lvl = getattr(note, "level", None)
    return getattr(lvl, "value", str(lvl))


def category_name(note):
    cat = getattr(note, "category", None)
    return str(getattr(cat, "value", cat))


class Tally:
    def __init__(self, verbose):
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.failures = []   # (where, level, summary)

    def note(self, where, note, indent="  ", repeat=False):
        """Print one note (and its subnotes); count it unless it repeats a
        note already counted on the main response."""
        lvl = level_name(note)
        summary = str(note.summary)
        bad = lvl in FAIL_LEVELS
        print(f"{indent}[{lvl}] {category_name(note)}: {summary}"
              f"  ({note.__class__.__name__}, subject {note.subject or '-'})"
              f"{'  (same note as on the main response)' if repeat else ''}")
        if repeat:
            return
        if bad or self.verbose:
            for line in textwrap.wrap(plain(note.detail), 76):
                print(f"{indent}      {line}")
        if bad:
            self.failed += 1
            self.failures.append((where, lvl, summary))
        else:
            self.passed += 1
        for sub in getattr(note, "subnotes", []) or []:
            self.note(where, sub, indent + "    ")

    def problem(self, where, text):
        print(f"  [bad] {text}")
        self.failed += 1
        self.failures.append((where, "bad", text))


def show_response(resp, indent="  "):
    if resp.status_code is None:
        print(f"{indent}(no response)")
        return
    print(f"{indent}HTTP/{resp.version} {resp.status_code_str} {resp.status_phrase}")
    for name, value in resp.headers.text:
        print(f"{indent}{name.strip()}: {value.strip()}")


def report(tally, label, resource, expect_status, in_time):
    print()
    print(f"== {label}")
    resp = resource.response
    if resource.fetch_error is not None and not resp.complete:
        err = resource.fetch_error
        tally.problem(label, f"fetch failed: {getattr(err, 'desc', err)}"
                             f"{' (' + err.detail + ')' if getattr(err, 'detail', '') else ''}")
    if not in_time:
        tally.problem(label, "the linter did not finish within the time limit")
    show_response(resp)
    if resp.status_code is None:
        tally.problem(label, "no response to lint")
    elif resp.status_code != expect_status:
        tally.problem(label, f"expected status {expect_status}, got {resp.status_code}")
    print(" notes:")
    main_notes = list(resp.notes)
    for note in main_notes:
        tally.note(label, note)
    # Responses to REDbot's own follow-up requests, each linted as well.
    for check_id, sub in getattr(resource, "subreqs", {}).items():
        if not sub.fetch_started:
            continue
        sresp = sub.response
        head = (f"HTTP/{sresp.version} {sresp.status_code_str}"
                if sresp.status_code is not None else "no response")
        req_extra = [f"{n}: {v}" for n, v in sub.request.headers.text
                     if n.lower() not in ("user-agent",)]
        print(f" follow-up request {check_id} ({'; '.join(req_extra) or 'no extra headers'})"
              f" -> {head}")
        if sub.fetch_error is not None and not sresp.complete:
            err = sub.fetch_error
            print(f"    (fetch error: {getattr(err, 'desc', err)})")
        for note in sresp.notes:
            # REDbot files some findings on both responses; count them once.
            tally.note(f"{label} / {check_id}", note, indent="    ",
                       repeat=note in main_notes)


# --------------------------------------------------------------------------
# running REDbot

def lint_all(port, targets, timeout):
    """Run one REDbot HttpResource per target concurrently in one event loop.

    targets: [(label, path, request_headers, active_checks, expect_status)]
    Returns [(label, resource, expect_status, finished_in_time)]."""
    from configparser import ConfigParser

    import thor
    from redbot.resource import HttpResource

    cp = ConfigParser()
    # Loopback targets are refused unless local access is enabled.
    cp.read_dict({"redbot": {"enable_local_access": "True", "max_sample_size": "0"}})
    config = cp["redbot"]

    pending = set()
    done = []

    def finished(label):
        pending.discard(label)
        if not pending:
            thor.stop()

    for label, path, headers, active, expect in targets:
        res = HttpResource(config, descend=False, active_checks_enabled=active)
        res.set_request(f"http://127.0.0.1:{port}{path}", "GET", headers or [])
        pending.add(label)
        res.on("check_done", lambda label=label: finished(label))
        done.append((label, res, expect))

    thor.schedule(timeout, thor.stop)
    for _label, res, _expect in done:
        res.check()
    if pending:
        thor.run()
    unfinished = set(pending)   # before stop(), which marks everything done
    for _label, res, _expect in done:
        try:
            res.stop()
        except Exception:  # pylint: disable=broad-except
            pass
    return [(label, res, expect, label not in unfinished) for label, res, expect in done]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "staticd"),
                    help="staticd binary (default: target/release/staticd)")
    ap.add_argument("--timeout", type=float, default=90.0,
                    help="seconds for all linting together (default 90)")
    ap.add_argument("--cache-control", default=CACHE_CONTROL, metavar="VALUE",
                    help=f"staticd's --cache-control value (default {CACHE_CONTROL!r}; "
                         f"'' starts it without the flag)")
    ap.add_argument("--verbose", action="store_true",
                    help="print the explanation of every note, not only failures")
    args = ap.parse_args()

    try:
        import redbot  # noqa: F401
        import redbot.resource  # noqa: F401
        import thor  # noqa: F401
    except ImportError:
        msg = (f"{PACKAGE} not installed "
               f"(pip install -r httptest/lint-requirements.txt)")
        if os.environ.get("STATICD_REQUIRE_LINT") == "1":
            print(f"ERROR: {msg}")
            return 1
        print(f"SKIP: {msg}")
        return 0

    version = getattr(sys.modules["redbot"], "__version__", "?")
    try:
        import httplint
        hl_version = getattr(httplint, "__version__", "?")
    except ImportError:
        hl_version = "?"
    print(f"lint: REDbot {version} (httplint {hl_version}) against {args.bin}, "
          f"--cache-control {args.cache_control!r}")

    tally = Tally(args.verbose)
    with tempfile.TemporaryDirectory(prefix="staticd-lint-") as tmp:
        root = Path(tmp) / "www"
        root.mkdir()
        build_root(root)
        try:
            cmd = ["--root", root, "--bind", "127.0.0.1", "--port", "0", "--autoindex", "on"]
            if args.cache_control:
                cmd += ["--cache-control", args.cache_control]
            server = Server(args.bin, cmd)
        except ServerError as e:
            print(f"ERROR: staticd: {e}")
            print("0 passed, 1 failed")
            return 1
        try:
            if server.host != "127.0.0.1":
                print(f"ERROR: server announced {server.host}, expected 127.0.0.1")
                print("0 passed, 1 failed")
                return 1
            port = server.port
            try:
                status, etag = fetch_etag(port, "/page.html")
            except (OSError, http.client.HTTPException) as e:
                status, etag = f"no response ({e!r})", None
            targets = [
                ("GET /page.html (file)", "/page.html", [], True, 200),
                ("GET /style.css (file)", "/style.css", [], True, 200),
                ("GET /app.js (compressed on the fly)", "/app.js",
                 [("Accept-Encoding", "gzip, br")], True, 200),
                ("GET /dir/ (directory listing)", "/dir/", [], True, 200),
                ("GET /dir (redirect to slash)", "/dir", [], True, 301),
            ]
            if status == 200 and etag:
                targets.append(
                    ("GET /page.html with If-None-Match (304)", "/page.html",
                     [("If-None-Match", etag)], False, 304))
            else:
                tally.problem("304", f"GET /page.html gave {status} with ETag {etag!r}; "
                                     f"cannot make the If-None-Match request")
            results = lint_all(port, targets, args.timeout)
            for label, res, expect, in_time in results:
                report(tally, label, res, expect, in_time)
            if not server.alive():
                tally.problem("server", "staticd exited during the lint")
        finally:
            server.stop()

    print()
    if tally.failures:
        print("Notes worse than informational:")
        for where, lvl, summary in tally.failures:
            print(f"  [{lvl}] {where}: {summary}")
    print(f"{tally.passed} passed, {tally.failed} failed")
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
