#!/bin/sh
# Fuzzes with clang's libFuzzer under AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, FUZZ_SECONDS (default 5; `make fuzz` and so
# CI: 60) per target:
#   ingest    the whole pipeline on an in-memory database, seeded with
#             tests/corpus (a message must be stored or refused as too big)
#   rules     the rule parser and evaluator, seeded with the rule files
#   template  the template renderer, seeded with rules/templates (no CR or
#             LF may reach a header)
#   conf      the configuration parser, seeded with the shipped configs
#   authres   the Authentication-Results parser and verdict (a pass needs
#             a line that says pass), seeded with tests/fuzz/seeds/authres
#   quote     the quote stripper (the new text never adds), seeded with
#             tests/fuzz/seeds/quote
#   html      the HTML converter and the HTML cut (text valid UTF-8),
#             seeded with tests/fuzz/seeds/html
#   cut       the milter's cut of an agent's command lines from a
#             message's text and HTML (CRLF only), seeded with
#             tests/fuzz/seeds/cut and the scenarios' mail
#   ooo       the day an out-of-office note names (after now, within a
#             year) and str_to_time, seeded with tests/fuzz/seeds/ooo
#   calendar  the calendar parser and its iCalendar reader (a calendar
#             that loads adds and counts business time consistently),
#             seeded with contrib/calendars
#   extract   the form extractor (a value is one line, capped), seeded
#             with tests/fuzz/seeds/extract
#   lookup    a lookup's JSON answer read through paths (jansson) and its
#             URL template, seeded with tests/fuzz/seeds/lookup
#   forward   the inline forward parser (an address with an @, a one-line
#             subject, a body inside the input), seeded with
#             tests/fuzz/seeds/forward
#   redact    the card, HETU and IBAN detector as text and as HTML (a
#             masked text is never longer), seeded with
#             tests/fuzz/seeds/redact
# FUZZ_TARGETS picks some. Every input in tests/fuzz/regress/TARGET/ (a
# crash found once) is run first. Any crash, leak or sanitizer report
# fails; the input is kept in $FUZZ_ARTIFACTS (default the build
# directory), to be added to tests/fuzz/regress/TARGET/.
. "${SRCDIR:-.}/tests/lib.sh"

: "${FUZZ_SECONDS:=5}"
: "${FUZZ_ARTIFACTS:=$(pwd)}"
: "${FUZZ_TARGETS:=ingest rules template conf authres cut html quote ooo calendar extract lookup redact forward}"
mkdir -p "$FUZZ_ARTIFACTS"
CC_FUZZ=${CC_FUZZ:-clang}
need "$CC_FUZZ" pkg-config
S=$SRCDIR/src
F=$SRCDIR/tests/fuzz
PKGS="libytnef libxml-2.0 gmime-3.0 sqlite3 libpq libcurl libetpan gnutls milter libical jansson"
# The flags configure settled on (`make fuzz` passes them: without the
# packaging flags libetpan.pc leaks, see configure.ac); pkg-config's own,
# so filtered, when run by hand.
: "${DEP_CFLAGS:=$(pkg-config --cflags $PKGS)}"
: "${DEP_LIBS:=$(pkg-config --libs $PKGS | sed 's/-specs=[^ ]*//g') -lpthread}"
flags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=undefined -D_GNU_SOURCE -I$SRCDIR/include
    -DSYSCONFDIR=\"/etc\""

# The library's sources once (everything but main()), then each target.
mkdir -p "$WORK/obj"
for c in "$S"/*.c; do
	[ "$(basename "$c")" = cli.c ] && continue
	# shellcheck disable=SC2046,SC2086
	{ $CC_FUZZ $flags $DEP_CFLAGS -c "$c" \
	    -o "$WORK/obj/$(basename "$c" .c).o" >>"$WORK/cc.out" 2>&1 ||
	    touch "$WORK/cc.failed"; } &
done
wait
built=1
[ -f "$WORK/cc.failed" ] && built=0
for t in $FUZZ_TARGETS; do
	# shellcheck disable=SC2046,SC2086
	[ "$built" = 1 ] && $CC_FUZZ $flags -fsanitize=fuzzer \
	    $DEP_CFLAGS "$F/fuzz_$t.c" "$WORK"/obj/*.o \
	    $DEP_LIBS -o "$WORK/fuzz_$t" \
	    >>"$WORK/cc.out" 2>&1
	if [ -x "$WORK/fuzz_$t" ]; then
		ok "fuzz: the $t target builds with $CC_FUZZ"
	else
		not_ok "fuzz: the $t target builds with $CC_FUZZ"
		sed 's/^/# /' "$WORK/cc.out" | tail -30
	fi
done

# seeds TARGET DIR: copies the target's seeds into DIR.
seeds() {
	mkdir -p "$2"
	case $1 in
	ingest)
		find "$SRCDIR/tests/corpus" -type f -size -64k |
		    while read -r f; do
			cp "$f" "$2/$(echo "$f" | cksum | cut -d' ' -f1)"
		    done
		cp "$SRCDIR"/tests/scenarios/*/*.eml "$2/" 2>/dev/null || :
		;;
	rules)
		cp "$SRCDIR"/rules/*.rules "$SRCDIR"/tests/rules/bad/*.rules "$2/"
		;;
	template)
		cp "$SRCDIR"/rules/templates/* "$2/"
		;;
	conf)
		cp "$SRCDIR/contrib/tiketti.conf" "$2/contrib.conf"
		cp "$SRCDIR/sample/tiketti.conf" "$2/sample.conf"
		;;
	authres|html|quote|ooo|extract|lookup|redact|forward)
		cp "$F/seeds/$1"/* "$2/"
		;;
	calendar)
		cp "$SRCDIR"/contrib/calendars/* "$2/"
		;;
	cut)
		cp "$F"/seeds/cut/* "$2/"
		for f in "$SRCDIR"/tests/scenarios/*/*.eml; do
			cp "$f" "$2/$(echo "$f" | cksum | cut -d' ' -f1).eml"
		done
		;;
	esac
}

for t in $FUZZ_TARGETS; do
	[ -x "$WORK/fuzz_$t" ] || continue
	opts="-max_len=65536 -timeout=20 -rss_limit_mb=2048"
	[ "$t" = rules ] && opts="-max_len=4096 -timeout=10 -rss_limit_mb=1024 -dict=$F/rules.dict"
	if [ -d "$F/regress/$t" ]; then
		# shellcheck disable=SC2086
		if ASAN_OPTIONS=detect_leaks=1 TMPDIR=$WORK "$WORK/fuzz_$t" \
		    $opts "$F/regress/$t"/* >"$WORK/regress.out" 2>&1; then
			ok "fuzz: $t: every input of tests/fuzz/regress/$t passes"
		else
			not_ok "fuzz: $t: an input of tests/fuzz/regress/$t fails"
			tail -30 "$WORK/regress.out" | sed 's/^/# /'
		fi
	fi
	seeds "$t" "$WORK/corpus-$t"
	# shellcheck disable=SC2086
	if ASAN_OPTIONS=detect_leaks=1 TMPDIR=$WORK "$WORK/fuzz_$t" \
	    -max_total_time="$FUZZ_SECONDS" $opts \
	    -artifact_prefix="$FUZZ_ARTIFACTS/$t-" -print_final_stats=1 \
	    "$WORK/corpus-$t" >"$WORK/fuzz-$t.out" 2>&1; then
		ok "fuzz: $t, ${FUZZ_SECONDS}s, no crash, leak or sanitizer report"
		grep -E "stat::number_of_executed_units|cov:" \
		    "$WORK/fuzz-$t.out" | tail -2 | sed 's/^/# /'
	else
		not_ok "fuzz: $t found a crash, leak or sanitizer report"
		grep -v "^#[0-9]* *\(NEW\|REDUCE\|pulse\|INITED\)" \
		    "$WORK/fuzz-$t.out" | tail -40 | sed 's/^/# /'
	fi
done
done_testing
