#!/usr/bin/env bash
# Benchmark staticd against nginx: the same corpus, the same settings (one
# worker, sendfile, no access log, both pinned to the same core), the same
# load generators (wrk keep-alive, ab one connection per request, curl for
# one big file, a Python client for idle connections), one table at the end.
#
#   bash wrk/bench.sh                      # staticd and nginx, 5 s per wrk workload
#   bash wrk/bench.sh --runs 3             # three rounds, median ratio per workload
#   BENCH_DURATION=2 bash wrk/bench.sh --skip-idle --skip-1g   # quick run
#   bash wrk/bench.sh --skip-nginx         # staticd alone
#   bash wrk/bench.sh --workers 2          # worker count for both servers (default 1)
#   bash wrk/bench.sh --logging            # what the access log costs (off vs combined)
#
# Environment:
#   BENCH_DURATION          seconds per wrk workload (default 5)
#   BENCH_AB_REQUESTS       requests for the ab workload (default 20000)
#   BENCH_IDLE_CONNECTIONS  idle keep-alive connections to hold (default 10000)
#   BENCH_SERVER_CPUS       CPU list the servers are pinned to (default 0)
#   BENCH_CLIENT_CPUS       CPU list the load generators are pinned to (default 1)
#   BENCH_RUST_LOG          staticd's RUST_LOG (default warn: no access log)
#   BENCH_NGINX             the nginx executable (default: nginx from PATH)
#
# This is a benchmark, not a test: CI does not run it. All traffic goes to
# 127.0.0.1, and every load stops by itself (fixed duration or count).
#
# Structure: bench_server NAME runs every workload against one server (started
# by start_server NAME) and records a figure per workload in VALUES; the run
# loop alternates which server goes first; print_table lists every run and
# print_comparison the medians and ratios.

set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
LUA_DIR="$SCRIPT_DIR/scripts"
IDLE_CLIENT="$SCRIPT_DIR/scripts/idle_conns.py"

DURATION="${BENCH_DURATION:-5}"
AB_REQUESTS="${BENCH_AB_REQUESTS:-20000}"
IDLE_CONNECTIONS="${BENCH_IDLE_CONNECTIONS:-10000}"
SERVER_CPUS="${BENCH_SERVER_CPUS:-0}"
CLIENT_CPUS="${BENCH_CLIENT_CPUS:-1}"
# Server log filter: warnings and up, so the per-request access log is not
# part of what we measure. The "listening on" line is printed at any level.
SERVER_RUST_LOG="${BENCH_RUST_LOG:-warn}"
NGINX_BIN="${BENCH_NGINX:-}"
WORKERS=1
RUNS=1
# all: every workload against staticd and nginx.
# logging: only the tiny keep-alive workload against staticd, alternating
# --log-format off and combined (to a file), three rounds, to show what the
# access log costs.
MODE=all
SKIP_IDLE=0
SKIP_1G=0
SKIP_NGINX=0

# Connection limits of both servers (the idle workload needs more than
# staticd's default of 10000).
MAX_CONNECTIONS=20000
# staticd settings equivalent to the nginx configuration written by
# write_nginx_conf: no access log, nginx's keepalive_timeout and
# keepalive_requests, the raised connection limit.
COMPARE_ARGS=(--log-format off --keepalive-timeout 65s --max-requests 100000
    --max-connections "$MAX_CONNECTIONS")
# Extra staticd arguments for the next start_staticd.
EXTRA_ARGS=("${COMPARE_ARGS[@]}")

# Corpus files and their exact sizes in bytes.
TINY_SIZE=38
LISTING_ENTRIES=3000
SCALING_ROUNDS=4
SCALING_SECONDS=2
MEDIUM_SIZE=98620
LARGE_SIZE=954824
BIG_SIZE=$((1024 * 1024 * 1024))

usage() {
    sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<'USAGE'

Options:
  --runs N        repeat the whole comparison N times (default 1); the
                  comparison shows the median of each figure and of the ratios
  --workers N     workers for both servers in the pinned workloads (default 1)
  --skip-idle     leave out the idle-connections workload
  --skip-1g       leave out the 1 GiB download
  --skip-nginx    staticd alone (no nginx column)
  --logging       the access-log cost comparison instead (staticd only)
USAGE
}

die() {
    echo "bench.sh: $*" >&2
    exit 1
}

log() {
    echo "==> $*" >&2
}

# need_value OPTION ARGC: OPTION must be followed by a value.
need_value() {
    [[ "$2" -ge 2 ]] || die "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --workers)
            need_value "$1" $#
            WORKERS="$2"
            shift 2
            ;;
        --workers=*)
            WORKERS="${1#--workers=}"
            shift
            ;;
        --runs)
            need_value "$1" $#
            RUNS="$2"
            shift 2
            ;;
        --runs=*)
            RUNS="${1#--runs=}"
            shift
            ;;
        --skip-idle)
            SKIP_IDLE=1
            shift
            ;;
        --skip-1g)
            SKIP_1G=1
            shift
            ;;
        --skip-nginx)
            SKIP_NGINX=1
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
is_positive_int "$RUNS" || die "--runs must be a positive integer, got '$RUNS'"
is_positive_int "$DURATION" || die "BENCH_DURATION must be a positive integer, got '$DURATION'"
is_positive_int "$AB_REQUESTS" || die "BENCH_AB_REQUESTS must be a positive integer, got '$AB_REQUESTS'"
[[ "$AB_REQUESTS" -ge 50 ]] || die "BENCH_AB_REQUESTS must be at least the ab concurrency (50)"
is_positive_int "$IDLE_CONNECTIONS" ||
    die "BENCH_IDLE_CONNECTIONS must be a positive integer, got '$IDLE_CONNECTIONS'"
[[ "$IDLE_CONNECTIONS" -lt "$MAX_CONNECTIONS" ]] ||
    die "BENCH_IDLE_CONNECTIONS must stay below the servers' connection limit ($MAX_CONNECTIONS)"
if [[ "$MODE" == logging ]]; then
    SKIP_NGINX=1
fi

# ---------------------------------------------------------------------------
# Cleanup: whatever happens, stop the server(s) we started and remove the
# scratch directory.
# ---------------------------------------------------------------------------
WORK_DIR=""
SERVER_PIDS=()

# stop_servers: stop every server this script started (by PID) and reap it.
# nginx's master stops its workers on SIGTERM before it exits; staticd
# finishes requests in flight for up to its grace period (10 s).
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

# find_nginx: set NGINX_BIN (Debian installs nginx in sbin, which is not on
# every user's PATH).
find_nginx() {
    [[ -n "$NGINX_BIN" ]] && return 0
    NGINX_BIN="$(PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v nginx || true)"
}

install_tools() {
    local missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v ab >/dev/null 2>&1 || missing+=(apache2-utils)
    command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
    if [[ "$MODE" == all ]]; then
        command -v curl >/dev/null 2>&1 || missing+=(curl)
        command -v python3 >/dev/null 2>&1 || missing+=(python3)
    fi
    if [[ "$SKIP_NGINX" -eq 0 ]]; then
        find_nginx
        # Debian's nginx package; on a machine running systemd its install
        # script also starts the system service on port 80, which this
        # script neither uses nor stops.
        [[ -n "$NGINX_BIN" ]] || missing+=(nginx)
    fi
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
    if [[ "$SKIP_NGINX" -eq 0 ]]; then
        find_nginx
        [[ -n "$NGINX_BIN" ]] || die "nginx is still not found after installing it"
    fi
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

# raise_nofile: the idle workload holds IDLE_CONNECTIONS sockets in the client
# and as many in the server; every process started from here inherits the
# limit. Raise the soft limit (and the hard one, where allowed).
NOFILE=0
raise_nofile() {
    local need=$((MAX_CONNECTIONS + 100))
    if [[ "$(ulimit -Sn)" != unlimited && "$(ulimit -Sn)" -lt "$need" ]]; then
        ulimit -n "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
    fi
    NOFILE="$(ulimit -Sn)"
    [[ "$NOFILE" == unlimited ]] && NOFILE="$need"
    if [[ "$SKIP_IDLE" -eq 0 && "$NOFILE" -lt $((IDLE_CONNECTIONS + 100)) ]]; then
        die "the open-files limit is $NOFILE, too low for $IDLE_CONNECTIONS idle connections; raise ulimit -n, lower BENCH_IDLE_CONNECTIONS or pass --skip-idle"
    fi
    return 0
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
    # A directory listing costs the server far more CPU than the client:
    # the scaling check uses it to show a second worker joining in.
    mkdir -p "$dir/listing"
    (cd "$dir/listing" && seq -f "entry-%04g.txt" 1 "$LISTING_ENTRIES" | xargs touch)
}

# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------

# Settings for the next start_server: worker count and the CPU list the
# server is pinned to ("" = not pinned).
SRV_WORKERS=1
SRV_CPUS=0
# Set by start_server: where the server listens, and the process whose RSS
# the idle workload measures (staticd itself; nginx's worker).
SERVER_URL=""
RSS_PID=""
START_COUNT=0

# pin_prefix: set PIN to the command prefix that pins a server to SRV_CPUS
# (empty when SRV_CPUS is empty). The server is then started as one simple
# command in the background, so that $! is the server's own PID (taskset
# execs it), never a subshell's.
PIN=()
pin_prefix() {
    PIN=()
    [[ -z "$SRV_CPUS" ]] || PIN=(taskset -c "$SRV_CPUS")
}

describe_placement() {
    if [[ -n "$SRV_CPUS" ]]; then echo "workers=$SRV_WORKERS, cpus=$SRV_CPUS"; else echo "workers=$SRV_WORKERS, not pinned"; fi
}

# start_staticd ROOT LOGFILE: start staticd on a free port, wait for its
# "listening on" line and set SERVER_URL and RSS_PID.
start_staticd() {
    local root="$1" logfile="$2"
    log "starting staticd ($(describe_placement))"
    pin_prefix
    # Created here: the poll below may read it before the background job
    # has opened it.
    : >"$logfile"
    RUST_LOG="$SERVER_RUST_LOG" NO_COLOR=1 "${PIN[@]+"${PIN[@]}"}" \
        "$STATICD_BIN" --root "$root" --bind 127.0.0.1 --port 0 --workers "$SRV_WORKERS" "${EXTRA_ARGS[@]}" \
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
    # $! must be staticd itself: it is what stop_servers signals and what
    # the idle workload measures.
    server_started staticd "$pid" "$pid" "$port" "staticd (pid $pid)"
}

# server_started COMM PID RSS_PID PORT WHO: checks that PID runs COMM, then
# sets SERVER_URL and RSS_PID and says who listens where.
server_started() {
    local comm="$1" pid="$2" rss_pid="$3" port="$4" who="$5"
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] ||
        die "pid $pid is not $comm but '$(cat "/proc/$pid/comm" 2>/dev/null)'"
    SERVER_URL="http://127.0.0.1:$port"
    RSS_PID="$rss_pid"
    log "$who is listening on $SERVER_URL"
}

# free_port: a TCP port on 127.0.0.1 that nobody listens on right now (the
# kernel's pick for port 0). Someone may take it before nginx binds it;
# start_nginx then tries again.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# write_nginx_conf DIR ROOT PORT: an nginx configuration equivalent to
# staticd's COMPARE_ARGS, with every path inside DIR.
write_nginx_conf() {
    local dir="$1" root="$2" port="$3"
    local user_line="" temp_lines="" module configure
    # As root, the workers keep root's rights: the corpus lives in a
    # private (0700) temporary directory.
    [[ "$(id -u)" -eq 0 ]] && user_line="user root;"
    # Temporary-file directories of the modules built in (nginx creates the
    # compiled-in ones at startup otherwise, outside DIR).
    configure="$("$NGINX_BIN" -V 2>&1)"
    temp_lines="client_body_temp_path $dir/temp/client_body;"
    for module in proxy fastcgi uwsgi scgi; do
        [[ "$configure" == *"--without-http_${module}_module"* ]] && continue
        temp_lines+=$'\n'"    ${module}_temp_path $dir/temp/$module;"
    done
    mkdir -p "$dir/temp"
    cat >"$dir/nginx.conf" <<NGINX
# Written by bench.sh; equivalent to staticd ${COMPARE_ARGS[*]}
daemon off;
master_process on;
worker_processes $SRV_WORKERS;
worker_rlimit_nofile $NOFILE;
$user_line
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
    worker_connections $MAX_CONNECTIONS;
}

http {
    types {
        text/html html htm;
        text/css css;
        application/octet-stream bin;
    }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 65;
    open_file_cache max=1000 inactive=20s;
    open_file_cache_valid 30s;
    $temp_lines

    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        root $root;
    }
}
NGINX
}

# wait_accepting PORT PID: poll until 127.0.0.1:PORT accepts a connection,
# up to 100 x 0.1 s = 10 s. Returns 1 if PID exits first or time runs out.
wait_accepting() {
    local port="$1" pid="$2" tries
    for ((tries = 0; tries < 100; tries++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_nginx ROOT DIR: nginx in the foreground (daemon off) with its master
# and workers pinned like staticd; sets SERVER_URL, and RSS_PID to the worker.
start_nginx() {
    local root="$1" dir="$2"
    local attempt port pid tries worker
    mkdir -p "$dir"
    log "starting nginx ($(describe_placement))"
    for ((attempt = 1; attempt <= 5; attempt++)); do
        port="$(free_port)"
        write_nginx_conf "$dir" "$root" "$port"
        : >"$dir/error.log"
        : >"$dir/stderr.log"
        # -e: errors before the configuration is read go to DIR too.
        pin_prefix
        "${PIN[@]+"${PIN[@]}"}" "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
            </dev/null >/dev/null 2>"$dir/stderr.log" &
        pid=$!
        SERVER_PIDS+=("$pid")
        if wait_accepting "$port" "$pid"; then
            break
        fi
        if kill -0 "$pid" 2>/dev/null; then
            cat -- "$dir/stderr.log" "$dir/error.log" >&2
            die "nginx did not accept connections on port $port within 10 s"
        fi
        wait "$pid" 2>/dev/null || true
        if ! grep -q 'Address already in use' "$dir/stderr.log" "$dir/error.log"; then
            cat -- "$dir/stderr.log" "$dir/error.log" >&2
            die "nginx exited at startup"
        fi
        log "port $port was taken meanwhile; trying another"
        pid=""
    done
    [[ -n "$pid" ]] || die "nginx could not bind a free port in 5 attempts"

    # The worker: the master's child, forked before the listening socket
    # accepts, so normally there already. Up to 50 x 0.1 s.
    worker=""
    for ((tries = 0; tries < 50; tries++)); do
        worker="$(pgrep -P "$pid" | head -n 1 || true)"
        [[ -n "$worker" ]] && break
        sleep 0.1
    done
    [[ -n "$worker" ]] || die "no nginx worker process under master $pid"
    server_started nginx "$pid" "$worker" "$port" "nginx (master $pid, worker $worker)"
}

# start_server NAME: start staticd or nginx with SRV_WORKERS and SRV_CPUS; its
# diagnostics go to a file of its own under WORK_DIR/logs.
start_server() {
    local name="$1"
    START_COUNT=$((START_COUNT + 1))
    case "$name" in
        staticd) start_staticd "$WORK_DIR/corpus" "$WORK_DIR/logs/staticd-$START_COUNT.log" ;;
        nginx) start_nginx "$WORK_DIR/corpus" "$WORK_DIR/nginx-$START_COUNT" ;;
        *) die "unknown server $name" ;;
    esac
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
RESULTS=() # rows: run|server|workload|requests/s|transfer/s|p99|errors
IDLE_RESULTS=() # rows: run|server|opened|RSS before|RSS after|KiB/conn|errors
TOTAL_ERRORS=0
# The figures the comparison is made of: VALUES[RUN|SERVER|KEY]; see
# COMPARE_KEYS for the keys.
declare -A VALUES=()
RUN=1

# record SERVER KEY VALUE: one figure of the current run.
record() {
    VALUES["$RUN|$1|$2"]="$3"
}

report_field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# run_wrk SERVER LABEL CONNECTIONS URL: one wrk run, pinned to CLIENT_CPUS,
# output shown as it comes and parsed into a result row. Sets WRK_RPS,
# WRK_MIBPS (body and head bytes read per second, MiB) and WRK_P99_MS
# ("n/a" when wrk cannot tell).
run_wrk() {
    local server="$1" label="$2" conns="$3" url="$4"
    local out="$WORK_DIR/wrk-$RUN-$server-${label// /_}.txt"
    log "$server: $label: wrk -t1 -c$conns -d${DURATION}s --latency $url"
    taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${DURATION}s" --latency \
        -s "$LUA_DIR/report.lua" "$url" | tee "$out"

    local rps transfer p99 report errors detail p99_us
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
    RESULTS+=("$RUN|$server|$label|$rps|$transfer|$p99|$detail")

    WRK_RPS="$(report_field "$report" rps)"
    WRK_MIBPS="$(awk -v b="$(report_field "$report" bytes)" -v us="$(report_field "$report" duration_us)" \
        'BEGIN { printf "%.2f", (us > 0 ? b / 1048576 / (us / 1e6) : 0) }')"
    p99_us="$(report_field "$report" p99_us)"
    if [[ "$p99_us" =~ ^[0-9]+$ ]]; then
        WRK_P99_MS="$(awk -v us="$p99_us" 'BEGIN { printf "%.3f", us / 1000 }')"
    else
        WRK_P99_MS="n/a"
    fi
}

# run_ab SERVER LABEL URL: ab without keep-alive, pinned to CLIENT_CPUS.
# Sets AB_RPS.
run_ab() {
    local server="$1" label="$2" url="$3"
    local out="$WORK_DIR/ab-$RUN-$server-${label// /_}.txt"
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
    RESULTS+=("$RUN|$server|$label|$rps|$(awk -v k="$kbps" 'BEGIN {
        if (k >= 1024) printf "%.2fMB", k / 1024; else printf "%.2fKB", k }')|${p99:-?}ms (ab)|$detail")
    AB_RPS="$rps"
}

# run_curl SERVER LABEL URL SIZE: one download to /dev/null over one
# connection, pinned to CLIENT_CPUS, at most 120 s. Sets CURL_MIBPS from
# curl's %{speed_download} (bytes/s).
run_curl() {
    local server="$1" label="$2" url="$3" size="$4"
    local out code got speed errors=0 detail
    log "$server: $label: curl -o /dev/null $url"
    out="$(taskset -c "$CLIENT_CPUS" curl -sS -o /dev/null --max-time 120 \
        -w '%{http_code} %{size_download} %{speed_download} %{time_total}' "$url")" || errors=1
    read -r code got speed _ <<<"$out"
    echo "curl: status ${code:-?}, ${got:-?} bytes, ${speed:-?} bytes/s"
    detail=0
    if [[ "$errors" -ne 0 || "$code" != 200 || "$got" != "$size" ]]; then
        errors=1
        detail="1 (status=${code:-?} bytes=${got:-?})"
    fi
    TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
    CURL_MIBPS="$(awk -v s="${speed:-0}" 'BEGIN { printf "%.2f", s / 1048576 }')"
    RESULTS+=("$RUN|$server|$label|1|${CURL_MIBPS}MiB|-|$detail")
}

# run_idle SERVER: hold IDLE_CONNECTIONS keep-alive connections open (one
# request each) and measure the growth of RSS_PID's resident set. Sets
# IDLE_KIB (KiB per connection).
run_idle() {
    local server="$1"
    local port="${SERVER_URL##*:}" out="$WORK_DIR/idle-$RUN-$server.txt" rc=0 report
    log "$server: $IDLE_CONNECTIONS idle keep-alive connections, VmRSS of pid $RSS_PID"
    taskset -c "$CLIENT_CPUS" python3 "$IDLE_CLIENT" --port "$port" --pid "$RSS_PID" \
        --count "$IDLE_CONNECTIONS" --path /tiny.html --timeout 120 | tee "$out" || rc=$?
    report="$(grep '^idle-report ' "$out" || true)"
    [[ -n "$report" ]] || die "the idle-connections client failed for $server (status $rc, see above)"
    local opened failed closed sample sample_ok errors detail
    opened="$(report_field "$report" opened)"
    failed="$(report_field "$report" failed)"
    closed="$(report_field "$report" closed_by_server)"
    sample="$(report_field "$report" sample)"
    sample_ok="$(report_field "$report" sample_ok)"
    IDLE_KIB="$(report_field "$report" per_conn_kib)"
    errors=$((failed + closed + sample - sample_ok))
    detail="$errors"
    if [[ "$errors" -ne 0 ]]; then
        detail="$errors (failed=$failed closed-by-server=$closed reused=$sample_ok/$sample)"
    fi
    TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
    IDLE_RESULTS+=("$RUN|$server|$opened|$(report_field "$report" rss_before_kib) KiB|$(report_field "$report" rss_after_kib) KiB|$IDLE_KIB|$(report_field "$report" open_seconds) s|$detail")
}

# The comparison: key|workload|metric|better (higher or lower).
COMPARE_KEYS=(
    "tiny_rps|38 B, keep-alive, c50 (wrk)|req/s|higher"
    "ab_rps|38 B, new connection per request, c50 (ab)|req/s|higher"
    "medium_rps|96 KiB, keep-alive, c16 (wrk)|req/s|higher"
    "large_mibps|932 KiB, keep-alive, c8 (wrk)|MiB/s|higher"
    "big_mibps|1 GiB, one connection (curl)|MiB/s|higher"
    "idle_kib|IDLE idle keep-alive connections|RSS KiB/conn|lower"
    "tiny_p99|p99 latency, 38 B, keep-alive, c50|ms|lower"
    "w1p_rps|38 B, keep-alive, c50, pinned, beside the unpinned pair|req/s|higher"
    "w1u_rps|38 B, keep-alive, c50, 1 worker, not pinned|req/s|higher"
    "w2_rps|38 B, keep-alive, c50, 2 workers, not pinned|req/s|higher"
)

# bench_server NAME: every workload against one server, pinned, with
# SRV_WORKERS=WORKERS; then the scaling check (bench_scaling).
bench_server() {
    local name="$1" base
    SRV_WORKERS="$WORKERS" SRV_CPUS="$SERVER_CPUS"
    start_server "$name"
    base="$SERVER_URL"
    check_file "$base" /tiny.html "$TINY_SIZE"
    check_file "$base" /medium.css "$MEDIUM_SIZE"
    check_file "$base" /large.html "$LARGE_SIZE"
    [[ "$SKIP_1G" -eq 1 ]] || check_file "$base" /big.bin "$BIG_SIZE"
    # Idle connections first, while the server is fresh: RSS before is the
    # server at rest, not what the bulk workloads left in its allocator.
    if [[ "$SKIP_IDLE" -eq 0 ]]; then
        run_idle "$name"
        record "$name" idle_kib "$IDLE_KIB"
    fi
    run_wrk "$name" "tiny 38 B, keep-alive, c50" 50 "$base/tiny.html"
    record "$name" tiny_rps "$WRK_RPS"
    record "$name" tiny_p99 "$WRK_P99_MS"
    run_wrk "$name" "medium 96 KiB, keep-alive, c16" 16 "$base/medium.css"
    record "$name" medium_rps "$WRK_RPS"
    run_wrk "$name" "large 932 KiB, keep-alive, c8" 8 "$base/large.html"
    record "$name" large_mibps "$WRK_MIBPS"
    run_ab "$name" "tiny 38 B, ab no keep-alive, c50" "$base/tiny.html"
    record "$name" ab_rps "$AB_RPS"
    if [[ "$SKIP_1G" -eq 0 ]]; then
        run_curl "$name" "1 GiB, one connection, curl" "$base/big.bin" "$BIG_SIZE"
        record "$name" big_mibps "$CURL_MIBPS"
    fi
    stop_servers

    bench_scaling "$name"
}

# bench_scaling NAME: WORKERS workers pinned as in the table ("p"), and 1
# and 2 workers not pinned, all three started at once. These shared
# machines have slow and fast spells (the same server measures about
# 110,000 or 140,000 req/s from one minute, sometimes one second, to the
# next), so the servers are loaded in short turns, SCALING_ROUNDS rounds of
# SCALING_SECONDS each: p 1 2 1 p, then p 2 1 2 p (so neither unpinned
# server always goes first or sits in the middle), and so on. Records the
# median over the rounds of each ratio of means, and of how far the two
# pinned measurements of a round differ (the noise floor). For staticd
# also a directory listing, 1 2 1 or 2 1 2 per round.
bench_scaling() {
    local name="$1" saved=("${EXTRA_ARGS[@]}") config round order DURATION="$SCALING_SECONDS"
    local -A urls=()
    local vs_p=() vs_1=() noise=() list=() p1=() w1=() w2=()
    EXTRA_ARGS+=(--autoindex on)
    SRV_WORKERS="$WORKERS" SRV_CPUS="$SERVER_CPUS"
    start_server "$name"
    urls[p]="$SERVER_URL"
    SRV_CPUS=""
    for config in 1 2; do
        SRV_WORKERS="$config"
        start_server "$name"
        urls[$config]="$SERVER_URL"
    done
    for config in p 1 2; do check_file "${urls[$config]}" /tiny.html "$TINY_SIZE"; done
    for ((round = 1; round <= SCALING_ROUNDS; round++)); do
        order="$([[ $((round % 2)) -eq 1 ]] && echo "1 2 1" || echo "2 1 2")"
        scaling_turns "$name" "tiny 38 B, keep-alive" 50 /tiny.html p $order p
        vs_p+=("$(ratio "${TURN_MEAN[2]}" "${TURN_MEAN[p]}")")
        vs_1+=("$(ratio "${TURN_MEAN[2]}" "${TURN_MEAN[1]}")")
        noise+=("$TURN_SPREAD_P")
        p1+=("${TURN_MEAN[p]}") w1+=("${TURN_MEAN[1]}") w2+=("${TURN_MEAN[2]}")
        [[ "$name" == staticd ]] || continue
        scaling_turns "$name" listing 8 /listing/ $order
        list+=("$(ratio "${TURN_MEAN[2]}" "${TURN_MEAN[1]}")")
    done
    record "$name" w1p_rps "$(median "${p1[@]}")"
    record "$name" w1u_rps "$(median "${w1[@]}")"
    record "$name" w2_rps "$(median "${w2[@]}")"
    record "$name" w2_vs_p "$(median "${vs_p[@]}")"
    record "$name" w2_vs_1 "$(median "${vs_1[@]}")"
    record "$name" w1p_noise "$(median "${noise[@]}")"
    [[ "$name" == staticd ]] && record "$name" w2_vs_1_list "$(median "${list[@]}")"
    stop_servers
    EXTRA_ARGS=("${saved[@]}")
}

# scaling_turns NAME WORKLOAD CONNECTIONS PATH CONFIG...: one wrk run per
# CONFIG, in order, against urls[CONFIG]. Sets TURN_MEAN[CONFIG] (the mean
# req/s of that server's turns) and TURN_SPREAD_P (how far p's two turns
# differ, as a share of their mean; 0 with fewer than two).
declare -A TURN_MEAN=()
TURN_SPREAD_P=0
scaling_turns() {
    local name="$1" workload="$2" conns="$3" path="$4" config
    local -A sum=() count=()
    local p_values=()
    shift 4
    for config in "$@"; do
        run_wrk "$name" "$workload, c$conns, $(scaling_label "$config")" "$conns" "${urls[$config]}$path"
        sum[$config]="$(awk -v a="${sum[$config]:-0}" -v b="$WRK_RPS" 'BEGIN { print a + b }')"
        count[$config]=$((${count[$config]:-0} + 1))
        [[ "$config" == p ]] && p_values+=("$WRK_RPS")
    done
    TURN_MEAN=()
    for config in "${!sum[@]}"; do
        TURN_MEAN[$config]="$(awk -v s="${sum[$config]}" -v n="${count[$config]}" 'BEGIN { printf "%.2f", s / n }')"
    done
    TURN_SPREAD_P=0
    if [[ "${#p_values[@]}" -ge 2 ]]; then
        TURN_SPREAD_P="$(awk -v a="${p_values[0]}" -v b="${p_values[1]}" \
            'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.4f", 2 * d / (a + b) }')"
    fi
}

# scaling_label CONFIG: how the scaling check names a server.
scaling_label() {
    if [[ "$1" == p ]]; then echo "$WORKERS worker(s) on CPU $SERVER_CPUS"; else echo "$1 worker(s) unpinned"; fi
}

# print_rows HEADER ROW...: a table; the first ALIGN_LEFT columns are
# left-aligned, the others (numbers) right-aligned.
ALIGN_LEFT=3
print_rows() {
    printf '%s\n' "$@" | awk -F'|' -v left="$ALIGN_LEFT" '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; if (NF > nf) nf = NF }
        END {
            for (r = 1; r <= n; r++) {
                line = ""
                for (i = 1; i <= nf; i++) {
                    fmt = (i <= left) ? "%-" w[i] "s" : "%" w[i] "s"
                    line = line (i > 1 ? " | " : "") sprintf(fmt, cell[r, i])
                }
                sub(/ +$/, "", line)
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
}

print_table() {
    echo
    echo "Every run: wrk -t1 for ${DURATION}s per workload, ab -n $AB_REQUESTS; servers on CPU $SERVER_CPUS (workers=$WORKERS) unless marked unpinned, clients on CPU $CLIENT_CPUS"
    [[ -z "${LOADAVG:-}" ]] || echo "Load average (1, 5, 15 min) before the first run: $LOADAVG"
    ALIGN_LEFT=3 print_rows "run|server|workload|requests/s|transfer/s|p99 latency|errors" "${RESULTS[@]}"
    echo "p99: wrk's --latency distribution; for ab, ab's own percentile in whole ms."
    if [[ ${#IDLE_RESULTS[@]} -gt 0 ]]; then
        echo
        echo "Idle keep-alive connections (VmRSS of staticd, of nginx's worker process):"
        ALIGN_LEFT=2 print_rows "run|server|held|RSS before|RSS after|KiB/conn|time to open|errors" "${IDLE_RESULTS[@]}"
    fi
}

# median VALUE...: the median of the numeric values, "n/a" if none.
median() {
    printf '%s\n' "$@" | awk '/^-?[0-9]+(\.[0-9]+)?$/' | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) print "n/a"
            else if (NR % 2) print v[(NR + 1) / 2]
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to 4 decimals (fmt rounds it for display, after the
# median and the verdicts), "n/a" unless both are positive numbers.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a ~ /^[0-9]+(\.[0-9]+)?$/ && b ~ /^[0-9]+(\.[0-9]+)?$/ && a > 0 && b > 0) printf "%.4f", a / b
        else print "n/a" }'
}

# fmt VALUE METRIC: a figure rounded for its metric.
fmt() {
    awk -v v="$1" -v m="$2" 'BEGIN {
        if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) { print v; exit }
        if (m == "ms") printf "%.3f", v
        else if (m == "ratio" || m ~ /KiB/) printf "%.2f", v
        else if (m == "MiB/s") printf "%.1f", v
        else printf "%.0f", v }'
}

# join_ratios RATIO...: the ratios rounded for display, space-separated.
join_ratios() {
    local r out=()
    for r in "$@"; do
        out+=("$(fmt "$r" ratio)")
    done
    echo "${out[*]}"
}

# print_comparison: one row per workload: the median over the runs of each
# server's figure, and the median of the per-run ratios, oriented so that
# above 1 means staticd did better.
print_comparison() {
    local rows=() entry key label metric better run s n r runs_col
    local header="workload|metric|staticd|nginx|ratio"
    [[ "$RUNS" -gt 1 ]] && header+="|ratio per run"
    for entry in "${COMPARE_KEYS[@]}"; do
        IFS='|' read -r key label metric better <<<"$entry"
        label="${label/IDLE/$IDLE_CONNECTIONS}"
        label="${label/LISTING/$LISTING_ENTRIES}"
        [[ -n "${VALUES[1|staticd|$key]+set}" ]] || continue
        local svals=() nvals=() ratios=()
        for ((run = 1; run <= RUNS; run++)); do
            s="${VALUES[$run|staticd|$key]:-n/a}"
            n="${VALUES[$run|nginx|$key]:-n/a}"
            svals+=("$s")
            nvals+=("$n")
            if [[ "$better" == higher ]]; then r="$(ratio "$s" "$n")"; else r="$(ratio "$n" "$s")"; fi
            ratios+=("$r")
        done
        local row
        row="$label|$metric ($better is better)|$(fmt "$(median "${svals[@]}")" "$metric")"
        row+="|$(fmt "$(median "${nvals[@]}")" "$metric")|$(fmt "$(median "${ratios[@]}")" ratio)"
        if [[ "$RUNS" -gt 1 ]]; then
            runs_col="$(join_ratios "${ratios[@]}")"
            row+="|$runs_col"
        fi
        rows+=("$row")
    done
    echo
    if [[ "$RUNS" -gt 1 ]]; then
        echo "staticd vs nginx: median of $RUNS runs (ratio: median of the per-run ratios)"
    else
        echo "staticd vs nginx"
    fi
    ALIGN_LEFT=2 print_rows "$header" "${rows[@]}"
    echo "ratio > 1: staticd ahead. staticd/nginx for throughput; nginx/staticd for p99 latency"
    echo "and RSS per connection (lower is better there). Not pinned: the server unpinned,"
    echo "the client still on CPU $CLIENT_CPUS."
}

# print_scaling: staticd with 2 workers, not pinned, against 1 worker (the
# issue: 2 workers must not do worse than 1): against the pinned WORKERS
# figure of the table, and against 1 worker not pinned either, measured in
# the same run under the same conditions.
print_scaling() {
    echo
    echo "staticd scaling, median of $RUNS run(s); per run the median over $SCALING_ROUNDS rounds in which the"
    echo "three servers, running at once, are loaded in turn for ${SCALING_SECONDS}s each (pinned, 1, 2, 1, pinned,"
    echo "then pinned, 2, 1, 2, pinned, and so on)."
    echo "38 B keep-alive c50, --workers 2 not pinned against:"
    scaling_line "--workers $WORKERS on CPU $SERVER_CPUS" w2_vs_p
    scaling_line "--workers 1, not pinned" w2_vs_1
    echo "Directory listing ($LISTING_ENTRIES entries) c8: the server needs more CPU than the client, so"
    echo "with a CPU to spare a second worker should join in (ratio near 2):"
    scaling_line "--workers 2 against --workers 1, neither pinned" w2_vs_1_list
}

# scaling_line LABEL KEY: staticd's ratio KEY (2 workers against another
# figure), median over the runs. The verdict allows for the noise: below
# 1, but by less than the pinned server's two measurements in a round
# differ (median over rounds and runs), is a tie.
scaling_line() {
    local label="$1" key="$2" run ratios=() noises=() r noise
    for ((run = 1; run <= RUNS; run++)); do
        ratios+=("${VALUES[$run|staticd|$key]:-n/a}")
        noises+=("${VALUES[$run|staticd|w1p_noise]:-0}")
    done
    r="$(median "${ratios[@]}")"
    noise="$(median "${noises[@]}")"
    echo "  $label: ratio $(awk -v r="$r" 'BEGIN { if (r == "n/a") print r; else printf "%.3f", r }')$([[ "$RUNS" -gt 1 ]] &&
        echo " (per run: $(join_ratios "${ratios[@]}"))")" \
        "-> $(awk -v r="$r" -v n="$noise" 'BEGIN {
            if (r == "n/a") print "n/a"
            else if (r >= 1) print "OK: not below"
            else if (r >= 1 - n) printf "OK: equal within the noise (%.1f%%: the pinned server measured twice in a round)\n", 100 * n
            else print "BELOW" }')"
}

# print_server_logs: what the servers said at warning level or above.
print_server_logs() {
    local f lines
    echo
    lines="$(cat -- "$WORK_DIR"/logs/staticd-*.log 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' |
        awk '$2 == "WARN" || $2 == "ERROR"' || true)"
    if [[ -n "$lines" ]]; then
        echo "staticd logged $(wc -l <<<"$lines") warnings/errors; the first 10:"
        head -n 10 <<<"$lines"
    else
        echo "staticd logged no warnings or errors."
    fi
    [[ "$SKIP_NGINX" -eq 1 ]] && return 0
    lines="$(for f in "$WORK_DIR"/nginx-*/stderr.log "$WORK_DIR"/nginx-*/error.log; do
        [[ -f "$f" ]] && cat -- "$f"
    done |
        grep -E '\[(warn|error|crit|alert|emerg)\]' || true)"
    if [[ -n "$lines" ]]; then
        echo "nginx logged $(wc -l <<<"$lines") warnings/errors; the first 10:"
        head -n 10 <<<"$lines"
    else
        echo "nginx logged no warnings or errors."
    fi
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
install_tools
build_server
raise_nofile

WORK_DIR="$(mktemp -d -t staticd-bench.XXXXXX)"
mkdir -p "$WORK_DIR/corpus" "$WORK_DIR/logs"
make_corpus "$WORK_DIR/corpus"

if [[ "$MODE" == logging ]]; then
    SRV_WORKERS="$WORKERS" SRV_CPUS="$SERVER_CPUS"
    for RUN in 1 2 3; do
        for format in off combined; do
            EXTRA_ARGS=(--log-format "$format" --access-log "$WORK_DIR/access-$format.log")
            start_staticd "$WORK_DIR/corpus" "$WORK_DIR/logs/staticd-$RUN-$format.log"
            run_wrk "log-$format" "tiny 38 B, keep-alive, c50" 50 "$SERVER_URL/tiny.html"
            stop_servers
        done
    done
    print_table
    printf '%s\n' "${RESULTS[@]}" | awk -F'|' '
        { sum[$2] += $4; n[$2]++ }
        END {
            off = sum["log-off"] / n["log-off"]; on = sum["log-combined"] / n["log-combined"]
            printf "access log cost: off %.0f req/s, combined %.0f req/s, ratio %.3f (%.1f%% slower)\n",
                off, on, on / off, (1 - on / off) * 100
        }'
else
    if [[ "$SKIP_1G" -eq 0 ]]; then
        # Sparse: no disk space or write time. The first read of it fills the
        # page cache with zero pages, which costs the first reader several
        # times the transfer; read it once now so neither server pays that.
        truncate -s "$BIG_SIZE" "$WORK_DIR/corpus/big.bin"
        cat -- "$WORK_DIR/corpus/big.bin" >/dev/null
    fi
    # Anything else on the two cores shows up directly in the figures.
    LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
    log "load average before the first run: $LOADAVG"
    SERVERS=(staticd)
    [[ "$SKIP_NGINX" -eq 1 ]] || SERVERS+=(nginx)
    for ((RUN = 1; RUN <= RUNS; RUN++)); do
        # Alternate which server goes first, so that a drift of the machine
        # over the run (heat, other load) does not always favour the same one.
        order=("${SERVERS[@]}")
        if [[ ${#SERVERS[@]} -eq 2 && $((RUN % 2)) -eq 0 ]]; then
            order=("${SERVERS[1]}" "${SERVERS[0]}")
        fi
        log "run $RUN of $RUNS: ${order[*]}"
        for server in "${order[@]}"; do
            bench_server "$server"
        done
    done
    print_table
    print_comparison
    print_scaling
fi
print_server_logs
if [[ "$TOTAL_ERRORS" -ne 0 ]]; then
    echo "bench.sh: $TOTAL_ERRORS errors during the runs; the figures above are not trustworthy" >&2
    exit 1
fi
