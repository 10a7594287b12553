#!/usr/bin/env python3
"""check.py C A B G: compare.json in C against two separate settle runs
(A: baseline, B: reform) of the generated province G, recomputed here from
their settlements.csv and G's persons.csv. Exit 1 with the first mismatch."""
import csv
import json
import math
import sys
from collections import defaultdict
from decimal import Decimal

c_dir, a_dir, b_dir, g_dir = sys.argv[1:5]


def fen(x):
    return int((Decimal(str(x)) * 100).to_integral_value())


def bad(msg):
    print("check.py: " + msg, file=sys.stderr)
    sys.exit(1)


doc = json.load(open(f"{c_dir}/compare.json", encoding="utf-8"), parse_float=Decimal)
persons = list(csv.DictReader(open(f"{g_dir}/persons.csv", encoding="utf-8")))
scheme = {p["id"]: p["scheme"] for p in persons}
region_of = {p["id"]: p["region"] for p in persons}
hh_income = {}
for p in persons:  # a household's income: the first value its members give
    h = p["household"] or ("person " + p["id"])
    if h not in hh_income and p["income"] != "":
        hh_income[h] = fen(p["income"])
unit = {p["id"]: p["household"] or ("person " + p["id"]) for p in persons}
members = defaultdict(int)
for p in persons:
    members[unit[p["id"]]] += 1


def sums(path):
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    layers = [k for k in rows[0].keys()][11:-4]
    s = defaultdict(lambda: defaultdict(int))
    oop = defaultdict(int)  # (person, year)
    for r in rows:
        keys = [("all", ""), ("region", r["region"]), ("visit", r["visit"]),
                ("identity", r["identity"]), ("scheme", scheme[r["person"]])]
        for key in keys:
            t = s[key]
            t["claims"] += 1
            for m in ("total", "in_scope", "fund", "oop"):
                t[m] += fen(r[m])
        for l in layers:
            s[("layer", l)]["paid"] += fen(r[l])
        oop[(r["person"], int(r["date"][:4]))] += fen(r["oop"])
    return s, oop


sa, oa = sums(f"{a_dir}/settlements.csv")
sb, ob = sums(f"{b_dir}/settlements.csv")
res, diff = doc["results"], doc["differences"][0]
if len(res) != 2 or len(doc["differences"]) != 1:
    bad("expected a baseline and one reform")


def same(what, got, want):
    if got != want:
        bad(f"{what}: compare.json has {got}, the settle runs give {want}")


for k, s in ((0, sa), (1, sb)):
    for m in ("claims", "total", "in_scope", "fund", "oop"):
        v = res[k]["money"][m]
        same(f"scenario {k} money.{m}", v if m == "claims" else fen(v), s[("all", "")][m])
    rate = Decimal(s[("all", "")]["fund"]) / Decimal(s[("all", "")]["total"])
    same(f"scenario {k} effective_rate", res[k]["money"]["effective_rate"], round(rate, 6))
    summ = json.load(open(f"{(a_dir, b_dir)[k]}/summary.json"), parse_float=Decimal)
    same(f"scenario {k} fund against summary.json", fen(res[k]["money"]["fund"]),
         fen(summ["money"]["fund"]))

for m in ("claims", "total", "in_scope", "fund", "oop"):
    v = diff["money"][m]
    same(f"difference money.{m}", v if m == "claims" else fen(v),
         sb[("all", "")][m] - sa[("all", "")][m])
if diff["money"]["fund"] == 0:
    bad("the reform changed nothing: the test would prove nothing")
for table, field in (("by_region", "region"), ("by_visit", "visit"),
                     ("by_identity", "identity"), ("by_scheme", "scheme")):
    kind = field
    listed = set()
    for row in diff[table]:
        key = (kind, row[field])
        listed.add(row[field])
        for m in ("total", "in_scope", "fund", "oop"):
            same(f"difference {table} {row[field]} {m}", fen(row[m]), sb[key][m] - sa[key][m])
        same(f"difference {table} {row[field]} claims", row["claims"],
             sb[key]["claims"] - sa[key]["claims"])
    for key in list(sa) + list(sb):
        if key[0] == kind and key[1] not in listed:
            bad(f"{table}: {key[1]} missing")
for row in diff["by_layer"]:
    key = ("layer", row["layer"])
    same(f"difference by_layer {row['layer']}", fen(row["paid"]), sb[key]["paid"] - sa[key]["paid"])
same("fund codes sum to the fund difference", sum(fen(r["paid"]) for r in diff["by_fund_code"]),
     sb[("all", "")]["fund"] - sa[("all", "")]["fund"])

# Winners and losers, recomputed: the change of each person-year against
# the household's income, in exact integers.
years = doc["years"]


def band(change, income):
    a = abs(change)
    if a * 1000 <= income:
        return "no_change"
    more = a * 100 > income * 5
    if change < 0:
        return "gain_more_than_5pct" if more else "gain_less_than_5pct"
    return "lose_more_than_5pct" if more else "lose_less_than_5pct"


names = ["gain_more_than_5pct", "gain_less_than_5pct", "no_change", "lose_less_than_5pct",
         "lose_more_than_5pct"]
for yi, y in enumerate(years):
    want = defaultdict(int)
    uoop_a, uoop_b = defaultdict(int), defaultdict(int)
    for p in persons:
        pid = p["id"]
        ch = ob.get((pid, y), 0) - oa.get((pid, y), 0)
        inc = hh_income.get(unit[pid])
        want["income_unknown" if inc is None else band(ch, inc)] += 1
        uoop_a[unit[pid]] += oa.get((pid, y), 0)
        uoop_b[unit[pid]] += ob.get((pid, y), 0)
    got = diff["winners_losers"]["persons"][yi]
    if got["year"] != y:
        bad("winners_losers years out of order")
    for n in names + ["income_unknown"]:
        same(f"{y} persons band {n}", got["all"][n], want[n])
    same(f"{y} persons bands sum to the persons", sum(got["all"][n] for n in names)
         + got["all"]["income_unknown"], len(persons))
    same(f"{y} persons by region sum", sum(r["bands"]["total"] for r in got["by_region"]),
         len(persons))
    dec = sum(r["bands"]["total"] for r in got["by_decile"])
    same(f"{y} persons by decile sum", dec + got["all"]["income_unknown"], len(persons))
    same(f"{y} persons by identity sum", sum(r["bands"]["total"] for r in got["by_identity"]),
         len(persons))
    hw = defaultdict(int)
    for u in members:
        inc = hh_income.get(u)
        hw["income_unknown" if inc is None else band(uoop_b[u] - uoop_a[u], inc)] += 1
    hg = diff["winners_losers"]["households"][yi]["all"]
    for n in names + ["income_unknown"]:
        same(f"{y} households band {n}", hg[n], hw[n])
    same(f"{y} households bands sum to the households", hg["total"], len(members))
    # SDG 3.8.2 of the baseline, recomputed.
    fp = res[0]["financial_protection"][yi]
    o10 = sum(1 for u in members if u in hh_income and uoop_a[u] * 100 > hh_income[u] * 10)
    o25 = sum(1 for u in members if u in hh_income and uoop_a[u] * 100 > hh_income[u] * 25)
    same(f"{y} households over 10%", fp["oop_over_10pct"]["households"], o10)
    same(f"{y} households over 25%", fp["oop_over_25pct"]["households"], o25)
    line = fen(doc["poverty_line_per_person"])
    poor = sum(1 for u in members if u in hh_income and hh_income[u] >= line * members[u]
               and hh_income[u] - uoop_a[u] < line * members[u])
    same(f"{y} households impoverished", fp["impoverished"]["households"], poor)

# persons_changed.csv: its changes sum to the change of out-of-pocket.
rows = list(csv.DictReader(open(f"{c_dir}/persons_changed.csv", encoding="utf-8")))
same("persons_changed.csv sum", sum(fen(r["reform_1_change"]) for r in rows),
     sb[("all", "")]["oop"] - sa[("all", "")]["oop"])
changed = sum(1 for key in set(oa) | set(ob) if oa.get(key, 0) != ob.get(key, 0))
same("persons_changed.csv rows", len(rows), changed)
if any("*" not in r["person"] for r in rows):
    bad("persons_changed.csv shows an unmasked ID")


# Disparity, recomputed from the regions' rows by the textbook formulas.
def measures(ys, ws):
    W = sum(ws)
    mu = sum(w * y for y, w in zip(ys, ws)) / W
    g = sum(wi * wj * abs(yi - yj) for yi, wi in zip(ys, ws) for yj, wj in zip(ys, ws))
    g /= 2 * W * W * mu
    Y = sum(w * y for y, w in zip(ys, ws))
    t = sum(w * y / Y * math.log(y / mu) for y, w in zip(ys, ws) if y > 0)
    cv = math.sqrt(sum(w * (y - mu) ** 2 for y, w in zip(ys, ws)) / W) / mu
    return g, t, cv


for k in (0, 1):
    rows = [r for r in res[k]["by_region"] if r["persons"] > 0]
    ws = [float(r["persons"]) for r in rows]
    for key, ys in (("fund_per_person", [fen(r["fund"]) / 100 / r["persons"] for r in rows]),
                    ("effective_rate", [fen(r["fund"]) / fen(r["total"]) for r in rows])):
        g, t, cv = measures(ys, ws)
        got = res[k]["disparity"][key]
        for name, v in (("gini", g), ("theil", t), ("cv", cv)):
            if abs(float(got[name]) - v) > 2e-6:
                bad(f"scenario {k} {key} {name}: {got[name]} against {v:.6f}")
        tb, tw = float(got["theil_between"]), float(got["theil_within"])
        if abs(tb + tw - float(got["theil"])) > 3e-6:
            bad(f"scenario {k} {key}: between + within != theil")
print("check.py: ok")
