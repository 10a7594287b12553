#!/usr/bin/env bash
# bench/serve/run.sh: the service under load (part of `make bench`, or alone):
# pre-settlement (2206/2303) and durable settlement (2207/2304) through
# bench/serve/load.c on keep-alive loopback connections, with the disk's own
# fdatasync p50/p99 measured in the same run, before and after: 2206 closed
# loop (as fast as it answers), 2206 open loop at --rate requests/s (the
# issue's 20,000/s; latency from each request's due time), 2207 closed loop.
#
#   bash bench/serve/run.sh [--persons N] [--pre K] [--connections C] [--threads T]
#                           [--rate R]
# SANBAO=path overrides the binary (default build/sanbao); SB_BENCH_BEFORE=path
# runs that binary and this one in alternation (SB_BENCH_ROUNDS rounds, default
# 2) on the same inputs: on a shared machine, compare ratios, not figures.
set -euo pipefail
persons=20000 pre=40000 conns=8 sconns=256 threads= rate=20000
while (($#)); do
	case $1 in
	--persons) persons=$2; shift 2 ;;
	--pre) pre=$2; shift 2 ;;
	--connections) sconns=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	*) echo "usage: bash bench/serve/run.sh [--persons N] [--pre K] [--connections C] [--threads T] [--rate R]" >&2
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
echo "bench serve: $persons persons, $nclaims claims; store under $TMP ($(df -T "$TMP" | awk 'NR==2 {print $2}')); $(nproc) cores, load generator on the same machine"
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
	"$TMP/load" "$port" hosp "$TMP/pre.txt" "$conns"
	echo "== pre-settlement, 32 connections, open loop at $rate/s"
	SB_LOAD_RATE=$rate "$TMP/load" "$port" hosp "$TMP/pre.txt" 32 || true
	echo "== durable settlement, $sconns connections (group commit), fdatasync before and after"
	"$TMP/load" "$port" hosp "$TMP/settle.txt" "$sconns" "$TMP"
	curl -s -H "Authorization: Bearer analyst" "http://127.0.0.1:$port/metrics" \
		| awk '/^sanbao_(commit|fsync)_seconds_(count|sum)|^sanbao_(committed|synced)_jobs_total|^sanbao_group_work_seconds_total/ {print}' || true
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

