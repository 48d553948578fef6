"""--metrics: what counting costs. The same staticd with metrics off and
with --metrics-listen on loopback and a scrape of /metrics every second
while wrk runs, each quiet and with its access log to a file, on the 38 B
keep-alive workload, in alternating rounds."""

import socket
import threading
import urllib.request

from .common import TINY_SIZE, Contender
from .report import fmt, median, print_rows, ratio, ratio_range
from .servers import check_file
from .tools import ServerCpu, run_wrk

SCRAPE_EVERY = 1.0

# (ratio, numerator, denominator, target)
RATIOS = (
    ("metrics / off", "metrics", "off", 0.97),
    ("metrics+log / off+log", "metrics+log", "off+log", 0.97),
)


def free_port():
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_contenders(binary):
    """off, metrics; then both with the access log. Each metrics contender
    has its own port, named in its arguments."""
    out = []
    for logged in (False, True):
        suffix = "+log" if logged else ""
        out.append(Contender(f"off{suffix}", "staticd", binary, logged))
        listen = f"127.0.0.1:{free_port()}"
        out.append(Contender(f"metrics{suffix}", "staticd", binary, logged,
                             ("--metrics-listen", listen)))
    return out


class Scraper:
    """GET /metrics every SCRAPE_EVERY seconds until stopped; counts the
    scrapes and their failures."""

    def __init__(self, listen):
        self.url = f"http://{listen}/metrics"
        self.stop = threading.Event()
        self.scrapes = self.failures = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(SCRAPE_EVERY):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
                self.scrapes += 1
            except OSError:
                self.failures += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join()


def bench_metrics_server(b, c):
    """The 38 B keep-alive workload against one contender, scraped every
    second when it has a metrics listener."""
    srv = b.servers.start(c, b.cfg.workers, b.cfg.server_cpus)
    check_file(srv.url, "/tiny.html", TINY_SIZE, c.headers)
    listen = c.args[1] if c.args else None
    scraper = Scraper(listen) if listen else None
    with ServerCpu(srv.rss_pid) as cpu:
        if scraper:
            scraper.__enter__()
        try:
            fig = run_wrk(b, c.name, "tiny 38 B, keep-alive, c50", 50, srv.url + "/tiny.html",
                          b.cfg.duration, c.headers)
        finally:
            if scraper:
                scraper.__exit__()
    b.results.add_cell(cpu.cell())
    b.results.record(c.name, "tiny_rps", fig.rps)
    if fig.requests:
        b.results.record(c.name, "cpu_us", cpu.seconds * 1e6 / fig.requests)
    if scraper:
        b.results.record(c.name, "scrapes", scraper.scrapes)
        if scraper.failures:
            b.results.errors += scraper.failures
    b.servers.stop_all()


def print_metrics_comparison(cfg, results, contenders, command):
    """Requests/s per round, then each ratio per round with its median and
    range, beside the issue's target."""
    runs = range(1, cfg.runs + 1)
    print()
    print(f"Command: {command}")
    print("Metrics, 38 B keep-alive, a scrape every second (requests/s):")
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
        cost = [ratio(results.value(run, bottom, "cpu_us"), results.value(run, top, "cpu_us"))
                for run in runs]
        verdict = "meets" if (median(per_run) or 0) >= target else "BELOW"
        rows.append((label, *[fmt(r, "ratio") for r in per_run], ratio_range(per_run),
                     ratio_range(cost), f">= {target:.2f}", verdict))
    print_rows(("requests/s ratio", *[f"run {r}" for r in runs], "median (range)",
                "CPU/request ratio", "target", ""), rows, 1)
    scrapes = [results.value(run, "metrics", "scrapes") for run in runs]
    print(f"Scrapes per metrics round: {scrapes}. CPU/request ratio: server CPU per request "
          "of the denominator over the numerator's (1.00 = counting costs nothing).")
