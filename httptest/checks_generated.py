"""Generated content end to end, as a user's tools see it (plain and --tls
alike): a file compressed on the fly and decoded by Python's gzip, a
listing sorted by query, and a directory archive streamed chunked,
de-chunked here and opened by Python's own tarfile (over HTTP/2 it comes
as DATA frames, no chunked coding: h2client fails any Transfer-Encoding)."""

import gzip
import io
import json
import tarfile

import harness
from harness import RawConn, check, eq, fail, req, request, started_once

PAGE = "".join(f"<p>paragraph {i} of a page long enough to compress</p>\n"
               for i in range(400)).encode()


def generated_server(ctx):
    """A server over its own root, with archives on (started once)."""
    def make_args():
        root = ctx.base() / "generated"
        (root / "dl" / "sub").mkdir(parents=True)
        (root / "page.html").write_bytes(PAGE)
        for name, size in (("file-2.txt", 300), ("file-10.txt", 20), ("file-1.txt", 5000)):
            (root / "dl" / name).write_bytes(b"x" * size)
        (root / "dl" / "sub" / "inner.txt").write_bytes(b"inner\n")
        return ["--root", root, "--bind", "127.0.0.1", "--port", "0",
                "--autoindex", "on", "--archive", "tar.gz"]
    return started_once(ctx, "generated", make_args, "generated-content server")


@check
def generated_compression_on_the_fly_decodes_to_the_file(ctx):
    port = generated_server(ctx)
    for _ in range(2):
        r = request(port, req("GET", "/page.html", "Accept-Encoding: gzip"))
        eq((r.status, r.h("content-encoding"), r.h("vary")), (200, "gzip", "Accept-Encoding"),
           "status, Content-Encoding, Vary")
        eq(gzip.decompress(r.body), PAGE, "gzip.decompress gives the file back")
    plain = request(port, req("GET", "/page.html"))
    eq((plain.h("content-encoding"), plain.h("vary"), plain.body),
       (None, "Accept-Encoding", PAGE), "identity without Accept-Encoding, still varying")


@check
def generated_listing_sorts_by_query(ctx):
    port = generated_server(ctx)
    r = request(port, req("GET", "/dl/?sort=size&order=desc", "Accept: application/json"))
    names = [e["name"] for e in json.loads(r.body)]
    eq(names, ["sub", "file-1.txt", "file-2.txt", "file-10.txt"],
       "directories first, then files by size, largest first")
    r = request(port, req("GET", "/dl/", "Accept: application/json"))
    eq([e["name"] for e in json.loads(r.body)], ["sub", "file-1.txt", "file-2.txt", "file-10.txt"],
       "natural name order")


def dechunk(raw):
    body, rest = b"", raw
    while True:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            eq(rest, b"\r\n", "an empty trailer after the last chunk")
            return body
        body, rest = body + rest[:size], rest[size + 2:]


def archive(port, target):
    """(head as text, body) of an archive download: read to the close and
    de-chunked over HTTP/1.1, the stream's DATA over HTTP/2."""
    if harness.HTTP2:
        r = request(port, req("GET", target))
        eq(r.status, 200, f"GET {target}")
        return r.head.decode("latin-1"), r.body
    with RawConn(port) as c:
        c.send(req("GET", target, "Connection: close"))
        raw = c.read_until_close()
    head, _, body = bytes(raw).partition(b"\r\n\r\n")
    head = head.decode("latin-1")
    if "\r\nTransfer-Encoding: chunked" not in head:
        fail(f"not chunked: {head!r}")
    return head, dechunk(body)


@check
def generated_archive_opens_with_tarfile(ctx):
    port = generated_server(ctx)
    head, body = archive(port, "/dl/?download=tar.gz")
    if 'filename="dl.tar.gz"' not in head:
        fail(f"no attachment name: {head!r}")
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        eq(names, ["dl", "dl/file-1.txt", "dl/file-10.txt", "dl/file-2.txt", "dl/sub",
                   "dl/sub/inner.txt"], "tarfile's member names")
        eq(tar.extractfile("dl/sub/inner.txt").read(), b"inner\n", "a member's bytes")
