#!/usr/bin/env bash
# explain.sh: `sanbao settle --explain` on the golden claims of
# tests/golden/explain/ prints exactly the committed <id>.txt (the text the
# engine printed before the explanation became a trace; the unit test
# test_explain renders the same traces to text and JSON).
# Usage: explain.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
g=tests/golden/explain
n=0
for want in "$g"/G*.txt; do
	id=$(basename "$want" .txt)
	"$bin" settle --policies "$g/policies" --persons "$g/persons.csv" \
		--identities "$g/identities.csv" --claims "$g/claims.csv" --out "$tmp/out" \
		--explain "$id" --quiet > "$tmp/$id.txt"
	if ! cmp -s "$want" "$tmp/$id.txt"; then
		echo "FAIL: --explain $id differs from $want:" >&2
		diff "$want" "$tmp/$id.txt" >&2 || true
		exit 1
	fi
	n=$((n + 1))
done
[ "$n" -ge 9 ] || { echo "FAIL: only $n golden explanations" >&2; exit 1; }
echo "explain: $n explanations as golden"
