#!/usr/bin/env bash
# fresh_machine.sh - `make test-build`: a fresh machine's first `make`, without
# uninstalling anything. A copy of the tree (tracked files and new ones not
# ignored, as they are in the working tree; or the revision given) is built
# with fake dpkg-query, apt-get, sudo and pkg-config first on PATH: until the
# fake `apt-get install` has run, dpkg-query says every package is missing
# and pkg-config finds none; from then on both hand over to the real ones.
# The first `make build/tests/test_time` must pass (a Criterion suite, linked
# with -lcriterion) and the suite must run; every call is logged in order,
# and no pkg-config call may come before the install. A second `make` must
# compile nothing (incremental builds stay incremental).
#
# usage: tests/build/fresh_machine.sh [REV]    REV: a git revision instead
#        (e.g. the revision before the two-stage Makefile, to see it fail)
# Takes a few seconds (the library at -O0, on 2 jobs).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rev=${1:-}
tmp=$(mktemp -d /tmp/boxoffice-fresh-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tree fake=$tmp/bin calls=$tmp/calls.log
mkdir -p "$tree" "$fake"
: >"$calls"

fail() {
    echo "fresh_machine: FAIL: $*" >&2
    echo "--- calls, in order (repeats counted):" >&2
    uniq -c "$calls" >&2
    exit 1
}

# The tree.
if [ -n "$rev" ]; then
    git -C "$root" archive "$rev" | tar -C "$tree" -xf -
else
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        (cd "$root" && tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
        tar -C "$tree" -xf -
fi

# The fakes; the real tools are found before PATH changes.
real_pkg_config=$(command -v pkg-config) || fail "no pkg-config on this machine"
real_dpkg_query=$(command -v dpkg-query) || fail "no dpkg-query on this machine"
fake_tool() { # name, body
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n%s\n' "$1" "$calls" "$2" >"$fake/$1"
    chmod +x "$fake/$1"
}
fake_tool dpkg-query "[ -e '$tmp/installed' ] || exit 1
exec '$real_dpkg_query' \"\$@\""
fake_tool pkg-config "[ -e '$tmp/installed' ] || { echo \"Package \$* was not found\" >&2; exit 1; }
exec '$real_pkg_config' \"\$@\""
# A fresh Debian's package lists are empty: install works after update only.
fake_tool apt-get "case \" \$* \" in
*' update '*) touch '$tmp/updated' ;;
*' install '*) [ -e '$tmp/updated' ] || exit 100; touch '$tmp/installed' ;;
esac"
fake_tool sudo 'exec "$@"'

# A make of our own: nothing from the caller's make (-j, SANITIZE=, BUILD=).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES BUILD SANITIZE CFLAGS LDFLAGS LDLIBS OPT CC
export PATH="$fake:$PATH"
cd "$tree"

start_ns=$(date +%s%N)
make -j2 OPT=-O0 build/tests/test_time >"$tmp/make1.log" 2>&1 ||
    { tail -30 "$tmp/make1.log" >&2; fail "the first make failed"; }
build/tests/test_time >"$tmp/suite.log" 2>&1 ||
    { cat "$tmp/suite.log" >&2; fail "the suite built by the first make failed"; }
first_ms=$((($(date +%s%N) - start_ns) / 1000000))

line_of() { grep -n -m1 -E "$1" "$calls" | cut -d: -f1; }
update=$(line_of '^apt-get .*update')
install=$(line_of '^apt-get .*install')
pkg=$(line_of '^pkg-config ')
[ -n "$install" ] || fail "install-deps never installed (did it see the packages missing?)"
[ -n "$update" ] && [ "$update" -lt "$install" ] || fail "apt-get update must come before apt-get install"
[ -n "$pkg" ] || fail "pkg-config was never asked"
[ "$pkg" -gt "$install" ] || fail "pkg-config was asked (line $pkg) before the install (line $install)"
grep -q '^pkg-config .*criterion' "$calls" || fail "nobody asked pkg-config for criterion"
grep -q -- '-lcriterion' "$tmp/make1.log" || fail "the suite was linked without -lcriterion"

make -j2 OPT=-O0 build/tests/test_time >"$tmp/make2.log" 2>&1 || fail "the second make failed"
if grep -E -- ' -c .*\.c ' "$tmp/make2.log" >&2; then fail "the second make compiled again"; fi
[ "$(grep -c '^apt-get .*install' "$calls")" -eq 1 ] || fail "the second make installed again"

echo "fresh_machine: first make passed in ${first_ms} ms; apt-get update (call $update)," \
    "install (call $install), then pkg-config (first at call $pkg); second make compiled nothing"
