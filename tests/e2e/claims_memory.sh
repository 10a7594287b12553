#!/usr/bin/env bash
# claims_memory.sh: where pass 1 leaves the claims for pass 2 and how
# settlements.csv is written make no difference to any output. A generated
# province, with duplicate claim ids appended (so the duplicate check reads
# the partitions back), is settled over several partitions with the claims
# all spilled (the default), all kept in memory (SANBAO_CLAIMS_MEMORY=ram/8
# and a budget in bytes), and partly each (a budget of a few blocks), each
# with --threads 1 and 3; then
# with settlements.csv written through the page cache (SANBAO_DIRECT_IO=0)
# and into a tmpfs folder (no O_DIRECT there) when /dev/shm is one. Every
# run's settlements.csv, rejects.csv and summary.json (but for its run
# section) equal the first's; summary.json's run section says where the
# claims were. Usage: claims_memory.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
shm=
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT
fail() { echo "claims_memory.sh: FAIL: $*" >&2; exit 1; }

"$bin" gen --persons 15000 --seed 5 --out "$tmp/g" --policies-src "$src/policies/demo" >/dev/null
# Rows of the first thousand again at the end: duplicates across ranges.
{ cat "$tmp/g/claims.csv"; sed -n '200,260p' "$tmp/g/claims.csv"; } >"$tmp/claims.csv"
g=(--policies "$tmp/g/policies" --persons "$tmp/g/persons.csv"
   --identities "$tmp/g/identities.csv" --claims "$tmp/claims.csv" --partition-mb 1 --quiet)

norun() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("run", None); print(json.dumps(d, sort_keys=True, indent=1))' "$1"
}
# where DIR: "IN_MEMORY_BYTES SPILLED_BYTES" of the run.
where() {
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["run"]; print(r["claims_in_memory_bytes"], r["claims_spilled_bytes"])' "$1/summary.json"
}
same() { # DIR: its outputs equal the first run's
	for f in settlements.csv rejects.csv; do
		cmp -s "$tmp/ref/$f" "$1/$f" || fail "$2: $f differs"
	done
	norun "$1/summary.json" | cmp -s "$tmp/ref.json" - || fail "$2: summary.json differs"
}

"$bin" settle "${g[@]}" --threads 1 --out "$tmp/ref"
norun "$tmp/ref/summary.json" >"$tmp/ref.json"
grep -q '"partitions": [2-9]' "$tmp/ref/summary.json" || fail "one partition only"
grep -q 'duplicate claim id' "$tmp/ref/rejects.csv" || fail "no duplicate was found"
read -r mem spilled <<<"$(where "$tmp/ref")"
[ "$mem" -eq 0 ] && [ "$spilled" -gt 0 ] || fail "default: $mem in memory, $spilled spilled"

for t in 1 3; do
	for budget in "" 0 ram/8 1000000000 300000; do
		out=$tmp/s$t-${budget//\//-}
		SANBAO_CLAIMS_MEMORY=$budget "$bin" settle "${g[@]}" --threads "$t" --out "$out"
		same "$out" "--threads $t, SANBAO_CLAIMS_MEMORY=${budget:-default}"
		read -r mem spilled <<<"$(where "$out")"
		case $budget in
		"" | 0) [ "$mem" -eq 0 ] && [ "$spilled" -gt 0 ] || fail "budget 0: $mem in memory" ;;
		ram/8 | 1000000000) [ "$mem" -gt 0 ] && [ "$spilled" -eq 0 ] ||
			fail "budget $budget: $mem in memory, $spilled spilled" ;;
		300000) [ "$mem" -gt 0 ] && [ "$mem" -le 300000 ] && [ "$spilled" -gt 0 ] ||
			fail "budget 300000: $mem in memory, $spilled spilled" ;;
		esac
	done
done

SANBAO_DIRECT_IO=0 "$bin" settle "${g[@]}" --threads 2 --out "$tmp/buffered"
same "$tmp/buffered" "SANBAO_DIRECT_IO=0"
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	shm=$(mktemp -d /dev/shm/sanbao-claims-memory.XXXXXX)
	"$bin" settle "${g[@]}" --threads 2 --out "$shm/o"
	same "$shm/o" "output on tmpfs"
fi
echo "claims_memory.sh: ok"
