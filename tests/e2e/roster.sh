#!/usr/bin/env bash
# roster.sh: `sanbao pseudonymize` and `sanbao roster` end to end on the
# planted fixture (tests/fixtures/roster/README.md): every finding on the
# raw files, the same findings on copies pseudonymised with a shared key,
# masked IDs by default. Usage: roster.sh SANBAO SOURCE_DIR
set -euo pipefail

sanbao=$1
src=$2
fx=$src/tests/fixtures/roster
policies=$src/policies/demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "roster.sh: FAIL: $*" >&2
	exit 1
}

# rows FILE: data rows (the header not counted).
rows() {
	echo $(($(wc -l <"$1") - 1))
}

expect_rows() {
	local got
	got=$(rows "$1")
	[ "$got" -eq "$2" ] || fail "$1 has $got rows, expected $2"
}

expect_grep() {
	grep -q -- "$2" "$1" || fail "$1 lacks: $2"
}

# check OUT: the planted anomalies, all of them and nothing else.
check() {
	local out=$1
	expect_rows "$out/not_enrolled.csv" 2
	expect_rows "$out/stale_assistance.csv" 2
	expect_rows "$out/duplicates.csv" 2
	expect_rows "$out/roster_errors.csv" 3
	expect_grep "$out/not_enrolled.csv" '^4,.*,dibao,2023-03-01,,,低保对象 (dibao) from 2023-03-01 is not enrolled'
	expect_grep "$out/not_enrolled.csv" '^9,.*,tekun,2022-01-01,2023-12-31,'
	expect_grep "$out/stale_assistance.csv" '^R2024003,.*,990100,2024-05-02,assistance,1234.00,.*(dibao ended 2024-03-31)'
	expect_grep "$out/stale_assistance.csv" '^R2024005,.*,990200,2024-06-10,assistance,567.89,.*(tekun starts 2024-07-01)'
	expect_grep "$out/duplicates.csv" ',regions,2,3;9,990100;990200,resident;resident,"enrolled twice: in 990100 (resident, line 3) and 990200 (resident, line 9)'
	expect_grep "$out/duplicates.csv" ',schemes,2,6;11,990300;990300,resident;employee,'
	# (pseudonymised, the bad ID is a PSX marker, rejected as such)
	expect_grep "$out/roster_errors.csv" '^5,.*,id,.*\(wrong check digit\|PSX marker\)'
	expect_grep "$out/roster_errors.csv" '^8,.*,date,.*ends (to 2024-01-31) before it starts'
	expect_grep "$out/roster_errors.csv" '^10,.*,identity,.*"veteran"'
	expect_grep "$out/roster_summary.json" '"amount": 1801.89'
	expect_grep "$out/roster_summary.json" '"across_regions": 1, "across_schemes": 1, "repeated": 0'
}

# --- the raw files -------------------------------------------------------------
"$sanbao" roster --policies "$policies" --persons "$fx/persons.csv" \
	--identities "$fx/identities.csv" --settlements "$fx/settlements.csv" \
	--out "$tmp/raw" >"$tmp/raw.txt" || fail "roster on the raw files"
check "$tmp/raw"
expect_grep "$tmp/raw.txt" '2 payments, 1801.89 yuan'
# IDs masked everywhere by default: no whole resident ID in any output.
if grep -qE '(^|[^0-9])[0-9]{17}[0-9X]([^0-9]|$)' "$tmp"/raw/*.csv; then
	fail "a whole resident ID in the masked outputs"
fi
expect_grep "$tmp/raw/stale_assistance.csv" '990100\*\*\*\*\*\*\*\*0126'

"$sanbao" roster --policies "$policies" --persons "$fx/persons.csv" \
	--identities "$fx/identities.csv" --settlements "$fx/settlements.csv" \
	--out "$tmp/shown" --show-ids >/dev/null || fail "roster --show-ids"
check "$tmp/shown"
expect_grep "$tmp/shown/stale_assistance.csv" '^R2024003,990100197506150126,'

# --- pseudonymised copies --------------------------------------------------------
head -c 15 /dev/urandom >"$tmp/short.key"
if "$sanbao" pseudonymize --key "$tmp/short.key" "$fx/persons.csv" "$tmp/x.csv" 2>"$tmp/err.txt"; then
	fail "a 15-byte key was accepted"
fi
expect_grep "$tmp/err.txt" 'key file must hold at least 16 bytes'

head -c 32 /dev/urandom >"$tmp/shared.key"
mkdir "$tmp/ps"
for f in persons identities settlements; do
	"$sanbao" pseudonymize --key "$tmp/shared.key" "$fx/$f.csv" "$tmp/ps/$f.csv" \
		>"$tmp/ps_$f.txt" 2>"$tmp/ps_$f.err" || fail "pseudonymize $f.csv"
	[ "$(wc -l <"$tmp/ps/$f.csv")" -eq "$(wc -l <"$fx/$f.csv")" ] || fail "$f.csv lost rows"
done
expect_grep "$tmp/ps_persons.txt" '10 IDs replaced in \[id\]'
expect_grep "$tmp/ps_identities.txt" '8 IDs replaced in \[person\]'
expect_grep "$tmp/ps_identities.txt" '1 invalid IDs replaced by PSX markers'
expect_grep "$tmp/ps_identities.err" 'identities.csv:5: person "990100\*\*\*\*\*\*\*\*0014" has a wrong check digit'
expect_grep "$tmp/ps_settlements.txt" '7 IDs replaced in \[person\]'
# The claim ids stay; no valid resident ID is left in the copies.
expect_grep "$tmp/ps/settlements.csv" '^R2024003,PS[0-9a-f]\{16\},990100,'
if grep -E '(^|,)[0-9]{17}[0-9X](,|$)' "$tmp"/ps/*.csv | grep -v '990100197001010014'; then
	fail "a resident ID left in the pseudonymised files"
fi

"$sanbao" roster --policies "$policies" --persons "$tmp/ps/persons.csv" \
	--identities "$tmp/ps/identities.csv" --settlements "$tmp/ps/settlements.csv" \
	--out "$tmp/pseudo" >"$tmp/pseudo.txt" || fail "roster on the pseudonymised files"
check "$tmp/pseudo"
expect_grep "$tmp/pseudo/stale_assistance.csv" '^R2024003,PS[0-9a-f]\{4\}\*\{8\}[0-9a-f]\{4\},'
# Same findings: the outputs differ only in the person column.
# (The person is the 2nd column, after line or claim, and the 1st of
# duplicates.csv; none of the other fields before it holds a comma.)
for f in not_enrolled roster_errors stale_assistance; do
	unmark() { sed 's/has a wrong check digit (18th character)/BAD/; s/is an invalid ID masked by sanbao pseudonymize (PSX marker); its report names the original.s fault/BAD/' "$1"; }
	diff <(unmark "$tmp/raw/$f.csv" | cut -d, -f1,3-) \
	     <(unmark "$tmp/pseudo/$f.csv" | cut -d, -f1,3-) >/dev/null ||
		fail "$f.csv differs beyond the person column"
done
diff <(cut -d, -f2- "$tmp/raw/duplicates.csv") <(cut -d, -f2- "$tmp/pseudo/duplicates.csv") \
	>/dev/null || fail "duplicates.csv differs beyond the person column"
diff <(grep -v '"inputs"' "$tmp/raw/roster_summary.json") \
	<(grep -v '"inputs"' "$tmp/pseudo/roster_summary.json") >/dev/null ||
	fail "the summaries differ"

# --- SHA-256 and usage errors --------------------------------------------------
"$sanbao" pseudonymize --key "$tmp/shared.key" --hash sha256 "$fx/persons.csv" \
	"$tmp/p256.csv" >/dev/null || fail "pseudonymize --hash sha256"
cmp -s "$tmp/p256.csv" "$tmp/ps/persons.csv" && fail "sha256 and sm3 gave the same pseudonyms"
if "$sanbao" pseudonymize --key "$tmp/shared.key" --hash md5 "$fx/persons.csv" "$tmp/x.csv" 2>/dev/null; then
	fail "--hash md5 was accepted"
fi
if "$sanbao" roster --persons "$fx/persons.csv" --out "$tmp/x" 2>/dev/null; then
	fail "roster without --policies was accepted"
fi
"$sanbao" roster --help | grep -q 'enrolled' || fail "roster --help"

echo "roster.sh: ok"
