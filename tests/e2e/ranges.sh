#!/usr/bin/env bash
# ranges.sh: persons.csv and claims.csv read in byte ranges by several
# threads give the files one thread gives, with rows that test the joins
# of the ranges: a person of the first range listed again in a later one
# and one listed three times in the last, rejected rows in the middle,
# duplicate claim ids within one range and across ranges (one id three
# times: both later lines name the first), and a quoted line feed in
# persons.csv (which is then read in one piece). Usage: ranges.sh SANBAO SRC
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "ranges.sh: FAIL: $*" >&2; exit 1; }

g=$tmp/g
"$bin" gen --persons 24000 --seed 5 --out "$g" --policies-src "$src/policies/demo" >/dev/null
# persons.csv is about 1.2 MB: 4 threads read it in 4 ranges of 256 KiB or
# more; claims.csv in 4 ranges of 1 MiB or more. As generated (no person
# listed twice: the ranges' persons go into the index all at once):
for t in 1 4; do
	"$bin" settle --policies "$g/policies" --persons "$g/persons.csv" \
		--identities "$g/identities.csv" --claims "$g/claims.csv" --partition-mb 2 --quiet \
		--out "$tmp/c$t" --threads "$t"
done
for f in settlements.csv rejects.csv; do
	cmp "$tmp/c1/$f" "$tmp/c4/$f" || fail "as generated, --threads 4 differs in $f"
done
# Then with rows that test the joins:
python3 - "$g" <<'PY'
import sys
g = sys.argv[1]
P = open(f"{g}/persons.csv").read().split("\n")
head, rows = P[0], [r for r in P[1:] if r]
n = len(rows)
again = [rows[3], rows[n // 2], rows[n // 2]]
bad = ["not-an-id", "resident", "990100", "hx", "", "1"]
rows.insert(n // 3, ",".join(bad + [""] * (head.count(",") + 1 - len(bad))))
rows.insert(2 * n // 3, rows[10])
rows += again
open(f"{g}/persons.csv", "w").write("\n".join([head] + rows) + "\n")
C = open(f"{g}/claims.csv").read().split("\n")
head, rows = C[0], [r for r in C[1:] if r]
n = len(rows)
first, mid = rows[5].split(",")[0], rows[n // 2].split(",")[0]
def with_id(r, i):
    return ",".join([i] + r.split(",")[1:])
rows.insert(3 * n // 4, with_id(rows[3 * n // 4 + 3], first))
rows.insert(n // 2 + 9, with_id(rows[n // 2 + 20], mid))
rows.insert(n // 4, with_id(rows[n // 4 + 7], first))
rows.insert(n // 3, "bad,row")
open(f"{g}/claims.csv", "w").write("\n".join([head] + rows) + "\n")
PY
args=(--policies "$g/policies" --persons "$g/persons.csv" --identities "$g/identities.csv"
      --claims "$g/claims.csv" --partition-mb 2 --quiet)
norun() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("run", None); print(json.dumps(d, sort_keys=True, indent=1))' "$1"
}
for t in 1 2 4; do
	"$bin" settle "${args[@]}" --out "$tmp/s$t" --threads "$t"
	norun "$tmp/s$t/summary.json" >"$tmp/s$t/summary.norun.json"
done
for t in 2 4; do
	for f in settlements.csv rejects.csv summary.norun.json; do
		cmp "$tmp/s1/$f" "$tmp/s$t/$f" || fail "--threads $t differs from --threads 1 in $f"
	done
done
r=$tmp/s4/rejects.csv
[ "$(grep -c 'listed twice in persons.csv' "$r")" = 4 ] || fail "want 4 persons listed again: $(grep 'listed twice' "$r")"
grep -q '^persons.csv,[0-9]*,.*listed twice in persons.csv (first at line 5)$' "$r" ||
	fail "the person of line 5, listed again last, names line 5"
[ "$(grep -c 'duplicate claim id: the same id is first at line 7$' "$r")" = 2 ] ||
	fail "the id of line 7 is there three times: $(grep 'duplicate claim id' "$r")"
[ "$(grep -c 'duplicate claim id' "$r")" = 3 ] || fail "want 3 duplicate claim ids"
grep -q '^claims.csv,[0-9]*,bad,"malformed CSV record' "$r" || fail "the malformed claim row"
grep -q '^persons.csv,[0-9]*,\*\*\*\*\*\*\*\*\*,resident ID' "$r" || fail "the bad person row"
# Every line rejects.csv names holds the row it says, in every range.
python3 - "$g" "$r" <<'PY' || fail "a line number of rejects.csv is not the row's"
import csv, re, sys
g, r = sys.argv[1], sys.argv[2]
lines = {f: open(f"{g}/{f}").read().split("\n") for f in ("persons.csv", "claims.csv")}
for row in csv.DictReader(open(r)):
    text = lines[row["file"]][int(row["line"]) - 1]
    if row["id"] == "bad" or "*" not in row["id"]:
        assert text.startswith(row["id"] + ","), (row, text[:40])
    m = re.search(r"first at line (\d+)", row["reason"])
    if m and row["file"] == "claims.csv":
        assert lines["claims.csv"][int(m.group(1)) - 1].startswith(row["id"] + ","), row
    elif m:
        first = lines["persons.csv"][int(m.group(1)) - 1].split(",")[0]
        assert first[:6] == row["id"][:6] and first[-4:] == row["id"][-4:], row
PY

# A quoted line feed in persons.csv: one piece, the same files.
python3 - "$g/persons.csv" <<'PY'
import sys
p = sys.argv[1]
rows = open(p).read().split("\n")
k = len(rows) // 2
f = rows[k].split(",")
f[3] = '"house\nhold"'
rows[k] = ",".join(f)
open(p, "w").write("\n".join(rows))
PY
for t in 1 4; do
	"$bin" settle "${args[@]}" --out "$tmp/q$t" --threads "$t"
	norun "$tmp/q$t/summary.json" >"$tmp/q$t/summary.norun.json"
done
for f in settlements.csv rejects.csv summary.norun.json; do
	cmp "$tmp/q1/$f" "$tmp/q4/$f" || fail "with a quoted line feed in persons.csv, --threads 4 differs in $f"
done
# Short rejected rows, more than the id set is sized for (it counts on
# rows of 40 bytes or more): every one keeps its reject, and the set's
# bounded probes keep the run quick. In a release build it takes about
# 1.5 s of CPU; with the probes unbounded each id scanned the full set:
# 27 s, so 12 s of CPU (user + system, which a loaded machine does not
# stretch as it does wall time) tells the two apart. Sanitizer builds are
# several times slower: there only the rejects are checked.
s=$tmp/short
mkdir -p "$s"
{ head -1 "$g/claims.csv"; seq 0 599999; } >"$s/claims.csv"
limit=12
if ldd "$bin" 2>/dev/null | grep -q 'libasan\|libtsan'; then limit=100000; fi
TIMEFORMAT='%U %S'
{ time "$bin" settle --policies "$g/policies" --persons "$g/persons.csv" \
	--claims "$s/claims.csv" --quiet --out "$s/o" --threads 2 2>"$s/err"; } 2>"$s/cpu" ||
	fail "600,000 short rows: $(cat "$s/err")"
cpu=$(awk '{print $1 + $2}' "$s/cpu")
awk -v c="$cpu" -v l="$limit" 'BEGIN {exit !(c < l)}' ||
	fail "600,000 short rows: $cpu s of CPU (the id set's probes unbounded?)"
n=$(grep -c "^claims.csv,.*malformed CSV record" "$s/o/rejects.csv"); [ "$n" = 600000 ] ||
	fail "600,000 short rows: $n rejected"
echo "ranges.sh: ok"
