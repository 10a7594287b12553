"""client.py: a small client of `sanbao serve` over real HTTP (http.client,
keep-alive), and the fixtures the service tests share: a generated province,
its facility registry and a token file, a server started on a free port.

A HIS developer can read `Client.fsi` for the whole protocol: POST the
envelope to /fsi/api/{infno} with a bearer token; retry a timed-out
settlement with the same msgid (the service answers it once)."""
import csv
import hashlib
import http.client
import json
import os
import signal
import subprocess
import time

TOKENS = {
    "hosp": ("his-h01", "hospital"),
    "hosp2": ("his-h02", "hospital"),
    "enrol": ("enrol", "enrolment"),
    "civil": ("minzheng", "civil_affairs"),
    "analyst": ("analyst", "analyst"),
    "auditor": ("auditor", "auditor"),
    "admin": ("admin", "admin"),
}


class Client:
    def __init__(self, port, token="hosp", timeout=30):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def raw(self, method, path, body=None, token=None, headers=None):
        """(status, text) of one request; reconnects once on a dropped
        keep-alive connection."""
        h = {"Content-Type": "application/json"}
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode()
        for attempt in range(2):
            try:
                if not self.conn:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                           timeout=self.timeout)
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read().decode()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def fsi(self, infno, msgid, fac, inp, token=None, **env):
        e = {"infno": infno, "msgid": msgid, "fixmedins_code": fac,
             "inf_time": "2024-01-01 10:00:00", "opter": "op1", "input": inp}
        e.update(env)
        st, text = self.raw("POST", "/fsi/api/" + infno, e, token=token)
        try:
            return st, json.loads(text), text
        except ValueError:
            return st, None, text


def sha256(t):
    return hashlib.sha256(t.encode()).hexdigest()


def sm3(t):
    return hashlib.new("sm3", t.encode()).hexdigest() if "sm3" in hashlib.algorithms_available else None


class Fixture:
    """A generated province under tmp, with facilities.csv and tokens."""

    def __init__(self, binary, tmp, persons=300, seed=1, policies_src=None):
        self.bin, self.tmp = binary, tmp
        g = os.path.join(tmp, "g")
        cmd = [binary, "gen", "--persons", str(persons), "--seed", str(seed), "--out", g]
        if policies_src:
            cmd += ["--policies-src", policies_src]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        self.g = g
        self.policies = os.path.join(g, "policies")
        self.claims = list(csv.DictReader(open(os.path.join(g, "claims.csv"))))
        self.persons = list(csv.DictReader(open(os.path.join(g, "persons.csv"))))
        fac = {}
        for c in self.claims:
            fac.setdefault(c["facility"], (c["level"], c["care_region"]))
        self.fac = fac
        self.facilities = os.path.join(tmp, "facilities.csv")
        with open(self.facilities, "w") as f:
            f.write("fixmedins_code,name,level,region\n")
            for k, (lvl, reg) in fac.items():
                f.write(f"{k},医院 {k},{lvl},{reg}\n")
        codes = list(fac)
        self.fac_a = codes[: len(codes) // 2 or 1]
        self.fac_b = codes[len(codes) // 2:]
        self.tokens = os.path.join(tmp, "tokens")
        with open(self.tokens, "w") as f:
            f.write("# hash name role facilities\n")
            for tok, (name, role) in TOKENS.items():
                line = f"sha256:{sha256(tok)}  {name}  {role}"
                if tok == "hosp":
                    line += "  " + ",".join(codes)
                elif tok == "hosp2":
                    line += "  " + ",".join(self.fac_b)
                f.write(line + "\n")
            s = sm3("sm3hosp")
            if s:
                f.write(f"sm3:{s} his-sm3 hospital {','.join(codes)}\n")


class Server:
    def __init__(self, fx, db, extra=(), env=None, log=None):
        self.fx, self.db, self.extra, self.env = fx, db, list(extra), env
        self.log = log or db + ".log"
        self.proc = None
        self.port = None

    def start(self, import_people=False, timeout=60):
        pf = self.db + ".port"
        if os.path.exists(pf):
            os.unlink(pf)
        cmd = [self.fx.bin, "serve", "--policies", self.fx.policies, "--db", self.db,
               "--facilities", self.fx.facilities, "--tokens", self.fx.tokens,
               "--listen", "127.0.0.1:0", "--port-file", pf] + self.extra
        if import_people:
            cmd += ["--persons", os.path.join(self.fx.g, "persons.csv"),
                    "--identities", os.path.join(self.fx.g, "identities.csv")]
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = subprocess.Popen(cmd, stderr=open(self.log, "a"), env=env)
        t0 = time.time()
        while not os.path.exists(pf):
            if self.proc.poll() is not None:
                raise AssertionError("serve exited %s: %s" % (self.proc.returncode,
                                                              open(self.log).read()[-2000:]))
            if time.time() - t0 > timeout:
                raise AssertionError("serve did not start")
            time.sleep(0.02)
        self.port = int(open(pf).read())
        return self.port

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def setl_input(c, psn=None, mdtrt=None):
    """The settlement input of a claims.csv row."""
    return {"psn_no": psn or c["person"], "mdtrt_id": mdtrt or c["id"],
            "med_type": {"inpatient": "21", "chronic_outpatient": "14", "outpatient": "11",
                         "pharmacy": "41"}[c["visit"]],
            "setl_time": c["date"], "medfee_sumamt": c["total"], "inscp_scp_amt": c["in_scope"],
            "preselfpay_amt": c["pre_selfpay"], "overlmt_selfpay": c["over_limit"],
            "fulamt_ownpay_amt": c["out_of_scope"], "filing": c["filing"]}


def settle_infno(c):
    return "2304" if c["visit"] == "inpatient" else "2207"


def compare_with_batch(binary, db, tmp, policies):
    """Exports the store, settles the exported claims with `sanbao settle`
    and compares every settlement in every layer; returns the count."""
    out = os.path.join(tmp, "export")
    subprocess.run([binary, "export", "--db", db, "--out", out], check=True,
                   stdout=subprocess.DEVNULL)
    bo = os.path.join(tmp, "batch")
    subprocess.run([binary, "settle", "--policies", policies,
                    "--persons", os.path.join(out, "persons.csv"),
                    "--identities", os.path.join(out, "identities.csv"),
                    "--claims", os.path.join(out, "claims.csv"), "--out", bo, "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    mine = {r["id"]: r for r in csv.DictReader(open(os.path.join(out, "settlements.csv")))}
    theirs = {r["id"]: r for r in csv.DictReader(open(os.path.join(bo, "settlements.csv")))}
    rej = list(csv.DictReader(open(os.path.join(bo, "rejects.csv"))))
    assert not rej, "the batch rejected exported claims: %s" % rej[:3]
    assert set(mine) == set(theirs), "claim sets differ: %d vs %d" % (len(mine), len(theirs))
    skip = {"id", "person"}
    for k, a in mine.items():
        b = theirs[k]
        for col in set(a) | set(b):
            if col in skip:
                continue
            va, vb = a.get(col, "0.00"), b.get(col, "0.00")
            if va != vb:
                raise AssertionError(f"claim {k}: {col} is {va} in the service, {vb} in the batch")
    return len(mine)


def make_id(first17):
    """A resident ID with its GB 11643 check character."""
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(a) * b for a, b in zip(first17, w)) % 11
    return first17 + "10X98765432"[s]
