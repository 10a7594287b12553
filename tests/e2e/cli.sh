#!/usr/bin/env bash
# cli.sh: the sanbao program end to end, as a user runs it: the demo batch
# (its four planted bad rows, the reconciliation, --explain), check-policy
# on a bad file, the case runner's exit status, monitoring in the same pass
# and on its own, and a generated province.
# Usage: cli.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

demo=(--policies "$src/policies/demo" --persons "$src/data/demo/persons.csv"
      --identities "$src/data/demo/identities.csv" --claims "$src/data/demo/claims.csv")

# The demo batch: 196 settle, the 4 planted rows are rejected with reasons.
"$bin" settle "${demo[@]}" --out "$tmp/demo" --monitor > "$tmp/demo.txt"
grep -q "200 claims read, 196 settled, 4 rejected" "$tmp/demo.txt" || fail "demo counts"
grep -q "fund + oop = total: yes" "$tmp/demo.txt" || fail "demo reconciliation line"
[ "$(wc -l < "$tmp/demo/settlements.csv")" -eq 197 ] || fail "settlements rows"
grep -q '^claims.csv,39,.*check digit' "$tmp/demo/rejects.csv" || fail "line 39"
grep -q '^claims.csv,92,.*more than 2 decimals' "$tmp/demo/rejects.csv" || fail "line 92"
grep -q '^claims.csv,148,.*exceed the total' "$tmp/demo/rejects.csv" || fail "line 148"
grep -q '^claims.csv,184,.*unknown person' "$tmp/demo/rejects.csv" || fail "line 184"
grep -q '"balanced": true' "$tmp/demo/summary.json" || fail "rows balanced"
grep -q '"fund_plus_oop_equals_total": true' "$tmp/demo/summary.json" || fail "money balanced"
[ -s "$tmp/demo/warnings.csv" ] && [ -s "$tmp/demo/monitor.json" ] || fail "monitor outputs"
# IDs are masked in warnings unless --show-ids.
if grep -Eq ',[0-9]{17}[0-9X],' "$tmp/demo/warnings.csv"; then fail "unmasked ID"; fi

# --explain prints one claim step by step.
claim=$(sed -n 2p "$tmp/demo/settlements.csv" | cut -d, -f1)
"$bin" settle "${demo[@]}" --out "$tmp/ex" --explain "$claim" --quiet > "$tmp/explain.txt"
for word in "claim $claim" "version from" "base B =" "deductible D =" "rounded half up" "fund "; do
	grep -q "$word" "$tmp/explain.txt" || fail "explain lacks '$word'"
done
# That claim is local and filed: no penalty entry may be listed as applied.
grep -q "local filed" "$tmp/explain.txt" || fail "explained claim is not local and filed"
if grep -q "adjust applied:.*penalty" "$tmp/explain.txt"; then fail "explain lists a penalty"; fi

# The same findings from `sanbao monitor` over the settlements.
"$bin" monitor --policies "$src/policies/demo" --persons "$src/data/demo/persons.csv" \
	--identities "$src/data/demo/identities.csv" --settlements "$tmp/demo/settlements.csv" \
	--out "$tmp/mon" > /dev/null
diff <(sort "$tmp/demo/warnings.csv") <(sort "$tmp/mon/warnings.csv") || fail "monitor differs"
diff <(sort "$tmp/demo/approaching.csv") <(sort "$tmp/mon/approaching.csv") || fail "approaching differs"

# On pseudonymised files (one shared key) the monitor finds the same units:
# rows equal but for the person columns (4, 5), which are now pseudonyms.
head -c 32 /dev/urandom > "$tmp/key"
mkdir "$tmp/ps"
"$bin" pseudonymize --key "$tmp/key" "$src/data/demo/persons.csv" "$tmp/ps/persons.csv" 2>/dev/null
"$bin" pseudonymize --key "$tmp/key" "$src/data/demo/identities.csv" "$tmp/ps/identities.csv" 2>/dev/null
"$bin" pseudonymize --key "$tmp/key" "$tmp/demo/settlements.csv" "$tmp/ps/settlements.csv" 2>/dev/null
if grep -Eq '[0-9]{17}[0-9X]' "$tmp/ps/persons.csv" "$tmp/ps/settlements.csv"; then fail "raw ID left"; fi
"$bin" monitor --policies "$src/policies/demo" --persons "$tmp/ps/persons.csv" \
	--identities "$tmp/ps/identities.csv" --settlements "$tmp/ps/settlements.csv" \
	--out "$tmp/psmon" > /dev/null
diff <(cut -d, -f1-3,6- "$tmp/demo/warnings.csv" | sort) \
     <(cut -d, -f1-3,6- "$tmp/psmon/warnings.csv" | sort) || fail "pseudonymised monitor differs"
[ "$(wc -l < "$tmp/psmon/warnings.csv")" -gt 1 ] || fail "no warnings to compare"

# A bad policy is refused with file:line:column and what is allowed.
mkdir "$tmp/bad"
cat > "$tmp/bad/110105.yaml" <<'YAML'
sanbao: 1
region: {code: "110105"}
versions:
  - from: 2024-01-01
    layers:
      - {id: basic, rate: "0.75%x"}
YAML
if "$bin" check-policy "$tmp/bad/110105.yaml" 2> "$tmp/bad.txt"; then fail "bad policy accepted"; fi
grep -q "110105.yaml:6:27: rate \"0.75%x\" is not a rate" "$tmp/bad.txt" || { cat "$tmp/bad.txt"; fail "policy error place"; }
# and settle refuses to run on it at all
if "$bin" settle --policies "$tmp/bad" --persons "$src/data/demo/persons.csv" \
	--claims "$src/data/demo/claims.csv" --out "$tmp/x" 2>/dev/null; then fail "settle ran"; fi
"$bin" check-policy -q "$src/policies/demo" "$src/policies/examples" | grep -q "10 policies valid" \
	|| fail "bundled policies"

# The case runner: a failing case exits 1 and ends with the count line.
cp "$src/tests/cases/shared/employee-cap-smoke.yaml" "$tmp/wrong.yaml"
sed -i 's/b: {basic: 80720.00/b: {basic: 80720.01/' "$tmp/wrong.yaml"
if "$bin" test "$tmp/wrong.yaml" > "$tmp/wrong.txt"; then fail "wrong case passed"; fi
tail -1 "$tmp/wrong.txt" | grep -qx "0 passed, 1 failed" || fail "count line"
grep -q "basic expected 80720.01, got 80720.00" "$tmp/wrong.txt" || fail "difference shown"

# A generated province settles without a reject; the same again is identical.
"$bin" gen --persons 2000 --seed 9 --out "$tmp/gen" > /dev/null
g=(--policies "$tmp/gen/policies" --persons "$tmp/gen/persons.csv"
   --identities "$tmp/gen/identities.csv" --claims "$tmp/gen/claims.csv")
"$bin" settle "${g[@]}" --out "$tmp/g1" --quiet --threads 1
"$bin" settle "${g[@]}" --out "$tmp/g2" --quiet --threads 2
cmp "$tmp/g1/settlements.csv" "$tmp/g2/settlements.csv" || fail "threads differ"
[ "$(wc -l < "$tmp/g1/rejects.csv")" -eq 1 ] || fail "generated rows rejected"

# The format's own layout: regions in a folder, the province beside it
# (`extends: ../990000.yaml`), settled as the flat demo folder settles;
# --policy-root narrows the tree `extends` may reach.
mkdir -p "$tmp/tree/990000"
cp "$src/policies/demo/990000.yaml" "$tmp/tree/"
for f in "$src"/policies/demo/99??00.yaml; do
	[ "$(basename "$f")" = 990000.yaml ] && continue
	sed 's|^extends: 990000.yaml|extends: ../990000.yaml|' "$f" > "$tmp/tree/990000/$(basename "$f")"
done
"$bin" settle --policies "$tmp/tree/990000" --persons "$src/data/demo/persons.csv" \
	--identities "$src/data/demo/identities.csv" --claims "$src/data/demo/claims.csv" \
	--out "$tmp/tree-out" --quiet || fail "a province file beside the region folder"
cmp "$tmp/tree-out/settlements.csv" "$tmp/demo/settlements.csv" || fail "tree layout settles otherwise"
set +e
"$bin" settle --policies "$tmp/tree/990000" --policy-root "$tmp/tree/990000" \
	--persons "$src/data/demo/persons.csv" --claims "$src/data/demo/claims.csv" \
	--out "$tmp/tree-out2" --quiet 2> "$tmp/tree.err"
[ $? -ne 0 ] && grep -q "outside the policy folder" "$tmp/tree.err" ||
	fail "--policy-root did not confine extends"
set -e

# Usage errors exit 2.
set +e
"$bin" frobnicate > /dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command status"
"$bin" settle --policies x > /dev/null 2>&1; [ $? -eq 2 ] || fail "missing option status"
set -e
echo "cli.sh: all checks passed"
