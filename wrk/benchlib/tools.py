"""The load generators (wrk, ab, curl, the idle-connections client), pinned
to the client CPUs. Each shows its output as it comes, adds a row to the
per-run table, counts its errors and returns the figures compared."""

import os
import re
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from .common import AB_CONCURRENCY, IDLE_CLIENT, LUA_DIR, die, log

MIB = 1048576


@dataclass
class WrkFigures:
    rps: float
    mibps: float  # bytes read (heads and bodies) per second
    p99_ms: object  # None when wrk cannot tell
    requests: int = 0


@dataclass
class AbFigures:
    rps: float
    complete: int


class ServerCpu:
    """The CPU time (user + system, every thread) a server process used
    over a `with` block, and that as a share of the block's wall time: near
    1 the server was the bottleneck, well below it the client was."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid):
        self.pid = pid
        self.seconds = self.share = 0.0

    def used(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.TICK  # utime, stime

    def __enter__(self):
        self.start, self.wall = self.used(), time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = self.used() - self.start
        wall = time.monotonic() - self.wall
        self.share = self.seconds / wall if wall > 0 else 0.0
        return False

    def cell(self):
        return f"{100 * self.share:.0f}%"


def children_cpu():
    """CPU seconds (user + system) of every child waited for so far: the
    load generators, since the servers are waited for only when stopped."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_echoed(cmd, timeout):
    """run_measured without the client's CPU share."""
    status, out, _ = run_measured(cmd, timeout)
    return status, out


def run_measured(cmd, timeout):
    """Runs cmd, copying its output to ours line by line; returns (exit
    status, output, the client's CPU over the run as a share of the wall
    time, 1.0 = one core) and logs that share: a load generator near 100%
    of its core measures itself, not the server. The timeout is a
    backstop: every tool here bounds its own run, and this only ends one
    that hangs."""
    sys.stdout.flush()
    cpu, wall = children_cpu(), time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                            errors="replace")
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line)
        status = proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # interrupted: leave nothing running
            proc.kill()
            proc.wait()
    sys.stdout.flush()
    cpu, wall = children_cpu() - cpu, time.monotonic() - wall
    log(f"client CPU: {100 * cpu / wall:.0f}% of one core ({os.path.basename(cmd[3])})"
        if wall > 0 and cmd[0] == "taskset" else f"client CPU: {cpu:.2f} s")
    return status, "".join(lines), (cpu / wall if wall > 0 else 0.0)


def fields_of(report):
    """The key=value pairs of a report line."""
    return dict(item.split("=", 1) for item in report.split()[1:] if "=" in item)


def first_field(output, prefix, index):
    """Word `index` of the first line starting with prefix (after any
    indentation), or ""."""
    for line in output.splitlines():
        words = line.split()
        if line.lstrip().startswith(prefix) and len(words) > index:
            return words[index]
    return ""


def wrk_p99(output):
    """The 99% line of the latency distribution; wrk prints a percentile it
    cannot compute as 0 (see scripts/report.lua)."""
    section = output.split("Latency Distribution", 1)
    p99 = first_field(section[1], "99%", 1) if len(section) == 2 else ""
    return "n/a" if re.fullmatch(r"0(\.0+)?[a-z]*", p99) else p99


def count_errors(b, total, parts):
    """The errors cell: the total, with its parts when there are any."""
    b.results.errors += total
    if total == 0:
        return "0"
    return f"{total} ({' '.join(f'{k}={v}' for k, v in parts)})"


def run_wrk(b, server, label, conns, url, duration, headers=()):
    """wrk on the client CPUs; `headers` are request fields every request
    carries."""
    fields = [arg for h in headers for arg in ("-H", h)]
    log(f"{server}: {label}: wrk -t1 -c{conns} -d{duration}s --latency "
        f"{' '.join(repr(a) if ' ' in a else a for a in fields)} {url}".replace("  ", " "))
    cmd = ["taskset", "-c", b.cfg.client_cpus, "wrk", "-t1", f"-c{conns}", f"-d{duration}s",
           "--latency", "-s", os.path.join(LUA_DIR, "report.lua"), *fields, url]
    status, out = run_echoed(cmd, duration + 60)
    if status != 0:
        die(f"wrk exited with status {status} for {server} {label}")
    rps, transfer = first_field(out, "Requests/sec:", 1), first_field(out, "Transfer/sec:", 1)
    p99 = wrk_p99(out)
    report = next((line for line in out.splitlines() if line.startswith("wrk-report ")), "")
    if not (rps and transfer and p99 and report):
        die(f"could not parse wrk output for {server} {label} (see above)")
    f = fields_of(report)
    kinds = ("connect", "read", "write", "status", "timeout")
    errors = count_errors(b, int(f["errors"]), [(k, f[f"{k}_errors"]) for k in kinds])
    b.results.add_row(server, label, rps, transfer, p99, errors)
    us = int(f["duration_us"])
    mibps = round(int(f["bytes"]) / MIB / (us / 1e6), 2) if us > 0 else 0.0
    p99_ms = round(int(f["p99_us"]) / 1000, 3) if f["p99_us"].isdigit() else None
    return WrkFigures(float(f["rps"]), mibps, p99_ms, int(f["requests"]))


def run_ab(b, server, label, url, n=None):
    """ab without keep-alive; -r counts socket errors instead of aborting on
    the first one. Over https, TLS 1.3 and a full handshake per request (ab
    offers no session to resume). Returns its req/s (or, with n given, an
    AbFigures)."""
    count = n or b.cfg.ab_requests
    tls = ["-f", "TLS1.3"] if url.startswith("https:") else []
    log(f"{server}: {label}: ab -n {count} -c {AB_CONCURRENCY} {' '.join(tls)} {url}")
    cmd = ["taskset", "-c", b.cfg.client_cpus, "ab", "-q", "-r", "-n", str(count),
           "-c", str(AB_CONCURRENCY), *tls, url]
    status, out = run_echoed(cmd, 600)
    if status != 0:
        die(f"ab exited with status {status} for {server} {label}")
    rps, kbps = first_field(out, "Requests per second:", 3), first_field(out, "Transfer rate:", 2)
    complete = first_field(out, "Complete requests:", 2)
    failed = first_field(out, "Failed requests:", 2)
    if not (rps and kbps and complete and failed):
        die(f"could not parse ab output for {server} {label} (see above)")
    if tls and not first_field(out, "SSL/TLS Protocol:", 2).startswith("TLSv1.3,"):
        die(f"ab did not speak TLS 1.3 to {server} (see above)")
    non2xx = int(first_field(out, "Non-2xx responses:", 2) or 0)
    incomplete = count - int(complete)
    errors = count_errors(b, int(failed) + non2xx + incomplete,
                          [("failed", failed), ("non-2xx", non2xx), ("incomplete", incomplete)])
    # ab reports KiB/s; shown in wrk's style. Its percentiles are whole ms.
    k = float(kbps)
    transfer = f"{k / 1024:.2f}MB" if k >= 1024 else f"{k:.2f}KB"
    p99 = first_field(out, "99%", 1) or "?"
    b.results.add_row(server, label, rps, transfer, f"{p99}ms (ab)", errors)
    return AbFigures(float(rps), int(complete)) if n else float(rps)


def run_curl(b, server, label, url, size):
    """One download to /dev/null over one connection, at most 120 s.
    Returns MiB/s from curl's %{speed_download}."""
    log(f"{server}: {label}: curl -o /dev/null {url}")
    cmd = ["taskset", "-c", b.cfg.client_cpus, "curl", "-sS", "-o", "/dev/null",
           "--max-time", "120",
           "-w", "%{http_code} %{size_download} %{speed_download} %{time_total}", url]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                              timeout=180)
        failed, words = done.returncode != 0, done.stdout.split()
    except subprocess.TimeoutExpired:
        failed, words = True, []
    code, got, speed = (words + ["", "", ""])[:3]
    print(f"curl: status {code or '?'}, {got or '?'} bytes, {speed or '?'} bytes/s", flush=True)
    bad = failed or code != "200" or got != str(size)
    b.results.errors += int(bad)
    detail = f"1 (status={code or '?'} bytes={got or '?'})" if bad else "0"
    mibps = round(float(speed or 0) / MIB, 2)
    b.results.add_row(server, label, "1", f"{mibps:.2f}MiB", "-", detail)
    return mibps


def run_idle(b, server, running, h2=False):
    """Holds the idle connections (one request each) and returns the growth
    of the server's resident set per connection, KiB. With h2, HTTP/2
    connections (h2c on a plain port, h2 by ALPN over TLS): preface,
    SETTINGS and one request each."""
    n = b.cfg.idle_connections
    kind = "HTTP/2" if h2 else "keep-alive"
    log(f"{server}: {n} idle {kind} connections, VmRSS of pid {running.rss_pid}")
    # A full TLS handshake costs the Python client a few ms: more time.
    tls = ["--tls"] if running.url.startswith("https:") else []
    limit = 300 if tls else 120
    cmd = ["taskset", "-c", b.cfg.client_cpus, sys.executable, IDLE_CLIENT,
           "--port", str(running.port), "--pid", str(running.rss_pid), "--count", str(n),
           "--path", "/tiny.html", "--timeout", str(limit), *tls, *(["--h2"] if h2 else [])]
    status, out = run_echoed(cmd, limit + 180)
    report = next((line for line in out.splitlines() if line.startswith("idle-report ")), "")
    if not report:
        die(f"the idle-connections client failed for {server} (status {status}, see above)")
    f = fields_of(report)
    want = ("h2" if tls else "h2c") if h2 else "http/1.1"
    if f.get("protocol") != want:
        die(f"the idle-connections client spoke {f.get('protocol')} to {server}, not {want}")
    sample, sample_ok = int(f["sample"]), int(f["sample_ok"])
    total = int(f["failed"]) + int(f["closed_by_server"]) + sample - sample_ok
    detail = count_errors(b, total, [("failed", f["failed"]),
                                     ("closed-by-server", f["closed_by_server"]),
                                     ("reused", f"{sample_ok}/{sample}")])
    b.results.add_idle_row(server, f["opened"], f"{f['rss_before_kib']} KiB",
                           f"{f['rss_after_kib']} KiB", f["per_conn_kib"],
                           f"{f['open_seconds']} s", detail)
    return float(f["per_conn_kib"])
