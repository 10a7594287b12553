#!/usr/bin/env bash
# bench/run.sh: `make bench`. Generates a demo province, settles it with
# sanbao (without and with --monitor), compares a reform and audits the
# province's extract against settle, times the I/O floors, the
# parse-and-format floor and two peers
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
# The parse-and-format floor links sanbao's own library (the readers and
# formatters it times are sanbao's): the release build's libsanbao.a.
LIBSANBAO=${LIBSANBAO:-$ROOT/build/libsanbao.a}
[ -f "$LIBSANBAO" ] || { echo "bench: $LIBSANBAO is missing: run make build" >&2; exit 1; }
cc -O2 -std=c17 -I "$ROOT/include" -I "$ROOT/src" -o "$TMP/pffloor" "$BENCH/pffloor.c" \
	"$LIBSANBAO" -lpthread -lm

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
# Every timed run writes its output where the previous run of the same
# contender wrote one of the same size, removed just before it: the first
# run of each gets fresh pages, the later ones the pages just freed (on a
# VM a first touch of memory can cost several times a second one, and
# freed memory goes back to the host after a few seconds). The I/O floors
# take their turns in the same loop, so each is timed under the same page
# conditions as the sanbao runs beside it. The two sanbao modes take turns
# going first: the second run of a pair pays for the first one's output
# still being written back, so a fixed order would charge that to one mode.
settle_run() { # NAME I [extra options]
	local name=$1 i=$2; shift 2
	rm -rf "$TMP/out-$name"
	measure "$name.$i" "${SETTLE[@]}" --out "$TMP/out-$name" "$@"
}
floor_run() { # NAME I [--direct]
	local name=$1 i=$2; shift 2
	mkdir -p "$TMP/out-$name"
	rm -f "$TMP/out-$name/settlements.csv"
	measure "$name.$i" "$TMP/iofloor" "$@" "$TMP/out-$name/settlements.csv" "$out_bytes" \
		"${INPUTS[@]}"
}
# The parse-and-format floor (pffloor.c): read, parse and validate every
# row, format every output row in the shape of settlements.csv (as many
# layer columns), no settlement; same threads, same file removal first.
pf_run() { # I
	mkdir -p "$TMP/out-pffloor"
	rm -f "$TMP/out-pffloor"/settlements.*
	measure "pffloor.$1" "$TMP/pffloor" "$CORES" "$layers" "$DATA/persons.csv" \
		"$DATA/claims.csv" "$TMP/out-pffloor/settlements"
}
# The O_DIRECT floor, when the file system takes O_DIRECT.
mkdir -p "$TMP/out-iodirect"
direct=1
"$TMP/iofloor" --direct "$TMP/out-iodirect/probe" 4096 /dev/null >/dev/null 2>&1 || direct=0
rm -f "$TMP/out-iodirect/probe"
((direct)) || echo "  (the file system refuses O_DIRECT: no O_DIRECT floor)"
for ((i = 1; i <= runs; i++)); do
	if ((i % 2)); then
		settle_run sanbao $i
		settle_run monitor $i --monitor
	else
		settle_run monitor $i --monitor
		settle_run sanbao $i
	fi
	if ((i == 1)); then
		out_bytes=$(stat -c %s "$TMP/out-sanbao/settlements.csv")
		# id .. in_scope (11 columns), the layers, fund, oop, oop_in_scope, filing
		layers=$(($(head -1 "$TMP/out-sanbao/settlements.csv" | tr ',' '\n' | wc -l) - 15))
	fi
	floor_run iofloor $i
	pf_run $i
	((!direct)) || floor_run iodirect $i --direct
done
mkdir -p "$TMP/out-duckdb" "$TMP/out-pandas"
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
# sanbao audit with every rule of rules/default.yaml on the province's
# extract as paid (gen --anomalies 0: the same claims with what each layer
# paid, settled by the core, so a clean extract), against settle of the same
# claims, alternated as above: the ratio of the medians without evidence
# (audit --no-evidence, settle) and with it (audit, settle --evidence: both
# hash their inputs and every output row with SM3).
echo "bench: the extract as paid (gen --anomalies 0, untimed)"
"$SANBAO" gen --persons "$persons" --seed "$seed" ${year:+--year "$year"} --threads "$CORES" \
	--out "$TMP/audit-data" --policies-src "$ROOT/policies/demo" --anomalies 0 >/dev/null
SAVED_INPUTS=("${INPUTS[@]}")
INPUTS+=("$TMP/audit-data/extract.csv")
AUDIT=("$SANBAO" audit --policies "$DATA/policies" --persons "$DATA/persons.csv"
	--identities "$DATA/identities.csv" --claims "$TMP/audit-data/extract.csv"
	--rules "$ROOT/rules/default.yaml" --threads "$CORES" --quiet)
for ((i = 1; i <= runs; i++)); do
	rm -rf "$TMP/out-settle3" "$TMP/out-audit" "$TMP/out-settle3e" "$TMP/out-audite"
	if ((i % 2)); then
		measure "settle3.$i" "${SETTLE[@]}" --out "$TMP/out-settle3"
		measure "audit.$i" "${AUDIT[@]}" --out "$TMP/out-audit" --no-evidence
		measure "settle3e.$i" "${SETTLE[@]}" --out "$TMP/out-settle3e" --evidence
		measure "audite.$i" "${AUDIT[@]}" --out "$TMP/out-audite"
	else
		measure "audit.$i" "${AUDIT[@]}" --out "$TMP/out-audit" --no-evidence
		measure "settle3.$i" "${SETTLE[@]}" --out "$TMP/out-settle3"
		measure "audite.$i" "${AUDIT[@]}" --out "$TMP/out-audite"
		measure "settle3e.$i" "${SETTLE[@]}" --out "$TMP/out-settle3e" --evidence
	fi
done
INPUTS=("${SAVED_INPUTS[@]}")
awk -v a="$(median audit)" -v s="$(median settle3)" -v ae="$(median audite)" -v se="$(median settle3e)" 'BEGIN {
	printf "bench: audit (every rule) %.2f s, settle %.2f s (medians): %.2fx a settle (goal 1.5x)\n",
		a, s, (s > 0 ? a / s : 0)
	printf "bench: with evidence: audit %.2f s, settle --evidence %.2f s: %.2fx\n",
		ae, se, (se > 0 ? ae / se : 0) }'
# CPU seconds (user + system) of the same runs: on a machine shared with
# other work the wall clock moves with the load, the CPU time much less.
cpu_median() { for ((i = 1; i <= runs; i++)); do awk '{print $3 + $4}' "$TMP/time.$1.$i"; done |
	sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
awk -v a="$(cpu_median audit)" -v s="$(cpu_median settle3)" 'BEGIN {
	printf "bench: audit CPU (user + sys) %.2f s, settle %.2f s (medians): %.2fx\n",
		a, s, (s > 0 ? a / s : 0) }'
"$PY" - "$TMP/out-audit/audit.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
print("bench: audit findings on the clean province (false positives): " +
      ", ".join("%s %d" % (r["rule"], r["findings"]) for r in a["by_rule"]))
PY
# sanbao project over the settled province: every region's two funds, 30
# years, 1,000 Monte Carlo runs (goal: under 5 s, reading included).
measure project "$SANBAO" project --policies "$DATA/policies" --persons "$DATA/persons.csv" \
	--settlements "$TMP/out-sanbao/settlements.csv" --scenario "$ROOT/scenarios/projection/baseline.yaml" \
	--years 30 --runs 1000 --seed 1 --threads "$((CORES > 8 ? 8 : CORES))" --out "$TMP/out-project"
awk -v t="$(cut -d' ' -f1 "$TMP/time.project")" \
	-v mc="$(sed -n 's/.*Monte Carlo runs (\([0-9.]*\) s).*/\1/p' "$TMP/log.project")" \
	-v rd="$(sed -n 's/.*inputs read in \([0-9.]*\) s.*/\1/p' "$TMP/log.project")" \
	-v f="$(sed -n 's/.*, \([0-9]*\) funds .*/\1/p' "$TMP/log.project")" 'BEGIN {
	printf "bench: project, %d funds x 30 years x 1000 runs: %.2f s in all, reading the province %.2f s, " \
		"the Monte Carlo %.2f s (goal: under 5 s for every region of the demo province)\n", f, t, rd, mc }'
# sanbao fund (the accounts, the adjustment fund and the indicators) over the
# settlements of the province just settled, against a settle of the same
# province in the same loop (alternated, each after the other's output is
# removed): the ratio of their medians (goal < 0.5x), and of their CPU
# seconds (user + system), which a loaded machine disturbs less.
FUND=("$SANBAO" fund --policies "$DATA/policies" --persons "$DATA/persons.csv"
	--identities "$DATA/identities.csv" --settlements "$TMP/out-sanbao/settlements.csv")
# settle writes settlements.csv with O_DIRECT, so it is not in the page cache
# as settle's own inputs are: read it once, as those were, before fund's runs.
cat "$TMP/out-sanbao/settlements.csv" >/dev/null
for ((i = 1; i <= runs; i++)); do
	settle_run settle4 "$i"
	rm -rf "$TMP/out-settle4" "$TMP/out-fund"
	measure "fund.$i" "${FUND[@]}" --out "$TMP/out-fund"
done
cpu_median() { for ((i = 1; i <= runs; i++)); do awk '{print $3 + $4}' "$TMP/time.$1.$i"; done | sort -g |
	awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
awk -v f="$(median fund)" -v s="$(median settle4)" -v fc="$(cpu_median fund)" \
	-v sc="$(cpu_median settle4)" 'BEGIN {
	printf "bench: fund %.2f s, settle %.2f s (medians): %.2fx a settle (goal < 0.5x); " \
		"CPU %.2f s against %.2f s: %.2fx\n", f, s, (s > 0 ? f / s : 0), fc, sc, (sc > 0 ? fc / sc : 0) }'
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
