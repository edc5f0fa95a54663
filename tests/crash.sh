#!/bin/sh
# Crash consistency: `tiketti ingest --maildir`, `tiketti poll` (from a
# real Dovecot) and `tiketti tick` killed with SIGKILL at random moments,
# CRASH_TRIALS (default 50) times each, with new mail arriving between
# trials; then one run to the end. Every message must be in exactly once,
# every autoreply row exist once, every time rule have fired once, and
# PRAGMA integrity_check say ok. The delays come from CRASH_SEED
# (printed), so a failure can be replayed. Last, a disk that fills up (a
# file size limit) under ingest: a tempfail, and nothing half-written.
# tests/pg.sh runs it again on PostgreSQL (db in lib.sh), where the
# server's own disk and integrity are not the client's to test.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need python3 faketime pgrep
: "${CRASH_TRIALS:=50}"
: "${CRASH_SEED:=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}"
echo "# CRASH_SEED=$CRASH_SEED CRASH_TRIALS=$CRASH_TRIALS"
DIR=$WORK
trap 'dovecot_down; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
mkdir -p "$WORK/rules" "$WORK/tmpl" "$WORK/md/new" "$WORK/md/cur" "$WORK/md/tmp"
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"
IPORT=$(freeport)
DB=$(db t)
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = support@yritys.example
rules_dir = $WORK/rules
templates_dir = $WORK/tmpl
autoreply_limit = 1000
EOF
{
	dovecot_account crash "$IPORT" "$WORK/pw"
	echo "timeout = 5"
} >>"$WORK/tiketti.conf"
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
rule "stale" { on after 1m since created in new then tag "stale"; }
EOF
printf 'Subject: Thanks\n\nYour case is {{ticket.tag}}.\n' >"$WORK/tmpl/ack.txt"
python3 -c "
import random
random.seed($CRASH_SEED)
for top in (0.15, 0.1, 0.02):	# ingest, poll, tick (a tick takes ~10 ms)
    for _ in range($CRASH_TRIALS):
        print('%.3f' % random.uniform(0, top))
" >"$WORK/delays"
sql() { sql_db "$DB" "$1"; }

# delay N: the Nth random delay.
delay() {
	sed -n "${1}p" "$WORK/delays"
}

# killrun N COMMAND...: runs it, SIGKILLs it after the Nth delay.
killrun() {
	_d=$(delay "$1")
	shift
	"$@" >/dev/null 2>&1 &
	_p=$!
	sleep "$_d"
	kill -9 "$_p" 2>/dev/null && KILLED=$((KILLED + 1))
	wait "$_p" 2>/dev/null
}

# killed WHAT: at least a fifth of the runs were killed while running.
killed() {
	check "$1: $KILLED of $T runs killed while running" \
	    test "$KILLED" -ge $((T / 5))
	KILLED=0
}
KILLED=0

# maildrop FIRST LAST: new messages in the maildir for ingest --maildir.
maildrop() {
	for i in $(seq "$1" "$2"); do
		printf 'From: Customer %d <c%d@asiakas.example>\nTo: support@yritys.example\nSubject: Maildir %d\nMessage-ID: <md-%d@asiakas.example>\n\nHello %d\n' \
		    "$i" "$i" "$i" "$i" "$i" >"$WORK/md/new/$i.eml"
	done
}

T=$CRASH_TRIALS
# ---- ingest --maildir ----
n=0
for k in $(seq "$T"); do
	maildrop $((n + 1)) $((n + 40))
	n=$((n + 40))
	killrun "$k" "$TIKETTI" -c "$WORK/tiketti.conf" ingest --maildir "$WORK/md"
done
killed "ingest --maildir"
is "ingest --maildir after $T kills: the last run exits 0" \
    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" ingest --maildir "$WORK/md")" 0
is "every maildir message in exactly once" \
    "$(sql "select count(*), count(distinct message_id) from messages where message_id like 'md-%'")" "$n|$n"

# ---- poll ----
if [ "$(id -u)" = 0 ]; then
	check "dovecot starts" dovecot_up "$IPORT"
	m=0
	for k in $(seq "$T"); do
		dovecot_drop $((m + 1)) $((m + 40))
		m=$((m + 40))
		killrun $((T + k)) "$TIKETTI" -c "$WORK/tiketti.conf" poll
	done
	killed poll
	is "poll after $T kills: the last run exits 0" \
	    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" poll)" 0
	is "every IMAP message in exactly once" \
	    "$(sql "select count(*), count(distinct message_id) from messages where message_id like 'imap-%'")" "$m|$m"
	is "the poll's mark is the last UID" \
	    "$(sql "select last_uid from imap_state where account = 'crash'")" "$m"
else
	ok "poll # SKIP Dovecot needs root (CI runs as root)"
fi

# ---- tick ----
# Each trial has tickets of its own come due: 10 new ones, written
# 200 s further on each trial, and a tick two minutes after them (the
# clock only goes forward, as a time rule expects). The faketime wrapper
# forks: the kill goes to tiketti, its child, so that the wrapper still
# cleans up its shared memory (left behind, a later faketime with the
# same pid would fail).
for k in $(seq "$T"); do
	maildrop $((n + 1)) $((n + 10))
	n=$((n + 10))
	faketime -f "+$((200 * k))s" "$TIKETTI" -c "$WORK/tiketti.conf" \
	    ingest --maildir "$WORK/md" >/dev/null 2>&1
	faketime -f "+$((200 * k + 120))s" "$TIKETTI" -c "$WORK/tiketti.conf" \
	    tick >/dev/null 2>&1 &
	w=$!
	sleep "$(delay $((2 * T + k)))"
	c=$(pgrep -P "$w")
	[ -n "$c" ] && kill -9 $c 2>/dev/null && KILLED=$((KILLED + 1))
	wait "$w" 2>/dev/null
done
killed tick
tickets=$(sql "select count(*) from tickets")
# The last run after all of them, so that every ticket is due.
is "tick after $T kills: the last run exits 0" \
    "$(exitcode faketime -f "+$((200 * T + 300))s" "$TIKETTI" -c "$WORK/tiketti.conf" tick)" 0
is "the time rule fired once on every ticket" \
    "$(sql "select count(*), count(distinct ticket_id) from rule_fired where rule = 'stale'")" "$tickets|$tickets"
is "... and tagged each once" \
    "$(sql "select count(*) from events where type = 'tag' and new = 'stale'")" "$tickets"
is "one autoreply row a ticket" \
    "$(sql "select count(*), count(distinct ticket_id) from outbox where kind = 'autoreply'")" "$tickets|$tickets"
is "every ticket has its mail" \
    "$(sql "select count(*) from tickets t where not exists (select 1 from messages m where m.ticket_id = t.id)")" 0

case $DB in postgres*) done_testing; exit ;; esac
need sqlite3

# ---- a disk that fills up ----
# As the process sees it: a file size limit (RLIMIT_FSIZE, SIGXFSZ
# ignored) that the WAL index fits under and a new ticket's commit does
# not. ingest tempfails and writes nothing; with room, the mail goes in.
fsize() {
	python3 -c 'import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
os.execvp(sys.argv[2], sys.argv[2:])' "$@"
}
printf 'From: c@asiakas.example\nTo: support@yritys.example\nSubject: Full\nMessage-ID: <full@asiakas.example>\n\nHello\n' >"$WORK/full.eml"
before=$(sql "select count(*) from messages")
is "disk full: ingest tempfails (75)" \
    "$(exitcode fsize 40000 "$TIKETTI" -c "$WORK/tiketti.conf" ingest "$WORK/full.eml")" 75
check "... saying why" grep -q "commit: disk I/O error" "$WORK/err"
is "... and stores nothing" "$(sql "select count(*) from messages")" "$before"
is "with room again, the mail goes in" \
    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" ingest "$WORK/full.eml")" 0
is "... once" "$(sql "select count(*) from messages where message_id = 'full@asiakas.example'")" 1
is "PRAGMA integrity_check" "$(sql "PRAGMA integrity_check")" ok
is "PRAGMA foreign_key_check" "$(sql "PRAGMA foreign_key_check")" ""
done_testing
