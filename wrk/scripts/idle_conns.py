#!/usr/bin/env python3
"""idle_conns.py: what idle keep-alive connections cost a server in memory.

Usage:
    python3 idle_conns.py --port PORT --pid PID [--count 10000] [--path /tiny.html] [--tls]

Steps:
  1. read VmRSS of PID (the server process; for nginx, its worker) from
     /proc/PID/status;
  2. open COUNT connections to 127.0.0.1:PORT, a bounded number at a time
     (with --tls: TLS 1.3, a full handshake each, the certificate not
     checked), send one keep-alive GET on each and read the whole response;
  3. hold them all open, check that the server closed none of them, and read
     VmRSS again;
  4. send a second request on a sample of the held connections (they must
     still be usable), then close everything.

Prints one line that bench.py parses:
    idle-report count=N opened=N failed=N closed_by_server=N rss_before_kib=N
        rss_after_kib=N per_conn_kib=F open_seconds=F sample=N sample_ok=N
        tls=VERSION/CIPHER (tls=no without --tls)
Exit status: 0 if every connection was opened and answered and stayed open,
1 otherwise (the line is printed either way), 2 on bad usage.

Only the standard library; the whole run is bounded by --timeout seconds.
"""

import argparse
import errno
import resource
import selectors
import socket
import ssl
import sys
import time

REQUEST = "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: idle_conns\r\n\r\n"


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])  # the kernel reports kB = KiB
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        sys.exit(f"idle_conns.py: need {need} file descriptors, the limit is {soft} (raise ulimit -n)")


class Response:
    """Incremental reader of one HTTP/1.1 response with a Content-Length."""

    def __init__(self, head_request=False):
        self.buf = b""
        self.need = None  # total bytes (head + body) once the head is in
        self.status = None
        self.head_request = head_request

    def feed(self, data):
        """Returns True once the whole response has arrived."""
        self.buf += data
        if self.need is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    raise ValueError("response head too large")
                return False
            head = self.buf[:end].decode("latin-1").split("\r\n")
            parts = head[0].split()
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
                elif name.strip().lower() == "transfer-encoding":
                    raise ValueError("chunked response; use a static file")
            self.need = end + 4 + (0 if self.head_request else length)
        return len(self.buf) >= self.need


class Conn:
    __slots__ = ("sock", "state", "out", "resp")

    def __init__(self, sock, request):
        self.sock = sock
        self.state = "connecting"
        self.out = request
        self.resp = Response()


def tls_context():
    """TLS 1.3 without certificate checks (the benchmark's certificate is
    self-signed and made for the run), no session offered: every
    connection does a full handshake."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def read_available(s, resp):
    """Feeds resp what s has now, including what TLS decrypted but did not
    hand out yet (pending); returns (closed, complete)."""
    while True:
        data = s.recv(65536)
        if not data:
            return True, False
        if resp.feed(data):
            return False, True
        if not (isinstance(s, ssl.SSLSocket) and s.pending()):
            return False, False


def open_all(args, request, deadline, ctx=None):
    """Opens args.count connections, at most args.concurrency in progress at
    a time; returns (open sockets, failure count). With ctx, each is a TLS
    connection whose handshake is driven here, non-blocking."""
    sel = selectors.DefaultSelector()
    done, failed, started, busy = [], 0, 0, 0
    addr = (args.host, args.port)

    def fail(conn, why):
        nonlocal failed, busy
        failed += 1
        busy -= 1
        if failed <= 5:
            print(f"idle_conns.py: connection failed: {why}", file=sys.stderr)
        sel.unregister(conn.sock)
        conn.sock.close()

    while len(done) + failed < args.count:
        if time.monotonic() > deadline:
            print("idle_conns.py: timed out opening connections", file=sys.stderr)
            failed += args.count - len(done) - failed
            break
        while started < args.count and busy < args.concurrency:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            if ctx is not None:
                s = ctx.wrap_socket(s, do_handshake_on_connect=False)
            started += 1
            busy += 1
            conn = Conn(s, request)
            err = s.connect_ex(addr)
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                busy -= 1
                continue
            sel.register(s, selectors.EVENT_WRITE, conn)
        for key, _ in sel.select(timeout=0.5):
            conn = key.data
            s = conn.sock
            try:
                if conn.state == "connecting":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(conn, f"connect: {errno.errorcode.get(err, err)}")
                        continue
                    conn.state = "handshake" if ctx is not None else "sending"
                if conn.state == "handshake":
                    try:
                        s.do_handshake()
                    except ssl.SSLWantReadError:
                        sel.modify(s, selectors.EVENT_READ, conn)
                        continue
                    except ssl.SSLWantWriteError:
                        sel.modify(s, selectors.EVENT_WRITE, conn)
                        continue
                    conn.state = "sending"
                    sel.modify(s, selectors.EVENT_WRITE, conn)
                    continue
                if conn.state == "sending":
                    n = s.send(conn.out)
                    conn.out = conn.out[n:]
                    if not conn.out:
                        conn.state = "reading"
                        sel.modify(s, selectors.EVENT_READ, conn)
                    continue
                closed, complete = read_available(s, conn.resp)
                if closed:
                    fail(conn, "closed before the whole response")
                    continue
                if complete:
                    if conn.resp.status != 200:
                        fail(conn, f"status {conn.resp.status}")
                        continue
                    sel.unregister(s)
                    done.append(s)
                    busy -= 1
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError):
                continue
            except (OSError, ValueError) as e:
                fail(conn, e)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return done, failed


def closed_by_server(socks):
    """How many of the held sockets the server has closed (EOF or error
    readable without blocking); nothing is read from the others."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    ready = [key.fileobj for key, _ in sel.select(timeout=0)]
    sel.close()
    closed = 0
    for s in ready:
        try:
            # TLS cannot peek: read instead (nothing is expected; a record
            # that is not application data, a late session ticket, leaves
            # nothing to read).
            tls = isinstance(s, ssl.SSLSocket)
            if not (s.recv(1) if tls else s.recv(1, socket.MSG_PEEK)):
                closed += 1
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError:
            closed += 1
    return closed


def reuse_sample(socks, request, deadline):
    """A second request on each of socks, one at a time; returns how many
    answered 200."""
    ok = 0
    for s in socks:
        try:
            s.setblocking(True)
            s.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
            s.sendall(request)
            resp = Response()
            while True:
                closed, complete = read_available(s, resp)
                if closed:
                    break
                if complete:
                    ok += resp.status == 200
                    break
        except (OSError, ValueError):
            pass
    return ok


def tls_of(socks):
    """The protocol and cipher of the first connection, or "no"."""
    s = socks[0] if socks else None
    if not isinstance(s, ssl.SSLSocket):
        return "no"
    return f"{s.version()}/{s.cipher()[0]}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="process whose VmRSS is measured")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--path", default="/tiny.html")
    p.add_argument("--concurrency", type=int, default=200,
                   help="connections being opened at once (stay under the listen backlog)")
    p.add_argument("--sample", type=int, default=100,
                   help="held connections that get a second request at the end")
    p.add_argument("--timeout", type=float, default=120, help="seconds for the whole run")
    p.add_argument("--tls", action="store_true",
                   help="TLS 1.3 connections (full handshakes, certificate not checked)")
    args = p.parse_args()
    if args.count < 1 or args.concurrency < 1:
        p.error("--count and --concurrency must be positive")

    deadline = time.monotonic() + args.timeout
    raise_nofile(args.count + 64)
    request = REQUEST.format(path=args.path, host=f"{args.host}:{args.port}").encode("ascii")

    rss_before = vm_rss_kib(args.pid)
    start = time.monotonic()
    socks, failed = open_all(args, request, deadline, tls_context() if args.tls else None)
    open_seconds = time.monotonic() - start
    closed = closed_by_server(socks)
    rss_after = vm_rss_kib(args.pid)
    sample = socks[: max(0, min(args.sample, len(socks)))]
    sample_ok = reuse_sample(sample, request, deadline)
    tls = tls_of(socks)
    for s in socks:
        s.close()

    opened = len(socks)
    per_conn = (rss_after - rss_before) / opened if opened else 0.0
    print(
        f"idle-report count={args.count} opened={opened} failed={failed} "
        f"closed_by_server={closed} rss_before_kib={rss_before} rss_after_kib={rss_after} "
        f"per_conn_kib={per_conn:.2f} open_seconds={open_seconds:.2f} "
        f"sample={len(sample)} sample_ok={sample_ok} tls={tls}"
    )
    good = failed == 0 and closed == 0 and opened == args.count and sample_ok == len(sample)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
