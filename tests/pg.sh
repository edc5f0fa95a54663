#!/bin/sh
# The store's tests on PostgreSQL: a throw-away cluster (tests/servers.sh
# pg_up: initdb, pg_ctl as user postgres, a free port on loopback, its
# socket in the test's directory, stopped by pid), then the unit tests
# that use a store (each test in a database of its own) and the shell
# tests that compare whole outputs (scenarios, reports), send the outbox
# to a real smtp-sink (deliver.sh), drive the milter with miltertest
# (milter.sh: a held writer lock and a stopped server tempfail) and kill
# writers with SIGKILL (crash.sh) with their database there. Every check of theirs is a check here, named with the
# test it came from. SQLite runs the same tests in `make check` itself.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need psql
# The suite (tests/suite.sh) runs this once, under the sanitizers, not
# again in its -Werror build, distcheck and the fresh root: the whole
# suite must stay under 40 minutes on 2 cores. A plain make check always
# runs it.
if [ -n "${TIKETTI_PG_ELSEWHERE:-}" ]; then
	echo "1..0 # SKIP run by tests/suite.sh's sanitize stage"
	exit 0
fi
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
# The unit tests' fault (a fast restart) goes through this script.
TIKETTI_TEST_PG_RESTART="$WORK/restart"
printf '#!/bin/sh\ncd "%s" && %s "%s/pg_ctl" -D "%s/data" -l "%s/pg.log" -w -m fast restart >/dev/null\n' \
    "$PG_DIR" "$_pgrun" "$PG_BIN" "$PG_DIR" "$PG_DIR" >"$TIKETTI_TEST_PG_RESTART"
chmod +x "$TIKETTI_TEST_PG_RESTART"
TIKETTI_TEST_PG_STOP="$WORK/stop"
TIKETTI_TEST_PG_START="$WORK/start"
printf '#!/bin/sh\ncd "%s" && %s "%s/pg_ctl" -D "%s/data" -w -m fast stop >/dev/null\n' \
    "$PG_DIR" "$_pgrun" "$PG_BIN" "$PG_DIR" >"$TIKETTI_TEST_PG_STOP"
printf '#!/bin/sh\ncd "%s" && %s "%s/pg_ctl" -D "%s/data" -l "%s/pg.log" -w -o "%s" start >/dev/null\n' \
    "$PG_DIR" "$_pgrun" "$PG_BIN" "$PG_DIR" "$PG_DIR" "$PG_OPTS" >"$TIKETTI_TEST_PG_START"
chmod +x "$TIKETTI_TEST_PG_STOP" "$TIKETTI_TEST_PG_START"
export TIKETTI_TEST_PG TIKETTI_TEST_PG_CREATEDB TIKETTI_TEST_PG_DROPDB \
    TIKETTI_TEST_PG_RESTART TIKETTI_TEST_PG_STOP TIKETTI_TEST_PG_START

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
for t in scenarios report deliver push sla fields privacy oauth check operations merge spam forward milter crash; do
	sh "$SRCDIR/tests/$t.sh" >"$WORK/tap" 2>&1
	relay "$t.sh on PostgreSQL" <"$WORK/tap"
done

# mail N DIR FIRST COUNT: COUNT messages, each a new customer's, as
# maildir files DIR/new/N-I (Message-ID <N-I@load.example>).
mail() {
	mkdir -p "$2/new" "$2/cur" "$2/tmp"
	python3 - "$@" <<'PY'
import sys
tag, d, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(first, first + count):
    with open("%s/new/%s-%d" % (d, tag, i), "w") as f:
        f.write("From: c%d@asiakas.example\nTo: tuki@yritys.example\n"
                "Subject: load %s %d\nMessage-ID: <%s-%d@load.example>\n"
                "Date: Mon, 02 Nov 2026 10:00:00 +0200\n\nmessage %d\n"
                % (i, tag, i, tag, i, i))
PY
}

# counts DB: messages, distinct Message-IDs, tickets.
counts() {
	sql_db "$1" "select count(*), count(distinct message_id) from messages" |
	    tr '|\n' '  '
	sql_db "$1" "select count(*) from tickets"
}

# ---- db copy: SQLite to PostgreSQL and back ----
# The sample's mail with its rules (tickets, events, an outbox, a survey)
# and a report's history: the same JSON on every side.
sed "s|^database = .*|database = $WORK/orig.db|; s|\.\./rules|$SRCDIR/rules|" \
    "$SRCDIR/sample/tiketti.conf" >"$WORK/copy.conf"
"$TIKETTI" -c "$WORK/copy.conf" ingest --maildir "$SRCDIR/sample/maildir" \
    2>/dev/null
PGCOPY=$(db copied)
views() {	# DATABASE: what an agent and a supervisor see, as JSON
	t="$TIKETTI -c $WORK/copy.conf --db $1"
	$t ticket list --format json
	for i in $($t ticket list --format json | python3 -c \
	    'import json, sys; print(" ".join(str(t["id"]) for t in json.load(sys.stdin)))'); do
		$t ticket show "$i" --format json
	done
	$t outbox list --format json
	# (at a fixed time: a report says how old the oldest open one is)
	at '2026-03-01 12:00:00' $t report --since 2026-01-01 \
	    --until 2026-03-01 --format json
	$t message raw 1
}
views "$WORK/orig.db" >"$WORK/orig.views"
check "db copy SQLite to PostgreSQL: exit 0" \
    "$TIKETTI" -c "$WORK/copy.conf" db copy "$WORK/orig.db" "$PGCOPY"
views "$PGCOPY" >"$WORK/pg.views"
check "db copy: PostgreSQL shows what SQLite did (tickets, messages, outbox, report, raw mail)" \
    cmp "$WORK/orig.views" "$WORK/pg.views"
check "db copy PostgreSQL to SQLite: exit 0" \
    "$TIKETTI" -c "$WORK/copy.conf" db copy "$PGCOPY" "$WORK/back.db"
views "$WORK/back.db" >"$WORK/back.views"
check "db copy: and back again, the same" \
    cmp "$WORK/orig.views" "$WORK/back.views"
is "db copy refuses a database that is not empty" \
    "$(exitcode "$TIKETTI" -c "$WORK/copy.conf" db copy "$WORK/orig.db" "$PGCOPY") $(grep -c 'not empty' "$WORK/err")" "77 1"
printf 'From: new@asiakas.example\nTo: tuki@yritys.example\nSubject: after the copy\nMessage-ID: <after-copy@x>\n\nhello\n' |
    "$TIKETTI" -c "$WORK/copy.conf" --db "$PGCOPY" ingest 2>/dev/null
is "db copy: a ticket made after it takes the next number" \
    "$(sql_db "$PGCOPY" "select max(id) - (select max(id) from tickets where subject <> 'after the copy') from tickets")" 1
is "db migrate says the schema" \
    "$("$TIKETTI" -c "$WORK/copy.conf" --db "$PGCOPY" db migrate | sed 's/.*: //')" "schema 14"

# ---- the password: from a 0600 passfile, never from the setting ----
psql -X -q -d "${PG_URL}postgres" -c "create role pwuser login password 'pw-s3cret'"
$PG_CREATEDB -O pwuser pwdb
sed -i '1i host all pwuser 127.0.0.1/32 scram-sha-256' "$PG_DIR/data/pg_hba.conf"
(cd "$PG_DIR" && $_pgrun "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload >/dev/null)
echo "127.0.0.1:$PG_PORT:pwdb:pwuser:pw-s3cret" >"$WORK/pgpass"
chmod 600 "$WORK/pgpass"
PWURL="postgresql://pwuser@127.0.0.1:$PG_PORT/pwdb?passfile=$WORK/pgpass"
is "a password from a 0600 passfile: the store opens" \
    "$(exitcode "$TIKETTI" --db "$PWURL" ticket list)" 0
chmod 644 "$WORK/pgpass"
is "a passfile others can read is not used (libpq): try later (75)" \
    "$(exitcode "$TIKETTI" --db "$PWURL" ticket list)" 75
is "a password in the setting is refused, and not repeated" \
    "$(exitcode "$TIKETTI" --db "postgresql://pwuser:pw-s3cret@127.0.0.1:$PG_PORT/pwdb" ticket list) $(grep -c passfile "$WORK/err") $(grep -c s3cret "$WORK/err")" "73 1 0"

# ---- failover: the first host is down, libpq takes the next ----
FO=$(db failover)
FOINFO="postgresql:host=127.0.0.1,127.0.0.1 port=$(freeport),$PG_PORT user=tiketti dbname=${FO##*/} target_session_attrs=read-write connect_timeout=3"
printf 'From: f@asiakas.example\nTo: tuki@yritys.example\nSubject: failover\nMessage-ID: <fo@x>\n\nx\n' |
    "$TIKETTI" --db "$FOINFO" ingest 2>"$WORK/fo.err"
is "two hosts, the first down: the mail goes to the one that answers" \
    "$(sql_db "$FO" "select subject from messages")" failover

# ---- a database newer than the program is refused by every command ----
sql_db "$FO" "update tiketti_schema set version = 99"
is "a newer schema: ticket list refuses it (73), saying so" \
    "$(exitcode "$TIKETTI" --db "$FO" ticket list) $(grep -c 'schema 99 is newer than this tiketti' "$WORK/err")" "73 1"
is "... and so does ingest, with try later (75) for the sender" \
    "$(echo x | exitcode "$TIKETTI" --db "$FO" ingest)" 75
is "... and db migrate" "$(exitcode "$TIKETTI" --db "$FO" db migrate)" 73

# ---- exactly once: two bulk imports of one maildir at once ----
for backend in sqlite postgresql; do
	if [ $backend = sqlite ]; then
		D=$WORK/twice.db
	else
		D=$(db twice)
	fi
	printf 'database = %s\nbusy_timeout = 60\n' "$D" >"$WORK/twice.conf"
	rm -rf "$WORK/md"
	mail twice "$WORK/md" 1 400
	"$TIKETTI" -c "$WORK/twice.conf" ingest --maildir "$WORK/md" \
	    >"$WORK/a.out" 2>&1 &
	a=$!
	"$TIKETTI" -c "$WORK/twice.conf" ingest --maildir "$WORK/md" \
	    >"$WORK/b.out" 2>&1 &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	# The issue allows one 75 ("try later"; seen once on SQLite on a
	# loaded machine): run again, as cron would, it must end with 0.
	for r in a b; do
		eval "rc=\$r$r"
		if [ "$rc" = 75 ]; then
			sed 's/^/# 75 from a run: /' "$WORK/$r.out" | grep -v ' messages:' | head -3
			"$TIKETTI" -c "$WORK/twice.conf" ingest --maildir "$WORK/md" \
			    >"$WORK/$r.out" 2>&1
			eval "r$r=\$?"
		fi
	done
	is "$backend: two imports of one maildir at once both exit 0 (or 75, then 0)" \
	    "$ra $rb" "0 0"
	is "$backend: ...and store it once (messages, Message-IDs, tickets)" \
	    "$(counts "$D")" "400 400 400"
done

# store_for NAME BACKEND: sets D to a new database NAME on the backend,
# with NAME.conf naming it.
store_for() {
	if [ "$2" = sqlite ]; then
		D=$WORK/$1.db
	else
		D=$(db "$1")
	fi
	printf 'database = %s\nbusy_timeout = 60\n' "$D" >"$WORK/$1.conf"
	"$TIKETTI" -c "$WORK/$1.conf" ticket list >/dev/null	# the schema
}
# at_once CONF FORMAT: eight ingests at once, of FORMAT with I (1-8) for
# each %d; prints their exit codes in order.
at_once() {
	pids=
	for i in 1 2 3 4 5 6 7 8; do
		# shellcheck disable=SC2059
		printf "$2" "$i" "$i" "$i" | "$TIKETTI" -c "$1" ingest &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
		printf '%s' "$?"
	done
}

# ---- one ticket at a time: eight replies at once to a solved ticket ----
# Each is a process of its own, threaded by the tag alone (no shared
# Message-ID): the first reopens the ticket, the others see it open.
for backend in sqlite postgresql; do
	store_for eight $backend
	printf 'From: c@asiakas.example\nTo: tuki@yritys.example\nSubject: jarrut\nMessage-ID: <eight-0@asiakas.example>\n\nJarrut vinkuvat.\n' |
	    "$TIKETTI" -c "$WORK/eight.conf" ingest
	"$TIKETTI" -c "$WORK/eight.conf" ticket set 1 status solved >/dev/null
	codes=$(at_once "$WORK/eight.conf" 'From: c@asiakas.example\nTo: tuki@yritys.example\nSubject: Re: [Ticket #1] jarrut %d\nMessage-ID: <eight-%d@asiakas.example>\n\nVielä %d.\n')
	is "$backend: eight replies at once to a solved ticket: all stored on it, reopened once" \
	    "$codes $(sql_db "$D" "select count(*) from messages where ticket_id = 1") $(sql_db "$D" "select count(*) from events where type = 'status' and new = 'open'")" \
	    "00000000 9 1"
done

# ---- one Message-ID, eight different messages at once ----
# The first holder keeps it; each later one is stored flagged (reused),
# on a ticket of its own: writers claim the Message-IDs they read.
for backend in sqlite postgresql; do
	store_for same $backend
	codes=$(at_once "$WORK/same.conf" 'From: c%d@asiakas.example\nTo: tuki@yritys.example\nSubject: kysymys %d\nMessage-ID: <same@asiakas.example>\n\nKysymys %d.\n')
	is "$backend: eight messages with one Message-ID at once: all stored, one holder, eight tickets" \
	    "$codes $(sql_db "$D" "select count(*), sum(case when flags & 256 = 0 then 1 else 0 end), count(distinct ticket_id) from messages")" \
	    "00000000 8|1|8"
done

# ---- faults: the server restarted under a load from two writers ----
# Each writer imports its 500 messages and, as a cron job or Postfix
# would, runs again after a 75 ("try later") until it exits 0.
D=$(db fault)
printf 'database = %s\nbusy_timeout = 10\n' "$D" >"$WORK/fault.conf"
"$TIKETTI" -c "$WORK/fault.conf" ticket list >/dev/null	# the schema
rm -rf "$WORK/w1" "$WORK/w2"
mail w1 "$WORK/w1" 1 500
mail w2 "$WORK/w2" 1 500
writer() {
	for _n in $(seq 50); do
		"$TIKETTI" -c "$WORK/fault.conf" ingest --maildir "$1" \
		    >>"$1.log" 2>&1
		rc=$?
		echo "$rc" >>"$1.codes"
		[ $rc = 75 ] || break
		sleep 0.2
	done
}
: >"$WORK/w1.codes"
: >"$WORK/w2.codes"
writer "$WORK/w1" &
p1=$!
writer "$WORK/w2" &
p2=$!
# Once both are inside a batch's transaction, they are stopped (SIGSTOP:
# a batch of these small messages takes a fraction of a second, less
# than it takes to see it and restart) and held there while a fast
# restart drops every connection, then let go.
intx() {
	sql_db "$D" "select count(*) from pg_stat_activity
	    where application_name = 'tiketti' and xact_start is not null"
}
for _i in $(seq 500); do
	if [ "$(intx)" -ge 2 ]; then
		pkill -STOP -f "$WORK/fault.conf ingest"
		[ "$(intx)" -ge 2 ] && break
		pkill -CONT -f "$WORK/fault.conf ingest"
	fi
	sleep 0.02
done
logged=$(wc -l <"$PG_DIR/pg.log")
pg_restart
pkill -CONT -f "$WORK/fault.conf ingest"
wait $p1 $p2
is "restart under load: both writers end with 0, after 75s only" \
    "$(tail -1 "$WORK/w1.codes") $(tail -1 "$WORK/w2.codes") $(cat "$WORK/w1.codes" "$WORK/w2.codes" | grep -cv '^[07]5*$')" "0 0 0"
# Each writer's connection was dropped in its transaction; a writer
# then either exits 75 and runs again, or begins its batch anew on a
# fresh connection: both are right, so the server's log says it.
is "restart under load: the restart dropped both writers' connections" \
    "$(tail -n +$((logged + 1)) "$PG_DIR/pg.log" | grep -c 'terminating connection due to administrator command')" 2
is "restart under load: 1000 messages, none lost, none doubled" \
    "$(counts "$D")" "1000 1000 1000"

done_testing
