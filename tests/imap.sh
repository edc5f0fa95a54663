#!/bin/sh
# `tiketti poll` against a real Dovecot on loopback (HARNESS.md): plain
# IMAP, imaps and STARTTLS with a throw-away CA (refused without ca_file,
# accepted with it, refused for a name the certificate does not carry);
# 500 messages at once; a second poll takes nothing; new mail between
# polls; after = keep, seen, move and delete seen through IMAP; a message
# over message_size_limit left in place and never a bare EXPUNGE; kill -9
# of the poller mid-run, then a rerun takes every message once; the
# server's process killed mid-run (the poller connects again and goes on);
# a message the server hangs up over (left behind, not blocking); a server
# that stops answering (timeout) or is down (75);
# a UIDVALIDITY reset; two polls at once; --idle; a Dovecot that answers
# NO to a FETCH it cannot serve and does not offer IDLE (--idle then
# polls with NOOP).
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need dovecot doveadm openssl python3 sqlite3
if [ "$(id -u)" != 0 ]; then
	# Dovecot's master starts as root to serve a user; CI runs as root.
	echo "1..0 # SKIP Dovecot needs root"
	exit 0
fi
DIR=$WORK
IDLE=
trap 'dovecot_down; [ -n "$IDLE" ] && kill "$IDLE" 2>/dev/null; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
IPORT=$(freeport)
SPORT=$(freeport)
mkdir -p "$WORK/rules"
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"

# account NAME FOLDER [HOST]: plain IMAP; the TLS ones set tls after it.
account() {
	dovecot_account "$1" "$IPORT" "$WORK/pw" "${3:-127.0.0.1}"
	printf 'timeout = 3\nfolder = %s\n' "$2"
}
{
	cat <<EOF
database = $WORK/t.db
mailboxes = support@yritys.example
rules_dir = $WORK/rules
message_size_limit = 4000
EOF
	account main INBOX
	account notrust TLS localhost
	echo "port = $SPORT"; echo "tls = imaps"
	account imaps TLS localhost
	echo "port = $SPORT"; echo "tls = imaps"; echo "ca_file = $DIR/dc/tls/ca.pem"
	account starttls TLS localhost
	echo "tls = starttls"; echo "ca_file = $DIR/dc/tls/ca.pem"
	account wrongname TLS 127.0.0.1
	echo "port = $SPORT"; echo "tls = imaps"; echo "ca_file = $DIR/dc/tls/ca.pem"
	account seen Seen
	echo "after = seen"
	account move Move
	echo "after = move:Done"
	account delete Big
	echo "after = delete"
	account idle Idle
	echo "idle_interval = 1"
	account poison Poison
	account refused Refused
} >"$WORK/tiketti.conf"

q() {
	sqlite3 "$WORK/t.db" "$1"
}

# imap_count FOLDER [SEARCH]: how many messages of FOLDER match, via IMAP.
imap_count() {
	python3 - "$IPORT" "$1" "${2:-ALL}" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("support", "secret")
m.select(sys.argv[2])
typ, data = m.search(None, sys.argv[3])
print(len(data[0].split()))
m.logout()
PY
}

# logins: how many times Dovecot let support in so far.
logins() {
	grep -c 'Login: user=<support>' "$DIR/dc/dovecot.log"
}

# waitcount N: waits (up to 20 s) until the database holds more than N
# messages.
waitcount() {
	for _ in $(seq 1000); do
		[ "$(q 'SELECT count(*) FROM messages' 2>/dev/null || echo 0)" \
		    -gt "$1" ] && return 0
		sleep 0.02
	done
	return 1
}

# idle_start: `poll --account idle --idle` in the background ($IDLE),
# once it watches the folder.
idle_start() {
	"$TIKETTI" -c "$WORK/tiketti.conf" poll --account idle --idle \
	    2>"$WORK/idle.err" &
	IDLE=$!
	for _ in $(seq 100); do
		grep -q "watching Idle" "$WORK/idle.err" && break
		sleep 0.05
	done
}

# imap_children: the pids of Dovecot's imap processes (one a session).
imap_children() {
	ps -o pid=,comm= --ppid "$DOVECOT" | awk '$2 == "imap" { print $1 }'
}

check "dovecot starts with imap and imaps" dovecot_up "$IPORT" "$SPORT"

# ---- plain IMAP, a second poll, new mail ----
dovecot_drop 1 3
is "poll: exit 0" "$(exitcode tk poll --account main)" 0
is "three mails, three tickets" "$(q 'SELECT count(*) FROM messages'),$(q 'SELECT count(*) FROM tickets')" "3,3"
is "tickets count as the account's mailbox" \
    "$(q "SELECT count(*) FROM tickets WHERE mailbox = 'support@yritys.example'")" 3
is "the mark is UID 3" "$(q "SELECT last_uid FROM imap_state WHERE account = 'main'")" 3
is "second poll: exit 0" "$(exitcode tk -v poll --account main)" 0
is "second poll fetches nothing" "$(q 'SELECT count(*) FROM messages')" 3
check "second poll says nothing came" sh -c "! grep -q fetched '$WORK/err'"
dovecot_drop 4 5
is "new mail: exit 0" "$(exitcode tk poll --account main)" 0
is "new mail between polls taken" "$(q 'SELECT count(*) FROM messages')" 5
check "logged what it took" grep -q "account main: 2 fetched, 2 new, 0 already in" "$WORK/err"
is "after = keep: all still unseen in INBOX (BODY.PEEK)" \
    "$(imap_count INBOX UNSEEN),$(imap_count INBOX ALL)" "5,5"

# ---- TLS ----
dovecot_drop 101 102 TLS
before=$(logins)
is "imaps without ca_file: refused (77)" "$(exitcode tk poll --account notrust)" 77
check "says the issuer is unknown" grep -q "account notrust: certificate of localhost (checked against the system store) refused: .*issuer is unknown.*not logging in" "$WORK/err"
is "wrong host name: refused (77)" "$(exitcode tk poll --account wrongname)" 77
check "says the name does not match" grep -q "certificate of 127.0.0.1 .*name in the certificate does not match" "$WORK/err"
is "no password was sent on a refused certificate" "$(logins)" "$before"
is "imaps with ca_file: exit 0" "$(exitcode tk poll --account imaps)" 0
is "imaps: both mails in" "$(q 'SELECT count(*) FROM messages')" 7
is "STARTTLS with ca_file: exit 0" "$(exitcode tk -v poll --account starttls)" 0
check "STARTTLS: same folder, the two mails are already in" grep -q "account starttls: 2 fetched, 0 new, 2 already in" "$WORK/err"

# ---- password file ----
chmod 644 "$WORK/pw"
is "password_file readable by others: refused (77)" "$(exitcode tk poll --account main)" 77
check "says why" grep -q "password_file $WORK/pw is mode 644: group or others may read it (chmod 600)" "$WORK/err"
chmod 600 "$WORK/pw"

# ---- 500 at once ----
dovecot_drop 1001 1500
is "500 messages: exit 0" "$(exitcode tk poll --account main)" 0
is "500 messages ticketed" "$(q "SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.message_id LIKE 'imap-1___@asiakas.example'")" 500
is "the mark is UID 505" "$(q "SELECT last_uid FROM imap_state WHERE account = 'main'")" 505

# ---- kill -9 of the poller mid-run ----
dovecot_drop 2001 3000
n0=$(q 'SELECT count(*) FROM messages')
"$TIKETTI" -c "$WORK/tiketti.conf" poll --account main 2>"$WORK/kill.err" &
pid=$!
waitcount "$n0"
kill -9 "$pid"
wait "$pid" 2>/dev/null
n1=$(q 'SELECT count(*) FROM messages')
check "killed mid-run ($((n1 - n0)) of 1000 in)" test "$n1" -gt "$n0" -a "$n1" -lt $((n0 + 1000))
is "the mark went with the messages" "$(q "SELECT last_uid FROM imap_state WHERE account = 'main'")" $((505 + n1 - n0))
is "rerun: exit 0" "$(exitcode tk poll --account main)" 0
check "rerun takes only the rest" grep -q "account main: $((n0 + 1000 - n1)) fetched, $((n0 + 1000 - n1)) new, 0 already in" "$WORK/err"
is "every message in once" "$(q "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE message_id LIKE 'imap-2___@asiakas.example' OR message_id = 'imap-3000@asiakas.example'")" "1000|1000"

# ---- the server killed mid-run, stopped answering, down ----
dovecot_drop 4001 5000
n0=$(q 'SELECT count(*) FROM messages')
"$TIKETTI" -c "$WORK/tiketti.conf" poll --account main 2>"$WORK/kill.err" &
pid=$!
waitcount "$n0"
kill -9 $(imap_children) 2>/dev/null
wait "$pid"
is "imap process killed mid-run: it connects again and finishes (exit 0)" "$?" 0
check "says the connection was lost and what it did" grep -q "account main: UID FETCH.*: connection lost.*; trying the batch one message at a time" "$WORK/kill.err"
dovecot_drop 5001 6000
n1=$(q 'SELECT count(*) FROM messages')
# Niced, so that on a busy machine it is still mid-run when stopped.
nice -n 19 "$TIKETTI" -c "$WORK/tiketti.conf" poll --account main \
    2>"$WORK/stop.err" &
pid=$!
waitcount "$n1"
# The whole server: a new connection would get no greeting either.
kill -STOP $(imap_children) $(pgrep -P "$DOVECOT") "$DOVECOT" 2>/dev/null
wait "$pid"
rc=$?
kill -CONT "$DOVECOT" $(pgrep -P "$DOVECOT") 2>/dev/null
is "server stops answering: timeout, exit 75" "$rc" 75
dovecot_down
is "server down: exit 75" "$(exitcode tk poll --account main)" 75
check "says it cannot connect" grep -q "connect to 127.0.0.1 port $IPORT: .* (try again later)" "$WORK/err"
check "dovecot starts again" dovecot_up "$IPORT" "$SPORT"
is "rerun after the server came back: exit 0" "$(exitcode tk poll --account main)" 0
check "rerun took nothing twice" grep -q "0 already in" "$WORK/err"
is "every message in once" "$(q "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE message_id LIKE 'imap-4___@asiakas.example' OR message_id LIKE 'imap-5___@asiakas.example' OR message_id = 'imap-6000@asiakas.example'")" "2000|2000"

# ---- UIDVALIDITY reset ----
total=$(q 'SELECT count(*) FROM messages')
uv=$(q "SELECT uidvalidity FROM imap_state WHERE account = 'main'")
dovecot_down
sleep 1	# Dovecot takes the time as the new UIDVALIDITY
rm -f "$DIR"/dc/mail/support/Maildir/dovecot-uidlist \
    "$DIR"/dc/mail/support/Maildir/dovecot.index*
check "dovecot starts again" dovecot_up "$IPORT" "$SPORT"
is "after a UIDVALIDITY reset: exit 0" "$(exitcode tk poll --account main)" 0
check "warns and reads the folder again" grep -q "UIDVALIDITY of INBOX changed from $uv to" "$WORK/err"
check "nothing new: all already in" grep -q "0 new, $((total - 2)) already in" "$WORK/err"
is "no message twice" "$(q 'SELECT count(*) FROM messages')" "$total"
check "the new UIDVALIDITY is remembered" test "$(q "SELECT uidvalidity FROM imap_state WHERE account = 'main'")" != "$uv"

# ---- after = seen, move, delete; too big ----
dovecot_drop 201 202 Seen
is "after = seen: exit 0" "$(exitcode tk poll --account seen)" 0
is "after = seen: both seen, both still there" \
    "$(imap_count Seen UNSEEN),$(imap_count Seen ALL)" "0,2"
dovecot_drop 211 212 Move
dovecot_drop 1 0 Done
is "after = move: exit 0" "$(exitcode tk poll --account move)" 0
is "after = move: Move empty, both in Done" \
    "$(imap_count Move),$(imap_count Done)" "0,2"
dovecot_drop 221 222 Big
python3 - "$DIR/dc/mail/support/Maildir/.Big/new" <<'PY'
import sys
# Over message_size_limit (4000), and marked \Deleted by someone else.
open(sys.argv[1] + "/1.big.test:2,T", "wb").write(
    b"From: big@asiakas.example\nTo: support@yritys.example\n"
    b"Subject: big\nMessage-ID: <big@asiakas.example>\n\n" + b"x" * 8000 + b"\n")
PY
chown -R nobody:nogroup "$DIR/dc/mail"
is "after = delete: exit 0" "$(exitcode tk poll --account delete)" 0
check "the big one is logged and left" grep -q "account delete: UID 1 of Big ([0-9]* bytes) left in the folder: over message_size_limit (4000)" "$WORK/err"
is "the big one is recorded" "$(q "SELECT uid, reason FROM imap_skipped WHERE account = 'delete'")" "1|over message_size_limit (4000)"
is "after = delete: ours expunged, someone's \\Deleted kept" \
    "$(imap_count Big),$(imap_count Big DELETED)" "1,1"
is "the two small ones are in" "$(q "SELECT count(*) FROM messages WHERE message_id IN ('imap-221@asiakas.example', 'imap-222@asiakas.example')")" 2
is "again: exit 0, nothing retried" "$(exitcode tk -v poll --account delete)" 0
check "the big one is not fetched again" sh -c "! grep -q 'left in the folder' '$WORK/err'"

# ---- a message the server hangs up over ----
dovecot_drop 401 403 Poison
f=$(ls "$DIR"/dc/mail/support/Maildir/.Poison/new/* | sed -n 2p)
chown root:root "$f"
chmod 000 "$f"	# Dovecot, as nobody, cannot read it and drops the session
is "a message the server hangs up over: exit 0" "$(exitcode tk poll --account poison)" 0
check "it is logged and left" grep -q "account poison: UID 2 of Poison (.* bytes) left in the folder: the server dropped the connection when asked for it, twice" "$WORK/err"
is "... recorded" "$(q "SELECT uid FROM imap_skipped WHERE account = 'poison'")" 2
is "the others are in" "$(q "SELECT count(*) FROM messages WHERE message_id IN ('imap-401@asiakas.example', 'imap-403@asiakas.example')")" 2
is "the next poll passes it by" "$(exitcode tk poll --account poison)" 0

# ---- two at once; --idle ----
dovecot_drop 1 0 Idle
idle_start
is "a second poll while --idle holds the account: exit 0" "$(exitcode tk poll --account idle)" 0
check "it says it skipped" grep -q "account idle: another poll of it is running; skipped" "$WORK/err"
sleep 2	# past idle_interval: IDLE was issued again
n0=$(q 'SELECT count(*) FROM messages')
dovecot_drop 301 301 Idle
check "--idle takes new mail as it arrives" waitcount "$n0"
kill -9 $(imap_children) 2>/dev/null
n0=$(q 'SELECT count(*) FROM messages')
dovecot_drop 302 302 Idle
check "--idle connects again after the server dropped it, and takes the mail" waitcount "$n0"
check "... saying so" grep -q "account idle: .*connecting again in 1 s" "$WORK/idle.err"
kill -TERM "$IDLE"
wait "$IDLE"
is "--idle: SIGTERM ends it with exit 0" "$?" 0
IDLE=
dovecot_drop 6001 6300
n0=$(q 'SELECT count(*) FROM messages')
"$TIKETTI" -c "$WORK/tiketti.conf" poll --account main 2>"$WORK/a.err" &
a=$!
"$TIKETTI" -c "$WORK/tiketti.conf" poll --account main 2>"$WORK/b.err" &
b=$!
wait "$a"
ra=$?
wait "$b"
is "two polls at once: both exit 0" "$ra,$?" "0,0"
is "two polls at once: 300 in, once each" "$(q 'SELECT count(*) FROM messages')" $((n0 + 300))

# ---- a server that says NO to a FETCH; one without IDLE ----
dovecot_down
DOVECOT_CONF="imap_fetch_failure = no-after
imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS MOVE"
check "dovecot starts again, answering NO to a FETCH it cannot serve, without IDLE" \
    dovecot_up "$IPORT" "$SPORT"
DOVECOT_CONF=
dovecot_drop 404 406 Refused
f=$(ls "$DIR"/dc/mail/support/Maildir/.Refused/new/* | sed -n 2p)
chown root:root "$f"
chmod 000 "$f"
# Dovecot lists it without a size and ends the listing with NO, then hangs
# up over its body.
is "a message the server answers NO for: exit 0" "$(exitcode tk poll --account refused)" 0
check "it is logged and left" grep -q "account refused: UID 2 of Refused (0 bytes) left in the folder: the server sent no body" "$WORK/err"
is "... recorded" "$(q "SELECT uid FROM imap_skipped WHERE account = 'refused'")" 2
is "the others are in" "$(q "SELECT count(*) FROM messages WHERE message_id IN ('imap-404@asiakas.example', 'imap-406@asiakas.example')")" 2
is "the next poll passes it by" "$(exitcode tk poll --account refused)" 0

idle_start
check "--idle without IDLE: it says it will poll with NOOP" \
    grep -q "account idle: watching Idle on 127.0.0.1 (no IDLE: NOOP every 1 s)" "$WORK/idle.err"
sleep 1.5
n0=$(q 'SELECT count(*) FROM messages')
dovecot_drop 303 303 Idle
check "... and takes new mail" waitcount "$n0"
kill -TERM "$IDLE"
wait "$IDLE"
is "... SIGTERM ends it with exit 0" "$?" 0
IDLE=

# ---- configuration ----
# Last: Dovecot slows down logins from an address after a failed one.
echo wrong >"$WORK/pw"
is "wrong password: refused (77)" "$(exitcode tk poll --account main)" 77
check "says the server refused the login" grep -q "account main: login as support: .*uthentication failed" "$WORK/err"
echo secret >"$WORK/pw"
sed 's/^allow_plaintext = yes$/allow_plaintext = no/' "$WORK/tiketti.conf" \
    >"$WORK/bad.conf"
is "tls = none without allow_plaintext: config error (78)" \
    "$(exitcode "$TIKETTI" -c "$WORK/bad.conf" poll)" 78
check "says so" grep -q 'account "main": tls = none sends the password in clear' "$WORK/err"
is "unknown account: 78" "$(exitcode tk poll --account nosuch)" 78
check "integrity_check" test "$(q 'PRAGMA integrity_check')" = ok

done_testing
