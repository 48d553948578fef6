#!/usr/bin/env bash
# Runs staticd's fuzz targets for a bounded time each, on the stable
# toolchain (no sanitizer, so no nightly), and fails if any finds a crash,
# a hang or an out-of-memory input.
#
#   fuzz/run.sh                      # every target, FUZZ_SECONDS (60) each
#   FUZZ_SECONDS=600 fuzz/run.sh resolve_path
#
# New inputs libFuzzer finds go to fuzz/corpus/<target>/ (ignored by git);
# the committed seeds in fuzz/seeds/<target>/ are only read. Failing inputs
# are written to fuzz/artifacts/<target>/.
set -euo pipefail

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(request_head resolve_path proxy_header forwarded http2_connection)
fi

# Per-target libFuzzer options beyond the common ones.
extra_args() {
    case "$1" in
        # Room past MAX_HEAD (16 KiB) and MAX_REQUEST_LINE (8 KiB), so the
        # limit paths are reachable; libFuzzer's default cap is 4 KiB.
        request_head) echo "-max_len=20480" ;;
        # Room past MAX_PROXY_V2_LENGTH (2 KiB after the 16-byte prefix).
        proxy_header) echo "-max_len=4096" ;;
        # A head's worth of field value (MAX_HEAD, 16 KiB).
        forwarded) echo "-max_len=16384" ;;
        # Header blocks past HTTP2_MAX_HEADER_LIST (32 KiB), in frames.
        http2_connection) echo "-max_len=40960" ;;
        *) ;;
    esac
}

# Build everything first, so compile time does not eat into the runs.
for target in "${targets[@]}"; do
    cargo fuzz build --fuzz-dir "$fuzz_dir" -s none "$target"
done

failed=()
for target in "${targets[@]}"; do
    corpus="$fuzz_dir/corpus/$target"
    seeds="$fuzz_dir/seeds/$target"
    artifacts="$fuzz_dir/artifacts/$target"
    dict="$fuzz_dir/dicts/$target.dict"
    mkdir -p "$corpus" "$artifacts"
    before="$(find "$artifacts" -type f | wc -l)"

    args=(
        -max_total_time="$FUZZ_SECONDS"
        -rss_limit_mb=2048
        -timeout=10
        -print_final_stats=1
    )
    # One process, one job: libFuzzer's default. (Passing -jobs=1 would
    # instead fork a worker whose output goes to a fuzz-0.log file.)
    if [ -f "$dict" ]; then
        args+=(-dict="$dict")
    fi
    read -ra extra <<<"$(extra_args "$target")"
    args+=("${extra[@]}")

    echo "== $target: ${FUZZ_SECONDS}s" >&2
    # The first corpus directory receives new inputs; the seeds are read-only.
    if ! cargo fuzz run --fuzz-dir "$fuzz_dir" -s none "$target" "$corpus" "$seeds" -- "${args[@]}"; then
        failed+=("$target")
        continue
    fi
    after="$(find "$artifacts" -type f | wc -l)"
    if [ "$after" -gt "$before" ]; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "run.sh: failures in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "run.sh: ${targets[*]}: nothing found in ${FUZZ_SECONDS}s each" >&2
