#!/usr/bin/env bash
# fund.sh: `sanbao fund` end to end. On the hand-computed fixture
# (tests/fixtures/fund/README.md): contributions, premium subsidies,
# accounts, months and bands, the adjustment fund's allocation, coverage
# and ratios, each against the number worked out by hand; the adjustment
# fund's conservation (Σ paid up + opening = Σ allocated + closing) and the
# reconciliation of spending with the settlements, both recomputed here
# from the CSV outputs, to the fen. On the demo: fund over settle's output
# reconciles with settlements.csv summed here. Bad input and bad funding
# blocks are refused with their place. Usage: fund.sh SANBAO SOURCE_DIR
set -euo pipefail

sanbao=$1
src=$2
fx=$src/tests/fixtures/fund
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "fund.sh: FAIL: $*" >&2
	exit 1
}

run_fixture() { # OUT [settlements]
	"$sanbao" fund --policies "$fx/policies" --persons "$fx/persons.csv" \
		--identities "$fx/identities.csv" --settlements "${2:-$fx/settlements.csv}" \
		--balances "$fx/balances.csv" --adjustment "$fx/adjustment.csv" --out "$1"
}

run_fixture "$tmp/f" > "$tmp/f.txt" || fail "fund on the fixture: $(cat "$tmp/f.txt")"

# ---- the hand-computed numbers (README.md of the fixture) ----------------------
python3 - "$tmp/f" <<'PY' || fail "a hand-computed number differs (above)"
import csv, json, sys
out = sys.argv[1]
def rows(name):
    with open(f"{out}/{name}", encoding="utf-8") as f:
        return list(csv.DictReader(f))
bad = []
def want(what, got, exp):
    if got != exp:
        bad.append(f"{what}: got {got!r}, by hand {exp!r}")

acc = {(r["region"], r["fund"]): r for r in rows("accounts.csv")}
hand = {
    ("980100", "employee"): dict(persons="3", retirees="1", individual="2400.00", employer="9600.00",
        to_accounts="2400.00", revenue="9600.00", spending="15000.00", opening="30000.00",
        closing_before="24600.00", months_before="19.68", band_before="excess", paid_up="960.00",
        received="2680.00", closing="26320.00", months="21.06", band="excess"),
    ("980100", "resident"): dict(persons="3", individual="700.00", assisted="400.00", subsidy="2010.00",
        revenue="3110.00", spending="6500.00", opening="1000.00", closing_before="-2390.00",
        months_before="-4.41", band_before="shortage", paid_up="311.00", received="1831.00",
        closing="-870.00", months="-1.61", band="shortage"),
    ("980100", "assistance"): dict(persons="6", subsidy="300.00", revenue="300.00", spending="1900.00",
        closing="-1600.00", months="-10.11"),
    ("980200", "employee"): dict(persons="1", employer="19200.00", to_accounts="4800.00",
        revenue="19200.00", spending="8000.00", closing_before="61200.00", months_before="91.80",
        paid_up="1920.00", received="0.00", closing="59280.00", months="88.92"),
    ("980200", "resident"): dict(individual="800.00", assisted="300.00", subsidy="2100.00",
        revenue="3200.00", spending="1000.00", closing_before="4200.00", months_before="50.40",
        paid_up="320.00", closing="3880.00", months="46.56", band="excess"),
    ("980200", "assistance"): dict(subsidy="200.00", spending="1300.00", opening="500.00",
        closing="-600.00", months="-5.54"),
}
for key, cols in hand.items():
    for c, v in cols.items():
        want(f"accounts {key} {c}", acc[key][c], v)

adj = {(r["region"], r["fund"]): r for r in rows("adjustment.csv")}
for key, cols in {
    ("980100", "employee"): dict(gap="6360.00", deduction="1000.00", normal="2680.00", emergency="0.00"),
    ("980100", "resident"): dict(gap="3701.00", score="80.00", normal="1480.40", emergency="350.60",
                                 received="1831.00", advance="1000.00", settlement="831.00"),
    ("980200", "employee"): dict(gap="0.00", normal="0.00"),
    ("980200", "resident"): dict(gap="0.00", normal="0.00"),
}.items():
    for c, v in cols.items():
        want(f"adjustment {key} {c}", adj[key][c], v)

prem = {(r["region"], r["identity"]): (r["persons"], r["amount"]) for r in rows("premiums.csv")}
want("premiums", prem, {("980100", "tekun"): ("1", "400.00"), ("980200", "dibao"): ("1", "200.00"),
                        ("980200", "monitored"): ("1", "100.00")})
cov = {(r["region"], r["identity"]): (r["roster"], r["enrolled"]) for r in rows("coverage.csv")}
want("coverage 980200 any", cov[("980200", "any")], ("3", "2"))
want("coverage 980200 dibao", cov[("980200", "dibao")], ("2", "1"))
rat = {(r["region"], r["group"]): r for r in rows("ratios.csv")}
want("ratio q1", (rat[("all", "q1")]["premium"], rat[("all", "q1")]["benefit"],
                  rat[("all", "q1")]["benefit_per_premium"]), ("400.00", "6000.00", "15.0000"))
want("ratio q5", rat[("all", "q5")]["benefit_per_premium"], "2.5000")
want("ratio q3 is person 1", rat[("all", "q3")]["premium"], "300.00")
want("ratio rural 980100", (rat[("980100", "rural")]["persons"], rat[("980100", "rural")]["paid"]),
     ("2", "400.00"))
ind = {(r["region"], r["indicator"]): r for r in rows("indicators.csv")}
want("coverage indicator", ind[("980200", "coverage")]["value"], "0.6667")
want("in-scope rate", ind[("980100", "inscope_rate_employee")]["value"], "0.8333")
want("coverage rank", (ind[("980100", "coverage")]["rank"], ind[("980200", "coverage")]["rank"]), ("1", "2"))

# Conservation of the adjustment fund, from its own rows: Σ paid up +
# opening = Σ allocated + closing, to the fen.
doc = json.load(open(f"{out}/fund.json", encoding="utf-8"))
for a in doc["adjustment"]:
    fen = lambda x: round(float(x) * 100)
    up = sum(fen(f["paid_up"]) for f in a["funds"])
    got = sum(fen(f["normal"]) + fen(f["emergency"]) for f in a["funds"])
    want(f"{a['year']} paid up", up, fen(a["paid_up"]))
    if fen(a["opening"]) + up != got + fen(a["closing"]):
        bad.append(f"{a['year']}: opening {a['opening']} + paid up {up/100} != allocated {got/100} + closing {a['closing']}")
    want(f"{a['year']} closing", a["closing"], 0.00)
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY

# ---- reconciliation: spending = the settlements' layer sums, to the fen -------
# check_reconciled OUT SETTLEMENTS: the layer columns summed here against
# spending.csv and the accounts' spending less the premiums assistance paid.
check_reconciled() {
	python3 - "$1" "$2" <<'PY'
import csv, sys
out, setl = sys.argv[1], sys.argv[2]
fen = lambda s: round(float(s) * 100) if s else 0
with open(setl, encoding="utf-8") as f:
    r = csv.reader(f)
    head = next(r)
    start, end = head.index("in_scope") + 1, head.index("fund")
    layers = head[start:end]
    by = {}
    total = 0
    for row in r:
        for i, l in enumerate(layers):
            v = fen(row[start + i])
            if v:
                by[(row[head.index("region")], l)] = by.get((row[head.index("region")], l), 0) + v
                total += v
sp = {}
with open(f"{out}/spending.csv", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        k = (row["region"], row["layer"])
        sp[k] = sp.get(k, 0) + fen(row["paid"])
if sp != by:
    sys.exit(f"spending.csv {sp} is not the settlements' {by}")
acc = 0
with open(f"{out}/accounts.csv", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        acc += fen(row["spending"])
prem = 0
with open(f"{out}/premiums.csv", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        prem += fen(row["amount"])
if acc - prem != total:
    sys.exit(f"accounts' spending {acc/100} less premiums {prem/100} is not the settlements' {total/100}")
print(f"reconciled: {total/100:.2f}")
PY
}
check_reconciled "$tmp/f" "$fx/settlements.csv" > /dev/null || fail "fixture spending does not reconcile"

# ---- the demo: settle, then fund over its output ----------------------------------
"$sanbao" settle --policies "$src/policies/demo" --persons "$src/data/demo/persons.csv" \
	--identities "$src/data/demo/identities.csv" --claims "$src/data/demo/claims.csv" \
	--out "$tmp/demo" --monitor --quiet > /dev/null || fail "demo settle"
"$sanbao" fund --policies "$src/policies/demo" --persons "$src/data/demo/persons.csv" \
	--identities "$src/data/demo/identities.csv" --settlements "$tmp/demo/settlements.csv" \
	--balances "$src/data/demo/balances.csv" --warnings "$tmp/demo/warnings.csv" \
	--out "$tmp/demo/fund" > "$tmp/demo.txt" || fail "fund on the demo: $(cat "$tmp/demo.txt")"
check_reconciled "$tmp/demo/fund" "$tmp/demo/settlements.csv" > /dev/null \
	|| fail "demo spending does not reconcile"
python3 - "$tmp/demo/fund/fund.json" "$tmp/demo/summary.json" <<'PY' || fail "demo fund.json"
import json, sys
f = json.load(open(sys.argv[1], encoding="utf-8"))
s = json.load(open(sys.argv[2], encoding="utf-8"))
assert f["money"]["reconciled"] is True
assert abs(f["money"]["spending"] - s["money"]["fund"]) < 0.005, (f["money"], s["money"]["fund"])
assert all(a["conserved"] for a in f["adjustment"] if a["present"])
assert len(f["indicators"]["defs"]) >= 12
# Years chain: each year opens with the last one's closing (accounts and the
# adjustment fund), and 2024's advance is half (advance: 0.5) of 2023's
# allocation, rounded half up, settled at the year's end.
fen = lambda x: round(x * 100)
acc = {(a["region"], a["fund"], a["year"]): a for a in f["accounts"]}
for (r, k, y), a in acc.items():
    if y == 2024:
        assert a["opening"] == acc[(r, k, 2023)]["closing"], (r, k)
adj = {a["year"]: a for a in f["adjustment"]}
assert adj[2024]["opening"] == adj[2023]["closing"]
assert fen(adj[2023]["opening"]) == 20000 * 100  # balances.csv's province row
prev = {(x["region"], x["fund"]): x for x in adj[2023]["funds"]}
n = 0
for x in adj[2024]["funds"]:
    want = (fen(prev[(x["region"], x["fund"])]["received"]) * 5000 + 5000) // 10000
    assert fen(x["advance"]) == want, (x, want)
    assert fen(x["settlement"]) == fen(x["received"]) - fen(x["advance"]), x
    n += want > 0
assert n > 0, "no advance to check"
PY

# ---- threads: the same outputs for any number of readers ----------------------------
"$sanbao" gen --persons 40000 --seed 11 --out "$tmp/g" --policies-src "$src/policies/demo" > /dev/null \
	|| fail "gen"
"$sanbao" settle --policies "$tmp/g/policies" --persons "$tmp/g/persons.csv" \
	--identities "$tmp/g/identities.csv" --claims "$tmp/g/claims.csv" --out "$tmp/gs" --quiet \
	> /dev/null || fail "settle of the generated province"
gfund() { # OUT THREADS [SETTLEMENTS]
	"$sanbao" fund --policies "$tmp/g/policies" --persons "$tmp/g/persons.csv" \
		--identities "$tmp/g/identities.csv" --settlements "${3:-$tmp/gs/settlements.csv}" \
		--threads "$2" --out "$1"
}
gfund "$tmp/gf1" 1 > /dev/null || fail "fund --threads 1"
gfund "$tmp/gf3" 3 > /dev/null || fail "fund --threads 3"
[ "$(stat -c %s "$tmp/gs/settlements.csv")" -gt $((3 << 20)) ] || fail "settlements too small for 3 readers"
[ "$(stat -c %s "$tmp/g/persons.csv")" -gt $((2 << 20)) ] || fail "persons too small for 2 readers"
for f in accounts.csv spending.csv premiums.csv coverage.csv ratios.csv adjustment.csv indicators.csv; do
	cmp -s "$tmp/gf1/$f" "$tmp/gf3/$f" || fail "$f differs between 1 and 3 threads"
done
cmp -s <(grep -v '"settlements":' "$tmp/gf1/fund.json") <(grep -v '"settlements":' "$tmp/gf3/fund.json") \
	|| fail "fund.json differs between 1 and 3 threads"
check_reconciled "$tmp/gf3" "$tmp/gs/settlements.csv" > /dev/null || fail "3 threads do not reconcile"
# Rows in an order far from persons.csv's (settle writes a person's rows
# together and the persons in the file's order; fund looks a few places on
# first, then searches): the same accounts.
{ head -n 1 "$tmp/gs/settlements.csv"; tail -n +2 "$tmp/gs/settlements.csv" | shuf --random-source=<(yes); } \
	> "$tmp/gshuf.csv"
gfund "$tmp/gfs" 2 "$tmp/gshuf.csv" > /dev/null || fail "fund over shuffled settlements"
for f in accounts.csv spending.csv premiums.csv coverage.csv ratios.csv adjustment.csv indicators.csv; do
	cmp -s "$tmp/gf1/$f" "$tmp/gfs/$f" || fail "$f differs when the settlements are shuffled"
done
cmp -s <(grep -v '"settlements":' "$tmp/gf1/fund.json") <(grep -v '"settlements":' "$tmp/gfs/fund.json") \
	|| fail "fund.json differs when the settlements are shuffled"
# A bad row deep in the third reader's share is named by its line in the file.
n=$(wc -l < "$tmp/gs/settlements.csv")
bad_line=$((n - 5))
awk -F, -v OFS=, -v L="$bad_line" 'NR == L { $2 = "PS00000000000000ff" } { print }' \
	"$tmp/gs/settlements.csv" > "$tmp/gbad.csv"
if gfund "$tmp/gfb" 3 "$tmp/gbad.csv" 2> "$tmp/gfb.txt"; then fail "a planted bad row was accepted"; fi
grep -q "gbad.csv:$bad_line: the person of this settlement is not in" "$tmp/gfb.txt" \
	|| fail "the bad row's line is not $bad_line: $(cat "$tmp/gfb.txt")"

# A person listed twice, the copy in the last reader's share: both lines named.
cp "$tmp/g/persons.csv" "$tmp/gdup.csv"
sed -n 2p "$tmp/g/persons.csv" >> "$tmp/gdup.csv"
dup_line=$(wc -l < "$tmp/gdup.csv")
if "$sanbao" fund --policies "$tmp/g/policies" --persons "$tmp/gdup.csv" --settlements "$tmp/gs/settlements.csv" \
	--threads 3 --out "$tmp/gfd" 2> "$tmp/gfd.txt"; then fail "a person listed twice was accepted"; fi
grep -q "gdup.csv:$dup_line: the person of line 2 is listed again" "$tmp/gfd.txt" \
	|| fail "the copy is not named at line $dup_line: $(cat "$tmp/gfd.txt")"

# ---- refusals ------------------------------------------------------------------------
# A settlement whose fund column is not the sum of its layers: refused at its line.
sed 's/^S3,\(.*\),15000.00,0.00,15000.00,/S3,\1,15000.00,0.00,15000.01,/' "$fx/settlements.csv" > "$tmp/bad.csv"
if run_fixture "$tmp/bad" "$tmp/bad.csv" 2> "$tmp/bad.txt"; then fail "a fund column off by a fen was accepted"; fi
grep -q "bad.csv:4: fund 15000.01 is not the sum of the layer columns (15000.00)" "$tmp/bad.txt" \
	|| fail "wrong message for the bad sum: $(cat "$tmp/bad.txt")"
[ ! -e "$tmp/bad/fund.json" ] || fail "a refused run wrote fund.json"
# A settlement of a person fund does not know.
sed 's/^S5,PS0000000000000014/S5,PS00000000000000ff/' "$fx/settlements.csv" > "$tmp/who.csv"
if run_fixture "$tmp/who" "$tmp/who.csv" 2> "$tmp/who.txt"; then fail "an unknown person was accepted"; fi
grep -q "who.csv:6: the person of this settlement is not in" "$tmp/who.txt" || fail "$(cat "$tmp/who.txt")"

# check-policy says what the funding does, inherited keys included.
"$sanbao" check-policy "$fx/policies/980200.yaml" > "$tmp/describe.txt" || fail "check-policy of the fixture"
grep -q "region 980200" "$tmp/describe.txt" || fail "no region 980200 described"
sed -n '/^region 980200/,$p' "$tmp/describe.txt" > "$tmp/d2.txt"
grep -qF "resident: individual student 300.00, other 400.00; fiscal subsidy 700.00 per resident" "$tmp/d2.txt" \
	|| fail "980200's resident funding not described: $(cat "$tmp/d2.txt")"
grep -qF "premiums paid for tekun in full, dibao 50%, monitored 100.00" "$tmp/d2.txt" \
	|| fail "980200's premium subsidies not described"

# Funding blocks that break the format: file:line:column and what is allowed.
mkdir -p "$tmp/p"
bad_funding() { # YAML-LINES EXPECTED-MESSAGE
	cp "$fx/policies/980000.yaml" "$tmp/p/980000.yaml"
	printf 'sanbao: 1\nregion: {code: "980100"}\nextends: 980000.yaml\nfunding:\n%s\nversions:\n  - from: 2024-01-01\n' "$1" > "$tmp/p/980100.yaml"
	if "$sanbao" check-policy "$tmp/p/980100.yaml" > /dev/null 2> "$tmp/p.txt"; then
		fail "accepted: $1"
	fi
	grep -qF "$2" "$tmp/p.txt" || fail "for [$1] wanted [$2], got: $(cat "$tmp/p.txt")"
}
bad_funding "  - from: 2024-01-01
    resident: {individual: {student: 300}}" \
	"980100.yaml:6:28: individual by tier needs \`other\`"
bad_funding "  - from: 2024-01-01
    adjustment: {pay_up: 0.1}" \
	"980100.yaml:6:17: adjustment is the province's (省级调剂金)"
bad_funding "  - from: 2024-01-01
    assistance: {subsidies: {dibao: {share: 1.5}}}" \
	"980100.yaml:6:45: share \"1.5\" is outside [0, 1]"
bad_funding "  - from: 2024-01-01
    assistance: {layers: [basc]}" \
	"980100.yaml:6:27: \"basc\" is not a layer of this policy"
bad_funding "  - from: 2024-01-01
    assistance: {subsidies: {poor: full}}" \
	"980100.yaml:6:30: \"poor\" is not an identity of this policy"
bad_funding "  - from: 2024-01-01
    warning: [{from: 1, band: low}]" \
	"the first warning band starts at from: 0"
bad_funding "  - from: 2024-01-01
    pension: 1" \
	"980100.yaml:6:5: unknown key"
echo "fund.sh: ok"
