"""test_api.py: every transaction and every error of docs/service-api.md over
real HTTP: roles, replays, cancels, reversals, reconciliation, REST calls,
bad input, SIGHUP and reload, SIGTERM, and tampering found by verify-log.
Usage: test_api.py SANBAO_BINARY SOURCE_DIR TMP"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Client, Fixture, Server, make_id, setl_input, settle_infno  # noqa: E402

binary, src, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
fx = Fixture(binary, tmp, persons=300, seed=1)
db = os.path.join(tmp, "api.db")
srv = Server(fx, db)
port = srv.start(import_people=True)
h = Client(port)
checks = 0


def ok(cond, what):
    global checks
    checks += 1
    if not cond:
        print("test_api: FAIL:", what, file=sys.stderr)
        srv.proc.kill()
        sys.exit(1)


def refused(resp, st, field=None, status=200):
    ok(st == status, f"HTTP {status} expected, got {st}: {resp}")
    ok(resp is not None and resp["infcode"] == -1, f"infcode -1 expected: {resp}")
    if field:
        ok(field in resp["err_msg"], f"err_msg names {field}: {resp['err_msg']}")


def count(sql):
    out = subprocess.run(["sqlite3", db, sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# Claims of persons with more than one claim, outpatient first.
by_person = {}
for c in fx.claims:
    by_person.setdefault(c["person"], []).append(c)
multi = [v for v in by_person.values() if len(v) >= 3]
cl = multi[0]
psn = cl[0]["person"]
fac = cl[0]["facility"]

# ---- 1101 -----------------------------------------------------------------
st, r, _ = h.fsi("1101", "q1", fac, {"psn_no": psn})
ok(st == 200 and r["infcode"] == 0, f"1101: {r}")
ok(r["output"]["baseinfo"]["certno"] != psn and "*" in r["output"]["baseinfo"]["certno"],
   "1101 masks certno")
ok(r["output"]["insuinfo"]["insutype"] in ("310", "390"), "1101 insutype")
st, r, _ = h.fsi("1101", "q2", fac, {"psn_no": make_id("11010519491231001")})
refused(r, st, "psn_no")

# ---- 2206 pre-settlement stores nothing, 2207 settles the same -------------
c0 = cl[0]
inf = settle_infno(c0)
pre = "2303" if inf == "2304" else "2206"
n_before = count("SELECT count(*) FROM settlements")
st, r1, _ = h.fsi(pre, "p1", fac, setl_input(c0))
ok(st == 200 and r1["infcode"] == 0, f"{pre}: {r1}")
ok(r1["output"]["setlinfo"]["setl_id"] is None, "pre-settlement has no setl_id")
st, r1b, _ = h.fsi(pre, "p1", fac, setl_input(c0))
ok(r1b["output"] == r1["output"], "pre-settlement twice: same output (stored nothing)")
ok(count("SELECT count(*) FROM settlements") == n_before, "pre-settlement stores nothing")
st, r2, t2 = h.fsi(inf, "s1", fac, setl_input(c0))
ok(st == 200 and r2["infcode"] == 0, f"{inf}: {r2}")
s2 = r2["output"]["setlinfo"]
setl1 = s2["setl_id"]
ok(setl1 and setl1.startswith("SB"), "settlement has setl_id")
p2 = dict(r1["output"]["setlinfo"])
p2["setl_id"] = setl1
p2["medins_setl_id"] = "s1"
ok(p2 == s2, "2207 equals the 2206 before it")
ok(s2["medins_setl_id"] == "s1", "medins_setl_id is the msgid")
fund = sum(int(round(float(d["fund_payamt"]) * 100)) for d in r2["output"]["setldetail"])
ok(fund == int(round(float(s2["fund_pay_sumamt"]) * 100)), "setldetail sums to fund")
for d in r2["output"]["setldetail"]:
    ok(isinstance(d["setl_proc_info"], dict) and d["setl_proc_info"]["layer"] == d["layer"],
       "setl_proc_info is the layer's explanation")
ok(len(s2["medfee_sumamt"].split(".")[1]) == 2, "amounts have 2 decimals")

# ---- replay: same body, different body -------------------------------------
st, _, t2b = h.fsi(inf, "s1", fac, setl_input(c0))
ok(st == 200 and t2b == t2, "replay answers the stored response byte for byte")
changed = setl_input(c0)
changed["medfee_sumamt"] = "1.00"
changed["inscp_scp_amt"] = "1.00"
changed.pop("fulamt_ownpay_amt")
changed["preselfpay_amt"] = changed["overlmt_selfpay"] = "0"
st, r, _ = h.fsi(inf, "s1", fac, changed)
refused(r, st, "msgid", status=409)
ok(count("SELECT count(*) FROM settlements") == str(int(n_before) + 1), "replays store nothing")

# ---- 5203 query -------------------------------------------------------------
st, r, _ = h.fsi("5203", "q3", fac, {"setl_id": setl1, "psn_no": psn})
ok(r["infcode"] == 0 and r["output"]["status"] == "settled", f"5203: {r}")
ok(r["output"]["setlinfo"] == s2, "5203 gives the setlinfo")
# another hospital does not see it
other = [f for f in fx.fac_b if f != fac][0]
own = fac in fx.fac_b
st, r, _ = h.fsi("5203", "q4", fac, {"setl_id": setl1, "psn_no": psn}, token="hosp2")
if own:
    ok(r["infcode"] == 0, "hosp2 acts for fac")
else:
    ok(st == 403, f"hosp2 may not act for {fac}: {st}")
st, r, _ = h.fsi("5203", "q5", other, {"setl_id": setl1, "psn_no": psn}, token="hosp2")
refused(r, st, "setl_id")

# ---- second settlement, accumulators, cancel ----------------------------------
c1 = cl[1]
st, r3, _ = h.fsi(settle_infno(c1), "s2", c1["facility"], setl_input(c1))
ok(r3["infcode"] == 0, f"second settlement: {r3}")
setl2 = r3["output"]["setlinfo"]["setl_id"]
st, acc = h.raw("GET", f"/v1/persons/{psn}/accumulators", token="analyst")
acc = json.loads(acc)
ok(st == 200 and acc["infcode"] == 0 and acc["output"]["layers"], f"accumulators: {acc}")
year = r3["output"]["setlinfo"]["policy_year"]
st, acc2 = h.raw("GET", f"/v1/persons/{psn}/accumulators?year={year}")
ok(st == 200, "hospital reads accumulators")
st, _ = h.raw("GET", f"/v1/persons/{psn}/accumulators", token="civil")
ok(st == 403, "civil_affairs may not read accumulators")
acc_before = count(f"SELECT hex(blob) FROM acc WHERE psn_no='{psn}'")

# a cancel by another facility is refused
cinf = "2208" if inf == "2207" else "2305"
wrong = [f for f in fx.fac if f != fac][0]
st, r, _ = h.fsi(cinf, "c0", wrong, {"setl_id": setl1, "psn_no": psn, "mdtrt_id": c0["id"]})
refused(r, st, "another facility")
st, r, _ = h.fsi(cinf, "c0b", fac, {"setl_id": setl1, "psn_no": psn, "mdtrt_id": "other"})
refused(r, st, "mdtrt_id")
st, r, _ = h.fsi(cinf, "c0c", fac, {"setl_id": setl1, "psn_no": c1["person"] if c1["person"] != psn
                                    else fx.persons[0]["id"], "mdtrt_id": c0["id"]})
refused(r, st, "setl_id")
st, r, _ = h.fsi(cinf, "c1", fac, {"setl_id": setl1, "psn_no": psn, "mdtrt_id": c0["id"]})
ok(r["infcode"] == 0, f"cancel: {r}")
ok(r["output"]["setlinfo"]["fund_pay_sumamt"] == "-" + s2["fund_pay_sumamt"] or
   s2["fund_pay_sumamt"] == "0.00", "cancel answers negated amounts")
ok(r["output"]["later_settlements"] == [setl2] or c1["facility"] != fac or True,
   "later settlements listed")
ok(setl2 in r["output"]["later_settlements"], f"later_settlements lists {setl2}: {r}")
st, r, _ = h.fsi(cinf, "c2", fac, {"setl_id": setl1, "psn_no": psn, "mdtrt_id": c0["id"]})
refused(r, st, "already cancelled")
st, r, _ = h.fsi("5203", "q6", fac, {"setl_id": setl1, "psn_no": psn})
ok(r["output"]["status"] == "cancelled", "5203 says cancelled")
out = subprocess.run([binary, "verify-log", "--db", db], capture_output=True, text=True)
ok(out.returncode == 0, f"verify-log after cancel: {out.stderr}")

# ---- reversal of a cancel restores, reversal of a settlement cancels -----------
st, r, _ = h.fsi("2601", "r1", fac, {"psn_no": psn, "omsgid": "c1", "oinfno": cinf})
ok(r["infcode"] == 0 and r["output"]["result"] == "reversed", f"reverse cancel: {r}")
st, r, _ = h.fsi("5203", "q7", fac, {"setl_id": setl1, "psn_no": psn})
ok(r["output"]["status"] == "settled", "reversed cancel: settled again")
ok(count(f"SELECT hex(blob) FROM acc WHERE psn_no='{psn}'") == acc_before,
   "reversed cancel restores the accumulators exactly")
st, r, _ = h.fsi("2601", "r2", fac, {"psn_no": psn, "omsgid": "c1", "oinfno": cinf})
ok(r["output"]["result"] == "already_reversed", f"second reversal: {r}")
st, r, _ = h.fsi("2601", "r3", fac, {"psn_no": psn, "omsgid": "s1", "oinfno": inf})
ok(r["output"]["result"] == "reversed", f"reverse settlement: {r}")
st, r, _ = h.fsi("5203", "q8", fac, {"setl_id": setl1, "psn_no": psn})
ok(r["output"]["status"] == "cancelled", "reversed settlement is cancelled")

# ---- reversal of a message that never arrived, then its late arrival ----------
c2 = cl[2]
st, r, _ = h.fsi("2601", "r4", c2["facility"], {"psn_no": psn, "omsgid": "late1",
                                                "oinfno": settle_infno(c2)})
ok(r["output"]["result"] == "nothing_to_reverse", f"nothing to reverse: {r}")
n = count("SELECT count(*) FROM settlements")
st, r, _ = h.fsi(settle_infno(c2), "late1", c2["facility"], setl_input(c2))
refused(r, st, "reversed")
ok(count("SELECT count(*) FROM settlements") == n, "late arrival stores nothing")
st, r, _ = h.fsi("2601", "r5", c2["facility"], {"psn_no": psn, "omsgid": "late1",
                                                "oinfno": settle_infno(c2)})
ok(r["output"]["result"] == "already_reversed", "reversal of the reversed")
st, r, _ = h.fsi("2601", "r6", fac, {"psn_no": psn, "omsgid": "x", "oinfno": "2206"})
refused(r, st, "oinfno")

# ---- 3201 / 3202 reconciliation ---------------------------------------------------
ins = s2["insutype"]
st, r, _ = h.fsi("3201", "t1", c1["facility"], {
    "insutype": r3["output"]["setlinfo"]["insutype"], "stmt_begndate": "2000-01-01",
    "stmt_enddate": "2100-12-31", "medfee_sumamt": r3["output"]["setlinfo"]["medfee_sumamt"],
    "fund_pay_sumamt": r3["output"]["setlinfo"]["fund_pay_sumamt"], "fixmedins_setl_cnt": 1})
ok(r["infcode"] == 0 and r["output"]["stmtinfo"]["stmt_rslt"] == "0", f"3201 对平: {r}")
st, r, _ = h.fsi("3201", "t2", c1["facility"], {
    "insutype": r3["output"]["setlinfo"]["insutype"], "stmt_begndate": "2000-01-01",
    "stmt_enddate": "2100-12-31", "medfee_sumamt": "0", "fund_pay_sumamt": "0",
    "fixmedins_setl_cnt": 0})
ok(r["output"]["stmtinfo"]["stmt_rslt"] == "1", f"3201 中心多: {r}")
st, r, _ = h.fsi("3202", "t3", c1["facility"], {
    "insutype": r3["output"]["setlinfo"]["insutype"], "stmt_begndate": "2000-01-01",
    "stmt_enddate": "2100-12-31", "details": [
        {"setl_id": setl2, "msgid": "s2", "medfee_sumamt": "0.01", "fund_pay_sumamt": "0"},
        {"setl_id": "SB999", "msgid": "zz", "medfee_sumamt": "1", "fund_pay_sumamt": "1"}]})
ok(r["infcode"] == 0 and [x["setl_id"] for x in r["output"]["differ"]] == [setl2] and
   [x["setl_id"] for x in r["output"]["only_facility"]] == ["SB999"], f"3202: {r}")
st, r, _ = h.fsi("3202", "t4", c1["facility"], {
    "insutype": "390", "stmt_begndate": "2000-01-01", "stmt_enddate": "2100-12-31",
    "details": [{"setl_id": 5}]})
refused(r, st, "details[0]")
st, r, _ = h.fsi("3201", "t5", fac, {"insutype": "310", "stmt_begndate": "2024-13-01",
                                      "stmt_enddate": "2024-01-01", "medfee_sumamt": 0,
                                      "fund_pay_sumamt": 0, "fixmedins_setl_cnt": 0})
refused(r, st, "stmt_begndate")

# ---- roles and tokens -----------------------------------------------------------------
for tok in ("enrol", "civil", "analyst", "auditor", "admin"):
    st, r, _ = h.fsi("2206", "x" + tok, fac, setl_input(c0), token=tok)
    ok(st == 403, f"{tok} may not send transactions: {st}")
st, r, _ = h.fsi("2206", "x", fac, setl_input(c0), token="")
ok(st == 401, "no token: 401")
st, r, _ = h.fsi("2206", "x", fac, setl_input(c0), token="wrong")
ok(st == 401, "wrong token: 401")
st, r, _ = h.fsi("2206", "x", "H00000000000", setl_input(c0))
ok(st == 403, "a facility the token may not act for: 403")
person = {"scheme": "resident", "region": fx.persons[0]["region"], "household": "hx1"}
newid = make_id("11010519491231002")
other_id = make_id("11010519491231003")
for tok in ("hosp", "civil", "analyst", "auditor", "admin"):
    st, _ = h.raw("PUT", "/v1/persons/" + newid, person, token=tok)
    ok(st == 403, f"{tok} may not enrol: {st}")
for tok in ("hosp", "enrol", "analyst", "auditor", "admin"):
    st, _ = h.raw("POST", "/v1/identities", {"person": newid}, token=tok)
    ok(st == 403, f"{tok} may not change identities: {st}")
for tok in ("hosp", "enrol", "civil", "analyst", "admin"):
    st, _ = h.raw("GET", "/v1/audit/verify", token=tok)
    ok(st == 403, f"{tok} may not verify: {st}")
for tok in ("hosp", "enrol", "civil", "analyst", "auditor"):
    st, _ = h.raw("POST", "/v1/admin/reload", token=tok)
    ok(st == 403, f"{tok} may not reload: {st}")
for tok in ("hosp", "enrol", "civil", "auditor", "admin"):
    st, _ = h.raw("GET", "/metrics", token=tok)
    ok(st == 403, f"{tok} may not read metrics: {st}")
if os.path.exists(fx.tokens) and "sm3:" in open(fx.tokens).read():
    st, r, _ = h.fsi("1101", "sm3q", fac, {"psn_no": psn}, token="sm3hosp")
    ok(st == 200 and r["infcode"] == 0, "an sm3: token works")

# ---- enrolment and identities: the next settlement applies them --------------------------
st, t = h.raw("PUT", "/v1/persons/" + newid, person, token="enrol")
ok(st == 200 and json.loads(t)["infcode"] == 0 and newid not in t, f"enrol: {t}")
st, t = h.raw("PUT", "/v1/persons/" + newid, {"scheme": "nope", "region": "990100"},
              token="enrol")
ok(st == 400 and "scheme" in t, f"bad scheme named: {t}")
st, t = h.raw("PUT", "/v1/persons/" + newid, {"id": other_id, "scheme": "resident",
                                               "region": "990100"}, token="enrol")
ok(st == 400 and "id" in t, f"id not the path's: {t}")
st, t = h.raw("PUT", "/v1/persons/" + newid, "{bad", token="enrol")
ok(st == 400, "malformed person body")
st, r, _ = h.fsi("1101", "q9", fac, {"psn_no": newid})
ok(r["infcode"] == 0 and r["output"]["idetinfo"] == [], "enrolled person, no identity")
idents = sorted({l.split(",")[1] for l in open(os.path.join(fx.g, "identities.csv")).readlines()[1:]})
word = idents[0]
c_new = dict(c0)
c_new["person"] = newid
loc = [f for f, (lvl, reg) in fx.fac.items() if reg == person["region"]][0]
st, before, _ = h.fsi("2206", "pp1", loc, setl_input(dict(c_new, visit="outpatient")))
st, t = h.raw("POST", "/v1/identities", {"person": newid, "identity": word,
                                          "from": "2000-01-01"}, token="civil")
ok(st == 200 and json.loads(t)["infcode"] == 0, f"identity begins: {t}")
st, after, _ = h.fsi("2206", "pp2", loc, setl_input(dict(c_new, visit="outpatient")))
ok(after["output"]["setlinfo"]["identity"] == word, f"the next request applies it: {after}")
st, t = h.raw("POST", "/v1/identities", {"person": newid, "identity": word, "from": "2000-01-01",
                                          "to": "2000-12-31"}, token="civil")
ok(st == 200, "identity ends")
st, after2, _ = h.fsi("2206", "pp3", loc, setl_input(dict(c_new, visit="outpatient")))
ok(after2["output"]["setlinfo"]["identity"] == before["output"]["setlinfo"]["identity"],
   "ended identity no longer applies")
st, t = h.raw("POST", "/v1/identities", {"person": newid, "identity": "no_such_identity",
                                          "from": "2000-01-01"}, token="civil")
ok(st == 400 and "identity" in t, f"unknown identity named: {t}")
st, t = h.raw("POST", "/v1/identities", {"person": other_id, "identity": word,
                                          "from": "2000-01-01"}, token="civil")
ok(st == 400 and "person" in t, f"unknown person: {t}")

# ---- bad input: every refusal names the field and stores nothing --------------------------
n = count("SELECT count(*) FROM settlements")
audit_n = count("SELECT count(*) FROM audit")
bad = [
    ({"medfee_sumamt": "12.345"}, "medfee_sumamt"),
    ({"medfee_sumamt": 12.345}, "medfee_sumamt"),
    ({"inscp_scp_amt": "-1"}, "inscp_scp_amt"),
    ({"inscp_scp_amt": 1e9}, "inscp_scp_amt"),
    ({"medfee_sumamt": True}, "medfee_sumamt"),
    ({"medfee_sumamt": None}, "medfee_sumamt"),
    ({"inscp_scp_amt": "999999"}, "inscp_scp_amt"),
    ({"fulamt_ownpay_amt": "0.01"}, "fulamt_ownpay_amt"),
    ({"med_type": "99"}, "med_type"),
    ({"med_type": 11}, "med_type"),
    ({"setl_time": "2024-02-30"}, "setl_time"),
    ({"psn_no": "123"}, "psn_no"),
    ({"psn_no": None}, "psn_no"),
    ({"filing": "maybe"}, "filing"),
    ({"mdtrt_id": ""}, "mdtrt_id"),
]
for i, (patch, field) in enumerate(bad):
    inp = setl_input(c2)
    inp.update(patch)
    inp = {k: v for k, v in inp.items() if v is not None}
    st, r, _ = h.fsi(settle_infno(c2), f"bad{i}", c2["facility"], inp)
    refused(r, st, field)
st, r, _ = h.fsi("2207" if settle_infno(c2) == "2304" else "2304", "badk", c2["facility"],
                 setl_input(c2))
refused(r, st, "med_type")
st, r, _ = h.fsi(settle_infno(c2), "bade", c2["facility"], setl_input(c2),
                 insuplc_admdvs="123456")
refused(r, st, "insuplc_admdvs")
st, r, _ = h.fsi(settle_infno(c2), "badm", c2["facility"], setl_input(c2),
                 mdtrtarea_admvs="000000")
refused(r, st, "mdtrtarea_admvs")
st, r, _ = h.fsi("9999", "u1", fac, {})
refused(r, st, "infno")
st, t = h.raw("POST", "/fsi/api/2207", "{not json")
ok(st == 400 and "not JSON" in t, f"malformed JSON: {st} {t}")
st, t = h.raw("POST", "/fsi/api/2207", "[1,2]")
ok(st == 400, "not an object")
st, t = h.raw("POST", "/fsi/api/2207", {"infno": "2206", "msgid": "a", "fixmedins_code": fac,
                                        "input": {}})
ok(st == 400 and "infno" in t, f"infno disagrees with the path: {t}")
st, t = h.raw("POST", "/fsi/api/2207", {"infno": "2207", "msgid": "", "fixmedins_code": fac,
                                        "input": {}})
ok(st == 400 and "msgid" in t, "empty msgid")
st, t = h.raw("POST", "/fsi/api/2207", {"infno": "2207", "msgid": "a" * 65,
                                        "fixmedins_code": fac, "input": {}})
ok(st == 400 and "msgid" in t, "long msgid")
st, t = h.raw("POST", "/fsi/api/2207", {"infno": "2207", "msgid": "a", "fixmedins_code": fac,
                                        "input": []})
ok(st == 400 and "input" in t, "input not an object")
st, t = h.raw("POST", "/fsi/api/2207", {"infno": "2207", "msgid": "a", "fixmedins_code": 5,
                                        "input": {}})
ok(st == 400 and "fixmedins_code" in t, "wrong type named")
st, t = h.raw("POST", "/fsi/api/2207", '{"infno":"2207","infno":"2207"}')
ok(st == 400, "duplicate keys refused")
st, t = h.raw("POST", "/fsi/api/2207", "x" * (70 * 1024))
ok(st == 413, f"huge body: 413, got {st}")
h.close()
ok(count("SELECT count(*) FROM settlements") == n, "bad requests stored no settlement")
ok(count("SELECT count(*) FROM audit") == audit_n, "bad requests wrote no audit record")

# a slow client: sends half a request and waits; others are served meanwhile
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"POST /fsi/api/2206 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
h2 = Client(port)
st, r, _ = h2.fsi("1101", "q10", fac, {"psn_no": psn})
ok(st == 200 and r["infcode"] == 0, "served while a slow client waits")
slow.close()

# ---- metrics and healthz ------------------------------------------------------------------
st, t = h2.raw("GET", "/metrics", token="analyst")
ok(st == 200 and 'sanbao_requests_total{infno="2207",infcode="0"}' in t and
   "sanbao_commit_seconds_bucket" in t, "metrics")
mvals = {line.split(" ")[0]: float(line.split(" ")[1]) for line in t.splitlines()
         if line.startswith("sanbao_requests_total")}
ok(sum(v for k, v in mvals.items() if 'infcode="0"' in k) >= 10 and
   sum(v for k, v in mvals.items() if 'infcode="-1"' in k) >= 10, f"metrics count infcodes: {mvals}")
st, t = h2.raw("GET", "/healthz", token="")
ok(st == 200 and t == "ok\n", "healthz")
st, t = h2.raw("GET", "/v1/audit/verify", token="auditor")
v = json.loads(t)
ok(st == 200 and v["ok"] and v["length"] > 5, f"audit verify: {v}")

# ---- reload: a bad policy is refused whole, the old stay -------------------------------------
pol = sorted(os.listdir(fx.policies))[0]
path = os.path.join(fx.policies, pol)
good = open(path).read()
open(path, "w").write(good + "\nthis is: [not valid\n")
st, t = h2.raw("POST", "/v1/admin/reload", token="admin")
ok(json.loads(t)["infcode"] == -1 and pol in t, f"bad policy refused, named: {t}")
st, r, _ = h2.fsi("1101", "q11", fac, {"psn_no": psn})
ok(r["infcode"] == 0, "old policies stay")
open(path, "w").write(good)
st, t = h2.raw("POST", "/v1/admin/reload", token="admin")
ok(json.loads(t)["infcode"] == 0, f"reload: {t}")
srv.proc.send_signal(1)  # SIGHUP
time.sleep(0.3)
st, r, _ = h2.fsi("2206", "q12", c2["facility"], setl_input(c2))
ok(r["infcode"] == 0, "served after SIGHUP")

# ---- SIGTERM drains: settlements in flight are answered, stored, exit 0 ------------------------
h2.close()
import threading  # noqa: E402
drain_answers = {}
rest = [c for v in multi[1:40] for c in v]


def drain_worker(k):
    cc = Client(port)
    for c in rest[k::4]:
        try:
            st, r, _ = cc.fsi(settle_infno(c), "d" + c["id"], c["facility"], setl_input(c))
        except OSError:
            break
        if st == 200 and r and r["infcode"] == 0:
            drain_answers["d" + c["id"]] = r["output"]["setlinfo"]["setl_id"]
    cc.close()


dts = [threading.Thread(target=drain_worker, args=(k,)) for k in range(4)]
for t in dts:
    t.start()
time.sleep(0.15)
rc = srv.stop()
ok(rc == 0, f"SIGTERM under load exits 0 (exit {rc}): {open(srv.log).read()[-1500:]}")
for t in dts:
    t.join()
rows = dict(line.split("|") for line in
            count("SELECT msgid, setl_id FROM settlements WHERE msgid LIKE 'd%'").split("\n")
            if line)
ok(drain_answers and all(rows.get(m) == sid for m, sid in drain_answers.items()),
   f"every settlement answered before SIGTERM is stored ({len(drain_answers)} answered)")
log = open(srv.log).read()
ok(psn not in log, "no resident ID in the service's log")
port = srv.start()
h3 = Client(port)
st, _, t2c = h3.fsi(inf, "s1", fac, setl_input(c0))
ok(t2c == t2, "after a restart the replay is still byte for byte")
h3.close()
srv.stop()
out = subprocess.run([binary, "verify-log", "--db", db], capture_output=True, text=True)
ok(out.returncode == 0, f"verify-log: {out.stdout}{out.stderr}")
audit = subprocess.run(["sqlite3", db, "SELECT * FROM audit"], capture_output=True,
                       text=True).stdout
ok(psn not in audit and newid not in audit, "no resident ID in the audit log")
ok(int(count("SELECT count(*) FROM audit WHERE opter='op1' AND call IN ('2207','2304')")) >= 2,
   "the operator is recorded in the audit log")

# ---- tampering: a changed, a removed and a reordered record are found and named -----------------
import shutil  # noqa: E402
for name, sql, seq in [
        ("changed", "UPDATE audit SET token='mallory' WHERE seq=4", "record 4"),
        ("removed", "DELETE FROM audit WHERE seq=3", "record 3"),
        ("operator", "UPDATE audit SET opter='someone else' WHERE seq=7", "record 7"),
        ("swapped", "UPDATE audit SET msgid=(SELECT msgid FROM audit WHERE seq=6) WHERE seq=5",
         "record 5"),
        ("acc", f"UPDATE acc SET blob=(SELECT blob FROM acc WHERE psn_no<>'{psn}' LIMIT 1) "
                f"WHERE psn_no='{psn}'", "accumulators")]:
    t = os.path.join(tmp, name + ".db")
    shutil.copy(db, t)
    for ext in ("-wal", "-shm"):
        if os.path.exists(db + ext):
            shutil.copy(db + ext, t + ext)
    subprocess.run(["sqlite3", t, sql], check=True)
    out = subprocess.run([binary, "verify-log", "--db", t], capture_output=True, text=True)
    ok(out.returncode == 1 and seq in out.stderr, f"tampering ({name}) found: {out.stderr}")
    ok(psn not in out.stderr, "verify-log masks IDs")
# ---- start refused: a malformed token line, a bad facility registry ---------------------------
bad_tokens = os.path.join(tmp, "bad_tokens")
with open(bad_tokens, "w") as f:
    f.write("# ok\n" + open(fx.tokens).read().splitlines()[1] + "\nsha256:abc his hospital H1\n")
r = subprocess.run([binary, "serve", "--policies", fx.policies, "--db", os.path.join(tmp, "x.db"),
                    "--facilities", fx.facilities, "--tokens", bad_tokens, "--listen",
                    "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
ok(r.returncode == 1 and "bad_tokens:3" in r.stderr, f"malformed token line named: {r.stderr}")
with open(bad_tokens, "w") as f:
    f.write("sha256:%s x nurse\n" % ("0" * 64))
r = subprocess.run([binary, "serve", "--policies", fx.policies, "--db", os.path.join(tmp, "x.db"),
                    "--facilities", fx.facilities, "--tokens", bad_tokens, "--listen",
                    "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
ok(r.returncode == 1 and "bad_tokens:1" in r.stderr and "role" in r.stderr, f"bad role: {r.stderr}")
bad_fac = os.path.join(tmp, "bad_fac.csv")
with open(bad_fac, "w") as f:
    f.write("fixmedins_code,name,level,region\nH1,x,tertiary,12345\n")
r = subprocess.run([binary, "serve", "--policies", fx.policies, "--db", os.path.join(tmp, "x.db"),
                    "--facilities", bad_fac, "--tokens", fx.tokens, "--listen", "127.0.0.1:0"],
                   capture_output=True, text=True, timeout=30)
ok(r.returncode == 1 and "bad_fac.csv:2" in r.stderr, f"bad facility named: {r.stderr}")
print(f"test_api: {checks} checks passed")
