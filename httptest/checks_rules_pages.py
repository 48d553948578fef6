"""Site rules that decide the response: --redirect, --fallback, --error-page."""

from harness import check, eq, fail, req, request, started_once

APP = b"<html>app shell</html>\n"
NOT_FOUND = b"<p>not here</p>\n"


def rules_server(ctx):
    """A server over its own small root with one rule of each kind (started once)."""
    def make_args():
        root = ctx.base() / "rules-pages"
        (root / "errors").mkdir(parents=True, exist_ok=True)
        (root / "old").mkdir(exist_ok=True)
        (root / "app.html").write_bytes(APP)
        (root / "errors" / "404.txt").write_bytes(NOT_FOUND)
        (root / "old" / "page.html").write_bytes(b"shadowed\n")
        return ["--root", root, "--bind", "127.0.0.1", "--port", "0",
                "--redirect", "/old/* /new/* 308",
                "--redirect", "/go https://example.com/x 302",
                "--fallback", "/app.html",
                "--error-page", "404=/errors/404.txt"]
    return started_once(ctx, "rules-pages", make_args, "rules server")


@check
def rules_redirect_prefix_carries_path_and_query(ctx):
    port = rules_server(ctx)
    for target in ("/old/page.html?a=1", "/x/%2e%2e/old/page.html?a=1"):
        r = request(port, req("GET", target))
        eq(r.status, 308, f"GET {target}")
        eq(r.h("location"), "/new/page.html?a=1", f"Location for {target}")
    r = request(port, req("GET", "/go?q"))
    eq(r.status, 302, "GET /go")
    eq(r.h("location"), "https://example.com/x?q", "Location for /go")


@check
def rules_fallback_for_app_routes(ctx):
    port = rules_server(ctx)
    r = request(port, req("GET", "/app/settings/42"))
    eq(r.status, 200, "GET /app/settings/42")
    eq(r.body, APP, "fallback body")
    eq(r.h("cache-control"), "no-cache", "fallback Cache-Control")
    etag = r.h("etag")
    if not etag:
        fail("fallback response has no ETag")
    r = request(port, req("GET", "/other/route", f"If-None-Match: {etag}"))
    eq(r.status, 304, "conditional GET of a fallback route")


@check
def rules_error_page_without_validators(ctx):
    port = rules_server(ctx)
    for method in ("GET", "HEAD"):
        r = request(port, req(method, "/missing.js"), head=method == "HEAD")
        eq(r.status, 404, f"{method} /missing.js")
        eq(r.h("content-type"), "text/plain", f"{method} error page Content-Type")
        eq(r.h("content-length"), str(len(NOT_FOUND)), f"{method} error page Content-Length")
        for field in ("etag", "last-modified", "accept-ranges"):
            if r.h(field) is not None:
                fail(f"{method} error page has {field}: {r.h(field)!r}")
        if method == "GET":
            eq(r.body, NOT_FOUND, "error page body")
