"""Command line, environment, startup errors and worker counts."""

import socket

from fixture import DEEP, DEEP_PATH, PAGE, PAGE_PATH
from harness import (RawConn, Server, ServerError, check, eq, fail, http1_only, http_client,
                     req, request, run_cli, tcp_connect)


def expect_startup_error(ctx, args, env=None):
    """staticd must refuse to start: non-zero exit, an error on stderr, no panic."""
    shown = " ".join(map(str, args)) or "(no arguments)"
    rc, out, err = run_cli(ctx.bin, args, env=env)
    if rc == 0:
        fail(f"{shown}: exit status 0 (stderr: {err.strip()[:200]!r})")
    if "error" not in err:
        fail(f"{shown}: stderr does not mention 'error': {err.strip()[:200]!r}")
    for bad in ("panicked", "RUST_BACKTRACE"):
        if bad in err:
            fail(f"{shown}: stderr shows a panic: {err.strip()[:200]!r}")


def serve_ok(port, n=1):
    for _ in range(n):
        r = request(port, req("GET", PAGE_PATH))
        eq(r.status, 200, f"GET {PAGE_PATH}")
        eq(r.body, PAGE, f"GET {PAGE_PATH} body")


@check
def cli_version(ctx):
    for flag in ("-V", "--version"):
        rc, out, err = run_cli(ctx.bin, [flag])
        eq(rc, 0, f"{flag} exit status")
        if "staticd" not in out + err:
            fail(f"{flag} printed no 'staticd': {(out + err).strip()[:120]!r}")


@check
def cli_help(ctx):
    for flag in ("-h", "--help"):
        rc, out, err = run_cli(ctx.bin, [flag])
        eq(rc, 0, f"{flag} exit status")
        for opt in ("--root", "--bind", "--port", "--workers", "--autoindex"):
            if opt not in out + err:
                fail(f"{flag} output does not mention {opt}")


@check
def cli_root_missing(ctx):
    missing = ctx.tmp().base / "no-such-dir"
    expect_startup_error(ctx, ["--root", missing, "--bind", "127.0.0.1", "--port", "0"])


@check
def cli_root_is_a_file(ctx):
    expect_startup_error(ctx, ["--root", ctx.www / "sample.txt", "--bind", "127.0.0.1",
                               "--port", "0"])


@check
def cli_unparsable_options(ctx):
    base = ["--root", ctx.www, "--bind", "127.0.0.1"]
    for extra in (["--port", "notaport"], ["--port", "70000"], ["--port", "0", "--workers", "many"],
                  ["--port", "0", "--autoindex", "sometimes"], ["--port", "0", "--no-such-flag"],
                  ["--port", "0", "--bind", "not-an-address"]):
        expect_startup_error(ctx, base + extra)


@check
def cli_port_in_use(ctx):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        expect_startup_error(ctx, ["--root", ctx.www, "--bind", "127.0.0.1", "--port", port])
    finally:
        holder.close()


@check
def cli_env_vars(ctx):
    env = {"STATICD_ROOT": str(ctx.www), "STATICD_BIND": "127.0.0.1", "STATICD_PORT": "0",
           "STATICD_AUTOINDEX": "forbid", "STATICD_WORKERS": "2"}
    try:
        srv = Server(ctx.bin, [], env=env)
    except ServerError as e:
        fail(f"no-argument start with STATICD_* set: {e}")
    try:
        eq(srv.host, "127.0.0.1", "listening host from STATICD_BIND")
        serve_ok(srv.port)
        eq(request(srv.port, req("GET", "/dir1/")).status, 403,
           "GET /dir1/ with STATICD_AUTOINDEX=forbid")
    finally:
        srv.stop()


@check
def cli_env_bad_root(ctx):
    env = {"STATICD_ROOT": str(ctx.tmp().base / "no-such-dir"), "STATICD_BIND": "127.0.0.1",
           "STATICD_PORT": "0"}
    expect_startup_error(ctx, [], env=env)


def concurrent_clients(port):
    """Three connections, each request sent before any answer is read."""
    conns = [http_client(port) for _ in range(3)]
    try:
        for c in conns:
            c.request("GET", DEEP_PATH)
        for c in conns:
            r = c.getresponse()
            eq((r.status, r.read()), (200, DEEP), f"GET {DEEP_PATH} on one of 3 connections")
    finally:
        for c in conns:
            c.close()


@check
def workers_1(ctx):
    port = ctx.port("w1")
    serve_ok(port, 2)
    concurrent_clients(port)


@check
def workers_3(ctx):
    port = ctx.port("w3")
    serve_ok(port, 2)
    concurrent_clients(port)


@check
def autoindex_default_is_off(ctx):
    eq(request(ctx.port("w1"), req("GET", "/dir1/")).status, 404,
       "GET /dir1/ with no --autoindex")


@check
@http1_only('a half-sent HTTP/1.1 request line beside silent connections')
def idle_clients_do_not_block(ctx):
    """With one worker, a silent connection, one that has sent no byte at all
    and a half-sent request must not stop other clients from being served."""
    port = ctx.port("w1")
    idle = RawConn(port)
    mute = tcp_connect(port)
    partial = RawConn(port)
    try:
        partial.send(b"GET /dir2/pa")
        serve_ok(port, 3)
    finally:
        idle.close()
        mute.close()
        partial.close()
