#!/usr/bin/env bash
# bench/serve/run.sh: the service under load (part of `make bench`, or alone):
# pre-settlement (2206/2303) and durable settlement (2207/2304) through
# bench/serve/load.c on keep-alive loopback connections, with the disk's own
# fdatasync p50/p99 measured in the same run, before and after: 2206 closed
# loop (as fast as it answers), 2206 open loop at --rate requests/s (the
# issue's 20,000/s; latency from each request's due time), then the claims
# settled once each, durably: the first half on --few connections (default
# 32: few enough in flight for a p99 near the disk's fsync; by Little's law
# 20,000/s at 1 ms is 20 in flight), the second half on --connections
# (default 256: throughput). Each measurement also gives the CPU it cost,
# in microseconds per request: the server's (utime + stime from /proc) and
# the load generator's (getrusage), and the load average; on a machine
# shared with other jobs those say more than the rates.
#
#   bash bench/serve/run.sh [--persons N] [--pre K] [--connections C] [--few F]
#                           [--threads T] [--rate R]
# SANBAO=path overrides the binary (default build/sanbao); SB_BENCH_BEFORE=path
# runs that binary and this one in alternation (SB_BENCH_ROUNDS rounds, default
# 2) on the same inputs: on a shared machine, compare ratios, not figures.
set -euo pipefail
persons=20000 pre=40000 conns=8 sconns=256 fconns=32 threads= rate=20000
while (($#)); do
	case $1 in
	--persons) persons=$2; shift 2 ;;
	--pre) pre=$2; shift 2 ;;
	--connections) sconns=$2; shift 2 ;;
	--few) fconns=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	*) echo "usage: bash bench/serve/run.sh [--persons N] [--pre K] [--connections C] [--few F] [--threads T] [--rate R]" >&2
	   exit 2 ;;
	esac
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SANBAO=${SANBAO:-$ROOT/build/sanbao}
[ -x "$SANBAO" ] || { echo "bench serve: $SANBAO is missing: run make build" >&2; exit 1; }
# The store on the disk under test, not on a tmpfs: SB_BENCH_DIR picks it.
TMP=$(mktemp -d "${SB_BENCH_DIR:-$ROOT/build}/serve-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
cc -O2 -pthread -o "$TMP/load" "$ROOT/bench/serve/load.c"
nclaims=$(python3 "$ROOT/bench/serve/prepare.py" "$SANBAO" "$TMP" "$persons" "$pre")
# The claims in date order, halved: the first half on few connections, the
# second on many (each claim is settled once: its msgid is unique).
half=$((nclaims / 2))
head -n "$half" "$TMP/settle.txt" >"$TMP/settle1.txt"
tail -n +"$((half + 1))" "$TMP/settle.txt" >"$TMP/settle2.txt"
echo "bench serve: $persons persons, $nclaims claims; store under $TMP ($(df -T "$TMP" | awk 'NR==2 {print $2}')); $(nproc) cores, load generator on the same machine"
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
# One load: the generator's line, then the server's CPU per request over it.
measure() {
	local c0 c1 out n
	c0=$(cpu_s "$pid")
	out=$("$@") || true
	c1=$(cpu_s "$pid")
	echo "$out"
	n=$(echo "$out" | awk '/ requests / {print $3; exit}')
	[ -n "$n" ] && [ "$n" -gt 0 ] &&
		echo "cpu server_us_per_req $(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN {printf "%.1f", (b - a) * 1e6 / n}') generator_us_per_req $(echo "$out" | awk '/ requests / {print $NF; exit}') load_average $(cut -d' ' -f1 /proc/loadavg)"
}
# One measurement: binary $1 on a fresh store.
run_one() {
	local bin=$1
	rm -f "$TMP"/store.db* "$TMP/port"
	${SB_BENCH_WRAP:-} "$bin" serve --policies "$TMP/g/policies" --db "$TMP/store.db" \
		--facilities "$TMP/facilities.csv" --tokens "$TMP/tokens" --listen 127.0.0.1:0 \
		--port-file "$TMP/port" ${threads:+--threads "$threads"} \
		--persons "$TMP/g/persons.csv" --identities "$TMP/g/identities.csv" 2>"$TMP/serve.log" &
	pid=$!
	for _ in $(seq 600); do [ -s "$TMP/port" ] && break; sleep 0.05; done
	port=$(cat "$TMP/port")
	echo "== $bin, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "== pre-settlement, $conns connections, closed loop"
	measure "$TMP/load" "$port" hosp "$TMP/pre.txt" "$conns"
	echo "== pre-settlement, 32 connections, open loop at $rate/s"
	SB_LOAD_RATE=$rate measure "$TMP/load" "$port" hosp "$TMP/pre.txt" 32
	echo "== durable settlement, first half of the claims, $fconns connections (group commit), fdatasync before and after"
	measure "$TMP/load" "$port" hosp "$TMP/settle1.txt" "$fconns" "$TMP"
	echo "== durable settlement, second half, $sconns connections"
	measure "$TMP/load" "$port" hosp "$TMP/settle2.txt" "$sconns" "$TMP"
	curl -s -H "Authorization: Bearer analyst" "http://127.0.0.1:$port/metrics" \
		| awk '/^sanbao_(commit|fsync)_seconds_(count|sum)|^sanbao_(committed|synced)_jobs_total|^sanbao_group_work_seconds_total|^sanbao_checkpoints_total/ {print}' || true
	echo "== load average $(cut -d' ' -f1-3 /proc/loadavg)"
	kill -TERM "$pid"; wait "$pid"; pid=
	"$bin" verify-log --db "$TMP/store.db"
}
if [ -n "${SB_BENCH_BEFORE:-}" ]; then
	# A/B on a shared machine: the other binary and this one in
	# alternation on the same inputs, SB_BENCH_ROUNDS times (default 2).
	for _ in $(seq "${SB_BENCH_ROUNDS:-2}"); do
		run_one "$SB_BENCH_BEFORE"
		run_one "$SANBAO"
	done
else
	run_one "$SANBAO"
fi

