#!/usr/bin/env bash
# compare_tables.sh: each scenario's own tables in compare.json (results[k]:
# by scheme, visit, region and identity: claims, total, in_scope, fund, oop;
# by layer: paid), not only their differences, equal those recomputed here
# from that scenario's settlements.csv (compare --settlements) and the
# persons' schemes; and compare.json, compare.txt and persons_changed.csv
# are the same with --threads 1, 2 and 3. The reform changes employees'
# rates only, so a resident's table that is wrong in both scenarios alike
# still shows no difference: this checks what compare.sh's differences do
# not. Usage: compare_tables.sh SANBAO SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "compare_tables.sh: FAIL: $*" >&2; exit 1; }

"$bin" gen --persons 3000 --seed 7 --out "$tmp/g" --policies-src "$src/policies/demo" > /dev/null
cp -r "$tmp/g/policies" "$tmp/reform"
sed -i 's/rate: {primary: 0.90,/rate: {primary: 0.80,/' "$tmp/reform/990000.yaml"
grep -q 'primary: 0.80,' "$tmp/reform/990000.yaml" || fail "the reform did not change the rate"
in=(--persons "$tmp/g/persons.csv" --identities "$tmp/g/identities.csv"
    --claims "$tmp/g/claims.csv")
for t in 1 2 3; do
	"$bin" compare --baseline "$tmp/g/policies" --reform "$tmp/reform" "${in[@]}" \
		--out "$tmp/c$t" --threads "$t" --quiet --settlements
done
for t in 2 3; do
	for f in compare.json compare.txt persons_changed.csv; do
		cmp "$tmp/c1/$f" "$tmp/c$t/$f" || fail "$f with --threads $t differs from --threads 1"
	done
done

check() {
	python3 - "$1" "$tmp/g/persons.csv" <<'PY'
import csv, json, sys
from collections import defaultdict
from decimal import Decimal
c_dir, persons_csv = sys.argv[1:3]
fen = lambda x: int((Decimal(str(x)) * 100).to_integral_value())
scheme = {p["id"]: p["scheme"] for p in csv.DictReader(open(persons_csv, encoding="utf-8"))}
doc = json.load(open(f"{c_dir}/compare.json", encoding="utf-8"), parse_float=Decimal)
files = ["settlements.csv", "scenario-1-settlements.csv"]
for k, name in enumerate(files):
    rows = list(csv.DictReader(open(f"{c_dir}/{name}", encoding="utf-8")))
    layers = list(rows[0].keys())[11:-4]
    want = defaultdict(lambda: defaultdict(int))
    for r in rows:
        for key in (("scheme", scheme[r["person"]]), ("visit", r["visit"]),
                    ("region", r["region"]), ("identity", r["identity"] or "none")):
            want[key]["claims"] += 1
            for m in ("total", "in_scope", "fund", "oop"):
                want[key][m] += fen(r[m])
        for l in layers:
            want[("layer", l)]["paid"] += fen(r[l])
    res = doc["results"][k]
    seen = 0
    for dim in ("scheme", "visit", "region", "identity"):
        for row in res["by_" + dim]:
            w = want[(dim, row[dim])]
            for m in ("claims", "total", "in_scope", "fund", "oop"):
                got = row[m] if m == "claims" else fen(row[m])
                if got != w[m]:
                    sys.exit(f"scenario {k} by_{dim} {row[dim]} {m}: compare.json {got}, "
                             f"its settlements {w[m]}")
            seen += 1
    for row in res["by_layer"]:
        if row["layer"] in layers and fen(row["paid"]) != want[("layer", row["layer"])]["paid"]:
            sys.exit(f"scenario {k} by_layer {row['layer']}: compare.json {row['paid']}")
        seen += 1
    if not seen or not any(r[1] == "resident" and want[r]["claims"] for r in want):
        sys.exit("nothing checked")
PY
}
check "$tmp/c1" || fail "a scenario's tables do not match its settlements"

# The check can fail: one resident claim moved to the employees' row of the
# baseline's table is refused.
python3 - "$tmp/c1/compare.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p, encoding="utf-8"))
rows = d["results"][0]["by_scheme"]
rows[0]["claims"] += 1
rows[1]["claims"] -= 1
json.dump(d, open(p, "w", encoding="utf-8"), ensure_ascii=False)
PY
if check "$tmp/c1" 2>/dev/null; then
	fail "the check passed a compare.json with a claim moved between schemes"
fi
echo "compare_tables.sh: ok"
