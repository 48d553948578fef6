"""The servers under test: the one place that starts them, with their
settings and pinning, and stops them."""

import os
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass

from .common import MAX_CONNECTIONS, die, log

# staticd settings equivalent to the nginx configuration below: no access
# log, nginx's keepalive_timeout and keepalive_requests, the raised
# connection limit.
COMPARE_ARGS = ("--log-format", "off", "--keepalive-timeout", "65s", "--max-requests", "100000",
                "--max-connections", str(MAX_CONNECTIONS))
LISTENING = re.compile(r"listening on https?://\S*:(\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STOP_TIMEOUT = 30  # staticd finishes requests in flight for up to 10 s


@dataclass
class Running:
    """A started server: where it listens, and the process whose RSS the
    idle workload measures (staticd itself; nginx's worker)."""

    url: str  # http:// or, in a --tls run, https://
    port: int
    rss_pid: int


def placement(workers, cpus):
    return f"workers={workers}, cpus={cpus}" if cpus else f"workers={workers}, not pinned"


class Servers:
    """Starts contenders on free ports of 127.0.0.1 and stops every one it
    started. Each start gets its own diagnostics file under workdir/logs.
    With `tls` (a TlsFiles), every server speaks HTTPS only, with that
    certificate (a start can also name its own: --http2 starts some with
    TLS and some without)."""

    def __init__(self, workdir, rust_log, nofile, tls=None):
        self.workdir = workdir
        self.corpus = os.path.join(workdir, "corpus")
        self.rust_log = rust_log
        self.nofile = nofile
        self.tls = tls
        self.procs = []
        self.starts = 0

    def start(self, contender, workers, cpus, staticd_args=COMPARE_ARGS, tls=None, http2=False):
        """Starts `contender` with `workers` workers pinned to `cpus` ("" =
        not pinned). The pinned process is the server itself (taskset execs
        it): that PID is what stop_all signals and what RSS is read of.
        `tls` (a TlsFiles) makes this one speak HTTPS even if the others do
        not; `http2` turns HTTP/2 on in nginx (staticd has it on by
        default) and, with TLS, limits nginx to TLS 1.3."""
        self.starts += 1
        tls = tls or self.tls
        log(f"starting {contender.name} ({placement(workers, cpus)})")
        pin = ["taskset", "-c", cpus] if cpus else []
        if contender.kind == "nginx":
            return self._start_nginx(contender, workers, pin, tls, http2)
        return self._start_staticd(contender, workers, pin, staticd_args, tls)

    def stop_all(self):
        """nginx's master stops its workers on SIGTERM before it exits;
        staticd drains requests in flight first."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []

    def log_files(self, contender):
        """Every diagnostics file of that contender's servers, in start order."""
        logs = os.path.join(self.workdir, "logs")
        files = []
        for n in range(1, self.starts + 1):
            if contender.kind == "nginx":
                d = os.path.join(self.workdir, f"nginx-{n}")
                files += [os.path.join(d, "stderr.log"), os.path.join(d, "error.log")]
            else:
                files.append(os.path.join(logs, f"{contender.name}-{n}.log"))
        return [f for f in files if os.path.isfile(f)]

    def _spawn(self, cmd, stderr_path, env=None):
        with open(stderr_path, "w") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, env=env)
        self.procs.append(proc)
        return proc

    def _start_staticd(self, contender, workers, pin, args, tls):
        logfile = os.path.join(self.workdir, "logs", f"{contender.name}-{self.starts}.log")
        env = dict(os.environ, RUST_LOG=self.rust_log, NO_COLOR="1")
        if contender.access_log:
            # The default format, to a file as a deployment would have it.
            access = os.path.join(self.workdir, "logs", f"{contender.name}-{self.starts}.access")
            args = with_access_log(args, access)
        if tls:
            args = (*args, "--tls-cert", tls.cert, "--tls-key", tls.key)
        cmd = pin + [contender.binary, "--root", self.corpus, "--bind", "127.0.0.1", "--port", "0",
                     "--workers", str(workers), *args, *contender.args]
        proc = self._spawn(cmd, logfile, env)
        port = wait_for_listening(proc, logfile, contender.name)
        expect_comm(proc.pid, os.path.basename(contender.binary))
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        log(f"{contender.name} (pid {proc.pid}) is listening on {url}")
        return Running(url, port, proc.pid)

    def _start_nginx(self, contender, workers, pin, tls, http2):
        """nginx in the foreground (daemon off), a child of ours. The free
        port is picked before nginx binds it, so someone may take it
        meanwhile: then try another, up to 5 times."""
        d = os.path.join(self.workdir, f"nginx-{self.starts}")
        os.makedirs(os.path.join(d, "temp"), exist_ok=True)
        for _ in range(5):
            port = free_port()
            with open(os.path.join(d, "nginx.conf"), "w") as f:
                access = os.path.join(d, "access.log") if contender.access_log else None
                f.write(nginx_conf(contender.binary, d, self.corpus, port, workers, self.nofile,
                                   tls, contender.args, access, http2))
            open(os.path.join(d, "error.log"), "w").close()
            # -e: errors before the configuration is read go to d too.
            proc = self._spawn(pin + [contender.binary, "-p", d + "/", "-c", f"{d}/nginx.conf",
                                      "-e", f"{d}/error.log"], os.path.join(d, "stderr.log"))
            if nginx_came_up(proc, port, d):
                break
            log(f"port {port} was taken meanwhile; trying another")
        else:
            die("nginx could not bind a free port in 5 attempts")
        worker = nginx_worker(proc.pid)
        expect_comm(proc.pid, "nginx")
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        log(f"nginx (master {proc.pid}, worker {worker}) is listening on {url}")
        return Running(url, port, worker)


def with_access_log(args, path):
    """args with --log-format off replaced by staticd's default format
    (combined) written to path."""
    out, rest = [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--log-format" and rest:
            rest.pop(0)
            continue
        out.append(arg)
    return (*out, "--log-format", "combined", "--access-log", path)


def wait_for_listening(proc, logfile, name):
    """The port from staticd's "listening on http://IP:PORT" line (printed at
    any log level), polled for up to 10 s."""
    for _ in range(100):
        with open(logfile, errors="replace") as f:
            found = LISTENING.search(ANSI.sub("", f.read()))
        if found:
            return int(found.group(1))
        if proc.poll() is not None:
            dump(logfile)
            die(f"{name} exited before it was listening")
        time.sleep(0.1)
    dump(logfile)
    die(f"{name} did not log 'listening on http://IP:PORT' within 10 s")


def nginx_came_up(proc, port, d):
    """True once nginx accepts on port; False if it exited because the port
    was taken; stops the run on any other failure."""
    if wait_accepting(port, proc):
        return True
    logs = [os.path.join(d, "stderr.log"), os.path.join(d, "error.log")]
    if proc.poll() is None:
        dump(*logs)
        die(f"nginx did not accept connections on port {port} within 10 s")
    if not any("Address already in use" in read_text(f) for f in logs):
        dump(*logs)
        die("nginx exited at startup")
    return False


def nginx_conf(nginx_bin, d, root, port, workers, nofile, tls=None, extra=(), access_log=None,
               http2=False):
    """An nginx configuration equivalent to COMPARE_ARGS, every path inside d.
    As root the workers keep root's rights: the corpus is in a private
    (0700) directory. The built-in modules' temporary-file directories go
    in d too (nginx would create the compiled-in ones elsewhere). With tls,
    HTTPS only: TLS 1.2 and 1.3 as staticd, and nginx's usual session
    cache (tickets are on by default, as in staticd). `extra` are more
    http-level directives (--compress: gzip); `access_log` a file for the
    Combined access log (--log-both), else none. With http2, HTTP/2 on the
    listener (h2 by ALPN with tls, else h2c by prior knowledge) and, with
    tls, TLS 1.3 alone, as the --http2 comparison asks."""
    configure = subprocess.run([nginx_bin, "-V"], capture_output=True, text=True).stderr
    temp_lines = f"client_body_temp_path {d}/temp/client_body;"
    for module in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in configure:
            temp_lines += f"\n    {module}_temp_path {d}/temp/{module};"
    user_line = "user root;" if os.getuid() == 0 else ""
    listen, tls_lines = f"127.0.0.1:{port}", ""
    if tls:
        listen += " ssl"
        tls_lines = f"""
        ssl_certificate {tls.cert};
        ssl_certificate_key {tls.key};
        ssl_protocols {"TLSv1.3" if http2 else "TLSv1.2 TLSv1.3"};
        ssl_session_cache shared:SSL:10m;"""
    if http2 and nginx_version(configure) >= (1, 25, 1):
        tls_lines += "\n        http2 on;"
    elif http2:
        listen += " http2"  # before 1.25.1, a parameter of listen
    return f"""# Written by bench.py; equivalent to staticd {' '.join(COMPARE_ARGS)}
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {nofile};
{user_line}
pid {d}/nginx.pid;
error_log {d}/error.log warn;

events {{
    worker_connections {MAX_CONNECTIONS};
}}

http {{
    types {{
        text/html html htm;
        text/css css;
        application/octet-stream bin;
    }}
    default_type application/octet-stream;
    access_log {f"{access_log} combined" if access_log else "off"};
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 65;
    open_file_cache max=1000 inactive=20s;
    open_file_cache_valid 30s;
    {temp_lines}
    {chr(10).join("    " + line for line in extra).strip()}

    server {{
        listen {listen};
        server_name localhost;
        root {root};{tls_lines}
    }}
}}
"""


def nginx_version(v_output):
    """(major, minor, patch) from `nginx -V`'s first line; (0, 0, 0) if
    absent. nginx 1.25.1 replaced `listen ... http2` by `http2 on;`."""
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", v_output)
    return tuple(int(x) for x in found.groups()) if found else (0, 0, 0)


def nginx_worker(master):
    """The master's first child, forked before the socket accepts, so
    normally there already; polled for up to 5 s."""
    for _ in range(50):
        children = sorted(pid for pid in proc_pids() if parent_of(pid) == master)
        if children:
            return children[0]
        time.sleep(0.1)
    die(f"no nginx worker process under master {master}")


def proc_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def expect_comm(pid, comm):
    """Makes sure pid is the server (the kernel truncates names to 15 chars)."""
    got = read_text(f"/proc/{pid}/comm").strip()
    if got != comm[:15]:
        die(f"pid {pid} is not {comm} but '{got}'")


def free_port():
    """A port on 127.0.0.1 that nobody listens on right now (the kernel's
    pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepting(port, proc):
    """Polls for up to 10 s until 127.0.0.1:port accepts a connection;
    False if proc exits first or time runs out."""
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def client_tls():
    """A TLS client for checks: the run's certificate is self-signed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def check_file(base, path, size, headers=()):
    """One HEAD request (with the request fields `headers`): the server
    must answer 200 with the file's Content-Length. Catches a wrong root or
    port before benchmarking a page of 404s. Over TLS when base is
    https://."""
    port = int(base.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            s = client_tls().wrap_socket(raw) if base.startswith("https:") else raw
            fields = "".join(f"{h}\r\n" for h in headers)
            s.sendall(f"HEAD {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{fields}\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except (OSError, ssl.SSLError) as e:
        die(f"HEAD {base}{path} failed: {e}")
    lines = data.decode("latin-1").replace("\r", "").split("\n")
    status = (lines[0].split() + ["", ""])[1]
    length = next((line.split()[1] for line in lines[1:]
                   if line.split()[:1] and line.split()[0].lower() == "content-length:"
                   and len(line.split()) > 1), "")
    if status != "200":
        die(f"HEAD {base}{path}: status '{status}', expected 200")
    if length != str(size):
        die(f"HEAD {base}{path}: Content-Length '{length}', expected {size}")


def tls_session(base):
    """What an OpenSSL client negotiates with the server (the load
    generators all use OpenSSL's defaults): protocol, cipher suite, key
    exchange, signature. Stops the run unless it is TLS 1.3."""
    port = int(base.rsplit(":", 1)[1])
    try:
        done = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
        out = done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        out = ""
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    get = lambda key: fields.get(key, "?").strip()
    version = get("Protocol version")
    if version != "TLSv1.3":
        print(out, file=sys.stderr)
        die(f"{base}: openssl s_client negotiated '{version}', expected TLSv1.3")
    kex = get("Peer Temp Key") if "Peer Temp Key" in fields else get("Server Temp Key")
    return (f"{version} {get('Ciphersuite')}, key exchange {kex.split(',')[0]}, "
            f"{get('Signature type')} signature")


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def dump(*paths):
    for path in paths:
        print(read_text(path), end="", file=sys.stderr)
