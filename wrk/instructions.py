#!/usr/bin/env python3
"""CPU per request as instructions counted by callgrind (these machines have
no hardware counters), for one staticd binary or two side by side:

    python3 wrk/instructions.py [--logged] [--new-args ARGS] [--args ARGS] NEW [OLD]

--args adds staticd options to every run, --new-args to NEW's alone; so
the same binary twice compares a setting with its absence:

    python3 wrk/instructions.py --new-args "--metrics-listen 127.0.0.1:0" BIN BIN

Each binary serves a 37-byte file with one worker and the access log off
(with --logged: Combined lines appended to a file in the run's directory),
under valgrind --tool=callgrind, for N1 and then N2 keep-alive requests
(pipelined 50 at a time on one connection); (Ir(N2) - Ir(N1)) / (N2 - N1)
is the cost of one request, start-up and shutdown cancelling out.
Loopback only; each run stops by itself. Needs valgrind.
"""

import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile

N1, N2, BATCH = 200, 1200, 50
BODY = b"0123456789012345678901234567890123456"


def log_args(root, logged):
    """The access-log options of a run: off, or Combined lines to a file."""
    if not logged:
        return ["--log-format", "off"]
    return ["--log-format", "combined", "--access-log", os.path.join(root, "access.log")]


def serve_and_count(binary, root, requests, args, logged):
    """Total instructions of one run that answers `requests` requests."""
    out = os.path.join(root, "callgrind.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
         "--root", root, "--bind", "127.0.0.1", "--port", "0", "--workers", "1",
         *log_args(root, logged), *args],
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


def per_request(binary, args, logged):
    with tempfile.TemporaryDirectory(prefix="staticd-ir-") as root:
        with open(os.path.join(root, "x.txt"), "wb") as f:
            f.write(BODY)
        first = serve_and_count(binary, root, N1, args, logged)
        second = serve_and_count(binary, root, N2, args, logged)
    return (second - first) / (N2 - N1)


def main():
    argv, common, new = sys.argv[1:], [], []
    logged = argv[:1] == ["--logged"]
    argv = argv[1:] if logged else argv
    while argv[:1] in (["--args"], ["--new-args"]) and len(argv) >= 2:
        (common if argv[0] == "--args" else new).extend(shlex.split(argv[1]))
        argv = argv[2:]
    if len(argv) not in (1, 2):
        sys.exit(__doc__)
    runs = [(argv[0], common + new)] + [(b, common) for b in argv[1:]]
    counts = [(b, per_request(b, args, logged)) for b, args in runs]
    mode = "access log on" if logged else "access log off"
    for (binary, count), (_, args) in zip(counts, runs):
        print(f"{count:8.0f} instructions per request ({mode})  {binary} {shlex.join(args)}")
    if len(counts) == 2:
        print(f"ratio new/old: {counts[0][1] / counts[1][1]:.3f}")


if __name__ == "__main__":
    main()
