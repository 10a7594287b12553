#!/usr/bin/env bash
# install.sh: `make install` as a vendor uses it. Installs the build folder
# of SANBAO_BINARY into a temporary DESTDIR, then compiles and links a small
# C program against the installed headers and library with
# `pkg-config --cflags --libs --static libsanbao` (the shared library when
# there is one, and the static archive), which loads the installed demo
# policies and settles one claim, and checks its payment against the
# demo's golden settlements. The installed `sanbao` must print its version
# and find its demo policies for `gen` without --policies-src.
# Usage: install.sh SANBAO_BINARY SOURCE_DIR
# SB_SAN_FLAGS (from ctest): the sanitizer flags the library was built with.
set -euo pipefail
bin=$1
src=$2
build=$(cd "$(dirname "$bin")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install.sh: FAIL: $*" >&2; exit 1; }

dest=$tmp/dest
DESTDIR=$dest cmake --install "$build" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
pc=$(find "$dest" -name libsanbao.pc)
[ -n "$pc" ] || fail "no libsanbao.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
root=$dest$prefix
for f in bin/sanbao include/sanbao/settle.h include/sanbao/policy.h include/sanbao/base.h \
	 include/sanbao/version.h share/sanbao/policies/demo/990100.yaml; do
	[ -e "$root/$f" ] || fail "$prefix/$f not installed"
done
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/libsanbao.a" ] || fail "libsanbao.a not installed in $libdir"

# The installed program: its version and its own demo policies.
version=$(sed -n 's/^project(sanbao VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$("$root/bin/sanbao" --version)" = "sanbao $version" ] || fail "sanbao --version"
"$root/bin/sanbao" gen --persons 50 --seed 3 --out "$tmp/gen" > /dev/null || fail "installed gen"
[ -f "$tmp/gen/policies/990100.yaml" ] || fail "installed gen copied no policies"
# A copy of the program with no policies near it asks for --policies-src.
mkdir "$tmp/alone" && cp "$root/bin/sanbao" "$tmp/alone/"
set +e
"$tmp/alone/sanbao" gen --persons 50 --seed 3 --out "$tmp/gen2" 2> "$tmp/alone.txt"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "give --policies-src DIR" "$tmp/alone.txt" || fail "gen without policies: $rc"

cat > "$tmp/settle_one.c" <<'C'
/* One claim of the demo (S20230002, the person's first of 2023) settled
 * through the installed library. Prints "fund,oop,oop_in_scope". */
#include <stdio.h>
#include <string.h>

#include <sanbao/policy.h>
#include <sanbao/settle.h>
#include <sanbao/version.h>

static int sym(const sb_policyset *set, sb_symkind k, const char *w)
{
	return sb_policyset_symbol(set, k, w, strlen(w));
}

int main(int argc, char **argv)
{
	sb_policyset *set = NULL;
	sb_diag d;
	char msg[1400];

	if (argc != 2 || strcmp(sb_version_string(), SB_VERSION_STRING))
		return 2;
	sb_diag_clear(&d);
	if (sb_policyset_new(&set) != SB_OK || sb_policyset_load_dir(set, argv[1], &d) != SB_OK) {
		fprintf(stderr, "%s\n", sb_diag_format(&d, msg, sizeof msg));
		sb_policyset_free(set);
		return 1;
	}
	sb_person p;
	memset(&p, 0, sizeof p);
	strcpy(p.id, "990100196103220076");
	strcpy(p.region, "990100");
	p.birth = sb_date_from_ymd(1961, 3, 22);
	p.scheme = 1;         /* resident */
	p.employment = 0xff;  /* not given */
	p.tier = -1;
	p.nidents = 1;
	p.idents[0].sym = sym(set, SB_SYM_IDENTITY, "illness_poor");
	p.idents[0].from = sb_date_from_ymd(2023, 9, 1);
	p.idents[0].to = sb_date_from_ymd(2024, 8, 31);

	sb_claim c;
	memset(&c, 0, sizeof c);
	c.id = "S20230002";
	c.date = sb_date_from_ymd(2023, 1, 5);
	c.visit = 1;  /* chronic_outpatient */
	c.place = 0;  /* local */
	c.filing = 0; /* filed */
	c.level_name = "primary";
	c.level = sym(set, SB_SYM_LEVEL, c.level_name);
	c.total = 394804;
	c.in_scope = 359317;
	c.pre_selfpay = 3809;

	const sb_policy *pol = sb_policyset_find(set, p.region);
	static sb_acc acc;
	sb_result r;
	int rc = 1;
	if (pol && sb_settle_claim(set, pol, &p, &c, &acc, &r, NULL, &d) == SB_OK) {
		char f[SB_MONEY_BUF], o[SB_MONEY_BUF], s[SB_MONEY_BUF];
		sb_money_format(r.fund, f);
		sb_money_format(r.oop, o);
		sb_money_format(r.oop_in_scope, s);
		printf("%s,%s,%s\n", f, o, s);
		rc = 0;
	} else {
		fprintf(stderr, "%s\n", pol ? sb_diag_format(&d, msg, sizeof msg) : "no policy 990100");
	}
#ifdef SB_ACC_MAX /* accumulators that allocate (issue 7, item 1) */
	sb_acc_release(&acc);
#endif
	sb_policyset_free(set);
	return rc;
}
C
# The golden row's fund, oop, oop_in_scope (columns named in its header).
want=$(python3 - "$src/tests/golden/demo/settlements.csv" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    if row["id"] == "S20230002":
        print(f'{row["fund"]},{row["oop"]},{row["oop_in_scope"]}')
PY
)
[ -n "$want" ] || fail "S20230002 not in the golden settlements"

export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs --static libsanbao) || fail "pkg-config libsanbao"
cc=${CC:-cc}
# shellcheck disable=SC2086 # the flags are words
$cc -std=c17 -Wall -Wextra -Werror ${SB_SAN_FLAGS:-} "$tmp/settle_one.c" -o "$tmp/settle_one" $flags \
	|| fail "compile and link with: $flags"
got=$(LD_LIBRARY_PATH=$libdir "$tmp/settle_one" "$root/share/sanbao/policies/demo") || fail "settle_one"
[ "$got" = "$want" ] || fail "settle_one printed $got, the demo settles $want"
if [ -e "$libdir/libsanbao.so" ]; then
	LD_LIBRARY_PATH=$libdir ldd "$tmp/settle_one" | grep "$libdir/libsanbao.so" > /dev/null \
		|| fail "settle_one is not linked to the installed libsanbao.so"
	# The shared library exports its headers' functions and nothing else.
	for s in $(nm -D --defined-only "$libdir/libsanbao.so" | awk '$2 ~ /[TDBR]/ {sub(/@.*/, "", $3); print $3}'); do
		grep -qw "$s" "$root"/include/sanbao/*.h || fail "libsanbao.so exports $s, which no header declares"
	done
	# (grep reads all of nm's output: with -q it would stop at the match and,
	# under pipefail, nm's SIGPIPE would fail the test)
	nm -D --defined-only "$libdir/libsanbao.so" | grep -w sb_settle_claim > /dev/null \
		|| fail "sb_settle_claim not exported"
	# and the static archive, as a vendor who ships one binary links it
	# shellcheck disable=SC2086
	$cc -std=c17 -Wall -Wextra -Werror ${SB_SAN_FLAGS:-} "$tmp/settle_one.c" -o "$tmp/settle_one_static" \
		${flags/-lsanbao/-l:libsanbao.a} || fail "static link"
	if ldd "$tmp/settle_one_static" | grep libsanbao > /dev/null; then fail "static link used the .so"; fi
	got=$("$tmp/settle_one_static" "$root/share/sanbao/policies/demo") || fail "settle_one_static"
	[ "$got" = "$want" ] || fail "settle_one_static printed $got, the demo settles $want"
fi
echo "install.sh: ok ($want through $prefix with $flags)"
