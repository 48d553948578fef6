"""Process and wire helpers for the staticd functional suite (stdlib only).

Nothing here knows about individual checks: this module starts and stops
server processes, speaks raw HTTP/1.x over sockets, and holds the assertions
that many checks share.

It is also the one place that knows whether the run is over TLS: run.py
--tls calls use_tls(), after which every Server gets the certificate and key
and every client connection made through connect() (RawConn and
http_client() alike) is TLS, trusting that certificate only.

And whether it is over HTTP/2: run.py --http2 calls use_http2(), after
which http_client() hands out h2client.Connection (http.client's
interface, speaking HTTP/2: h2 by ALPN over TLS, h2c by prior knowledge
otherwise) and request() sends its raw HTTP/1.1 bytes as one HTTP/2
request, translated as a gateway would (see h2client). Checks about the
HTTP/1.1 wire itself carry @http1_only("why") and are skipped, and
counted, under --http2; a RawConn opened by any other check fails it.
"""

import email.utils
import http.client
import os
import queue
import re
import socket
import ssl
import subprocess
import threading
import time

LISTEN_RE = re.compile(r"listening on (https?)://([0-9.]+):([0-9]+)")
DATE_RE = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
STATUS_RE = re.compile(rb"^HTTP/(1\.[01]) (\d{3})(?: (.*))?$")
TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

START_TIMEOUT = 10.0   # seconds for a server to print its listening line
IO_TIMEOUT = 5.0       # every socket operation
CLOSE_WAIT = 3.0       # how long we wait for the server to close a connection
CONN_DEADLINE = 30.0   # whole life of one raw connection
CLI_TIMEOUT = 10.0     # a command that should exit by itself


class CheckFailed(AssertionError):
    pass


def fail(msg):
    raise CheckFailed(msg)


def eq(actual, expected, what):
    if actual != expected:
        fail(f"{what}: expected {expected!r}, got {actual!r}")


def short(data, n=120):
    """A printable, one-line excerpt of some bytes or text."""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data)
        text = repr(data[:n]) + ("..." if len(data) > n else "")
    else:
        text = repr(data[:n]) + ("..." if len(data) > n else "")
    return text


# --------------------------------------------------------------------------
# plain or TLS: set once by run.py, before any server starts

TLS = None              # an ssl.SSLContext in TLS mode, None over plain HTTP
TLS_HOSTNAME = "localhost"
SERVER_TLS_ARGS = []    # appended to every Server's command line in TLS mode


def use_tls(cert, key):
    """Run everything over TLS: servers get --tls-cert/--tls-key, clients
    verify the server against `cert` alone, for the name TLS_HOSTNAME. A
    server closing without close_notify is an error, not an end of stream."""
    global TLS, SERVER_TLS_ARGS
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # verifies chain and host name
    ctx.load_verify_locations(cafile=str(cert))
    TLS = ctx
    SERVER_TLS_ARGS = ["--tls-cert", str(cert), "--tls-key", str(key)]


def scheme():
    return "https" if TLS is not None else "http"


HTTP2 = False           # set by use_http2()
h2client = None         # the h2client module, imported by use_http2()


def use_http2():
    """Run every check that is not @http1_only over HTTP/2. Raises
    ImportError when the pinned hyper-h2 package is not installed. Call it
    after use_tls(), whose context then offers ALPN h2 alone, so that a
    server answering http/1.1 fails the connection (h2client checks)."""
    global HTTP2, h2client
    import h2client as module
    h2client = module
    HTTP2 = True
    if TLS is not None:
        TLS.set_alpn_protocols(["h2"])


def connect(port, host="127.0.0.1", timeout=IO_TIMEOUT):
    """A connected client socket: TCP, then (in TLS mode) a finished handshake."""
    sock = socket.create_connection((host, port), timeout=timeout)
    if TLS is None:
        return sock
    try:
        return TLS.wrap_socket(sock, server_hostname=TLS_HOSTNAME,
                               suppress_ragged_eofs=False)
    except (ssl.SSLError, OSError) as e:
        sock.close()
        fail(f"TLS handshake with {host}:{port} failed: {type(e).__name__}: {e}")


def tcp_connect(port, host="127.0.0.1", timeout=IO_TIMEOUT):
    """A bare TCP connection, never TLS: a client that has sent nothing at all."""
    return socket.create_connection((host, port), timeout=timeout)


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = connect(self.port, self.host, self.timeout)


def http_client(port, host="127.0.0.1", timeout=IO_TIMEOUT):
    """An http.client connection (not yet open) that connects through
    connect(); under --http2 one with the same interface speaking HTTP/2."""
    if HTTP2:
        return h2client.Connection(host, port, timeout=timeout)
    return _HTTPConnection(host, port, timeout=timeout)


def clean_env(extra=None):
    """The caller's environment without any STATICD_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATICD_")}
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------
# server processes

class ServerError(Exception):
    pass


class Server:
    """One staticd process that has announced its listening address."""

    def __init__(self, binary, args, env=None, start_timeout=START_TIMEOUT,
                 prefix=(), pass_fds=()):
        """prefix: a command that runs the binary (its first argument);
        pass_fds: descriptors the process inherits (socket activation)."""
        self.cmd = ([str(a) for a in prefix] + [str(binary)] + [str(a) for a in args]
                    + SERVER_TLS_ARGS)
        self.stderr_lines = []
        self.stdout_lines = []
        self.host = None
        self.port = None
        try:
            self.proc = subprocess.Popen(
                self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=clean_env(env), pass_fds=pass_fds)
        except OSError as e:
            raise ServerError(f"cannot run {binary}: {e}") from None
        found = queue.Queue()
        threading.Thread(target=self._drain, daemon=True,
                         args=(self.proc.stderr, self.stderr_lines, found)).start()
        threading.Thread(target=self._drain, daemon=True,
                         args=(self.proc.stdout, self.stdout_lines, None)).start()
        try:
            item = found.get(timeout=start_timeout)
        except queue.Empty:
            self.stop()
            raise ServerError(
                f"no 'listening on {scheme()}://HOST:PORT' line on stderr within "
                f"{start_timeout:.0f} s{self._output_hint()}") from None
        if item is None:
            try:
                rc = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                rc = "?"
            self.stop()
            raise ServerError(f"exited (status {rc}) before listening{self._output_hint()}")
        if item[0] != scheme():
            self.stop()
            raise ServerError(f"announced {item[0]}://{item[1]}:{item[2]}, "
                              f"want {scheme()}://")
        self.host, self.port = item[1], int(item[2])

    def _drain(self, pipe, lines, found):
        announced = False
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if found is not None and not announced:
                m = LISTEN_RE.search(line)
                if m:
                    announced = True
                    found.put(m.groups())
        if found is not None and not announced:
            found.put(None)

    def _output_hint(self):
        time.sleep(0.1)  # let the drain threads catch the last lines
        parts = []
        if self.stderr_lines:
            parts.append("stderr: " + " | ".join(self.stderr_lines[-4:]))
        if self.stdout_lines:
            parts.append("stdout: " + " | ".join(self.stdout_lines[-4:]))
        return ("; " + "; ".join(parts)) if parts else "; no output at all"

    def alive(self):
        return self.proc.poll() is None

    def stderr_text(self):
        return "\n".join(self.stderr_lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def run_cli(binary, args, env=None, timeout=CLI_TIMEOUT):
    """Run staticd expecting it to exit by itself; returns (rc, stdout, stderr)."""
    try:
        p = subprocess.run([str(binary)] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           capture_output=True, env=clean_env(env), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        fail(f"{' '.join(map(str, args))}: still running after {timeout:.0f} s "
             f"(stderr: {' | '.join(err[-3:])})")
    except OSError as e:
        fail(f"cannot run {binary}: {e}")
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# --------------------------------------------------------------------------
# raw HTTP over sockets

class Closed(CheckFailed):
    pass


class Silent(CheckFailed):
    """The server sent nothing for a whole socket timeout."""


class Response:
    def __init__(self, version, status, reason, fields, head):
        self.version = version      # "1.1"
        self.status = status        # int
        self.reason = reason        # str
        self.fields = fields        # [(name, value)] as sent
        self.head = head            # raw bytes, status line to the empty line
        self.headers = {}
        for name, value in fields:
            self.headers[name.lower()] = value
        self.body = b""

    def h(self, name):
        return self.headers.get(name.lower())

    def count(self, name):
        return sum(1 for n, _ in self.fields if n.lower() == name.lower())

    def __repr__(self):
        return f"<{self.status} {short(self.head, 60)}>"


def parse_head(raw):
    lines = raw[:-4].split(b"\r\n")
    m = STATUS_RE.match(lines[0])
    if not m:
        fail(f"bad status line {short(lines[0])}")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not TOKEN_RE.match(name):
            fail(f"bad header line {short(line)}")
        fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return Response(m.group(1).decode(), int(m.group(2)),
                    (m.group(3) or b"").decode("latin-1"), fields, raw)


class RawConn:
    """A client socket with a receive buffer; every wait is bounded."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT):
        if HTTP2:
            fail("RawConn writes HTTP/1.1 bytes on its own socket: under --http2 use "
                 "request() or http_client(), or mark a check about HTTP/1.1 @http1_only")
        self.sock = connect(port, host, timeout)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.deadline = time.monotonic() + CONN_DEADLINE

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def shutdown_write(self):
        """Half-close: TCP FIN on our sending side, reading stays open. Over
        TLS this is the raw socket's shutdown (SSLSocket.shutdown would drop
        the TLS state, and unwrap() cannot send close_notify alone without
        losing the reading side), so the server sees end of stream with no
        close_notify from us, after a complete request."""
        socket.socket.shutdown(self.sock, socket.SHUT_WR)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _recv(self):
        """Read more into buf; False at end of stream (FIN or reset)."""
        if self.eof:
            return False
        if time.monotonic() > self.deadline:
            fail(f"connection open longer than {CONN_DEADLINE:.0f} s")
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError):
            chunk = b""
        except TimeoutError:
            raise Silent(f"no data from the server for {self.sock.gettimeout():.0f} s "
                         f"(have {short(self.buf, 60)})") from None
        except ssl.SSLEOFError:
            fail(f"the server closed the TLS connection without close_notify "
                 f"(have {short(self.buf, 60)})")
        except ssl.SSLError as e:
            fail(f"TLS error reading from the server: {e} (have {short(self.buf, 60)})")
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._recv():
                fail(f"connection closed after {len(self.buf)} of {n} body bytes")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_until_close(self):
        while self._recv():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def read_response(self, head=False, body=True):
        """One response; head=True for the answer to a HEAD request;
        body=False stops after the head and leaves the body unread."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if len(self.buf) > 65536:
                fail(f"no end of response head in 64 KiB: {short(self.buf)}")
            if not self._recv():
                if self.buf:
                    fail(f"connection closed inside a response head: {short(self.buf)}")
                raise Closed("connection closed without a response")
        raw = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        resp = parse_head(raw)
        if not body or head or resp.status in (204, 304) or 100 <= resp.status < 200:
            return resp
        cl = resp.h("Content-Length")
        if cl is not None:
            if not cl.isdigit():
                fail(f"bad Content-Length {cl!r}")
            resp.body = self.read_exact(int(cl))
        else:
            resp.body = self.read_until_close()
        return resp

    def expect_closed(self, wait=CLOSE_WAIT):
        """The server sends nothing more and closes the connection."""
        if self.buf:
            fail(f"unexpected bytes after the response: {short(self.buf)}")
        self.sock.settimeout(wait)
        try:
            got = self._recv()
        except Silent:
            fail(f"connection still open {wait:.0f} s after the response")
        finally:
            self.sock.settimeout(self.timeout)
        if got:
            time.sleep(0.2)
            try:
                self.sock.settimeout(0.5)
                self._recv()
            except CheckFailed:  # whatever happens next, the bytes above are the failure
                pass
            fail(f"unexpected bytes after the response: {short(self.buf)}")


def req(method, target, *headers, version="HTTP/1.1", host=True, body=b""):
    """Build raw request bytes; headers are 'Name: value' strings."""
    lines = [f"{method} {target} {version}"]
    if host:
        lines.append("Host: 127.0.0.1")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def request(port, raw, head=False):
    """Send raw bytes on a new connection and read one response; under
    --http2 the same request as one HTTP/2 stream (h2client.exchange)."""
    if HTTP2:
        return h2client.exchange(port, raw)
    with RawConn(port) as c:
        c.send(raw)
        return c.read_response(head=head)


# --------------------------------------------------------------------------
# shared assertions

def check_date(value, what="Date"):
    if value is None:
        fail(f"no {what} header")
    if not DATE_RE.match(value):
        fail(f"{what} is not an IMF-fixdate: {value!r}")
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError) as e:
        fail(f"{what} does not parse: {value!r} ({e})")


def assert_common(resp, what=""):
    """Headers that every response carries (200s carry more)."""
    where = f"{what} -> {resp.status}: " if what else f"{resp.status}: "
    # HTTP/2 has no Connection field: h2client fails any response carrying one
    required = ("Date", "Server", "Content-Length") if HTTP2 else ("Date", "Server",
                                                                   "Connection", "Content-Length")
    for name in required:
        if resp.h(name) is None:
            fail(f"{where}no {name} header (head {short(resp.head, 200)})")
    for name in ("Date", "Server", "Connection", "Content-Length", "Content-Type",
                 "Last-Modified", "Location", "Allow"):
        if resp.count(name) > 1:
            fail(f"{where}{name} sent {resp.count(name)} times")
    check_date(resp.h("Date"))
    date = email.utils.parsedate_to_datetime(resp.h("Date"))
    if abs(date.timestamp() - time.time()) > 300:
        fail(f"{where}Date {resp.h('Date')!r} is far from now")
    if not resp.h("Server").startswith("staticd/"):
        fail(f"{where}Server {resp.h('Server')!r} does not start with 'staticd/'")
    if resp.status == 200:
        for name in ("Content-Type", "Last-Modified"):
            if resp.h(name) is None:
                fail(f"{where}no {name} header")
        check_date(resp.h("Last-Modified"), "Last-Modified")


def media_type(value):
    return (value or "").split(";")[0].strip().lower()


# --------------------------------------------------------------------------
# check registry: run.py runs these in the order they were defined

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def http1_only(why):
    """Marks a check about the HTTP/1.1 wire itself (raw framing,
    persistence, Connection, HTTP/1.0, pipelining, chunked, the request
    line): run.py --http2 skips it, printing `why`, and counts it."""
    def mark(fn):
        fn.http1_only = why
        return fn
    return mark


def started_once(ctx, key, make_args, what):
    """The port of the suite's server `key`, started on first use with the
    arguments `make_args()` returns (it may write its root first); a
    server that does not start fails the check, naming `what`."""
    if key not in ctx.servers:
        try:
            ctx.servers[key] = Server(ctx.bin, make_args())
        except ServerError as e:
            fail(f"{what} did not start: {e}")
    return ctx.servers[key].port
