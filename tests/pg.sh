#!/bin/sh
# The store's tests on PostgreSQL: a throw-away cluster (tests/servers.sh
# pg_up: initdb, pg_ctl as user postgres, a free port on loopback, its
# socket in the test's directory, stopped by pid), then the unit tests
# that use a store (each test in a database of its own) and the shell
# tests that compare whole outputs (scenarios, reports) with their
# database there. Every check of theirs is a check here, named with the
# test it came from. SQLite runs the same tests in `make check` itself.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need psql
DIR=$WORK
trap 'pg_down; rm -rf "$WORK"' EXIT
if ! pg_up; then
	not_ok "a scratch PostgreSQL cluster starts"
	done_testing
	exit 1
fi
TIKETTI_TEST_PG=$PG_URL
TIKETTI_TEST_PG_CREATEDB=$PG_CREATEDB
TIKETTI_TEST_PG_DROPDB="$PG_BIN/dropdb -h 127.0.0.1 -p $PG_PORT -U tiketti"
export TIKETTI_TEST_PG TIKETTI_TEST_PG_CREATEDB TIKETTI_TEST_PG_DROPDB

# relay NAME: another test's TAP on stdin, renumbered as ours; its
# diagnostics pass through. A test that printed no result fails. (Read
# from a file: a pipe would count in a subshell.)
relay() {
	_seen=0
	while IFS= read -r _l; do
		case $_l in
		"ok "*) ok "$1: $(echo "$_l" | sed 's/^ok [0-9]* *-* *//')"
			_seen=1 ;;
		"not ok "*) not_ok "$1: $(echo "$_l" | sed 's/^not ok [0-9]* *-* *//')"
			_seen=1 ;;
		"#"*) echo "$_l" ;;
		esac
	done
	[ "$_seen" = 1 ] || not_ok "$1 printed no results"
}

B=$(dirname "$TIKETTI")/tests/unit
for t in test_store test_ingest test_automate; do
	CMOCKA_MESSAGE_OUTPUT=TAP "$B/$t" >"$WORK/tap" 2>&1
	relay "$t on PostgreSQL" <"$WORK/tap"
done
for t in scenarios report; do
	sh "$SRCDIR/tests/$t.sh" >"$WORK/tap" 2>&1
	relay "$t.sh on PostgreSQL" <"$WORK/tap"
done
done_testing
