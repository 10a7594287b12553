"""test_store.py: 503 while the store is unavailable. The store lives on a
small tmpfs; once the disk is full a settlement is answered 503 (nothing
stored, /healthz says so), and after space is freed the retry with the same
msgid settles, once. Skipped (exit 0, said so) where mounting is not allowed.
Usage: test_store.py SANBAO_BINARY SOURCE_DIR TMP"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Client, Fixture, Server, setl_input, settle_infno  # noqa: E402

binary, src, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
mnt = os.path.join(tmp, "mnt")
os.makedirs(mnt)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt],
                  capture_output=True).returncode:
    print("test_store: skipped: no tmpfs mount allowed here")
    sys.exit(0)
srv = None
try:
    fx = Fixture(binary, tmp, persons=200, seed=2)
    db = os.path.join(mnt, "store.db")
    srv = Server(fx, db, log=os.path.join(tmp, "serve.log"))
    port = srv.start(import_people=True)
    h = Client(port)
    c = fx.claims[0]
    st, r, _ = h.fsi(settle_infno(c), "first", c["facility"], setl_input(c))
    assert st == 200 and r["infcode"] == 0, r
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"x" * 65536)
                f.flush()
        except OSError:
            pass
    c2 = fx.claims[1]
    codes = []
    for i in range(40):  # the WAL may still have room for a few pages
        st, r, _ = h.fsi(settle_infno(c2), "full", c2["facility"], setl_input(c2))
        codes.append(st)
        if st == 503:
            break
    assert codes[-1] == 503 and r["infcode"] == -1 and "retry" in r["err_msg"], (codes, r)
    st, t = h.raw("GET", "/healthz", token="")
    assert st == 503, (st, t)
    os.unlink(filler)
    st, r, t1 = h.fsi(settle_infno(c2), "full", c2["facility"], setl_input(c2))
    assert st == 200 and r["infcode"] == 0, r
    st, _, t2 = h.fsi(settle_infno(c2), "full", c2["facility"], setl_input(c2))
    assert t2 == t1, "the retry is answered once"
    st, t = h.raw("GET", "/healthz", token="")
    assert st == 200 and t == "ok\n", (st, t)
    h.close()
    assert srv.stop() == 0
    srv = None
    n = subprocess.run(["sqlite3", db, "SELECT count(*) FROM settlements WHERE msgid='full'"],
                       capture_output=True, text=True, check=True).stdout.strip()
    assert n == "1", n
    out = subprocess.run([binary, "verify-log", "--db", db], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    print(f"test_store: a full disk answered 503 after {len(codes)} tries, nothing stored; "
          "after space was freed the same msgid settled once; the chain verifies")
finally:
    if srv:
        srv.kill()
    subprocess.run(["umount", mnt])
