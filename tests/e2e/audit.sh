#!/usr/bin/env bash
# audit.sh: `sanbao audit` and `sanbao verify-evidence` end to end:
#  1. the planted fixture (tests/fixtures/audit/README.md): every finding and
#     amount exactly, the traces of the recomputed payments, audit.json's sums;
#  2. a generated province settled by `settle` and turned into an extract: no
#     overpaid or underpaid finding, then one payment changed by a fen gives
#     exactly one finding of 0.01; the same with the fund columns; the same
#     findings for 1 and 2 threads; settle itself ignores the audit columns;
#  3. the evidence: a changed, an added and a removed row are named;
#  4. every rule-file error and the extract's errors, at file:line:column.
# Usage: audit.sh SANBAO SOURCE_DIR
set -euo pipefail

sanbao=$1
src=$2
fx=$src/tests/fixtures/audit
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "audit.sh: FAIL: $*" >&2
	exit 1
}

audit_fixture() { # OUT [more args]
	local out=$1
	shift
	"$sanbao" audit --policies "$fx/policies" --persons "$fx/persons.csv" \
		--identities "$fx/identities.csv" --claims "${claims:-$fx/claims.csv}" \
		--rules "$src/rules/default.yaml" --out "$out" --quiet "$@"
}

# ---- 1. the planted fixture ------------------------------------------------
audit_fixture "$tmp/f" --threads 1
diff -u "$fx/expected-findings.csv" "$tmp/f/findings.csv" || fail "fixture findings differ"
audit_fixture "$tmp/f2" --threads 2
cmp "$tmp/f/findings.csv" "$tmp/f2/findings.csv" || fail "findings depend on the thread count"
python3 - "$tmp/f" <<'PY' || fail "fixture audit.json or traces.json"
import json, sys
d = sys.argv[1]
a = json.load(open(d + "/audit.json"))
want = {"overpaid": (2, "600.00"), "underpaid": (1, "100.00"), "duplicate": (3, "1200.00"),
        "split_stay": (1, "0.00"), "overlap": (2, "1300.00"),
        "assistance_ineligible": (1, "900.00"), "cost_outlier": (0, "0.00")}
got = {r["rule"]: (r["findings"], r["at_risk"]) for r in a["by_rule"]}
assert got == want, got
assert a["findings"] == 10 and a["at_risk"] == "4000.00" and a["underpaid"] == "100.00", a
fac = {(r["facility"], r["rule"]): r["at_risk"] for r in a["by_facility"]}
assert fac[("H4", "overlap")] == "1200.00" and fac[("H3", "duplicate")] == "300.00", fac
t = json.load(open(d + "/traces.json"))
assert [x["finding"] for x in t] == [2, 8, 9], t
# the recomputation of C201: basic pays (6000 - 1000) x 60% = 3000.00
c201 = t[0]["trace"]
assert t[0]["claim"] == "C201" and c201["claim"] == "C201", c201
assert "990900********002X" == c201["person"], c201["person"]
s = json.dumps(c201)
assert '"3000.00"' in s, s
PY
grep -q '19800101' "$tmp/f/findings.csv" "$tmp/f/traces.json" && fail "an unmasked ID in the findings"

# split_stay with the same diagnosis group: K35.8 and K35.9 share 3 characters, not 5.
for n in 3 5; do
	sed "s/diagnosis_chars: 0 /diagnosis_chars: $n /" "$src/rules/default.yaml" >"$tmp/rules-$n.yaml"
	"$sanbao" audit --policies "$fx/policies" --persons "$fx/persons.csv" \
		--identities "$fx/identities.csv" --claims "$fx/claims.csv" \
		--rules "$tmp/rules-$n.yaml" --out "$tmp/d$n" --quiet
done
[ "$(grep -c ',split_stay,' "$tmp/d3/findings.csv")" -eq 1 ] || fail "diagnosis_chars 3"
[ "$(grep -c ',split_stay,' "$tmp/d5/findings.csv" || true)" -eq 0 ] || fail "diagnosis_chars 5"

# cost_outlier by hand (tests/fixtures/audit/README.md): F6 flagged, F5, F7
# and the primary facilities not; with threshold 10 nothing.
out_fx() { # RULES OUT
	"$sanbao" audit --policies "$fx/policies" --persons "$fx/persons.csv" \
		--identities "$fx/identities.csv" --claims "$fx/outlier/claims.csv" --rules "$1" \
		--out "$2" --quiet
}
out_fx "$fx/outlier/rules.yaml" "$tmp/o"
diff -u "$fx/outlier/expected-findings.csv" "$tmp/o/findings.csv" || fail "cost_outlier fixture"
sed 's/^    threshold: 3.5 .*/    threshold: 10/' "$fx/outlier/rules.yaml" >"$tmp/o10.yaml"
grep -q "threshold: 10" "$tmp/o10.yaml" || fail "the test did not raise the threshold"
out_fx "$tmp/o10.yaml" "$tmp/o10"
[ "$(wc -l <"$tmp/o10/findings.csv")" -eq 1 ] || fail "threshold 10: $(cat "$tmp/o10/findings.csv")"

# ---- 2. a generated province: clean, then one fen ---------------------------
"$sanbao" gen --persons 5000 --seed 5 --out "$tmp/g" >/dev/null
g=$tmp/g
"$sanbao" settle --policies "$g/policies" --persons "$g/persons.csv" \
	--identities "$g/identities.csv" --claims "$g/claims.csv" --out "$tmp/s" --quiet
python3 "$src/tests/e2e/audit/extract.py" "$g/claims.csv" "$tmp/s/settlements.csv" "$tmp/x.csv"
python3 "$src/tests/e2e/audit/extract.py" "$g/claims.csv" "$tmp/s/settlements.csv" \
	"$tmp/xf.csv" --funds
audit_gen() { # CLAIMS OUT [more]
	local c=$1 out=$2
	shift 2
	"$sanbao" audit --policies "$g/policies" --persons "$g/persons.csv" \
		--identities "$g/identities.csv" --claims "$c" --rules "$src/rules/default.yaml" \
		--out "$out" --quiet "$@"
}
count() { # FILE RULE
	grep -c ",$2," "$1" || true
}
audit_gen "$tmp/x.csv" "$tmp/a0"
audit_gen "$tmp/xf.csv" "$tmp/af0"
for r in overpaid underpaid assistance_ineligible; do
	[ "$(count "$tmp/a0/findings.csv" $r)" -eq 0 ] || fail "clean province: $r findings"
	[ "$(count "$tmp/af0/findings.csv" $r)" -eq 0 ] || fail "clean province (funds): $r findings"
done
# The clean province's findings of the cross-claim rules (false positives), for the README.
for r in duplicate split_stay overlap cost_outlier; do
	echo "audit.sh: clean province (5000 persons, seed 5): $r $(count "$tmp/a0/findings.csv" $r)"
done
# Planted anomalies: tests/e2e/audit_planted.sh (sanbao gen --anomalies).

# settle ignores the audit columns: the same settlements from the extract.
"$sanbao" settle --policies "$g/policies" --persons "$g/persons.csv" \
	--identities "$g/identities.csv" --claims "$tmp/x.csv" --out "$tmp/s2" --quiet
cmp "$tmp/s/settlements.csv" "$tmp/s2/settlements.csv" || fail "settle reads the audit columns"

# One fen more on the first claim that the resident outpatient layer paid.
fen() { # IN OUT COLUMN
	python3 - "$@" <<'PY'
import csv, sys
src, dst, col = sys.argv[1:4]
rows = list(csv.reader(open(src, newline="")))
i = rows[0].index(col)
for r in rows[1:]:
    if r[i] not in ("", "0.00"):
        a, b = r[i].split(".")
        f = int(a) * 100 + int(b) + 1
        r[i] = "%d.%02d" % (f // 100, f % 100)
        print(r[0])
        break
csv.writer(open(dst, "w", newline=""), lineterminator="\n").writerows(rows)
PY
}
id=$(fen "$tmp/x.csv" "$tmp/x1.csv" actual_basic_res_opd)
audit_gen "$tmp/x1.csv" "$tmp/a1" --threads 1
[ "$(($(wc -l <"$tmp/a1/findings.csv") - 1))" -eq 1 ] || fail "one fen: not exactly one finding"
grep -q "^1,overpaid,high,$id,,.*,basic_res_opd,[0-9.]*,[0-9.]*,0.01," "$tmp/a1/findings.csv" ||
	fail "one fen: $(cat "$tmp/a1/findings.csv")"
audit_gen "$tmp/x1.csv" "$tmp/a2" --threads 2
cmp "$tmp/a1/findings.csv" "$tmp/a2/findings.csv" || fail "one fen: threads"
cmp "$tmp/a1/traces.json" "$tmp/a2/traces.json" || fail "one fen: traces differ by threads"
id=$(fen "$tmp/xf.csv" "$tmp/xf1.csv" maf_pay)
audit_gen "$tmp/xf1.csv" "$tmp/af1"
[ "$(($(wc -l <"$tmp/af1/findings.csv") - 1))" -eq 1 ] || fail "one fen (maf_pay): count"
grep -q "^1,overpaid,high,$id,,.*,maf_pay,[0-9.]*,[0-9.]*,0.01," "$tmp/af1/findings.csv" ||
	fail "one fen (maf_pay): $(cat "$tmp/af1/findings.csv")"

# A province read in several chunks by several threads (the batch counts
# its lines per chunk): every claim still meets its own payments.
"$sanbao" gen --persons 20000 --seed 6 --out "$tmp/g6" >/dev/null
"$sanbao" settle --policies "$tmp/g6/policies" --persons "$tmp/g6/persons.csv" \
	--identities "$tmp/g6/identities.csv" --claims "$tmp/g6/claims.csv" --out "$tmp/s6" --quiet
python3 "$src/tests/e2e/audit/extract.py" "$tmp/g6/claims.csv" "$tmp/s6/settlements.csv" "$tmp/x6.csv"
"$sanbao" audit --policies "$tmp/g6/policies" --persons "$tmp/g6/persons.csv" \
	--identities "$tmp/g6/identities.csv" --claims "$tmp/x6.csv" --rules "$src/rules/default.yaml" \
	--out "$tmp/a6" --quiet --threads 2 --partition-mb 1
for r in overpaid underpaid assistance_ineligible; do
	[ "$(count "$tmp/a6/findings.csv" $r)" -eq 0 ] || fail "chunked province: $r findings"
done

clean6=$(count "$tmp/a6/findings.csv" cost_outlier)
echo "audit.sh: clean province (20000 persons, seed 6): cost_outlier $clean6," \
	"split_stay $(count "$tmp/a6/findings.csv" split_stay)," \
	"duplicate $(count "$tmp/a6/findings.csv" duplicate), overlap $(count "$tmp/a6/findings.csv" overlap)"
# cost_outlier: one tertiary hospital's stays made three times as dear
# (settled so, so its payments are right): it alone is flagged.
python3 - "$tmp/g6/claims.csv" "$tmp/c6.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
h = rows[0]
for r in rows[1:]:
    if r[h.index("facility")] == "H99020000004" and r[h.index("visit")] == "inpatient":
        for col in ("total", "in_scope", "pre_selfpay", "over_limit", "out_of_scope"):
            a, b = r[h.index(col)].split(".")
            f = (int(a) * 100 + int(b)) * 3
            r[h.index(col)] = "%d.%02d" % (f // 100, f % 100)
csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n").writerows(rows)
PY
"$sanbao" settle --policies "$tmp/g6/policies" --persons "$tmp/g6/persons.csv" \
	--identities "$tmp/g6/identities.csv" --claims "$tmp/c6.csv" --out "$tmp/s7" --quiet
python3 "$src/tests/e2e/audit/extract.py" "$tmp/c6.csv" "$tmp/s7/settlements.csv" "$tmp/x7.csv"
"$sanbao" audit --policies "$tmp/g6/policies" --persons "$tmp/g6/persons.csv" \
	--identities "$tmp/g6/identities.csv" --claims "$tmp/x7.csv" --rules "$src/rules/default.yaml" \
	--out "$tmp/a7" --quiet
[ "$(count "$tmp/a7/findings.csv" cost_outlier)" -eq $((clean6 + 1)) ] ||
	fail "planted outlier: $(cat "$tmp/a7/findings.csv")"
grep -q ',cost_outlier,low,,,,H99020000004,,,,.*mean cost per inpatient claim at level tertiary' \
	"$tmp/a7/findings.csv" || fail "planted outlier: $(grep cost_outlier "$tmp/a7/findings.csv")"
for r in overpaid underpaid; do
	[ "$(count "$tmp/a7/findings.csv" $r)" -eq 0 ] || fail "planted outlier: $r"
done

# ---- 3. evidence ---------------------------------------------------------
"$sanbao" verify-evidence "$tmp/f" >/dev/null || fail "verify-evidence on an untouched run"
root=$(sed -n 's/^root //p' "$tmp/f/evidence.txt")
"$sanbao" verify-evidence "$tmp/f" --root "$root" >/dev/null || fail "the published root"
zeros=0000000000000000000000000000000000000000000000000000000000000000
msg=$("$sanbao" verify-evidence "$tmp/f" --root $zeros 2>&1 >/dev/null) && fail "another root passed"
[[ $msg == *"is not the published root $zeros"* ]] || fail "published root: $msg"
cp -r "$tmp/f" "$tmp/e"
sed -i '4s/,100.00,100.00,100.00,/,100.00,100.00,10.00,/' "$tmp/e/findings.csv"
cmp -s "$tmp/f/findings.csv" "$tmp/e/findings.csv" && fail "the test did not change row 4"
msg=$("$sanbao" verify-evidence "$tmp/e" 2>&1 >/dev/null) && fail "a changed row passed"
[[ $msg == *"findings.csv row 4 was changed"* ]] || fail "changed: $msg"
cp "$tmp/f/findings.csv" "$tmp/e/findings.csv"
sed -i '6d' "$tmp/e/findings.csv"
msg=$("$sanbao" verify-evidence "$tmp/e" 2>&1 >/dev/null) && fail "a removed row passed"
[[ $msg == *"findings.csv row 6 was removed"* ]] || fail "removed: $msg"
cp "$tmp/f/findings.csv" "$tmp/e/findings.csv"
sed -i '3p' "$tmp/e/findings.csv"
msg=$("$sanbao" verify-evidence "$tmp/e" 2>&1 >/dev/null) && fail "an added row passed"
[[ $msg == *"findings.csv row 4 was added"* ]] || fail "added: $msg"
cp "$tmp/f/findings.csv" "$tmp/e/findings.csv"
echo "x" >>"$tmp/e/findings.csv"
msg=$("$sanbao" verify-evidence "$tmp/e" 2>&1 >/dev/null) && fail "an appended row passed"
[[ $msg == *"findings.csv row 12 was added"* ]] || fail "appended: $msg"
cp "$tmp/f/findings.csv" "$tmp/e/findings.csv"
# Rewriting a stored leaf breaks the evidence file itself.
python3 - "$tmp/e/evidence.txt" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
i = next(k for k, l in enumerate(lines) if l.startswith("row "))
c = lines[i][4]
lines[i] = "row " + ("1" if c == "0" else "0") + lines[i][5:]
open(p, "w").write("\n".join(lines))
PY
msg=$("$sanbao" verify-evidence "$tmp/e" 2>&1 >/dev/null) && fail "a changed evidence passed"
[[ $msg == *"the rows stored for findings.csv do not give its file-root"* ]] || fail "evidence: $msg"
# A changed input is named too.
cp "$fx/claims.csv" "$tmp/c0.csv"
claims=$tmp/c0.csv audit_fixture "$tmp/i"
echo >>"$tmp/c0.csv"
out=$("$sanbao" verify-evidence "$tmp/i" 2>&1) && fail "a changed input passed"
[[ $out == *"input $tmp/c0.csv: CHANGED since the run"*"1 input changed since the run"* ]] ||
	fail "input: $out"

# settle --evidence: the same evidence over settle's outputs.
"$sanbao" settle --policies "$fx/policies" --persons "$fx/persons.csv" \
	--identities "$fx/identities.csv" --claims "$fx/claims.csv" --out "$tmp/se" --evidence \
	--monitor --quiet
"$sanbao" verify-evidence "$tmp/se" | grep -q "warnings.csv: 1 rows unchanged" ||
	fail "settle --evidence: $("$sanbao" verify-evidence "$tmp/se" 2>&1)"
sed -i '2s/^/x/' "$tmp/se/settlements.csv"
msg=$("$sanbao" verify-evidence "$tmp/se" 2>&1 >/dev/null) && fail "settle --evidence: a change passed"
[[ $msg == *"settlements.csv row 2 was changed"* ]] || fail "settle --evidence: $msg"

# ---- 4. errors, each at its place ------------------------------------------
expect_error() { # RULES EXPECTED
	local msg
	msg=$(audit_fixture "$tmp/bad" --rules "$1" 2>&1) && fail "$1 was accepted"
	[[ $msg == *"$2"* ]] || fail "$1: got: $msg; expected: $2"
}
b=$fx/bad-rules
expect_error "$b/version.yaml" "version.yaml:1:21: sanbao_audit_rules must be 1"
expect_error "$b/unknown-key.yaml" "unknown-key.yaml:5:1: unknown key \"colour\" in a rule file"
expect_error "$b/no-source.yaml" "no-source.yaml:1:1: a rule file needs a source"
expect_error "$b/no-from.yaml" "no-from.yaml:1:1: a rule file needs from"
expect_error "$b/bad-date.yaml" "bad-date.yaml:4:7: from \"2024-02-30\" is not a date"
expect_error "$b/unknown-rule.yaml" "unknown-rule.yaml:7:10: unknown rule id \"upcoding\""
expect_error "$b/twice.yaml" "twice.yaml:7:10: rule overpaid is given twice"
expect_error "$b/no-severity.yaml" "no-severity.yaml:6:5: rule duplicate needs a severity"
expect_error "$b/bad-severity.yaml" "bad-severity.yaml:6:31: severity must be low, medium or high"
expect_error "$b/unknown-param.yaml" "unknown-param.yaml:6:37: unknown key \"days\" in rule duplicate"
expect_error "$b/days-range.yaml" "days-range.yaml:6:44: days \"400\" is not allowed"
expect_error "$b/days-text.yaml" "days-text.yaml:6:44: days \"1.5\" is not allowed"
expect_error "$b/tolerance.yaml" "tolerance.yaml:6:47: tolerance \"0.001\" has more than 2 decimals"
expect_error "$b/fund-code.yaml" "fund-code.yaml:6:14: a fund code is 6 digits"
expect_error "$b/fund-twice.yaml" "fund-twice.yaml:7:13: fund code 390100 is mapped twice"
expect_error "$b/fund-column.yaml" "fund-column.yaml:6:3: unknown key \"fund_pay\" in funds"
expect_error "$b/no-rules.yaml" "no-rules.yaml:1:1: a rule file needs rules"
expect_error "$b/not-a-map.yaml" "not-a-map.yaml:1:1: a rule file is a mapping"
expect_error "$b/syntax.yaml" "syntax.yaml:7:1: not valid YAML"
expect_error "$b/enabled.yaml" "enabled.yaml:6:45: enabled \"maybe\" is not true or false"
expect_error "$b/threshold.yaml" "threshold.yaml:6:50: threshold \"0.5\" is outside [1, 100]"
expect_error "$b/min-peers.yaml" "min-peers.yaml:6:66: min_peers \"2\" is not allowed"
[ "$(ls "$b" | wc -l)" -eq 22 ] || fail "a rule-file case without a check"
[ ! -e "$tmp/bad/findings.csv" ] || fail "a refused run wrote findings"

# The extract's own columns.
bad_claims() { # SED EXPECTED
	sed "$1" "$fx/claims.csv" >"$tmp/c.csv"
	local msg
	msg=$(claims=$tmp/c.csv audit_fixture "$tmp/bad" 2>&1) && fail "claims ($1) accepted"
	[[ $msg == *"$2"* ]] || fail "claims ($1): got: $msg; expected: $2"
}
bad_claims '5s/,3100.00,/,31.005,/' "c.csv:5: hifp_pay \"31.005\" has more than 2 decimals"
bad_claims '5s/,3100.00,/,-1.00,/' "c.csv:5: hifp_pay \"-1.00\" is negative"
bad_claims '2s/,2024-03-01,/,2024-03-11,/' "c.csv:2: begin \"2024-03-11\" is after the settlement date"
bad_claims '2s/,2024-03-01,/,2024-13-01,/' "c.csv:2: begin \"2024-13-01\" is not a date"
bad_claims '1s/oth_pay/actual_nosuch/' "column actual_nosuch names no layer of the policies"
bad_claims '1s/oth_pay/actual_basic,actual_basic/;s/$/,/' "names the column actual_basic twice"
bad_claims '1s/oth_pay/hifp_pay/' "names the column hifp_pay twice"
echo "audit.sh: ok"
