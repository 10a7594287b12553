#!/usr/bin/env bash
# vocab.sh: the input vocabulary end to end (issue 14 items 7, 9 and 11 in
# part), on variants of the demo files made here: a header naming a column
# twice, claims that do not say where care happened, dates with a garbage
# time or outside the years, a shifted column carrying a resident ID, a
# malformed row's id, a claim id with blanks, and the one identities reader
# giving settle and roster the same reason.
# Usage: vocab.sh SANBAO SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "vocab.sh: FAIL: $*" >&2; exit 1; }

pol=$src/policies/demo
persons=$src/data/demo/persons.csv
idents=$src/data/demo/identities.csv
claims=$src/data/demo/claims.csv

# settle CLAIMS OUT [PERSONS [IDENTITIES]]: the demo batch on other files.
settle() {
	"$bin" settle --policies "$pol" --persons "${3:-$persons}" \
		--identities "${4:-$idents}" --claims "$1" --out "$2" --quiet
}

# refused NAME MESSAGE CLAIMS [PERSONS [IDENTITIES]]: the run fails, saying so.
refused() {
	local name=$1 msg=$2
	shift 2
	if settle "$1" "$tmp/$name" "${@:2}" 2>"$tmp/$name.err"; then
		fail "$name: settle succeeded"
	fi
	grep -qF -- "$msg" "$tmp/$name.err" || { cat "$tmp/$name.err" >&2; fail "$name: no '$msg'"; }
}

# rejected OUT LINE REASON: rejects.csv has the line with the reason.
# (The file column is the claims file's name: each variant is its own.)
rejected() {
	grep -qE -- "^[a-z]+\.csv,$2," "$1/rejects.csv" || fail "$1: line $2 not rejected"
	grep -E -- "^[a-z]+\.csv,$2," "$1/rejects.csv" | grep -qF -- "$3" ||
		{ grep -E -- "^[a-z]+\.csv,$2," "$1/rejects.csv" >&2; fail "$1: line $2 lacks '$3'"; }
}

# balanced OUT: every row is settled or rejected.
balanced() {
	grep -q '"balanced": true' "$1/summary.json" || fail "$1: rows not balanced"
	local rows=$(($(wc -l <"$claims") - 1))
	local got=$(($(wc -l <"$1/settlements.csv") - 1 + $(grep -cE '^[a-z]+\.csv,' "$1/rejects.csv")))
	[ "$got" -eq "$rows" ] || fail "$1: $got rows out, $rows in"
}

# --- item 9: a header naming one column twice -----------------------------------
sed '1s/$/,total/' "$claims" | sed '2,$s/$/,1.00/' >"$tmp/twice.csv"
refused twice 'claims.csv names the column total twice: field 8 "total" and field 13 "total"' \
	"$tmp/twice.csv"
sed '1s/$/,TOTAL/' "$claims" | sed '2,$s/$/,1.00/' >"$tmp/upper.csv"
refused upper 'names the column total twice: field 8 "total" and field 13 "TOTAL"' "$tmp/upper.csv"
sed '1s/$/,medfee_sumamt/' "$claims" | sed '2,$s/$/,1.00/' >"$tmp/alias.csv"
refused alias 'field 8 "total" and field 13 "medfee_sumamt": keep one' "$tmp/alias.csv"
sed '1s/^id,scheme/id,insutype/; 1s/$/,scheme/' "$persons" | sed '2,$s/$/,resident/' \
	>"$tmp/persons-twice.csv"
refused persons-twice 'persons.csv names the column scheme twice' "$claims" "$tmp/persons-twice.csv"
if "$bin" roster --policies "$pol" --persons "$tmp/persons-twice.csv" --identities "$idents" \
	--out "$tmp/roster-twice" 2>"$tmp/roster-twice.err"; then
	fail "roster accepted a persons.csv naming scheme twice"
fi
grep -qF 'persons.csv names the column scheme twice' "$tmp/roster-twice.err" ||
	fail "roster: no duplicate-column message"

# --- item 7: where care happened is never assumed --------------------------------
# Without care_region (and no place) the demo would pay 977,950.67 instead
# of 969,050.02: the file is refused.
cut -d, -f1-5,7- "$claims" >"$tmp/noplace.csv"
refused noplace 'claims.csv has neither a place nor a care_region (or mdtrtarea_admvs) column' \
	"$tmp/noplace.csv"
# An empty care_region cell: that row is rejected, the rest settle.
awk -F, -v OFS=, 'NR == 5 { $6 = "" } { print }' "$claims" >"$tmp/emptycare.csv"
settle "$tmp/emptycare.csv" "$tmp/emptycare" || fail "emptycare: settle failed"
rejected "$tmp/emptycare" 5 'care_region is empty: give the region of care'
balanced "$tmp/emptycare"
# place column present but both empty: rejected; place alone decides otherwise.
awk -F, -v OFS=, 'NR == 1 { $0 = $0 ",place" } NR == 7 { $6 = ""; $0 = $0 "," }
	NR == 8 { $6 = ""; $0 = $0 ",cross_province" } NR > 1 && NR != 7 && NR != 8 { $0 = $0 "," }
	{ print }' "$claims" >"$tmp/bothempty.csv"
settle "$tmp/bothempty.csv" "$tmp/bothempty" || fail "bothempty: settle failed"
rejected "$tmp/bothempty" 7 'place and care_region are both empty: give one'
grep -q "^$(sed -n 8p "$claims" | cut -d, -f1),.*,cross_province," "$tmp/bothempty/settlements.csv" ||
	fail "bothempty: line 8 not settled cross_province"
balanced "$tmp/bothempty"

# --- item 11: dates, masked reasons, malformed ids, blank ids ---------------------
awk -F, -v OFS=, '
	NR == 3 { $3 = "2023-02-03 garbage" }
	NR == 4 { $3 = "1899-12-31" }
	NR == 6 { $8 = $2 }                 # a shifted column: the ID where total was
	NR == 9 { $9 = $2 }                 # ... and where in_scope was
	NR == 10 { $1 = " E10" }
	NR == 11 { $1 = "E11 " }
	NR == 12 { $5 = $5 "\"x" }          # a stray quote after the id
	NR == 13 { $3 = "2023-02-03T10:00:00+08:00" }
	{ print }' "$claims" >"$tmp/cells.csv"
settle "$tmp/cells.csv" "$tmp/cells" || fail "cells: settle failed"
# (Reasons are CSV fields: their quotes come doubled.)
rejected "$tmp/cells" 3 'date ""2023-02-03 garbage"" is not a date (YYYY-MM-DD)'
rejected "$tmp/cells" 4 'date ""1899-12-31"" is outside the years 1900-2199'
rejected "$tmp/cells" 6 'total ""'"$(sed -n 6p "$claims" | cut -d, -f2 | cut -c1-6)"'********'
rejected "$tmp/cells" 9 'in_scope ""'"$(sed -n 9p "$claims" | cut -d, -f2 | cut -c1-6)"'********'
rejected "$tmp/cells" 10 'claim id has a leading or trailing blank'
rejected "$tmp/cells" 11 'claim id has a leading or trailing blank'
rejected "$tmp/cells" 12 'malformed CSV record'
id12=$(sed -n 12p "$claims" | cut -d, -f1)
grep -q "^cells.csv,12,$id12," "$tmp/cells/rejects.csv" || fail "cells: line 12 lost its id $id12"
id13=$(sed -n 13p "$claims" | cut -d, -f1)
grep -q "^$id13," "$tmp/cells/settlements.csv" || fail "cells: a date with a zoned time not settled"
if grep -Eq '(^|[^0-9])[0-9]{17}[0-9X]([^0-9]|$)' "$tmp/cells/rejects.csv"; then
	fail "cells: a whole resident ID in rejects.csv"
fi
balanced "$tmp/cells"

# --- one identities reader: settle and roster give the same reason ---------------
awk -F, -v OFS=, 'NR == 3 { $3 = "2023-02-03 garbage" } NR == 4 { $2 = $1 } { print }' \
	"$idents" >"$tmp/idents.csv"
settle "$claims" "$tmp/ident" "$persons" "$tmp/idents.csv" || fail "ident: settle failed"
reason='from ""2023-02-03 garbage"" is not a date (YYYY-MM-DD): write the first day held as YYYY-MM-DD'
grep -E '^[a-z]+\.csv,3,' "$tmp/ident/rejects.csv" | grep -qF -- "$reason" ||
	fail "settle: identities reason"
"$bin" roster --policies "$pol" --persons "$persons" --identities "$tmp/idents.csv" \
	--out "$tmp/roster" >/dev/null || fail "roster failed"
grep '^3,.*,date,' "$tmp/roster/roster_errors.csv" | grep -qF -- "$reason" ||
	fail "roster: identities reason"
# A shifted column puts an ID in the identity cell: masked in both outputs.
for f in "$tmp/ident/rejects.csv" "$tmp/roster/roster_errors.csv"; do
	grep -q '^[a-z.]*,*4,' "$f" || fail "$f: line 4 not reported"
	if grep -Eq '(^|[^0-9])[0-9]{17}[0-9X]([^0-9]|$)' "$f"; then fail "$f: a whole resident ID"; fi
done

# --- one persons reader: a row settle rejects is no enrolment for roster ----------
# Line 3: a scheme no reader knows; line 4: a stray quote after the ID.
awk -F, -v OFS=, 'NR == 3 { $2 = "farmer" } NR == 4 { $4 = $4 "\"x" } { print }' "$persons" \
	>"$tmp/persons.csv"
settle "$claims" "$tmp/pbad" "$tmp/persons.csv" || fail "pbad: settle failed"
grep -q '^persons.csv,3,.*scheme ""farmer"" is not employee, resident, 310 or 390' \
	"$tmp/pbad/rejects.csv" || fail "pbad: line 3"
# The malformed row keeps its (masked) ID.
want=$(sed -n 4p "$persons" | cut -c1-6)'\*\*\*\*\*\*\*\*'$(sed -n 4p "$persons" | cut -c15-18)
grep -q "^persons.csv,4,$want,malformed CSV record" "$tmp/pbad/rejects.csv" ||
	fail "pbad: line 4 lost its ID"
"$bin" roster --policies "$pol" --persons "$tmp/persons.csv" --identities "$idents" \
	--out "$tmp/proster" >/dev/null || fail "proster: roster failed"
grep -q '"persons_invalid": 2' "$tmp/proster/roster_summary.json" ||
	fail "proster: the rows settle rejects are not invalid to roster"

# --- a policy's income year outside the years says so -----------------------------
mkdir -p "$tmp/pol"
cp "$pol"/*.yaml "$tmp/pol/"
sed -i 's/^  2022: {all: 36883/  1800: {all: 36883/' "$tmp/pol/990000.yaml"
if "$bin" check-policy "$tmp/pol" >"$tmp/pol.txt" 2>&1; then fail "income year 1800 accepted"; fi
grep -q "income year is outside the years 1900-2199" "$tmp/pol.txt" ||
	{ cat "$tmp/pol.txt" >&2; fail "income year message"; }

echo "vocab.sh: ok"
