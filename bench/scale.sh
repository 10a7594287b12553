#!/usr/bin/env bash
# bench/scale.sh: `make bench-scale`. How sanbao settle scales with the
# province: for each size a demo province from `sanbao gen` (same seed),
# settled --runs times on every core (the previous output removed and
# `sync` before each run, inputs in the page cache), the median wall time,
# peak RSS and the run's stages from summary.json; then one table:
#
#   persons | claims | wall s | claims/s | ns/claim | vs linear | CPU s | CPU ns/claim | vs linear |
#   peak RSS MB | bytes/person | stages
#
# "vs linear" is the size's seconds per claim over the smallest size's
# (1.00 = time linear in claims), for wall time and for CPU time (user +
# system: the steadier figure on a shared machine, where wall time also
# measures the other processes); bytes/person is the peak RSS over the
# persons (the target: at most 200 at 4M persons). Each size's data is
# removed before the next is generated (8M persons is about 2 GB of CSV).
#
#   bash bench/scale.sh [--sizes "1000000 2000000 4000000 8000000"] [--runs K] [--seed S]
#
# SANBAO=path overrides the binary (default build/sanbao). Figures also go
# to out/bench-scale.json.
set -euo pipefail

sizes="1000000 2000000 4000000 8000000" runs=1 seed=1
while (($#)); do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	*) echo "usage: bash bench/scale.sh [--sizes \"N ...\"] [--runs K] [--seed S]" >&2; exit 2 ;;
	esac
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SANBAO=${SANBAO:-$ROOT/build/sanbao}
CORES=$(nproc)
[ -x "$SANBAO" ] || { echo "bench-scale: $SANBAO is missing: run make build" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sanbao-scale.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cp "$SANBAO" "$TMP/sanbao"
: >"$TMP/rows"
for n in $sizes; do
	data=$TMP/data
	rm -rf "$data"
	echo "bench-scale: sanbao gen --persons $n --seed $seed"
	"$TMP/sanbao" gen --persons "$n" --seed "$seed" --threads "$CORES" --out "$data" \
		--policies-src "$ROOT/policies/demo" >/dev/null
	for ((i = 1; i <= runs; i++)); do
		cat "$data"/*.csv >/dev/null
		rm -rf "$TMP/out"
		sync
		/usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$TMP/sanbao" settle \
			--policies "$data/policies" --persons "$data/persons.csv" \
			--identities "$data/identities.csv" --claims "$data/claims.csv" \
			--threads "$CORES" --quiet --out "$TMP/out"
		python3 - "$n" "$TMP/time" "$TMP/out/summary.json" >>"$TMP/rows" <<'PY'
import json, sys
n, t, s = sys.argv[1], open(sys.argv[2]).read().split(), json.load(open(sys.argv[3]))
st = s["run"]["stages"]
print(json.dumps({"persons": int(n), "claims": s["claims"]["rows"], "wall_s": float(t[0]),
                  "rss_kb": int(t[1]), "user_s": float(t[2]), "sys_s": float(t[3]),
                  "stages": st}))
PY
		echo "  run $i: $(cut -d' ' -f1 "$TMP/time") s, $(($(cut -d' ' -f2 "$TMP/time") / 1024)) MB"
	done
done
rm -rf "$TMP/data" "$TMP/out"
python3 - "$TMP/rows" "$runs" "$CORES" "$ROOT/out/bench-scale.json" <<'PY'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs, cores, dest = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
by = {}
for r in rows:
    by.setdefault(r["persons"], []).append(r)
table = []
for n, rs in by.items():
    rs.sort(key=lambda r: r["wall_s"])
    med = rs[len(rs) // 2]  # the median run (the lower middle one for an even count)
    table.append({"persons": n, "claims": med["claims"], "wall_s": med["wall_s"],
                  "claims_per_s": round(med["claims"] / med["wall_s"]) if med["wall_s"] else None,
                  "ns_per_claim": round(med["wall_s"] / med["claims"] * 1e9, 1),
                  "cpu_s": round(med["user_s"] + med["sys_s"], 2),
                  "cpu_ns_per_claim": round((med["user_s"] + med["sys_s"]) / med["claims"] * 1e9, 1),
                  "peak_rss_mb": round(max(r["rss_kb"] for r in rs) / 1024, 1),
                  "bytes_per_person": round(max(r["rss_kb"] for r in rs) * 1024 / n),
                  "stages": med["stages"], "runs_s": [r["wall_s"] for r in rs]})
base = table[0]["ns_per_claim"]
cbase = table[0]["cpu_ns_per_claim"]
print()
print(f"sanbao settle on {cores} cores, median of {runs} run(s) per size")
head = (f"{'persons':>10} | {'claims':>11} | {'wall s':>7} | {'claims/s':>10} | {'ns/claim':>8} | "
        f"{'vs linear':>9} | {'CPU s':>6} | {'CPU ns/claim':>12} | {'vs linear':>9} | {'peak RSS MB':>11} | "
        f"{'bytes/person':>12} | stages (persons, claims, dups, settle+write s)")
print(head)
print("-" * len(head))
for t in table:
    t["vs_linear"] = round(t["ns_per_claim"] / base, 3) if base else None
    t["cpu_vs_linear"] = round(t["cpu_ns_per_claim"] / cbase, 3) if cbase else None
    s = t["stages"]
    print(f"{t['persons']:>10,} | {t['claims']:>11,} | {t['wall_s']:>7.2f} | {t['claims_per_s']:>10,} | "
          f"{t['ns_per_claim']:>8.1f} | {t['vs_linear']:>9.2f} | {t['cpu_s']:>6.2f} | "
          f"{t['cpu_ns_per_claim']:>12.1f} | {t['cpu_vs_linear']:>9.2f} | {t['peak_rss_mb']:>11,.0f} | "
          f"{t['bytes_per_person']:>12,} | {s.get('policies_and_persons', 0):.2f}, "
          f"{s.get('read_claims', 0):.2f}, {s.get('duplicate_ids', 0):.2f}, {s.get('settle_and_write', 0):.2f}")
at4 = [t for t in table if t["persons"] == 4000000]
if at4:
    print(f"memory at 4,000,000 persons: {at4[0]['bytes_per_person']} bytes per person (target 200)")
os.makedirs(os.path.dirname(dest), exist_ok=True)
with open(dest, "w") as f:
    json.dump({"cores": cores, "runs": runs, "sizes": table}, f, indent=2)
    f.write("\n")
print(f"bench-scale: figures in {dest}")
PY
