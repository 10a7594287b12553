#!/usr/bin/env bash
# bench/run.sh: `make bench`. Generates a demo province, settles it with
# sanbao (without and with --monitor), times the I/O floor and two peers
# (DuckDB SQL, pandas) on the same files, checks that the peers pay what
# sanbao pays on every claim, and prints one table (README.md says how to
# read it). Not a test: it fails only when something cannot run.
#
#   bash bench/run.sh [--persons N] [--seed S] [--year Y] [--runs K] [--keep]
#
# --persons  province size (default 2000000)
# --seed     gen seed (default 1)
# --year     the claims' year (default: gen's, 2024)
# --runs     sanbao runs with and without --monitor, alternated; the table
#            shows the median (default 5)
# --keep     keep the temporary folder (data and every output)
# SANBAO=path overrides the binary (default build/sanbao).
set -euo pipefail

persons=2000000 seed=1 year= runs=5 keep=0
while (($#)); do
	case $1 in
	--persons) persons=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--year) year=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: bash bench/run.sh [--persons N] [--seed S] [--year Y] [--runs K] [--keep]" >&2
	   exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
SANBAO=${SANBAO:-$ROOT/build/sanbao}
PY=/usr/bin/python3 # Debian's python with Debian's pandas, not a pyenv one
CORES=$(nproc)
[ -x "$SANBAO" ] || { echo "bench: $SANBAO is missing: run make build" >&2; exit 1; }

# ---- what the peers need -------------------------------------------------------
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
apt_install() {
	echo "bench: installing Debian packages: $*"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
dpkg -s python3-pandas >/dev/null 2>&1 || apt_install python3-pandas
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
if [ ! -d "$BENCH/duckdb/node_modules/@duckdb/node-api" ]; then
	if [ -f "$BENCH/duckdb/package-lock.json" ]; then
		(cd "$BENCH/duckdb" && npm ci --no-audit --no-fund)
	else
		(cd "$BENCH/duckdb" && npm install --no-audit --no-fund)
	fi
fi

TMP=$(mktemp -d /tmp/sanbao-bench.XXXXXX)
if ((keep)); then
	trap 'echo "bench: kept $TMP"' EXIT
else
	trap 'rm -rf "$TMP"' EXIT
fi
DATA=$TMP/data
# One binary for the whole run, even if the build tree is rebuilt meanwhile.
cp "$SANBAO" "$TMP/sanbao"
SANBAO_SRC=$SANBAO SANBAO=$TMP/sanbao
cc -O2 -o "$TMP/iofloor" "$BENCH/iofloor.c"

# measure NAME CMD...: wall seconds and peak RSS (KB) into $TMP/time.NAME,
# the command's own output into $TMP/log.NAME. Every contender reads the
# inputs from the page cache (cat warms it; a no-op when they are there
# already) and starts after `sync`, so no earlier output is still being
# written back while it runs.
measure() {
	local name=$1; shift
	[ -z "${INPUTS+x}" ] || cat "${INPUTS[@]}" >/dev/null
	sync
	if ! /usr/bin/time -f "%e %M %U %S" -o "$TMP/time.$name" "$@" >"$TMP/log.$name" 2>&1; then
		echo "bench: $name failed:" >&2
		tail -n 20 "$TMP/log.$name" >&2
		exit 1
	fi
	read -r secs kb _ <"$TMP/time.$name"
	printf '  %-22s %8.2f s  %8.0f MB\n' "$name" "$secs" "$((kb / 1024))"
}

# ---- the province ------------------------------------------------------------------
echo "bench: sanbao gen --persons $persons --seed $seed${year:+ --year $year} (not part of the comparison)"
measure gen "$SANBAO" gen --persons "$persons" --seed "$seed" ${year:+--year "$year"} \
	--threads "$CORES" --out "$DATA" --policies-src "$ROOT/policies/demo"
INPUTS=("$DATA/persons.csv" "$DATA/identities.csv" "$DATA/claims.csv")
cat "${INPUTS[@]}" "$DATA"/policies/*.yaml >/dev/null # warm the page cache
ls -l "${INPUTS[@]}" | awk '{printf "  %-60s %12d bytes\n", $NF, $5}'

# ---- the contenders -------------------------------------------------------------------
echo "bench: settling on $CORES cores"
SETTLE=("$SANBAO" settle --policies "$DATA/policies" --persons "$DATA/persons.csv"
	--identities "$DATA/identities.csv" --claims "$DATA/claims.csv" --threads "$CORES" --quiet)
# The two modes take turns going first: the second run of a pair pays for
# the first one's output still being written back (seen: a second of system
# time), so a fixed order would charge that to one mode.
for ((i = 1; i <= runs; i++)); do
	rm -rf "$TMP/out-sanbao" "$TMP/out-monitor"
	if ((i % 2)); then
		measure "sanbao.$i" "${SETTLE[@]}" --out "$TMP/out-sanbao"
		measure "monitor.$i" "${SETTLE[@]}" --out "$TMP/out-monitor" --monitor
	else
		measure "monitor.$i" "${SETTLE[@]}" --out "$TMP/out-monitor" --monitor
		measure "sanbao.$i" "${SETTLE[@]}" --out "$TMP/out-sanbao"
	fi
done
# sanbao compare with one reform (the province's employee inpatient rate at
# primary hospitals 10 points lower) against settle of the same data, the
# two alternated in this run as above: the ratio of their medians.
cp -r "$DATA/policies" "$TMP/reform"
sed -i 's/rate: {primary: 0.90,/rate: {primary: 0.80,/' "$TMP/reform/990000.yaml"
COMPARE=("$SANBAO" compare --baseline "$DATA/policies" --reform "$TMP/reform"
	--persons "$DATA/persons.csv" --identities "$DATA/identities.csv" --claims "$DATA/claims.csv"
	--threads "$CORES" --quiet)
for ((i = 1; i <= runs; i++)); do
	rm -rf "$TMP/out-settle2" "$TMP/out-compare"
	if ((i % 2)); then
		measure "settle2.$i" "${SETTLE[@]}" --out "$TMP/out-settle2"
		measure "compare.$i" "${COMPARE[@]}" --out "$TMP/out-compare"
	else
		measure "compare.$i" "${COMPARE[@]}" --out "$TMP/out-compare"
		measure "settle2.$i" "${SETTLE[@]}" --out "$TMP/out-settle2"
	fi
done
median() { for ((i = 1; i <= runs; i++)); do cut -d' ' -f1 "$TMP/time.$1.$i"; done | sort -g |
	awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
awk -v c="$(median compare)" -v s="$(median settle2)" 'BEGIN {
	printf "bench: compare with one reform %.2f s, settle %.2f s (medians): %.2fx a settle (goal 1.3x)\n",
		c, s, (s > 0 ? c / s : 0) }'
# sanbao fund (the accounts, the adjustment fund and the indicators) over the
# settlements of the province just settled, against that settle: the ratio
# of their medians (goal < 0.5x).
FUND=("$SANBAO" fund --policies "$DATA/policies" --persons "$DATA/persons.csv"
	--identities "$DATA/identities.csv" --settlements "$TMP/out-sanbao/settlements.csv")
for ((i = 1; i <= runs; i++)); do
	rm -rf "$TMP/out-fund"
	measure "fund.$i" "${FUND[@]}" --out "$TMP/out-fund"
done
awk -v f="$(median fund)" -v s="$(median sanbao)" 'BEGIN {
	printf "bench: fund %.2f s, settle %.2f s (medians): %.2fx a settle (goal < 0.5x)\n",
		f, s, (s > 0 ? f / s : 0) }'
out_bytes=$(stat -c %s "$TMP/out-sanbao/settlements.csv")
mkdir -p "$TMP/out-iofloor" "$TMP/out-duckdb" "$TMP/out-pandas"
measure iofloor "$TMP/iofloor" "$TMP/out-iofloor/settlements.csv" "$out_bytes" "${INPUTS[@]}"
measure duckdb node "$BENCH/duckdb/settle.mjs" "$DATA" "$TMP/out-duckdb/settlements.csv"
measure pandas "$PY" "$BENCH/pandas/settle.py" "$DATA" "$TMP/out-pandas/settlements.csv"

# ---- do the peers pay what sanbao pays? (untimed) ------------------------------------------
echo "bench: checking every claim's payments against sanbao's"
node "$BENCH/duckdb/compare.mjs" "$TMP/out-sanbao/settlements.csv" "$TMP/compare.json" \
	"duckdb=$TMP/out-duckdb/settlements.csv" "pandas=$TMP/out-pandas/settlements.csv"

# ---- the table -----------------------------------------------------------------------------
"$PY" "$BENCH/report.py" "$TMP" "$persons" "$seed" "$runs" "$CORES" "$SANBAO_SRC"
mkdir -p "$ROOT/out"
cp "$TMP/bench.json" "$ROOT/out/bench.json"
echo "bench: figures in $ROOT/out/bench.json"
