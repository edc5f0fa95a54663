# tests/lib.sh — TAP helpers and a scratch directory for the shell tests.
# Sourced by each tests/*.sh; they print TAP for automake's tap-driver.

: "${TIKETTI:?TIKETTI must name the tiketti binary under test}"
: "${SRCDIR:?SRCDIR must name the source tree}"
TAP_N=0
TAP_FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# ASan's runtime must come first; libfaketime is preloaded after it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	_d=$1
	shift
	if "$@" >"$WORK/check.out" 2>&1; then
		ok "$_d"
	else
		not_ok "$_d"
		sed 's/^/# /' "$WORK/check.out"
	fi
}

# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   got: '$2'"
		echo "#  want: '$3'"
	fi
}

# exitcode COMMAND...: prints the command's exit status; its output is
# in $WORK/out and $WORK/err.
exitcode() {
	"$@" >"$WORK/out" 2>"$WORK/err"
	echo $?
}

# tk [ARGS...]: tiketti with the test's config and database.
tk() {
	"$TIKETTI" -c "$WORK/tiketti.conf" "$@"
}

# at 'YYYY-MM-DD hh:mm:ss' COMMAND...: runs with the clock at that time.
at() {
	_t=$1
	shift
	faketime -f "@$_t" "$@"
}

# later SECONDS COMMAND...: runs the command that far in the future.
later() {
	_s=$1
	shift
	at "$(date -d "@$(($(date +%s) + _s))" '+%Y-%m-%d %H:%M:%S')" "$@"
}

# json EXPR < JSON: prints a Python expression over the parsed input (d).
json() {
	python3 -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(json.dumps(r) if not isinstance(r,str) else r)' "$1"
}

# need CMD...: a missing command fails the test and ends it (CI installs
# them all with contrib/deps.sh --test).
need() {
	for _c in "$@"; do
		if ! command -v "$_c" >/dev/null 2>&1; then
			not_ok "$_c not found (sh contrib/deps.sh --test installs it)"
			done_testing
			exit 1
		fi
	done
}

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# db NAME: a test's database NAME, empty: $WORK/NAME.db, or, when
# tests/pg.sh runs the test (TIKETTI_TEST_PG set: the URL of a scratch
# cluster up to the database name), a new PostgreSQL database there. A
# second call for the same NAME starts it empty again.
db() {
	if [ -n "${TIKETTI_TEST_PG:-}" ]; then
		_n=$(basename "$WORK" | tr 'A-Z.-' 'a-z__')_$1
		$TIKETTI_TEST_PG_DROPDB --if-exists "$_n" >/dev/null 2>&1
		$TIKETTI_TEST_PG_CREATEDB "$_n" >/dev/null ||
		    echo "# createdb $_n failed" >&2
		echo "$TIKETTI_TEST_PG$_n"
	else
		rm -f "$WORK/$1.db" "$WORK/$1.db-wal" "$WORK/$1.db-shm"
		echo "$WORK/$1.db"
	fi
}

# sql DATABASE QUERY: the rows a query returns, columns joined by "|",
# on either backend (sqlite3, or psql for a postgresql:// database).
sql_db() {
	case $1 in
	postgres*) psql -X -A -t -q -d "$1" -c "$2" ;;
	*) sqlite3 "$1" "$2" ;;
	esac
}
