#!/usr/bin/env bash
# policy_v2.sh: a format-2 region (tests/golden/v2/policies) through
# `sanbao settle`: claims.csv's diagnosis column reaches the disease lists,
# every format-2 construct settles as the committed settlements.csv says
# (arithmetic in tests/golden/v2/README.md), and `--explain` prints the
# committed explanations; check-policy describes the policy. Then a
# household layer (tests/golden/v2-household): the members' claims settled
# together in date order, whatever the order of claims.csv, the threads or
# the partitions, under compare's reform too; the service and the audit
# refuse it at load.
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

# ---- the household layer ----
h=tests/golden/v2-household
hrun() {
	"$bin" settle --policies "$h/policies" --persons "$h/persons.csv" --claims "$1" \
		--out "$2" --quiet "${@:3}"
}
same() { # committed, got, what
	if ! cmp -s "$1" "$2"; then
		echo "FAIL: $3 differs from $1:" >&2
		diff "$1" "$2" >&2 || true
		exit 1
	fi
}
hrun "$h/claims.csv" "$tmp/h1"
same "$h/settlements.csv" "$tmp/h1/settlements.csv" "household settlements.csv"
hrun "$h/claims.csv" "$tmp/h2" --explain b3 > "$tmp/b3.txt"
same "$h/b3.txt" "$tmp/b3.txt" "--explain b3"
# Claims in reverse order, one thread and two, many small partitions: the
# same settlements (the household's order is date, then claim id).
{ head -1 "$h/claims.csv"; tail -n +2 "$h/claims.csv" | tac; } > "$tmp/rev.csv"
hrun "$tmp/rev.csv" "$tmp/h3" --threads 1
same "$h/settlements.csv" "$tmp/h3/settlements.csv" "household settlements (reversed, 1 thread)"
hrun "$tmp/rev.csv" "$tmp/h4" --threads 2 --partition-mb 1
same "$h/settlements.csv" "$tmp/h4/settlements.csv" "household settlements (2 threads)"
# Without the household column every member is a household of one: a2 and
# b1 then pay as each person's first 3万 (not the household's).
cut -d, -f1-3 "$h/persons.csv" > "$tmp/nohh.csv"
"$bin" settle --policies "$h/policies" --persons "$tmp/nohh.csv" --claims "$h/claims.csv" \
	--out "$tmp/h5" --quiet
b1=$(grep '^b1,' "$tmp/h5/settlements.csv" | cut -d, -f13)
[ "$b1" = "4500.00" ] || { echo "FAIL: b1 alone pays $b1, want 15000 x 30% = 4500.00" >&2; exit 1; }
# compare: the baseline as settle has it; the reform's cap of 20万 pays b3's
# family 4500 more and closes second (-1950).
"$bin" compare --baseline "$h/policies" --reform "$h/reform" --persons "$h/persons.csv" \
	--claims "$h/claims.csv" --out "$tmp/cmp" --settlements --quiet
same "$h/settlements.csv" "$tmp/cmp/settlements.csv" "compare's baseline settlements"
python3 - "$tmp/cmp/compare.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["differences"][0]
layers = {x["layer"]: x["paid"] for x in d["by_layer"]}
want = {"basic": 0.0, "family": 4500.0, "second": -1950.0}
if layers != want or d["money"]["fund"] != 2550.0:
    sys.exit(f"FAIL: the reform's differences are {layers}, fund {d['money']['fund']}; want {want}, 2550")
PY
"$bin" check-policy "$h/policies/991031.yaml" > "$tmp/hdescribe.txt"
for words in "scope household" "accumulates over the household" \
	"household cap 150000.00 a policy year" "(its own or the household's)"; do
	grep -qF "$words" "$tmp/hdescribe.txt" || {
		echo "FAIL: check-policy does not say \"$words\":" >&2
		cat "$tmp/hdescribe.txt" >&2
		exit 1
	}
done
# The service keeps accumulators per person: it refuses the policy at load.
printf 'fixmedins_code,name,level,region\nH001,医院,tertiary,991031\n' > "$tmp/fac.csv"
printf 'sha256:%s  admin  admin\n' "$(printf x | sha256sum | cut -d' ' -f1)" > "$tmp/tokens"
if "$bin" serve --policies "$h/policies" --db "$tmp/s.db" --facilities "$tmp/fac.csv" \
	--tokens "$tmp/tokens" --listen 127.0.0.1:0 2> "$tmp/serve.err"; then
	echo "FAIL: the service started with a household layer" >&2
	exit 1
fi
grep -qF "991031.yaml:12:9: layer family of region 991031 accumulates over the household" \
	"$tmp/serve.err" || { echo "FAIL: the service's refusal:" >&2; cat "$tmp/serve.err" >&2; exit 1; }
# The audit replays a person's claims alone: it refuses the policy too.
if "$bin" audit --policies "$h/policies" --persons "$h/persons.csv" --claims "$h/claims.csv" \
	--out "$tmp/aud" --quiet 2> "$tmp/audit.err"; then
	echo "FAIL: the audit ran with a household layer" >&2
	exit 1
fi
grep -qF "which sanbao audit cannot settle" "$tmp/audit.err" ||
	{ echo "FAIL: the audit's refusal:" >&2; cat "$tmp/audit.err" >&2; exit 1; }
echo "policy_v2: settlements, explanations and description as committed; household layer"
