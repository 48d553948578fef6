#!/usr/bin/env python3
"""CPU per request as instructions counted by callgrind (these machines have
no hardware counters), for one staticd binary or two side by side:

    python3 wrk/instructions.py NEW [OLD]

Each binary serves a 37-byte file with one worker and the access log off,
under valgrind --tool=callgrind, for N1 and then N2 keep-alive requests
(pipelined 50 at a time on one connection); (Ir(N2) - Ir(N1)) / (N2 - N1)
is the cost of one request, start-up and shutdown cancelling out.
Loopback only; each run stops by itself. Needs valgrind.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile

N1, N2, BATCH = 200, 1200, 50
BODY = b"0123456789012345678901234567890123456"


def serve_and_count(binary, root, requests):
    """Total instructions of one run that answers `requests` requests."""
    out = os.path.join(root, "callgrind.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
         "--root", root, "--bind", "127.0.0.1", "--port", "0", "--workers", "1",
         "--log-format", "off"],
        stderr=subprocess.PIPE, text=True)
    port = None
    for line in server.stderr:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if found:
            port = int(found.group(1))
            break
    if port is None:
        sys.exit(f"{binary} did not start under valgrind")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        request = b"GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        for done in range(0, requests, BATCH):
            batch = min(BATCH, requests - done)
            conn.sendall(request * batch)
            got = b""
            while got.count(BODY) < batch:
                chunk = conn.recv(65536)
                if not chunk:
                    sys.exit("the server closed the connection")
                got += chunk
    server.terminate()
    server.wait(timeout=60)
    with open(out) as f:
        total = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    return int(total.group(1))


def per_request(binary):
    with tempfile.TemporaryDirectory(prefix="staticd-ir-") as root:
        with open(os.path.join(root, "x.txt"), "wb") as f:
            f.write(BODY)
        first = serve_and_count(binary, root, N1)
        second = serve_and_count(binary, root, N2)
    return (second - first) / (N2 - N1)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    counts = [(b, per_request(b)) for b in sys.argv[1:]]
    for binary, count in counts:
        print(f"{count:8.0f} instructions per request  {binary}")
    if len(counts) == 2:
        print(f"ratio new/old: {counts[0][1] / counts[1][1]:.3f}")


if __name__ == "__main__":
    main()
