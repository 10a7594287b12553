"""test_readme.py: the README's curl examples of `sanbao serve`, run as
written against a server on the province they name (gen --persons 2000
--seed 3): every transaction answers infcode 0 and every REST call 200.
Usage: test_readme.py SANBAO_BINARY SOURCE_DIR TMP"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Fixture, Server  # noqa: E402

binary, src, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
readme = open(os.path.join(src, "README.md")).read()
sec = readme[readme.index("### `sanbao serve`"):]
sec = sec[:sec.index("**`sanbao export")]
blocks = re.findall(r"```sh\n(.*?)```", sec, re.S)
assert len(blocks) == 2, "the serve section has its two curl blocks"
fx = Fixture(binary, tmp, persons=2000, seed=3)
srv = Server(fx, os.path.join(tmp, "readme.db"))
port = srv.start(import_people=True)
env = dict(os.environ, S=f"http://127.0.0.1:{port}", H="Authorization: Bearer hosp",
           ENROL="enrol", CIVIL="civil", AUDITOR="auditor", ADMIN="admin", ANALYST="analyst")
n = 0
for block in blocks:
    # one command per curl (continuation lines joined)
    cmds, cur = [], ""
    for line in block.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("curl") and cur:
            cmds.append(cur)
            cur = ""
        cur += line.split("   #")[0] + "\n"
    cmds.append(cur)
    for c in cmds:
        out = subprocess.run(["bash", "-c", c.replace("curl -s", "curl -s -w '\\n%{http_code}'")],
                             env=env, capture_output=True, text=True)
        body, _, code = out.stdout.rpartition("\n")
        if code != "200" or '"infcode":-1' in body:
            print(f"test_readme: FAIL: {c.strip()[:120]}\n  -> {code} {body[:300]}",
                  file=sys.stderr)
            srv.kill()
            sys.exit(1)
        n += 1
assert srv.stop() == 0
print(f"test_readme: the README's {n} curl examples answer as documented")
