#!/usr/bin/env bash
# project.sh: `sanbao project` end to end. (1) A closed-form case: a
# constant population and constant growth rates, where every year's revenue
# and spending and the balance path have a formula (tests/e2e/project/
# closed_form.py checks them to the fen); (2) the same bytes for a seed and
# other bytes for another seed; (3) bad scenario files refused at
# file:line:column with the previous outputs kept; (4) the demo's four
# scenarios with the Monte Carlo. Usage: project.sh SANBAO SOURCE_DIR
set -euo pipefail

sanbao=$1
src=$2
here=$src/tests/e2e/project
scen=$src/scenarios/projection
policies=$src/policies/demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "project.sh: FAIL: $*" >&2
	exit 1
}

# ---- (1) the closed-form case -----------------------------------------------
python3 "$here/closed_form.py" fixture "$tmp/fx"
"$sanbao" project --policies "$policies" --persons "$tmp/fx/persons.csv" \
	--settlements "$tmp/fx/settlements.csv" --scenario "$tmp/fx/constant.yaml" \
	--scenario "$tmp/fx/constant-interest.yaml" --scenario "$tmp/fx/constant-policy.yaml" \
	--scenario "$tmp/fx/constant-visit.yaml" --years 30 --out "$tmp/cf" >"$tmp/cf.txt" ||
	fail "the closed-form run failed: $(cat "$tmp/cf.txt")"
grep -q "base year 2024, 2 funds (region x scheme), 30 years, 4 scenarios" "$tmp/cf.txt" || fail "closed form: $(cat "$tmp/cf.txt")"
python3 "$here/closed_form.py" check "$tmp/cf/projection.json" "$tmp/cf/projection.csv" ||
	fail "the closed-form case does not hold"

# ---- (1b) opening balances from balances.csv --------------------------------
# The funds open with balances.csv's rows (the reader `sanbao fund` uses;
# the assistance and adjustment rows are read and left) instead of 12 months
# of spending: the closed form holds from those openings, and without
# interest every year's balance moves by exactly the opening's difference.
cat >"$tmp/fx/balances.csv" <<'CSV'
region,scheme,balance
990100,employee,12345.67
990100,resident,-500.00
990100,assistance,10.00
990000,adjustment,100.00
CSV
run_cf() { # OUT [more options]
	local out=$1
	shift
	"$sanbao" project --policies "$policies" --persons "$tmp/fx/persons.csv" \
		--settlements "$tmp/fx/settlements.csv" --scenario "$tmp/fx/constant.yaml" \
		--scenario "$tmp/fx/constant-interest.yaml" --scenario "$tmp/fx/constant-policy.yaml" \
		--scenario "$tmp/fx/constant-visit.yaml" --years 30 --out "$out" "$@"
}
run_cf "$tmp/cfb" --balances "$tmp/fx/balances.csv" >"$tmp/cfb.txt" ||
	fail "the run with balances.csv failed: $(cat "$tmp/cfb.txt")"
grep -qF "opening balances of 2 funds from $tmp/fx/balances.csv" "$tmp/cfb.txt" ||
	fail "balances.csv's openings not told: $(cat "$tmp/cfb.txt")"
python3 "$here/closed_form.py" check "$tmp/cfb/projection.json" "$tmp/cfb/projection.csv" \
	employee=1234567 resident=-50000 || fail "the closed form does not hold from balances.csv's openings"
python3 - "$tmp/cf/projection.csv" "$tmp/cfb/projection.csv" <<'EOF' || fail "the openings do not shift the paths exactly"
import csv, sys
def rows(p):
    return {(r["scenario"], r["scheme"], r["year"]): r for r in csv.DictReader(open(p))
            if r["percentile"] == "deterministic"}
def fen(s):
    neg = s.startswith("-")
    y, f = s.lstrip("-").split(".")
    return (-1 if neg else 1) * (int(y) * 100 + int(f))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert a.keys() == b.keys() and len(a) == 4 * 2 * 31, len(a)
# the default openings: 12 months of the base year's spending
shift = {"employee": 1234567 - 300005, "resident": -50000 - 344567}
n = 0
for k, x in a.items():
    y = b[k]
    assert x["revenue"] == y["revenue"] and x["spending"] == y["spending"], k
    if k[0] != "constant-interest":
        assert fen(y["balance"]) - fen(x["balance"]) == shift[k[1]], (k, x["balance"], y["balance"])
        n += 1
assert n == 3 * 2 * 31
EOF
# Bad rows are refused at their line, nothing written.
bad_balances() { # ROW MESSAGE
	printf 'region,scheme,balance\n990100,employee,1.00\n%s\n' "$1" >"$tmp/bb.csv"
	if run_cf "$tmp/cfbb" --balances "$tmp/bb.csv" >/dev/null 2>"$tmp/bb.txt"; then
		fail "balances row accepted: $1"
	fi
	grep -qF "$2" "$tmp/bb.txt" || fail "for [$1] wanted [$2], got: $(cat "$tmp/bb.txt")"
	[ ! -e "$tmp/cfbb/projection.json" ] || fail "a refused run wrote projection.json"
}
bad_balances "990999,employee,1.00" "bb.csv:3: region \"990999\" is not a pooling region of --policies"
bad_balances "990100,employee,2.00" "bb.csv:3: a second opening balance for 990100 employee: give one row each"
bad_balances "990100,resident,1.005" "bb.csv:3: balance \"1.005\" has more than 2 decimals"
bad_balances "990100,adjustment,1.00" "(the adjustment fund's row is the province's code)"

# ---- (2) deterministic per seed ---------------------------------------------
run_mc() { # SEED OUT
	"$sanbao" project --policies "$policies" --persons "$tmp/fx/persons.csv" \
		--settlements "$tmp/fx/settlements.csv" --scenario "$scen/growth-gap.yaml" \
		--runs 300 --seed "$1" --out "$2" >/dev/null
}
run_mc 7 "$tmp/s7a"
run_mc 7 "$tmp/s7b"
run_mc 8 "$tmp/s8"
for f in projection.csv projection.json; do
	cmp -s "$tmp/s7a/$f" "$tmp/s7b/$f" || fail "seed 7 twice gives different $f"
	cmp -s "$tmp/s7a/$f" "$tmp/s8/$f" && fail "seeds 7 and 8 give the same $f"
done
grep -q '"runs": 300, "seed": 7' "$tmp/s7a/projection.json" || fail "runs and seed not recorded"
# The deterministic rows do not depend on the seed.
diff <(grep ',deterministic,' "$tmp/s7a/projection.csv") \
	<(grep ',deterministic,' "$tmp/s8/projection.csv") >/dev/null ||
	fail "the deterministic path changed with the seed"
# Percentiles are ordered and the exhaustion probability never falls.
python3 - "$tmp/s7a/projection.json" <<'EOF' || fail "Monte Carlo percentiles are not ordered"
import json, sys
j = json.load(open(sys.argv[1]))["projection"]
for s in j["scenarios"]:
    for f in s["funds"]:
        last = 0.0
        for y in f["years"]:
            mc = y["mc"]
            b = [float(mc["balance"][k]) for k in ("p5", "p25", "p50", "p75", "p95")]
            assert b == sorted(b), (f["region"], y["year"], b)
            assert mc["p_exhausted"] >= last
            last = mc["p_exhausted"]
EOF

# The same bytes whatever the threads reading settlements.csv (a generated
# province large enough to be cut into ranges).
"$sanbao" gen --persons 20000 --seed 11 --out "$tmp/prov" >/dev/null
"$sanbao" settle --policies "$tmp/prov/policies" --persons "$tmp/prov/persons.csv" \
	--identities "$tmp/prov/identities.csv" --claims "$tmp/prov/claims.csv" \
	--out "$tmp/prov/settled" --quiet
for n in 1 3; do
	"$sanbao" project --policies "$tmp/prov/policies" --persons "$tmp/prov/persons.csv" \
		--settlements "$tmp/prov/settled/settlements.csv" --scenario "$scen/baseline.yaml" \
		--runs 50 --seed 5 --threads $n --out "$tmp/th$n" >"$tmp/th$n.txt"
done
[ "$(stat -c %s "$tmp/prov/settled/settlements.csv")" -gt 1048576 ] ||
	fail "the threads' settlements.csv is too small to be cut into ranges"
grep -q "40438 rows, 40438 of the base year used" "$tmp/th3.txt" || fail "threads: $(cat "$tmp/th3.txt")"
for f in projection.csv projection.json; do
	cmp -s "$tmp/th1/$f" "$tmp/th3/$f" || fail "--threads 1 and 3 give different $f"
done

# ---- (3) bad scenarios -------------------------------------------------------
bad() { # NAME EXPECTED-MESSAGE (the scenario is read from stdin)
	cat >"$tmp/$1.yaml"
	if "$sanbao" project --policies "$policies" --persons "$tmp/fx/persons.csv" \
		--settlements "$tmp/fx/settlements.csv" --scenario "$tmp/$1.yaml" \
		--out "$tmp/cf" 2>"$tmp/$1.err" >/dev/null; then
		fail "$1: a bad scenario was accepted"
	fi
	grep -qF -- "$2" "$tmp/$1.err" || fail "$1: expected '$2', got: $(cat "$tmp/$1.err")"
}
bad rate "$tmp/rate.yaml:4:14: cost_growth \"12%x\" is not a number" <<'EOF'
projection: 1
name: bad
population: constant
cost_growth: "12%x"
revenue: {kind: ratio, employee: 1, resident: 1}
EOF
bad key "$tmp/key.yaml:4:1:" <<'EOF'
projection: 1
name: bad
population: constant
cost_grwth: "12%"
revenue: {kind: ratio, employee: 1, resident: 1}
EOF
grep -q "cost_growth" "$tmp/key.err" || fail "the unknown key's message does not list what is allowed"
bad syntax "$tmp/syntax.yaml:" <<'EOF'
projection: 1
name: bad
revenue: {kind: ratio, employee: 1
EOF
bad kind "$tmp/kind.yaml:4:17: revenue kind must be policy (the region's funding rules), per_person" <<'EOF'
projection: 1
name: bad
population: constant
revenue: {kind: premium, employee: 1, resident: 1}
EOF
bad retire "$tmp/retire.yaml:3:13: life_table:" <<'EOF'
projection: 1
name: bad
life_table: missing.csv
revenue: {kind: ratio, employee: 1, resident: 1}
EOF
bad month "$tmp/month.yaml:4:35: from must be a month written YYYY-MM" <<'EOF'
projection: 1
name: bad
population: constant
retirement: {men: {age: 60, from: 1965-13}}
revenue: {kind: ratio, employee: 1, resident: 1}
EOF
bad visit "$tmp/visit.yaml:5:" <<'EOF'
projection: 1
name: bad
population: constant
revenue: {kind: ratio, employee: 1, resident: 1}
cost_growth_by_visit: {surgery: "5%"}
EOF
grep -q "inpatient" "$tmp/visit.err" || fail "the unknown visit type's message does not list the allowed ones"
printf 'age_from,age_to,male,female\n0,49,1,1\n60,,2,2\n' >"$tmp/gap.csv"
bad gap "$tmp/gap.csv:3: age groups must follow each other without gap or overlap: this one should start at 50" <<EOF
projection: 1
name: bad
life_table: gap.csv
revenue: {kind: ratio, employee: 1, resident: 1}
EOF
# revenue: policy over a region whose policy has no funding rules is refused,
# not taken as no revenue.
cp -r "$policies" "$tmp/nofunding"
python3 - "$tmp/nofunding/990000.yaml" <<'EOF'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i, j = s.index("\nfunding:"), s.index("\nversions:")
open(sys.argv[1], "w", encoding="utf-8").write(s[:i] + s[j:])
EOF
if "$sanbao" project --policies "$tmp/nofunding" --persons "$tmp/fx/persons.csv" \
	--settlements "$tmp/fx/settlements.csv" --scenario "$tmp/fx/constant-policy.yaml" \
	--out "$tmp/cf" 2>"$tmp/nofunding.err" >/dev/null; then
	fail "revenue: policy ran without funding rules"
fi
grep -qF "revenue: policy, but 3 employee persons of region 990100 have no contribution under its funding rules for 2024 (the policy has no funding rules for the base year)" \
	"$tmp/nofunding.err" || fail "no funding rules: $(cat "$tmp/nofunding.err")"
# The closed-form run's outputs are still there, unchanged.
python3 "$here/closed_form.py" check "$tmp/cf/projection.json" "$tmp/cf/projection.csv" ||
	fail "a refused run changed the previous outputs"

# ---- (4) the demo's scenarios -------------------------------------------------
"$sanbao" settle --policies "$policies" --persons "$src/data/demo/persons.csv" \
	--identities "$src/data/demo/identities.csv" --claims "$src/data/demo/claims.csv" \
	--out "$tmp/settled" --quiet
"$sanbao" project --policies "$policies" --persons "$src/data/demo/persons.csv" \
	--settlements "$tmp/settled/settlements.csv" --scenario "$scen/baseline.yaml" \
	--scenario "$scen/growth-gap.yaml" --scenario "$scen/delayed-retirement.yaml" \
	--scenario "$scen/no-delay.yaml" --runs 1000 --seed 2024 --out "$tmp/demo" >"$tmp/demo.txt"
grep -q "base year 2024, 10 funds (region x scheme), 30 years, 4 scenarios, 1000 Monte Carlo runs" \
	"$tmp/demo.txt" || fail "demo: $(cat "$tmp/demo.txt")"
python3 - "$tmp/demo/projection.json" <<'EOF' || fail "the demo's scenarios do not compare as they should"
import json, sys
j = json.load(open(sys.argv[1]))["projection"]
s = {x["name"]: x for x in j["scenarios"]}
def funds(name):
    return {(f["region"], f["scheme"]): f for f in s[name]["funds"]}
base, gap, late, none = (funds(n) for n in ("baseline", "growth-gap", "delayed-retirement", "no-delay"))
spend = lambda f: float(f["years"][-1]["spending"])
for k in base:
    # 12% a year against 6%: more spending in every fund that spends
    assert spend(gap[k]) > spend(base[k]) or float(base[k]["base_spending"]) == 0, k
ex = lambda fs: sum(1 for f in fs.values() if f["exhaustion_year"])
assert ex(gap) >= ex(base) and ex(gap) > 0, (ex(gap), ex(base))
# Employees: the 2025 raise keeps more contributors and fewer retirees than no raise,
# and a further delay more still, in every region with employees of the ages concerned.
# Retiree-years over the horizon: 254.34 without the raise, 224.06 with it, 220.04 with the further delay.
tot = lambda fs: sum(y["retirees"] for (r, sc), f in fs.items() if sc == "employee" for y in f["years"])
assert tot(none) > tot(base) > tot(late), (tot(none), tot(base), tot(late))
# Residents are untouched by the retirement rule.
for (r, sc), f in base.items():
    if sc == "resident":
        assert f["years"][-1]["balance"] == none[(r, sc)]["years"][-1]["balance"], r
EOF
echo "project.sh: ok"
