#!/usr/bin/env bash
# monitor_order.sh: `settle --monitor` runs each person's rules when the
# person's claims are in, a unit of one's household rules at once, and a
# larger household's when the partition ends, its members' claims merged
# into date order; its findings must not depend on the order persons.csv
# lists people in. A generated province (members listed together) and the
# same with persons.csv shuffled (members scattered, so a household's claims
# come in several runs, out of household order) must give the same
# monitor.json and the same warnings and approaching rows (sorted: the
# order of households follows persons.csv), for 1 and 3 threads and over
# several partitions; `sanbao monitor` over each settlements.csv the same.
# Usage: monitor_order.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap "rm -rf $tmp" EXIT
fail() { echo "monitor_order.sh: FAIL: $*" >&2; exit 1; }

"$bin" gen --persons 20000 --seed 5 --out "$tmp/g" --policies-src "$src/policies/demo" > /dev/null
# Household thresholds at a tenth of the income, so that many households
# cross (and come near), on claims that only their date order decides.
sed -i 's/threshold: {income_share: 1.0, kind: rural}/threshold: {income_share: 0.1, kind: rural}/' \
	"$tmp/g/policies/990000.yaml"
grep -q 'income_share: 0.1, kind' "$tmp/g/policies/990000.yaml" || fail "the household rule moved"
python3 - "$tmp/g/persons.csv" "$tmp/shuffled.csv" <<'PY'
import random, sys
rows = open(sys.argv[1], encoding="utf-8").read().splitlines(keepends=True)
body = rows[1:]
random.Random(7).shuffle(body)
open(sys.argv[2], "w", encoding="utf-8").write(rows[0] + "".join(body))
PY

run() { # NAME PERSONS THREADS
	"$bin" settle --policies "$tmp/g/policies" --persons "$2" \
		--identities "$tmp/g/identities.csv" --claims "$tmp/g/claims.csv" \
		--out "$tmp/$1" --threads "$3" --partition-mb 1 --monitor --show-ids \
		--poverty-line 2300 --quiet
	"$bin" monitor --policies "$tmp/g/policies" --persons "$2" \
		--identities "$tmp/g/identities.csv" --settlements "$tmp/$1/settlements.csv" \
		--out "$tmp/$1-m" --threads "$3" --show-ids --poverty-line 2300 > /dev/null
	for d in "$tmp/$1" "$tmp/$1-m"; do
		for f in warnings approaching; do
			sort "$d/$f.csv" > "$d/$f.sorted"
		done
	done
}
run plain1 "$tmp/g/persons.csv" 1
run plain3 "$tmp/g/persons.csv" 3
run mixed1 "$tmp/shuffled.csv" 1
run mixed3 "$tmp/shuffled.csv" 3

grep -Eq '"partitions": ([2-9]|[1-9][0-9]+)' "$tmp/plain3/summary.json" || fail "one partition only"
hh=$(grep -c ',household,' "$tmp/plain1/warnings.csv" || true)
pp=$(grep -c ',person,' "$tmp/plain1/warnings.csv" || true)
near=$(($(wc -l < "$tmp/plain1/approaching.csv") - 1))
[ "$hh" -gt 300 ] && [ "$pp" -gt 5 ] && [ "$near" -gt 15 ] ||
	fail "too few findings to tell ($hh household, $pp person warnings, $near approaching)"
for r in plain3 mixed1 mixed3; do
	for d in "" -m; do
		for f in warnings.sorted approaching.sorted monitor.json; do
			cmp -s "$tmp/plain1$d/$f" "$tmp/$r$d/$f" ||
				fail "$r$d/$f differs from plain1$d/$f"
		done
	done
done
# The monitor over settlements.csv finds what settle --monitor found (in
# partitions of its own: the rows sorted).
for f in warnings.sorted approaching.sorted monitor.json; do
	cmp -s "$tmp/plain1/$f" "$tmp/plain1-m/$f" || fail "sanbao monitor differs in $f"
done
echo "monitor_order.sh: ok ($hh household and $pp person warnings, $near approaching)"
