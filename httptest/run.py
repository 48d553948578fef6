#!/usr/bin/env python3
"""Functional checks for the staticd binary, run from outside as a user would.

    python3 httptest/run.py [--bin PATH] [--www PATH]

Starts staticd processes on 127.0.0.1 with --port 0, talks to them with
http.client and raw sockets, prints 'PASS name' or 'FAIL name: reason' per
check and a closing 'N passed, N failed' line. Exit status 0 only when no
check failed. Python 3 standard library only.
"""

import argparse
import signal
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


class Ctx:
    """Shared state for checks: lazily started servers and the temp root."""

    def __init__(self, binary, www):
        self.bin = binary
        self.www = www
        self.servers = {}
        self._tmpdir = None
        self._tmp = None

    def tmp(self):
        if self._tmp is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="staticd-httptest-")
            self._tmp = build_tmp_root(self._tmpdir.name)
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
    args = ap.parse_args()

    binary = Path(args.bin).resolve()
    www = Path(args.www).resolve()
    if not www.is_dir():
        print(f"error: document root fixture {www} is not a directory", file=sys.stderr)
        return 2

    # make SIGTERM unwind through the finally below so servers get killed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ctx = Ctx(binary, www)
    passed = failed = 0
    try:
        for fn in harness.CHECKS:
            name = fn.__name__
            if args.only and not any(k in name for k in args.only):
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
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
