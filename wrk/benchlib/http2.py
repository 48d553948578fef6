"""--http2: staticd against nginx over HTTP/2, with h2load. Each contender
is started twice per round, pinned and with one worker as everywhere: with
the run's certificate for h2 by ALPN over TLS 1.3 (38 B, ~96 KiB and ~932
KiB), then on a plain port for h2c by prior knowledge (the idle
connections, while the server is fresh, then 38 B). Every load stops by
itself (h2load -D); every figure comes with the server's CPU share and
h2load's own, so a saturated client shows."""

import dataclasses
import re
import subprocess

from .common import LARGE_SIZE, MEDIUM_SIZE, TINY_SIZE, die, log
from .report import print_ratio_table
from .tools import MIB, ServerCpu, count_errors, run_idle, run_measured

# The staticd side of nginx's `http2_max_concurrent_streams 128` (both
# defaults, written out so that the comparison says what it compares).
STATICD_ARGS = ("--http2", "on", "--http2-max-streams", "128")
NGINX_ARGS = ("http2_max_concurrent_streams 128;",)


@dataclasses.dataclass(frozen=True)
class Workload:
    key: str
    label: str
    path: str
    size: int
    clients: int  # h2load -c: connections
    streams: int  # h2load -m: requests in flight per connection
    tls: bool  # h2 over TLS, else h2c by prior knowledge
    target: float  # the staticd/nginx target


TLS_WORKLOADS = (
    Workload("tiny", "h2 38 B, c50 m10", "/tiny.html", TINY_SIZE, 50, 10, True, 1.3),
    Workload("medium", "h2 96 KiB, c16 m4", "/medium.css", MEDIUM_SIZE, 16, 4, True, 1.1),
    Workload("large", "h2 932 KiB, c8 m1", "/large.html", LARGE_SIZE, 8, 1, True, 1.0),
)
H2C_WORKLOAD = Workload("h2c", "h2c 38 B, c50 m10", "/tiny.html", TINY_SIZE, 50, 10, False, 1.3)

# The comparison: key, workload, metric, which way is better, target.
HTTP2_KEYS = (
    ("tiny_rps", "38 B, h2 over TLS 1.3, h2load -c50 -m10", "req/s", "higher", 1.3),
    ("tiny_cpu_us", "server CPU per request, 38 B, h2", "us", "lower"),
    ("medium_rps", "96 KiB, h2 over TLS 1.3, h2load -c16 -m4", "req/s", "higher", 1.1),
    ("medium_cpu_us", "server CPU per request, 96 KiB, h2", "us", "lower"),
    ("large_mibps", "932 KiB, h2 over TLS 1.3, h2load -c8 -m1", "MiB/s", "higher", 1.0),
    ("large_cpu_us", "server CPU per request, 932 KiB, h2", "us", "lower"),
    ("h2c_rps", "38 B, h2c (prior knowledge), h2load -c50 -m10", "req/s", "higher", 1.3),
    ("h2c_cpu_us", "server CPU per request, 38 B, h2c", "us", "lower"),
    ("idle_kib", "{idle} idle h2c connections (one request each)", "RSS KiB/conn", "lower"),
)


@dataclasses.dataclass
class H2loadFigures:
    rps: float
    mibps: float  # bytes received (frames, heads and bodies) per second
    done: int
    session: str  # "TLSv1.3 CIPHER, key exchange KEX, h2" or "h2c"


def http2_contenders(contenders):
    """The comparison's contenders (staticd, then nginx or the baseline)
    with HTTP/2's settings added."""
    return [dataclasses.replace(c, args=c.args + (NGINX_ARGS if c.kind == "nginx" else
                                                  STATICD_ARGS)) for c in contenders]


def bench_http2_server(b, c):
    """One round against one contender: the TLS start and its three
    workloads, then the plain start, its idle connections first."""
    cfg = b.cfg
    srv = b.servers.start(c, cfg.workers, cfg.server_cpus, tls=b.tls, http2=True)
    for w in TLS_WORKLOADS:
        check_h2(b, c.name, srv.url, w)
    for w in TLS_WORKLOADS:
        fig = h2load_workload(b, c, srv, w)
        b.results.tls[c.name] = fig.session
    b.servers.stop_all()
    srv = b.servers.start(c, cfg.workers, cfg.server_cpus, http2=True)
    check_h2(b, c.name, srv.url, H2C_WORKLOAD)
    if not cfg.skip_idle:
        b.results.record(c.name, "idle_kib", run_idle(b, c.name, srv, h2=True))
    h2load_workload(b, c, srv, H2C_WORKLOAD)
    b.servers.stop_all()


def h2load_workload(b, c, srv, w):
    """One h2load run, its figure recorded under the workload's key, the
    server's and the client's CPU shares added to its row."""
    with ServerCpu(srv.rss_pid) as cpu:
        fig, client_share = run_h2load(b, c.name, w, srv.url + w.path, b.cfg.duration)
    b.results.add_cell(cpu.cell())
    b.results.add_cell(f"{100 * client_share:.0f}%")
    b.results.record(c.name, f"{w.key}_mibps" if w.key == "large" else f"{w.key}_rps",
                     fig.mibps if w.key == "large" else fig.rps)
    if fig.done:
        b.results.record(c.name, f"{w.key}_cpu_us", round(cpu.seconds * 1e6 / fig.done, 1))
    return fig


def h2load_command(cfg, w, url, timing):
    """h2load on the client CPUs, one thread; `timing` is -D SECONDS or -n 1."""
    return ["taskset", "-c", cfg.client_cpus, "h2load", "-t", "1", "-c", str(w.clients),
            "-m", str(w.streams), *timing, url]


def check_h2(b, server, base, w):
    """One request over one connection before loading: the server must
    speak the protocol (h2 over TLS 1.3, or h2c), answer 200 and send the
    whole file. Catches a server that falls back to HTTP/1.1 or a wrong
    root before benchmarking a page of errors."""
    cmd = ["taskset", "-c", b.cfg.client_cpus, "h2load", "-n", "1", "-c", "1", base + w.path]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)
    out = done.stdout + done.stderr
    f = h2load_fields(out)
    bad = (done.returncode != 0 or f["succeeded"] != 1 or f["2xx"] != 1
           or f["data_bytes"] != w.size or f["alpn"] != ("h2" if w.tls else "h2c")
           or (w.tls and f["tls"] != "TLSv1.3"))
    if bad:
        print(out, end="")
        die(f"{server}: one GET {base}{w.path} over {'h2' if w.tls else 'h2c'} did not come "
            f"back 200 with its {w.size} bytes over the expected protocol (see above; "
            f"h2load says protocol {f['alpn'] or '?'}, {f['tls'] or 'no TLS'})")


def run_h2load(b, server, w, url, duration):
    """h2load for `duration` seconds; returns its figures and the client's
    CPU share. Stops the run if nothing succeeded or the protocol is not
    the one asked for; counts failed requests (h2load counts 4xx, 5xx,
    resets and timeouts there) and 3xx as errors."""
    cmd = h2load_command(b.cfg, w, url, ["-D", str(duration)])
    log(f"{server}: {w.label}: {' '.join(cmd[3:])}")
    status, out, client_share = run_measured(cmd, duration + 60)
    f = h2load_fields(out)
    if status != 0 or not f["finished"] or f["done"] == 0:
        die(f"h2load failed for {server} {w.label} (status {status}, see above)")
    want = "h2" if w.tls else "h2c"
    if f["alpn"] != want or (w.tls and f["tls"] != "TLSv1.3"):
        die(f"h2load spoke {f['alpn'] or '?'} ({f['tls'] or 'no TLS'}) to {server}, "
            f"not {want}{' over TLSv1.3' if w.tls else ''}")
    if f["succeeded"] == 0:
        die(f"h2load: no request succeeded against {server} {w.label} (see above)")
    errors = count_errors(b, f["failed"] + f["3xx"],
                          [("failed", f["failed"]), ("errored", f["errored"]),
                           ("timeout", f["timeout"]), ("3xx", f["3xx"]), ("4xx", f["4xx"]),
                           ("5xx", f["5xx"])])
    # h2load's own rate (done / its measured duration) gives the duration
    # more precisely than its two-decimal "finished in".
    seconds = f["done"] / f["rps"]
    mibps = round(f["total_bytes"] / MIB / seconds, 2)
    b.results.add_row(server, w.label, f"{f['rps']:.2f}", f"{mibps:.2f}MiB", f["mean"], errors)
    session = want
    if w.tls:
        session = f"{f['tls']} {f['cipher']}, key exchange {f['kex']}, {want}"
    return H2loadFigures(f["rps"], mibps, f["done"], session), client_share


def h2load_fields(out):
    """What h2load printed: the request counts, status classes, bytes,
    rate, mean request time and the negotiated protocol; 0 or "" for what
    is missing."""
    def number(pattern, cast=int):
        found = re.search(pattern, out)
        return cast(found.group(1)) if found else 0

    def text(pattern):
        found = re.search(pattern, out, re.MULTILINE)
        return found.group(1).strip() if found else ""

    f = {k: number(rf"(\d+) {k}\b") for k in ("started", "done", "succeeded", "failed",
                                             "errored", "timeout")}
    f.update({k: number(rf"(\d+) {k}\b") for k in ("2xx", "3xx", "4xx", "5xx")})
    f["total_bytes"] = number(r"traffic: \S+ \((\d+)\) total")
    f["data_bytes"] = number(r"\((\d+)\) data")
    f["rps"] = number(r"finished in [\d.]+\w+, ([\d.]+) req/s", float)
    f["finished"] = "finished in " in out
    f["mean"] = (text(r"^time for request:(.*)$").split() + ["?"] * 3)[2]
    f["alpn"] = text(r"^Application protocol: (\S+)")
    f["tls"] = text(r"^TLS Protocol: (\S+)")
    f["cipher"] = text(r"^Cipher: (\S+)")
    f["kex"] = text(r"^Server Temp Key: (\S+)")
    return f


def print_http2_comparison(cfg, results, contenders, command):
    """The medians with their spread, the ratios with their range, beside
    the issue's targets."""
    names = [c.name for c in contenders]
    print()
    print(f"Command: {command}")
    spread = f": median of {cfg.runs} runs, ± half their range" if cfg.runs > 1 else ""
    logs = ", every server logging to a file (combined)" if cfg.log_both else ", access logs off"
    print(f"HTTP/2, {' vs '.join(names)}{spread}{logs}")
    for n in names:
        print(f"  {n}: {results.tls.get(n, '?')}")
    print_ratio_table(cfg, results, names, HTTP2_KEYS)
    if len(names) > 1:
        print(f"ratio > 1: staticd ahead; staticd/{names[-1]} for throughput, {names[-1]}/staticd "
              "for CPU per request and RSS")
        print("per connection. With several runs: the median of the per-run ratios, their range "
              "in brackets.")
    print("The idle connections are h2c (no TLS): preface, SETTINGS and one GET each, then held.")
    print("Server and client (h2load) CPU shares per run are in the table above: a client near "
          "100% was the limit.")
