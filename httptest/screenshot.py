#!/usr/bin/env python3
"""The directory listing in a real browser: headless Chromium renders it.

    python3 httptest/screenshot.py [--bin PATH] [--out DIR]

Builds a temporary root with a directory of the kind people list (nested
folders, file-2 and file-10, sizes from bytes to megabytes, a long name,
a hostile name), starts staticd on 127.0.0.1 (port 0) with --autoindex on,
and has Chromium take four screenshots of /downloads/: 1000 px and 400 px
wide, each light and dark (the page follows the system's colour scheme;
Chromium is told which one to prefer). Saved as listing-WIDTH-SCHEME.png in
--out (default: a temporary directory; `--out docs` refreshes the pictures in docs/behaviour.md).

Checks, from the PNG files themselves (decoded with the standard library):
each is as wide as asked and not blank (many distinct colours), and the
dark one is darker than the light one at the same width. Whether the
columns fit a phone is for a person to see in the 400 px pictures (the
docs/behaviour.md shows them); tests/it/listings.rs checks the markup that makes them
fit.

Prints PASS/FAIL per check and 'N passed, N failed'. Without Chromium
(`chromium`, `chromium-browser` or `google-chrome` on PATH) it prints a
SKIP line and exits 0, unless STATICD_REQUIRE_LINT=1, when that is an
error. Loopback only; every Chromium run is bounded by a timeout.
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from harness import Server, ServerError  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SIZES = ((1000, 700), (400, 800))
RUN_TIMEOUT = 60


def build_root(root):
    d = root / "downloads"
    (d / "archive" / "2025").mkdir(parents=True)
    (d / "photos").mkdir()
    for name, size in (("file-2.bin", 2048), ("file-10.bin", 10 * 1024 * 1024 + 300),
                       ("file-1.bin", 13414), ("notes.txt", 612), ("report-final.pdf", 482133),
                       ("a rather long file name that must wrap on a phone screen.tar.gz", 7777),
                       ("<b>not bold.txt", 5)):
        with open(d / name, "wb") as f:
            f.truncate(size)


def chromium():
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def shoot(browser, url, path, width, height, dark):
    profile = tempfile.mkdtemp(prefix="staticd-chromium.")
    try:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--window-size={width},{height}", f"--screenshot={path}"]
        if dark:
            cmd.append("--force-dark-mode")
            cmd.append("--blink-settings=preferredColorScheme=0")
        else:
            cmd.append("--blink-settings=preferredColorScheme=1")
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=RUN_TIMEOUT)
        return out.returncode, out.stderr
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            if depth != 8 or colour not in (2, 6):
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        unfilter(kind, line, prev, channels)
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        prev = line
    return width, height, rows


def unfilter(kind, line, prev, bpp):
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = prev[i]
        up_left = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
            line[i] = (line[i] + pred) & 0xFF


def luminance(rows):
    total = count = 0
    for row in rows[::4]:
        for r, g, b in row[::4]:
            total += 0.2126 * r + 0.7152 * g + 0.0722 * b
            count += 1
    return total / max(count, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "staticd"))
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    browser = chromium()
    if not browser:
        message = "SKIP: Chromium not installed (apt-get install chromium)"
        if os.environ.get("STATICD_REQUIRE_LINT") == "1":
            print(message.replace("SKIP", "ERROR"))
            return 1
        print(message)
        return 0
    passed = failed = 0

    def check(ok, text):
        nonlocal passed, failed
        print(("PASS " if ok else "FAIL ") + text)
        passed, failed = passed + bool(ok), failed + (not ok)

    with tempfile.TemporaryDirectory(prefix="staticd-shot.") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        build_root(root)
        out = Path(args.out) if args.out else Path(tmp) / "shots"
        out.mkdir(parents=True, exist_ok=True)
        try:
            server = Server(args.bin, ["--root", root, "--bind", "127.0.0.1", "--port", "0",
                                       "--autoindex", "on", "--log-format", "off"])
        except ServerError as e:
            print(f"FAIL staticd did not start: {e}")
            return 1
        try:
            url = f"http://127.0.0.1:{server.port}/downloads/"
            for width, height in SIZES:
                shades = {}
                for scheme in ("light", "dark"):
                    path = out / f"listing-{width}-{scheme}.png"
                    rc, err = shoot(browser, url, path, width, height, scheme == "dark")
                    if rc != 0 or not path.exists():
                        check(False, f"{path.name}: chromium exited {rc}: {err.strip()[-300:]}")
                        continue
                    w, _, rows = png_pixels(path)
                    check(w == width, f"{path.name}: {w} px wide, asked {width}")
                    colours = len({px for row in rows[::3] for px in row[::3]})
                    check(colours > 20, f"{path.name}: {colours} distinct colours (not blank)")
                    shades[scheme] = luminance(rows)
                if len(shades) == 2:
                    check(shades["dark"] + 40 < shades["light"],
                          f"{width} px: dark is darker (luminance {shades['dark']:.0f} "
                          f"against {shades['light']:.0f})")
        finally:
            server.stop()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
