#!/usr/bin/env bash
# Large-file throughput of `ctl serve` against peer TFTP servers, measured in interleaved
# rounds so that the machine's drifting load hits every server alike.
#
#   tftp-server/bench/large-interleaved.sh     # from anywhere inside the repository
#
# All servers run at once on 127.0.0.1, each pinned to CPU $SERVER_CPU; tftp-bench runs on
# CPU $BENCH_CPU. Each round downloads the file once from every server, in a rotating order,
# for each profile (window: blksize 1468 + windowsize 16; none: RFC 1350 lockstep). The
# report gives every round's MiB/s, the median per server, and our median over each peer's.
#
# Knobs: ROUNDS (7), LARGE_MB (32), PROFILES ("window none"), SERVER_CPU (0), BENCH_CPU (1),
# PORT_BASE (17900), SERVERS ("ctl tftpd-hpa atftpd tftpd-crate"), OUT (results directory),
# SKIP_BUILD=1, and the peer binaries TFTPD_HPA, ATFTPD, TFTPD_CRATE (see boot-storm.sh).
set -euo pipefail

ROUNDS=${ROUNDS:-7}
LARGE_MB=${LARGE_MB:-32}
PROFILES=${PROFILES:-"window none"}
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
PORT_BASE=${PORT_BASE:-17900}
SERVERS=${SERVERS:-"ctl tftpd-hpa atftpd tftpd-crate"}

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
target=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d /tmp/ctl-large.XXXXXX)
OUT=${OUT:-$work/results}
mkdir -p "$OUT"
chmod 755 "$work"
results=$OUT/rounds.tsv
: >"$results"
say() { printf '==> %s\n' "$*" >&2; }

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work/root"
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

root=$work/root
mkdir -p "$root"
head -c $((LARGE_MB * 1024 * 1024)) /dev/urandom >"$root/firmware.bin"
chmod 755 "$root"
chmod 644 "$root/firmware.bin"

# shellcheck source=peers.sh
source "$(dirname "$0")/peers.sh"

declare -A address label
port=$PORT_BASE
started=()
for name in $SERVERS; do
    port=$((port + 1))
    log=$OUT/$name.log
    case $name in
    ctl) taskset -c "$SERVER_CPU" "$ctl" serve --root "$root" --listen "127.0.0.1:$port" >"$log" 2>&1 & ;;
    tftpd-hpa)
        [[ -n $TFTPD_HPA ]] || { say "tftpd-hpa: not installed, skipped"; continue; }
        taskset -c "$SERVER_CPU" "$TFTPD_HPA" -L -u nobody -s "$root" -a "127.0.0.1:$port" >"$log" 2>&1 &
        ;;
    atftpd)
        [[ -n $ATFTPD ]] || { say "atftpd: not installed, skipped"; continue; }
        taskset -c "$SERVER_CPU" "$ATFTPD" --daemon --no-fork --bind-address 127.0.0.1 --port "$port" \
            --user nobody --group "$nogroup" --logfile "$log" "$root" >>"$log" 2>&1 &
        ;;
    tftpd-crate)
        [[ -n $TFTPD_CRATE ]] || { say "tftpd (crate): not installed, skipped"; continue; }
        taskset -c "$SERVER_CPU" "$TFTPD_CRATE" -i 127.0.0.1 -p "$port" -d "$root" -r >"$log" 2>&1 &
        ;;
    *) echo "unknown server $name" >&2; exit 2 ;;
    esac
    pids+=($!)
    address[$name]=127.0.0.1:$port
    case $name in
    ctl) label[$name]="ctl serve" ;;
    tftpd-crate) label[$name]="tftpd (crate)" ;;
    *) label[$name]=$name ;;
    esac
    started+=("$name")
done
sleep 1

for round in $(seq "$ROUNDS"); do
    # Rotate the order each round so no server always runs first or last.
    count=${#started[@]}
    for profile in $PROFILES; do
        for offset in $(seq 0 $((count - 1))); do
            name=${started[$(((offset + round) % count))]}
            line=$(taskset -c "$BENCH_CPU" "$bench" large --server "${address[$name]}" --file firmware.bin \
                --count 1 --profile "$profile" --verify-root "$root" --time-limit-s 120 --json || true)
            rate=$(grep -o '"mib_per_s":[0-9.]*' <<<"$line" | cut -d: -f2)
            ok=$(grep -o '"transfers_ok":[0-9]*' <<<"$line" | cut -d: -f2)
            [[ ${ok:-0} == 1 ]] || rate=failed
            printf '%s\t%s\t%s\t%s\n' "$round" "$profile" "$name" "${rate:-failed}" >>"$results"
            say "round $round $profile ${label[$name]}: ${rate:-failed} MiB/s"
        done
    done
done

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "-"} else if (NR%2) {print v[(NR+1)/2]} else {printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}}'; }
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
{
    echo "Machine: $(nproc) CPUs ($cpu_model), $(uname -r), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "${LARGE_MB} MiB random file, $ROUNDS interleaved rounds; servers pinned to CPU $SERVER_CPU, tftp-bench to CPU $BENCH_CPU."
    echo
    echo "| profile | server | MiB/s per round | median | ours ÷ this (medians) | failed |"
    echo "|---|---|---|---:|---:|---:|"
    for profile in $PROFILES; do
        ours=$(awk -F'\t' -v p="$profile" '$2==p && $3=="ctl" && $4!="failed" {print $4}' "$results" | median)
        for name in "${started[@]}"; do
            rates=$(awk -F'\t' -v p="$profile" -v n="$name" '$2==p && $3==n {printf "%s%s", sep, $4; sep=" / "}' "$results")
            failed=$(awk -F'\t' -v p="$profile" -v n="$name" '$2==p && $3==n && $4=="failed"' "$results" | wc -l)
            med=$(awk -F'\t' -v p="$profile" -v n="$name" '$2==p && $3==n && $4!="failed" {print $4}' "$results" | median)
            ratio=$(awk -v a="$ours" -v b="$med" 'BEGIN { if (b+0 > 0 && a+0 > 0) printf "%.2f×", a/b; else print "-" }')
            [[ $name == ctl ]] && ratio=
            echo "| $profile | ${label[$name]} | $rates | $med | $ratio | $failed |"
        done
    done
} | tee "$OUT/table.md"
