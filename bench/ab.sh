#!/usr/bin/env bash
# bench/ab.sh: two sanbao binaries on one province, alternated, same page
# conditions (the previous output removed and `sync` before each run):
# median wall seconds, the run's stages from summary.json, claims/s, page
# faults (medians, and minima: the least disturbed run), and whether the outputs are byte-identical (summary.json but for
# its run section). A measuring tool for changes, not part of `make bench`.
#
#   bash bench/ab.sh BASE_BINARY NEW_BINARY DATA_DIR [RUNS] [-- settle options]
set -euo pipefail
base=$1 new=$2 data=$3 runs=${4:-5}
shift 3; (($#)) && shift
(($#)) && [ "$1" = -- ] && shift
extra=("$@")
tmp=$(mktemp -d /tmp/sanbao-ab.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
claims=$(($(wc -l <"$data/claims.csv") - 1))
cat "$data"/*.csv >/dev/null
run() { # NAME BINARY I
	local out=$tmp/out-$1
	rm -rf "$out"
	sync
	/usr/bin/time -f "%e %U %S %R %M" -o "$tmp/time.$1.$3" "$2" settle --policies "$data/policies" \
		--persons "$data/persons.csv" --identities "$data/identities.csv" \
		--claims "$data/claims.csv" --quiet --out "$out" "${extra[@]}"
	python3 - "$out/summary.json" "$tmp/time.$1.$3" >>"$tmp/rows.$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["run"]
t = open(sys.argv[2]).read().split()
s = r["stages"]
print(t[0], t[1], t[2], t[3], t[4], s["policies_and_persons"], s["read_claims"], s["duplicate_ids"], s["settle_and_write"])
PY
}
for ((i = 1; i <= runs; i++)); do
	if ((i % 2)); then run base "$base" $i; run new "$new" $i; else run new "$new" $i; run base "$base" $i; fi
done
same=yes
for f in "$tmp/out-base"/*; do
	n=$(basename "$f")
	if [ "$n" = summary.json ]; then
		python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); a.pop("run"); b.pop("run"); sys.exit(a!=b)' "$f" "$tmp/out-new/$n" || { same=no; echo "differs: $n"; }
	else
		cmp -s "$f" "$tmp/out-new/$n" || { same=no; echo "differs: $n"; }
	fi
done
python3 - "$tmp/rows.base" "$tmp/rows.new" "$claims" "$same" <<'PY'
import sys, statistics as st
cols = ["wall", "user", "sys", "minflt", "maxrss_kb", "persons", "read_claims", "dup_ids", "settle_write"]
rows = [[list(map(float, l.split())) for l in open(p)] for p in sys.argv[1:3]]
claims = int(sys.argv[3])
med = [[st.median(r[i] for r in rs) for i in range(len(cols))] for rs in rows]
low = [[min(r[i] for r in rs) for i in range(len(cols))] for rs in rows]
print(f"{'':14s} {'base':>10s} {'new':>10s} {'new/base':>9s}   {'min base':>9s} {'min new':>9s} {'ratio':>6s}")
for i, c in enumerate(cols):
    b, n = med[0][i], med[1][i]
    lb, ln = low[0][i], low[1][i]
    print(f"{c:14s} {b:10.3f} {n:10.3f} {n / b if b else float('nan'):9.3f}   {lb:9.3f} {ln:9.3f} {ln / lb if lb else float('nan'):6.3f}")
print(f"{'claims/s':14s} {claims / med[0][0]:10.0f} {claims / med[1][0]:10.0f} {med[0][0] / med[1][0]:9.3f}")
print("outputs identical:", sys.argv[4], f"({len(rows[0])} runs each, medians)")
PY
