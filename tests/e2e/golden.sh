#!/usr/bin/env bash
# golden.sh: the demo's outputs, byte for byte, against tests/golden/demo/.
# Runs the demo settlement as `make demo` does (--monitor --poverty-line 2300,
# paths relative to the source dir), once with the default thread count and
# once with --threads 3, and compares settlements.csv, rejects.csv,
# warnings.csv, approaching.csv, monitor.json (whole: it holds the
# financial-protection numbers) and summary.json without its "run" section
# (threads, partitions, timings). Then `sanbao monitor` over the settlements
# written, against tests/golden/demo/monitor/. Prints a diff on failure.
# Usage: golden.sh SANBAO_BINARY SOURCE_DIR
# After a change that is meant to alter the outputs, review the diff and run
#   SB_GOLDEN_UPDATE=1 bash tests/e2e/golden.sh build/sanbao .
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
gold=$src/tests/golden/demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# strip_run FILE: summary.json without its "run": {...} member, so that the
# rest is compared byte for byte. Bracket matching, not a JSON re-dump.
strip_run() {
	python3 - "$1" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
json.loads(text)  # it must be valid JSON
key = text.find('"run":')
if key >= 0:
    i, depth, in_str = text.index("{", key), 0, False
    while True:  # to the brace that closes the member's object
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        i += 1
    start, end = key, i + 1
    after = len(text[end:]) - len(text[end:].lstrip(" \t\n"))
    if text[end + after:].startswith(","):  # drop the comma that follows
        end += after + 1
    else:  # the last member: drop the comma before it
        j = key
        while j > 0 and text[j - 1] in " \t\n":
            j -= 1
        if text[j - 1] == ",":
            start = j - 1
    while start > 0 and text[start - 1] in " \t":  # and the indentation
        start -= 1
    if start > 0 and text[start - 1] == "\n" and text[end:].startswith("\n"):
        end += 1  # and the line it stood on
    text = text[:start] + text[end:]
    json.loads(text)
sys.stdout.write(text)
PY
}

# compare NAME GOLDEN GOT
compare() {
	if [ "${SB_GOLDEN_UPDATE:-}" = 1 ]; then
		mkdir -p "$(dirname "$2")"
		cp "$3" "$2"
	elif ! diff -u --label "golden/$1" --label "got/$1" "$2" "$3"; then
		echo "golden.sh: FAIL: $1 differs from $2" >&2
		failed=1
	fi
}

cd "$src"
for threads in default 3; do
	out=$tmp/settle-$threads
	args=()
	[ "$threads" = default ] || args=(--threads "$threads")
	"$bin" settle --policies policies/demo --persons data/demo/persons.csv \
		--identities data/demo/identities.csv --claims data/demo/claims.csv \
		--out "$out" --monitor --poverty-line 2300 --quiet "${args[@]}"
	for f in settlements.csv rejects.csv warnings.csv approaching.csv monitor.json; do
		compare "settle($threads threads)/$f" "$gold/$f" "$out/$f"
	done
	strip_run "$out/summary.json" > "$out/summary.norun.json"
	compare "settle($threads threads)/summary.json" "$gold/summary.json" "$out/summary.norun.json"
done

# `sanbao monitor` over what was settled.
"$bin" monitor --policies policies/demo --persons data/demo/persons.csv \
	--identities data/demo/identities.csv --settlements "$tmp/settle-default/settlements.csv" \
	--out "$tmp/monitor" --poverty-line 2300 >/dev/null
for f in warnings.csv approaching.csv monitor.json rejects.csv; do
	compare "monitor/$f" "$gold/monitor/$f" "$tmp/monitor/$f"
done

# Impoverishing spending: at 2300 yuan no demo household is pushed below
# the line, so a second monitor run at 10,000 yuan per person pins the
# count (2 households in 2023) and the golden file must show some.
"$bin" monitor --policies policies/demo --persons data/demo/persons.csv \
	--identities data/demo/identities.csv --settlements "$tmp/settle-default/settlements.csv" \
	--out "$tmp/monitor-10000" --poverty-line 10000 >/dev/null
compare "monitor(poverty line 10000)/monitor.json" "$gold/monitor-10000/monitor.json" \
	"$tmp/monitor-10000/monitor.json"
grep -q '"impoverished": {"households": [1-9]' "$gold/monitor-10000/monitor.json" || {
	echo "golden.sh: FAIL: the 10,000-yuan golden counts no impoverished household" >&2
	failed=1
}

[ "$failed" = 0 ] || exit 1
[ "${SB_GOLDEN_UPDATE:-}" = 1 ] && echo "golden.sh: updated $gold" || echo "golden.sh: ok"
