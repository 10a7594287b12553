"""test_batch.py: the service settles as the batch does.

1. Equivalence: a generated province (`sanbao gen --persons 2000 --seed 3`)
   sent through the service in date order (8 clients, each owning a share
   of the persons), exported, and settled with `sanbao settle`: every
   settlement equal to the fen in every layer.
2. Concurrency (the server with a pool of 4 HTTP threads, --threads 4):
   8 clients settle claims of the same 12 persons at once, all
   on one date; the batch settles a person's claims of one date in claim id
   order, which is the service's commit order (setl_id), so equality means
   no settlement read accumulators another had already used.
Usage: test_batch.py SANBAO_BINARY SOURCE_DIR TMP [PERSONS]"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Client, Fixture, Server, compare_with_batch, setl_input, settle_infno  # noqa

binary, src, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
persons = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
fx = Fixture(binary, tmp, persons=persons, seed=3)


def run_clients(port, work, nthreads=8):
    errors = []

    def worker(items):
        c = Client(port)
        try:
            for infno, msgid, fac, inp in items:
                st, r, t = c.fsi(infno, msgid, fac, inp)
                if st != 200 or r["infcode"] != 0:
                    errors.append(f"{msgid}: {st} {t[:300]}")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            c.close()

    ts = [threading.Thread(target=worker, args=(w,)) for w in work[:nthreads]]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


# ---- 1. equivalence ------------------------------------------------------------
db = os.path.join(tmp, "eq.db")
srv = Server(fx, db)
port = srv.start(import_people=True)
shares = [[] for _ in range(8)]
owner = {}
for c in sorted(fx.claims, key=lambda c: (c["date"], c["id"])):
    k = owner.setdefault(c["person"], len(owner) % 8)
    shares[k].append((settle_infno(c), "m" + c["id"], c["facility"], setl_input(c)))
errs = run_clients(port, shares)
# The batch refuses what the service refuses (same core): those are fine,
# as long as the reasons are settlement refusals and not transport errors.
transport = [e for e in errs if "not settled" not in e]
if transport:
    print("test_batch: FAIL: transport errors:", transport[:5], file=sys.stderr)
    sys.exit(1)
assert srv.stop() == 0
n = compare_with_batch(binary, db, os.path.join(tmp, "eq"), fx.policies)
print(f"test_batch: equivalence: {n} settlements of {len(fx.claims)} claims "
      f"({len(errs)} refused by both) equal to the batch in every layer")

# ---- 2. concurrency on the same persons ---------------------------------------------
db2 = os.path.join(tmp, "conc.db")
srv2 = Server(fx, db2, extra=["--threads", "4"])  # a pool of 4 HTTP threads (default: one per core)
port = srv2.start(import_people=True)
by_person = {}
for c in fx.claims:
    by_person.setdefault(c["person"], []).append(c)
hot = sorted(by_person, key=lambda p: -len(by_person[p]))[:12]
day = {}
for p in hot:
    day[p] = by_person[p][0]["date"]
work = [[] for _ in range(8)]
i = 0
for rnd in range(6):
    for p in hot:
        for c in by_person[p]:
            inp = setl_input(c)
            inp["setl_time"] = day[p]
            inp["mdtrt_id"] = f"{c['id']}-{rnd}"
            work[i % 8].append((settle_infno(c), f"c{rnd}-{c['id']}", c["facility"], inp))
            i += 1
errs = run_clients(port, work)
transport = [e for e in errs if "not settled" not in e]
if transport:
    print("test_batch: FAIL: transport errors:", transport[:5], file=sys.stderr)
    sys.exit(1)
assert srv2.stop() == 0
n2 = compare_with_batch(binary, db2, os.path.join(tmp, "conc"), fx.policies)
print(f"test_batch: concurrency: {n2} settlements of 12 persons by 8 clients at once equal "
      f"serial settlement in commit order")
