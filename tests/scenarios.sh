#!/bin/sh
# Threading, state and rule scenarios: each tests/scenarios/NAME/ holds
# mail files, a `steps` script and the expected `ticket list/show` and
# `outbox list` JSON (@SRCDIR@ in its tiketti.conf is the source tree). Time
# comes from faketime. REGEN=1 rewrites the expected files (review them!).
. "${SRCDIR:-.}/tests/lib.sh"

# mail TIME FILE: ingest one file at that time.
mail() {
	if at "$1" "$TIKETTI" -c "$WORK/tiketti.conf" ingest "$S/$2" \
	    >"$WORK/out" 2>&1; then
		:
	else
		not_ok "$NAME: ingest $2 (exit $?)"
		sed 's/^/# /' "$WORK/out"
	fi
}

# change TIME ID FIELD VALUE: an admin's change at that time.
change() {
	_t=$1
	shift
	at "$_t" "$TIKETTI" -c "$WORK/tiketti.conf" ticket set "$@" \
	    >"$WORK/out" 2>&1 || { not_ok "$NAME: set $*"; sed 's/^/# /' "$WORK/out"; }
}

# tick TIME: `tiketti tick` at that time (time rules, close_after).
tick() {
	at "$1" "$TIKETTI" -c "$WORK/tiketti.conf" tick >"$WORK/out" 2>&1 ||
	    { not_ok "$NAME: tick at $1"; sed 's/^/# /' "$WORK/out"; }
}

compare() {
	_file=$1
	shift
	# The Message-IDs of our own mail are random: they read (generated).
	"$@" --format json >"$WORK/raw.json" 2>"$WORK/err" || {
		not_ok "$NAME: $* failed"
		sed 's/^/# /' "$WORK/err"
		return
	}
	sed 's/"message_id": "[A-Z0-9]*\.[A-Z0-9]*@/"message_id": "(generated)@/' \
	    "$WORK/raw.json" >"$WORK/got.json"
	if [ -n "${REGEN:-}" ]; then
		cp "$WORK/got.json" "$S/$_file"
	fi
	if diff -u "$S/$_file" "$WORK/got.json" >"$WORK/diff"; then
		ok "$NAME: $_file"
	else
		not_ok "$NAME: $_file differs"
		sed 's/^/# /' "$WORK/diff"
	fi
}

expect_list() {
	compare "$1" tk ticket list
}

expect_show() {
	compare "$2" tk ticket show "$1"
}

expect_outbox() {
	compare "$1" tk outbox list
}

for S in "$SRCDIR"/tests/scenarios/*/; do
	S=${S%/}
	NAME=$(basename "$S")
	mkdir -p "$WORK/no-rules"
	printf 'database = %s\nrules_dir = %s\n' "$(db t)" "$WORK/no-rules" \
	    >"$WORK/tiketti.conf"
	[ -f "$S/tiketti.conf" ] && sed "s|@SRCDIR@|$SRCDIR|g" "$S/tiketti.conf" \
	    >>"$WORK/tiketti.conf"
	. "$S/steps"
done
done_testing
