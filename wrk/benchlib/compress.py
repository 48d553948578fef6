"""--compress: compression on the fly against nginx's. staticd with its
defaults (--compress on) and nginx with `gzip on` (level 6, the same
types), both pinned to one core, on the ~96 KiB stylesheet and the ~932
KiB page (and a 32 KiB stylesheet, small enough that its identity
answers come from the file cache's memory), clients sending
`Accept-Encoding: gzip, br`; staticd answers
from its store once warm (br), nginx compresses every response again. Also
staticd without Accept-Encoding (identity, from the file cache), to show
what a compressed answer costs against an identity one, and staticd with
its default access log."""

import http.client

from .common import LARGE_SIZE, MEDIUM_SIZE, SMALL_SIZE, Contender, die
from .report import fmt, median, print_rows, ratio, ratio_range
from .tools import ServerCpu, run_wrk

ACCEPT = "Accept-Encoding: gzip, br"
# nginx's gzip for the same types staticd compresses here; level 6 is the
# level the issue names (nginx's default is 1).
NGINX_GZIP = ("gzip on;", "gzip_comp_level 6;", "gzip_types text/css;", "gzip_min_length 1024;",
              "gzip_vary on;")
# small.css is within the file cache's in-memory limit (64 KiB): its
# identity answers are the file cache's fastest, the fair comparison for a
# compressed answer from the store.
FILES = (("small", "/small.css", SMALL_SIZE), ("css", "/medium.css", MEDIUM_SIZE),
         ("html", "/large.html", LARGE_SIZE))
CONNECTIONS = 50

# (ratio, numerator, denominator, target)
RATIOS = (
    ("staticd / nginx", "staticd", "nginx", 3.0),
    ("staticd+log / nginx", "staticd+log", "nginx", 3.0),
    ("compressed / identity", "staticd", "identity", 0.95),
)


def compress_contenders(binary, nginx_bin):
    return [
        Contender("staticd", "staticd", binary, False, (), (ACCEPT,)),
        Contender("staticd+log", "staticd", binary, True, (), (ACCEPT,)),
        Contender("identity", "staticd", binary, False, (), ()),
        Contender("nginx", "nginx", nginx_bin, False, NGINX_GZIP, (ACCEPT,)),
    ]


def check_coding(url, path, size, headers):
    """One GET: a contender asked for a coding must send one (staticd: br,
    nginx: gzip), and one asked for none must send the file as it is."""
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    fields = dict(h.split(": ", 1) for h in headers)
    conn.request("GET", path, headers=fields)
    resp = conn.getresponse()
    body = resp.read()
    coding = resp.getheader("Content-Encoding")
    conn.close()
    if resp.status != 200:
        die(f"GET {url}{path}: status {resp.status}")
    if headers and coding not in ("br", "gzip"):
        die(f"GET {url}{path} with {headers}: not compressed (Content-Encoding {coding!r})")
    if not headers and (coding or len(body) != size):
        die(f"GET {url}{path}: expected the {size} bytes as they are")
    return coding, len(body)


def bench_compress_server(b, c):
    """Each file, warmed by the check (staticd compresses it then), under
    wrk -c50 keep-alive."""
    srv = b.servers.start(c, b.cfg.workers, b.cfg.server_cpus)
    for kind, path, size in FILES:
        coding, length = check_coding(srv.url, path, size, c.headers)
        with ServerCpu(srv.rss_pid) as cpu:
            fig = run_wrk(b, c.name, f"{kind} {coding or 'identity'} {length} B, keep-alive, "
                          f"c{CONNECTIONS}", CONNECTIONS, srv.url + path, b.cfg.duration, c.headers)
        b.results.add_cell(cpu.cell())
        b.results.record(c.name, f"{kind}_rps", fig.rps)
    b.servers.stop_all()


def print_compress_comparison(cfg, results, contenders, command):
    """Requests/s per round per file, then each ratio per round with its
    median and range, beside the issue's targets."""
    runs = range(1, cfg.runs + 1)
    print()
    print(f"Command: {command}")
    for kind, path, _ in FILES:
        print(f"Compression on the fly, {path} (requests/s):")
        rows = []
        for c in contenders:
            values = [results.value(run, c.name, f"{kind}_rps") for run in runs]
            rows.append((c.name, *[fmt(v, "rps") for v in values], fmt(median(values), "rps")))
        print_rows(("server", *[f"run {r}" for r in runs], "median"), rows, 1)
        print()
    rows = []
    for kind, path, _ in FILES:
        for label, top, bottom, target in RATIOS:
            per_run = [ratio(results.value(run, top, f"{kind}_rps"),
                             results.value(run, bottom, f"{kind}_rps")) for run in runs]
            verdict = "meets" if (median(per_run) or 0) >= target else "BELOW"
            rows.append((f"{path}: {label}", *[fmt(r, "ratio") for r in per_run],
                         ratio_range(per_run), f">= {target:.2f}", verdict))
    print_rows(("requests/s ratio", *[f"run {r}" for r in runs], "median (range)", "target", ""),
               rows, 1)
