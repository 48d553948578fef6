#!/usr/bin/env python3
"""idle_conns.py: what idle keep-alive connections cost a server in memory.

Usage:
    python3 idle_conns.py --port PORT --pid PID [--count 10000] [--path /tiny.html] [--tls] [--h2]

Steps:
  1. read VmRSS of PID (the server process; for nginx, its worker) from
     /proc/PID/status;
  2. open COUNT connections to 127.0.0.1:PORT, a bounded number at a time
     (with --tls: TLS 1.3, a full handshake each, the certificate not
     checked), send one keep-alive GET on each and read the whole response
     (with --h2: HTTP/2, by prior knowledge (h2c) or, with --tls, by ALPN
     (h2): the preface, an empty SETTINGS frame and a GET on stream 1 in
     one HEADERS frame, the server's SETTINGS acknowledged, the response
     read to its END_STREAM; the body must fit the initial window);
  3. hold them all open, check that the server closed none of them, and read
     VmRSS again;
  4. send a second request on a sample of the held connections (they must
     still be usable), then close everything.

Prints one line that bench.py parses:
    idle-report count=N opened=N failed=N closed_by_server=N rss_before_kib=N
        rss_after_kib=N per_conn_kib=F open_seconds=F sample=N sample_ok=N
        tls=VERSION/CIPHER (tls=no without --tls) protocol=http/1.1|h2c|h2
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

# HTTP/2 (RFC 9113): the client preface, and the frames read or written.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM = ACK = 0x1
END_HEADERS, PADDED, PRIORITY = 0x4, 0x8, 0x20
# HPACK static table (RFC 7541 appendix A): the names a request uses, and
# the :status entries.
AUTHORITY, METHOD, PATH, SCHEME = 1, 2, 4, 6
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
# Huffman codes of the digits (RFC 7541 appendix B): (code, bits).
HUFFMAN_DIGITS = {(0x0, 5): "0", (0x1, 5): "1", (0x2, 5): "2", (0x19, 6): "3", (0x1a, 6): "4",
                  (0x1b, 6): "5", (0x1c, 6): "6", (0x1d, 6): "7", (0x1e, 6): "8", (0x1f, 6): "9"}


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

    reply = b""  # nothing to answer (HTTP/2's reader queues its ACKs here)

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


def frame(kind, flags, stream, payload=b""):
    """One HTTP/2 frame: 9-byte header (length, type, flags, stream), payload."""
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big")
            + payload)


def literal(name_index, value):
    """A header field as a literal without indexing whose name is the static
    table's entry name_index (RFC 7541 6.2.2), the value not Huffman-coded:
    the dynamic table stays empty, so the same block serves every request."""
    v = value.encode("ascii")
    if name_index >= 15 or len(v) >= 127:
        raise ValueError(f"{value!r} does not fit a one-byte HPACK literal")
    return bytes([name_index, len(v)]) + v


def h2_get(stream, path, authority, scheme):
    """A GET on `stream`: one HEADERS frame, END_HEADERS and END_STREAM."""
    block = (literal(METHOD, "GET") + literal(SCHEME, scheme) + literal(PATH, path)
             + literal(AUTHORITY, authority))
    return frame(HEADERS, END_STREAM | END_HEADERS, stream, block)


def hpack_int(block, pos, prefix):
    """An HPACK integer with a `prefix`-bit prefix at pos (RFC 7541 5.1);
    returns (value, position after it)."""
    mask = (1 << prefix) - 1
    value, pos = block[pos] & mask, pos + 1
    shift = 0
    while value >= mask and shift < 64:
        byte, pos = block[pos], pos + 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, pos


def huffman_digits(data):
    """A Huffman-coded string of digits (a status), '' if any code is not a digit."""
    bits = "".join(f"{b:08b}" for b in data)
    out, pos = "", 0
    while len(bits) - pos >= 5:
        for width in (5, 6):
            digit = HUFFMAN_DIGITS.get((int(bits[pos:pos + width] or "0", 2), width))
            if digit:
                out, pos = out + digit, pos + width
                break
        else:
            # Only the EOS padding (all ones, under 8 bits) may remain.
            return out if set(bits[pos:]) == {"1"} and len(bits) - pos < 8 else ""
    return out


def hpack_status(block):
    """The :status of a response header block, from its first field (pseudo
    fields come first): indexed from the static table (200 is entry 8) or a
    literal named by a static :status entry. Anything else (a reference to
    the dynamic table) reads as 0, a failure."""
    pos = 0
    while pos < len(block) and block[pos] & 0xE0 == 0x20:  # dynamic table size update
        _, pos = hpack_int(block, pos, 5)
    if pos >= len(block):
        return 0
    first = block[pos]
    if first & 0x80:
        return STATIC_STATUS.get(hpack_int(block, pos, 7)[0], 0)
    name, pos = hpack_int(block, pos, 6 if first & 0x40 else 4)
    if name not in STATIC_STATUS:
        return 0
    huffman = block[pos] & 0x80
    length, pos = hpack_int(block, pos, 7)
    raw = block[pos:pos + length]
    text = huffman_digits(raw) if huffman else raw.decode("latin-1")
    return int(text) if text.isdigit() else 0


class H2Response:
    """Incremental reader of what the server sends on one HTTP/2 connection,
    kept for the connection's life (a read may end inside the next frame):
    the status of the stream expected, complete at its END_STREAM; the
    server's SETTINGS and PING get their ACK queued in `reply`; other
    frames (WINDOW_UPDATE, the ACK of our SETTINGS) are skipped."""

    def __init__(self, stream=1):
        self.buf = b""
        self.reply = b""
        self.expect(stream)

    def expect(self, stream):
        self.stream, self.status, self.done = stream, None, False

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            kind, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload, self.buf = self.buf[9:9 + length], self.buf[9 + length:]
            self.on_frame(kind, flags, stream, payload)
        return self.done

    def on_frame(self, kind, flags, stream, payload):
        if kind == SETTINGS and not flags & ACK:
            self.reply += frame(SETTINGS, ACK, 0)
        elif kind == PING and not flags & ACK:
            self.reply += frame(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            code = int.from_bytes(payload[4:8], "big")
            raise ValueError(f"GOAWAY, error code {code}")
        elif stream != self.stream:
            return
        elif kind == RST_STREAM:
            raise ValueError(f"RST_STREAM, error code {int.from_bytes(payload[:4], 'big')}")
        elif kind == HEADERS and self.status is None:
            start = (1 if flags & PADDED else 0) + (5 if flags & PRIORITY else 0)
            end = len(payload) - (payload[0] if flags & PADDED else 0)
            self.status = hpack_status(payload[start:end])
        if kind in (HEADERS, DATA) and flags & END_STREAM:
            self.done = True


class Http1:
    """Requests and readers of HTTP/1.1 keep-alive connections."""

    name = "http/1.1"

    def __init__(self, path, authority):
        self.request = REQUEST.format(path=path, host=authority).encode("ascii")

    def first(self):
        return self.request, Response()

    def again(self, conn):
        return self.request, Response()


class Http2:
    """Requests and readers of HTTP/2 connections: stream 1 with the
    preface, stream 3 for the second request."""

    def __init__(self, path, authority, tls):
        self.name = "h2" if tls else "h2c"
        self.args = (path, authority, "https" if tls else "http")

    def first(self):
        return PREFACE + frame(SETTINGS, 0, 0) + h2_get(1, *self.args), H2Response(1)

    def again(self, conn):
        conn.resp.expect(3)
        return h2_get(3, *self.args), conn.resp


class Conn:
    __slots__ = ("sock", "state", "out", "resp")

    def __init__(self, sock, protocol):
        self.sock = sock
        self.state = "connecting"
        self.out, self.resp = protocol.first()


def tls_context(h2=False):
    """TLS 1.3 without certificate checks (the benchmark's certificate is
    self-signed and made for the run), no session offered: every
    connection does a full handshake. With h2, ALPN offers h2 alone."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if h2:
        ctx.set_alpn_protocols(["h2"])
    return ctx


def read_available(s, resp):
    """Feeds resp what s has now, including what TLS decrypted but did not
    hand out yet (pending), and sends what resp has to answer (HTTP/2's
    ACKs, a few bytes); returns (closed, complete)."""
    while True:
        data = s.recv(65536)
        if not data:
            return True, False
        complete = resp.feed(data)
        if resp.reply:
            s.sendall(resp.reply)
            resp.reply = b""
        if complete:
            return False, True
        if not (isinstance(s, ssl.SSLSocket) and s.pending()):
            return False, False


def open_all(args, protocol, deadline, ctx=None):
    """Opens args.count connections, at most args.concurrency in progress at
    a time; returns (open connections, failure count). With ctx, each is a
    TLS connection whose handshake is driven here, non-blocking."""
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
            conn = Conn(s, protocol)
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
                    if protocol.name == "h2" and s.selected_alpn_protocol() != "h2":
                        fail(conn, f"ALPN chose {s.selected_alpn_protocol()!r}, not h2")
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
                    done.append(conn)
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


def reuse_sample(conns, protocol, deadline):
    """A second request on each of conns, one at a time; returns how many
    answered 200."""
    ok = 0
    for conn in conns:
        s = conn.sock
        try:
            s.setblocking(True)
            s.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
            request, resp = protocol.again(conn)
            s.sendall(request)
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
    p.add_argument("--h2", action="store_true",
                   help="HTTP/2: h2c by prior knowledge, or h2 by ALPN with --tls")
    args = p.parse_args()
    if args.count < 1 or args.concurrency < 1:
        p.error("--count and --concurrency must be positive")

    deadline = time.monotonic() + args.timeout
    raise_nofile(args.count + 64)
    authority = f"{args.host}:{args.port}"
    protocol = Http2(args.path, authority, args.tls) if args.h2 else Http1(args.path, authority)

    rss_before = vm_rss_kib(args.pid)
    start = time.monotonic()
    conns, failed = open_all(args, protocol, deadline,
                             tls_context(args.h2) if args.tls else None)
    open_seconds = time.monotonic() - start
    socks = [c.sock for c in conns]
    closed = closed_by_server(socks)
    rss_after = vm_rss_kib(args.pid)
    sample = conns[: max(0, min(args.sample, len(conns)))]
    sample_ok = reuse_sample(sample, protocol, deadline)
    tls = tls_of(socks)
    for s in socks:
        s.close()

    opened = len(socks)
    per_conn = (rss_after - rss_before) / opened if opened else 0.0
    print(
        f"idle-report count={args.count} opened={opened} failed={failed} "
        f"closed_by_server={closed} rss_before_kib={rss_before} rss_after_kib={rss_after} "
        f"per_conn_kib={per_conn:.2f} open_seconds={open_seconds:.2f} "
        f"sample={len(sample)} sample_ok={sample_ok} tls={tls} protocol={protocol.name}"
    )
    good = failed == 0 and closed == 0 and opened == args.count and sample_ok == len(sample)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
