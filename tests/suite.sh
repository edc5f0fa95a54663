#!/bin/sh
# tests/suite.sh — the whole test suite, as CI runs it.
#
# Builds out of tree twice: with -Werror, and with AddressSanitizer and
# UndefinedBehaviorSanitizer; runs `make check` in both (every check is a
# TAP line), every libFuzzer target for 25 seconds (`make fuzz`), the corpus
# once more under valgrind, and `make distcheck`.
# Last, tests/fresh-debian.sh: the README's quick start and make check in a
# fresh minbase Debian 12 root. Each stage's line says how long it took.
# Ends with the line "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
passed=0
failed=0
jobs=$(nproc 2>/dev/null || echo 2)

say() { printf '%s\n' "$*"; }
# since T0: seconds since T0, for the stages' lines.
since() { echo "$(($(date +%s) - $1)) s"; }

# What failed, and the first words of why, is said again just above the
# last line: a CI page that shows only the end of the output still shows it.
whatfailed=$(mktemp)
trap 'rm -f "$whatfailed"' EXIT
# notok: each "not ok" of a TAP stream, with the diagnostics after it.
notok() { grep -A3 '^not ok' | grep -v '^--$'; }
# remember STAGE LOG: the FAIL/ERROR lines of an Automake test-suite.log,
# and its "not ok"s.
remember() {
	{
		grep -E '^(FAIL|ERROR|XPASS):' "$2" | sed "s|^|$1: |"
		notok <"$2"
	} >>"$whatfailed"
}

count_log() {
	# $3: when the stage began
	p=$(sed -n 's/^# PASS: *//p' "$1" | head -1)
	f=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$1" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	say "$2 ($(since "$3")): ${p:-0} passed, ${f:-0} failed"
	[ "${f:-0}" -eq 0 ] || remember "$2" "$1"
}

# build NAME CONFIGURE-ARGS...: configure, make and make check in _build/NAME.
build() {
	t0=$(date +%s)
	name=$1
	shift
	dir=_build/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! (cd "$dir" && ../../configure -q "$@" && make -j"$jobs") \
	    >"$dir/build.log" 2>&1; then
		say "$name: build FAILED"
		tail -40 "$dir/build.log"
		failed=$((failed + 1))
		return 1
	fi
	(cd "$dir" && env $check_env make -j"$jobs" check) >"$dir/check.log" 2>&1
	if [ -f "$dir/test-suite.log" ]; then
		count_log "$dir/test-suite.log" "$name" "$t0"
		grep -A30 '^FAIL:\|^ERROR:' "$dir/test-suite.log" | head -120
	else
		say "$name: make check produced no log"
		tail -40 "$dir/check.log"
		failed=$((failed + 1))
	fi
}

# Out-of-tree builds need a source tree that is not configured in place
# (as the README's first command leaves it).
[ -f config.status ] && make distclean >/dev/null 2>&1
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || {
	say "autoreconf failed"
	echo "0 passed, 1 failed"
	exit 1
}

# PostgreSQL's tests (tests/pg.sh, some 4 minutes) run once, in the
# sanitize build, not here, in distcheck or in the fresh root: under the
# sanitizers is the stronger run, and the suite must stay under 40
# minutes on 2 cores.
check_env=TIKETTI_PG_ELSEWHERE=1
build werror --enable-werror
check_env=

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build sanitize --enable-werror CFLAGS="$san" LDFLAGS="-fsanitize=address,undefined"

# Every fuzz target (12) for 25 seconds, after the inputs that once crashed it
# (the whole suite must stay under 40 minutes on 2 cores).
if [ -f _build/werror/Makefile ]; then
	t0=$(date +%s)
	out=$(cd _build/werror && FUZZ_SECONDS=25 make -s fuzz 2>&1)
	p=$(printf '%s\n' "$out" | grep -c '^ok')
	f=$(printf '%s\n' "$out" | grep -c '^not ok')
	[ "$p" -gt 0 ] || f=$((f + 1))
	passed=$((passed + p))
	failed=$((failed + f))
	say "fuzz (25 s a target, $(since "$t0")): $p passed, $f failed"
	[ "$f" -eq 0 ] || printf '%s\n' "$out" | grep -v '^ok' | head -80
	printf '%s\n' "$out" | notok >>"$whatfailed"
fi

# The corpus under valgrind: no leaks, no invalid reads.
if [ -x _build/werror/tiketti ] && command -v valgrind >/dev/null; then
	t0=$(date +%s)
	out=$(TIKETTI="$top/_build/werror/tiketti" SRCDIR="$top" \
	    TIKETTI_VALGRIND=1 sh tests/corpus.sh 2>&1)
	p=$(printf '%s\n' "$out" | grep -c '^ok')
	f=$(printf '%s\n' "$out" | grep -c '^not ok')
	passed=$((passed + p))
	failed=$((failed + f))
	say "valgrind corpus ($(since "$t0")): $p passed, $f failed"
	[ "$f" -eq 0 ] || printf '%s\n' "$out" | grep -v '^ok' | head -80
	printf '%s\n' "$out" | notok >>"$whatfailed"
else
	say "valgrind corpus: FAILED (no build or no valgrind)"
	failed=$((failed + 1))
fi

# make distcheck: the tarball builds, tests and installs on its own.
t0=$(date +%s)
if [ -d _build/werror ] && (cd _build/werror &&
    TIKETTI_PG_ELSEWHERE=1 make -j"$jobs" distcheck >distcheck.log 2>&1); then
	passed=$((passed + 1))
	say "distcheck ($(since "$t0")): ok"
else
	failed=$((failed + 1))
	say "distcheck ($(since "$t0")): FAILED"
	tail -40 _build/werror/distcheck.log 2>/dev/null
	# When it was a test that failed there, its own words.
	for log in _build/werror/tiketti-*/_build/sub/test-suite.log; do
		[ -f "$log" ] && grep -A30 '^FAIL:\|^ERROR:' "$log" | head -120 &&
		    remember distcheck "$log"
	done
fi

# A newcomer's fresh minbase Debian 12 root: the README's demo command,
# then deps.sh --test and make check there (tests/fresh-debian.sh).
t0=$(date +%s)
out=$(sh tests/fresh-debian.sh 2>&1)
p=$(printf '%s\n' "$out" | grep -c '^ok')
f=$(printf '%s\n' "$out" | grep -c '^not ok')
[ "$p" -gt 0 ] || f=$((f + 1))
passed=$((passed + p))
failed=$((failed + f))
say "fresh-debian ($(since "$t0")): $p passed, $f failed"
[ "$f" -eq 0 ] || printf '%s\n' "$out" | grep -v '^ok' | head -60
printf '%s\n' "$out" | notok >>"$whatfailed"

if [ -s "$whatfailed" ]; then
	say "--- what failed (the first lines) ---"
	head -24 "$whatfailed"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
