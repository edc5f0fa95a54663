#!/bin/sh
# The milter (tiketti milter -d) driven by miltertest (Debian package
# miltertest): a shared address ticketed with X-Tiketti-* headers and a
# tagged Subject, other mail accepted at DATA, abort mid-message,
# several messages and 201 recipients on one connection, a 64 KiB body
# chunk, a re-sent message (idempotent), a message over the size limit
# refused with 552, SIGHUP with broken rules keeping the old ones, and a
# locked database answered with a tempfail that loses nothing.
. "${SRCDIR:-.}/tests/lib.sh"

if ! command -v miltertest >/dev/null 2>&1; then
	not_ok "miltertest not found (sh contrib/deps.sh --test installs it)"
	done_testing
	exit 1
fi
mkdir -p "$WORK/rules"
DB=$(db t)
sql() { sql_db "$DB" "$1"; }
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = $WORK/rules
milter_socket = unix:$WORK/milter.sock
milter_pid_file = $WORK/milter.pid
milter_user = nobody
message_size_limit = 2000000
milter_spool_threshold = 65536
busy_timeout = 1s
EOF
# The milter drops to nobody after binding: it must reach its files.
chmod 777 "$WORK"
"$TIKETTI" -c "$WORK/tiketti.conf" milter -d >"$WORK/milter.log" 2>&1 &
MPID=$!
trap 'kill "$MPID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -S "$WORK/milter.sock" ] && break
	sleep 0.2
done
check "the milter listens on its socket" test -S "$WORK/milter.sock"
check "it wrote its pid file" test "$(cat "$WORK/milter.pid" 2>/dev/null)" = "$MPID"
if [ "$(id -u)" = 0 ]; then
	is "it runs as milter_user after binding" \
	    "$(ps -o user= -p "$MPID" | tr -d ' ')" nobody
fi
SOCK="unix:$WORK/milter.sock" miltertest -s "$SRCDIR/tests/milter/basic.lua" \
    >"$WORK/mt.out" 2>&1
check "miltertest: protocol cases" grep -q "protocol cases ok" "$WORK/mt.out"
sed 's/^/# /' "$WORK/mt.out" | grep -v "cases ok"
is "two tickets, the duplicate and the aborted message not stored twice" \
    "$(sql "select count(*) from tickets")/$(sql "select count(*) from messages")" "2/2"
check "the log names the queue id" grep -q "^tiketti: Q1: ticket 1 new" "$WORK/milter.log"

# SIGHUP with broken rules: the old ones stay in force.
echo 'rule "x" { on create then sett priority high; }' >"$WORK/rules/bad.rules"
kill -HUP "$MPID"
sleep 0.5
check "SIGHUP with broken rules: reported, the old ones kept" \
    grep -q "keeping the configuration, rules and calendars in force" "$WORK/milter.log"
rm "$WORK/rules/bad.rules"
# ... and with a broken calendar (tiketti-calendar(5)): named where it is.
mkdir -p "$WORK/cal"
printf 'timezone Europe/Helsinki\nmon-fri 8-16\n' >"$WORK/cal/fi.cal"
printf 'policy "std" { calendar "fi"; first-response 4h; }\n' >"$WORK/rules/sla.rules"
cp "$WORK/tiketti.conf" "$WORK/tiketti.conf.keep"
echo "calendars_dir = $WORK/cal" >>"$WORK/tiketti.conf"
n0=$(grep -c "reload failed" "$WORK/milter.log")
kill -HUP "$MPID"
sleep 0.5
is "SIGHUP with a broken calendar: the reload refused, the old set kept" \
    "$(grep -c "reload failed" "$WORK/milter.log")" "$((n0 + 1))"
check "... the error as file:line:col" grep -q "fi.cal:2:9: not a time of day" "$WORK/milter.log"
rm "$WORK/rules/sla.rules"
mv "$WORK/tiketti.conf.keep" "$WORK/tiketti.conf"

# A locked database: tempfail, and nothing is lost once it is free.
cat >"$WORK/lock.lua" <<'EOF'
local conn = mt.connect(os.getenv("SOCK"))
mt.macro(conn, SMFIC_MAIL, "i", "QL")
mt.mailfrom(conn, "<e@asiakas.example>")
mt.rcptto(conn, "<tuki@yritys.example>")
mt.data(conn)
mt.header(conn, "Subject", "Locked")
mt.header(conn, "Message-ID", "<e1@asiakas.example>")
mt.bodystring(conn, "x\r\n")
mt.eom(conn)
print(mt.getreply(conn) == SMFIR_TEMPFAIL and "tempfail" or
    (mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT)
    and "accept" or "other")
mt.disconnect(conn)
EOF
SOCK="unix:$WORK/milter.sock"
export SOCK
case $DB in
postgres*)
	# Another host's writer holding the store's writer lock (the key
	# store_pg.c takes) longer than busy_timeout.
	psql -X -q -d "$DB" -c "select pg_advisory_lock(7602161133)" \
	    -c "select pg_sleep(4)" >/dev/null 2>&1 &
	LP=$!
	sleep 1
	miltertest -s "$WORK/lock.lua" >"$WORK/lock.out" 2>&1
	wait "$LP"
	;;
*)
	python3 -c '
import sqlite3, sys, subprocess, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
r = subprocess.run(["miltertest", "-s", sys.argv[2]], capture_output=True, text=True)
print(r.stdout.strip())
db.execute("ROLLBACK")
' "$DB" "$WORK/lock.lua" >"$WORK/lock.out" 2>&1
	;;
esac
is "a locked database: the milter tempfails" "$(tail -1 "$WORK/lock.out")" tempfail
is "... and stored nothing" \
    "$(sql "select count(*) from messages where message_id = 'e1@asiakas.example'")" 0
is "when it is free, the retried mail is ticketed once" \
    "$(miltertest -s "$WORK/lock.lua" 2>&1 | tail -1)/$(sql "select count(*) from messages where message_id = 'e1@asiakas.example'")" "accept/1"

# PostgreSQL down (tests/pg.sh says how to stop and start it): the milter
# tempfails; up again, the retried mail is ticketed once.
if [ -n "${TIKETTI_TEST_PG_STOP:-}" ]; then
	sed 's/Locked/Down/; s/e1@asiakas/d1@asiakas/' "$WORK/lock.lua" \
	    >"$WORK/down.lua"
	$TIKETTI_TEST_PG_STOP
	is "PostgreSQL down: the milter tempfails" \
	    "$(miltertest -s "$WORK/down.lua" 2>&1 | tail -1)" tempfail
	$TIKETTI_TEST_PG_START
	is "up again: the retried mail is ticketed once" \
	    "$(miltertest -s "$WORK/down.lua" 2>&1 | tail -1)/$(sql "select count(*) from messages where message_id = 'd1@asiakas.example'")" "accept/1"
fi

# An MTA that hangs up before reading the reply must not kill the milter.
python3 - "$WORK/milter.sock" <<'PY'
import socket, struct, sys
for _ in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    body = b"O" + struct.pack(">III", 6, 0x1ff, 0x1fffff)
    s.sendall(struct.pack(">I", len(body)) + body)
    s.close()
PY
# Nor a client that sends a header, a body and end-of-message without
# MAIL FROM or RCPT TO (Postfix never does; libmilter drops them).
python3 - "$WORK/milter.sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
def send(cmd, data=b""):
    s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)
send(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff))
s.recv(64)
send(b"L", b"Subject\0No envelope\0")
send(b"B", b"x\r\n")
send(b"E")
try:
    s.recv(64)
except socket.timeout:
    pass
s.close()
PY
sleep 0.5
check "clients hanging up mid-negotiation or skipping the envelope: the milter lives on" kill -0 "$MPID"
is "... and answers the next one" \
    "$(SOCK="unix:$WORK/milter.sock" miltertest -s "$WORK/lock.lua" 2>&1 | tail -1)" accept

kill -TERM "$MPID"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	kill -0 "$MPID" 2>/dev/null || break
	sleep 0.2
done
check "SIGTERM stops it" sh -c "! kill -0 $MPID 2>/dev/null"
done_testing
