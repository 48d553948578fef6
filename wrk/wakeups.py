#!/usr/bin/env python3
"""Wake-ups per new connection: a staticd binary (or two, alternating)
with --workers 8 --balance spread, ab opening one connection per request
(-n 5000 at -c 1 and at -c 50) for a 6-byte file, and the server's
voluntary context switches over every thread (/proc/PID/task/*/status)
divided by the connections. A shared listening socket wakes every
accepting worker per connection; one steered socket per worker, one.

    python3 wrk/wakeups.py NEW [OLD] [--rounds N]

Loopback only; each run stops by itself. Needs ab (apache2-utils).
"""

import os
import re
import socket
import subprocess
import sys
import tempfile

REQUESTS, WARMUP, WORKERS = 5000, 500, 8


def switches(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as f:
            found = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", f.read(), re.M)
            total += int(found.group(1)) if found else 0
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ab(url, concurrency, requests):
    out = subprocess.run(["ab", "-q", "-c", str(concurrency), "-n", str(requests), url],
                         capture_output=True, text=True, timeout=300).stdout
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    return float(rate.group(1)) if rate else 0.0


def measure(binary, root, concurrency):
    port = free_port()
    server = subprocess.Popen([binary, "--root", root, "--bind", "127.0.0.1", "--port", str(port),
                               "--workers", str(WORKERS), "--balance", "spread",
                               "--log-format", "off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if "listening on" in line:
            break
    url = f"http://127.0.0.1:{port}/hello.txt"
    ab(url, concurrency, WARMUP)
    before = switches(server.pid)
    rate = ab(url, concurrency, REQUESTS)
    per = (switches(server.pid) - before) / REQUESTS
    server.terminate()
    server.wait(timeout=30)
    return per, rate


def main():
    args, rounds = sys.argv[1:], 2
    if "--rounds" in args:
        at = args.index("--rounds")
        rounds = int(args[at + 1])
        del args[at:at + 2]
    if len(args) not in (1, 2):
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory(prefix="staticd-wakeups-") as root:
        with open(os.path.join(root, "hello.txt"), "w") as f:
            f.write("hello\n")
        for rnd in range(1, rounds + 1):
            order = args if rnd % 2 else list(reversed(args))
            for concurrency in (1, 50):
                for binary in order:
                    per, rate = measure(binary, root, concurrency)
                    print(f"round {rnd}  ab -c {concurrency:<2}  {per:5.2f} switches per connection"
                          f"  {rate:9.0f} req/s  {binary}", flush=True)


if __name__ == "__main__":
    main()
