#!/usr/bin/env bash
# outputs.sh: outputs that are complete or absent (issue 14 item 5, 8; issue 7
# item 6). A rerun killed with SIGKILL leaves the first run's outputs, whole;
# a run without --monitor removes old monitoring files; a second run into a
# locked --out is refused; a full disk is an error naming the file, and
# leaves no output; an input that is an output is refused; 600k rejected rows
# settle in bounded memory; rejects.csv masks ID-shaped tokens.
# usage: outputs.sh path/to/sanbao source-dir
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
mnt=""
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
demo=(--policies "$src/policies/demo" --persons "$src/data/demo/persons.csv"
	--identities "$src/data/demo/identities.csv")

"$bin" gen --persons 200000 --seed 7 --out "$tmp/g" > /dev/null || fail "gen"
g=(--policies "$tmp/g/policies" --persons "$tmp/g/persons.csv" --identities "$tmp/g/identities.csv")

# The settled count in summary.json equals the rows of settlements.csv.
consistent() {
	local settled rows
	settled=$(grep -o '"claims": {"rows": [0-9]*, "settled": [0-9]*' "$1/summary.json" | grep -o '[0-9]*$')
	rows=$(($(wc -l < "$1/settlements.csv") - 1))
	[ -n "$settled" ] && [ "$settled" = "$rows" ]
}

# ---- (a) a rerun killed with SIGKILL mid-way ------------------------------
out=$tmp/a
"$bin" settle "${g[@]}" --claims "$tmp/g/claims.csv" --out "$out" --quiet || fail "first run"
sum1=$(cat "$out/settlements.csv" "$out/summary.json" "$out/rejects.csv" | md5sum)
consistent "$out" || fail "first run is not consistent"
data1=$(cat "$out/settlements.csv" "$out/rejects.csv" | md5sum) # summary.json has timings
# The rerun settles other claims (the first 1000 left out).
{ head -1 "$tmp/g/claims.csv"; tail -n +1002 "$tmp/g/claims.csv"; } > "$tmp/fewer.csv"
cp -a "$out" "$tmp/a0"
killed=0
for attempt in 1 2 3; do
	"$bin" settle "${g[@]}" --claims "$tmp/fewer.csv" --out "$out" --quiet &
	pid=$!
	for _ in $(seq 1 600); do
		# Killed while it writes settlements.csv under its temporary name.
		if compgen -G "$out/.sanbao-tmp-*settlements.csv" > /dev/null &&
			[ -s "$(compgen -G "$out/.sanbao-tmp-*settlements.csv" | head -1)" ]; then
			break
		fi
		sleep 0.02
	done
	if kill -KILL "$pid" 2> /dev/null; then
		{ wait "$pid"; } 2> /dev/null
		[ $? = 137 ] || fail "(a) the rerun was not killed"
		killed=1
		break
	fi
	# It ended first (a loaded machine): start again from the first run.
	wait "$pid"
	rm -rf "$out" && cp -a "$tmp/a0" "$out"
done
[ $killed = 1 ] || fail "(a) the rerun ended before it could be killed, three times"
[ "$(cat "$out/settlements.csv" "$out/summary.json" "$out/rejects.csv" | md5sum)" = "$sum1" ] ||
	fail "(a) a killed rerun changed the first run's outputs"
consistent "$out" || fail "(a) summary.json and settlements.csv of different runs"
compgen -G "$out/.sanbao-tmp-*" > /dev/null || fail "(a) expected the killed run's temporary files"
# The next run sweeps them and replaces the outputs whole.
"$bin" settle "${g[@]}" --claims "$tmp/fewer.csv" --out "$out" --quiet || fail "(a) third run"
compgen -G "$out/.sanbao-tmp-*" > /dev/null && fail "(a) temporary files left"
consistent "$out" || fail "(a) third run not consistent"
[ "$(cat "$out/settlements.csv" "$out/summary.json" "$out/rejects.csv" | md5sum)" != "$sum1" ] ||
	fail "(a) the third run did not replace the outputs"

# ---- (b) a rerun without --monitor removes the monitoring files -----------
out=$tmp/b
"$bin" settle "${demo[@]}" --claims "$src/data/demo/claims.csv" --out "$out" --monitor --quiet ||
	fail "(b) settle --monitor"
for f in warnings.csv approaching.csv monitor.json; do
	[ -s "$out/$f" ] || fail "(b) $f missing after --monitor"
done
"$bin" settle "${demo[@]}" --claims "$src/data/demo/claims.csv" --out "$out" --quiet ||
	fail "(b) settle"
for f in warnings.csv approaching.csv monitor.json; do
	[ -e "$out/$f" ] && fail "(b) a stale $f is left beside a run without --monitor"
done
grep -q '"monitor"' "$out/summary.json" && fail "(b) summary.json still has a monitor section"
# `sanbao monitor` into a settlement's folder would replace its rejects.csv.
if "$bin" monitor "${demo[@]}" --settlements "$out/settlements.csv" --out "$out" \
	2> "$tmp/b.err" > /dev/null; then fail "(b) monitor over a settlement's folder ran"; fi
grep -q "holds the outputs of \`sanbao settle\`" "$tmp/b.err" || fail "(b) message: $(cat "$tmp/b.err")"

# ---- (c) two runs into one --out at once ----------------------------------
out=$tmp/c
held=0
for attempt in 1 2 3; do
	"$bin" settle "${g[@]}" --claims "$tmp/g/claims.csv" --out "$out" --quiet &
	pid=$!
	for _ in $(seq 1 600); do
		# Held: /proc/locks lists its inode (a probe with flock could take it).
		if [ -e "$out/.sanbao.lock" ] &&
			grep -q "FLOCK .*:$(stat -c %i "$out/.sanbao.lock") " /proc/locks; then
			held=1
			break
		fi
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.02
	done
	[ $held = 1 ] && break
	wait "$pid" # it ended before the lock was seen held: again
done
[ $held = 1 ] || fail "(c) the lock was never seen held"
if "$bin" settle "${demo[@]}" --claims "$src/data/demo/claims.csv" --out "$out" --quiet \
	2> "$tmp/c.err"; then fail "(c) a second run into a locked --out ran"; fi
grep -q "another sanbao run is writing to $out" "$tmp/c.err" || fail "(c) message: $(cat "$tmp/c.err")"
wait "$pid" || fail "(c) the first run failed"
[ "$(cat "$out/settlements.csv" "$out/rejects.csv" | md5sum)" = "$data1" ] ||
	fail "(c) the outputs are not the first run's"
consistent "$out" || fail "(c) not consistent"

# ---- (d) a full disk --------------------------------------------------------
out=$tmp/d
mkdir -p "$out"
if mount -t tmpfs -o size=200k tmpfs "$out" 2> /dev/null; then
	mnt=$out
	"$bin" settle "${g[@]}" --claims "$tmp/g/claims.csv" --out "$out" --tmp "$tmp" \
		> "$tmp/d.out" 2> "$tmp/d.err"
	rc=$?
	want="No space left on device"
else
	# No mount allowed: a file size limit fails writes the same way (EFBIG).
	(trap '' XFSZ; ulimit -f 200; exec "$bin" settle "${g[@]}" --claims "$tmp/g/claims.csv" \
		--out "$out" --tmp "$tmp") > "$tmp/d.out" 2> "$tmp/d.err"
	rc=$?
	want="File too large"
fi
[ $rc = 1 ] || fail "(d) exit $rc on a full disk"
grep -q "$want" "$tmp/d.err" || fail "(d) message: $(cat "$tmp/d.err")"
grep -q "settlements.csv" "$tmp/d.err" || fail "(d) the message names no file: $(cat "$tmp/d.err")"
grep -qi "success" "$tmp/d.err" "$tmp/d.out" && fail "(d) success printed on a full disk"
left=$(ls -A "$out" | grep -v '^\.sanbao\.lock$')
[ -z "$left" ] || fail "(d) files left on a full disk: $left"
[ -n "$mnt" ] && umount "$mnt" && mnt=""

# ---- an input that is an output ---------------------------------------------
out=$tmp/e
mkdir -p "$out"
cp "$src/data/demo/claims.csv" "$out/settlements.csv"
if "$bin" settle "${demo[@]}" --claims "$out/settlements.csv" --out "$out" --quiet \
	2> "$tmp/e.err"; then fail "settle over its own input ran"; fi
grep -q "the claims file is the same file as $out/settlements.csv" "$tmp/e.err" ||
	fail "message: $(cat "$tmp/e.err")"
cmp -s "$src/data/demo/claims.csv" "$out/settlements.csv" || fail "the input was changed"
# An input the run would remove (a stale monitoring file).
mv "$out/settlements.csv" "$out/warnings.csv"
if "$bin" settle "${demo[@]}" --claims "$out/warnings.csv" --out "$out" --quiet \
	2> "$tmp/e.err"; then fail "settle removing its own input ran"; fi
grep -q "which this run would remove" "$tmp/e.err" || fail "message: $(cat "$tmp/e.err")"
[ -s "$out/warnings.csv" ] || fail "the input was removed"
# roster and monitor too.
cp "$src/data/demo/identities.csv" "$out/not_enrolled.csv"
if "$bin" roster --policies "$src/policies/demo" --persons "$src/data/demo/persons.csv" \
	--identities "$out/not_enrolled.csv" --out "$out" 2> "$tmp/e.err" > /dev/null; then
	fail "roster over its own input ran"
fi
grep -q "the identities file is the same file as" "$tmp/e.err" || fail "message: $(cat "$tmp/e.err")"
cp "$src/data/demo/persons.csv" "$out/rejects.csv"
if "$bin" monitor "${demo[@]/$src\/data\/demo\/persons.csv/$out/rejects.csv}" \
	--settlements "$tmp/b/settlements.csv" --out "$out" 2> "$tmp/e.err" > /dev/null; then
	fail "monitor over its own input ran"
fi
grep -q "the persons file is the same file as" "$tmp/e.err" || fail "message: $(cat "$tmp/e.err")"

# ---- open files: the CLI raises its soft limit; the library never does ------
# About 50 partitions of 1 MB, a spill file each: more than 32 descriptors.
if (ulimit -n 32; exec "$bin" settle "${g[@]}" --claims "$tmp/g/claims.csv" --out "$tmp/f1" \
	--partition-mb 1 --quiet) 2> "$tmp/f.err"; then fail "settle ran with 32 open files"; fi
grep -q "too many open files: this run needs about" "$tmp/f.err" || fail "message: $(cat "$tmp/f.err")"
(ulimit -Sn 64; exec "$bin" settle "${g[@]}" --claims "$tmp/g/claims.csv" --out "$tmp/f2" \
	--partition-mb 1 --quiet) || fail "the CLI did not raise a soft limit of 64 open files"

# ---- rejects: 600k bad rows in bounded memory, resident IDs masked -----------
# Every row twice with a total of three decimals: 600,000 rejects.
{
	head -1 "$tmp/g/claims.csv"
	tail -n +2 "$tmp/g/claims.csv" | awk -F, 'BEGIN { OFS = "," }
		{ for (k = 0; k < 2; k++) { $1 = "B" k NR; $9 = "12.345"; print } }' | head -600000
} > "$tmp/bad.csv"
head -2 "$tmp/bad.csv" > "$tmp/one.csv"
rss() { # peak KB of a quiet settle of $1 into $2 (under ASan: no quarantine)
	ASAN_OPTIONS=quarantine_size_mb=0${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
		/usr/bin/time -f %M "$bin" settle "${g[@]}" --claims "$1" --out "$2" --quiet 2>&1 >/dev/null |
		tail -1
}
if [ -x /usr/bin/time ]; then
	many=$(rss "$tmp/bad.csv" "$tmp/r1")
	one=$(rss "$tmp/one.csv" "$tmp/r2")
	echo "peak RSS: $many KB with 600000 rejects, $one KB with one"
	# Held in memory, 600k rejects took about 100 MB more than one.
	[ $((many - one)) -lt 30000 ] || fail "600k rejects took $((many - one)) KB more than one"
else
	"$bin" settle "${g[@]}" --claims "$tmp/bad.csv" --out "$tmp/r1" --quiet || fail "bad rows"
fi
[ "$(wc -l < "$tmp/r1/rejects.csv")" = 600001 ] || fail "rejects.csv has not 600000 rows"
awk -F, 'NR > 1 && $2 < prev { exit 1 } NR > 1 { prev = $2 }' "$tmp/r1/rejects.csv" ||
	fail "rejects.csv is not in line order"
# A shifted column echoes a resident ID into the reason: masked there.
{
	head -1 "$tmp/g/claims.csv"
	sed -n 2,4p "$tmp/g/claims.csv" | awk -F, 'BEGIN { OFS = "," } { $3 = $2; print }'
} > "$tmp/shifted.csv"
"$bin" settle "${g[@]}" --claims "$tmp/shifted.csv" --out "$tmp/s" --quiet || fail "shifted"
[ "$(wc -l < "$tmp/s/rejects.csv")" = 4 ] || fail "shifted rows were not rejected"
grep -Eq '(^|[^0-9])[0-9]{17}[0-9Xx]([^0-9]|$)' "$tmp/s/rejects.csv" &&
	fail "a raw resident ID in rejects.csv: $(cat "$tmp/s/rejects.csv")"
grep -q '\*\*\*\*\*\*\*\*' "$tmp/s/rejects.csv" || fail "no masked ID in the reasons"
# With --show-ids too: a reason quotes a cell masked when it is made
# (src/io), whatever the flag; only settlements.csv carries raw IDs.
"$bin" settle "${g[@]}" --claims "$tmp/shifted.csv" --out "$tmp/s2" --quiet --show-ids ||
	fail "shifted --show-ids"
grep -q '\*\*\*\*\*\*\*\*' "$tmp/s2/rejects.csv" || fail "--show-ids: no masked ID in the reasons"
# An input named by a resident ID: masked in summary.json and rejects.csv.
cp "$tmp/shifted.csv" "$tmp/110105194912310025.csv"
"$bin" settle "${g[@]}" --claims "$tmp/110105194912310025.csv" --out "$tmp/s3" --quiet ||
	fail "ID-named input"
grep -q 110105194912310025 "$tmp/s3/summary.json" "$tmp/s3/rejects.csv" &&
	fail "a raw resident ID in summary.json or rejects.csv"
grep -q '110105\*\*\*\*\*\*\*\*0025.csv' "$tmp/s3/rejects.csv" || fail "the file column is not masked"
echo "outputs: all checks passed"
