#!/usr/bin/env bash
# report.sh: `sanbao report` in a real browser. The demo is settled with
# --monitor and compared with a reform (990100's resident primary rate 85% ->
# 90%); the report of both folders is opened in Debian's headless Chromium
# through puppeteer-core (tests/e2e/report/check.cjs): no console error, no
# network request, every number cell (the explained claim's too) equals its JSON, every chart drew a
# non-blank canvas with the JSON's data, no unmasked ID, rendered in < 2 s;
# the screenshot is kept in the build folder (report-test/report.png).
# Then the check is shown to fail on a page whose embedded data was
# altered, and bad inputs are refused with their place.
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
files=(compare0="$tmp/c/compare.json" summary0="$tmp/c/summary.json"
       summary1="$tmp/s/summary.json" monitor1="$tmp/s/monitor.json")
node "$src/tests/e2e/report/check.cjs" "$tmp/report.html" "$PWD/report-test/report.png" "$src" \
	"${files[@]}" || fail "the report did not pass in Chromium"

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
echo "report.sh: ok (screenshot $PWD/report-test/report.png)"
