#!/usr/bin/env python3
"""Functional checks for the staticd binary, run from outside as a user would.

    python3 httptest/run.py [--bin PATH] [--www PATH] [--tls] [--http2]

Starts staticd processes on 127.0.0.1 with --port 0, talks to them with
http.client and raw sockets, prints 'PASS name' or 'FAIL name: reason' per
check and a closing 'N passed, N failed' line. Exit status 0 only when no
check failed. Python 3 standard library only.

With --tls every check runs over HTTPS: a self-signed ECDSA P-256
certificate for localhost and 127.0.0.1 is made in the suite's temp dir
with the openssl command line tool, every server gets --tls-cert/--tls-key,
and every client connection verifies the server against that certificate
alone (see harness.use_tls).

With --http2 the checks run over HTTP/2: h2c by prior knowledge on plain
ports, or, with --tls too, h2 chosen by ALPN (the client offers h2 alone,
so a server that picks http/1.1 fails every check). The client is the
pinned pip package h2 (hyper-h2, httptest/h2-requirements.txt):
harness.http_client() hands checks an object with http.client's interface
speaking HTTP/2, and the raw requests of harness.request() go as HTTP/2
requests, translated as a gateway would (see h2client.py). Each response is
asserted to carry no connection-specific field, a HEAD no DATA, and DATA
adding up to Content-Length. Checks about the HTTP/1.1 wire itself
(@http1_only: raw framing, keep-alive and Connection, HTTP/1.0,
pipelining, chunked bodies, malformed request lines) print 'SKIP name:
why' and are counted in the closing 'N passed, N failed, N skipped' line.
Without the h2 package --http2 prints a SKIP line and exits 0, unless
STATICD_REQUIRE_LINT=1 is set, when it is an error (exit 1), as for the
lint tools.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import CheckFailed, Server, ServerError, fail  # noqa: E402
from fixture import build_tmp_root  # noqa: E402
import checks_cli  # noqa: E402,F401  (registers checks, in this order)
import checks_paths  # noqa: E402,F401
import checks_wire  # noqa: E402,F401
import checks_rules_headers  # noqa: E402,F401
import checks_rules_pages  # noqa: E402,F401
import checks_rules_auth  # noqa: E402,F401
import checks_generated  # noqa: E402,F401
import checks_first_hour  # noqa: E402,F401


class Ctx:
    """Shared state for checks: lazily started servers and the temp root."""

    def __init__(self, binary, www):
        self.bin = binary
        self.www = www
        self.servers = {}
        self._tmpdir = None
        self._tmp = None

    def base(self):
        """The suite's temp dir (made on first use, removed by close)."""
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="staticd-httptest-")
        return Path(self._tmpdir.name)

    def tmp(self):
        if self._tmp is None:
            self._tmp = build_tmp_root(self.base())
        return self._tmp

    def _args(self, key):
        common = ["--bind", "127.0.0.1", "--port", "0"]
        if key in ("off", "forbid", "on"):
            return ["--root", self.www] + common + ["--autoindex", key]
        if key == "tmp":
            return ["--root", self.tmp().root] + common + ["--autoindex", "on"]
        if key in ("w1", "w3"):  # short options, autoindex left at its default
            return ["-r", self.www, "-b", "127.0.0.1", "-p", "0", "-w", key[1:]]
        raise KeyError(key)

    def server(self, key="off"):
        if key not in self.servers:
            try:
                self.servers[key] = Server(self.bin, self._args(key))
            except ServerError as e:
                self.servers[key] = e
        s = self.servers[key]
        if isinstance(s, ServerError):
            fail(f"server '{key}' did not start: {s}")
        if not s.alive():
            tail = " | ".join(s.stderr_lines[-3:])
            fail(f"server '{key}' is no longer running (status {s.proc.returncode}); "
                 f"stderr: {tail}")
        return s

    def port(self, key="off"):
        return self.server(key).port

    def close(self):
        for s in self.servers.values():
            if isinstance(s, Server):
                s.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()


OPENSSL_REQ = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-days", "2", "-subj", "/CN=localhost",
               "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]


def make_certificate(directory):
    """A fresh self-signed certificate and key in directory: (cert, key).
    Raises RuntimeError with the reason when openssl is missing or fails."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("--tls needs the 'openssl' command line tool to make the test "
                           "certificate, and there is none on PATH")
    directory = Path(directory)
    directory.mkdir(exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        p = subprocess.run([openssl] + OPENSSL_REQ + ["-keyout", str(key), "-out", str(cert)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"cannot run openssl: {e}") from None
    if p.returncode != 0 or not cert.is_file() or not key.is_file():
        err = p.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"openssl req failed (status {p.returncode}): {one_line(err)}")
    return cert, key


def one_line(text):
    return " ".join(str(text).split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--bin", default=str(HERE.parent / "target" / "release" / "staticd"),
                    help="staticd binary (default: target/release/staticd in the repo)")
    ap.add_argument("--www", default=str(HERE / "www"),
                    help="document root fixture (default: www/ beside this script)")
    ap.add_argument("-k", dest="only", action="append", default=[],
                    help="run only checks whose name contains this (repeatable)")
    ap.add_argument("--tls", action="store_true",
                    help="run every check over HTTPS with a certificate made at run time "
                         "(needs the openssl command line tool)")
    ap.add_argument("--http2", action="store_true",
                    help="run every check that is not about HTTP/1.1 itself over HTTP/2 "
                         "(h2c by prior knowledge; h2 by ALPN with --tls); needs the pip "
                         "package h2 (httptest/h2-requirements.txt)")
    args = ap.parse_args()

    if args.http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            msg = "h2 not installed (pip install -r httptest/h2-requirements.txt)"
            if os.environ.get("STATICD_REQUIRE_LINT") == "1":
                print(f"ERROR: --http2: {msg}", flush=True)
                return 1
            print(f"SKIP: --http2: {msg}", flush=True)
            return 0

    binary = Path(args.bin).resolve()
    www = Path(args.www).resolve()
    if not www.is_dir():
        print(f"error: document root fixture {www} is not a directory", file=sys.stderr)
        return 2

    # make SIGTERM unwind through the finally below so servers get killed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ctx = Ctx(binary, www)
    passed = failed = skipped = 0
    try:
        if args.tls:
            try:
                cert, key = make_certificate(ctx.base() / "tls")
            except RuntimeError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            harness.use_tls(cert, key)
            print("over TLS: every server gets --tls-cert/--tls-key, every client "
                  "connection is HTTPS", flush=True)
        if args.http2:
            harness.use_http2()
            import h2
            how = "h2 by ALPN" if args.tls else "h2c by prior knowledge"
            print(f"over HTTP/2 ({how}, hyper-h2 {h2.__version__}): checks about HTTP/1.1 "
                  f"itself are skipped", flush=True)
        for fn in harness.CHECKS:
            name = fn.__name__
            if args.only and not any(k in name for k in args.only):
                continue
            why = getattr(fn, "http1_only", None)
            if args.http2 and why:
                skipped += 1
                print(f"SKIP {name}: HTTP/1.1 only: {why}", flush=True)
                continue
            try:
                fn(ctx)
            except CheckFailed as e:
                failed += 1
                print(f"FAIL {name}: {one_line(e)}", flush=True)
            except Exception as e:  # a crash in a check is a failed check
                failed += 1
                where = traceback.extract_tb(e.__traceback__)[-1]
                print(f"FAIL {name}: {type(e).__name__}: {one_line(e)} "
                      f"(at {Path(where.filename).name}:{where.lineno})", flush=True)
            else:
                passed += 1
                print(f"PASS {name}", flush=True)
    finally:
        ctx.close()
    summary = f"{passed} passed, {failed} failed"
    print(summary + (f", {skipped} skipped" if args.http2 else ""), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
