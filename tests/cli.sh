#!/bin/sh
# The command line: exit codes (sysexits), configuration errors, the
# embedded default, stdin/maildir/mbox input, flagged unparseable mail,
# the size limit, a locked database, and `ticket set` validation.
. "${SRCDIR:-.}/tests/lib.sh"

S="$SRCDIR/tests/scenarios/01-tag"
printf 'database = %s\n' "$WORK/t.db" >"$WORK/tiketti.conf"

is "no command is a usage error (64)" "$(exitcode "$TIKETTI")" 64
is "an unknown command is a usage error (64)" "$(exitcode "$TIKETTI" frobnicate)" 64
is "a bad ticket id is a usage error (64)" "$(exitcode tk ticket show x1)" 64

# Without any configuration tiketti works on ./tiketti.db.
mkdir "$WORK/empty"
(cd "$WORK/empty" && env -u TIKETTI_CONF "$TIKETTI" ingest "$S/01-new.eml") \
    >/dev/null 2>&1 && test -f "$WORK/empty/tiketti.db" &&
    ok "no config: ingest creates ./tiketti.db" ||
    not_ok "no config: ingest creates ./tiketti.db"
is "no config: the ticket is listed" \
    "$(cd "$WORK/empty" && "$TIKETTI" ticket list --format json | json 'd[0]["subject"]')" \
    "Tilaus ei ole saapunut"

# A broken configuration: every error as file:line, exit 78.
printf 'database = x.db\nbogus = 1\nfollowup_after = soon\n[agent]\n[queue x]\n[webhook y]\nurl = ftp://x\n' \
    >"$WORK/bad.conf"
is "config errors exit 78" "$(exitcode "$TIKETTI" -c "$WORK/bad.conf" config)" 78
check "config: unknown key is file:line" grep -qF "$WORK/bad.conf:2: unknown parameter \"bogus\"" "$WORK/err"
check "config: bad value is file:line" grep -qF "$WORK/bad.conf:3: bad duration" "$WORK/err"
check "config: nameless section is file:line" grep -qF "$WORK/bad.conf:4: section needs a name" "$WORK/err"
check "config: unknown section is file:line" grep -qF "$WORK/bad.conf:5: unknown section type" "$WORK/err"
check "config: a webhook url must be http(s)" grep -qF "$WORK/bad.conf:7: bad url" "$WORK/err"
is "a missing -c file exits 78" "$(exitcode "$TIKETTI" -c "$WORK/nonexistent.conf" config)" 78

# `tiketti config` prints every setting with its default.
printf 'database = %s\nfollowup_after = 3w\nmailboxes = Support@Example.com\n[agent maria]\naddress = maria@example.com\n' \
    "$WORK/t.db" >"$WORK/tiketti.conf"
tk config >"$WORK/config.out"
check "config: shows the value and the default" grep -q '^followup_after = 21d	# default: 28d$' "$WORK/config.out"
check "config: lists are lower-cased" grep -q '^mailboxes = support@example.com' "$WORK/config.out"
check "config: shows agents" grep -q '^\[agent maria\]' "$WORK/config.out"
for k in database mailboxes ticket_prefix tag_trust followup_after fallback_charsets; do
	check "config: prints $k" grep -q "^$k = " "$WORK/config.out"
done

# Standard input (the pipe transport), with an envelope.
is "stdin: ingest from a pipe exits 0" \
    "$(exitcode sh -c "\"$TIKETTI\" -c \"$WORK/tiketti.conf\" ingest --sender anna@asiakas.fi --recipient support@example.com < \"$S/01-new.eml\"")" 0
is "stdin: the ticket is there" "$(tk ticket list --format json | json 'len(d)')" 1
is "stdin: its mailbox comes from the envelope" \
    "$(tk ticket list --format json | json 'd[0]["mailbox"]')" "support@example.com"

# Mail that is not mail is stored raw and flagged, never dropped.
: >"$WORK/empty.eml"
head -c 3000 /dev/urandom >"$WORK/binary.eml"
is "empty file: exit 0" "$(exitcode tk ingest "$WORK/empty.eml")" 0
is "binary file: exit 0" "$(exitcode tk ingest "$WORK/binary.eml")" 0
is "empty and binary files are stored" \
    "$(sqlite3 "$WORK/t.db" "SELECT count(*) FROM messages WHERE flags & 3")" 2
is "the raw bytes are kept" \
    "$(sqlite3 "$WORK/t.db" "SELECT length(raw) FROM raw_messages ORDER BY message DESC LIMIT 1")" 3000

# The size limit refuses with a clear reason and stores nothing.
printf 'database = %s\nmessage_size_limit = 2048\n' "$WORK/small.db" >"$WORK/small.conf"
head -c 5000 /dev/zero | tr '\0' x | { cat "$S/01-new.eml"; cat; } >"$WORK/big.eml"
is "over message_size_limit: exit 65" \
    "$(exitcode "$TIKETTI" -c "$WORK/small.conf" ingest "$WORK/big.eml")" 65
check "over message_size_limit: says why" grep -q "message_size_limit" "$WORK/err"
is "over message_size_limit: nothing stored" \
    "$("$TIKETTI" -c "$WORK/small.conf" ticket list --format json | json 'len(d)')" 0

# A database locked past busy_timeout is a temporary failure (75) that
# stores nothing; the retry then stores the message once.
printf 'database = %s\nbusy_timeout = 1s\n' "$WORK/lock.db" >"$WORK/lock.conf"
"$TIKETTI" -c "$WORK/lock.conf" ticket list >/dev/null
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(4)
c.execute("ROLLBACK")' "$WORK/lock.db" "$WORK/locked" &
lockpid=$!
while [ ! -f "$WORK/locked" ]; do sleep 0.1; done
is "locked database: exit 75" \
    "$(exitcode "$TIKETTI" -c "$WORK/lock.conf" ingest "$S/01-new.eml")" 75
check "locked database: says to try again" grep -q "try again later" "$WORK/err"
wait $lockpid
is "locked database: retry succeeds" \
    "$(exitcode "$TIKETTI" -c "$WORK/lock.conf" ingest "$S/01-new.eml")" 0
is "locked database: the message is stored once" \
    "$(sqlite3 "$WORK/lock.db" "SELECT count(*) FROM messages")" 1

# Maildir (in file-name order, with progress on stderr) and mbox.
printf 'database = %s\n' "$WORK/md.db" >"$WORK/md.conf"
"$TIKETTI" -c "$SRCDIR/sample/tiketti.conf" --db "$WORK/md.db" ingest \
    --maildir "$SRCDIR/sample/maildir" >/dev/null 2>"$WORK/err"
check "maildir: progress summary on stderr" grep -q "ingested 7 messages: 2 new tickets, 5 threaded" "$WORK/err"
"$TIKETTI" -c "$SRCDIR/sample/tiketti.conf" --db "$WORK/md.db" ticket list --format json >"$WORK/md.json"
is "sample: ticket 1 reopened by the customer" "$(json 'd[0]["status"]' <"$WORK/md.json")" open
is "sample: ticket 1 has 6 messages (one our survey)" "$(json 'd[0]["messages"]' <"$WORK/md.json")" 6
is "sample: the complaint is ticket 2" "$(json 'd[1]["subject"]' <"$WORK/md.json")" \
    "Reklamaatio: kahvinkeitin meni rikki"
"$TIKETTI" -c "$SRCDIR/sample/tiketti.conf" --db "$WORK/md.db" ticket show 1 --format json >"$WORK/show.json"
is "sample: the bounce is attached to ticket 1" \
    "$(json '[m["kind"] for m in d["messages"]]' <"$WORK/show.json")" \
    '["customer", "customer", "agent", "csat", "bounce", "customer"]'
is "sample: #solve then reopen" \
    "$(json '[e["new"] for e in d["events"] if e["type"] == "status"]' <"$WORK/show.json")" \
    '["open", "solved", "open"]'

for f in "$S"/0*.eml; do
	printf 'From anna@asiakas.fi Mon Jan  5 10:00:00 2026\n'
	sed 's/^From />From /' "$f"
	echo
done >"$WORK/box.mbox"
printf 'database = %s\n' "$WORK/mbox.db" >"$WORK/mbox.conf"
is "mbox: exit 0" "$(exitcode "$TIKETTI" -c "$WORK/mbox.conf" ingest --mbox "$WORK/box.mbox")" 0
is "mbox: three messages threaded into one ticket" \
    "$("$TIKETTI" -c "$WORK/mbox.conf" ticket list --format json | json '[t["messages"] for t in d]')" "[3]"

# ticket set: validated, recorded, filtered.
is "set: a bad status is refused (64)" "$(exitcode tk ticket set 1 status finished)" 64
check "set: says what is allowed" grep -q "new, open, pending, solved, closed or spam" "$WORK/err"
is "set: an unknown field is refused (64)" "$(exitcode tk ticket set 1 colour red)" 64
is "set: an unknown ticket is refused (64)" "$(exitcode tk ticket set 999 status open)" 64
is "set: priority urgent" "$(exitcode tk ticket set 1 priority urgent)" 0
is "set: the change is an event" \
    "$(tk ticket show 1 --format json | json '[[e["old"], e["new"]] for e in d["events"] if e["type"] == "priority"]')" \
    '[["normal", "urgent"]]'
tk ticket set 1 status solved
is "list --status filters" "$(tk ticket list --status solved --format json | json '[t["id"] for t in d]')" "[1]"
is "list --status with a bad status (64)" "$(exitcode tk ticket list --status nope)" 64
check "text list has a header" sh -c "\"$TIKETTI\" -c \"$WORK/tiketti.conf\" ticket list | head -1 | grep -q 'ID.*STATUS.*SUBJECT'"

# ---- importing an old mailbox: delivery order, the mail's own time,
# history sends nothing ----
H=$WORK/hist
mkdir -p "$H/rules" "$H/tmpl"
cat >"$H/t.conf" <<EOF
database = $H/t.db
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
secret = history-test-secret-0123456789
rules_dir = $H/rules
templates_dir = $H/tmpl
trusted_authserv_id = mx.yritys.example
followup_after = 28d
[agent maria]
address = maria@yritys.example
EOF
cat >"$H/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
rule "survey" { on status solved then csat; }
macro "refund-done" { reply "ack"; set status solved; }
EOF
printf 'Subject: Kiitos\n\nSaimme viestisi.\n' >"$H/tmpl/ack.txt"
printf 'Subject: Miten onnistuimme?\n\n{{csat.links}}\n' >"$H/tmpl/csat.txt"
python3 - "$H/md" <<'PY'
import os, sys, email.utils
md = sys.argv[1]
for d in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(md, d), exist_ok=True)
def put(folder, t, name, text):
    with open(os.path.join(md, folder, "%d.%s.host%s" % (t, name, ":2,S" if folder == "cur" else "")), "w") as f:
        f.write(text)
def date(t):
    return email.utils.formatdate(t, localtime=False)
T = 1730800000          # 2024-11-05 09:46 UTC
# The reply (read and filed in cur/) sorts before its original (left in
# new/) by path; by delivery time it comes after.
put("new", T, "M1", "Received: from a by mx.yritys.example; %s\nFrom: Anna <anna@asiakas.example>\nTo: tuki@yritys.example\nSubject: Lasku\nMessage-ID: <h1@asiakas.example>\nDate: %s\n\nLaskussa on virhe.\n" % (date(T + 5), date(T)))
put("cur", T + 7200, "M2", "Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nReceived: from b by mx.yritys.example; %s\nFrom: maria@yritys.example\nTo: anna@asiakas.example\nCc: tuki@yritys.example\nSubject: Re: Lasku\nIn-Reply-To: <h1@asiakas.example>\nMessage-ID: <h2@yritys.example>\nDate: %s\n\n#macro refund-done\n\nKorjattu.\n" % (date(T + 7201), date(T + 7200)))
# A Date far before its Received: the Received time counts.
put("cur", T + 86400, "M3", "Received: from c by mx.yritys.example; %s\nFrom: Olli <olli@asiakas.example>\nTo: tuki@yritys.example\nSubject: Kello\nMessage-ID: <h3@asiakas.example>\nDate: Thu, 01 Jan 1998 00:00:00 +0000\n\nKello on väärässä.\n" % date(T + 86400))
# Months later Anna writes again: the ticket long since closed.
T2 = 1740000000         # 2025-02-19
put("new", T2, "M4", "From: Anna <anna@asiakas.example>\nTo: tuki@yritys.example\nSubject: Re: Lasku\nIn-Reply-To: <h2@yritys.example>\nMessage-ID: <h4@asiakas.example>\nDate: %s\n\nTaas väärin.\n" % date(T2))
PY
is "import: exit 0" "$(exitcode "$TIKETTI" -c "$H/t.conf" ingest --maildir "$H/md")" 0
check "... the summary counts the history" grep -q "4 history (nothing sent)" "$WORK/err"
hs() { sqlite3 "$H/t.db" "$1"; }
is "delivery order: the reply in cur/ joins its original's ticket" \
    "$(hs "select ticket_id from messages where message_id = 'h2@yritys.example'")" 1
is "the ticket is stamped with the mail's own Date, not today" \
    "$(hs "select created_at from tickets where id = 1")" 1730800000
is "... and so is the agent's first response" \
    "$(hs "select at - (select created_at from tickets where id = 1) from events where ticket_id = 1 and type = 'message' and message = (select id from messages where message_id = 'h2@yritys.example')")" 7200
is "a Date far off its Received time: the Received time counts" \
    "$(hs "select created_at from tickets t join messages m on m.ticket_id = t.id where m.message_id = 'h3@asiakas.example'")" 1730886400
is "the old macro solved the ticket, at its time" \
    "$(hs "select new, at from events where ticket_id = 1 and type = 'status' and new = 'solved'")" "solved|1730807200"
is "history sends nothing: no autoreply, no reply, no survey" \
    "$(hs "select count(*) from outbox")/$(hs "select count(*) from events where type = 'autoreply_suppressed' and new = 'history'")" "0/5"
is "a 2025 reply to a ticket solved in 2024 opens a follow-up, not a reopen" \
    "$(hs "select t.id != 1, t.parent from tickets t join messages m on m.ticket_id = t.id where m.message_id = 'h4@asiakas.example'")/$(hs "select status from tickets where id = 1")" "1|1/solved"
"$TIKETTI" -c "$H/t.conf" report --since 2024-11-01 --until 2024-11-30 --format json >"$H/r.json"
is "the report of that month: one first response, of 2 hours" \
    "$(json '[d["first_response"]["all"]["n"], d["first_response"]["all"]["median"]]' <"$H/r.json")" "[1, 7200]"
# A tick after the import: the time rules' first run sends nothing for
# what came due long ago.
printf 'rule "nudge" { on after 1d since created in new then autoreply "ack"; }\n' >"$H/rules/20.rules"
"$TIKETTI" -c "$H/t.conf" tick 2>/dev/null
is "the first tick after it: the old tickets' reminders are history too" \
    "$(hs "select count(*) from outbox")/$(hs "select count(*) from rule_fired where rule = 'nudge'")" "0/2"

# ---- the pipe transport: only the message's own fault bounces ----
# pipe(8) bounces on anything but 75: every fault of ours must be 75.
mkdir -p "$WORK/pipe"
P=$WORK/pipe
printf 'From: p@asiakas.example\nTo: tuki@yritys.example\nSubject: putki\nMessage-ID: <p1@asiakas.example>\n\nhei\n' >"$P/m.eml"
pipe_in() { "$TIKETTI" -c "$1" ingest --sender p@asiakas.example - <"$P/m.eml" >"$P/out" 2>&1; echo $?; }
printf 'database = %s/t.db\nticket_prefx = Tuki\n' "$P" >"$P/typo.conf"
is "pipe: a typo in tiketti.conf: 75, not 78" "$(pipe_in "$P/typo.conf")" 75
check "... saying which line" grep -q "typo.conf:2: unknown parameter \"ticket_prefx\"" "$P/out"
is "... while a file on the command line still says 78" \
    "$(exitcode "$TIKETTI" -c "$P/typo.conf" ingest "$P/m.eml")" 78
printf 'database = %s/notdb\n' "$P" >"$P/notdb.conf"
head -c 8192 /dev/urandom >"$P/notdb"
is "pipe: a database file that is not one: 75, not 73" "$(pipe_in "$P/notdb.conf")" 75
printf 'database = %s/c.db\n' "$P" >"$P/c.conf"
for i in $(seq 30); do
	printf 'From: q%d@asiakas.example\nSubject: %d\nMessage-ID: <q%d@x>\n\n%s\n' \
	    "$i" "$i" "$i" "$(head -c 3000 /dev/zero | tr '\0' x)" |
	    "$TIKETTI" -c "$P/c.conf" ingest - 2>/dev/null
done
sqlite3 "$P/c.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
# Pages 3 to 20 overwritten: the b-trees under the tables are garbage.
dd if=/dev/urandom of="$P/c.db" bs=4096 seek=2 count=18 conv=notrunc 2>/dev/null
is "pipe: a corrupt database: 75, not 74 or 66" "$(pipe_in "$P/c.conf")" 75
printf 'database = %s/ro/r.db\n' "$P" >"$P/ro.conf"
mkdir -p "$P/ro"
"$TIKETTI" -c "$P/ro.conf" ingest "$S/01-new.eml" 2>/dev/null
chmod 555 "$P/ro"
chmod 444 "$P/ro/r.db"
if [ "$(id -u)" = 0 ]; then	# root writes anyway: be nobody
	# with a copy of the binary nobody can reach (the build may be in
	# a directory only root can enter)
	chmod 755 "$P" "$WORK"
	cp "$TIKETTI" "$P/tiketti"
	chmod 755 "$P/tiketti"
	is "pipe: a read-only database: 75" \
	    "$(runuser -u nobody -- sh -c "'$P/tiketti' -c '$P/ro.conf' ingest - <'$P/m.eml' >/dev/null 2>&1; echo \$?")" 75
else
	is "pipe: a read-only database: 75" "$(pipe_in "$P/ro.conf")" 75
fi
is "pipe: a bad option in master.cf's argv: 75, not 64" \
    "$("$TIKETTI" -c "$P/c.conf" ingest --sendr x - <"$P/m.eml" >/dev/null 2>&1; echo $?)" 75
printf 'database = %s/big.db\nmessage_size_limit = 1024\n' "$P" >"$P/big.conf"
head -c 5000 /dev/zero | tr '\0' y >>"$P/m.eml"
is "pipe: a message over message_size_limit is refused for good (65)" "$(pipe_in "$P/big.conf")" 65
done_testing
