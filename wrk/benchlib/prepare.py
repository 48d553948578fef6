"""Getting the machine ready: tools, the staticd binary, the open-files
limit, the corpus, the certificate of a --tls run."""

import os
import resource
import shutil
import subprocess

from .common import (BIG_SIZE, LARGE_SIZE, LISTING_ENTRIES, MAX_CONNECTIONS, MEDIUM_SIZE,
                     REPO_ROOT, SMALL_SIZE, TINY_SIZE, TlsFiles, die, log)

TINY_HTML = "<!doctype html><title>t</title>hello!\n"
INDEX_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>staticd benchmark corpus</title>
<link rel="stylesheet" href="medium.css"></head>
<body><ul>
<li><a href="tiny.html">tiny.html</a></li>
<li><a href="medium.css">medium.css</a></li>
<li><a href="large.html">large.html</a></li>
</ul></body></html>
"""


def find_nginx(cfg):
    """BENCH_NGINX, else nginx from PATH or sbin (Debian installs it in sbin,
    which is not on every user's PATH)."""
    if cfg.nginx_bin:
        return cfg.nginx_bin
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin"
    return shutil.which("nginx", path=path) or ""


def install_tools(cfg):
    """Installs the Debian packages of the missing tools with apt-get. On a
    machine running systemd, nginx's install script also starts the system
    service on port 80, which the benchmark neither uses nor stops."""
    wanted = [("wrk", "wrk"), ("ab", "apache2-utils"), ("taskset", "util-linux")]
    if cfg.mode == "all":
        wanted.append(("curl", "curl"))
    if cfg.mode in ("tls", "http2"):
        wanted.append(("openssl", "openssl"))
    if cfg.mode == "http2":
        wanted.append(("h2load", "nghttp2-client"))
    missing = [package for tool, package in wanted if not shutil.which(tool)]
    needs_nginx = not cfg.skip_nginx and not cfg.against
    if needs_nginx and not find_nginx(cfg):
        missing.append("nginx")
    if missing:
        apt_install(missing)
    if needs_nginx:
        cfg.nginx_bin = find_nginx(cfg) or die("nginx is still not found after installing it")


def apt_install(packages):
    names = " ".join(packages)
    if not shutil.which("apt-get"):
        die(f"missing {names} and no apt-get to install them with")
    sudo = []
    if os.getuid() != 0:
        if not shutil.which("sudo"):
            die(f"missing {names}; not root and no sudo")
        sudo = ["sudo"]
    log(f"installing {names}")
    subprocess.run(sudo + ["apt-get", "update"], check=True)
    subprocess.run(sudo + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                           "--no-install-recommends", *packages], check=True)


def build_staticd():
    """cargo build --release of this tree; returns the binary's path."""
    if not shutil.which("cargo"):
        die("cargo not found; install a Rust toolchain first")
    log("cargo build --release")
    if subprocess.run(["cargo", "build", "--release"], cwd=REPO_ROOT).returncode != 0:
        die("cargo build --release failed")
    target = os.environ.get("CARGO_TARGET_DIR") or "target"
    binary = os.path.join(REPO_ROOT, target, "release", "staticd")
    if not os.access(binary, os.X_OK):
        die(f"no executable at {binary} after the build")
    return binary


def raise_nofile(cfg):
    """The idle workload holds that many sockets in the client and as many in
    the server, and every process started from here inherits the limit.
    Returns the soft limit now in force (for nginx's worker_rlimit_nofile)."""
    need = MAX_CONNECTIONS + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new_hard = hard if hard == resource.RLIM_INFINITY else max(hard, need)
        for limits in ((need, new_hard), (hard, hard)):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, limits)
                break
            except (ValueError, OSError):
                continue
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = need if soft == resource.RLIM_INFINITY else soft
    if not cfg.skip_idle and nofile < cfg.idle_connections + 100:
        die(f"the open-files limit is {nofile}, too low for {cfg.idle_connections} idle "
            "connections; raise ulimit -n, lower BENCH_IDLE_CONNECTIONS or pass --skip-idle")
    return nofile


def sized_text(size, kind):
    """Exactly `size` bytes of well-formed css or html: a header, as many
    whole filler lines as fit, then padding and a footer."""
    if kind == "css":
        head, pad_open, foot = "/* staticd benchmark stylesheet */\n", "/*", "*/\n"
        line = lambda i: (f".rule-{i:05d} {{ margin: {i % 17}px {i % 23}px; "
                          f"color: #{(i * 40503) % 16777216:06x}; }}\n")
    else:
        head = ('<!doctype html>\n<html><head><meta charset="utf-8"><title>large</title></head>\n'
                "<body><pre>\n")
        pad_open, foot = "", "</pre></body></html>\n"
        line = lambda i: (f"{i:06d}  The quick brown fox jumps over the lazy dog; "
                          "pack my box with five dozen jugs.\n")
    reserve = len(pad_open) + len(foot)
    parts, used, i = [head], len(head), 0
    while used + len(line(i)) + reserve <= size:
        parts.append(line(i))
        used += len(line(i))
        i += 1
    parts += [pad_open, "-" * (size - used - reserve), foot]
    return "".join(parts)


def write_checked(path, text, size):
    with open(path, "w", encoding="ascii") as f:
        f.write(text)
    got = os.path.getsize(path)
    if got != size:
        die(f"{path} is {got} bytes, expected {size}")


def make_certificate(directory):
    """The one certificate every server of a --tls (or --http2) run loads: ECDSA P-256,
    self-signed for localhost and 127.0.0.1, made for this run in its
    temporary directory (removed with it, never kept)."""
    os.makedirs(directory)
    files = TlsFiles(os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem"))
    cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-keyout", files.key, "-out", files.cert, "-days", "2",
           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        die(f"openssl req failed: {done.stderr.strip()}")
    return files


def make_corpus(corpus, with_big):
    """The files every server serves. The 3,000-entry directory costs the
    server far more CPU than the client: the scaling check uses it to show
    a second worker joining in."""
    write_checked(os.path.join(corpus, "tiny.html"), TINY_HTML, TINY_SIZE)
    write_checked(os.path.join(corpus, "small.css"), sized_text(SMALL_SIZE, "css"), SMALL_SIZE)
    write_checked(os.path.join(corpus, "medium.css"), sized_text(MEDIUM_SIZE, "css"), MEDIUM_SIZE)
    write_checked(os.path.join(corpus, "large.html"), sized_text(LARGE_SIZE, "html"), LARGE_SIZE)
    with open(os.path.join(corpus, "index.html"), "w", encoding="ascii") as f:
        f.write(INDEX_HTML)
    listing = os.path.join(corpus, "listing")
    os.makedirs(listing)
    for i in range(1, LISTING_ENTRIES + 1):
        open(os.path.join(listing, f"entry-{i:04d}.txt"), "w").close()
    if with_big:
        make_big(os.path.join(corpus, "big.bin"))


def make_big(path):
    """Sparse, so no disk space or write time. The first read fills the page
    cache with its zero pages, which costs the first reader several times
    the transfer: read it once now so that no server pays for that."""
    with open(path, "wb") as f:
        f.truncate(BIG_SIZE)
    buf = bytearray(8 << 20)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
