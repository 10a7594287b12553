#!/usr/bin/env bash
# compare.sh: `sanbao compare` end to end on a generated province with a
# reform that changes one rate (the province's employee inpatient rate at
# primary hospitals, 90% -> 80%): each scenario's settlements equal a
# separate `sanbao settle` with its policies, byte for byte; every
# difference in compare.json (money, by layer, fund code, region, scheme,
# visit, identity) equals the difference of the two runs, to the fen,
# recomputed here from their settlements.csv; the winners-and-losers bands
# sum to the persons (and households) of each year; persons_changed.csv
# sums to the change of out-of-pocket; the disparity measures equal those
# recomputed here from the regions' rows. Usage: compare.sh SANBAO SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "compare.sh: FAIL: $*" >&2; exit 1; }

"$bin" gen --persons 5000 --seed 4 --out "$tmp/g" --policies-src "$src/policies/demo" > /dev/null
cp -r "$tmp/g/policies" "$tmp/reform"
sed -i 's/rate: {primary: 0.90,/rate: {primary: 0.80,/' "$tmp/reform/990000.yaml"
grep -q 'primary: 0.80,' "$tmp/reform/990000.yaml" || fail "the reform did not change the rate"
in=(--persons "$tmp/g/persons.csv" --identities "$tmp/g/identities.csv"
    --claims "$tmp/g/claims.csv")
"$bin" compare --baseline "$tmp/g/policies" --reform "$tmp/reform" "${in[@]}" \
	--out "$tmp/c" --poverty-line 2300 --threads 2 --settlements > "$tmp/compare.out"
"$bin" settle --policies "$tmp/g/policies" "${in[@]}" --out "$tmp/a" --quiet --threads 1
"$bin" settle --policies "$tmp/reform" "${in[@]}" --out "$tmp/b" --quiet --threads 3
cmp "$tmp/c/settlements.csv" "$tmp/a/settlements.csv" || fail "baseline settlements differ"
cmp "$tmp/c/scenario-1-settlements.csv" "$tmp/b/settlements.csv" || fail "reform settlements differ"
grep -q "cost: fund" "$tmp/compare.out" || fail "no headline printed"
# Without --settlements: the same compare.json, and no settlements files.
"$bin" compare --baseline "$tmp/g/policies" --reform "$tmp/reform" "${in[@]}" \
	--out "$tmp/c2" --poverty-line 2300 --quiet
cmp "$tmp/c/compare.json" "$tmp/c2/compare.json" || fail "--settlements changed compare.json"
cmp "$tmp/c/persons_changed.csv" "$tmp/c2/persons_changed.csv" || fail "--settlements changed persons_changed.csv"
ls "$tmp/c2" | grep -q settlements && fail "settlements written without --settlements"

python3 "$src/tests/e2e/compare/check.py" "$tmp/c" "$tmp/a" "$tmp/b" "$tmp/g" \
	|| fail "compare.json does not match the two settle runs"

# The check can fail: a compare.json with one fen moved is refused.
python3 - "$tmp/c/compare.json" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
i = s.index('"differences"')
m = re.compile(r'"fund": (-?\d+)\.(\d\d)').search(s, i)
fen = int(m.group(1)) * 100 + (1 if not m.group(1).startswith('-') else -1) * int(m.group(2)) + 1
s = s[:m.start()] + '"fund": %s' % ("%d.%02d" % divmod(fen, 100) if fen >= 0 else "-%d.%02d" % divmod(-fen, 100)) + s[m.end():]
open(p, "w", encoding="utf-8").write(s)
PY
if python3 "$src/tests/e2e/compare/check.py" "$tmp/c" "$tmp/a" "$tmp/b" "$tmp/g" 2>/dev/null; then
	fail "the check passed a compare.json with one fen changed"
fi
# The bundled reforms: each file not marked "# REFORM" on its first line is
# a copy of policies/demo's, kept identical; each folder loads.
for d in "$src"/policies/reforms/*/; do
	for f in "$d"*.yaml; do
		head -1 "$f" | grep -q '^# REFORM' && continue
		cmp -s "$f" "$src/policies/demo/$(basename "$f")" \
			|| fail "$f is not marked # REFORM and differs from policies/demo/$(basename "$f")"
	done
	"$bin" check-policy "$d" > /dev/null || fail "$d does not load"
done
echo "compare.sh: ok"
