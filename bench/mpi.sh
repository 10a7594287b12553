#!/usr/bin/env bash
# bench/mpi.sh: `sanbao settle --mpi` on 2 ranks (1 thread each) against
# the threaded run (--threads 2) on one generated province, alternated
# ROUNDS times; prints each run's wall and CPU seconds, the medians, their
# ratio, and the MPI run's split of time (summary.json's run.mpi).
# Usage: bench/mpi.sh [BINARY] [PERSONS] [ROUNDS]   (defaults: build/sanbao 500000 3)
set -euo pipefail
bin=${1:-build/sanbao}
persons=${2:-500000}
rounds=${3:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=${SB_BENCH_TMP:-$(mktemp -d)}
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
"$bin" gen --persons "$persons" --seed 3 --out "$tmp/g" --policies-src "$src/policies/demo" > /dev/null
g=(--policies "$tmp/g/policies" --persons "$tmp/g/persons.csv"
   --identities "$tmp/g/identities.csv" --claims "$tmp/g/claims.csv" --quiet)
claims=$(($(wc -l < "$tmp/g/claims.csv") - 1))
echo "bench/mpi.sh: $persons persons, $claims claims, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
run() { # label, command...: wall and CPU (user+sys of the children) seconds
	local label=$1; shift
	rm -rf "$tmp/out"
	local t0 c0 t1 c1
	t0=$(date +%s.%N)
	read -r c0 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
	"$@" > /dev/null
	t1=$(date +%s.%N)
	read -r c1 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
	printf '%s %.3f %.3f\n' "$label" "$(echo "$t1 - $t0" | bc)" \
		"$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)"
}
: > "$tmp/times"
for i in $(seq "$rounds"); do
	run threads "$bin" settle "${g[@]}" --out "$tmp/out" --threads 2 >> "$tmp/times"
	run mpi mpirun -np 2 "$bin" settle --mpi "${g[@]}" --out "$tmp/out" >> "$tmp/times"
	grep -o '"mpi": {.*}}' "$tmp/out/summary.json" >> "$tmp/split"
done
cat "$tmp/times"
python3 - "$tmp/times" "$claims" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
med = {k: (statistics.median(float(r[1]) for r in rows if r[0] == k),
           statistics.median(float(r[2]) for r in rows if r[0] == k)) for k in ("threads", "mpi")}
n = int(sys.argv[2])
for k, (w, c) in med.items():
    print(f"median {k:8s} wall {w:.3f} s  cpu {c:.3f} s  {n / w / 1e6:.2f}M claims/s")
print(f"mpi / threads: wall {med['mpi'][0] / med['threads'][0]:.2f}x, cpu {med['mpi'][1] / med['threads'][1]:.2f}x (target: wall <= 1.2x)")
PY
echo "MPI split (slowest rank, seconds), per round:"
cat "$tmp/split"
