#!/bin/sh
# Fuzzes the rule parser (tests/fuzz/fuzz_rules.c) with clang's libFuzzer
# and AddressSanitizer for FUZZ_SECONDS (default 30), seeded with the
# shipped and the broken rule files. Any crash, leak or sanitizer report
# fails the test; the input that did it is kept in $FUZZ_ARTIFACTS (default
# the build directory) to become a regression test.
. "${SRCDIR:-.}/tests/lib.sh"

: "${FUZZ_SECONDS:=30}"
: "${FUZZ_ARTIFACTS:=$(pwd)}"
CC_FUZZ=${CC_FUZZ:-clang}
if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
	# CI installs clang (contrib/deps.sh --test): missing is a failure.
	not_ok "fuzz: $CC_FUZZ not found (sh contrib/deps.sh --test installs it)"
	done_testing
	exit 1
fi
S="$SRCDIR/src"
# shellcheck disable=SC2046
if "$CC_FUZZ" -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$SRCDIR/include" \
    -DSYSCONFDIR='"/etc"' $(pkg-config --cflags gmime-3.0 sqlite3) \
    "$SRCDIR/tests/fuzz/fuzz_rules.c" "$S/rules_lex.c" "$S/rules_parse.c" \
    "$S/rules.c" "$S/str.c" "$S/buf.c" "$S/log.c" "$S/conf.c" "$S/ticket.c" \
    "$S/store.c" "$S/mime.c" $(pkg-config --libs gmime-3.0 sqlite3) \
    -lpthread -o "$WORK/fuzz_rules" >"$WORK/cc.out" 2>&1; then
	ok "fuzz: the rule parser target builds with $CC_FUZZ"
else
	not_ok "fuzz: the rule parser target builds with $CC_FUZZ"
	sed 's/^/# /' "$WORK/cc.out"
	done_testing
	exit 1
fi
mkdir -p "$WORK/corpus"
cp "$SRCDIR"/rules/*.rules "$SRCDIR"/tests/rules/bad/*.rules "$WORK/corpus/"
if ASAN_OPTIONS=detect_leaks=1 "$WORK/fuzz_rules" -max_total_time="$FUZZ_SECONDS" \
    -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
    -dict="$SRCDIR/tests/fuzz/rules.dict" -artifact_prefix="$FUZZ_ARTIFACTS/" \
    -print_final_stats=1 "$WORK/corpus" >"$WORK/fuzz.out" 2>&1; then
	ok "fuzz: rule parser, ${FUZZ_SECONDS}s, no crash, leak or sanitizer report"
	grep -E "stat::number_of_executed_units|cov:" "$WORK/fuzz.out" | tail -2 |
	    sed 's/^/# /'
else
	not_ok "fuzz: rule parser found a crash, leak or sanitizer report"
	grep -v "^#[0-9]* *\(NEW\|REDUCE\|pulse\|INITED\)" "$WORK/fuzz.out" |
	    tail -40 | sed 's/^/# /'
fi
done_testing
