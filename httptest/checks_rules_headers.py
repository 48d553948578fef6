"""Site rules that add header fields: --path-header, --security-headers and
--cors-origin, end to end (plain and --tls alike)."""

from harness import Server, check, eq, fail, http_client, req, request

IMMUTABLE = "public, max-age=31536000, immutable"
ORIGIN = "https://app.example"


def rules_server(ctx, *rules):
    """A server over the www fixture with `rules` added to its command line."""
    return Server(ctx.bin, ["--root", ctx.www, "--bind", "127.0.0.1", "--port", "0",
                            "--cache-control", "max-age=60"] + list(rules))


def values(resp, name):
    """The values of every `name` field, from a harness.Response or (its
    getheaders()) an http.client one."""
    fields = resp.fields if hasattr(resp, "fields") else resp.getheaders()
    return [v for n, v in fields if n.lower() == name.lower()]


@check
def rules_path_headers_replace_cache_control(ctx):
    srv = rules_server(ctx, "--path-header", f"*.css Cache-Control: {IMMUTABLE}",
                       "--path-header", "*.html Cache-Control: no-cache",
                       "--path-header", "/dir2/** X-Section: two")
    try:
        for _ in range(2):  # the second answer comes from the file cache
            css = request(srv.port, req("GET", "/sample.css"))
            eq(values(css, "Cache-Control"), [IMMUTABLE], "/sample.css Cache-Control")
        page = request(srv.port, req("GET", "/dir2/page.html"))
        eq(values(page, "Cache-Control"), ["no-cache"], "/dir2/page.html Cache-Control")
        eq(values(page, "X-Section"), ["two"], "/dir2/page.html X-Section")
        dodge = request(srv.port, req("GET", "/dir1/%2e%2e/dir2/page.html"))
        eq(values(dodge, "X-Section"), ["two"], "a dot segment does not dodge the rule")
        txt = request(srv.port, req("GET", "/sample.txt"))
        eq(values(txt, "Cache-Control"), ["max-age=60"], "no rule: --cache-control")
        missing = request(srv.port, req("GET", "/missing.html"))
        eq((missing.status, values(missing, "Cache-Control")), (404, []),
           "a 404 gets no rule's field")
    finally:
        srv.stop()


@check
def rules_security_headers(ctx):
    srv = rules_server(ctx, "--security-headers",
                       "--path-header", "/dir2/** X-Frame-Options: DENY")
    try:
        for target, status, frame in [("/sample.txt", 200, "SAMEORIGIN"),
                                      ("/missing", 404, "SAMEORIGIN"),
                                      ("/dir2/page.html", 200, "DENY")]:
            r = request(srv.port, req("GET", target))
            eq(r.status, status, f"GET {target}")
            eq(values(r, "X-Content-Type-Options"), ["nosniff"], f"{target} nosniff")
            eq(values(r, "Referrer-Policy"), ["strict-origin-when-cross-origin"],
               f"{target} Referrer-Policy")
            eq(values(r, "X-Frame-Options"), [frame], f"{target} X-Frame-Options")
    finally:
        srv.stop()


@check
def rules_cors_simple_and_preflight(ctx):
    srv = rules_server(ctx, "--cors-origin", ORIGIN)
    try:
        r = request(srv.port, req("GET", "/sample.txt", f"Origin: {ORIGIN}"))
        eq(values(r, "Access-Control-Allow-Origin"), [ORIGIN], "allowed origin")
        eq(values(r, "Vary"), ["Origin"], "Vary")
        other = request(srv.port, req("GET", "/sample.txt", "Origin: https://evil.example"))
        eq(values(other, "Access-Control-Allow-Origin"), [], "other origin")
        c = http_client(srv.port)
        try:
            c.request("OPTIONS", "/sample.txt", headers={
                "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "range, x-other"})
            pre = c.getresponse()
            eq((pre.status, pre.read()), (204, b""), "preflight status and body")
            eq(values(pre, "Access-Control-Allow-Methods"), ["GET, HEAD"], "methods")
            eq(values(pre, "Access-Control-Allow-Headers"), ["Range"], "allowed headers")
            if pre.getheader("Content-Length") is not None:
                fail("a 204 carries Content-Length")
            # the connection goes on after a 204
            sock = c.sock
            c.request("GET", "/sample.txt")
            r = c.getresponse()
            eq((r.status, len(r.read()) > 0), (200, True), "GET after the preflight")
            if c.sock is not sock:
                fail("the GET after the preflight went over a new connection")
        finally:
            c.close()
        put = request(srv.port, req("OPTIONS", "/sample.txt", f"Origin: {ORIGIN}",
                                    "Access-Control-Request-Method: PUT"))
        eq((put.status, put.h("Allow")), (405, "GET, HEAD"), "preflight for PUT")
    finally:
        srv.stop()


@check
def rules_bad_path_header_refused(ctx):
    from checks_cli import expect_startup_error
    expect_startup_error(ctx, ["--path-header", "/a/** Content-Length: 1",
                               "--bind", "127.0.0.1", "--port", "0"])
    expect_startup_error(ctx, ["--cors-origin", "example.com",
                               "--bind", "127.0.0.1", "--port", "0"])
