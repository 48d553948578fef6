#!/usr/bin/env python3
"""Benchmark staticd against nginx, or against another staticd binary: the
same corpus, the same settings (one worker, sendfile, no access log, both
pinned to the same core), the same load generators (wrk keep-alive, ab one
connection per request, curl for one big file, a Python client for idle
connections), one table at the end.

  python3 wrk/bench.py                      # staticd and nginx, 5 s per wrk workload
  python3 wrk/bench.py --runs 3             # three rounds, median ratio per workload
  BENCH_DURATION=2 python3 wrk/bench.py --skip-idle --skip-1g   # quick run
  python3 wrk/bench.py --skip-nginx         # staticd alone
  python3 wrk/bench.py --workers 2          # worker count for both servers (default 1)
  python3 wrk/bench.py --logging            # what the access log costs (off vs combined)
  python3 wrk/bench.py --against /tmp/old/staticd   # this tree against an older build
  python3 wrk/bench.py --tls                # HTTPS: staticd, staticd with its access log, nginx
  python3 wrk/bench.py --rules              # what site rules and Basic auth cost (staticd only)
  python3 wrk/bench.py --compress           # compression on the fly against nginx's gzip
  python3 wrk/bench.py --metrics            # what --metrics-listen costs, scraped every second
  python3 wrk/bench.py --http2              # HTTP/2 (h2 over TLS 1.3, h2c) against nginx, h2load
  python3 wrk/bench.py --http2 --log-both   # the same, both servers logging to a file

Environment:
  BENCH_DURATION          seconds per wrk (or h2load -D) workload (default 5)
  BENCH_AB_REQUESTS       requests for the ab workload (default 20000)
  BENCH_TLS_HANDSHAKES    --tls: full handshakes for the ab workload (default 10000)
  BENCH_IDLE_CONNECTIONS  idle keep-alive connections to hold (default 10000)
  BENCH_SERVER_CPUS       CPU list the servers are pinned to (default 0)
  BENCH_CLIENT_CPUS       CPU list the load generators are pinned to (default 1)
  BENCH_RUST_LOG          staticd's RUST_LOG (default warn: no access log)
  BENCH_NGINX             the nginx executable (default: nginx from PATH)

This is a benchmark, not a test: CI does not run it. All traffic goes to
127.0.0.1, and every load stops by itself (fixed duration or count).
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile

sys.dont_write_bytecode = True  # run from a source tree: leave no __pycache__ in it
from benchlib.common import (AB_CONCURRENCY, MAX_CONNECTIONS, Bench, Config, Contender, Results,
                             die, log)
from benchlib.prepare import (build_staticd, install_tools, make_certificate, make_corpus,
                              raise_nofile)
from benchlib.report import (print_comparison, print_logging_cost, print_scaling,
                             print_server_logs, print_table, print_tls_comparison)
from benchlib.compress import (bench_compress_server, compress_contenders,
                               print_compress_comparison)
from benchlib.http2 import bench_http2_server, http2_contenders, print_http2_comparison
from benchlib.metrics import bench_metrics_server, metrics_contenders, print_metrics_comparison
from benchlib.rules import bench_rules_server, print_rules_comparison, rules_contenders
from benchlib.servers import Servers
from benchlib.workloads import bench_tls_server, logging_cost, run_all

OPTIONS = """options:
  --runs N        repeat the whole comparison N times (default 1, 3 with --tls,
                  --rules, --metrics, --compress and --http2);
                  the comparison shows the median of each figure and of the ratios
  --workers N     workers for both servers in the pinned workloads (default 1)
  --skip-idle     leave out the idle-connections workload
  --skip-1g       leave out the 1 GiB download
  --skip-nginx    staticd alone (no nginx column)
  --logging       the access-log cost comparison instead (staticd only)
  --log-both      every server of the comparison logs each request in the
                  Combined format to a file (staticd --log-format combined
                  --access-log FILE, nginx access_log FILE combined), for
                  the same workloads with the log on (also with --http2)
  --against BIN   compare with another staticd binary BIN (the "baseline"
                  column) instead of nginx: same flags, pinning and rounds
  --binary BIN    use this staticd binary instead of building the tree
  --tls           the HTTPS comparison instead: staticd, staticd with its
                  default access log, nginx (or --against BIN), one ECDSA
                  P-256 certificate made for the run, TLS 1.3; keep-alive
                  38 B, 96 KiB and 932 KiB, full handshakes, idle TLS
                  connections (--skip-idle and --skip-nginx apply)
  --rules         the site-rules cost instead (staticd only, 3 runs by
                  default): no rules; 20 --path-header rules with
                  --security-headers and --cors-origin (requests send
                  Origin); --auth-file on every path (requests send the
                  credentials, verified once, then cached); each quiet and
                  with the access log; 38 B keep-alive
  --metrics       the metrics cost instead (staticd only, 3 runs by
                  default): metrics off; --metrics-listen on loopback with
                  /metrics fetched every second during the run; each quiet
                  and with the access log; 38 B keep-alive
  --compress      compression on the fly instead (3 runs by default):
                  staticd (--compress on, its default), the same with its
                  access log, the same without Accept-Encoding (identity),
                  and nginx with gzip on (level 6); the 96 KiB stylesheet
                  and the 932 KiB page, keep-alive c50, clients sending
                  Accept-Encoding: gzip, br
  --http2         the HTTP/2 comparison instead (3 runs by default):
                  staticd (--http2 on) and nginx (http2 on the listener),
                  each pinned with one worker, h2load -t1 -D
                  BENCH_DURATION on the client CPUs; h2 by ALPN over TLS
                  1.3 with one ECDSA P-256 certificate made for the run:
                  38 B -c50 -m10, 96 KiB -c16 -m4, 932 KiB -c8 -m1
                  (MiB/s); h2c by prior knowledge: 38 B -c50 -m10, and
                  BENCH_IDLE_CONNECTIONS idle h2c connections (RSS per
                  connection); ratios staticd/nginx beside the issue's
                  targets, server and h2load CPU per run (--log-both,
                  --skip-idle, --skip-nginx, --against and --workers apply)
"""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        die(f"{message} (try --help)")


def parse_options(argv):
    p = Parser(prog="bench.py", add_help=False, usage=argparse.SUPPRESS, allow_abbrev=False)
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("--runs", default="")
    p.add_argument("--workers", default="1")
    for flag in ("--skip-idle", "--skip-1g", "--skip-nginx", "--logging", "--tls", "--rules", "--metrics",
                 "--compress", "--log-both", "--http2"):
        p.add_argument(flag, action="store_true")
    p.add_argument("--against", default="")
    p.add_argument("--binary", default="")
    a = p.parse_args(argv)
    if a.help:
        print(__doc__.strip() + "\n\n" + OPTIONS, end="")
        raise SystemExit(0)
    cfg = make_config(a)
    check_combination(cfg, a)
    cfg.command = " ".join(["python3 wrk/bench.py", *argv])
    return cfg


def env(name, default):
    """A BENCH_* variable; set but empty counts as unset."""
    return os.environ.get(name) or default


def make_config(a):
    return Config(
        runs=positive("--runs", a.runs or ("3" if a.tls or a.rules or a.metrics or a.compress
                                           or a.http2 else "1")),
        workers=positive("--workers", a.workers),
        mode=("logging" if a.logging else "tls" if a.tls else "rules" if a.rules
              else "metrics" if a.metrics else "compress" if a.compress
              else "http2" if a.http2 else "all"),
        skip_idle=a.skip_idle,
        skip_1g=a.skip_1g,
        skip_nginx=a.skip_nginx or a.logging or a.rules or a.metrics,
        against=executable("--against", a.against),
        log_both=a.log_both,
        binary=executable("--binary", a.binary),
        duration=positive("BENCH_DURATION", env("BENCH_DURATION", "5")),
        ab_requests=positive("BENCH_AB_REQUESTS", env("BENCH_AB_REQUESTS", "20000")),
        handshakes=positive("BENCH_TLS_HANDSHAKES", env("BENCH_TLS_HANDSHAKES", "10000")),
        idle_connections=positive("BENCH_IDLE_CONNECTIONS", env("BENCH_IDLE_CONNECTIONS", "10000")),
        server_cpus=env("BENCH_SERVER_CPUS", "0"),
        client_cpus=env("BENCH_CLIENT_CPUS", "1"),
        rust_log=env("BENCH_RUST_LOG", "warn"),
        nginx_bin=env("BENCH_NGINX", ""),
    )


def positive(name, text):
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        die(f"{name} must be a positive integer, got '{text}'")
    return int(text)


def executable(name, path):
    if path and not (os.path.isfile(path) and os.access(path, os.X_OK)):
        die(f"{name}: {path} is not an executable file")
    return os.path.abspath(path) if path else ""


def check_combination(cfg, a):
    if cfg.ab_requests < AB_CONCURRENCY:
        die(f"BENCH_AB_REQUESTS must be at least the ab concurrency ({AB_CONCURRENCY})")
    if cfg.idle_connections >= MAX_CONNECTIONS:
        die("BENCH_IDLE_CONNECTIONS must stay below the servers' connection limit "
            f"({MAX_CONNECTIONS})")
    if cfg.against and a.skip_nginx:
        die("--against and --skip-nginx exclude each other (--against replaces nginx)")
    if cfg.against and a.logging:
        die("--logging measures one staticd alone; it does not take --against")
    if a.log_both and (a.logging or a.tls or a.rules or a.compress):
        die("--log-both applies to the plain and --http2 comparisons; --logging, --tls, --rules and "
            "--compress have their own access-log rows")
    if a.tls and a.logging:
        die("--tls and --logging exclude each other (--tls has its own access-log row)")
    if a.rules and (a.tls or a.logging or cfg.against):
        die("--rules compares one staticd with itself; it does not take --tls, --logging "
            "or --against")
    if a.metrics and (a.tls or a.logging or a.rules or a.compress or cfg.against):
        die("--metrics compares one staticd with itself; it does not take --tls, --logging, "
            "--rules, --compress or --against")
    if a.compress and (a.tls or a.logging or a.rules or cfg.against or a.skip_nginx):
        die("--compress compares staticd with nginx; it does not take --tls, --logging, "
            "--rules, --against or --skip-nginx")
    if a.http2 and (a.tls or a.logging or a.rules or a.metrics or a.compress):
        die("--http2 is its own comparison; it does not take --tls, --logging, --rules, "
            "--metrics or --compress")
    if a.tls and cfg.handshakes < AB_CONCURRENCY:
        die(f"BENCH_TLS_HANDSHAKES must be at least the ab concurrency ({AB_CONCURRENCY})")


def contenders(cfg):
    """The first is always this tree's staticd (or --binary); with --tls
    the second is the same with its access log on; the last, if any, is
    the rival of the comparison."""
    logged = cfg.log_both
    current = [Contender("staticd", "staticd", cfg.binary, access_log=logged)]
    if cfg.mode == "tls":
        current.append(Contender("staticd+log", "staticd", cfg.binary, access_log=True))
    if cfg.against:
        return current + [Contender("baseline", "staticd", cfg.against, access_log=logged)]
    if cfg.skip_nginx:
        return current
    return current + [Contender("nginx", "nginx", cfg.nginx_bin, access_log=logged)]


def load_average():
    """Anything else on the two cores shows up directly in the figures."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def benchmark(cfg, b):
    """The comparison (or the logging-cost mode) and its report; returns the
    contenders, whose logs are shown at the end."""
    own_modes = {
        "rules": (lambda: rules_contenders(cfg.binary, b.workdir), bench_rules_server,
                  print_rules_comparison),
        "metrics": (lambda: metrics_contenders(cfg.binary), bench_metrics_server,
                    print_metrics_comparison),
        "compress": (lambda: compress_contenders(cfg.binary, cfg.nginx_bin),
                     bench_compress_server, print_compress_comparison),
    }
    if cfg.mode in own_modes:
        make, bench_one, compare = own_modes[cfg.mode]
        everyone = make()
        b.results.loadavg = load_average()
        run_all(b, everyone, bench_one)
        print_table(cfg, b.results)
        compare(cfg, b.results, everyone, cfg.command)
        return everyone
    if cfg.mode == "logging":
        only = contenders(cfg)[:1]
        logging_cost(b, only[0])
        print_table(cfg, b.results)
        print_logging_cost(b.results)
        return only
    everyone = contenders(cfg)
    b.results.loadavg = load_average()
    log(f"load average before the first run: {b.results.loadavg}")
    if cfg.mode == "tls":
        run_all(b, everyone, bench_tls_server)
        print_table(cfg, b.results)
        print_tls_comparison(cfg, b.results, everyone)
        return everyone
    if cfg.mode == "http2":
        everyone = http2_contenders(everyone)
        run_all(b, everyone, bench_http2_server)
        print_table(cfg, b.results)
        print_http2_comparison(cfg, b.results, everyone, cfg.command)
        return everyone
    run_all(b, everyone)
    print_table(cfg, b.results)
    print_comparison(cfg, b.results)
    for c in everyone:
        if c.kind == "staticd":
            print_scaling(cfg, b.results, c.name)
    return everyone


def main(argv):
    cfg = parse_options(argv)
    install_tools(cfg)
    cfg.binary = cfg.binary or build_staticd()
    nofile = raise_nofile(cfg)
    workdir = tempfile.mkdtemp(prefix="staticd-bench.")
    servers = None
    try:
        tls = (make_certificate(os.path.join(workdir, "tls")) if cfg.mode in ("tls", "http2")
               else None)
        # --http2 starts each server with and without TLS: the certificate
        # goes with the bench, not with every start.
        servers = Servers(workdir, cfg.rust_log, nofile, tls if cfg.mode == "tls" else None)
        os.makedirs(os.path.join(workdir, "logs"))
        os.makedirs(os.path.join(workdir, "corpus"))
        make_corpus(os.path.join(workdir, "corpus"), with_big=cfg.mode == "all" and not cfg.skip_1g)
        b = Bench(cfg, servers, Results(), workdir, tls)
        shown = benchmark(cfg, b)
        print_server_logs(servers, shown)
    finally:
        if servers:
            servers.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    if b.results.errors:
        print(f"bench.py: {b.results.errors} errors during the runs; the figures above are not "
              "trustworthy", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.stdout.reconfigure(line_buffering=True)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
