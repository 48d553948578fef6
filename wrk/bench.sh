#!/usr/bin/env bash
# Benchmark staticd with wrk (keep-alive) and ab (one connection per request).
#
#   bash wrk/bench.sh                      # full run, 5 s per wrk workload
#   BENCH_DURATION=2 bash wrk/bench.sh     # quick run
#   bash wrk/bench.sh --workers 2          # override the server's worker count
#   bash wrk/bench.sh --logging            # what the access log costs (off vs combined)
#
# Environment:
#   BENCH_DURATION      seconds per wrk workload (default 5)
#   BENCH_AB_REQUESTS   requests for the ab workload (default 20000)
#   BENCH_SERVER_CPUS   CPU list the server is pinned to (default 0)
#   BENCH_CLIENT_CPUS   CPU list wrk and ab are pinned to (default 1)
#   BENCH_RUST_LOG      the server's RUST_LOG (default: no access log)
#
# This is a benchmark, not a test: CI does not run it. All traffic goes to
# 127.0.0.1, and every load stops by itself (fixed duration or count).
#
# Structure: run_workloads NAME URL_BASE runs every workload against one
# server and records a row per workload; print_table prints all rows at the
# end. Another server (say nginx on the same corpus) can be compared by
# starting it and calling run_workloads once more with its own name and URL.

set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
LUA_DIR="$SCRIPT_DIR/scripts"

DURATION="${BENCH_DURATION:-5}"
AB_REQUESTS="${BENCH_AB_REQUESTS:-20000}"
SERVER_CPUS="${BENCH_SERVER_CPUS:-0}"
CLIENT_CPUS="${BENCH_CLIENT_CPUS:-1}"
# Server log filter: warnings and up, so the per-request access log is not
# part of what we measure. The "listening on" line is printed at any level.
SERVER_RUST_LOG="${BENCH_RUST_LOG:-warn}"
WORKERS=1
# all: every workload, access log off (as nginx is benchmarked).
# logging: only the tiny keep-alive workload, alternating --log-format off
# and combined (to a file), three rounds, to show what the access log costs.
MODE=all
# Extra staticd arguments for the next start_staticd.
EXTRA_ARGS=(--log-format off)

# Corpus files and their exact sizes in bytes.
TINY_SIZE=38
MEDIUM_SIZE=98620
LARGE_SIZE=954824

usage() {
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "bench.sh: $*" >&2
    exit 1
}

log() {
    echo "==> $*" >&2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --workers)
            [[ $# -ge 2 ]] || die "--workers needs a value"
            WORKERS="$2"
            shift 2
            ;;
        --workers=*)
            WORKERS="${1#--workers=}"
            shift
            ;;
        --logging)
            MODE=logging
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            die "unknown argument: $1 (try --help)"
            ;;
    esac
done

is_positive_int() {
    [[ "$1" =~ ^[0-9]+$ ]] && [[ "$1" -gt 0 ]]
}
is_positive_int "$WORKERS" || die "--workers must be a positive integer, got '$WORKERS'"
is_positive_int "$DURATION" || die "BENCH_DURATION must be a positive integer, got '$DURATION'"
is_positive_int "$AB_REQUESTS" || die "BENCH_AB_REQUESTS must be a positive integer, got '$AB_REQUESTS'"
[[ "$AB_REQUESTS" -ge 50 ]] || die "BENCH_AB_REQUESTS must be at least the ab concurrency (50)"

# ---------------------------------------------------------------------------
# Cleanup: whatever happens, stop the server(s) we started and remove the
# scratch directory.
# ---------------------------------------------------------------------------
WORK_DIR=""
SERVER_PIDS=()

# stop_servers: stop every server this script started (by PID) and reap it.
stop_servers() {
    local pid
    for pid in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    SERVER_PIDS=()
}

cleanup() {
    local status=$?
    stop_servers
    if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
        rm -rf -- "$WORK_DIR"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------
install_tools() {
    local missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v ab >/dev/null 2>&1 || missing+=(apache2-utils)
    command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
    [[ ${#missing[@]} -eq 0 ]] && return 0

    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${missing[*]} and no apt-get to install them with"
    local sudo=""
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}; not root and no sudo"
        sudo="sudo"
    fi
    log "installing ${missing[*]}"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

build_server() {
    command -v cargo >/dev/null 2>&1 || die "cargo not found; install a Rust toolchain first"
    log "cargo build --release"
    (cd -- "$REPO_ROOT" && cargo build --release)
    local target_dir="${CARGO_TARGET_DIR:-target}"
    [[ "$target_dir" == /* ]] || target_dir="$REPO_ROOT/$target_dir"
    STATICD_BIN="$target_dir/release/staticd"
    [[ -x "$STATICD_BIN" ]] || die "no executable at $STATICD_BIN after the build"
}

# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------

# write_sized FILE SIZE KIND: write exactly SIZE bytes of valid KIND (css or
# html) content: a header, as many whole filler lines as fit, then padding
# and a footer so that the byte count is exact and the markup stays well formed.
write_sized() {
    local file="$1" size="$2" kind="$3"
    LC_ALL=C awk -v n="$size" -v kind="$kind" '
        function line(i) {
            if (kind == "css")
                return sprintf(".rule-%05d { margin: %dpx %dpx; color: #%06x; }\n", i, i % 17, i % 23, (i * 40503) % 16777216)
            return sprintf("%06d  The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n", i)
        }
        BEGIN {
            if (kind == "css") {
                head = "/* staticd benchmark stylesheet */\n"
                pad_open = "/*"; foot = "*/\n"
            } else {
                head = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>large</title></head>\n<body><pre>\n"
                pad_open = ""; foot = "</pre></body></html>\n"
            }
            reserve = length(pad_open) + length(foot)
            if (length(head) + reserve > n) { print "size too small" > "/dev/stderr"; exit 1 }
            printf "%s", head
            used = length(head)
            for (i = 0; ; i++) {
                l = line(i)
                if (used + length(l) + reserve > n) break
                printf "%s", l
                used += length(l)
            }
            pad = n - used - reserve
            printf "%s", pad_open
            for (j = 0; j < pad; j++) printf "-"
            printf "%s", foot
        }' >"$file"
}

check_size() {
    local file="$1" want="$2" got
    got="$(stat -c %s -- "$file")"
    [[ "$got" -eq "$want" ]] || die "$file is $got bytes, expected $want"
}

make_corpus() {
    local dir="$1"
    # 38 bytes exactly, newline included.
    printf '%s\n' '<!doctype html><title>t</title>hello!' >"$dir/tiny.html"
    write_sized "$dir/medium.css" "$MEDIUM_SIZE" css
    write_sized "$dir/large.html" "$LARGE_SIZE" html
    cat >"$dir/index.html" <<'HTML'
<!doctype html>
<html><head><meta charset="utf-8"><title>staticd benchmark corpus</title>
<link rel="stylesheet" href="medium.css"></head>
<body><ul>
<li><a href="tiny.html">tiny.html</a></li>
<li><a href="medium.css">medium.css</a></li>
<li><a href="large.html">large.html</a></li>
</ul></body></html>
HTML
    check_size "$dir/tiny.html" "$TINY_SIZE"
    check_size "$dir/medium.css" "$MEDIUM_SIZE"
    check_size "$dir/large.html" "$LARGE_SIZE"
}

# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------

# start_staticd ROOT LOGFILE: start staticd on a free port pinned to
# SERVER_CPUS, wait for its "listening on" line and set STATICD_URL.
start_staticd() {
    local root="$1" logfile="$2"
    log "starting staticd (workers=$WORKERS, cpus=$SERVER_CPUS)"
    RUST_LOG="$SERVER_RUST_LOG" NO_COLOR=1 taskset -c "$SERVER_CPUS" \
        "$STATICD_BIN" --root "$root" --bind 127.0.0.1 --port 0 --workers "$WORKERS" "${EXTRA_ARGS[@]}" \
        </dev/null >/dev/null 2>"$logfile" &
    local pid=$!
    SERVER_PIDS+=("$pid")

    # Poll the log for the listening line: up to 100 x 0.1 s = 10 s.
    local port="" tries
    for ((tries = 0; tries < 100; tries++)); do
        # (colour codes stripped first, in case the log is coloured)
        port="$(sed -n -e 's/\x1b\[[0-9;]*m//g' \
            -e '/listening on http:\/\//{s#.*listening on http://[^ ]*:\([0-9][0-9]*\).*#\1#p;q}' \
            -- "$logfile")"
        [[ -n "$port" ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            cat -- "$logfile" >&2
            die "staticd exited before it was listening"
        fi
        sleep 0.1
    done
    if [[ -z "$port" ]]; then
        cat -- "$logfile" >&2
        die "staticd did not log 'listening on http://IP:PORT' within 10 s"
    fi
    STATICD_URL="http://127.0.0.1:$port"
    log "staticd (pid $pid) is listening on $STATICD_URL"
}

# check_file URL_BASE PATH SIZE: one HEAD request over bash's /dev/tcp; the
# server must answer 200 with the file's Content-Length. Catches a wrong root
# or port before we benchmark a page of 404s.
check_file() {
    local base="$1" path="$2" size="$3"
    local hostport="${base#http://}"
    local host="${hostport%:*}" port="${hostport##*:}"
    local response status length
    response="$(
        exec 3<>"/dev/tcp/$host/$port" || exit 1
        printf 'HEAD %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
        timeout 5 cat <&3
    )" || die "HEAD $base$path failed"
    # (no early-exiting reader in these pipes: with pipefail a writer killed
    # by SIGPIPE would fail the whole script)
    status="$(tr -d '\r' <<<"$response" | awk 'NR == 1 {print $2}')"
    length="$(tr -d '\r' <<<"$response" |
        awk 'tolower($1) == "content-length:" && !seen {print $2; seen = 1}')"
    [[ "$status" == "200" ]] || die "HEAD $base$path: status '$status', expected 200"
    [[ "$length" == "$size" ]] || die "HEAD $base$path: Content-Length '$length', expected $size"
}

# ---------------------------------------------------------------------------
# Workloads and results
# ---------------------------------------------------------------------------
RESULTS=() # rows: server|workload|requests/s|transfer/s|p99|errors
TOTAL_ERRORS=0

# run_wrk SERVER LABEL CONNECTIONS URL: one wrk run, pinned to CLIENT_CPUS,
# output shown as it comes and parsed into a result row.
run_wrk() {
    local server="$1" label="$2" conns="$3" url="$4"
    local out="$WORK_DIR/wrk-$server-${label// /_}.txt"
    log "$server: $label: wrk -t1 -c$conns -d${DURATION}s --latency $url"
    taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${DURATION}s" --latency \
        -s "$LUA_DIR/report.lua" "$url" | tee "$out"

    local rps transfer p99 report errors detail
    rps="$(awk '$1 == "Requests/sec:" {print $2}' "$out")"
    transfer="$(awk '$1 == "Transfer/sec:" {print $2}' "$out")"
    p99="$(awk '/Latency Distribution/ {d = 1; next} d && $1 == "99%" {print $2; exit}' "$out")"
    # wrk prints a percentile it cannot compute as 0 (see scripts/report.lua).
    [[ "$p99" =~ ^0(\.0+)?[a-z]*$ ]] && p99="n/a"
    report="$(grep '^wrk-report ' "$out" || true)"
    [[ -n "$rps" && -n "$transfer" && -n "$p99" && -n "$report" ]] ||
        die "could not parse wrk output for $server $label (see above)"
    errors="$(report_field "$report" errors)"
    detail="$errors"
    if [[ "$errors" -ne 0 ]]; then
        detail="$errors ($(for k in connect read write status timeout; do
            printf '%s=%s ' "$k" "$(report_field "$report" "${k}_errors")"
        done | sed 's/ $//'))"
    fi
    TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
    RESULTS+=("$server|$label|$rps|$transfer|$p99|$detail")
}

report_field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# run_ab SERVER LABEL URL: ab without keep-alive, pinned to CLIENT_CPUS.
run_ab() {
    local server="$1" label="$2" url="$3"
    local out="$WORK_DIR/ab-$server-${label// /_}.txt"
    log "$server: $label: ab -n $AB_REQUESTS -c 50 $url"
    # -r: count socket errors instead of aborting the run on the first one.
    taskset -c "$CLIENT_CPUS" ab -q -r -n "$AB_REQUESTS" -c 50 "$url" | tee "$out"

    local rps kbps p99 failed non2xx complete errors detail
    rps="$(awk '/^Requests per second:/ {print $4}' "$out")"
    kbps="$(awk '/^Transfer rate:/ {print $3}' "$out")"
    p99="$(awk '$1 == "99%" {print $2; exit}' "$out")"
    complete="$(awk '/^Complete requests:/ {print $3}' "$out")"
    failed="$(awk '/^Failed requests:/ {print $3}' "$out")"
    non2xx="$(awk '/^Non-2xx responses:/ {print $3}' "$out")"
    [[ -n "$rps" && -n "$kbps" && -n "$complete" && -n "$failed" ]] ||
        die "could not parse ab output for $server $label (see above)"
    non2xx="${non2xx:-0}"
    errors=$((failed + non2xx + AB_REQUESTS - complete))
    detail="$errors"
    if [[ "$errors" -ne 0 ]]; then
        detail="$errors (failed=$failed non-2xx=$non2xx incomplete=$((AB_REQUESTS - complete)))"
    fi
    TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
    # ab reports KiB/s; show it in wrk's style. Its percentiles are whole ms.
    RESULTS+=("$server|$label|$rps|$(awk -v k="$kbps" 'BEGIN {
        if (k >= 1024) printf "%.2fMB", k / 1024; else printf "%.2fKB", k }')|${p99:-?}ms (ab)|$detail")
}

# run_workloads NAME URL_BASE: every workload against one server.
run_workloads() {
    local name="$1" base="$2"
    check_file "$base" /tiny.html "$TINY_SIZE"
    check_file "$base" /medium.css "$MEDIUM_SIZE"
    check_file "$base" /large.html "$LARGE_SIZE"
    run_wrk "$name" "tiny 38 B, keep-alive, c50" 50 "$base/tiny.html"
    run_wrk "$name" "medium 96 KiB, keep-alive, c16" 16 "$base/medium.css"
    run_wrk "$name" "large 932 KiB, keep-alive, c8" 8 "$base/large.html"
    run_ab "$name" "tiny 38 B, ab no keep-alive, c50" "$base/tiny.html"
}

print_table() {
    local header="server|workload|requests/s|transfer/s|p99 latency|errors"
    echo
    echo "Results: wrk -t1 for ${DURATION}s per workload, ab -n $AB_REQUESTS; server on CPU $SERVER_CPUS (workers=$WORKERS), client on CPU $CLIENT_CPUS"
    printf '%s\n' "$header" "${RESULTS[@]}" | awk -F'|' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF }
        END {
            for (r = 1; r <= n; r++) {
                line = ""
                for (i = 1; i <= nf; i++) {
                    # text columns left-aligned, numbers right-aligned
                    fmt = (i <= 2) ? "%-" w[i] "s" : "%" w[i] "s"
                    line = line (i > 1 ? " | " : "") sprintf(fmt, cell[r, i])
                }
                print line
                if (r == 1) {
                    sep = ""
                    for (i = 1; i <= nf; i++) {
                        dash = sprintf("%" w[i] "s", ""); gsub(/ /, "-", dash)
                        sep = sep (i > 1 ? "-|-" : "") dash
                    }
                    print sep
                }
            }
        }'
    echo "p99: wrk's --latency distribution; for ab, ab's own percentile in whole ms."
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
install_tools
build_server

WORK_DIR="$(mktemp -d -t staticd-bench.XXXXXX)"
mkdir -p "$WORK_DIR/corpus"
make_corpus "$WORK_DIR/corpus"

if [[ "$MODE" == logging ]]; then
    for round in 1 2 3; do
        for format in off combined; do
            EXTRA_ARGS=(--log-format "$format" --access-log "$WORK_DIR/access-$format.log")
            start_staticd "$WORK_DIR/corpus" "$WORK_DIR/staticd.log"
            run_wrk "log-$format" "tiny 38 B, keep-alive, c50 (round $round)" 50 "$STATICD_URL/tiny.html"
            stop_servers
        done
    done
    print_table
    printf '%s\n' "${RESULTS[@]}" | awk -F'|' '
        { sum[$1] += $3; n[$1]++ }
        END {
            off = sum["log-off"] / n["log-off"]; on = sum["log-combined"] / n["log-combined"]
            printf "access log cost: off %.0f req/s, combined %.0f req/s, ratio %.3f (%.1f%% slower)\n",
                off, on, on / off, (1 - on / off) * 100
        }'
else
    start_staticd "$WORK_DIR/corpus" "$WORK_DIR/staticd.log"
    run_workloads staticd "$STATICD_URL"
    stop_servers
    print_table
fi
if [[ "$TOTAL_ERRORS" -ne 0 ]]; then
    echo "bench.sh: $TOTAL_ERRORS errors during the runs; the figures above are not trustworthy" >&2
    exit 1
fi
