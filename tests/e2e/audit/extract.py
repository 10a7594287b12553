#!/usr/bin/env python3
"""extract.py CLAIMS SETTLEMENTS OUT [--funds]: an NHSA-style audit extract
from a settled province: the claims with what each layer paid, as
actual_<layer> columns, or (--funds) as the extract's fund columns
(hifp_pay = the basic layers, hifmi_pay = critical, maf_pay = assistance)
plus actual_tilted (a layer with no fund code)."""
import csv, sys

claims, settlements, out = sys.argv[1:4]
funds = "--funds" in sys.argv
with open(settlements, newline="") as f:
    r = csv.reader(f)
    head = next(r)
    fund_at = head.index("fund")
    layers = head[head.index("in_scope") + 1:fund_at]
    paid = {row[0]: dict(zip(layers, row[head.index("in_scope") + 1:fund_at])) for row in r}

def fen(s):
    a, _, b = s.partition(".")
    return int(a) * 100 + int((b + "00")[:2])

def yuan(v):
    return "%d.%02d" % (v // 100, v % 100)

with open(claims, newline="") as f, open(out, "w", newline="") as g:
    r = csv.reader(f)
    w = csv.writer(g, lineterminator="\n")
    head = next(r)
    cols = ["hifp_pay", "hifmi_pay", "maf_pay", "actual_tilted"] if funds else \
        ["actual_" + l for l in layers]
    w.writerow(head + cols)
    for row in r:
        p = paid.get(row[0])
        if p is None:
            w.writerow(row + [""] * len(cols))
            continue
        if funds:
            basic = sum(fen(p[l]) for l in layers if l.startswith("basic_"))
            w.writerow(row + [yuan(basic), p["critical"], p["assistance"], p["tilted"]])
        else:
            w.writerow(row + [p[l] for l in layers])
