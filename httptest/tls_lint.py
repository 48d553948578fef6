#!/usr/bin/env python3
"""Third-party TLS lint of staticd's HTTPS listener, using testssl.sh.

    python3 httptest/tls_lint.py [--bin PATH] [--timeout SECONDS]
    python3 httptest/tls_lint.py --against HOST:PORT    # lint a running server

Makes an ECDSA P-256 certificate for localhost and 127.0.0.1 with the
openssl command line (testssl.sh needs openssl anyway) in a temporary
directory, starts staticd on 127.0.0.1 (port 0) with --tls-cert/--tls-key,
and runs testssl.sh against it with JSON output, limited to the protocols
(-p), the cipher categories (-s), forward secrecy (-f), the server defaults
(-S) and the vulnerabilities (-U). From the JSON it checks:

  * SSLv2, SSLv3, TLS 1.0 and TLS 1.1 not offered; TLS 1.2 and 1.3 offered;
  * no weak cipher category offered (NULL, anonymous, export, LOW, 3DES/IDEA,
    the obsolete CBC ciphers), the strong (AEAD) ones and forward secrecy
    offered;
  * every vulnerability check ran and none found anything of severity
    MEDIUM, HIGH or CRITICAL (those are listed);
  * nothing else of severity MEDIUM or above, except the findings about the
    certificate itself (see CERTIFICATE_FINDINGS), and no FATAL scan error.

Prints the scan, then PASS/FAIL per check, and closes with
'N passed, N failed'; exits 0 only when nothing failed.

If testssl.sh is not installed (Debian's package `testssl.sh` installs the
command as `testssl`) this prints a SKIP line and exits 0, unless
STATICD_REQUIRE_LINT=1 is set, when it is an error (exit 1).

--against lints a TLS server that is already running (nginx, openssl
s_server), to see what the checks make of another server's findings.

All traffic goes to 127.0.0.1 only (--nodns none: no DNS lookups, no OCSP
or CRL fetches); the scan is bounded by --timeout; the server is killed at
the end.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import Server, ServerError  # noqa: E402

COMMANDS = ("testssl.sh", "testssl")  # upstream's name, Debian's
SCAN = ["-p", "-s", "-f", "-S", "-U"]
BAD = ("MEDIUM", "HIGH", "CRITICAL")

NOT_OFFERED = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
OFFERED = ("TLS1_2", "TLS1_3")

# testssl.sh's cipher categories (-s), by their JSON ids: every weak one
# must be "not offered". 3.0 calls the CBC ciphers without AEAD "AVERAGE",
# later versions "OBSOLETED"; whichever the installed version reports.
WEAK_CIPHERS = {
    "cipherlist_NULL": "NULL ciphers (no encryption)",
    "cipherlist_aNULL": "anonymous ciphers (no authentication)",
    "cipherlist_EXPORT": "export ciphers",
    "cipherlist_LOW": "LOW: 64-bit and DES, RC2, RC4",
    "cipherlist_3DES_IDEA": "3DES and IDEA",
    "cipherlist_AVERAGE": "obsolete CBC ciphers",
    "cipherlist_OBSOLETED": "obsolete CBC ciphers",
}
REQUIRED_WEAK = ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                 "cipherlist_3DES_IDEA")
CBC_IDS = ("cipherlist_AVERAGE", "cipherlist_OBSOLETED")
STRONG_IDS = ("cipherlist_STRONG", "cipherlist_STRONG_FS")

# The checks of -U in testssl.sh 3.0. Each must be in the report: a check
# that did not run found nothing, which is not the same as "not vulnerable".
VULNERABILITIES = ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
                   "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL", "fallback_SCSV",
                   "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4")

# Findings about the certificate, not the server: the test makes a
# self-signed certificate for localhost, so no CA vouches for it, it names
# no CRL or OCSP responder (so nothing can be stapled), has no CAA record
# (and DNS is off) and is in no Certificate Transparency log. A deployment
# fixes these with a real certificate; no server setting can. Anything
# else testssl.sh rates MEDIUM or worse fails the lint.
CERTIFICATE_FINDINGS = {
    "cert_chain_of_trust": "self-signed: no CA vouches for a test certificate",
    "cert_revocation": "a test certificate names no CRL or OCSP responder",
    "cert_ocspURL": "a test certificate names no OCSP responder",
    "cert_crlDistributionPoints": "a test certificate names no CRL",
    "OCSP_stapling": "no OCSP responder, so nothing to staple",
    "cert_mustStapleExtension": "no OCSP responder, so nothing to staple",
    "DNS_CAArecord": "no DNS in the test (--nodns none); CAA is a DNS record",
    "certificate_transparency": "a private certificate is in no CT log",
    "cert_expirationStatus": "the validity is the one the test chose",
    "cert_notAfter": "the validity is the one the test chose",
    "cert_validityPeriod": "the validity is the one the test chose",
}

CERT_DAYS = 365  # below 398 days (testssl.sh flags longer) and far from expiring
PAGE = b"<!doctype html><title>staticd TLS lint</title><p>hello over TLS\n"


def base_id(finding_id):
    """The id without the " <hostCert#N>" testssl.sh adds with several
    certificates."""
    return finding_id.split(" <", 1)[0]


def vulnerability(finding_id):
    """The -U check a finding belongs to: its id, or the id it extends
    (BEAST_CBC_TLS1, LOGJAM-common_primes, DROWN_hint), else None."""
    for v in VULNERABILITIES:
        if finding_id == v or finding_id.startswith((v + "_", v + "-")):
            return v
    return None


def find_testssl():
    for name in COMMANDS:
        path = shutil.which(name)
        if path:
            return path
    return None


def make_certificate(tmp):
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(CERT_DAYS),
           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"openssl req failed: {done.stderr.strip()}")
    return cert, key


def run_testssl(testssl, target, json_path, workdir, timeout):
    """The scan, its output shown as it comes; returns (exit status or None
    on time-out, seconds taken). testssl.sh starts many openssl children:
    it runs in a session of its own, killed whole on time-out."""
    cmd = [testssl, "--quiet", "--warnings", "off", "--color", "0", "--nodns", "none",
           "--connect-timeout", "10", "--openssl-timeout", "10",
           "--jsonfile", str(json_path), *SCAN, target]
    print("lint: " + " ".join(cmd[1:]), flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        status = None
    return status, time.monotonic() - start


class Checks:
    def __init__(self, findings):
        self.by_id = {}
        for f in findings:
            self.by_id.setdefault(base_id(f.get("id", "")), []).append(f)
        self.passed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"{name}: {detail}" if detail else name)

    def finding(self, finding_id):
        """The finding text of an id ("" if absent; several joined)."""
        return "; ".join(f.get("finding", "") for f in self.by_id.get(finding_id, []))


def check_protocols(c):
    for pid in NOT_OFFERED:
        text = c.finding(pid)
        c.check(f"protocol {pid} not offered", text.startswith("not offered"), repr(text))
    for pid in OFFERED:
        text = c.finding(pid)
        c.check(f"protocol {pid} offered", text.startswith("offered"), repr(text))


def check_ciphers(c):
    for cid in REQUIRED_WEAK:
        c.check(f"{cid} reported", cid in c.by_id, "" if cid in c.by_id else "missing")
    c.check("an obsolete-CBC category reported", any(i in c.by_id for i in CBC_IDS),
            "" if any(i in c.by_id for i in CBC_IDS) else f"none of {', '.join(CBC_IDS)}")
    for cid, what in WEAK_CIPHERS.items():
        if cid in c.by_id:
            text = c.finding(cid)
            c.check(f"{cid} ({what}) not offered", text.startswith("not offered"), repr(text))
    strong = [c.finding(i) for i in STRONG_IDS if i in c.by_id]
    c.check("strong (AEAD) ciphers offered", any(t.startswith("offered") for t in strong),
            repr("; ".join(strong)))
    c.check("forward secrecy offered", c.finding("PFS").startswith("offered"),
            repr(c.finding("PFS")))


def check_vulnerabilities(c):
    missing = [v for v in VULNERABILITIES if v not in c.by_id]
    c.check("every vulnerability check ran", not missing,
            f"missing from the report: {', '.join(missing)}" if missing else "")
    found = [f for fid, fs in c.by_id.items() if vulnerability(fid) for f in fs
             if f.get("severity") in BAD + ("WARN", "FATAL")]
    c.check("no vulnerability of severity MEDIUM or above (nor undecided)", not found,
            "; ".join(f"{f['id']} [{f['severity']}] {f.get('finding', '')}" for f in found))


def check_everything_else(c):
    """Any other finding MEDIUM or worse, the certificate's excepted; and
    no FATAL error of the scan itself."""
    fatal = [f for fs in c.by_id.values() for f in fs if f.get("severity") == "FATAL"]
    c.check("no fatal scan error", not fatal,
            "; ".join(f"{f['id']}: {f.get('finding', '')}" for f in fatal))
    bad, excused = [], []
    for fid, fs in c.by_id.items():
        if vulnerability(fid):
            continue
        for f in fs:
            if f.get("severity") not in BAD:
                continue
            (excused if fid in CERTIFICATE_FINDINGS else bad).append(f)
    for f in excused:
        print(f"     excluded, about the certificate: {f['id']} [{f['severity']}] "
              f"{f.get('finding', '')} ({CERTIFICATE_FINDINGS[base_id(f['id'])]})")
    c.check("no other finding of severity MEDIUM or above", not bad,
            "; ".join(f"{f['id']} [{f['severity']}] {f.get('finding', '')}" for f in bad))
    for f in (f for fs in c.by_id.values() for f in fs if f.get("severity") in ("WARN", "LOW")):
        print(f"     note: {f['id']} [{f['severity']}] {f.get('finding', '')}")


def lint(testssl, target, tmp, timeout, server=None):
    json_path = tmp / "testssl.json"
    status, seconds = run_testssl(testssl, target, json_path, tmp, timeout)
    print(f"\nlint: testssl.sh took {seconds:.0f} s, exit status "
          f"{'none (killed after --timeout)' if status is None else status}")
    try:
        findings = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        print(f"FAIL testssl.sh report: cannot read {json_path.name}: {e}")
        return 0, ["testssl.sh report unreadable"]
    c = Checks(findings)
    c.check("testssl.sh finished in time", status is not None)
    check_protocols(c)
    check_ciphers(c)
    check_vulnerabilities(c)
    check_everything_else(c)
    if server is not None:
        c.check("staticd still running after the scan", server.alive())
    return c.passed, c.failures


def lint_staticd(testssl, binary, tmp, timeout):
    cert, key = make_certificate(tmp)
    www = tmp / "www"
    www.mkdir()
    # No .gz sidecar: testssl.sh's BREACH check asks for gzip on "/".
    (www / "index.html").write_bytes(PAGE)
    # The harness's TLS mode gives the server --tls-cert/--tls-key and
    # expects it to announce https://.
    harness.use_tls(cert, key)
    try:
        server = Server(binary, ["--root", www, "--bind", "127.0.0.1", "--port", "0",
                                 "--log-format", "off"])
    except ServerError as e:
        print(f"FAIL staticd started: {e}")
        return 0, [f"staticd: {e}"]
    try:
        return lint(testssl, f"127.0.0.1:{server.port}", tmp, timeout, server)
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "staticd"),
                    help="staticd binary (default: target/release/staticd)")
    ap.add_argument("--timeout", type=float, default=240.0,
                    help="seconds for the scan (default 240)")
    ap.add_argument("--against", metavar="HOST:PORT",
                    help="lint this running TLS server instead of starting staticd")
    args = ap.parse_args()

    testssl = find_testssl()
    if testssl is None:
        msg = "testssl.sh not installed (apt-get install testssl.sh)"
        if os.environ.get("STATICD_REQUIRE_LINT") == "1":
            print(f"ERROR: {msg}")
            return 1
        print(f"SKIP: {msg}")
        return 0
    banner = subprocess.run([testssl, "--version"], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"testssl(?:\.sh)?\s+(\d\S*)", re.sub(r"\x1b\[[0-9;]*m", "", banner))
    version = found.group(1) if found else "?"
    print(f"lint: {testssl} {version} against {args.against or args.bin}")

    with tempfile.TemporaryDirectory(prefix="staticd-tls-lint-") as tmp:
        tmp = Path(tmp)
        if args.against:
            passed, failures = lint(testssl, args.against, tmp, args.timeout)
        else:
            passed, failures = lint_staticd(testssl, args.bin, tmp, args.timeout)

    print()
    if failures:
        print("Failed:")
        for f in failures:
            print(f"  {f}")
    print(f"{passed} passed, {len(failures)} failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
