#!/usr/bin/env bash
# mpi.sh: `mpirun -np N sanbao settle --mpi` equals one process's run, for
# N = 1, 2 and 4 (oversubscribed on this machine): summary.json but for its
# "run" object, rejects.csv byte for byte, and settlements.csv sorted (the
# rank files concatenated in rank order, each file's header once: every
# rank's header equals one process's). The inputs are a generated province
# made hostile where ranks meet: claim ids and persons listed again in
# another rank's byte range, a person whose first listing is refused,
# blank, CRLF and malformed lines, unknown persons, no final line feed.
# With --monitor also monitor.json byte for byte and warnings.csv and
# approaching.csv sorted (monitoring needs a household's members on one
# rank). Also: the demo; --mpi refuses --evidence; the binary still runs
# without mpirun (every other test).
#
# Release build only: Open MPI's own start-up leaks and reads uninitialised
# memory (MPI_Init), which ASan, valgrind and ThreadSanitizer report; the
# sanitizer builds skip this test (SB_SAN_FLAGS from ctest).
# Usage: mpi.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
if [ -n "${SB_SAN_FLAGS:-}" ]; then
	echo "mpi.sh: skipped under sanitizers ($SB_SAN_FLAGS): Open MPI's start-up is not clean there"
	exit 0
fi
command -v mpirun > /dev/null || { echo "mpi.sh: FAIL: no mpirun (make deps installs openmpi-bin)" >&2; exit 1; }
tmp=$(mktemp -d)
trap "rm -rf $tmp" EXIT; [ -n "${SB_MPI_KEEP:-}" ] && trap - EXIT && echo "kept $tmp"
fail() { echo "mpi.sh: FAIL: $*" >&2; exit 1; }

# Open MPI on a CI box: as root, shared memory only, no network probing.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_mca_base_component_show_load_errors=0 PMIX_MCA_mca_base_component_show_load_errors=0
mpi() { mpirun -np "$1" --oversubscribe "$bin" "${@:2}"; }

norun() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("run", None); print(json.dumps(d, sort_keys=True, indent=1))' "$1"
}

# compare ONE MPI_OUT: the MPI run's outputs equal the single run's in ONE.
compare() {
	local one=$1 out=$2 n=$3
	cmp <(norun "$one/summary.json") <(norun "$out/summary.json") ||
		fail "-np $n: summary.json differs (but for run)"
	cmp "$one/rejects.csv" "$out/rejects.csv" || fail "-np $n: rejects.csv differs"
	local r
	for r in $(seq 0 $((n - 1))); do
		local f=$out/rank-$(printf %04d "$r")/settlements.csv
		[ -f "$f" ] || fail "-np $n: no $f"
		cmp <(head -n 1 "$one/settlements.csv") <(head -n 1 "$f") || fail "-np $n: header of $f"
	done
	local f
	for f in settlements.csv warnings.csv approaching.csv; do
		[ -f "$one/$f" ] || continue
		cmp <(tail -n +2 "$one/$f" | sort) \
		    <(for r in $(seq 0 $((n - 1))); do tail -n +2 "$out/rank-$(printf %04d "$r")/$f"; done | sort) ||
			fail "-np $n: $f differs (sorted)"
	done
	if [ -f "$one/monitor.json" ]; then
		cmp "$one/monitor.json" "$out/monitor.json" || fail "-np $n: monitor.json differs"
	fi
	grep -q "\"ranks\": $n" "$out/manifest.json" || fail "-np $n: manifest.json"
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$out/manifest.json" || fail "manifest.json is not JSON"
	grep -q "\"mpi\": {\"ranks\": $n" "$out/summary.json" || fail "-np $n: no mpi timings in summary.json"
	[ ! -e "$out/settlements.csv" ] || fail "-np $n: a settlements.csv at the top"
	ls -a "$out" | grep -q sanbao-mpi-inputs && fail "-np $n: rank inputs left behind"
	return 0
}

# The demo.
d=(--policies "$src/policies/demo" --persons "$src/data/demo/persons.csv"
   --identities "$src/data/demo/identities.csv" --claims "$src/data/demo/claims.csv")
"$bin" settle "${d[@]}" --out "$tmp/demo1" --monitor --poverty-line 2300 --quiet
mpi 3 settle --mpi "${d[@]}" --out "$tmp/demo3" --monitor --poverty-line 2300 --quiet
grep -q '"warnings": [1-9]' "$tmp/demo3/monitor.json" || fail "the demo has no warnings"
compare "$tmp/demo1" "$tmp/demo3" 3

# A generated province, made hostile.
"$bin" gen --persons "${SB_MPI_PERSONS:-4000}" --seed 13 --out "$tmp/g" \
	--policies-src "$src/policies/demo" > /dev/null
python3 - "$tmp/g" <<'EOF'
import sys
g = sys.argv[1]
def lines(f):
    return open(f"{g}/{f}", newline="").read().splitlines(keepends=True)
p = lines("persons.csv")
head, rows = p[0], p[1:]
n = len(rows)
# a person listed again at the end, in another household (the first wins)
again = rows[5].split(",")
again[3] = "elsewhere"
# a later person whose earlier listing is refused (a region with no policy)
late = rows[n - 3].split(",")
bad = list(late)
bad[2] = "123456"
bad[3] = "elsewhere-3"  # hashes to another rank than the valid listing's (h1520) for -np 2, 3, 4
rows = rows[:2] + [",".join(bad)] + rows[2:] + [",".join(again), rows[n // 2]]
rows.insert(n // 3, "\n")                    # a blank line
rows.insert(n // 2, "not,a,person\n")        # too few fields
rows[7] = rows[7].rstrip("\n") + "\r\n"      # CRLF
open(f"{g}/persons.csv", "w", newline="").write(head + "".join(rows))

c = lines("claims.csv")
head, rows = c[0], c[1:]
n = len(rows)
extra = [rows[1], rows[n // 4], rows[n // 2 + 1]]   # claim ids again, in later ranges
unknown = rows[3].split(",")
unknown[0] = "UNKNOWN-1"
unknown[1] = "990100199001010012"
rows.insert(n // 3, "\n")
rows.insert(n // 3 + 5, "\"unterminated,quote\n")
rows.insert(2 * n // 3, ",".join(unknown))
rows[11] = rows[11].rstrip("\n") + "\r\n"
rows += extra + [rows[0].replace(rows[0].split(",")[0], "LAST-1", 1).rstrip("\n")]
open(f"{g}/claims.csv", "w", newline="").write(head + "".join(rows))

i = lines("identities.csv")
i.append("990100199001010012,tuopin,2020-01-01,\n")  # an unknown person
i.insert(3, i[2])                                    # listed twice
open(f"{g}/identities.csv", "w", newline="").write("".join(i))
EOF
g=(--policies "$tmp/g/policies" --persons "$tmp/g/persons.csv"
   --identities "$tmp/g/identities.csv" --claims "$tmp/g/claims.csv")
"$bin" settle "${g[@]}" --out "$tmp/one" --threads 2 --monitor --poverty-line 2300 --quiet
grep -q "duplicate claim id" "$tmp/one/rejects.csv" || fail "no duplicate claim ids in the input"
grep -q "listed twice" "$tmp/one/rejects.csv" || fail "no person listed twice in the input"
grep -q "malformed CSV" "$tmp/one/rejects.csv" || fail "no malformed row in the input"
for n in 1 2 4; do
	mpi "$n" settle --mpi "${g[@]}" --out "$tmp/mpi$n" --monitor --poverty-line 2300 --quiet
	compare "$tmp/one" "$tmp/mpi$n" "$n"
done
# Threads inside ranks give the same outputs.
mpi 2 settle --mpi "${g[@]}" --out "$tmp/mpi2t" --threads 2 --partition-mb 1 --monitor \
	--poverty-line 2300 --quiet
compare "$tmp/one" "$tmp/mpi2t" 2
# Without --monitor: no monitoring files, the same settlements.
"$bin" settle "${g[@]}" --out "$tmp/plain1" --quiet
mpi 2 settle --mpi "${g[@]}" --out "$tmp/plain2" --quiet
compare "$tmp/plain1" "$tmp/plain2" 2
[ ! -e "$tmp/plain2/monitor.json" ] || fail "monitor.json without --monitor"

# What --mpi does not do says so.
if "$bin" settle --mpi "${g[@]}" --out "$tmp/ev" --evidence 2> "$tmp/err"; then
	fail "--mpi --evidence succeeded"
fi
grep -q "not available with --mpi" "$tmp/err" || fail "--mpi --evidence: $(cat "$tmp/err")"
echo "mpi.sh: ok (-np 1, 2, 4 and 3 equal one process; $(grep -c . "$tmp/one/rejects.csv") reject lines, $(grep -o '"warnings": [0-9]*' "$tmp/one/monitor.json" | head -1))"
