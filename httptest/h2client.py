"""HTTP/2 for the functional suite (run.py --http2), over the pinned
hyper-h2 package (httptest/h2-requirements.txt): h2 by ALPN over TLS, h2c
by prior knowledge on a plain port.

Two ways in, so that the checks run unchanged:

- Connection is an http.client.HTTPConnection look-alike (request,
  getresponse, close, sock) whose responses have status, reason,
  getheader(s) and read(amt), as harness.http_client() hands out.
- exchange() takes the raw HTTP/1.1 request bytes that harness.request()
  is given and sends them as one HTTP/2 request, translated as a gateway
  would (RFC 9113 8.3.1): the request line's method and target become
  :method and :path (an absolute-form target its :authority and :path),
  Host becomes :authority, connection-specific fields are dropped, a
  Content-Length body goes as DATA. A request that has no HTTP/2 form
  (HTTP/1.0, no end of head, a malformed line, chunked, a target that is
  not a path) fails the check, naming it, rather than going unsent: such a
  check belongs under harness.http1_only.

Every response is checked as it arrives, whichever way it was asked for:
header names in lowercase, no connection-specific field (Connection,
Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade; RFC 9113
8.2.2), a HEAD answered by HEADERS with END_STREAM and no DATA, DATA
adding up to Content-Length, no stream reset and no GOAWAY cutting a
stream short. hyper-h2's own inbound header validation is off so that
these assertions, not the library, are what speaks.
"""

import re
import ssl

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

import harness
from harness import CheckFailed, fail, short

CONNECTION_FIELDS = ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                     "upgrade")
WINDOW = 1 << 24          # our receive window, per stream and for the connection
READ_SIZE = 65536         # bytes asked of the socket at a time
TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
ABSOLUTE_RE = re.compile(rb"^(https?)://([^/?#]+)(.*)$", re.IGNORECASE)


class _Stream:
    """What has arrived on one stream."""

    def __init__(self, method):
        self.method = method      # str, as sent
        self.status = None        # int, once the final HEADERS arrived
        self.fields = None        # [(name, value)] as received, pseudo-headers left out
        self.data = bytearray()   # DATA not yet read
        self.received = 0         # DATA bytes in all
        self.ended = False
        self.reset = None         # error code of a RST_STREAM


class Connection:
    """One HTTP/2 connection with the interface the checks use from
    http.client.HTTPConnection: request() sends a stream at once,
    getresponse() waits for the oldest unanswered one's HEADERS."""

    def __init__(self, host, port, timeout=harness.IO_TIMEOUT):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.h2 = None
        self.streams = {}
        self.waiting = []         # stream ids sent, getresponse() not yet called
        self.goaway = None        # (error code, last stream id, as shown) once it came

    # ---- http.client's interface ------------------------------------------

    def request(self, method, url, body=None, headers=None):
        """Sends one request; Host becomes :authority (host:port as
        http.client sends it by default) and connection-specific fields
        are dropped, as RFC 9113 8.2.2 has a gateway do."""
        pairs = headers.items() if isinstance(headers, dict) else (headers or ())
        authority = f"{self.host}:{self.port}".encode()
        fields = []
        for name, value in pairs:
            name = _bytes(name).lower()
            if name == b"host":
                authority = _bytes(value)
            elif name.decode("latin-1") not in CONNECTION_FIELDS:
                fields.append((name, _bytes(value)))
        body = _bytes(body or b"")
        if body and not any(n == b"content-length" for n, _ in fields):
            fields.append((b"content-length", str(len(body)).encode()))
        self.send(_bytes(method), _bytes(url), authority, fields, body)

    def getresponse(self):
        if not self.waiting:
            fail("getresponse() with no request sent on this HTTP/2 connection")
        sid = self.waiting.pop(0)
        stream = self.streams[sid]
        while stream.status is None:
            self._pump(sid, "the response HEADERS")
        return Response(self, sid)

    def close(self):
        if self.sock is None:
            return
        try:
            if self.h2 is not None and self.goaway is None:
                self.h2.close_connection()
                self.sock.sendall(self.h2.data_to_send())
        except (OSError, h2.exceptions.ProtocolError):
            pass  # closing anyway
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock = None

    # ---- HTTP/2 ------------------------------------------------------------

    def connect(self):
        """TCP (and TLS with ALPN h2), the preface and our SETTINGS."""
        self.sock = harness.connect(self.port, self.host, self.timeout)
        if isinstance(self.sock, ssl.SSLSocket):
            alpn = self.sock.selected_alpn_protocol()
            if alpn != "h2":
                self.close()
                fail(f"ALPN chose {alpn!r}, not 'h2', for a client offering only h2")
        config = h2.config.H2Configuration(client_side=True, header_encoding=None,
                                           validate_inbound_headers=False,
                                           normalize_inbound_headers=False)
        self.h2 = h2.connection.H2Connection(config=config)
        self.h2.local_settings = h2.settings.Settings(
            client=True, initial_values={
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                h2.settings.SettingCodes.ENABLE_PUSH: 0})
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(WINDOW - 65535)
        self._flush()

    def send(self, method, path, authority, fields, body):
        """One stream: HEADERS (with END_STREAM when there is no body), then
        the body as DATA. Everything here is bytes."""
        if self.sock is None:
            self.connect()
        if self.goaway is not None:
            fail(f"request on a connection the server ended with GOAWAY {self.goaway[2]}")
        sid = self.h2.get_next_available_stream_id()
        head = [(b":method", method), (b":scheme", harness.scheme().encode()),
                (b":authority", authority), (b":path", path)] + list(fields)
        try:
            self.h2.send_headers(sid, head, end_stream=not body)
            if body:
                self.h2.send_data(sid, body, end_stream=True)
        except h2.exceptions.H2Error as e:
            fail(f"hyper-h2 refused to send {method.decode()} {short(path, 60)}: {e}")
        self.streams[sid] = _Stream(method.decode("latin-1"))
        self.waiting.append(sid)
        self._flush()
        return sid

    def _flush(self):
        data = self.h2.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError as e:
                fail(f"HTTP/2 connection: cannot send: {type(e).__name__}: {e}")

    def _pump(self, sid, what):
        """Reads once from the socket and handles what arrived; fails when
        stream `sid` can no longer get `what`."""
        stream = self.streams[sid]
        if stream.reset is not None:
            fail(f"stream {sid} ({stream.method}) reset by the server with "
                 f"{_code(stream.reset)} before {what}")
        if self.goaway is not None and (self.goaway[0] != 0 or sid > self.goaway[1]):
            fail(f"GOAWAY {self.goaway[2]} before {what} on stream {sid}")
        try:
            data = self.sock.recv(READ_SIZE)
        except TimeoutError:
            fail(f"no HTTP/2 frame from the server for {self.timeout:.0f} s "
                 f"while waiting for {what} on stream {sid}")
        except ssl.SSLEOFError:
            fail(f"the server closed the TLS connection without close_notify "
                 f"while {what} on stream {sid} was due")
        except (ssl.SSLError, OSError) as e:
            fail(f"reading {what} on stream {sid}: {type(e).__name__}: {e}")
        if not data:
            fail(f"the server closed the connection before {what} on stream {sid}")
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.H2Error as e:
            fail(f"the server broke HTTP/2 (hyper-h2: {type(e).__name__}: {e})")
        for event in events:
            self._handle(event)
        self._flush()

    def _handle(self, event):
        if isinstance(event, h2.events.ResponseReceived):
            self._headers(event)
        elif isinstance(event, h2.events.DataReceived):
            self._data(event)
        elif isinstance(event, h2.events.TrailersReceived):
            _fields(event.headers, f"trailers on stream {event.stream_id}", pseudo=False)
        elif isinstance(event, h2.events.InformationalResponseReceived):
            _fields(event.headers, f"1xx on stream {event.stream_id}")
        elif isinstance(event, h2.events.StreamEnded):
            self._ended(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id in self.streams:
                self.streams[event.stream_id].reset = event.error_code
        elif isinstance(event, h2.events.ConnectionTerminated):
            shown = (f"{_code(event.error_code)}, last stream {event.last_stream_id}"
                     + (f", {event.additional_data!r}" if event.additional_data else ""))
            self.goaway = (event.error_code, event.last_stream_id, shown)
        elif isinstance(event, h2.events.PushedStreamReceived):
            fail("the server pushed a stream to a client that set ENABLE_PUSH 0")

    def _headers(self, event):
        stream = self.streams[event.stream_id]
        status, fields = _fields(event.headers, f"response HEADERS on stream {event.stream_id}")
        stream.status, stream.fields = status, fields
        if stream.method == "HEAD" and event.stream_ended is None:
            fail(f"HEAD answered {status} by HEADERS without END_STREAM")

    def _data(self, event):
        stream = self.streams[event.stream_id]
        if event.flow_controlled_length:
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        if stream.method == "HEAD":
            fail(f"a DATA frame ({len(event.data)} bytes) in the answer to a HEAD")
        if stream.status is None:
            fail(f"DATA before HEADERS on stream {event.stream_id}")
        stream.data += event.data
        stream.received += len(event.data)

    def _ended(self, sid):
        stream = self.streams[sid]
        stream.ended = True
        declared = [v for n, v in stream.fields or () if n == "content-length"]
        if stream.method != "HEAD" and stream.status not in (204, 304) and declared:
            if declared[0] != str(stream.received):
                fail(f"{stream.method} answered {stream.status}: Content-Length "
                     f"{declared[0]} but {stream.received} DATA bytes")


class Response:
    """One stream's answer with http.client.HTTPResponse's interface."""

    version = 20
    reason = ""              # HTTP/2 has no reason phrase (RFC 9113 8.3.2)

    def __init__(self, conn, sid):
        self._conn, self._sid = conn, sid
        self._stream = conn.streams[sid]
        self.status = self._stream.status

    def getheader(self, name, default=None):
        """Case-insensitive, values of a repeated field joined by ', ', as
        http.client does."""
        values = [v for n, v in self._stream.fields if n == name.lower()]
        return ", ".join(values) if values else default

    def getheaders(self):
        return list(self._stream.fields)

    def read(self, amt=None):
        """The body, or up to `amt` bytes of it, waiting for DATA."""
        stream = self._stream
        while not stream.ended and (amt is None or len(stream.data) < amt):
            self._conn._pump(self._sid, "the body")
        n = len(stream.data) if amt is None else min(amt, len(stream.data))
        data = bytes(stream.data[:n])
        del stream.data[:n]
        return data


def _bytes(value):
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


def _code(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return f"error code {code}"


def _fields(block, what, pseudo=True):
    """(status, [(name, value)]) of a received header block, asserting
    what RFC 9113 8.2 and 8.3 ask of a server."""
    status, fields, regular = None, [], False
    for name, value in block:
        name, value = name.decode("latin-1"), value.decode("latin-1")
        if name != name.lower():
            fail(f"{what}: header name {name!r} is not lowercase")
        if name.startswith(":"):
            if not pseudo or name != ":status" or regular or status is not None:
                fail(f"{what}: pseudo-header {name!r} out of place")
            if not (value.isdigit() and len(value) == 3):
                fail(f"{what}: :status {value!r}")
            status = int(value)
            continue
        regular = True
        if name in CONNECTION_FIELDS:
            fail(f"{what}: connection-specific field {name}: {value!r}")
        fields.append((name, value))
    if pseudo and status is None:
        fail(f"{what}: no :status")
    return status, fields


# --------------------------------------------------------------------------
# raw HTTP/1.1 requests as HTTP/2

def untranslatable(raw, why):
    raise CheckFailed(f"request {short(raw, 60)} has no HTTP/2 form ({why}); a check "
                      f"about HTTP/1.1 itself is marked @http1_only")


def translate(raw):
    """(method, path, authority, fields, body) of raw HTTP/1.1 request bytes,
    as a gateway forwards them over HTTP/2."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        untranslatable(raw, "no end of head")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or not TOKEN_RE.match(parts[0]):
        untranslatable(raw, "not an HTTP/1.1 request line")
    method, target = parts[0], parts[1]
    authority, fields, length = None, [], None
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN_RE.match(name):
            untranslatable(raw, f"header line {short(line, 30)}")
        name, value = name.lower(), value.strip(b" \t")
        if name == b"host":
            if authority is not None:
                untranslatable(raw, "two Host fields")
            authority = value
        elif name == b"transfer-encoding":
            untranslatable(raw, "a body framed by Transfer-Encoding")
        elif name.decode() in CONNECTION_FIELDS or (name == b"te" and value != b"trailers"):
            continue  # dropped, RFC 9113 8.2.2
        else:
            if name == b"content-length":
                if length is not None or not value.isdigit():
                    untranslatable(raw, "Content-Length that frames no single body")
                length = int(value)
            fields.append((name, value))
    if len(rest) != (length or 0):
        untranslatable(raw, f"{len(rest)} bytes after the head, Content-Length {length}")
    absolute = ABSOLUTE_RE.match(target)
    if absolute:
        authority, target = absolute.group(2), absolute.group(3) or b"/"
    if not target.startswith(b"/"):
        untranslatable(raw, "a request-target that is not a path")
    if authority is None:
        untranslatable(raw, "no Host")
    return method, target, authority, fields, rest


def exchange(port, raw):
    """Sends raw's request as one stream on a new HTTP/2 connection to
    127.0.0.1:port; the answer as a harness.Response (version "2", names
    lowercase, `head` a printable rendering of the header block)."""
    method, path, authority, fields, body = translate(raw)
    conn = Connection("127.0.0.1", port)
    try:
        sid = conn.send(method, path, authority, fields, body)
        data = conn.getresponse().read()
    finally:
        conn.close()
    stream = conn.streams[sid]
    head = f":status: {stream.status}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in stream.fields)
    resp = harness.Response("2", stream.status, "", stream.fields,
                            (head + "\r\n").encode("latin-1"))
    resp.body = data
    return resp

