#!/bin/sh
# tests/fresh-debian.sh — a newcomer on a fresh minimal Debian 12.
#
# Builds a minbase Debian 12 (bookworm) root with debootstrap from the
# Debian mirror named in this host's apt sources, puts `git archive HEAD`
# of this checkout into it, and there, as root:
#   1. runs the README's quick-start demo command exactly as README.md
#      writes it (read from the file) and checks that it exits 0, ingests
#      the bundled sample mail and lists the tickets and the outbox;
#   2. runs `sh contrib/deps.sh --test` and a plain `./configure && make
#      check`, so that a test dependency deps.sh does not install fails.
# Prints TAP; tests/suite.sh runs it as a stage of its own.
#
# The pristine root is cached as a tarball in $FRESH_CACHE (default
# _build/fresh-debian/), so a rerun skips debootstrap; each run unpacks a
# new copy and removes it at the end (FRESH_KEEP=1 keeps it).
# FRESH_MIRROR overrides the mirror. Needs root (chroot, mounts) and the
# mirror on the network; without them it fails, saying why: it never skips.
#
# By hand:  sh tests/fresh-debian.sh
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${FRESH_CACHE:-$top/_build/fresh-debian}
suite=bookworm
n=0
nfailed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); nfailed=$((nfailed + 1)); echo "not ok $n - $*"; }
# bail REASON: the test cannot go on; that is a failure, not a skip.
bail() {
	not_ok "$*"
	echo "1..$n"
	exit 1
}
# diag FILE: the end of a log as TAP diagnostics.
diag() { tail -"${2:-40}" "$1" | sed 's/^/# /'; }

[ "$(id -u)" -eq 0 ] || bail "fresh Debian root: needs root (chroot and mounts)"
command -v debootstrap >/dev/null ||
    bail "fresh Debian root: no debootstrap (apt-get install debootstrap)"
command -v git >/dev/null && git -C "$top" rev-parse HEAD >/dev/null 2>&1 ||
    bail "fresh Debian root: $top is not a git checkout (the test puts git archive HEAD in the root)"

# mirror: the first Debian mirror that carries bookworm itself in the
# host's apt sources, deb822 (*.sources) or one-line (*.list) style.
mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v want="$suite" '
		    function flush() {
			if (deb && hit && uri != "") { print uri; exit }
			deb = hit = 0; uri = ""
		    }
		    /^[ \t]*$/ { flush(); next }
		    /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
		    /^URIs:/ { uri = $2 }
		    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want) hit = 1 }
		    END { flush() }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	    sed -n 's/^deb[ \t]\+\(\[[^]]*\][ \t]\+\)\?\([^ \t]\+\)[ \t]\+'"$suite"'[ \t].*/\2/p'
}
url=${FRESH_MIRROR:-$(mirror | head -1)}
[ -n "$url" ] ||
    bail "fresh Debian root: no Debian $suite mirror in /etc/apt/sources.list{,.d} (set FRESH_MIRROR)"

mkdir -p "$cache" || bail "cannot make $cache"
tarball=$cache/minbase-$suite.tar.gz
root=$cache/root
log=$cache/log
rm -f "$log"

# cleanup [keep]: the root's processes and mounts are undone before
# anything is removed, and the removal never crosses into another file
# system; with "keep" (and FRESH_KEEP=1) the files stay for a look.
cleanup() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] &&
		    kill -9 "${p#/proc/}" 2>/dev/null
	done
	for m in dev/shm dev/pts proc; do
		mountpoint -q "$root/$m" 2>/dev/null &&
		    { umount "$root/$m" 2>/dev/null || umount -l "$root/$m"; }
	done
	[ "${1:-}" = keep ] && [ "${FRESH_KEEP:-0}" = 1 ] && return
	if [ -d "$root" ] &&
	    ! grep -q " $root/" /proc/mounts; then
		rm -rf --one-file-system "$root"
	fi
}
trap 'cleanup keep' EXIT
trap 'exit 1' INT TERM HUP
cleanup

t0=$(date +%s)
if [ ! -s "$tarball" ]; then
	rm -rf --one-file-system "$root"
	if ! debootstrap --variant=minbase "$suite" "$root" "$url" \
	    >"$cache/debootstrap.log" 2>&1; then
		diag "$cache/debootstrap.log"
		bail "debootstrap --variant=minbase $suite from $url failed"
	fi
	tar -C "$root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" ||
	    bail "cannot write $tarball"
	rm -rf --one-file-system "$root"
	ok "minbase $suite root from $url ($(($(date +%s) - t0)) s, cached in $tarball)"
else
	ok "minbase $suite root from the cache ($tarball)"
fi
mkdir -p "$root" && tar -C "$root" -xzf "$tarball" ||
    bail "cannot unpack $tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
mkdir -p "$root/root/tiketti"
git -C "$top" archive HEAD | tar -C "$root/root/tiketti" -xf - ||
    bail "git archive HEAD into the root failed"
# The device nodes are debootstrap's own; the kernel's file systems are
# mounted fresh, not bound from the host.
mount -t proc proc "$root/proc" &&
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" &&
    mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" ||
    bail "cannot mount /proc, /dev/pts and /dev/shm in the root"

# inroot LOG COMMAND: runs a shell command in the tree in the root, with
# the environment of a root login on a fresh system and nothing of ours.
inroot() {
	_log=$1
	shift
	timeout 2400 chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    /bin/sh -c "cd /root/tiketti && $*" >"$_log" 2>&1
}

# 1. The demo, as README.md writes it: the first command shown under
# "Quick start".
demo=$(sed -n '/^## Quick start/,/^## [^Q]/p' "$root/root/tiketti/README.md" |
    sed -n 's/^    //p' | head -1)
[ -n "$demo" ] || bail "no quick-start command in README.md"
echo "# demo: $demo"
t0=$(date +%s)
inroot "$cache/demo.log" "$demo"
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "README demo command exits 0 ($(($(date +%s) - t0)) s)"
else
	not_ok "README demo command exits 0 (it exited $rc)"
	diag "$cache/demo.log"
fi
mails=$(ls "$root/root/tiketti/sample/maildir/cur" \
    "$root/root/tiketti/sample/maildir/new" | grep -c '^[0-9]')
if grep -q "^tiketti: ingested $mails messages: [1-9][0-9]* new tickets" \
    "$cache/demo.log"; then
	ok "demo: the $mails sample mails ingested into tickets"
else
	not_ok "demo: the $mails sample mails ingested into tickets"
	diag "$cache/demo.log" 10
fi
# The ticket list and the outbox list: each a header and rows under it.
if awk '/^ +ID +STATUS /{t=1; next} t && /^ +[0-9]+ +(new|open) /{tr++}
    /^ +ID +TICKET +KIND /{o=1; next} o && /^ +[0-9]+ +[0-9]+ +[a-z]+ +queued /{or++}
    END {exit !(tr > 0 && or > 0)}' "$cache/demo.log"; then
	ok "demo: lists the sample tickets and the outbox"
else
	not_ok "demo: lists the sample tickets and the outbox"
	diag "$cache/demo.log" 15
fi

# 2. The test dependencies and a plain make check, in the same root.
t0=$(date +%s)
inroot "$cache/check.log" \
    'sh contrib/deps.sh --test && ./configure && TIKETTI_PG_ELSEWHERE=1 make -j"$(nproc)" check'
rc=$?
sum=$root/root/tiketti/test-suite.log
p=$(sed -n 's/^# PASS: *//p' "$sum" 2>/dev/null | head -1)
f=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$sum" 2>/dev/null |
    awk '{s += $1} END {print s + 0}')
if [ "$rc" -eq 0 ] && [ "${p:-0}" -gt 0 ] && [ "$f" -eq 0 ]; then
	ok "deps.sh --test, ./configure && make check: $p passed ($(($(date +%s) - t0)) s)"
else
	not_ok "deps.sh --test, ./configure && make check: ${p:-0} passed, $f failed (exit $rc)"
	if [ -f "$sum" ]; then
		grep -E '^(FAIL|ERROR|XPASS):' "$sum" | head -20 | sed 's/^/# /'
		grep -A3 '^not ok' "$sum" | head -30 | sed 's/^/# /'
	else
		diag "$cache/check.log"
	fi
fi
echo "1..$n"
[ "$nfailed" -eq 0 ]
