#!/bin/sh
# Threading and state scenarios: each tests/scenarios/NAME/ holds mail
# files, a `steps` script and the expected `ticket list/show` JSON. Time
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

compare() {
	_file=$1
	shift
	"$@" --format json >"$WORK/got.json" 2>"$WORK/err" || {
		not_ok "$NAME: $* failed"
		sed 's/^/# /' "$WORK/err"
		return
	}
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

for S in "$SRCDIR"/tests/scenarios/*/; do
	S=${S%/}
	NAME=$(basename "$S")
	rm -f "$WORK"/t.db*
	printf 'database = %s\n' "$WORK/t.db" >"$WORK/tiketti.conf"
	[ -f "$S/tiketti.conf" ] && cat "$S/tiketti.conf" >>"$WORK/tiketti.conf"
	. "$S/steps"
done
done_testing
