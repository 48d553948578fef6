"""The workloads: one function each. A workload loads one started server
and records the figure the comparison is made of. The --tls run has its
own set (tls_*), over HTTPS."""

import os

from .common import (BIG_SIZE, LARGE_SIZE, LOGGING_ROUNDS, MEDIUM_SIZE, SCALING_ROUNDS,
                     SCALING_SECONDS, TINY_SIZE, log)
from .report import median, ratio
from .servers import COMPARE_ARGS, check_file, tls_session
from .tools import ServerCpu, run_ab, run_curl, run_idle, run_wrk


def bench_server(b, c):
    """Every workload against one contender, pinned as configured, then the
    scaling check. Idle connections go first, while the server is fresh:
    RSS before is then the server at rest, not what the bulk workloads left
    in its allocator."""
    cfg = b.cfg
    srv = b.servers.start(c, cfg.workers, cfg.server_cpus)
    check_file(srv.url, "/tiny.html", TINY_SIZE)
    check_file(srv.url, "/medium.css", MEDIUM_SIZE)
    check_file(srv.url, "/large.html", LARGE_SIZE)
    if not cfg.skip_1g:
        check_file(srv.url, "/big.bin", BIG_SIZE)
    if not cfg.skip_idle:
        idle_connections(b, c, srv)
    tiny_keepalive(b, c, srv)
    medium_keepalive(b, c, srv)
    large_keepalive(b, c, srv)
    tiny_new_connections(b, c, srv)
    if not cfg.skip_1g:
        big_download(b, c, srv)
    b.servers.stop_all()
    scaling_check(b, c)


def idle_connections(b, c, srv):
    """What an idle keep-alive connection costs in memory."""
    b.results.record(c.name, "idle_kib", run_idle(b, c.name, srv))


def tiny_keepalive(b, c, srv):
    """38 B over 50 keep-alive connections: the cost of a request itself."""
    fig = run_wrk(b, c.name, "tiny 38 B, keep-alive, c50", 50, srv.url + "/tiny.html",
                  b.cfg.duration)
    b.results.record(c.name, "tiny_rps", fig.rps)
    b.results.record(c.name, "tiny_p99", fig.p99_ms)


def medium_keepalive(b, c, srv):
    fig = run_wrk(b, c.name, "medium 96 KiB, keep-alive, c16", 16, srv.url + "/medium.css",
                  b.cfg.duration)
    b.results.record(c.name, "medium_rps", fig.rps)


def large_keepalive(b, c, srv):
    """~932 KiB bodies: the transfer rate counts, not the requests."""
    fig = run_wrk(b, c.name, "large 932 KiB, keep-alive, c8", 8, srv.url + "/large.html",
                  b.cfg.duration)
    b.results.record(c.name, "large_mibps", fig.mibps)


def tiny_new_connections(b, c, srv):
    """A new connection per request (ab): accept and close dominate."""
    rps = run_ab(b, c.name, "tiny 38 B, ab no keep-alive, c50", srv.url + "/tiny.html")
    b.results.record(c.name, "ab_rps", rps)


def big_download(b, c, srv):
    mibps = run_curl(b, c.name, "1 GiB, one connection, curl", srv.url + "/big.bin", BIG_SIZE)
    b.results.record(c.name, "big_mibps", mibps)


def scaling_label(cfg, config):
    if config == "p":
        return f"{cfg.workers} worker(s) on CPU {cfg.server_cpus}"
    return f"{config} worker(s) unpinned"


def scaling_check(b, c):
    """Does a second worker help? Three servers at once: pinned as in the
    table ("p"), and 1 and 2 workers not pinned. These shared machines have
    slow and fast spells (the same server measures about 110,000 or 140,000
    req/s from one minute, sometimes one second, to the next), so they are
    loaded in short turns, p 1 2 1 p, then p 2 1 2 p (neither unpinned
    server always first or in the middle), and so on. staticd also serves
    the directory listing, 1 2 1 or 2 1 2 per round."""
    cfg = b.cfg
    args = COMPARE_ARGS + ("--autoindex", "on")
    urls = {"p": b.servers.start(c, cfg.workers, cfg.server_cpus, args).url}
    for workers in (1, 2):
        urls[str(workers)] = b.servers.start(c, workers, "", args).url
    for url in urls.values():
        check_file(url, "/tiny.html", TINY_SIZE)
    tiny_rounds, listing_rounds = [], []
    for rnd in range(1, SCALING_ROUNDS + 1):
        order = ["1", "2", "1"] if rnd % 2 else ["2", "1", "2"]
        tiny_rounds.append(scaling_turns(b, c, "tiny 38 B, keep-alive", 50, "/tiny.html", urls,
                                         ["p", *order, "p"]))
        if c.kind == "staticd":
            listing_rounds.append(listing_turns(b, c, urls, order))
    record_scaling(b, c, tiny_rounds, listing_rounds)
    b.servers.stop_all()


def listing_turns(b, c, urls, order):
    """The 3,000-entry listing costs the server far more CPU than the client,
    so with a CPU to spare a second worker should nearly double it."""
    means, _ = scaling_turns(b, c, "listing", 8, "/listing/", urls, order)
    return ratio(means["2"], means["1"])


def scaling_turns(b, c, workload, conns, path, urls, configs):
    """One short wrk run per config, in order. Returns each server's mean
    req/s, and how far p's two turns differ as a share of their mean (the
    noise floor; 0 with fewer than two)."""
    turns = {}
    for config in configs:
        label = f"{workload}, c{conns}, {scaling_label(b.cfg, config)}"
        fig = run_wrk(b, c.name, label, conns, urls[config] + path, SCALING_SECONDS)
        turns.setdefault(config, []).append(fig.rps)
    means = {k: round(sum(v) / len(v), 2) for k, v in turns.items()}
    p = turns.get("p", [])
    spread = round(2 * abs(p[0] - p[1]) / (p[0] + p[1]), 4) if len(p) >= 2 else 0.0
    return means, spread


def record_scaling(b, c, tiny_rounds, listing_rounds):
    """Per run, the median over the rounds of each figure and ratio."""
    rec = b.results.record
    rec(c.name, "w1p_rps", median([m["p"] for m, _ in tiny_rounds]))
    rec(c.name, "w1u_rps", median([m["1"] for m, _ in tiny_rounds]))
    rec(c.name, "w2_rps", median([m["2"] for m, _ in tiny_rounds]))
    rec(c.name, "w2_vs_p", median([ratio(m["2"], m["p"]) for m, _ in tiny_rounds]))
    rec(c.name, "w2_vs_1", median([ratio(m["2"], m["1"]) for m, _ in tiny_rounds]))
    rec(c.name, "w1p_noise", median([spread for _, spread in tiny_rounds]))
    if c.kind == "staticd":
        rec(c.name, "w2_vs_1_list", median(listing_rounds))


def logging_cost(b, c):
    """What the access log costs: the 38 B keep-alive workload, alternating
    --log-format off and combined (to a file), in three rounds. Only these
    flags: the comparison settings do not apply here."""
    cfg = b.cfg
    for run in range(1, LOGGING_ROUNDS + 1):
        b.results.run = run
        for fmt in ("off", "combined"):
            log_file = os.path.join(b.workdir, f"access-{fmt}.log")
            args = ("--log-format", fmt, "--access-log", log_file)
            srv = b.servers.start(c, cfg.workers, cfg.server_cpus, args)
            run_wrk(b, f"log-{fmt}", "tiny 38 B, keep-alive, c50", 50, srv.url + "/tiny.html",
                    cfg.duration)
            b.servers.stop_all()


def bench_tls_server(b, c):
    """The --tls workloads against one contender, every one with the
    server's CPU share beside it. Idle connections first, as above."""
    cfg = b.cfg
    srv = b.servers.start(c, cfg.workers, cfg.server_cpus)
    for path, size in (("/tiny.html", TINY_SIZE), ("/medium.css", MEDIUM_SIZE),
                       ("/large.html", LARGE_SIZE)):
        check_file(srv.url, path, size)
    b.results.tls[c.name] = tls_session(srv.url)
    log(f"{c.name}: {b.results.tls[c.name]}")
    if not cfg.skip_idle:
        tls_idle_connections(b, c, srv)
    tls_tiny_keepalive(b, c, srv)
    tls_medium_keepalive(b, c, srv)
    tls_large_keepalive(b, c, srv)
    tls_handshakes(b, c, srv)
    b.servers.stop_all()


def tls_idle_connections(b, c, srv):
    """What an idle keep-alive TLS connection costs in memory, after its
    handshake and one request."""
    b.results.record(c.name, "idle_kib", run_idle(b, c.name, srv))


def tls_wrk(b, c, srv, key, label, conns, path):
    """One wrk run over keep-alive TLS connections (one handshake each, at
    the start), the server's CPU share added to its row and its CPU time
    per request recorded as key_cpu_us: the client (OpenSSL on one core)
    is often the limit here, and that figure compares the servers anyway."""
    with ServerCpu(srv.rss_pid) as cpu:
        fig = run_wrk(b, c.name, label, conns, srv.url + path, b.cfg.duration)
    b.results.add_cell(cpu.cell())
    if fig.requests:
        b.results.record(c.name, f"{key}_cpu_us", round(cpu.seconds * 1e6 / fig.requests, 1))
    return fig


def tls_tiny_keepalive(b, c, srv):
    """38 B: the cost of a request and of encrypting a small record."""
    fig = tls_wrk(b, c, srv, "tiny", "tls 38 B, keep-alive, c50", 50, "/tiny.html")
    b.results.record(c.name, "tiny_rps", fig.rps)
    b.results.record(c.name, "tiny_p99", fig.p99_ms)


def tls_medium_keepalive(b, c, srv):
    fig = tls_wrk(b, c, srv, "medium", "tls 96 KiB, keep-alive, c16", 16, "/medium.css")
    b.results.record(c.name, "medium_rps", fig.rps)


def tls_large_keepalive(b, c, srv):
    """~932 KiB: the encryption rate counts (no sendfile through TLS)."""
    fig = tls_wrk(b, c, srv, "large", "tls 932 KiB, keep-alive, c8", 8, "/large.html")
    b.results.record(c.name, "large_mibps", fig.mibps)


def tls_handshakes(b, c, srv):
    """A new connection and a full handshake per request. Not wrk: with
    `Connection: close` wrk reconnects with the same SSL object and resumes
    the session (nginx's $ssl_session_reused says "r" for all but the first
    request of each connection), so it measures resumptions. ab offers no
    session, so every connection is a full handshake (checked the same way:
    "." every time), it is concurrent (-c 50) and bounded by -n, and it is
    what the plain-HTTP table uses for new connections. The client's
    handshake costs more than the server's (OpenSSL 3 on one core), so the
    rate may be the client's limit: the server's CPU per handshake is the
    figure that compares the servers either way."""
    with ServerCpu(srv.rss_pid) as cpu:
        fig = run_ab(b, c.name, "tls 38 B, full handshake per request, c50",
                     srv.url + "/tiny.html", b.cfg.handshakes)
    b.results.add_cell(cpu.cell())
    b.results.record(c.name, "hs_rps", fig.rps)
    if fig.complete:
        b.results.record(c.name, "hs_cpu_us", round(cpu.seconds * 1e6 / fig.complete, 1))


def run_all(b, contenders, bench=bench_server):
    """The rounds: every contender in turn, the order rotating from one
    round to the next (with two, alternating), so that a drift of the
    machine over the run (heat, other load) does not always favour the
    same one."""
    for run in range(1, b.cfg.runs + 1):
        b.results.run = run
        k = (run - 1) % len(contenders)
        order = contenders[k:] + contenders[:k]
        log(f"run {run} of {b.cfg.runs}: {' '.join(c.name for c in order)}")
        for c in order:
            bench(b, c)
