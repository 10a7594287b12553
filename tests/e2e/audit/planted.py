#!/usr/bin/env python3
"""planted.py KEY FINDINGS: every anomaly of `sanbao gen --anomalies`'s key
(anomalies.csv) must be a finding of `sanbao audit` (findings.csv): the same
rule and claim (the facility for cost_outlier), the same layer when the key
names one, the same amount at risk when the key fixes it. Each finding
matches one planted anomaly at most. Prints the count by kind and the
findings left over by rule (what audit flags beyond the planting); exits 1
naming each anomaly not found."""
import collections, csv, sys

key = list(csv.DictReader(open(sys.argv[1], newline="")))
got = list(csv.DictReader(open(sys.argv[2], newline="")))
left = list(got)
missing = []
for k in key:
    hit = [f for f in left if f["rule"] == k["rule"] and
           (f["claim"] == k["claim"] if k["claim"] else
            not f["claim"] and f["facility"] == k["facility"]) and
           (not k["layer"] or f["layer"] == k["layer"]) and
           (not k["at_risk"] or f["at_risk"] == k["at_risk"])]
    if not hit:
        missing.append(k)
        continue
    left.remove(hit[0])
kinds = collections.Counter(k["kind"] for k in key)
other = collections.Counter(f["rule"] for f in left)
print("planted %d (%s); found %d; findings beyond the planted: %s" %
      (len(key), ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
       len(key) - len(missing), dict(sorted(other.items())) or "none"))
for m in missing:
    print("NOT FOUND: %s %s %s %s (%s)" % (m["kind"], m["claim"] or m["facility"], m["layer"],
                                          m["at_risk"], m["change"]))
sys.exit(1 if missing else 0)
