#!/usr/bin/python3
"""report.py: the table of `make bench`, from the files bench/run.sh left in TMP.

    report.py TMP PERSONS SEED RUNS CORES SANBAO

Prints contender | wall s | claims/s | peak RSS MB | bytes/person | vs sanbao,
then the I/O floor ratio, the monitor overhead and the payment check, and
writes the same figures to TMP/bench.json.
"""
import json
import os
import statistics
import subprocess
import sys
import time

tmp, persons, seed, runs, cores, sanbao = sys.argv[1:7]
persons, runs, cores = int(persons), int(runs), int(cores)


def timing(name):
    secs, kb = open(os.path.join(tmp, f"time.{name}")).read().split()[:2]
    return float(secs), int(kb)


def user_cpu(name):
    """User CPU seconds: the part of a run that is its own work, not the
    kernel's write-back of an earlier run's output."""
    return float(open(os.path.join(tmp, f"time.{name}")).read().split()[2])


def median_of(prefix):
    got = [timing(f"{prefix}.{i}") for i in range(1, runs + 1)]
    return statistics.median(s for s, _ in got), max(k for _, k in got), [s for s, _ in got]


summary = json.load(open(os.path.join(tmp, "out-sanbao", "summary.json")))
claims = summary["claims"]["rows"]
check = json.load(open(os.path.join(tmp, "compare.json")))

rows = []
s_wall, s_kb, s_runs = median_of("sanbao")
m_wall, m_kb, m_runs = median_of("monitor")
rows.append(("sanbao settle", s_wall, s_kb, s_runs))
rows.append(("sanbao settle --monitor", m_wall, m_kb, m_runs))
# The floors ran in the same loop as sanbao, each after removing its own
# previous output: run 1 on fresh pages, later runs on recycled ones.
f_wall, f_kb, f_runs = median_of("iofloor")
rows.append(("I/O floor (read + write)", f_wall, f_kb, f_runs))
p_wall, p_kb, p_runs = median_of("pffloor")
rows.append(("parse-and-format floor", p_wall, p_kb, p_runs))
has_direct = os.path.exists(os.path.join(tmp, "time.iodirect.1"))
if has_direct:
    d_wall, d_kb, d_runs = median_of("iodirect")
    rows.append(("I/O floor, O_DIRECT write", d_wall, d_kb, d_runs))
for name, label in (("duckdb", "DuckDB SQL"), ("pandas", "pandas")):
    w, kb = timing(name)
    rows.append((label, w, kb, [w]))

contenders = {}
head = f"{'contender':<26} | {'wall s':>8} | {'claims/s':>11} | {'peak RSS MB':>11} | {'bytes/person':>12} | vs sanbao"
print()
print(f"province: {persons:,} persons, {claims:,} claims (seed {seed}), {cores} cores; "
      f"sanbao: median of {runs} runs")
print(head)
print("-" * len(head))
for label, wall, kb, all_runs in rows:
    rate = claims / wall if wall > 0 else float("inf")
    ratio = wall / s_wall if s_wall > 0 else float("inf")
    bpp = kb * 1024 / persons
    if label == "sanbao settle":
        vs = "1.00x"
    elif label.startswith("I/O floor") or label.startswith("parse-and-format"):
        vs = f"{ratio:.2f}x (sanbao is {s_wall / wall:.2f}x the floor)" if wall > 0 else "-"
    elif label.startswith("sanbao"):
        vs = f"{ratio:.2f}x"
    else:
        vs = f"{ratio:.2f}x (sanbao {ratio:.1f}x faster)"
    print(f"{label:<26} | {wall:>8.2f} | {rate:>11,.0f} | {kb / 1024:>11,.0f} | {bpp:>12,.0f} | {vs}")
    contenders[label] = {"wall_s": wall, "runs_s": all_runs, "claims_per_s": round(rate),
                         "peak_rss_mb": round(kb / 1024, 1), "bytes_per_person": round(bpp),
                         "time_vs_sanbao": round(ratio, 3)}

floor = contenders["I/O floor (read + write)"]["wall_s"]
floor_ratio = s_wall / floor if floor > 0 else None


def page_ratios(prefix):
    """sanbao / the floor on fresh pages (run 1) and on recycled pages (the
    median of runs 2..N, each after its own output was removed)."""
    f1 = timing(f"{prefix}.1")[0]
    fresh = s_runs[0] / f1 if f1 > 0 else None
    if runs < 2:
        return fresh, None
    fr = statistics.median(timing(f"{prefix}.{i}")[0] for i in range(2, runs + 1))
    sr = statistics.median(s_runs[1:])
    return fresh, (sr / fr if fr > 0 else None)


fmt = lambda r: f"{r:.2f}x" if r else "-"
floor_pages = page_ratios("iofloor")
direct_ratio = direct_pages = None
if has_direct:
    direct_ratio = s_wall / d_wall if d_wall > 0 else None
    direct_pages = page_ratios("iodirect")
pf_ratio = s_wall / p_wall if p_wall > 0 else None
pf_pages = page_ratios("pffloor")
pf_user = statistics.median(user_cpu(f"pffloor.{i}") for i in range(1, runs + 1))
overhead = (m_wall - s_wall) / s_wall * 100 if s_wall > 0 else None
s_user = statistics.median(user_cpu(f"sanbao.{i}") for i in range(1, runs + 1))
m_user = statistics.median(user_cpu(f"monitor.{i}") for i in range(1, runs + 1))
user_overhead = (m_user - s_user) / s_user * 100 if s_user > 0 else None
print()
print(f"I/O floor: sanbao settle takes {floor_ratio:.2f}x the time to read its inputs and write "
      f"{os.path.getsize(os.path.join(tmp, 'out-sanbao', 'settlements.csv')):,} bytes"
      if floor_ratio else "I/O floor: too fast to measure (0.00 s)")
print(f"  under the same page conditions: fresh pages (run 1) {fmt(floor_pages[0])}, "
      f"recycled pages (runs 2-{runs}) {fmt(floor_pages[1])}")
if has_direct:
    print(f"O_DIRECT write floor: sanbao takes {fmt(direct_ratio)} its time "
          f"(fresh {fmt(direct_pages[0])}, recycled {fmt(direct_pages[1])})")
print(f"parse-and-format floor (read, parse and validate every row, format every output row, "
      f"no settlement): sanbao takes {fmt(pf_ratio)} its time (fresh {fmt(pf_pages[0])}, "
      f"recycled {fmt(pf_pages[1])}; target 1.5x); user CPU {s_user:.2f} s vs {pf_user:.2f} s "
      f"({fmt(s_user / pf_user if pf_user > 0 else None)})")
print(f"monitor overhead: {overhead:+.1f}% of the settlement time "
      f"(median {m_wall:.2f} s vs {s_wall:.2f} s; runs {m_runs} vs {s_runs}; target < 10%)")
if user_overhead is not None:
    print(f"monitor overhead in user CPU time: {user_overhead:+.1f}% "
          f"(median {m_user:.2f} s vs {s_user:.2f} s)")
for peer, r in check["peers"].items():
    bad = {c: v["differ"] for c, v in r["columns"].items() if v["differ"]}
    print(f"payments {peer}: {r['claims_differing']:,} of {check['sanbao_claims']:,} claims differ"
          + (f" (missing {r['missing']['count']}, extra {r['extra']['count']}; by column: "
             + ", ".join(f"{c} {n}" for c, n in bad.items()) + ")"
             if r["claims_differing"] or r["extra"]["count"] else " (every layer, fund and oop equal)"))

try:
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "describe",
                             "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
except OSError:
    commit = ""
gen_wall, gen_kb = timing("gen")
out = {
    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "commit": commit, "sanbao": sanbao, "cores": cores,
    "persons": persons, "seed": int(seed), "claims": claims,
    "input_bytes": {f: os.path.getsize(os.path.join(tmp, "data", f))
                    for f in ("persons.csv", "identities.csv", "claims.csv")},
    "output_bytes": os.path.getsize(os.path.join(tmp, "out-sanbao", "settlements.csv")),
    "gen": {"wall_s": gen_wall, "peak_rss_mb": round(gen_kb / 1024, 1)},
    "sanbao_runs": runs,
    "contenders": contenders,
    "sanbao_vs_io_floor": round(floor_ratio, 3) if floor_ratio else None,
    "sanbao_vs_io_floor_pages": {"fresh": floor_pages[0], "recycled": floor_pages[1]},
    "sanbao_vs_odirect_floor": direct_ratio,
    "sanbao_vs_odirect_floor_pages": ({"fresh": direct_pages[0], "recycled": direct_pages[1]}
                                      if direct_pages else None),
    "sanbao_vs_parse_format_floor": round(pf_ratio, 3) if pf_ratio else None,
    "sanbao_vs_parse_format_floor_pages": {"fresh": pf_pages[0], "recycled": pf_pages[1]},
    "sanbao_vs_parse_format_floor_user_cpu": round(s_user / pf_user, 3) if pf_user > 0 else None,
    "monitor_overhead_pct": round(overhead, 1) if overhead is not None else None,
    "monitor_overhead_user_cpu_pct": round(user_overhead, 1) if user_overhead is not None else None,
    "sanbao_speedup": {p: round(contenders[l]["wall_s"] / s_wall, 2)
                       for p, l in (("duckdb", "DuckDB SQL"), ("pandas", "pandas"))},
    "payment_check": check,
}
with open(os.path.join(tmp, "bench.json"), "w") as f:
    json.dump(out, f, indent=2, ensure_ascii=False)
    f.write("\n")
