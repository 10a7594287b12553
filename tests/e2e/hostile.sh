#!/usr/bin/env bash
# hostile.sh: malformed and careless input through settle, monitor, roster,
# pseudonymize, the policy loader and the case runner (issue 14). One table
# line per variant: how to make the bad input from a small generated
# province, which tool reads it, the exit status and a message (an extended
# regex over stdout, stderr and rejects.csv) that must say what happened.
# For every variant it also checks:
#   - settle and monitor: summary.json's input rows = settled + rejected,
#     and the rows read are the file's non-blank physical lines (a stray
#     quote must not swallow lines); the money reconciles (fund + oop =
#     total; input total = settled + rejected total);
#   - no valid resident ID of the inputs appears in any output other than
#     settlements.csv (nor in any output of pseudonymize), nor on stdout or
#     stderr;
#   - the text planted in a file that is not a policy is never echoed;
#   - no run hangs (each gets a time limit).
# Usage: hostile.sh SANBAO_BINARY SOURCE_DIR
#
# To add a variant, add one line to the table below:
#   v NAME TOOL STATUS 'MESSAGE-REGEX' 'TRANSFORM' [EXTRA-ARGS...]
# TRANSFORM is shell code that writes the malformed file to stdout from
# "$IN", the clean file the tool reads (claims.csv for claims, ...); for the
# policy tool it edits the policy folder "$P" in place instead. Runs of
# settle, monitor and roster are also checked for reconciliation. TOOL is one
# of: claims persons identities (settle, that file transformed), claims3
# (settle, the larger province, --threads 3), monitor (settlements.csv),
# roster (identities.csv), pseudo (pseudonymize persons.csv), policy
# (settle, the policy folder edited), test (sanbao test on "$P", a folder
# the transform fills). A TOOL ending in "-pipe" hands the file over a pipe
# as /dev/stdin. STATUS "-" accepts any non-zero status.
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "no binary $bin"
command -v python3 >/dev/null || fail "python3 is needed"

# ---- the provinces ------------------------------------------------------
# small: every variant; large: > 3 MiB of claims, so that --threads 3 cuts
# the file into three chunks.
"$bin" gen --persons 1500 --seed 7 --out "$tmp/small" >/dev/null || fail "gen small"
"$bin" gen --persons 16000 --seed 7 --out "$tmp/large" >/dev/null || fail "gen large"
[ "$(stat -c %s "$tmp/large/claims.csv")" -gt $((3 * 1048576 + 65536)) ] ||
	fail "the large province's claims are too small to be cut in three"

# A clean settlement of the small province, for monitor and roster.
"$bin" settle --policies "$tmp/small/policies" --persons "$tmp/small/persons.csv" \
	--identities "$tmp/small/identities.csv" --claims "$tmp/small/claims.csv" \
	--out "$tmp/small/out" --quiet >/dev/null || fail "clean settle"

# Every valid resident ID of the inputs (check digit verified), to look for.
python3 - "$tmp/small/persons.csv" "$tmp/large/persons.csv" >"$tmp/ids.txt" <<'EOF' ||
import re, sys
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ids = set()
for path in sys.argv[1:]:
    for tok in re.findall(r'(?<![0-9])[0-9]{17}[0-9X](?![0-9A-Za-z])', open(path).read()):
        if "10X98765432"[sum(int(c) * w for c, w in zip(tok, W)) % 11] == tok[17]:
            ids.add(tok)
print("\n".join(sorted(ids)))
EOF
	fail "ID list"
[ "$(wc -l <"$tmp/ids.txt")" -gt 1000 ] || fail "too few IDs found in persons.csv"

SECRET=HOSTILE-SECRET-7f3a
key="$tmp/key"
printf '0123456789abcdef0123456789abcdef' >"$key"

# ---- helpers for transforms -----------------------------------------------
# setcol LINE COLUMN VALUE: the file with one CSV field replaced (unquoted
# files only, as gen writes them).
setcol() { awk -F, -v OFS=, -v l="$1" -v c="$2" -v x="$3" 'NR == l { $c = x } 1' "$IN"; }
# Non-blank physical lines after the header: what must be settled or rejected.
data_lines() { LC_ALL=C awk 'NR > 1 && !/^\r?$/' "$1" | wc -l; }

# A policy nested 20000 lists deep, and one whose aliases expand to 10^9.
deep_yaml() {
	printf 'sanbao: 1\nregion: {code: "990900"}\nversions: '
	head -c 20000 /dev/zero | tr '\0' '['
	echo
}
yaml_bomb() {
	printf 'sanbao: 1\nregion: {code: "990900"}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n'
	for i in 1 2 3 4 5 6 7 8 9; do
		printf 'a%d: &a%d [' "$i" "$i"
		for k in 1 2 3 4 5 6 7 8 9; do printf '*a%d, ' $((i - 1)); done
		printf '*a%d]\n' $((i - 1))
	done
}

# Each variant runs in a subshell, so that one failure (fail exits it) is
# reported and the others still run.
count=0
failed=0
v() {
	count=$((count + 1))
	(variant "$@") || failed=$((failed + 1))
}
variant() {
	local name=$1 tool=$2 status=$3 msg=$4 transform=$5
	shift 5
	local d="$tmp/v$count" base=small pipe=0 threads=2
	mkdir -p "$d/in"
	case $tool in *-pipe) pipe=1; tool=${tool%-pipe} ;; esac
	[ "$tool" = claims3 ] && { base=large; threads=3; }
	local b="$tmp/$base"
	cp "$b/persons.csv" "$b/identities.csv" "$b/claims.csv" "$d/in/"
	cp "$b/out/settlements.csv" "$d/in/" 2>/dev/null
	cp -r "$b/policies" "$d/policies"
	local file=
	case $tool in
	claims | claims3) file=claims.csv ;;
	persons | pseudo) file=persons.csv ;;
	identities | roster) file=identities.csv ;;
	monitor) file=settlements.csv ;;
	esac
	if [ -n "$file" ]; then
		IN="$b/$file"
		[ "$tool" = monitor ] && IN="$b/out/settlements.csv"
		(IN=$IN; eval "$transform") >"$d/in/$file" || fail "$name: transform"
	else
		mkdir -p "$d/p"
		(P="$d/policies"; [ "$tool" = test ] && P="$d/p"; IN=; eval "$transform") ||
			fail "$name: transform"
	fi
	local input="$d/in/$file" arg
	arg=$input
	[ "$pipe" = 1 ] && arg=/dev/stdin
	local -a inputs=(--persons "$d/in/persons.csv" --identities "$d/in/identities.csv")
	case $tool in persons) inputs[1]=$arg ;; identities) inputs[3]=$arg ;; esac
	local -a cmd
	case $tool in
	claims | claims3 | persons | identities | policy)
		local claims="$d/in/claims.csv"
		case $tool in claims | claims3) claims=$arg ;; esac
		cmd=("$bin" settle --policies "$d/policies" "${inputs[@]}" --claims "$claims"
		     --out "$d/out" --threads "$threads")
		;;
	monitor)
		cmd=("$bin" monitor --policies "$d/policies" "${inputs[@]}" --settlements "$arg"
		     --out "$d/out")
		;;
	roster)
		cmd=("$bin" roster --policies "$d/policies" --persons "$d/in/persons.csv"
		     --identities "$arg" --settlements "$d/in/settlements.csv" --out "$d/out")
		;;
	pseudo)
		mkdir -p "$d/out"
		cmd=("$bin" pseudonymize --key "$key" "$arg" "$d/out/persons.csv")
		;;
	test)
		cmd=("$bin" test "$d/p")
		;;
	*) fail "$name: unknown tool $tool" ;;
	esac
	local rc
	if [ "$pipe" = 1 ]; then
		cat "$input" | timeout 60 "${cmd[@]}" "$@" >"$d/stdout" 2>"$d/stderr"
		rc=$?
	else
		timeout 60 "${cmd[@]}" "$@" >"$d/stdout" 2>"$d/stderr" </dev/null
		rc=$?
	fi
	[ "$rc" = 124 ] && fail "$name: hung (killed after 60 s)"
	[ "$rc" -ge 128 ] && fail "$name: died of signal $((rc - 128)): $(tail -3 "$d/stderr")"
	if [ "$status" = - ]; then
		[ "$rc" != 0 ] || fail "$name: exit status 0, expected a failure"
	else
		[ "$rc" = "$status" ] ||
			fail "$name: exit status $rc, expected $status: $(tail -3 "$d/stderr")"
	fi
	cat "$d/stdout" "$d/stderr" >"$d/said"
	[ -f "$d/out/rejects.csv" ] && cat "$d/out/rejects.csv" >>"$d/said"
	grep -Eq -- "$msg" "$d/said" || fail "$name: no message matching '$msg'; said: $(head -c 600 "$d/said")"
	# Reconciliation, from summary.json.
	if [ "$rc" = 0 ] && [ -f "$d/out/summary.json" ] && [ "$tool" != roster ]; then
		local want=
		case $tool in claims | claims3 | monitor) want=$(data_lines "$input") ;; esac
		python3 - "$d/out/summary.json" "$want" "$tool" "$(data_lines "$d/in/persons.csv")" \
			"$(data_lines "$d/in/identities.csv")" <<'EOF' || fail "$name: does not reconcile"
import json, sys
s = json.load(open(sys.argv[1]))
want, tool = sys.argv[2], sys.argv[3]
r = s["reconciliation"]["rows"]
ok = r["input"] == r["settled"] + r["rejected"] and r["balanced"]
# persons and identities: every line is a row, loaded or rejected.
for key, lines, kept in (("persons", sys.argv[4], "enrolled"), ("identities", sys.argv[5], "loaded")):
    t = s.get(key)
    if t and (t["rows"] != int(lines) or t["rows"] != t[kept] + t["rejected"]):
        print(f"{key}: {t} for {lines} lines", file=sys.stderr)
        ok = False
if want and int(want) != r["input"]:
    print(f"rows read {r['input']}, but the file has {want} non-blank lines", file=sys.stderr)
    ok = False
m = s["reconciliation"]["money"]
if not m.get("fund_plus_oop_equals_total", True):
    ok = False
if "input_total" in m and round(m["input_total"] - m["settled_total"] - m["rejected_total"], 2) != 0:
    print("input total != settled + rejected total", file=sys.stderr)
    ok = False
if not ok:
    print(json.dumps(s["reconciliation"]), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
	fi
	# monitor: its first line says how many rows were read and what became of them.
	if [ "$rc" = 0 ] && [ "$tool" = monitor ]; then
		local counts
		counts=$(sed -n 's/^sanbao monitor: \([0-9]*\) settled claims read, \([0-9]*\) monitored, \([0-9]*\) rejected.*/\1 \2 \3/p' "$d/stdout")
		set -- $counts
		[ $# = 3 ] || fail "$name: no counts in monitor's output"
		[ "$1" = $(($2 + $3)) ] && [ "$1" = "$(data_lines "$input")" ] ||
			fail "$name: monitor read $1 rows ($2 + $3) of $(data_lines "$input") lines"
	fi
	# roster: every line of the roster is read as a row (or an error row).
	if [ "$rc" = 0 ] && [ "$tool" = roster ]; then
		local got want
		got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"]["identities"])' \
			"$d/out/roster_summary.json") || fail "$name: no roster_summary.json"
		want=$(data_lines "$input")
		[ "$got" = "$want" ] || fail "$name: roster read $got identity rows of $want lines"
	fi
	# No raw ID outside settlements.csv (anywhere in pseudonymize's output).
	local f
	for f in "$d/stdout" "$d/stderr" $(find "$d/out" -type f 2>/dev/null); do
		[ "$tool" != pseudo ] && [ "${f##*/}" = settlements.csv ] && continue
		[ "$tool" = roster ] && [ "${f##*/}" = settlements.csv ] && continue
		if LC_ALL=C grep -aqFf "$tmp/ids.txt" "$f"; then
			fail "$name: a raw resident ID in ${f#$d/}: $(LC_ALL=C grep -aoFf "$tmp/ids.txt" "$f" | head -1)"
		fi
	done
	# pseudonymize: not even an invalid ID-shaped token is left.
	if [ "$tool" = pseudo ] && [ -f "$d/out/persons.csv" ] &&
		LC_ALL=C grep -aEq '(^|[^0-9])[0-9]{17}[0-9Xx]?([^0-9]|$)' "$d/out/persons.csv"; then
		fail "$name: an ID-shaped value left in the pseudonymised file"
	fi
	if grep -aq "$SECRET" "$d/said"; then fail "$name: echoed the content of a file"; fi
	rm -rf "$d"
}

# ---- the table -------------------------------------------------------------
# name                     tool        status message                                  transform
# Item 1: a stray quote costs its own line only, at any place.
v stray-quote-line-10      claims      0 'claims.csv,10,.*unterminated quoted field' 'sed "10s/^/\"/" "$IN"'
v two-stray-quotes         claims      0 'claims.csv,110,.*unterminated'      'sed "10s/^/\"/; 110s/,/,\"/" "$IN"'
v quote-at-line-end        claims      0 'claims.csv,20,.*unterminated'       'sed "20s/\$/,\"/" "$IN"'
v quote-inside-field       claims      0 'claims.csv,30,.*quote inside'       'sed "30s/,/,x\"y/" "$IN"'
v text-after-quote         claims      0 'claims.csv,40,.*after the closing'  'sed "40s/,\([^,]*\),/,\"\1\"x,/" "$IN"'
v stray-quotes-3-chunks    claims3     0 'claims.csv,15000,.*unterminated'    'sed "10s/^/\"/; 15000s/^/\"/; 20001s/,/,\"/; 29000s/^/\"/" "$IN"'
v stray-quote-last-line    claims      0 'unterminated'                       'cat "$IN"; printf "\"X1,broken"'
# Item 4: streams are refused, never half read.
v claims-from-a-pipe       claims-pipe 1 'not a regular file \(a pipe'        'cat "$IN"'
v persons-from-a-pipe      persons-pipe 1 'not a regular file'                'cat "$IN"'
v identities-from-a-pipe   identities-pipe 1 'not a regular file'             'cat "$IN"'
v settlements-from-a-pipe  monitor-pipe 1 'not a regular file'                'cat "$IN"'
v roster-from-a-pipe       roster-pipe 1 'not a regular file'                 'cat "$IN"'
v pseudonymize-a-pipe      pseudo-pipe 1 'not a regular file'                 'cat "$IN"'
# Item 6: line numbers after the first chunk (three threads).
v bad-row-3rd-chunk        claims3     0 'claims.csv,29000,.*not an amount'   'setcol 29000 9 x'
# Item 11: duplicate ids whatever became of the first row.
v duplicate-of-a-rejected  claims      0 'claims.csv,3,.*first at line 2'     'awk -F, -v OFS=, "NR==2{id=\$1; \$9=\"bad\"} NR==3{\$1=id} 1" "$IN"'
# Encodings: GBK bytes are refused with their place and a hint.
v gbk-claim-row            claims      0 'claims.csv,9,.*not UTF-8.*GBK'      'sed "9s/,filed,/,\xd5\xc5\xc8\xfd,/" "$IN"'
v gbk-person-row           persons     0 'persons.csv,7,.*not UTF-8'          'sed "7s/\$/\xb0\xa1/" "$IN"'
v latin1-header            claims      1 'header row: record is not UTF-8'    'sed "1s/^id/\xe9id/" "$IN"'
# Item 2: money beyond any claim, and sums that would not fit in 64 bits.
v claim-above-limit        claims      0 'claims.csv,11,.*above the plausible limit' 'setcol 11 9 999999999999.99'
v sums-beyond-64-bits      claims      1 'more than a 64-bit sum'             'head -1 "$IN"; awk -F, -v OFS=, "NR==2 { for (i = 0; i < 100000; i++) { \$1 = \"OV\" i; \$9 = \"999999999999.99\"; print } }" "$IN"'
# Item 7: where care happened must be said.
v no-care-region-column    claims      1 'neither a place nor a care_region'  'cut -d, -f1-5,7- "$IN"'
v empty-care-region        claims      0 'claims.csv,12,.*care_region is empty' 'setcol 12 6 ""'
# Item 9: a column named twice, under any alias or case.
v total-and-medfee-sumamt  claims      1 'names the column total twice'       'awk -F, -v OFS=, "NR==1 {print \$0\",medfee_sumamt\"; next} {print \$0\",\"\$9}" "$IN"'
v total-and-TOTAL          claims      1 'names the column total twice'       'awk -F, -v OFS=, "NR==1 {print \$0\",TOTAL\"; next} {print \$0\",\"\$9}" "$IN"'
v persons-scheme-twice     persons     1 'names the column scheme twice'      'awk -F, -v OFS=, "NR==1 {print \$0\",insutype\"; next} {print \$0\",\"\$2}" "$IN"'
# What held up before, kept so.
v bad-amount-decimals      claims      0 'claims.csv,5,.*more than 2 decimals' 'setcol 5 9 12.345'
v bad-amount-text          claims      0 'claims.csv,6,.*not an amount'       'setcol 6 9 12.5x'
v negative-amount          claims      0 'claims.csv,7,.*negative'            'setcol 7 9 -5.00'
v bad-date                 claims      0 'claims.csv,8,.*not a date'          'setcol 8 3 2024-02-30'
v empty-total              claims      0 'claims.csv,9,.*total is empty'      'setcol 9 9 ""'
v bom                      claims      0 'claims read'                        'printf "\xef\xbb\xbf"; cat "$IN"'
v crlf                     claims      0 'claims read'                        'sed "s/\$/\r/" "$IN"'
v blank-lines              claims      0 'claims read'                        'sed "5s/^/\n\n/; 50s/^/\r\n/" "$IN"'
v nul-byte                 claims      0 'claims.csv,12,.*NUL byte'           'sed "12s/,/,\x00/" "$IN"'
v ten-mb-line              claims      0 'claims.csv,14,.*longer than 1048576' 'sed -n 1,13p "$IN"; head -c 10485760 /dev/zero | tr "\0" x; echo; sed -n "15,\$p" "$IN"'
v extra-field              claims      0 'claims.csv,16,.*header has'         'sed "16s/\$/,extra/" "$IN"'
v cut-last-row             claims      0 'header has|not an amount|is empty'                         'head -c -30 "$IN"'
v many-bad-rows            claims      0 'claims.csv,3,'                      'awk -F, -v OFS=, "NR>1 && NR%2 {\$9=\"?\"} 1" "$IN"'
v header-only              claims      0 '0 claims read'                      'head -1 "$IN"'
v empty-claims             claims      1 'file is empty'                      'true'
v unknown-person           claims      0 'unknown person|resident ID'                     'setcol 10 2 990100196103220017'
v persons-stray-quote      persons     0 'persons.csv,5,.*unterminated'       'sed "5s/^/\"/" "$IN"'
v identities-stray-quote   identities  0 'identities.csv,3,.*unterminated'    'sed "3s/^/\"/" "$IN"'
v monitor-stray-quote      monitor     0 'unterminated'                       'sed "10s/^/\"/" "$IN"'
v roster-stray-quote       roster      0 'roster'                             'sed "3s/^/\"/" "$IN"'
# Item 3: pseudonymize never writes a raw ID it was asked to hide.
v pseudo-bad-check-digits  pseudo      0 'invalid IDs replaced by PSX'        'awk -F, -v OFS=, "NR>=2 && NR<=4 {\$1=substr(\$1,1,17) ((substr(\$1,18)==\"0\")?\"1\":\"0\")} 1" "$IN"'
v pseudo-trailing-blank    pseudo      0 'invalid IDs replaced by PSX'        'awk -F, -v OFS=, "NR==2 {\$1=\$1 \" \"} 1" "$IN"'
v pseudo-lowercase-x       pseudo      0 'invalid IDs replaced by PSX'        'awk -F, -v OFS=, "n < 3 && \$1 ~ /X\$/ { sub(/X\$/, \"x\", \$1); n++ } 1" "$IN"'
v pseudo-17-digits         pseudo      0 'invalid IDs replaced by PSX'        'sed "2s/^\([0-9]\{17\}\)[0-9X],/\1,/" "$IN"'
v pseudo-guardian-named    pseudo      0 'replaced in \[id,guardian_certno\]' 'awk -F, -v OFS=, "NR==1{print \$0\",guardian_certno\"; next} {print \$0\",\"\$1}" "$IN"' --columns id,guardian_certno
v pseudo-stray-quote       pseudo      1 'not carried'                        'sed "5s/^/\"/" "$IN"'
# Item 10 and 11: policy files.
v extends-outside          policy      1 'outside the policy folder'          'echo "root:$SECRET:19000:0:99999:7:::" >"${P%/*/*}/shadow"; sed -i "s|^extends: .*|extends: ../../shadow|" "$P/990100.yaml"'
v extends-up-not-a-policy  policy      1 'not a policy file'                  'echo "root:$SECRET:19000:0:99999:7:::" >"${P%/*}/shadow"; sed -i "s|^extends: .*|extends: ../shadow|" "$P/990100.yaml"'
v extends-absolute         policy      1 'outside the policy folder'          'echo "root:$SECRET" >"$P/shadow"; sed -i "s|^extends: .*|extends: /etc/passwd|" "$P/990100.yaml"'
v extends-not-a-policy     policy      1 'not a policy file'                  'echo "$SECRET: 1" >"$P/notes.txt"; sed -i "s|^extends: .*|extends: notes.txt|" "$P/990100.yaml"'
v extends-fifo             policy      1 'not a regular file \(a pipe'        'mkfifo "$P/fifo.yaml.in"; sed -i "s|^extends: .*|extends: fifo.yaml.in|" "$P/990100.yaml"'
v gbk-policy               policy      1 '990100.yaml:[0-9]+:[0-9]+: the file is not UTF-8.*iconv -f GBK' 'iconv -f UTF-8 -t GBK "$P/990100.yaml" >"$P/x" && mv "$P/x" "$P/990100.yaml"'
v deep-yaml                policy      1 'YAML|deep|nest|policy'              'deep_yaml >"$P/990900.yaml"'
v yaml-bomb                policy      1 'YAML|alias|policy|limit'            'yaml_bomb >"$P/990900.yaml"'
v test-empty-folder        test        1 'no cases found'                     'true'
v test-gbk-case            test        1 'not UTF-8.*GBK'                     'iconv -f UTF-8 -t GBK "$src/tests/cases/demo-990100-dibao-chain.yaml" >"$P/gbk.yaml"'
v test-fifo-case           test        1 'not a regular file'                 'mkfifo "$P/fifo.yaml"'
v test-duplicate-person    test        0 '1 passed'                           'cp "$src/tests/cases/error-duplicate-person.yaml" "$P/"'
v test-policies-only       test        1 'no cases found.*only policy files'  'cp "$src/policies/demo/990000.yaml" "$P/"'

[ "$failed" = 0 ] || fail "$failed of $count variants failed"
echo "hostile.sh: $count variants ok"

# ---- checks that are not one run -------------------------------------------
# Item 6: the same bad lines are reported, whatever the thread count.
big=$tmp/large
awk -F, -v OFS=, 'NR==5 || NR==15000 || NR==20001 || NR==29000 { $9 = "bad" } 1' \
	"$big/claims.csv" >"$tmp/lines.csv"
for t in 1 2 3; do
	"$bin" settle --policies "$big/policies" --persons "$big/persons.csv" \
		--identities "$big/identities.csv" --claims "$tmp/lines.csv" --out "$tmp/lines$t" \
		--threads "$t" --quiet >/dev/null || fail "lines: settle with $t threads"
	got=$(cut -d, -f2 "$tmp/lines$t/rejects.csv" | tail -n +2 | sort -n | tr '\n' ' ')
	[ "$got" = "5 15000 20001 29000 " ] || fail "lines with $t threads: rejects at $got"
done
# Item 3: a key file's one trailing line ending is not part of the key.
head -5 "$tmp/small/persons.csv" >"$tmp/k.csv"
printf '0123456789abcdef0123456789abcdef\n' >"$tmp/key.lf"
printf '0123456789abcdef0123456789abcdef\r\n' >"$tmp/key.crlf"
for k in key key.lf key.crlf; do
	"$bin" pseudonymize --key "$tmp/$k" "$tmp/k.csv" "$tmp/k.$k.csv" >/dev/null || fail "key $k"
done
cmp -s "$tmp/k.key.csv" "$tmp/k.key.lf.csv" && cmp -s "$tmp/k.key.csv" "$tmp/k.key.crlf.csv" ||
	fail "a key file's trailing line ending changes the pseudonyms"
# A key is read once: from a pipe it gives the same pseudonyms; a FIFO that
# no one writes to is an empty key, not a hang.
"$bin" pseudonymize --key <(cat "$key") "$tmp/k.csv" "$tmp/k.pipe.csv" >/dev/null ||
	fail "key from a pipe"
cmp -s "$tmp/k.key.csv" "$tmp/k.pipe.csv" || fail "a key from a pipe gives other pseudonyms"
mkfifo "$tmp/key.fifo"
timeout 20 "$bin" pseudonymize --key "$tmp/key.fifo" "$tmp/k.csv" "$tmp/k.fifo.csv" \
	>/dev/null 2>"$tmp/fifo.err"
rc=$?
[ "$rc" = 124 ] && fail "a key FIFO without a writer hangs"
[ "$rc" = 1 ] && grep -q "at least 16 bytes" "$tmp/fifo.err" || fail "key FIFO: status $rc"
# Item 3: an ID-shaped column that is not named is warned of.
awk -F, -v OFS=, 'NR==1 { print $0 ",sfzh"; next } { print $0 "," $1 }' \
	"$tmp/small/persons.csv" >"$tmp/sfzh.csv"
"$bin" pseudonymize --key "$key" "$tmp/sfzh.csv" "$tmp/sfzh.ps.csv" >/dev/null 2>"$tmp/sfzh.err" ||
	fail "pseudonymize sfzh"
grep -q "warning: .* in column sfzh (first on line 2).*--columns" "$tmp/sfzh.err" ||
	fail "no warning of the sfzh column: $(cat "$tmp/sfzh.err")"
echo "hostile.sh: ok"
