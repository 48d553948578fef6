"""Headers, connection persistence, request bodies, large files, limits."""

import email.utils
import hashlib
import os
import threading
import time

from checks_paths import expect_error, expect_file, fetch
from fixture import (BIG_MARKER, BIG_SIZE, CONTENT_TYPES, DEEP, DEEP_PATH, INDEX2, PAGE,
                     PAGE_PATH, REAL, SPARSE_SIZE)
import harness
from harness import (RawConn, assert_common, check, eq, fail, http1_only, http_client,
                     media_type, parse_head, req, request, short)


# ---- headers ---------------------------------------------------------------

@check
def common_headers_on_every_response(ctx):
    cases = [("off", req("GET", PAGE_PATH)), ("off", req("GET", "/dir2/")),
             ("off", req("GET", "/dir2")), ("off", req("GET", "/no-such.txt")),
             ("off", req("DELETE", PAGE_PATH)), ("off", req("GET", "/%ZZ")),
             ("forbid", req("GET", "/dir1/")), ("on", req("GET", "/dir1/")),
             ("off", req("GET", "/" + "a" * 9000))]
    if not harness.HTTP2:  # no HTTP/2 form: a line that is no request, and HTTP/1.0
        cases += [("off", b"garbage\r\n\r\n"),
                  ("off", req("GET", PAGE_PATH, version="HTTP/1.0"))]
    for key, raw in cases:
        r = request(ctx.port(key), raw)
        assert_common(r, f"{short(raw.split(b' HTTP/')[0], 40)} ({key})")


@check
def content_types(ctx):
    for path, allowed in CONTENT_TYPES:
        r = fetch(ctx, path)
        eq(r.status, 200, f"{path} status")
        if r.h("Content-Type") not in allowed:
            fail(f"{path}: Content-Type {r.h('Content-Type')!r}, want {' or '.join(allowed)}")
        eq(len(r.body), os.path.getsize(ctx.www / path.lstrip("/")), f"{path} body length")


@check
@http1_only('header name case and the status line on the HTTP/1.1 wire; HTTP/2 names are lowercase by rule')
def header_names_canonical_case(ctx):
    r = fetch(ctx, PAGE_PATH)
    if not r.head.startswith(b"HTTP/1.1 200 "):
        status_line = r.head.split(b"\r\n")[0]
        fail(f"status line {short(status_line)}")
    for name in (b"Content-Length", b"Content-Type", b"Last-Modified", b"Date", b"Server",
                 b"Connection"):
        if b"\r\n" + name + b": " not in r.head:
            fail(f"no '{name.decode()}: ' in the raw 200 head: {short(r.head, 300)}")
    r = fetch(ctx, PAGE_PATH, "POST")
    if b"\r\nAllow: " not in r.head:
        fail(f"no 'Allow: ' in the raw 405 head: {short(r.head, 300)}")


@check
def last_modified_is_mtime(ctx):
    for path in (PAGE_PATH, "/sample.png"):
        r = fetch(ctx, path)
        eq(r.status, 200, f"{path} status")
        lm = email.utils.parsedate_to_datetime(r.h("Last-Modified")).timestamp()
        eq(int(lm), int(os.stat(ctx.www / path.lstrip("/")).st_mtime),
           f"{path} Last-Modified as a Unix time")


@check
@http1_only("reads until the server closes after Connection: close; over HTTP/2 every response's DATA is asserted to add up to Content-Length")
def error_body_matches_content_length(ctx):
    """Read errors until the server closes: nothing may follow the declared body."""
    for raw, status in ((req("GET", "/no-such.txt", "Connection: close"), 404),
                        (req("POST", PAGE_PATH, "Content-Length: 0", "Connection: close"), 405),
                        (req("BREW", PAGE_PATH, "Connection: close"), 405),
                        (req("GET", "/%ZZ", "Connection: close"), 400),
                        (b"garbage\r\n\r\n", 400)):
        with RawConn(ctx.port()) as c:
            c.send(raw)
            data = c.read_until_close()
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            fail(f"{short(raw, 30)}: no complete response: {short(data)}")
        r = parse_head(head + sep)
        what = f"{short(raw.split(b' HTTP/')[0], 30)}"
        eq(r.status, status, f"{what} status")
        eq(media_type(r.h("Content-Type")), "text/html", f"{what} Content-Type")
        if not body:
            fail(f"{what}: empty body")
        eq(str(len(body)), r.h("Content-Length"), f"{what} bytes sent vs Content-Length")


# ---- persistence -----------------------------------------------------------

@check
def connection_reused_http_client(ctx):
    """Two requests one after the other on one http.client connection (one
    HTTP/2 connection, two streams, under --http2)."""
    conn = http_client(ctx.port())
    try:
        conn.request("GET", PAGE_PATH)
        r = conn.getresponse()
        eq((r.status, r.read()), (200, PAGE), "first response")
        sock = conn.sock
        if sock is None:
            fail("http.client dropped the connection after the first response")
        conn.request("GET", DEEP_PATH)
        r = conn.getresponse()
        eq((r.status, r.read()), (200, DEEP), "second response")
        if conn.sock is not sock:
            fail("second request went over a new connection")
    finally:
        conn.close()


@check
@http1_only("HTTP/1.1 keep-alive and its Connection field on a raw socket")
def keepalive_http11(ctx):
    with RawConn(ctx.port()) as c:
        for path, body in ((PAGE_PATH, PAGE), ("/dir2/", INDEX2), (DEEP_PATH, DEEP)):
            c.send(req("GET", path))
            r = c.read_response()
            eq((r.status, r.body), (200, body), f"raw {path} on a reused socket")
            if (r.h("Connection") or "").lower() == "close":
                fail(f"{path}: response says Connection: close to an HTTP/1.1 client")


def expect_page_then_close(ctx, request, what):
    """Sends request; the page must come back saying Connection: close,
    and the server must then close."""
    with RawConn(ctx.port()) as c:
        c.send(request)
        r = c.read_response()
        expect_file(r, PAGE, what)
        eq((r.h("Connection") or "").lower(), "close", "Connection")
        c.expect_closed()


@check
@http1_only('Connection: close')
def connection_close_http11(ctx):
    expect_page_then_close(ctx, req("GET", PAGE_PATH, "Connection: close"),
                           "GET with Connection: close")


@check
@http1_only('HTTP/1.0')
def http10_closes_by_default(ctx):
    expect_page_then_close(ctx, req("GET", PAGE_PATH, version="HTTP/1.0", host=False),
                           "HTTP/1.0 GET")


@check
@http1_only('HTTP/1.0 keep-alive')
def http10_keepalive(ctx):
    with RawConn(ctx.port()) as c:
        for path, body in ((PAGE_PATH, PAGE), (DEEP_PATH, DEEP)):
            c.send(req("GET", path, "Connection: keep-alive", version="HTTP/1.0"))
            r = c.read_response()
            expect_file(r, body, f"HTTP/1.0 keep-alive {path}")
            eq((r.h("Connection") or "").lower(), "keep-alive", f"{path} Connection")


@check
@http1_only('pipelining')
def pipelined_two(ctx):
    with RawConn(ctx.port()) as c:
        c.send(req("GET", PAGE_PATH) + req("GET", DEEP_PATH))
        for body in (PAGE, DEEP):
            r = c.read_response()
            eq((r.status, r.body), (200, body), "pipelined response")


@check
@http1_only('pipelining')
def pipelined_three_with_head(ctx):
    with RawConn(ctx.port()) as c:
        c.send(req("GET", DEEP_PATH) + req("HEAD", PAGE_PATH) + req("GET", "/dir2/"))
        r = c.read_response()
        eq((r.status, r.body), (200, DEEP), "1st pipelined response")
        r = c.read_response(head=True)
        eq((r.status, r.h("Content-Length")), (200, "38"), "2nd (HEAD) pipelined response")
        r = c.read_response()
        eq((r.status, r.body), (200, INDEX2), "3rd pipelined response")


@check
@http1_only('pipelining')
def pipelined_fifty(ctx):
    with RawConn(ctx.port()) as c:
        c.send(b"".join(req("GET", PAGE_PATH if i % 2 else DEEP_PATH) for i in range(50)))
        for i in range(50):
            r = c.read_response()
            eq((r.status, r.body), (200, PAGE if i % 2 else DEEP), f"pipelined response {i + 1}")


@check
@http1_only('a TCP half-close after an HTTP/1.x request')
def half_closed_client_answered(ctx):
    """A client that shuts down its sending side still gets its response."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        with RawConn(ctx.port()) as c:
            c.send(req("GET", PAGE_PATH, version=version))
            c.shutdown_write()
            r = c.read_response()
            eq((r.status, r.body), (200, PAGE), f"{version} GET then half-close")


@check
@http1_only('an HTTP/1.1 head written in pieces')
def request_in_pieces(ctx):
    with RawConn(ctx.port()) as c:
        raw = req("GET", PAGE_PATH)
        for piece in (raw[:5], raw[5:12], raw[12:30], raw[30:-1], raw[-1:]):
            c.send(piece)
            time.sleep(0.05)
        r = c.read_response()
        eq((r.status, r.body), (200, PAGE), "request sent in pieces")


def undisturbed_by(ctx, junk):
    port = ctx.port()
    with RawConn(port) as a:
        a.send(req("GET", PAGE_PATH))
        eq(a.read_response().status, 200, "first request on the bystander connection")
        with RawConn(port) as b:
            b.send(junk)
            time.sleep(0.2)
        time.sleep(0.2)
        a.send(req("GET", DEEP_PATH))
        r = a.read_response()
        eq((r.status, r.body), (200, DEEP), "bystander connection after the bad client")
    eq(request(port, req("GET", PAGE_PATH)).status, 200, "a new connection afterwards")


@check
@http1_only('HTTP/1.1 junk beside a keep-alive connection')
def bare_newline_client_isolated(ctx):
    undisturbed_by(ctx, b"\n")


@check
@http1_only('HTTP/1.1 junk beside a keep-alive connection')
def garbage_client_isolated(ctx):
    undisturbed_by(ctx, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")


@check
@http1_only('a truncated HTTP/1.1 request line')
def truncated_request_client_isolated(ctx):
    undisturbed_by(ctx, b"GET /dir2/pa")


# ---- request bodies --------------------------------------------------------

def body_skipped(ctx, raw, status, what):
    """`raw` carries a body, then a pipelined GET with Connection: close. The
    server either reads and drops the body (the GET is answered next) or
    answers and closes; the body is never answered as a request."""
    follow = req("GET", PAGE_PATH, "Connection: close")
    with RawConn(ctx.port()) as c:
        c.send(raw + follow)
        r = c.read_response()
        eq(r.status, status, f"{what} status")
        if (r.h("Connection") or "").lower() == "close":
            c.expect_closed()
            return
        nxt = c.read_response()
        eq((nxt.status, nxt.body), (200, PAGE), f"{what}: the request after the body")
        c.expect_closed()


@check
@http1_only('HTTP/1.1 body framing: a body then a pipelined request')
def post_body_not_parsed_as_request(ctx):
    body_skipped(ctx, req("POST", PAGE_PATH, "Content-Length: 5", body=b"hello"), 405,
                 "POST with a body")


@check
@http1_only('HTTP/1.1 body framing: a body then a pipelined request')
def get_body_not_parsed_as_request(ctx):
    body_skipped(ctx, req("GET", PAGE_PATH, "Content-Length: 5", body=b"hello"), 200,
                 "GET with a body")
    inner = req("GET", DEEP_PATH)
    body_skipped(ctx, req("GET", PAGE_PATH, f"Content-Length: {len(inner)}", body=inner), 200,
                 "GET whose body is a request")


@check
@http1_only('chunked and conflicting Content-Length framing')
def chunked_or_conflicting_body_not_parsed(ctx):
    """Bodies framed by chunked coding or by two different Content-Lengths: one
    response at most, then the connection closes (any status is fine)."""
    follow = req("GET", DEEP_PATH)
    for raw in (req("GET", PAGE_PATH, "Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n")
                + follow,
                req("GET", PAGE_PATH, "Content-Length: 5", "Content-Length: 6", body=b"hello")
                + follow):
        with RawConn(ctx.port()) as c:
            c.send(raw)
            r = c.read_response()
            if r.body == DEEP:
                fail("the pipelined request after the body was answered first")
            c.expect_closed()


# ---- large files -----------------------------------------------------------

@check
def large_file_download(ctx):
    tmp = ctx.tmp()
    r = fetch(ctx, "/big.html", key="tmp")
    eq(r.status, 200, "status")
    eq(r.h("Content-Length"), str(BIG_SIZE), "Content-Length")
    eq(r.h("Content-Type"), "text/html", "Content-Type")
    eq(len(r.body), BIG_SIZE, "bytes received")
    if BIG_MARKER not in r.body[-200:]:
        fail("end marker missing from the last 200 bytes")
    eq(hashlib.sha256(r.body).hexdigest(), tmp.big_sha, "sha256 of the body")


@check
def sparse_3gib_head(ctx):
    r = fetch(ctx, "/sparse.bin", "HEAD", key="tmp")
    eq(r.status, 200, "status")
    eq(r.h("Content-Length"), str(SPARSE_SIZE), "Content-Length")
    assert_common(r, "HEAD /sparse.bin")


@check
def download_abandoned_midway(ctx):
    """A client that drops a 3 GiB download leaves the server serving others."""
    port = ctx.port("tmp")
    conn = http_client(port)
    try:
        conn.request("GET", "/sparse.bin")
        r = conn.getresponse()
        eq((r.status, r.getheader("Content-Length")), (200, str(SPARSE_SIZE)),
           "GET /sparse.bin")
        part = r.read(256 * 1024)
        eq(len(part), 256 * 1024, "body bytes read before hanging up")
        if part.strip(b"\0"):
            fail("sparse file body is not all zero bytes")
    finally:
        conn.close()
    time.sleep(0.2)
    r = request(port, req("GET", "/real.txt"))
    eq((r.status, r.body), (200, REAL), "GET /real.txt afterwards")


@check
def parallel_large_downloads(ctx):
    tmp = ctx.tmp()
    port = ctx.port("tmp")
    results = [None] * 6

    def one(i):
        try:
            r = request(port, req("GET", "/big.html"))
            results[i] = (r.status, hashlib.sha256(r.body).hexdigest())
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, res in enumerate(results):
        if isinstance(res, Exception) or res is None:
            fail(f"download {i + 1} of 6: {res}")
        eq(res, (200, tmp.big_sha), f"download {i + 1} of 6 (status, sha256)")


@check
def fifo_does_not_hang(ctx):
    tmp = ctx.tmp()
    fifo = tmp.root / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    start = time.monotonic()
    r = fetch(ctx, "/fifo", key="tmp")
    if r.status not in (403, 404):
        fail(f"GET /fifo: status {r.status}, want 403 or 404")
    if time.monotonic() - start > 2:
        fail("GET /fifo took more than 2 s")
    eq(fetch(ctx, "/real.txt", key="tmp").status, 200, "GET /real.txt afterwards")


# ---- limits ----------------------------------------------------------------

@check
def request_line_too_long_414(ctx):
    expect_error(fetch(ctx, "/" + "a" * 9000), 414, "9 KB request line")


@check
def long_target_under_limit_404(ctx):
    for t in ("/" + "b" * 4000, "/x" * 2000):
        eq(fetch(ctx, t).status, 404, f"{len(t)}-byte target")


@check
def header_section_too_large_431(ctx):
    pad = [f"X-Pad-{i}: " + "p" * 490 for i in range(40)]
    expect_error(fetch(ctx, PAGE_PATH, headers=pad), 431, "20 KB of headers")


@check
def too_many_header_fields_431(ctx):
    many = [f"X-H{i}: v" for i in range(101)]
    expect_error(fetch(ctx, PAGE_PATH, headers=many), 431, "102 header fields")


@check
def hundred_header_fields_ok(ctx):
    fields = [f"X-H{i}: v" for i in range(99)]  # plus Host: 100 in all
    expect_file(fetch(ctx, PAGE_PATH, headers=fields), PAGE, "100 header fields")


# ---- last ------------------------------------------------------------------

@check
def servers_survived(ctx):
    """Every server started above still runs, answers, and never panicked."""
    for key, s in ctx.servers.items():
        if not hasattr(s, "proc"):
            fail(f"server '{key}' never started: {s}")
        if not s.alive():
            fail(f"server '{key}' exited with status {s.proc.returncode}")
        if key in ("off", "forbid", "on", "w1", "w3"):
            eq(request(s.port, req("GET", PAGE_PATH)).status, 200, f"server '{key}' GET")
        text = s.stderr_text()
        if "panicked" in text:
            line = next(ln for ln in s.stderr_lines if "panicked" in ln)
            fail(f"server '{key}' logged a panic: {line[:200]}")
    if not ctx.servers:
        fail("no server was started")
