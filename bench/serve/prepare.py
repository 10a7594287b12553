"""prepare.py: the service bench's inputs: a generated province with its
facility registry and tokens (tests/serve/client.py's Fixture), and two
request files, "infno<TAB>body" a line: pre-settlements (2206/2303) and
settlements (2207/2304, each claim once, unique msgids) in date order.
Usage: prepare.py SANBAO TMP PERSONS PRESETTLEMENTS"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "serve"))
from client import Fixture, setl_input, settle_infno  # noqa: E402

binary, tmp, persons, npre = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fx = Fixture(binary, tmp, persons=persons, seed=1)
claims = sorted(fx.claims, key=lambda c: (c["date"], c["id"]))


def env(infno, msgid, c):
    return json.dumps({"infno": infno, "msgid": msgid, "fixmedins_code": c["facility"],
                       "input": setl_input(c)}, ensure_ascii=False, separators=(",", ":"))


with open(os.path.join(tmp, "pre.txt"), "w") as f:
    for i in range(npre):
        c = claims[i % len(claims)]
        inf = "2303" if settle_infno(c) == "2304" else "2206"
        f.write(f"{inf}\t{env(inf, 'p%d' % i, c)}\n")
with open(os.path.join(tmp, "settle.txt"), "w") as f:
    # Interleaved by connection later: keep each person's claims in one share
    # is not needed for a bench; date order is kept overall.
    for c in claims:
        inf = settle_infno(c)
        f.write(f"{inf}\t{env(inf, 'b' + c['id'], c)}\n")
print(len(claims))
