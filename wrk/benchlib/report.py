"""The output: the per-run figures, the comparison with its ratios, the
scaling verdicts and what the servers logged."""

import re

from .common import LISTING_ENTRIES, SCALING_ROUNDS, SCALING_SECONDS
from .servers import ANSI, read_text

NGINX_WARNING = re.compile(r"\[(warn|error|crit|alert|emerg)\]")

# key, workload, metric, which way is better
COMPARE_KEYS = (
    ("tiny_rps", "38 B, keep-alive, c50 (wrk)", "req/s", "higher"),
    ("ab_rps", "38 B, new connection per request, c50 (ab)", "req/s", "higher"),
    ("medium_rps", "96 KiB, keep-alive, c16 (wrk)", "req/s", "higher"),
    ("large_mibps", "932 KiB, keep-alive, c8 (wrk)", "MiB/s", "higher"),
    ("big_mibps", "1 GiB, one connection (curl)", "MiB/s", "higher"),
    ("idle_kib", "{idle} idle keep-alive connections", "RSS KiB/conn", "lower"),
    ("tiny_p99", "p99 latency, 38 B, keep-alive, c50", "ms", "lower"),
    ("w1p_rps", "38 B, keep-alive, c50, pinned, beside the unpinned pair", "req/s", "higher"),
    ("w1u_rps", "38 B, keep-alive, c50, 1 worker, not pinned", "req/s", "higher"),
    ("w2_rps", "38 B, keep-alive, c50, 2 workers, not pinned", "req/s", "higher"),
)

# The --tls comparison, in the same form.
TLS_KEYS = (
    ("tiny_rps", "38 B, keep-alive, c50 (wrk)", "req/s", "higher"),
    ("tiny_p99", "p99 latency, 38 B, keep-alive, c50", "ms", "lower"),
    ("tiny_cpu_us", "server CPU per request, 38 B, keep-alive", "us", "lower"),
    ("medium_rps", "96 KiB, keep-alive, c16 (wrk)", "req/s", "higher"),
    ("medium_cpu_us", "server CPU per request, 96 KiB, keep-alive", "us", "lower"),
    ("large_mibps", "932 KiB, keep-alive, c8 (wrk)", "MiB/s", "higher"),
    ("large_cpu_us", "server CPU per request, 932 KiB, keep-alive", "us", "lower"),
    ("hs_rps", "full handshake per request, c50 (ab)", "handshakes/s", "higher"),
    ("hs_cpu_us", "server CPU per full handshake", "us", "lower"),
    ("idle_kib", "{idle} idle keep-alive TLS connections", "RSS KiB/conn", "lower"),
)


def median(values):
    """The median of the figures present (None: not measured), None if none."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def ratio(a, b):
    """a / b to 4 decimals (rounded further for display only, after the
    median and the verdicts), None unless both are positive."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return round(a / b, 4)


def fmt(value, metric):
    """A figure rounded for its metric."""
    if value is None:
        return "n/a"
    if metric == "ms":
        return f"{value:.3f}"
    if metric == "ratio" or "KiB" in metric:
        return f"{value:.2f}"
    if metric in ("MiB/s", "us"):
        return f"{value:.1f}"
    return f"{value:.0f}"


def with_spread(values, metric):
    """The median of a figure over the runs, and with several runs ± half
    their range as a share of the median."""
    v = [x for x in values if x is not None]
    m = median(v)
    if m is None or len(v) < 2 or m == 0:
        return fmt(m, metric)
    return f"{fmt(m, metric)} ±{50 * (max(v) - min(v)) / abs(m):.0f}%"


def ratio_range(ratios):
    """The median ratio, and with several runs their range."""
    r = [x for x in ratios if x is not None]
    if len(r) < 2:
        return fmt(median(r), "ratio")
    return f"{fmt(median(r), 'ratio')} ({fmt(min(r), 'ratio')}-{fmt(max(r), 'ratio')})"


def join_ratios(ratios):
    return " ".join(fmt(r, "ratio") for r in ratios)


def print_rows(header, rows, align_left):
    """The one table printer: columns separated by " | ", a dashed line under
    the header; the first align_left columns left-aligned (text), the
    others right-aligned (numbers)."""
    table = [list(header)] + [list(r) for r in rows]
    ncols = max(len(r) for r in table)
    table = [r + [""] * (ncols - len(r)) for r in table]
    widths = [max(len(r[i]) for r in table) for i in range(ncols)]

    def line(cells):
        out = [c.ljust(w) if i < align_left else c.rjust(w)
               for i, (c, w) in enumerate(zip(cells, widths))]
        return " | ".join(out).rstrip()

    print(line(table[0]))
    print("-|-".join("-" * w for w in widths))
    for r in table[1:]:
        print(line(r))


def print_table(cfg, results):
    print()
    h2 = cfg.mode == "http2"
    ab = f"ab -n {cfg.handshakes if cfg.mode == 'tls' else cfg.ab_requests}"
    tools = (f"h2load -t1 -D {cfg.duration} per workload" if h2
             else f"wrk -t1 for {cfg.duration}s per workload, {ab}")
    print(f"Every run: {tools}; "
          f"servers on CPU {cfg.server_cpus} (workers={cfg.workers}) unless marked unpinned, "
          f"clients on CPU {cfg.client_cpus}")
    if results.loadavg:
        print(f"Load average (1, 5, 15 min) before the first run: {results.loadavg}")
    header = ("run", "server", "workload", "requests/s", "transfer/s",
              "mean latency" if h2 else "p99 latency", "errors")
    if cfg.mode in ("tls", "rules", "http2"):
        header += ("server CPU",)
    if h2:
        header += ("client CPU",)
    print_rows(header, results.rows, 3)
    if h2:
        print("mean latency: h2load's mean time for request. transfer/s: every byte h2load "
              "received (frames, heads, bodies).")
        print("client CPU: h2load's user + system time over its wall time (100% = its core: "
              "the client was the limit).")
    else:
        print("p99: wrk's --latency distribution; for ab, ab's own percentile in whole ms.")
    if cfg.mode in ("tls", "http2"):
        print("server CPU: the server's user + system time over the workload's wall time "
              "(100% = its core).")
    if results.idle_rows:
        print()
        rss_of = "staticd" if cfg.against else "staticd, of nginx's worker process"
        kind = "HTTP/2 connections over h2c" if h2 else "keep-alive connections"
        print(f"Idle {kind} (VmRSS of {rss_of}):")
        print_rows(("run", "server", "held", "RSS before", "RSS after", "KiB/conn", "time to open",
                    "errors"), results.idle_rows, 2)


def comparison_row(cfg, results, first, key, label, metric, better):
    """The medians over the runs of both figures and of the per-run ratios,
    oriented so that above 1 means `first` did better."""
    firsts = [results.value(run, first, key) for run in range(1, cfg.runs + 1)]
    seconds = [results.value(run, cfg.rival, key) for run in range(1, cfg.runs + 1)]
    pairs = zip(firsts, seconds) if better == "higher" else zip(seconds, firsts)
    ratios = [ratio(a, b) for a, b in pairs]
    row = [label.format(idle=cfg.idle_connections), f"{metric} ({better} is better)",
           fmt(median(firsts), metric), fmt(median(seconds), metric), fmt(median(ratios), "ratio")]
    if cfg.runs > 1:
        row.append(join_ratios(ratios))
    return row


def print_comparison(cfg, results, first="staticd"):
    rival = cfg.rival
    rows = [comparison_row(cfg, results, first, *entry) for entry in COMPARE_KEYS
            if (1, first, entry[0]) in results.values]
    header = ["workload", "metric", first, rival, "ratio"]
    if cfg.runs > 1:
        header.append("ratio per run")
    print()
    title = f"{first} vs {rival}"
    if cfg.runs > 1:
        title += f": median of {cfg.runs} runs (ratio: median of the per-run ratios)"
    print(title)
    if cfg.against:
        print(f"{first}: {cfg.binary}")
        print(f"{rival}: {cfg.against}")
    print_rows(header, rows, 2)
    print(f"ratio > 1: {first} ahead. {first}/{rival} for throughput; {rival}/{first} "
          "for p99 latency")
    print("and RSS per connection (lower is better there). Not pinned: the server unpinned,")
    print(f"the client still on CPU {cfg.client_cpus}.")


def print_ratio_table(cfg, results, names, keys):
    """The shared comparison table of several contenders (--tls, --http2):
    every contender's median (± half the range over the runs), then the
    ratio of each of the others to the rival (the last contender; none
    with --skip-nginx): the median of the per-run ratios and their range,
    oriented so that above 1 means that one did better. keys are (key,
    workload, metric, "higher" or "lower" is better[, target]); with a
    target, the row gets it and a verdict per ratio on the median."""
    rival = None if cfg.skip_nginx else names[-1]
    mine = names[:-1] if rival else names
    targeted = bool(rival) and any(len(k) > 4 for k in keys)
    runs = range(1, cfg.runs + 1)
    rows = []
    for key, label, metric, better, *target in keys:
        if (1, names[0], key) not in results.values:
            continue
        figures = {n: [results.value(run, n, key) for run in runs] for n in names}
        row = [label.format(idle=cfg.idle_connections), f"{metric} ({better} is better)"]
        row += [with_spread(figures[n], metric) for n in names]
        medians = []
        for n in mine if rival else []:
            pairs = zip(figures[n], figures[rival]) if better == "higher" else \
                zip(figures[rival], figures[n])
            ratios = [ratio(a, b) for a, b in pairs]
            row.append(ratio_range(ratios))
            medians.append(median(ratios))
        if targeted:
            row.append(f">= {target[0]:.2f}" if target else "")
            row += [verdict(m, target[0]) if target else "" for m in medians]
        rows.append(row)
    header = ["workload", "metric", *names] + [f"{n} / {rival}" for n in mine if rival]
    if targeted:
        header += ["target"] + [""] * len(mine)
    print_rows(header, rows, 2)


def verdict(value, target):
    """Whether a median ratio reaches its target."""
    if value is None:
        return "n/a"
    return "meets" if value >= target else "BELOW"


def print_tls_comparison(cfg, results, contenders):
    """The --tls comparison: what each contender negotiated, then the
    ratio table."""
    names = [c.name for c in contenders]
    rival = None if cfg.skip_nginx else names[-1]
    print()
    spread = f": median of {cfg.runs} runs, ± half their range" if cfg.runs > 1 else ""
    print(f"HTTPS, {' vs '.join(names)}{spread}")
    for n in names:
        print(f"  {n}: {results.tls.get(n, '?')}")
    print_ratio_table(cfg, results, names, TLS_KEYS)
    if rival:
        print(f"ratio > 1: that staticd ahead; x/{rival} for throughput, {rival}/x for latency, "
              "CPU per request")
        print("and RSS per connection (lower is better there). With several runs: the median "
              "of the per-run")
        print("ratios, their range in brackets.")
    if "staticd+log" in names:
        print("staticd+log: staticd with its default access log (combined) written to a file.")


def print_scaling(cfg, results, name):
    """2 workers not pinned must not do worse than 1: against the pinned
    figure of the table, and against 1 worker not pinned either, measured
    under the same conditions."""
    print()
    print(f"{name} scaling, median of {cfg.runs} run(s); per run the median over {SCALING_ROUNDS} "
          "rounds in which the")
    print(f"three servers, running at once, are loaded in turn for {SCALING_SECONDS}s each "
          "(pinned, 1, 2, 1, pinned,")
    print("then pinned, 2, 1, 2, pinned, and so on).")
    print("38 B keep-alive c50, --workers 2 not pinned against:")
    scaling_line(cfg, results, name, f"--workers {cfg.workers} on CPU {cfg.server_cpus}", "w2_vs_p")
    scaling_line(cfg, results, name, "--workers 1, not pinned", "w2_vs_1")
    print(f"Directory listing ({LISTING_ENTRIES} entries) c8: the server needs more CPU than the "
          "client, so")
    print("with a CPU to spare a second worker should join in (ratio near 2):")
    scaling_line(cfg, results, name, "--workers 2 against --workers 1, neither pinned",
                 "w2_vs_1_list")


def scaling_line(cfg, results, name, label, key):
    """The verdict allows for the noise: below 1, but by less than the
    pinned server's two measurements in a round differ (median over rounds
    and runs), is a tie."""
    runs = range(1, cfg.runs + 1)
    ratios = [results.value(run, name, key) for run in runs]
    noise = median([results.value(run, name, "w1p_noise") or 0.0 for run in runs])
    r = median(ratios)
    per_run = f" (per run: {join_ratios(ratios)})" if cfg.runs > 1 else ""
    if r is None:
        verdict = "n/a"
    elif r >= 1:
        verdict = "OK: not below"
    elif r >= 1 - noise:
        verdict = (f"OK: equal within the noise ({100 * noise:.1f}%: the pinned server measured "
                   "twice in a round)")
    else:
        verdict = "BELOW"
    shown = "n/a" if r is None else f"{r:.3f}"
    print(f"  {label}: ratio {shown}{per_run} -> {verdict}")


def print_logging_cost(results):
    def mean(server):
        v = [float(row[3]) for row in results.rows if row[1] == server]
        return sum(v) / len(v)

    off, on = mean("log-off"), mean("log-combined")
    print(f"access log cost: off {off:.0f} req/s, combined {on:.0f} req/s, ratio {on / off:.3f} "
          f"({(1 - on / off) * 100:.1f}% slower)")


def print_server_logs(servers, contenders):
    """What the servers said at warning level or above."""
    print()
    for c in contenders:
        text = "".join(read_text(f) for f in servers.log_files(c))
        if c.kind == "nginx":
            lines = [l for l in text.splitlines() if NGINX_WARNING.search(l)]
        else:
            lines = [l for l in ANSI.sub("", text).splitlines()
                     if l.split()[1:2] in (["WARN"], ["ERROR"])]
        if lines:
            print(f"{c.name} logged {len(lines)} warnings/errors; the first 10:")
            print("\n".join(lines[:10]))
        else:
            print(f"{c.name} logged no warnings or errors.")
