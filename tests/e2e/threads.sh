#!/usr/bin/env bash
# threads.sh: the threaded paths of the CLI end to end, small enough for the
# ThreadSanitizer build (make test runs it there too): a province generated
# with 3 threads equals one generated with 1; settling it with --monitor
# over several partitions gives the same files with 3 threads as with 1
# (summary.json but for its run section); `sanbao monitor --threads 3`
# equals --threads 1. Usage: threads.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "threads.sh: FAIL: $*" >&2; exit 1; }

persons=${SB_THREADS_PERSONS:-15000}
"$bin" gen --persons "$persons" --seed 11 --out "$tmp/g1" --threads 1 \
	--policies-src "$src/policies/demo" > /dev/null
"$bin" gen --persons "$persons" --seed 11 --out "$tmp/g" --threads 3 \
	--policies-src "$src/policies/demo" > /dev/null
for f in persons.csv identities.csv claims.csv; do
	cmp "$tmp/g1/$f" "$tmp/g/$f" || fail "gen --threads 3 differs in $f"
done

g=(--policies "$tmp/g/policies" --persons "$tmp/g/persons.csv"
   --identities "$tmp/g/identities.csv" --claims "$tmp/g/claims.csv")
for t in 1 3; do
	"$bin" settle "${g[@]}" --out "$tmp/s$t" --threads "$t" --partition-mb 1 --monitor \
		--poverty-line 2300 --quiet
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("run", None); print(json.dumps(d, sort_keys=True, indent=1))' \
		"$tmp/s$t/summary.json" > "$tmp/s$t/summary.norun.json"
	"$bin" monitor --policies "$tmp/g/policies" --persons "$tmp/g/persons.csv" \
		--identities "$tmp/g/identities.csv" --settlements "$tmp/s$t/settlements.csv" \
		--out "$tmp/m$t" --threads "$t" --poverty-line 2300 > /dev/null
done
grep -q '"partitions": [2-9]' "$tmp/s3/summary.json" || fail "one partition only: make the province larger"
for f in settlements.csv rejects.csv warnings.csv approaching.csv monitor.json summary.norun.json; do
	cmp "$tmp/s1/$f" "$tmp/s3/$f" || fail "settle --threads 3 differs in $f"
done
for f in warnings.csv approaching.csv monitor.json; do
	cmp "$tmp/m1/$f" "$tmp/m3/$f" || fail "monitor --threads 3 differs in $f"
done
[ "$(wc -l < "$tmp/s3/settlements.csv")" -gt 1000 ] || fail "too few settlements"
echo "threads.sh: ok ($(grep -o '"partitions": [0-9]*' "$tmp/s3/summary.json"))"
