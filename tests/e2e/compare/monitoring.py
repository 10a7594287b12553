#!/usr/bin/env python3
"""monitoring.py COMPARE_DIR SETTLE_DIR...: compare.json's monitoring of
each scenario k equals monitor.json of a separate `sanbao settle --monitor`
with scenario k's policies (SETTLE_DIR k): the totals, and the warnings and
approaching units by rule, by region and rule, and by identity and rule;
each reform's difference equals the difference of the separate runs (over
the names of both); and some reform changes some count, or the test would
prove nothing. Exit 1 with the first mismatch."""
import json
import sys

cdir, sdirs = sys.argv[1], sys.argv[2:]
doc = json.load(open(f"{cdir}/compare.json", encoding="utf-8"))


def bad(msg):
    print(f"monitoring.py: {msg}", file=sys.stderr)
    sys.exit(1)


def flat(m):
    """(dimension, key, rule, what) -> count, from a monitor.json-shaped object."""
    out = {("total", "", "", w): m[w] for w in
           ("warnings", "approaching", "claims_whose_threshold_could_not_be_resolved")}
    for rule, c in m["by_rule"].items():
        for w in ("warnings", "approaching"):
            out[("rule", "", rule, w)] = c[w]
    for dim, field in (("by_region", "region"), ("by_identity", "identity")):
        for row in m[dim]:
            for rule, c in row["rules"].items():
                for w in ("warnings", "approaching"):
                    key = (dim, row[field], rule, w)
                    if key in out:
                        bad(f"{dim} lists {row[field]} twice")
                    out[key] = c[w]
    return out


if len(doc["results"]) != len(sdirs):
    bad(f"{len(doc['results'])} scenarios in compare.json, {len(sdirs)} settle runs given")
want = [flat(json.load(open(f"{d}/monitor.json", encoding="utf-8"))) for d in sdirs]
for k, res in enumerate(doc["results"]):
    got = flat(res["monitoring"])
    if got != want[k]:
        diff = sorted(x for x in set(got) | set(want[k]) if got.get(x) != want[k].get(x))
        x = diff[0]
        bad(f"scenario {k}: {x} is {got.get(x)} in compare.json, {want[k].get(x)} in "
            f"{sdirs[k]}/monitor.json ({len(diff)} differ)")
changed = False
for k, dif in enumerate(doc["differences"], start=1):
    got = flat(dif["monitoring"])
    keys = set(want[0]) | set(want[k])
    exp = {x: want[k].get(x, 0) - want[0].get(x, 0) for x in keys}
    if got != exp:
        x = sorted(x for x in set(got) | keys if got.get(x) != exp.get(x))[0]
        bad(f"reform {k} - baseline: {x} is {got.get(x)} in compare.json, the runs give "
            f"{exp.get(x)}")
    changed |= any(v for v in got.values())
if not changed:
    bad("no reform changes any monitoring count: the test would prove nothing")
print("monitoring.py: ok")
