#!/usr/bin/env python3
"""plant.py EXTRACT IDENTITIES OUT KEY [N] [SEED]: plants N anomalies of
each kind into a clean extract (extract.py's, actual_<layer> columns) and
writes the key of what it planted (rule, claim, layer, amount at risk or
empty). Each kind goes to other persons, and a planted row comes after the
person's other claims, so that it changes no other claim's recomputation:

  overpaid               a layer's actual payment raised by 1..10000 fen
  duplicate              the person's last claim settled again (id + "D")
  duplicate (mdtrt_id)   the last claim again under the same visit id, 90% of it
  split_stay             an inpatient stay at the same facility 5 days after
                         the person's last stay (no payment given: not compared)
  overlap                an inpatient stay at another facility admitted 2 days
                         before the person's last stay was discharged
  assistance_ineligible  assistance paid (100.00) on an inpatient claim of a
                         person who holds no identity at all
"""
import csv, random, sys

src, idents, out, key = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 5
rnd = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 1)
rows = list(csv.reader(open(src, newline="")))
head, body = rows[0], rows[1:]
col = {h: i for i, h in enumerate(head)}
head = head + ["mdtrt_id", "begin"]
for r in body:
    r += ["M" + r[0], ""]
col["mdtrt_id"], col["begin"] = len(head) - 2, len(head) - 1
layers = [h for h in head if h.startswith("actual_")]
with_identity = {r[0] for r in csv.reader(open(idents, newline=""))}
by_person = {}
for r in body:
    by_person.setdefault(r[col["person"]], []).append(r)
for v in by_person.values():
    v.sort(key=lambda r: (r[col["date"]], r[0]))

def fen(s):
    a, _, b = s.partition(".")
    return int(a) * 100 + int((b + "00")[:2])

def yuan(v):
    return "%d.%02d" % (v // 100, v % 100)

def day(s, k):
    import datetime
    d = datetime.date.fromisoformat(s[:10]) + datetime.timedelta(days=k)
    return d.isoformat()

persons = sorted(by_person)
rnd.shuffle(persons)
used = set()
planted, added = [], []

def take(ok):
    for p in persons:
        if p not in used and ok(p):
            used.add(p)
            return by_person[p]
    sys.exit("plant.py: no person left for a kind")

last = lambda v: v[-1]
for _ in range(n):  # overpaid
    v = take(lambda p: any(fen(r[col[l]]) for r in by_person[p] for l in layers))
    r = rnd.choice([r for r in v if any(fen(r[col[l]]) for l in layers)])
    l = rnd.choice([l for l in layers if fen(r[col[l]])])
    k = rnd.randint(1, 10000)
    r[col[l]] = yuan(fen(r[col[l]]) + k)
    planted.append(("overpaid", r[0], l[7:], yuan(k)))
for _ in range(n):  # duplicate: the same visit again
    v = take(lambda p: True)
    d = list(last(v))
    d[0] += "D"
    d[col["mdtrt_id"]] = "M" + d[0]
    added.append(d)
    planted.append(("duplicate", d[0], "", ""))
for _ in range(n):  # duplicate: one visit id twice, other amounts
    v = take(lambda p: True)
    d = list(last(v))
    d[0] += "M"
    for c in ("total", "in_scope", "pre_selfpay", "over_limit", "out_of_scope"):
        d[col[c]] = yuan(fen(d[col[c]]) * 9 // 10)
    s = sum(fen(d[col[c]]) for c in ("in_scope", "pre_selfpay", "over_limit", "out_of_scope"))
    d[col["total"]] = yuan(s)
    for l in layers:
        d[col[l]] = ""
    added.append(d)
    planted.append(("duplicate", d[0], "", ""))
inpatient_last = lambda p: last(by_person[p])[col["visit"]] == "inpatient" and \
    last(by_person[p])[col["date"]] < "2024-12-15"
for _ in range(n):  # split_stay
    v = take(inpatient_last)
    d = list(last(v))
    d[0] += "S"
    d[col["mdtrt_id"]] = "M" + d[0]
    d[col["begin"]] = day(d[col["date"]], 5)
    d[col["date"]] = day(d[col["date"]], 8)
    for l in layers:
        d[col[l]] = ""
    added.append(d)
    planted.append(("split_stay", d[0], "", ""))
for _ in range(n):  # overlap
    v = take(inpatient_last)
    d = list(last(v))
    d[0] += "O"
    d[col["mdtrt_id"]] = "M" + d[0]
    d[col["facility"]] = d[col["facility"]] + "X"
    d[col["begin"]] = day(d[col["date"]], -2)
    d[col["date"]] = day(d[col["date"]], 1)
    for l in layers:
        d[col[l]] = ""
    added.append(d)
    planted.append(("overlap", d[0], "", ""))
for _ in range(n):  # assistance_ineligible
    v = take(lambda p: p not in with_identity and any(
        r[col["visit"]] == "inpatient" and not fen(r[col["actual_assistance"]]) for r in by_person[p]))
    r = [r for r in v if r[col["visit"]] == "inpatient" and not fen(r[col["actual_assistance"]])][0]
    r[col["actual_assistance"]] = "100.00"
    planted.append(("assistance_ineligible", r[0], "assistance", "100.00"))
w = csv.writer(open(out, "w", newline=""), lineterminator="\n")
w.writerow(head)
w.writerows(body + added)
k = csv.writer(open(key, "w", newline=""), lineterminator="\n")
k.writerow(["rule", "claim", "layer", "at_risk"])
k.writerows(planted)
