#!/usr/bin/env bash
# Boot-storm and large-file benchmark of `ctl serve` against peer TFTP servers, in one go.
#
#   tftp-server/bench/boot-storm.sh            # from anywhere inside the repository
#
# Builds release binaries, prepares a temporary TFTP root, then for each server
# (ours, tftpd-hpa, atftpd, the `tftpd` crate — peers only when installed) starts it on
# 127.0.0.1, pinned to CPU $SERVER_CPU, and runs tftp-bench pinned to CPU $BENCH_CPU:
# boot storm with profiles none / blksize / window, then large file with window and none.
# Prints a markdown table with ratios against the best peer and the verdict on the targets.
#
# Knobs (environment): PHONES (1000), CONCURRENCY (all phones), RAMP_MS (0), LARGE_MB (48),
# LARGE_COUNT (3, window profile), LARGE_COUNT_PLAIN (2, no options), TIME_LIMIT_S (180 per
# run), SERVER_CPU (0), BENCH_CPU (1), PORT_BASE (16900), SERVERS ("ctl tftpd-hpa atftpd
# tftpd-crate"), OUT (results directory, default a new temp dir), KEEP_ROOT=1 (keep the root),
# SKIP_BUILD=1 (use the release binaries already in $CARGO_TARGET_DIR).
# Peer binaries: TFTPD_HPA (in.tftpd), ATFTPD (atftpd), TFTPD_CRATE (tftpd from
# `cargo install tftpd`); each defaults to the one on PATH and is skipped when absent,
# except the tftpd crate, which peers.sh installs with cargo unless NO_INSTALL=1.
#
# Peers serve a plain directory and know nothing of per-device names, so their root also
# holds CTLSEP<MAC>.tlv / ITLSEP<MAC>.tlv for every simulated phone (hard links to the
# cluster files). Our server gets a root without them and answers those names through its
# aliases (CTLSEP<MAC>.tlv -> CTLFile.tlv). Both roots hold SEP<MAC>.cnf.xml per phone.
set -euo pipefail

PHONES=${PHONES:-1000}
CONCURRENCY=${CONCURRENCY:-$PHONES}
RAMP_MS=${RAMP_MS:-0}
LARGE_MB=${LARGE_MB:-48}
LARGE_COUNT=${LARGE_COUNT:-3}
LARGE_COUNT_PLAIN=${LARGE_COUNT_PLAIN:-2}
TIME_LIMIT_S=${TIME_LIMIT_S:-180}
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
PORT_BASE=${PORT_BASE:-16900}
SERVERS=${SERVERS:-"ctl tftpd-hpa atftpd tftpd-crate"}

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
target=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d /tmp/ctl-boot-storm.XXXXXX)
OUT=${OUT:-$work/results}
mkdir -p "$OUT"
chmod 755 "$work" # peers drop privileges to nobody and must read the root
results=$OUT/results.jsonl
: >"$results"

say() { printf '==> %s\n' "$*" >&2; }

server_pid=
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
cleanup() {
    stop_server
    if [[ ${KEEP_ROOT:-0} != 1 ]]; then rm -rf "$work/root-ours" "$work/root-peers"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v taskset >/dev/null || { echo "taskset (util-linux) is required for pinning" >&2; exit 2; }

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    say "building release binaries (ctl, tftp-bench) into $target"
    (cd "$repo" && cargo build --release --quiet -p ctl --bin ctl && cargo build --release --quiet -p tftp-server --bin tftp-bench)
fi
ctl=$target/release/ctl
bench=$target/release/tftp-bench

# --- the roots -------------------------------------------------------------------------
say "preparing roots for $PHONES phones in $work"
ours=$work/root-ours
peers=$work/root-peers
mkdir -p "$ours" "$peers"
samples=$repo/fixtures/tftproot
if [[ -f $samples/CTLFile.tlv && -f $samples/ITLFile.tlv && -f $samples/SEP001E4A93748B.cnf.xml ]]; then
    cp "$samples/CTLFile.tlv" "$samples/ITLFile.tlv" "$samples/SEP001E4A93748B.cnf.xml" "$ours/"
    sample_note="signed samples from fixtures/tftproot"
else
    # Same sizes as real files; our server serves unverifiable trust lists found at startup
    # (and logs the problem), so the figures stay comparable.
    head -c 6757 /dev/urandom >"$ours/CTLFile.tlv"
    head -c 7440 /dev/urandom >"$ours/ITLFile.tlv"
    head -c 1805 /dev/urandom >"$ours/SEP001E4A93748B.cnf.xml"
    sample_note="PLACEHOLDER random files (fixtures/tftproot missing)"
    say "fixtures/tftproot samples missing: using random placeholder files"
fi
head -c $((LARGE_MB * 1024 * 1024)) /dev/urandom >"$ours/firmware.bin"
cp -l "$ours"/* "$peers/"
"$bench" macs --phones "$PHONES" >"$work/macs.txt"
while read -r mac; do
    ln "$ours/SEP001E4A93748B.cnf.xml" "$ours/SEP$mac.cnf.xml" 2>/dev/null || true
    ln "$ours/SEP001E4A93748B.cnf.xml" "$peers/SEP$mac.cnf.xml" 2>/dev/null || true
    ln "$ours/CTLFile.tlv" "$peers/CTLSEP$mac.tlv"
    ln "$ours/ITLFile.tlv" "$peers/ITLSEP$mac.tlv"
done <"$work/macs.txt"
chmod 755 "$ours" "$peers"
chmod 644 "$ours"/* "$peers"/*

# --- servers ---------------------------------------------------------------------------
# shellcheck source=peers.sh
source "$(dirname "$0")/peers.sh"

# Starts server $1 on port $2 in the background (pinned); sets server_pid and label.
start_server() {
    local name=$1 port=$2 log=$OUT/$1.log
    case $name in
    ctl)
        label="ctl serve"
        taskset -c "$SERVER_CPU" "$ctl" serve --root "$ours" --listen "127.0.0.1:$port" >"$log" 2>&1 &
        ;;
    tftpd-hpa)
        [[ -n $TFTPD_HPA ]] || return 1
        label="tftpd-hpa"
        # -L: foreground; -s: chroot to the root; drops to nobody.
        taskset -c "$SERVER_CPU" "$TFTPD_HPA" -L -u nobody -s "$peers" -a "127.0.0.1:$port" >"$log" 2>&1 &
        ;;
    atftpd)
        [[ -n $ATFTPD ]] || return 1
        label="atftpd"
        # Default --maxthread (100) makes a 1000-phone storm time out; 4096 crashes it (select():
        # "bit out of range 0 - FD_SETSIZE" once fds pass 1024). 400 works (tried: 100, 400, 4096).
        taskset -c "$SERVER_CPU" "$ATFTPD" --daemon --no-fork --bind-address 127.0.0.1 --port "$port" \
            --user nobody --group "$nogroup" --maxthread 400 --logfile "$log" "$peers" >>"$log" 2>&1 &
        ;;
    tftpd-crate)
        [[ -n $TFTPD_CRATE ]] || return 1
        label="tftpd (crate)"
        taskset -c "$SERVER_CPU" "$TFTPD_CRATE" -i 127.0.0.1 -p "$port" -d "$peers" -r >"$log" 2>&1 &
        ;;
    *)
        echo "unknown server $name" >&2
        return 1
        ;;
    esac
    server_pid=$!
}

bench_run() { # args... ; appends the JSON line, tolerates failed transfers (exit 1)
    local status=0 cpu_args=(--server-pid "$server_pid")
    # tftpd-hpa serves each transfer in a forked child that is reaped without its CPU time
    # reaching the parent's counters: its CPU cost cannot be measured this way.
    [[ $label == tftpd-hpa ]] && cpu_args=()
    taskset -c "$BENCH_CPU" "$bench" "$@" --json --label "$label" --time-limit-s "$TIME_LIMIT_S" \
        "${cpu_args[@]}" >>"$results" || status=$?
    if ((status > 1)); then
        echo "tftp-bench failed to run ($status): $*" >&2
        return "$status"
    fi
    tail -n 1 "$results" >&2
}

port=$PORT_BASE
for name in $SERVERS; do
    port=$((port + 1))
    if ! start_server "$name" "$port"; then
        say "$name: not installed, skipped"
        continue
    fi
    server=127.0.0.1:$port
    # Wait until it answers (bounded).
    ready=0
    for _ in $(seq 50); do
        if taskset -c "$BENCH_CPU" "$bench" large --server "$server" --file CTLFile.tlv --count 1 \
            --retransmit-ms 100 --retries 1 --time-limit-s 2 >/dev/null 2>&1; then
            ready=1
            break
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
    done
    if ((ready == 0)); then
        say "$label did not come up on $server (log: $OUT/$name.log); skipped"
        stop_server
        continue
    fi
    say "$label on $server (pid $server_pid, CPU $SERVER_CPU); bench on CPU $BENCH_CPU"
    # Warm-up (not recorded): file cache, server-side caches.
    taskset -c "$BENCH_CPU" "$bench" storm --server "$server" --phones 50 --time-limit-s 30 >/dev/null 2>&1 || true
    for profile in none blksize window; do
        bench_run storm --server "$server" --phones "$PHONES" --concurrency "$CONCURRENCY" \
            --ramp-ms "$RAMP_MS" --profile "$profile" --verify-root "$ours"
    done
    bench_run large --server "$server" --file firmware.bin --count "$LARGE_COUNT" --profile window \
        --verify-root "$ours"
    bench_run large --server "$server" --file firmware.bin --count "$LARGE_COUNT_PLAIN" --profile none \
        --verify-root "$ours"
    stop_server
done

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
{
    echo "Machine: $(nproc) CPUs ($cpu_model), $(uname -r); server pinned to CPU $SERVER_CPU, tftp-bench to CPU $BENCH_CPU."
    echo "Files: $sample_note; large file ${LARGE_MB} MiB random. Results: $results"
    "$bench" table "$results" --ours "ctl serve" --reference tftpd-hpa
} | tee "$OUT/table.md"
