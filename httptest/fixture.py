"""What the document roots hold: the committed www/ tree, and a temporary
root built at run time for things we do not commit (big and sparse files,
symlinks, names with markup in them)."""

import hashlib
import os
import secrets
import types
from pathlib import Path

# ---- committed www/ ------------------------------------------------------

PAGE = b"<html><body>Page Sample</body></html>\n"      # dir2/page.html
INDEX2 = b"<html>Directory index file</html>\n"        # dir2/index.html
DEEP = b"bingo, you found it\n"                        # dir1/dir12/dir123/deep.txt
SPACED = b"letters and spaces\n"                       # space in name.txt
DOTDOT = b"hello"                                      # text..txt
LISTING_A = b"alpha\n"                                 # listing/a.txt

PAGE_PATH = "/dir2/page.html"
DEEP_PATH = "/dir1/dir12/dir123/deep.txt"

CONTENT_TYPES = [
    ("/sample.html", ("text/html",)),
    ("/sample.htm", ("text/html",)),
    ("/sample.css", ("text/css",)),
    ("/sample.js", ("text/javascript", "application/javascript")),
    ("/sample.jpg", ("image/jpeg",)),
    ("/sample.jpeg", ("image/jpeg",)),
    ("/sample.png", ("image/png",)),
    ("/sample.gif", ("image/gif",)),
    ("/sample.swf", ("application/x-shockwave-flash",)),
    ("/sample.txt", ("text/plain",)),
    ("/sample.unknownext", ("application/octet-stream",)),
]

# ---- temporary root --------------------------------------------------------

BIG_SIZE = 954_824
BIG_MARKER = b"STATICD-LARGE-FILE-END-MARKER-7f3a"
SPARSE_SIZE = 3 << 30
IMG_NAME = "<img src=x onerror=alert(1)>.txt"
AMP_NAME = 'a&b "q".txt'
REAL = b"a real file inside the root\n"
LITERAL_PCT = b"the file whose name is %20.txt\n"


def big_page():
    """Exactly BIG_SIZE bytes of HTML with BIG_MARKER near the end."""
    head = b"<!DOCTYPE html>\n<html><head><title>big</title></head><body>\n"
    tail = b"<p id=\"end\">" + BIG_MARKER + b"</p>\n</body></html>\n"
    room = BIG_SIZE - len(head) - len(tail)
    lines = []
    i = 0
    used = 0
    while True:
        line = b"<p>line %06d of the large test page, padded to be long enough</p>\n" % i
        if used + len(line) > room:
            break
        lines.append(line)
        used += len(line)
        i += 1
    filler = b"".join(lines) + b" " * (room - used - 1) + b"\n"
    data = head + filler + tail
    assert len(data) == BIG_SIZE
    return data


def build_tmp_root(base):
    """Lay out base/root (served) and base/outside (must never be served)."""
    base = Path(base)
    root = base / "root"
    outside = base / "outside"
    root.mkdir()
    outside.mkdir()
    marker = ("OUTSIDE-SECRET-" + secrets.token_hex(8)).encode()
    (outside / "secret.txt").write_bytes(marker + b"\n")

    (root / "real.txt").write_bytes(REAL)
    (root / "inside_link.txt").symlink_to("real.txt")
    (root / "escape_rel.txt").symlink_to(os.path.join("..", "outside", "secret.txt"))
    (root / "escape_abs.txt").symlink_to(outside / "secret.txt")
    (root / "escape_dir").symlink_to(outside, target_is_directory=True)
    (root / "%20.txt").write_bytes(LITERAL_PCT)
    (root / "b dir").mkdir()
    (root / "b dir" / "inner.txt").write_bytes(b"inner\n")

    names = root / "names"
    names.mkdir()
    (names / IMG_NAME).write_bytes(b"img name\n")
    (names / AMP_NAME).write_bytes(b"amp name\n")

    big = big_page()
    (root / "big.html").write_bytes(big)
    with open(root / "sparse.bin", "wb") as f:
        f.truncate(SPARSE_SIZE)

    return types.SimpleNamespace(
        base=base, root=root, outside=outside, marker=marker,
        big_sha=hashlib.sha256(big).hexdigest(),
        name_bodies={IMG_NAME: b"img name\n", AMP_NAME: b"amp name\n"})
