#!/usr/bin/python3
"""settle.py: the pandas peer of `make bench`.

    /usr/bin/python3 settle.py DATA_DIR OUT_CSV

Settles DATA_DIR/claims.csv for the demo province (policies/demo: 990000.yaml
and the five regions 990100 ... 990500 that extend it) the way an analyst
would in pandas: whole-column operations, groupby cumsum/cummin/shift for the
per-person, per-policy-year running sums, numpy.where/select for conditions.
No per-row Python loop (the only loops run over the handful of parameter rows
and the four layers).

Money is int64 fen and rates int64 basis points, so a payment is exact:
raw = fen x bp, paid = (raw + 5000) // 10000 (half up; every amount here is
non-negative). Amounts are read as float64 and converted with
rint(x * 100): exact for amounts with at most 2 decimals below 2^53 / 100.

The regional parameters are typed by hand from policies/demo/*.yaml (each
region merged over the province file), as in ../duckdb/settle.sql; the YAML is
not parsed. What the analyst knows of the data and so does not code for: gen
writes no `tier` column (990300's tier-2 entry never holds), no paid_<layer>,
no place column, no code values; every base is in_scope; no `repeat`; the
policy year is the calendar year.

Caps: a layer's payment is min(base, round(raw), room), room = cap - what the
pool has paid this policy year. Where the cap is one number for the person's
year the pool has paid min(cap, U), U the running sum of uncapped payments
(exact). Where the cap depends on the claim's identity (大病, 医疗救助) the paid
amount is S_i = U_i + min(0, min over j <= i of (cap_j - U_j)), which equals
the engine's running total unless a cap falls below what was already paid.
"""
import sys

import numpy as np
import pandas as pd

NONE = np.int64(10**15)  # "cap: none", in fen


def fen(s):
    return np.rint(s.to_numpy(dtype=np.float64) * 100).astype(np.int64)


def half_up(num, den=10000):
    return (num + den // 2) // den


# ---- policy parameters, typed from policies/demo/*.yaml ----------------------
# The merged policy in force: region -> version start dates (990300 has one).
VERSIONS = {
    "990100": ["2023-01-01", "2024-01-01"],
    "990200": ["2023-01-01", "2024-01-01"],
    "990300": ["2023-01-01"],
    "990400": ["2023-01-01", "2024-01-01"],
    "990500": ["2023-01-01", "2024-01-01"],
}
# Per-capita disposable income (all), yuan.
INCOME = pd.DataFrame(
    [(r, y, v) for r, ys in {
        "990100": {2022: 46104, 2023: 49023, 2024: 51643},
        "990200": {2022: 40571, 2023: 43140, 2024: 45445},
        "990300": {2022: 31351, 2023: 33335, 2024: 35117},
        "990400": {2022: 27662, 2023: 29414, 2024: 30986},
        "990500": {2022: 36883, 2023: 39218, 2024: 41314},
    }.items() for y, v in ys.items()],
    columns=["region", "prev_year", "income_fen"])
INCOME["income_fen"] *= 100
PRIORITY = {"tekun": 1, "dibao": 2, "monitored": 3, "dibao_edge": 4,
            "illness_poor": 5, "tuopin": 6}
ASSISTED = ["tekun", "dibao", "monitored", "dibao_edge", "illness_poor"]
SPECIAL = ["tekun", "dibao", "monitored"]  # 大病 倾斜: half deductible, +5 points, no cap

# Basic insurance: (deductible by level, rate by level, cap) in yuan and rates,
# for primary / secondary / tertiary.
_EMP = {"basic_emp": ((300, 600, 900), (.90, .87, .85), 300000),
        "basic_emp_mxb": ((0, 0, 0), (.85, .85, .85), 300000),
        "basic_emp_opd": ((800, 800, 800), (.50, .50, .50), 3000)}
_RES = {"basic_res": ((200, 500, 800), (.85, .75, .60), 200000),
        "basic_res_mxb": ((0, 0, 0), (.60, .60, .60), 200000),
        "basic_res_opd": ((0, 0, 0), (.60, .50, .50), 400)}
BASIC = {  # (region, version) -> layer -> params: the province's, overridden
    ("990100", "2023-01-01"): {**_EMP, **_RES,
        "basic_emp": ((300, 600, 900), (.90, .87, .85), 400000),
        "basic_emp_mxb": ((0, 0, 0), (.85, .85, .85), 400000),
        "basic_res": ((300, 600, 1200), (.85, .80, .65), 300000),
        "basic_res_mxb": ((0, 0, 0), (.60, .60, .60), 300000)},
    ("990100", "2024-01-01"): {**_EMP, **_RES,
        "basic_emp": ((300, 600, 900), (.90, .87, .85), 400000),
        "basic_emp_mxb": ((0, 0, 0), (.85, .85, .85), 400000),
        "basic_res": ((300, 600, 1000), (.85, .80, .65), 300000),
        "basic_res_mxb": ((0, 0, 0), (.60, .60, .60), 300000)},
    ("990200", "2023-01-01"): {**_EMP, **_RES,
        "basic_res": ((400, 400, 800), (.85, .85, .75), 200000)},
    ("990200", "2024-01-01"): {**_EMP, **_RES,
        "basic_res": ((400, 400, 800), (.85, .85, .75), 200000)},
    ("990300", "2023-01-01"): {**_EMP, **_RES,
        "basic_res": ((100, 400, 800), (.85, .75, .60), 150000),
        "basic_res_mxb": ((0, 0, 0), (.60, .60, .60), 150000)},
    ("990400", "2023-01-01"): {**_EMP, **_RES,
        "basic_res": ((150, 400, 700), (.90, .80, .65), 200000)},
    ("990400", "2024-01-01"): {**_EMP, **_RES,
        "basic_res": ((150, 400, 700), (.90, .80, .65), 200000)},
    ("990500", "2023-01-01"): {**_EMP, **_RES,
        "basic_emp": ((200, 500, 1000), (.90, .87, .85), 400000),
        "basic_emp_mxb": ((0, 0, 0), (.85, .85, .85), 400000)},
    ("990500", "2024-01-01"): {**_EMP, **_RES,
        "basic_emp": ((200, 500, 1000), (.90, .87, .85), 400000),
        "basic_emp_mxb": ((0, 0, 0), (.85, .85, .85), 400000)},
}
LEVELS = ["primary", "secondary", "tertiary"]
POOL = {"basic_emp": "basic_emp", "basic_emp_mxb": "basic_emp", "basic_emp_opd": "basic_emp_opd",
        "basic_res": "basic_res", "basic_res_mxb": "basic_res", "basic_res_opd": "basic_res_opd"}
LAYERS = ["basic_emp", "basic_emp_mxb", "basic_emp_opd", "basic_res", "basic_res_mxb",
          "basic_res_opd", "critical", "assistance", "tilted"]

# 大病: mode, cap (None: none) and bands [(from yuan, rate)] for ordinary and
# special groups; deductible 50% of last year's income, halved for special.
_CUM = ("cumulative", 300000, [(0, .60), (50000, .70), (100000, .80)],
        [(0, .65), (50000, .75), (100000, .85)])
_990400 = ("above_deductible", 300000, [(0, .55), (50000, .65), (100000, .75)],
           [(0, .60), (50000, .70), (100000, .80)])
CRITICAL = {
    ("990100", "2023-01-01"): _CUM, ("990100", "2024-01-01"): _CUM,
    ("990200", "2023-01-01"): _CUM,
    ("990200", "2024-01-01"): ("cumulative", 400000,
                               [(0, .60), (100000, .65), (200000, .70), (300000, .75)],
                               [(0, .65), (100000, .70), (200000, .75), (300000, .80)]),
    ("990300", "2023-01-01"): ("above_deductible", None,
                               [(0, .60), (50000, .65), (100000, .70)], [(0, .70)]),
    ("990400", "2023-01-01"): _990400, ("990400", "2024-01-01"): _990400,
    ("990500", "2023-01-01"): _CUM, ("990500", "2024-01-01"): _CUM,
}
# 医疗救助 by identity: (rate, deductible share of last year's income, cap);
# 990400 overrides: 2023 cap 2万 for all, 2024 特困 100%.
ASSISTANCE = {"tekun": (.70, 0, 30000), "dibao": (.70, 0, 30000),
              "monitored": (.60, 0, 30000), "dibao_edge": (.60, .10, 30000),
              "illness_poor": (.50, .25, 20000)}
ASSISTANCE_REGION = {("990400", "2023-01-01"): {i: (r, s, 20000) for i, (r, s, _) in ASSISTANCE.items()},
                     ("990400", "2024-01-01"): {**ASSISTANCE, "tekun": (1.0, 0, 30000)}}
# 倾斜救助: (deductible, rate, cap); 990500 has none before 2024.
TILTED = {("990100", "2023-01-01"): (3000, .60, 30000), ("990100", "2024-01-01"): (2000, .60, 30000),
          ("990200", "2023-01-01"): (3000, .60, 20000), ("990200", "2024-01-01"): (3000, .60, 20000),
          ("990300", "2023-01-01"): (3000, .60, 20000),
          ("990400", "2023-01-01"): (3000, .60, 20000), ("990400", "2024-01-01"): (3000, .60, 20000),
          ("990500", "2024-01-01"): (3000, .60, 20000)}


def bp(rate):
    return int(round(rate * 10000))


def param_frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def main(data_dir, out):
    # ---- read ----------------------------------------------------------------
    persons = pd.read_csv(f"{data_dir}/persons.csv", usecols=["id", "scheme", "region", "employment"],
                          dtype={"id": str, "scheme": "category", "region": str, "employment": "category"},
                          keep_default_na=False)
    identities = pd.read_csv(f"{data_dir}/identities.csv", dtype=str, keep_default_na=False)
    claims = pd.read_csv(f"{data_dir}/claims.csv",
                         usecols=["id", "person", "date", "visit", "level", "care_region", "filing",
                                  "total", "in_scope"],
                         dtype={"id": str, "person": str, "date": str, "visit": "category",
                                "level": "category", "care_region": str, "filing": "category",
                                "total": np.float64, "in_scope": np.float64},
                         keep_default_na=False)
    c = claims.merge(persons.rename(columns={"id": "person"}), on="person", how="inner")
    c["total"] = fen(c["total"])
    c["in_scope"] = fen(c["in_scope"])
    c["dt"] = pd.to_datetime(c["date"], format="%Y-%m-%d")
    c["year"] = c["dt"].dt.year.astype(np.int32)

    # One person's claims in order of date, then claim id (compared as bytes).
    c["pk"] = pd.factorize(c["person"])[0]
    order = np.lexsort((c["id"].to_numpy().astype("S"), c["dt"].to_numpy(), c["pk"].to_numpy()))
    c = c.take(order).reset_index(drop=True)

    # ---- context -----------------------------------------------------------------
    c["place"] = np.where(c["care_region"] == c["region"], "local",
                          np.where(c["care_region"].str[:2] == c["region"].str[:2],
                                   "in_province", "cross_province"))
    c["filing"] = c["filing"].replace("", "filed")  # on the categories
    birth = c["person"].str[6:14]
    mmdd = c["dt"].dt.month * 100 + c["dt"].dt.day
    c["age"] = (c["year"] - birth.str[:4].astype(np.int32)
                - (mmdd < birth.str[4:].astype(np.int32)).astype(np.int32))
    vfrom = np.full(len(c), "", dtype=object)
    for region, starts in VERSIONS.items():
        in_region = (c["region"] == region).to_numpy()
        for s in starts:
            vfrom[in_region & (c["dt"] >= pd.Timestamp(s)).to_numpy()] = s
    c["vfrom"] = vfrom
    c = c[c["vfrom"] != ""]  # no version in force: not settled

    # Identity applied: the first in priority held on the date.
    ids = identities.assign(prio=identities["identity"].map(PRIORITY),
                            to=identities["to"].replace("", "9999-12-31"))
    held = c[["id", "person", "date"]].merge(ids, on="person")
    held = held[(held["from"] <= held["date"]) & (held["date"] <= held["to"])]
    first = held.sort_values("prio").drop_duplicates("id").set_index("id")["identity"]
    c["identity"] = c["id"].map(first).fillna("none")

    emp = c["scheme"] == "employee"
    visit = c["visit"].astype(str)
    c["layer"] = np.select(
        [emp & (visit == "inpatient"), emp & (visit == "chronic_outpatient"), emp,
         visit == "inpatient", visit == "chronic_outpatient"],
        ["basic_emp", "basic_emp_mxb", "basic_emp_opd", "basic_res", "basic_res_mxb"],
        "basic_res_opd")
    c["pool"] = c["layer"].map(POOL)

    # ---- layer 1: basic insurance ------------------------------------------------
    bparams = param_frame(
        [(r, v, layer, lvl, ded[i] * 100, bp(rate[i]), cap * 100)
         for (r, v), layers in BASIC.items() for layer, (ded, rate, cap) in layers.items()
         for i, lvl in enumerate(LEVELS)],
        ["region", "vfrom", "layer", "level", "d0", "r0", "cap"])
    c["level"] = c["level"].astype(str)
    c = c.merge(bparams, on=["region", "vfrom", "layer", "level"], how="left", sort=False)
    layer, place, filing = c["layer"], c["place"], c["filing"]
    retired = c["employment"] == "retired"
    in_prov, cross = place == "in_province", place == "cross_province"
    unfiled = filing == "unfiled"
    ref_em = cross & filing.isin(["referral", "emergency"])
    minor = (c["region"] == "990200") & c["age"].between(0, 17)
    # deductible, with the adjust entries in order
    ded = c["d0"].to_numpy().copy()
    ded = np.where((layer == "basic_res") & minor, half_up(ded * 5000), ded)
    ded = np.where(layer.isin(["basic_emp", "basic_res"]) & in_prov, ded * 2, ded)
    ded = np.where((layer == "basic_emp_opd") & retired, 60000, ded)
    # rate without the penalty entries, then the penalty entries
    r = c["r0"].to_numpy().copy()
    r = r + np.where(layer.isin(["basic_emp", "basic_emp_mxb"]) & retired, 500, 0)
    r = r + np.where((layer == "basic_res") & minor, 1000, 0)
    r = r + np.where(layer.isin(["basic_emp", "basic_res"]) & ref_em, -1000, 0)
    r = np.where((layer == "basic_emp_opd") & retired, 6000, r)
    pen = (np.where(layer.isin(["basic_emp", "basic_res"]) & in_prov & unfiled, -1000, 0)
           + np.where(layer.isin(["basic_emp", "basic_res", "basic_emp_mxb", "basic_res_mxb"])
                      & cross & unfiled, -2000, 0))
    skip = (layer.isin(["basic_emp_opd", "basic_res_opd"]) & cross & unfiled).to_numpy()
    B = c["in_scope"].to_numpy()
    # basic_emp_opd accumulates its base over the year (scope: year)
    acc = pd.Series(np.where(skip, 0, B), index=c.index)
    keys = [c["pk"], c["year"], c["pool"]]
    c0 = np.where(layer == "basic_emp_opd", acc.groupby(keys).cumsum().to_numpy() - acc.to_numpy(), 0)
    part = np.maximum(0, c0 + B - np.maximum(c0, ded))
    u = np.where(skip, 0, np.minimum(B, half_up(np.clip(r + pen, 0, 10000) * part)))
    u_bare = np.where(skip, 0, np.minimum(B, half_up(np.clip(r, 0, 10000) * part)))
    us = pd.Series(u, index=c.index)
    room = np.maximum(0, c["cap"].to_numpy() - (us.groupby(keys).cumsum().to_numpy() - u))
    basic_pay = np.minimum(u, room)
    basic_pen = np.maximum(0, np.minimum(u_bare, room) - basic_pay)
    for name in LAYERS[:6]:
        c[name] = np.where(layer == name, basic_pay, 0)
    rem = B - basic_pay

    special = c["identity"].isin(SPECIAL).to_numpy()
    inc = c[["region", "year"]].merge(
        INCOME.assign(year=INCOME["prev_year"] + 1), on=["region", "year"], how="left")["income_fen"].to_numpy()

    def capped(mask, u, cap):
        """Payments under a cap that may vary by claim, per person and year."""
        g = [c["pk"][mask], c["year"][mask]]
        U = pd.Series(u, index=c.index[mask]).groupby(g).cumsum()
        S = U + np.minimum(0, (pd.Series(cap, index=U.index) - U).groupby(g).cummin())
        prev = S.groupby(g).shift(1, fill_value=0)
        return np.maximum(0, (S - prev).to_numpy())

    # ---- layer 2: 大病 (critical) --------------------------------------------------
    m = ((c["scheme"] == "resident") & visit.isin(["inpatient", "chronic_outpatient"])).to_numpy()
    base = rem[m]
    g = [c["pk"][m], c["year"][m]]
    c0 = pd.Series(base, index=c.index[m]).groupby(g).cumsum().to_numpy() - base
    c1 = c0 + base
    D = half_up(inc[m] * 5000)
    D = np.where(special[m], half_up(D * 5000), D)
    key = (c["region"][m] + "|" + c["vfrom"][m]).to_numpy()
    raw = np.zeros(m.sum(), dtype=np.int64)
    cap = np.full(m.sum(), NONE)
    for (region, v), (mode, lcap, bands, sbands) in CRITICAL.items():
        for is_special, bl in ((False, bands), (True, sbands)):
            sel = (key == f"{region}|{v}") & (special[m] == is_special)
            if not sel.any():
                continue
            d = D[sel]
            if lcap is not None and not is_special:
                cap[sel] = lcap * 100
            for i, (frm, rate) in enumerate(bl):
                frm *= 100
                nxt = bl[i + 1][0] * 100 if i + 1 < len(bl) else None
                if mode == "cumulative":
                    lo = np.maximum(frm, d)
                    hi = np.maximum(nxt, d) if nxt is not None else NONE
                else:
                    lo = frm + d
                    hi = nxt + d if nxt is not None else NONE
                raw[sel] += bp(rate) * np.maximum(0, np.minimum(c1[sel], hi) - np.maximum(c0[sel], lo))
    crit = np.zeros(len(c), dtype=np.int64)
    crit[m] = capped(m, np.minimum(base, half_up(raw)), cap)
    c["critical"] = crit
    rem = rem - crit

    # ---- layer 3: 医疗救助 (assistance), less earlier layers' penalties --------------
    m = (c["identity"].isin(ASSISTED) & visit.isin(["inpatient", "chronic_outpatient"])).to_numpy()
    aparams = param_frame(
        [(r, v, i, bp(rate), bp(share), cap * 100)
         for (r, v) in BASIC for i, (rate, share, cap) in
         ASSISTANCE_REGION.get((r, v), ASSISTANCE).items()],
        ["region", "vfrom", "identity", "rate", "share", "cap"])
    ap = c.loc[m, ["region", "vfrom", "identity"]].merge(aparams, how="left")
    base = np.maximum(0, rem[m] - basic_pen[m])
    D = half_up(ap["share"].to_numpy() * inc[m])
    u = np.minimum(base, half_up(ap["rate"].to_numpy() * np.maximum(0, base - D)))
    assist = np.zeros(len(c), dtype=np.int64)
    assist[m] = capped(m, u, ap["cap"].to_numpy())
    c["assistance"] = assist
    rem = rem - assist

    # ---- layer 4: 倾斜救助 (tilted): inpatient care in the province, filed ------------
    tparams = param_frame([(r, v, d * 100, bp(rate), cap * 100) for (r, v), (d, rate, cap) in TILTED.items()],
                          ["region", "vfrom", "tded", "trate", "tcap"])
    tp = c[["region", "vfrom"]].merge(tparams, how="left")
    m = (c["identity"].isin(ASSISTED) & place.isin(["local", "in_province"]) & (visit == "inpatient")
         & ~unfiled & tp["tded"].notna()).to_numpy()
    base = rem[m]
    u = np.minimum(base, half_up(tp["trate"].to_numpy()[m].astype(np.int64)
                                 * np.maximum(0, base - tp["tded"].to_numpy()[m].astype(np.int64))))
    g = [c["pk"][m], c["year"][m]]
    paid_before = pd.Series(u, index=c.index[m]).groupby(g).cumsum().to_numpy() - u
    tilted = np.zeros(len(c), dtype=np.int64)
    tilted[m] = np.minimum(u, np.maximum(0, tp["tcap"].to_numpy()[m].astype(np.int64) - paid_before))
    c["tilted"] = tilted

    # ---- the settlement rows -------------------------------------------------------------
    fund = c[LAYERS].sum(axis=1)
    c["fund"], c["oop"], c["oop_in_scope"] = fund, c["total"] - fund, c["in_scope"] - fund
    c["version"] = c["vfrom"]
    money = ["total", "in_scope", *LAYERS, "fund", "oop", "oop_in_scope"]
    c[money] = c[money] / 100  # fen -> yuan; "%.2f" prints them exactly
    c[["id", "person", "region", "date", "visit", "level", "place", "identity", "version",
       "total", "in_scope", *LAYERS, "fund", "oop", "oop_in_scope", "filing"]].to_csv(
        out, index=False, float_format="%.2f")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: /usr/bin/python3 settle.py DATA_DIR OUT_CSV")
    main(sys.argv[1], sys.argv[2])
