"""--rules: what the site rules cost. The same staticd without rules, with
20 path-header rules plus security headers and CORS, and with Basic
authentication on every path (a cached credential after the first
request), each quiet and with its default access log, on the 38 B
keep-alive workload, in alternating rounds."""

import os
import shutil
import subprocess

from .common import TINY_SIZE, Contender, die
from .report import fmt, median, print_rows, ratio, ratio_range
from .servers import check_file
from .tools import ServerCpu, run_wrk

ORIGIN = "https://app.example"
# Several of these match /tiny.html (the *.html ones, /*.html, /** and the
# exact path); the others are there to be tried and rejected, as on a site.
PATH_HEADERS = (
    "/assets/** Cache-Control: public, max-age=31536000, immutable",
    "*.html Cache-Control: no-cache",
    "*.css Cache-Control: max-age=3600",
    "*.js Cache-Control: max-age=3600",
    "/*.html X-Page: top",
    "/docs/** X-Section: docs",
    "/blog/** X-Section: blog",
    "{*.png,*.jpg,*.gif} Cache-Control: max-age=86400",
    "*.woff2 Cache-Control: max-age=31536000, immutable",
    "/api/** X-Robots-Tag: noindex",
    "/** X-Served-By: staticd",
    "/tiny.html X-Exact: yes",
    "*.pdf Content-Disposition: attachment",
    "/private/** X-Robots-Tag: noindex",
    "/*.txt Cache-Control: no-store",
    "*.svg Cache-Control: max-age=86400",
    "/downloads/** Content-Disposition: attachment",
    "*.html Permissions-Policy: interest-cohort=()",
    "/*.html Content-Security-Policy: default-src 'self'",
    "*.map X-Robots-Tag: noindex",
)
USER, PASSWORD = "bench", "secret"
# base64("bench:secret")
AUTHORIZATION = "Authorization: Basic YmVuY2g6c2VjcmV0"

# (ratio, numerator, denominator, target)
RATIOS = (
    ("rules / plain", "rules", "plain", 0.95),
    ("auth / plain", "auth", "plain", 0.90),
    ("rules+log / plain+log", "rules+log", "plain+log", 0.95),
    ("auth+log / plain+log", "auth+log", "plain+log", 0.90),
)


def htpasswd_file(workdir):
    """One bcrypt user at cost 10, written by Apache's htpasswd."""
    tool = shutil.which("htpasswd") or die("htpasswd not found (apt-get install apache2-utils)")
    out = subprocess.run([tool, "-nbB", "-C", "10", USER, PASSWORD], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0 or ":$2y$10$" not in out.stdout:
        die(f"htpasswd failed: {out.stderr.strip()}")
    path = os.path.join(workdir, "users.htpasswd")
    with open(path, "w") as f:
        f.write(out.stdout.strip() + "\n")
    return path


def rules_contenders(binary, workdir):
    """plain, rules, auth; then the same three with the access log."""
    rules_args = tuple(a for rule in PATH_HEADERS for a in ("--path-header", rule))
    rules_args += ("--security-headers", "--cors-origin", ORIGIN)
    auth_args = ("--auth-file", htpasswd_file(workdir))
    kinds = (("plain", (), ()), ("rules", rules_args, (f"Origin: {ORIGIN}",)),
             ("auth", auth_args, (AUTHORIZATION,)))
    quiet = [Contender(name, "staticd", binary, False, args, headers)
             for name, args, headers in kinds]
    logged = [Contender(f"{name}+log", "staticd", binary, True, args, headers)
              for name, args, headers in kinds]
    return quiet + logged


def bench_rules_server(b, c):
    """The 38 B keep-alive workload against one contender."""
    srv = b.servers.start(c, b.cfg.workers, b.cfg.server_cpus)
    check_file(srv.url, "/tiny.html", TINY_SIZE, c.headers)
    with ServerCpu(srv.rss_pid) as cpu:
        fig = run_wrk(b, c.name, "tiny 38 B, keep-alive, c50", 50, srv.url + "/tiny.html",
                      b.cfg.duration, c.headers)
    b.results.add_cell(cpu.cell())
    b.results.record(c.name, "tiny_rps", fig.rps)
    if fig.requests:
        b.results.record(c.name, "cpu_us", cpu.seconds * 1e6 / fig.requests)
    b.servers.stop_all()


def print_rules_comparison(cfg, results, contenders, command):
    """Requests/s per round, then each ratio per round with its median
    and range, beside the issue's target."""
    runs = range(1, cfg.runs + 1)
    print()
    print(f"Command: {command}")
    print("Site rules, 38 B keep-alive (requests/s; median ± half the range):")
    rows = []
    for c in contenders:
        values = [results.value(run, c.name, "tiny_rps") for run in runs]
        rows.append((c.name, *[fmt(v, "rps") for v in values], fmt(median(values), "rps")))
    print_rows(("server", *[f"run {r}" for r in runs], "median"), rows, 1)
    print()
    rows = []
    for label, top, bottom, target in RATIOS:
        per_run = [ratio(results.value(run, top, "tiny_rps"),
                         results.value(run, bottom, "tiny_rps")) for run in runs]
        # Server CPU per request, bottom over top: the server's own cost,
        # whatever the client could keep up with.
        cost = [ratio(results.value(run, bottom, "cpu_us"), results.value(run, top, "cpu_us"))
                for run in runs]
        verdict = "meets" if (median(per_run) or 0) >= target else "BELOW"
        rows.append((label, *[fmt(r, "ratio") for r in per_run], ratio_range(per_run),
                     ratio_range(cost), f">= {target:.2f}", verdict))
    print_rows(("requests/s ratio", *[f"run {r}" for r in runs], "median (range)",
                "CPU/request ratio", "target", ""), rows, 1)
    print("CPU/request ratio: server CPU per request of the denominator over the numerator's "
          "(1.00 = the rules cost the server nothing).")
