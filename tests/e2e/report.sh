#!/usr/bin/env bash
# report.sh: `sanbao report` in a real browser. The demo is settled with
# --monitor and compared with a reform (990100's resident primary rate 85% ->
# 90%); the report of both folders is opened in Debian's headless Chromium
# through puppeteer-core (tests/e2e/report/check.cjs): no console error, no
# network request, every number cell (the explained claim's too) equals its JSON, every chart drew a
# non-blank canvas with the JSON's data, no unmasked ID, rendered in < 2 s;
# the screenshot is kept in the build folder (report-test/report.png).
# A second report from the demo's settle output, a roster run on
# tests/fixtures/roster and a code-texts run on tests/fixtures/texts (each
# folder's kind told by its files) is checked the same way: every roster and
# policy-texts number cell against roster_summary.json, tables.json and the
# table5/table6 CSVs (read by check.cjs itself), the roster-by-region and
# tool-share charts against their JSON, every new table and chart present
# (report-test/report-texts.png).
# A third report of two audit folders (the planted fixture and gen
# --anomalies) checks every number of audit.json and findings.csv.
# Then the check is shown to fail on a page whose embedded data was
# altered (compare.json, tables.json, findings.csv), and bad inputs are refused with
# their place.
# Usage: report.sh SANBAO SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "report.sh: FAIL: $*" >&2; exit 1; }
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium: make test installs Debian's chromium"
[ -d "$src/report/node_modules/puppeteer-core" ] && [ -f "$src/report/node_modules/echarts/dist/echarts.min.js" ] \
	|| fail "no report/node_modules: run \`make report-deps\` (npm ci in report/)"

demo=(--persons "$src/data/demo/persons.csv" --identities "$src/data/demo/identities.csv"
      --claims "$src/data/demo/claims.csv")
cp -r "$src/policies/demo" "$tmp/reform"
sed -i 's/rate: {primary: 0.85, secondary: 0.80, tertiary: 0.65}/rate: {primary: 0.90, secondary: 0.80, tertiary: 0.65}/' \
	"$tmp/reform/990100.yaml"
"$bin" compare --baseline "$src/policies/demo" --reform "$tmp/reform" "${demo[@]}" \
	--out "$tmp/c" --poverty-line 2300 --quiet --explain S20230013 > /dev/null
python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["explained"]; assert e["claim"] == "S20230013", e' \
	"$tmp/c/compare.json" || fail "compare --explain put no explanation in compare.json"
"$bin" settle --policies "$src/policies/demo" "${demo[@]}" --out "$tmp/s" --monitor \
	--poverty-line 2300 --quiet
"$bin" report --in "$tmp/c" --in "$tmp/s" --out "$tmp/report.html" --assets "$src/report" > "$tmp/out.txt"
grep -q "report.html" "$tmp/out.txt" || fail "no confirmation printed"
ls -A "$tmp" | grep -q '^\.sanbao-tmp' && fail "a temporary file was left"

mkdir -p report-test
files=(compare0="$tmp/c/compare.json" summary0="$tmp/c/summary.json" monitor0="$tmp/c/monitor.json"
       summary1="$tmp/s/summary.json" monitor1="$tmp/s/monitor.json")
node "$src/tests/e2e/report/check.cjs" "$tmp/report.html" "$PWD/report-test/report.png" "$src" \
	"${files[@]}" || fail "the report did not pass in Chromium"

# Settle + roster + code-texts in one page.
"$bin" roster --policies "$src/policies/demo" --persons "$src/tests/fixtures/roster/persons.csv" \
	--identities "$src/tests/fixtures/roster/identities.csv" \
	--settlements "$src/tests/fixtures/roster/settlements.csv" --out "$tmp/r" > /dev/null
"$bin" code-texts --frame "$src/frames/poverty-governance.yaml" --meta "$src/frames/texts-meta.csv" \
	--out "$tmp/t" "$src"/tests/fixtures/texts/*.txt > /dev/null
"$bin" report --in "$tmp/s" --in "$tmp/r" --in "$tmp/t" --out "$tmp/texts.html" --assets "$src/report" \
	> "$tmp/out.txt"
grep -q "(6 input files" "$tmp/out.txt" || fail "not 6 input files in the second report: $(cat "$tmp/out.txt")"
files2=(summary0="$tmp/s/summary.json" monitor0="$tmp/s/monitor.json" roster1="$tmp/r/roster_summary.json"
	texts2="$tmp/t/tables.json" tool_goal2="$tmp/t/table5_tool_goal.csv"
	coordination_goal2="$tmp/t/table6_coordination_goal.csv")
node "$src/tests/e2e/report/check.cjs" "$tmp/texts.html" "$PWD/report-test/report-texts.png" "$src" \
	"${files2[@]}" || fail "the roster and texts report did not pass in Chromium"
# Every new table and chart is on the page, with number cells from each new
# input (all of the tool x goal CSV's count and share fields).
node "$src/tests/e2e/report/inventory.cjs" "$tmp/texts.html" "$src" > "$tmp/inv.json" \
	|| fail "could not list the second report's tables"
python3 - "$tmp/inv.json" "$tmp/t/table5_tool_goal.csv" <<'PY' || fail "the roster or texts sections are incomplete"
import csv, json, sys
r = json.load(open(sys.argv[1]))
want = ["roster-findings", "roster-regions", "texts-goal", "texts-tool", "texts-coordination",
        "texts-tool_goal", "texts-coordination_goal", "texts-departments"]
miss = [t for t in want if t not in r["tables"]]
assert not miss, "tables missing: %s" % miss
miss = [c for c in ["roster-regions", "texts-tool-types", "texts-tools-by-stage"] if c not in r["charts"]]
assert not miss, "charts missing: %s" % miss
rows = list(csv.reader(open(sys.argv[2], encoding="utf-8")))
nums = sum(1 for h in rows[0] if h.endswith(" count") or h.endswith(" share%")) * (len(rows) - 1)
got = r["cells"].get("tool_goal:2", 0)
assert got == nums, "tool x goal: %d number cells, the CSV has %d" % (got, nums)
for k in ["roster:1", "texts:2", "coordination_goal:2"]:
    assert r["cells"].get(k, 0) > 0, "no number cells from %s: %s" % (k, r["cells"])
print("report.sh: roster and texts sections: %d tables, %d charts, number cells %s"
      % (len(r["tables"]), len(r["charts"]), r["cells"]))
PY

# Audit outputs: the planted fixture (tests/fixtures/audit) and a generated
# province with planted anomalies (gen --anomalies) in one page: every number
# cell against audit.json and findings.csv (the top findings name their row
# of the file), the chart of amounts at risk by rule against by_rule.
fx=$src/tests/fixtures/audit
"$bin" audit --policies "$fx/policies" --persons "$fx/persons.csv" --identities "$fx/identities.csv" \
	--claims "$fx/claims.csv" --rules "$src/rules/default.yaml" --out "$tmp/au" --quiet
"$bin" gen --persons 3000 --seed 3 --out "$tmp/g" --anomalies 0.01 > /dev/null
"$bin" audit --policies "$tmp/g/policies" --persons "$tmp/g/persons.csv" --identities "$tmp/g/identities.csv" \
	--claims "$tmp/g/extract.csv" --rules "$src/rules/default.yaml" --out "$tmp/ag" --quiet
"$bin" report --in "$tmp/au" --in "$tmp/ag" --out "$tmp/audit.html" --assets "$src/report" > "$tmp/out.txt"
grep -q "(4 input files" "$tmp/out.txt" || fail "not 4 input files in the audit report: $(cat "$tmp/out.txt")"
grep -q 'data-kind="summary"' "$tmp/audit.html" && fail "an audit folder's recomputation was reported as a settlement"
files3=(audit0="$tmp/au/audit.json" findings0="$tmp/au/findings.csv" audit1="$tmp/ag/audit.json"
	findings1="$tmp/ag/findings.csv")
node "$src/tests/e2e/report/check.cjs" "$tmp/audit.html" "$PWD/report-test/report-audit.png" "$src" \
	"${files3[@]}" || fail "the audit report did not pass in Chromium"
node "$src/tests/e2e/report/inventory.cjs" "$tmp/audit.html" "$src" > "$tmp/inv3.json" \
	|| fail "could not list the audit report's tables"
python3 - "$tmp/inv3.json" "$tmp/au/findings.csv" <<'PY' || fail "the audit section is incomplete"
import csv, json, sys
r = json.load(open(sys.argv[1]))
miss = [t for t in ["audit-rules", "audit-facility", "audit-region", "audit-layer", "audit-top"]
        if t not in r["tables"]]
assert not miss, "tables missing: %s" % miss
assert "audit-rules-0" in r["charts"] and "audit-rules-1" in r["charts"], r["charts"]
rows = list(csv.DictReader(open(sys.argv[2], encoding="utf-8")))
# the fixture's 10 findings: paid, due (when recomputed) and at_risk of each
want = sum(1 for x in rows for c in ("paid", "due", "at_risk") if x[c] != "")
assert r["cells"].get("findings:0") == want, "top findings: %s cells, findings.csv has %d" % (r["cells"], want)
PY
# The check can fail on the findings: one amount of the page's copy changed.
python3 - "$tmp/audit.html" "$tmp/bad3.html" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index('data-kind="findings"')
j = s.index('"1200.00"', i)
s = s[:j] + '"1201.00"' + s[j + 9:]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
if node "$src/tests/e2e/report/check.cjs" "$tmp/bad3.html" "$tmp/bad3.png" "$src" "${files3[@]}" \
	2> "$tmp/bad3.err"; then
	fail "the check passed a page whose numbers differ from findings.csv"
fi
grep -q 'findings:0:rows\.[0-9]*\.[0-9]*: the page shows "1,201.00"' "$tmp/bad3.err" \
	|| fail "the altered findings page failed for another reason: $(head -3 "$tmp/bad3.err")"
# The projection (sanbao project, two scenarios with a Monte Carlo) beside
# the demo's settlement: its tables and fan charts against projection.json.
"$bin" project --policies "$src/policies/demo" --persons "$src/data/demo/persons.csv" \
	--settlements "$tmp/s/settlements.csv" --scenario "$src/scenarios/projection/baseline.yaml" \
	--scenario "$src/scenarios/projection/growth-gap.yaml" --runs 200 --seed 1 --out "$tmp/p" > /dev/null
"$bin" report --in "$tmp/s" --in "$tmp/p" --out "$tmp/project.html" --assets "$src/report" > "$tmp/out.txt"
grep -q "(3 input files" "$tmp/out.txt" || fail "not 3 input files in the projection report: $(cat "$tmp/out.txt")"
files4=(summary0="$tmp/s/summary.json" monitor0="$tmp/s/monitor.json" projection1="$tmp/p/projection.json")
node "$src/tests/e2e/report/check.cjs" "$tmp/project.html" "$PWD/report-test/report-project.png" "$src" \
	"${files4[@]}" || fail "the projection report did not pass in Chromium"
# ... and fails when a balance of the embedded projection.json is changed.
python3 - "$tmp/project.html" "$tmp/bad4.html" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index('data-kind="projection"')
j = s.index('"balance": "', s.index('"year": 2054', i)) + len('"balance": "')
k = s.index('"', j)
s = s[:j] + "777.77" + s[k:]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
if node "$src/tests/e2e/report/check.cjs" "$tmp/bad4.html" "$tmp/bad4.png" "$src" "${files4[@]}" \
	2> "$tmp/bad4.err"; then
	fail "the check passed a page whose projection differs from projection.json"
fi
grep -q 'projection:1:projection.scenarios.0.funds.0.years.30.balance.*the page shows' "$tmp/bad4.err" \
	|| fail "the altered projection failed for another reason: $(head -3 "$tmp/bad4.err")"
# Settle + fund (accounts, the adjustment fund, indicators) in one page: every
# fund number cell against fund.json, the months and flows charts against
# it, every fund table present; then the check fails on a page whose
# embedded fund.json was altered (report-test/report-fund.png).
"$bin" fund --policies "$src/policies/demo" --persons "$src/data/demo/persons.csv" \
	--identities "$src/data/demo/identities.csv" --settlements "$tmp/s/settlements.csv" \
	--balances "$src/data/demo/balances.csv" --warnings "$tmp/s/warnings.csv" --out "$tmp/f" > /dev/null \
	|| fail "sanbao fund on the demo"
"$bin" report --in "$tmp/s" --in "$tmp/f" --out "$tmp/fund.html" --assets "$src/report" > /dev/null
files5=(summary0="$tmp/s/summary.json" monitor0="$tmp/s/monitor.json" fund1="$tmp/f/fund.json")
node "$src/tests/e2e/report/check.cjs" "$tmp/fund.html" "$PWD/report-test/report-fund.png" "$src" \
	"${files5[@]}" || fail "the fund report did not pass in Chromium"
node "$src/tests/e2e/report/inventory.cjs" "$tmp/fund.html" "$src" > "$tmp/inv5.json" \
	|| fail "could not list the fund report's tables"
python3 - "$tmp/inv5.json" "$tmp/f/fund.json" <<'PY' || fail "the fund sections are incomplete"
import json, sys
r = json.load(open(sys.argv[1]))
f = json.load(open(sys.argv[2]))
want = ["fund-accounts", "fund-spending", "fund-premiums", "fund-coverage", "fund-ratios",
        "fund-adjustment-years", "fund-dispersion", "fund-indicators"]
want += ["fund-adjustment-%d" % a["year"] for a in f["adjustment"] if a["present"]]
miss = [t for t in want if t not in r["tables"]]
assert not miss, "tables missing: %s" % miss
charts = ["fund-months"] + ["fund-flows-%d" % a["year"] for a in f["adjustment"] if a["present"]]
miss = [c for c in charts if c not in r["charts"]]
assert not miss, "charts missing: %s" % miss
n = 2 * len(f["indicators"]["defs"]) * len(f["indicators"]["rows"])
assert r["cells"].get("fund:1", 0) >= n, "fund number cells %s, the indicators alone are %d" % (r["cells"], n)
PY
python3 - "$tmp/fund.html" "$tmp/badf.html" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index('data-kind="fund"')
j = s.index('"received": ', s.index('"adjustment": [', i)) + len('"received": ')
k = j
while s[k] in "-0123456789.":
    k += 1
s = s[:j] + "7654.32" + s[k:]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
if node "$src/tests/e2e/report/check.cjs" "$tmp/badf.html" "$tmp/badf.png" "$src" "${files5[@]}" \
	2> "$tmp/badf.err"; then
	fail "the check passed a page whose numbers differ from fund.json"
fi
grep -q 'chart fund-flows' "$tmp/badf.err" || fail "the altered fund page failed for another reason: $(head -3 "$tmp/badf.err")"

# The check can fail: one number of the embedded compare.json changed.
python3 - "$tmp/report.html" "$tmp/bad.html" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index('data-kind="compare"')
j = s.index('"fund": ', s.index('"differences"', i)) + len('"fund": ')
k = j
while s[k] in "-0123456789.":
    k += 1
s = s[:j] + "12345.67" + s[k:]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
if node "$src/tests/e2e/report/check.cjs" "$tmp/bad.html" "$tmp/bad.png" "$src" "${files[@]}" \
	2> "$tmp/bad.err"; then
	fail "the check passed a page whose numbers differ from compare.json"
fi
grep -q 'the page shows' "$tmp/bad.err" || fail "the altered page failed for another reason: $(head -3 "$tmp/bad.err")"

# The check can fail on the texts too: one share of the embedded tables.json
# changed (the check reads the file, not the page's copy).
python3 - "$tmp/texts.html" "$tmp/bad2.html" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index('data-kind="texts"')
j = s.index('"share":', s.index('"tool"', i)) + len('"share":')
k = j
while s[k] in "-0123456789.":
    k += 1
s = s[:j] + "99.99" + s[k:]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
if node "$src/tests/e2e/report/check.cjs" "$tmp/bad2.html" "$tmp/bad2.png" "$src" "${files2[@]}" \
	2> "$tmp/bad2.err"; then
	fail "the check passed a page whose numbers differ from tables.json"
fi
grep -q 'texts:2:dimensions.tool.groups.0.by_stage.*the page shows' "$tmp/bad2.err" \
	|| fail "the altered texts page failed for another reason: $(head -3 "$tmp/bad2.err")"
grep -q 'chart texts-tool-types' "$tmp/bad2.err" \
	|| fail "the altered share was not caught in the chart: $(head -3 "$tmp/bad2.err")"
# A malformed cross-table CSV is refused with its place.
cp -r "$tmp/t" "$tmp/tbad"
printf '脱贫攻坚,供给型,"unterminated\n' >> "$tmp/tbad/table5_tool_goal.csv"
if "$bin" report --in "$tmp/tbad" --out "$tmp/x.html" --assets "$src/report" 2> "$tmp/err"; then
	fail "a malformed table5_tool_goal.csv was accepted"
fi
grep -q "table5_tool_goal.csv:[0-9]*:[0-9]*:" "$tmp/err" || fail "no place for a bad CSV: $(cat "$tmp/err")"

# Bad inputs: not JSON (with its place), no outputs at all, missing assets.
mkdir -p "$tmp/broken"
printf '{"money": {"fund": 12,\n  "oop": }\n' > "$tmp/broken/summary.json"
if "$bin" report --in "$tmp/broken" --out "$tmp/x.html" --assets "$src/report" 2> "$tmp/err"; then
	fail "a broken summary.json was accepted"
fi
grep -q "summary.json:2:10: not JSON" "$tmp/err" || fail "no place for bad JSON: $(cat "$tmp/err")"
mkdir -p "$tmp/empty"
if "$bin" report --in "$tmp/empty" --out "$tmp/x.html" --assets "$src/report" 2> "$tmp/err"; then
	fail "a folder without outputs was accepted"
fi
grep -q "holds none of summary.json" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
if "$bin" report --in "$tmp/c" --out "$tmp/x.html" --assets "$tmp/none" 2> "$tmp/err"; then
	fail "missing assets were accepted"
fi
grep -q "make report-deps" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
[ -e "$tmp/x.html" ] && fail "a failed run left x.html"
echo "report.sh: ok (screenshots $PWD/report-test/report.png, report-texts.png)"
