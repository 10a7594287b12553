#!/usr/bin/env bash
# texts.sh: `sanbao code-texts` end to end on the eight policy texts of
# tests/fixtures/texts (copies of ../shared/texts): every document split
# into clauses, unplaced text reported, the tables written atomically, the
# agreement with the hand-coded gold set printed; a GBK copy converted, a
# file that is neither UTF-8 nor GBK refused, a broken frame named at its
# line. Usage: texts.sh SANBAO SOURCE_DIR
set -euo pipefail

sanbao=$1
src=$2
fx=$src/tests/fixtures/texts
frame=$src/frames/poverty-governance.yaml
meta=$src/frames/texts-meta.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "texts.sh: FAIL: $*" >&2
	exit 1
}

docs=("$fx"/*.txt)
[ "${#docs[@]}" -eq 8 ] || fail "expected 8 fixture texts, found ${#docs[@]}"

"$sanbao" code-texts --frame "$frame" --meta "$meta" --gold "$fx/gold.csv" \
	--out "$tmp/out" "${docs[@]}" >"$tmp/report.txt" || fail "code-texts exited $?"
cat "$tmp/report.txt"

out=$tmp/out
for f in clauses.csv unplaced.csv documents.csv table2_goals.csv table3_tools.csv \
	table4_coordination.csv table5_tool_goal.csv table6_coordination_goal.csv \
	by_province.csv departments.csv tables.json agreement.csv; do
	[ -s "$out/$f" ] || fail "$f missing or empty"
done
ls -A "$out" | grep -q '\.tmp$' && fail "a temporary file was left behind"

# Every document is split: no document with zero clauses.
python3 - "$out" <<'PY' || exit 1
import csv, json, sys
out = sys.argv[1]
docs = list(csv.DictReader(open(f"{out}/documents.csv", encoding="utf-8")))
assert len(docs) == 8, len(docs)
for d in docs:
    if int(d["clauses"]) == 0:
        sys.exit(f"texts.sh: FAIL: {d['document']} has no clauses")
    print(f"  {d['document']}: {d['clauses']} clauses, {d['coded']} coded, "
          f"{d['headings']} headings, {d['unplaced_lines']} unplaced lines, "
          f"issuers {d['issuer_count']} ({'joint' if d['joint'] == 'yes' else 'single'})")
stages = {d["stage"] for d in docs}
assert stages == {"脱贫攻坚", "乡村振兴"}, stages
j = json.load(open(f"{out}/tables.json", encoding="utf-8"))
by = j["documents_by_stage"]
assert by["脱贫攻坚"]["documents"] == 4 and by["乡村振兴"]["documents"] == 4, by
# 中共中央 国务院 (2020) and the three Shanxi departments (2021) are joint.
assert by["脱贫攻坚"]["jointly_issued"] == 1 and by["乡村振兴"]["jointly_issued"] == 1, by
# Laws are split article by article: the counts of 第X条 in the sources.
arts = {d["document"]: int(d["clauses"]) for d in docs}
clauses = list(csv.DictReader(open(f"{out}/clauses.csv", encoding="utf-8")))
def articles(doc):
    return sum(1 for c in clauses if c["document"] == doc and c["path"].split(".")[-1].startswith("第")
               and c["path"].endswith("条"))
for doc, n in [("henan_2017_fupin_kaifa_tiaoli.txt", 71),
               ("national_2014-2019_shehui_jiuzhu_zanxing_banfa.txt", 70),
               ("zhejiang_2021_yiliao_baozhang_tiaoli.txt", 59),
               ("shanghai_2024_yiliao_baozhang_tiaoli.txt", 66),
               ("wuhan_2016_yiliao_jiuzhu_shishi_banfa.txt", 35)]:
    got = articles(doc)
    if got != n:
        sys.exit(f"texts.sh: FAIL: {doc}: {got} articles, the source has {n}")
# The 2020 意见 has clauses (一)–(二十八) under eight parts.
paths = [c["path"] for c in clauses if c["document"].startswith("national_2020")]
assert "八.(二十八)" in paths and "一.(一)" in paths and len(paths) == 36, paths
# The tables recomputed from clauses.csv: table 2's and table 3's counts
# per stage, and table 5's tool x goal cells.
stage = {d["document"]: d["stage"] for d in docs}
count = {}
cross = {}
for c in clauses:
    codes = [x for x in c["codes"].split(";") if x]
    for x in codes:
        count[(stage[c["document"]], x)] = count.get((stage[c["document"]], x), 0) + 1
        for y in codes:
            if x.startswith("tool.") and y.startswith("goal."):
                cross[("all", x, y)] = cross.get(("all", x, y), 0) + 1
for table in ("table2_goals.csv", "table3_tools.csv", "table4_coordination.csv"):
    for r in csv.DictReader(open(f"{out}/{table}", encoding="utf-8")):
        if not r["id"]:
            continue
        for s in ("脱贫攻坚", "乡村振兴"):
            want = count.get((s, r["id"]), 0)
            if int(r[f"{s} count"]) != want:
                sys.exit(f"texts.sh: FAIL: {table} {r['id']} {s}: {r[f'{s} count']}, clauses.csv says {want}")
goal_names = {r["id"]: r["category"] for r in csv.DictReader(open(f"{out}/table2_goals.csv", encoding="utf-8")) if r["id"]}
for r in csv.DictReader(open(f"{out}/table5_tool_goal.csv", encoding="utf-8")):
    if r["stage"] != "all" or not r["id"]:
        continue
    for gid, gname in goal_names.items():
        want = cross.get(("all", r["id"], gid), 0)
        if int(r[f"{gname} count"]) != want:
            sys.exit(f"texts.sh: FAIL: table5 {r['id']} x {gid}: {r[f'{gname} count']}, clauses.csv says {want}")
unplaced = list(csv.DictReader(open(f"{out}/unplaced.csv", encoding="utf-8")))
print(f"  unplaced lines reported: {len(unplaced)} (preambles, titles, signatures)")
agree = {r["id"]: r for r in csv.DictReader(open(f"{out}/agreement.csv", encoding="utf-8"))}
k = float(agree["(all categories)"]["kappa"])
# A floor, not a target: the dictionary should stay well above chance.
assert k > 0.6, k
PY

# Tables in the paper's form: groups and categories by stage.
head -1 "$out/table3_tools.csv" | grep -q '脱贫攻坚 count,脱贫攻坚 share%,乡村振兴 count' ||
	fail "table3_tools.csv header"
grep -q '^需求型,社会力量参与,tool.demand.social,' "$out/table3_tools.csv" || fail "table3 rows"

# Without META.csv the stage comes from the header's date by the frame's rule.
"$sanbao" code-texts --frame "$frame" --out "$tmp/nometa" "${docs[@]}" >/dev/null
python3 - "$tmp/nometa" <<'PY'
import csv, sys
for d in csv.DictReader(open(f"{sys.argv[1]}/documents.csv", encoding="utf-8")):
    want = "脱贫攻坚" if int(d["year"]) <= 2020 else "乡村振兴"
    assert d["stage"] == want, (d["document"], d["year"], d["stage"])
    assert d["province"] == "(unknown)"
PY

# GBK: converted with a note; bytes that are neither UTF-8 nor GBK: refused.
iconv -f UTF-8 -t GBK "$fx/wuhan_2023_zhongtedabing_baoxian_jiuzhu_tongzhi.txt" >"$tmp/gbk.txt"
"$sanbao" code-texts --frame "$frame" --out "$tmp/gbk" "$tmp/gbk.txt" >"$tmp/gbk.log"
grep -q 'converted from GBK' "$tmp/gbk.log" || fail "no GBK note"
grep -q 'gbk.txt,.*,yes$' "$tmp/gbk/documents.csv" || fail "GBK document not marked converted"
[ "$(grep -c '^gbk.txt,' "$tmp/gbk/clauses.csv")" -eq 13 ] || fail "GBK copy split differently"
printf '一、甲\n\xff\xfe\xff\n' >"$tmp/bad.txt"
if "$sanbao" code-texts --frame "$frame" --out "$tmp/bad" "$tmp/bad.txt" 2>"$tmp/bad.log"; then
	fail "a file neither UTF-8 nor GBK was accepted"
fi
grep -q 'bad.txt:2:1: not UTF-8' "$tmp/bad.log" || fail "refusal message: $(cat "$tmp/bad.log")"

# A frame error names file, line and column and says what is allowed.
printf 'frame: x\ncategories:\n  - {id: a, name: b, dimension: goal, terms: [{term: t}]}\n' >"$tmp/f.yaml"
if "$sanbao" code-texts --frame "$tmp/f.yaml" --out "$tmp/f" "${docs[0]}" 2>"$tmp/f.log"; then
	fail "a broken frame was accepted"
fi
grep -q 'f.yaml:3:.*needs `requires:` or `excludes:`' "$tmp/f.log" || fail "frame message: $(cat "$tmp/f.log")"

# A gold row that names no clause is an error at its line.
printf 'document,path,codes\nshanxi_2021_jinyibaofa14_chengxiang_jumin_yiliao_baozhang.txt,九,goal.affordable\n' >"$tmp/g.csv"
if "$sanbao" code-texts --frame "$frame" --gold "$tmp/g.csv" --out "$tmp/g" "${docs[@]}" 2>"$tmp/g.log" >/dev/null; then
	fail "a gold row for a missing clause was accepted"
fi
grep -q 'g.csv:2:1: .*no clause "九"' "$tmp/g.log" || fail "gold message: $(cat "$tmp/g.log")"

echo "texts.sh: ok"
