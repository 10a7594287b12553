#!/usr/bin/env bash
# audit_planted.sh: `sanbao gen --anomalies RATE` plants every kind of
# anomaly the audit rules detect and `sanbao audit` finds every one of them
# (tests/e2e/audit/planted.py matches the key to the findings by rule,
# claim or facility, layer and amount). Also: the clean extract's findings
# per rule (the false positives the README reports), the same bytes for any
# thread count, no raw resident ID in the key, and the check fails when a
# rule is switched off.
# Usage: audit_planted.sh SANBAO SOURCE_DIR
set -euo pipefail

sanbao=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rules=$src/rules/default.yaml
persons=${SB_PLANTED_PERSONS:-20000}
seed=${SB_PLANTED_SEED:-6}

fail() {
	echo "audit_planted.sh: FAIL: $*" >&2
	exit 1
}

audit() { # PROVINCE OUT [more]
	local g=$1 out=$2
	shift 2
	"$sanbao" audit --policies "$g/policies" --persons "$g/persons.csv" \
		--identities "$g/identities.csv" --claims "$g/extract.csv" --rules "$rules" \
		--out "$out" --quiet "$@"
}
count() { # FINDINGS RULE
	grep -c "^[0-9]*,$2," "$1" || true
}

# ---- the clean province: false positives per rule --------------------------
"$sanbao" gen --persons "$persons" --seed "$seed" --out "$tmp/clean" --anomalies 0 >/dev/null
[ "$(wc -l <"$tmp/clean/anomalies.csv")" -eq 1 ] || fail "rate 0 planted something"
[ "$(($(wc -l <"$tmp/clean/extract.csv") - 1))" -eq "$(($(wc -l <"$tmp/clean/claims.csv") - 1))" ] ||
	fail "the clean extract has other claims than claims.csv"
audit "$tmp/clean" "$tmp/a0"
line="audit_planted.sh: clean province ($persons persons, seed $seed), findings per rule:"
for r in overpaid underpaid duplicate split_stay overlap assistance_ineligible cost_outlier; do
	line+=" $r $(count "$tmp/a0/findings.csv" $r)"
done
echo "$line"
# What the core paid is what the extract says: no payment finding at all.
for r in overpaid underpaid assistance_ineligible; do
	[ "$(count "$tmp/a0/findings.csv" $r)" -eq 0 ] || fail "clean extract: $r findings"
done

# ---- planted anomalies ---------------------------------------------------------
"$sanbao" gen --persons "$persons" --seed "$seed" --out "$tmp/p" --anomalies 0.005 >"$tmp/gen.txt"
cat "$tmp/gen.txt"
"$sanbao" gen --persons "$persons" --seed "$seed" --out "$tmp/p1" --anomalies 0.005 --threads 1 \
	>/dev/null
cmp "$tmp/p/extract.csv" "$tmp/p1/extract.csv" || fail "the extract depends on the thread count"
cmp "$tmp/p/anomalies.csv" "$tmp/p1/anomalies.csv" || fail "the key depends on the thread count"
cmp "$tmp/p/claims.csv" "$tmp/clean/claims.csv" || fail "planting changed claims.csv"
# Every kind is planted; the key masks resident IDs.
for k in "duplicate (visit)" "duplicate (mdtrt_id)" split_stay "overlap (stay)" \
	"overlap (outpatient)" overpaid underpaid assistance_ineligible cost_outlier; do
	grep -q "^$k," "$tmp/p/anomalies.csv" || fail "kind $k was not planted"
done
grep -Eq '[0-9]{17}[0-9X]' "$tmp/p/anomalies.csv" && fail "an unmasked ID in anomalies.csv"
[ -e "$tmp/p/.anomalies" ] && fail "the settlement's temporary folder was left behind"
audit "$tmp/p" "$tmp/ap"
python3 "$src/tests/e2e/audit/planted.py" "$tmp/p/anomalies.csv" "$tmp/ap/findings.csv" ||
	fail "a planted anomaly was not found"
"$sanbao" verify-evidence "$tmp/ap" >/dev/null || fail "verify-evidence on the planted audit"

# The extract is read in byte ranges by several threads: the findings are
# the same with one thread, and a bad cell late in the file is named at its
# line.
audit "$tmp/p" "$tmp/ap1" --threads 1
cmp "$tmp/ap/findings.csv" "$tmp/ap1/findings.csv" || fail "findings depend on the thread count"
python3 - "$tmp/p/extract.csv" "$tmp/badx.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
rows[len(rows) - 10][rows[0].index("actual_basic_res")] = "1.005"
csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n").writerows(rows)
PY
bad_line=$(($(wc -l <"$tmp/badx.csv") - 9))
msg=$("$sanbao" audit --policies "$tmp/p/policies" --persons "$tmp/p/persons.csv" \
	--identities "$tmp/p/identities.csv" --claims "$tmp/badx.csv" --rules "$rules" \
	--out "$tmp/bx" --quiet --threads 2 2>&1) && fail "a bad cell was accepted"
[[ $msg == *"badx.csv:$bad_line: actual_basic_res \"1.005\" has more than 2 decimals"* ]] ||
	fail "bad cell at line $bad_line: $msg"

# The check can fail: with split_stay switched off its planted stays are named.
sed 's/^  - id: split_stay$/  - id: split_stay\n    enabled: false/' "$rules" >"$tmp/off.yaml"
grep -q "enabled: false" "$tmp/off.yaml" || fail "the test did not switch split_stay off"
rules=$tmp/off.yaml audit "$tmp/p" "$tmp/off"
out=$(python3 "$src/tests/e2e/audit/planted.py" "$tmp/p/anomalies.csv" "$tmp/off/findings.csv") &&
	fail "the check passed with split_stay off"
[[ $out == *"NOT FOUND: split_stay"* ]] || fail "split_stay off: $out"

# A small province: every kind but cost_outlier (no facility has 30 stays).
"$sanbao" gen --persons 300 --seed 2 --out "$tmp/s" --anomalies 0.01 >/dev/null
[ "$(grep -c . "$tmp/s/anomalies.csv")" -ge 9 ] || fail "small province: $(cat "$tmp/s/anomalies.csv")"
audit "$tmp/s" "$tmp/as"
python3 "$src/tests/e2e/audit/planted.py" "$tmp/s/anomalies.csv" "$tmp/as/findings.csv" >/dev/null ||
	fail "small province: a planted anomaly was not found"

# Bad rates are refused before anything is written.
for bad in 0.6 -1 x 0.00001; do
	msg=$("$sanbao" gen --persons 10 --seed 1 --out "$tmp/bad" --anomalies "$bad" 2>&1) &&
		fail "--anomalies $bad accepted"
	[[ $msg == *"--anomalies \"$bad\""* ]] || fail "--anomalies $bad: $msg"
done
[ ! -e "$tmp/bad" ] || fail "a refused gen wrote files"
echo "audit_planted.sh: ok"
