"""Methods, request targets, percent-decoding, the root wall, directories."""

import html
import re
import urllib.parse

from fixture import (DEEP, DEEP_PATH, DOTDOT, INDEX2, LISTING_A, LITERAL_PCT, PAGE, PAGE_PATH,
                     REAL, SPACED)
import harness
from harness import (RawConn, assert_common, check, eq, fail, http1_only, http_client,
                     media_type, parse_head, req, request, short)

WALL = (400, 403, 404)


def fetch(ctx, target, method="GET", key="off", headers=(), version="HTTP/1.1"):
    raw = req(method, target, *headers, version=version)
    return request(ctx.port(key), raw, head=(method == "HEAD"))


def expect_file(resp, body, what, ctype=None):
    eq(resp.status, 200, f"{what} status")
    eq(resp.body, body, f"{what} body")
    eq(resp.h("Content-Length"), str(len(body)), f"{what} Content-Length")
    if ctype is not None:
        eq(resp.h("Content-Type"), ctype, f"{what} Content-Type")
    assert_common(resp, what)


def expect_error(resp, status, what):
    eq(resp.status, status, f"{what} status")
    assert_common(resp, what)
    eq(media_type(resp.h("Content-Type")), "text/html", f"{what} Content-Type")
    eq(len(resp.body), int(resp.h("Content-Length")), f"{what} body length vs Content-Length")


def hrefs(body):
    text = body.decode("utf-8", "replace")
    return [a or b for a, b in re.findall(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""", text)]


# ---- methods ---------------------------------------------------------------

@check
def get_file_http_client(ctx):
    conn = http_client(ctx.port())
    try:
        conn.request("GET", PAGE_PATH)
        r = conn.getresponse()
        body = r.read()
        eq(r.status, 200, "status")
        eq(body, PAGE, "body")
        eq(r.getheader("Content-Length"), "38", "Content-Length")
        eq(r.getheader("Content-Type"), "text/html", "Content-Type")
    finally:
        conn.close()


@check
def head_same_headers_as_get(ctx):
    cases = [("off", p) for p in (PAGE_PATH, "/dir2/", "/dir2", "/sample.png", "/no-such.txt",
                                  DEEP_PATH, "/dir1/")]
    cases += [("forbid", "/dir1/"), ("on", "/dir1/")]
    for key, path in cases:
        g = fetch(ctx, path, key=key)
        h = fetch(ctx, path, "HEAD", key=key)
        what = f"HEAD {path} ({key})"
        eq(h.status, g.status, f"{what} status vs GET")
        gh = {k: v for k, v in g.headers.items() if k != "date"}
        hh = {k: v for k, v in h.headers.items() if k != "date"}
        if gh != hh:
            diff = sorted(set(gh.items()) ^ set(hh.items()))
            fail(f"{what}: headers differ from GET: {diff}")
        assert_common(h, what)


@check
@http1_only('pipelined HEAD and GET on the HTTP/1.1 wire; over HTTP/2 every HEAD is asserted to get HEADERS with END_STREAM and no DATA')
def head_sends_no_body(ctx):
    """HEAD then GET pipelined: a body after the HEAD head would corrupt the GET."""
    with RawConn(ctx.port()) as c:
        c.send(req("HEAD", PAGE_PATH) + req("GET", "/dir2/"))
        h = c.read_response(head=True)
        eq(h.status, 200, "HEAD status")
        eq(h.h("Content-Length"), "38", "HEAD Content-Length")
        g = c.read_response()
        eq((g.status, g.body), (200, INDEX2), "GET after HEAD")
    # non-200 answers to HEAD: read until the server closes, nothing may follow the head
    for key, path, status in (("off", "/no-such.txt", 404), ("off", "/dir2", 301),
                              ("forbid", "/dir1/", 403), ("on", "/dir1/", 200)):
        with RawConn(ctx.port(key)) as c:
            c.send(req("HEAD", path, "Connection: close"))
            data = c.read_until_close()
        head, sep, rest = data.partition(b"\r\n\r\n")
        eq(parse_head(head + sep).status if sep else None, status, f"HEAD {path} ({key}) status")
        eq(rest, b"", f"HEAD {path} ({key}) bytes after the head")


@check
@http1_only('HTTP/1.0')
def head_http10(ctx):
    with RawConn(ctx.port()) as c:
        c.send(b"HEAD /dir2/page.html HTTP/1.0\r\n\r\n")
        data = c.read_until_close()
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        fail(f"no complete response head: {short(data)}")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    eq(int(m.group(1)) if m else None, 200, "status")
    if b"\r\nContent-Length: 38\r\n" not in head + b"\r\n":
        fail(f"no 'Content-Length: 38' in head: {short(head, 300)}")
    eq(body, b"", "body after the head")


@check
def other_methods_405(ctx):
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW", "get"):
        r = fetch(ctx, PAGE_PATH, method)
        expect_error(r, 405, method)
        eq(r.h("Allow"), "GET, HEAD", f"{method} Allow")


@check
@http1_only('malformed HTTP/1.1 request lines and header lines, then the close')
def malformed_request_400_then_close(ctx):
    for raw in (b"garbage\r\n\r\n", b"GET / HTTP/1.1 extra\r\n\r\n", b"GET /\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"):
        with RawConn(ctx.port()) as c:
            c.send(raw)
            r = c.read_response()
            expect_error(r, 400, short(raw, 40))
            c.expect_closed()


# ---- targets and percent-decoding -----------------------------------------

@check
def nested_path(ctx):
    expect_file(fetch(ctx, DEEP_PATH), DEEP, DEEP_PATH, "text/plain")


@check
def query_string_ignored(ctx):
    for t in ("/dir2/page.html?arg1=value&arg2=value", "/dir2/page.html?", "/dir2/?x=%ZZ"):
        r = fetch(ctx, t)
        expect_file(r, INDEX2 if t.startswith("/dir2/?") else PAGE, t)


@check
def percent_decoding(ctx):
    for t, body in (("/space%20in%20name.txt", SPACED),
                    ("/dir2/%70%61%67%65%2e%68%74%6d%6c", PAGE),
                    ("/dir2/page%2Ehtml", PAGE), ("/dir2/page%2ehtml", PAGE),
                    ("/%64ir1/dir12/dir123/deep.txt", DEEP), ("/text..txt", DOTDOT)):
        expect_file(fetch(ctx, t), body, t)


@check
def percent_decoded_only_once(ctx):
    t = "/space%2520in%2520name.txt"
    eq(fetch(ctx, t).status, 404, t)
    expect_file(fetch(ctx, "/%2520.txt", key="tmp"), LITERAL_PCT, "/%2520.txt (file '%20.txt')")


@check
def bad_percent_escapes_400(ctx):
    for t in ("/%ZZ", "/abc%", "/abc%2", "/%g0.txt", "/a%00.txt", "/dir2/%00"):
        expect_error(fetch(ctx, t), 400, t)


@check
@http1_only("request-target forms HTTP/2's :path cannot carry")
def bad_target_form_400(ctx):
    for t in ("abc", "*", "dir2/page.html"):
        expect_error(fetch(ctx, t), 400, f"GET {t}")


@check
@http1_only('absolute-form is an HTTP/1.1 request-target; HTTP/2 carries it as :authority and :path')
def absolute_form_target(ctx):
    expect_file(fetch(ctx, "http://127.0.0.1/dir2/page.html"), PAGE, "absolute-form")


# ---- the root wall ---------------------------------------------------------

def expect_walled(resp, what, secret):
    if resp.status not in WALL:
        fail(f"{what}: status {resp.status}, want one of {WALL}")
    if secret in resp.body or secret in resp.head:
        fail(f"{what}: response shows content from outside the root")


@check
def traversal_etc_passwd(ctx):
    for t in ("/../../../../etc/passwd", "/dir2/../../etc/passwd", "/" + "../" * 12 + "etc/passwd",
              "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
              "/..%2f..%2fetc/passwd", "/dir2/..%2F..%2F..%2Fetc%2Fpasswd",
              "/dir2/..%5c..%5cetc%5cpasswd", "/..\\..\\..\\etc\\passwd",
              "/dir2\\..\\..\\..\\etc\\passwd", "//etc/passwd", "/%2fetc%2fpasswd",
              "http://127.0.0.1/../../../etc/passwd"):
        for method in ("GET", "HEAD"):
            expect_walled(fetch(ctx, t, method), f"{method} {t}", b"root:")


@check
def traversal_to_sibling_secret(ctx):
    tmp = ctx.tmp()
    for t in ("/../outside/secret.txt", "/%2e%2e/outside/secret.txt",
              "/..%2foutside%2fsecret.txt", "/names/../../outside/secret.txt",
              "/names/..%5c..%5coutside%5csecret.txt"):
        expect_walled(fetch(ctx, t, key="tmp"), t, tmp.marker)


@check
def symlink_out_of_root_refused(ctx):
    tmp = ctx.tmp()
    for t in ("/escape_rel.txt", "/escape_abs.txt", "/escape_dir/secret.txt", "/escape_dir/"):
        for method in ("GET", "HEAD"):
            expect_walled(fetch(ctx, t, method, key="tmp"), f"{method} {t}", tmp.marker)


@check
def symlink_inside_root_served(ctx):
    expect_file(fetch(ctx, "/inside_link.txt", key="tmp"), REAL, "/inside_link.txt")


# ---- directories -----------------------------------------------------------

@check
def directory_index(ctx):
    expect_file(fetch(ctx, "/dir2/"), INDEX2, "/dir2/", "text/html")
    index = (ctx.www / "index.html").read_bytes()
    expect_file(fetch(ctx, "/"), index, "/", "text/html")


@check
def directory_redirect_301(ctx):
    for t, loc, key in (("/dir2", "/dir2/", "off"), ("/dir2?x=1", "/dir2/?x=1", "off"),
                        ("/dir1/dir12", "/dir1/dir12/", "off"), ("/dir1", "/dir1/", "forbid"),
                        ("/b%20dir", "/b%20dir/", "tmp")):
        r = fetch(ctx, t, key=key)
        eq(r.status, 301, f"{t} status")
        eq(r.h("Location"), loc, f"{t} Location")
        assert_common(r, t)
        if not harness.HTTP2 and b"\r\nLocation: " not in r.head:  # names are lowercase in h2
            fail(f"{t}: no '\\r\\nLocation: ' in the raw head")


@check
def file_with_trailing_slash_404(ctx):
    expect_error(fetch(ctx, "/dir2/page.html/"), 404, "/dir2/page.html/")


@check
def autoindex_off_404(ctx):
    expect_error(fetch(ctx, "/dir1/", key="off"), 404, "/dir1/ (off)")


@check
def autoindex_forbid_403(ctx):
    expect_error(fetch(ctx, "/dir1/", key="forbid"), 403, "/dir1/ (forbid)")
    expect_file(fetch(ctx, "/dir2/", key="forbid"), INDEX2, "/dir2/ (forbid)")


@check
def autoindex_on_lists(ctx):
    r = fetch(ctx, "/dir1/", key="on")
    eq(r.status, 200, "/dir1/ (on) status")
    assert_common(r, "/dir1/ (on)")
    eq(r.h("Content-Type"), "text/html", "listing Content-Type")
    links = [urllib.parse.urljoin("/dir1/", html.unescape(h)) for h in hrefs(r.body)]
    if not any(u in ("/dir1/dir12/", "/dir1/dir12") for u in links):
        fail(f"no link to dir12 in the listing (links: {links[:10]})")
    expect_file(fetch(ctx, "/dir2/", key="on"), INDEX2, "/dir2/ (on)")


@check
def autoindex_links_resolve(ctx):
    r = fetch(ctx, "/listing/", key="on")
    eq(r.status, 200, "/listing/ status")
    links = [urllib.parse.urljoin("/listing/", html.unescape(h)) for h in hrefs(r.body)]
    if "/listing/a.txt" not in links:
        fail(f"no link to a.txt (links: {links[:10]})")
    expect_file(fetch(ctx, "/listing/a.txt", key="on"), LISTING_A, "/listing/a.txt")
    bdir = [u for u in links if u.rstrip("/") == "/listing/b%20dir"]
    if not bdir:
        fail(f"no percent-encoded link to 'b dir' (links: {links[:10]})")
    sub = fetch(ctx, bdir[0].rstrip("/") + "/", key="on")
    eq(sub.status, 200, "'b dir/' listing status")
    if b"c.txt" not in sub.body:
        fail("'b dir/' listing does not show c.txt")


@check
def autoindex_escapes_names(ctx):
    tmp = ctx.tmp()
    r = fetch(ctx, "/names/", key="tmp")
    eq(r.status, 200, "/names/ status")
    text = r.body.decode("utf-8", "replace")
    if "<img src=x" in text:
        fail("the name '<img src=x ...' appears unescaped in the listing")
    if "&lt;img" not in text:
        fail("the name '<img ...' does not appear HTML-escaped ('&lt;img')")
    if 'a&b "q"' in text or "a&amp;b" not in text:
        fail("the name 'a&b \"q\".txt' is not HTML-escaped in the listing")
    all_hrefs = hrefs(r.body)
    img = [h for h in all_hrefs if "img" in h]
    if not img:
        fail(f"no href for the '<img ...' file (hrefs: {all_hrefs[:10]})")
    for h in img:
        if "<" in h or ("%3C" not in h and "%3c" not in h):
            fail(f"href not percent-encoded: {h!r}")
    for name, body in tmp.name_bodies.items():
        wanted = [h for h in all_hrefs
                  if urllib.parse.unquote(html.unescape(h)).rstrip("/").endswith(name)]
        if not wanted:
            fail(f"no href leading to {name!r} (hrefs: {all_hrefs[:10]})")
        target = urllib.parse.urljoin("/names/", html.unescape(wanted[0]))
        expect_file(fetch(ctx, target, key="tmp"), body, f"link {target}")
