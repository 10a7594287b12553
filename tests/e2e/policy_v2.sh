#!/usr/bin/env bash
# policy_v2.sh: a format-2 region (tests/golden/v2/policies) through
# `sanbao settle`: claims.csv's diagnosis column reaches the disease lists,
# every format-2 construct settles as the committed settlements.csv says
# (arithmetic in tests/golden/v2/README.md), and `--explain` prints the
# committed explanations; check-policy describes the policy.
# Usage: policy_v2.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
g=tests/golden/v2
run() {
	"$bin" settle --policies "$g/policies" --persons "$g/persons.csv" --claims "$g/claims.csv" \
		--out "$tmp/out" --quiet "$@"
}
run
if ! cmp -s "$g/settlements.csv" "$tmp/out/settlements.csv"; then
	echo "FAIL: settlements.csv differs from $g/settlements.csv:" >&2
	diff "$g/settlements.csv" "$tmp/out/settlements.csv" >&2 || true
	exit 1
fi
for want in "$g"/V*.txt; do
	id=$(basename "$want" .txt)
	run --explain "$id" > "$tmp/$id.txt"
	if ! cmp -s "$want" "$tmp/$id.txt"; then
		echo "FAIL: --explain $id differs from $want:" >&2
		diff "$want" "$tmp/$id.txt" >&2 || true
		exit 1
	fi
done
# Without the diagnosis column V01 is no 重特大疾病: basic pays 80%, not 90%
# (both above the cap here, so the cap point moves: large pays more).
cut -d, -f1-7,9- "$g/claims.csv" > "$tmp/nodx.csv"
"$bin" settle --policies "$g/policies" --persons "$g/persons.csv" --claims "$tmp/nodx.csv" \
	--out "$tmp/nodx" --quiet
v01=$(grep '^V01,' "$tmp/nodx/settlements.csv" | cut -d, -f13)
want=$(grep '^V01,' "$g/settlements.csv" | cut -d, -f13)
[ "$v01" != "$want" ] || { echo "FAIL: the diagnosis column changes nothing" >&2; exit 1; }
"$bin" check-policy "$g/policies/991021.yaml" > "$tmp/describe.txt"
for words in "the part of layer basic's base above its cap point" "pay first 10%" \
	"opens only once the annual cap of assistance is used up" "lump 2000.00 once a policy year" \
	"disease major" "50% of statistic avg_wage" "claim cap 100000.00" "month cap 4000.00" \
	"waiting period after a late enrolment: 3 months + 1 per year without cover" \
	"rates rise by 1% per further year, at most 5%" \
	"item class implant: paid at a flat 50%"; do
	grep -qF "$words" "$tmp/describe.txt" || {
		echo "FAIL: check-policy does not say \"$words\":" >&2
		cat "$tmp/describe.txt" >&2
		exit 1
	}
done
echo "policy_v2: settlements, explanations and description as committed"
