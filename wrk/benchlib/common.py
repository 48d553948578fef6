"""What every part of the benchmark shares: the settings of one invocation,
the contenders, the figures collected, and how to stop with a message."""

import os
import sys
from dataclasses import dataclass, field

WRK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(WRK_DIR)
LUA_DIR = os.path.join(WRK_DIR, "scripts")
IDLE_CLIENT = os.path.join(LUA_DIR, "idle_conns.py")

# Connection limit of both servers: the idle workload needs more than
# staticd's default of 10000.
MAX_CONNECTIONS = 20000
AB_CONCURRENCY = 50

# Corpus files and their exact sizes in bytes.
TINY_SIZE = 38
SMALL_SIZE = 32768
MEDIUM_SIZE = 98620
LARGE_SIZE = 954824
BIG_SIZE = 1024 * 1024 * 1024
LISTING_ENTRIES = 3000

SCALING_ROUNDS = 4
SCALING_SECONDS = 2
LOGGING_ROUNDS = 3


def die(message):
    """Stops the run; raising (rather than exiting here) lets the caller's
    cleanup stop the servers and remove the scratch directory."""
    sys.stdout.flush()
    print(f"bench.py: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def log(message):
    sys.stdout.flush()
    print(f"==> {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Contender:
    """One server in the comparison: `name` labels it in every table,
    `kind` says how to start it (staticd or nginx); `access_log` starts it
    with the Combined access log (to a file) instead of none; `args`
    are more staticd options (for nginx, more http-level directives),
    `headers` request fields every client of it sends (--rules: the site
    rules and the credentials; --compress: Accept-Encoding)."""

    name: str
    kind: str
    binary: str
    access_log: bool = False
    args: tuple = ()
    headers: tuple = ()


@dataclass(frozen=True)
class TlsFiles:
    """The certificate and key every server of a --tls run loads."""

    cert: str
    key: str


@dataclass
class Config:
    runs: int = 1
    workers: int = 1
    mode: str = "all"  # "all"; "logging": the access log's cost alone; "tls": HTTPS; "rules";
    # "metrics"; "compress"; "http2": h2 and h2c against nginx with h2load
    skip_idle: bool = False
    skip_1g: bool = False
    skip_nginx: bool = False
    against: str = ""  # another staticd binary to compare with, instead of nginx
    log_both: bool = False  # every contender logs Combined to a file
    binary: str = ""  # a prebuilt staticd instead of cargo build
    duration: int = 5
    ab_requests: int = 20000
    handshakes: int = 10000  # --tls: full handshakes of the new-connection workload
    idle_connections: int = 10000
    server_cpus: str = "0"
    client_cpus: str = "1"
    rust_log: str = "warn"
    nginx_bin: str = ""
    command: str = ""  # the command line, for the report

    @property
    def rival(self):
        """The second column of the comparison."""
        return "baseline" if self.against else "nginx"


@dataclass
class Results:
    """Everything measured: the per-run rows, as printed, and the figures
    the comparison is made of, keyed by (run, server, key)."""

    rows: list = field(default_factory=list)
    idle_rows: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    errors: int = 0
    run: int = 1
    loadavg: str = ""
    tls: dict = field(default_factory=dict)  # --tls: server -> what a client negotiated

    def record(self, server, key, value):
        self.values[(self.run, server, key)] = value

    def value(self, run, server, key):
        return self.values.get((run, server, key))

    def add_row(self, server, *cells):
        self.rows.append((str(self.run), server, *cells))

    def add_idle_row(self, server, *cells):
        self.idle_rows.append((str(self.run), server, *cells))

    def add_cell(self, cell):
        """One more cell at the end of the last row (--tls: the server's CPU)."""
        self.rows[-1] = (*self.rows[-1], cell)


@dataclass
class Bench:
    """The state one workload needs: settings, servers, results, scratch;
    in an --http2 run the certificate of its TLS starts (the servers
    themselves start without one)."""

    cfg: Config
    servers: object
    results: Results
    workdir: str
    tls: object = None
