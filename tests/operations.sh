#!/bin/sh
# Operations: `tick --dry-run --at` lists the shipped 7-day pending
# reminder while changing nothing, and a real tick then queues it;
# `rules explain` names every shipped rule with whether it fired on each
# of a ticket's events and the first test that failed; a
# reply refused with a 5xx by a real smtp-sink reopens its ticket and an
# autoreply refused only flags its own; a reply that bounces to its VERP
# address reopens its ticket; with sent_copy = yes what tiketti sends for
# a mailbox is appended once to its \Sent folder on a real Dovecot, also
# after a run that died between the APPEND and marking its row, and
# retried while the folder is missing. tests/pg.sh runs it again on
# PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink faketime python3 dovecot
trap 'sink_down; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
DB=$(db t)
sql() { sql_db "$DB" "$1"; }
SPORT=$(freeport)
mkdir -p "$WORK/rules" "$WORK/templates"
cp "$SRCDIR/rules/60-pending.rules" "$WORK/rules/"
cp "$SRCDIR"/rules/templates/reminder.txt "$WORK/templates/"
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = rules
templates_dir = templates
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
secret = operations-test-secret-0123456789
EOF
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }
state() {
	echo "$(sql "select count(*) from outbox")/$(sql "select count(*) from rule_fired")/$(sql "select count(*) from events")/$(sql "select coalesce(sum(upto), 0) from rule_horizon")"
}

# ---- tick --dry-run ----
printf 'From: Anna <anna@asiakas.example>\nTo: tuki@yritys.example\nSubject: Lasku\nMessage-ID: <o1@asiakas.example>\n\nHei.\n' |
    tk ingest >/dev/null 2>&1
tk ticket set 1 status pending >/dev/null 2>&1
tk tick >/dev/null 2>&1		# the time rules' first run: from now on
before=$(state)
AT=$(date -d '+7 days 5 minutes' '+%Y-%m-%d %H:%M')
is "tick --dry-run --at in 7 days: exit 0" \
    "$(exitcode tk tick --dry-run --at "$AT")" 0
is "... it lists the pending reminder it would queue" \
    "$(grep -c "^ticket 1: would send autoreply to anna@asiakas.example: Waiting for your answer: Lasku \[Tuki #1\] (rule nudge the customer)$" "$WORK/out")" 1
is "... says it is a dry run and counts" \
    "$(head -1 "$WORK/out" | sed 's/tick at [^,]*, //')/$(tail -1 "$WORK/out")" \
    "a dry run: nothing is changed or sent/1 time-rule occurrences would fire, 0 tickets close, 0 be rerouted, 0 service-promise events"
is "... and changed nothing (outbox, fired rules, events, horizons)" "$(state)" "$before"
tk tick --dry-run --at "$(date -d '+15 days' '+%Y-%m-%d %H:%M')" >"$WORK/out" 2>&1
is "at 15 days: the reminder and the close after 14 days" \
    "$(grep -c 'would send autoreply\|status pending -> closed (rule:close the stragglers)' "$WORK/out")" 2
is "... still nothing changed" "$(state)" "$before"
is "tick --at without --dry-run: refused (64)" "$(exitcode tk tick --at 1d)" 64
faketime -f '+605100s' "$TIKETTI" -c "$WORK/tiketti.conf" tick >/dev/null 2>&1	# 7 days and 5 minutes
is "a real tick 7 days on queues the reminder" \
    "$(sql "select count(*) from outbox where kind = 'autoreply' and subject like 'Waiting for your answer%'")" 1

# ---- rules explain, with the shipped rules ----
XDB=$(db x)
mkdir -p "$WORK/shipped"
cp "$SRCDIR"/rules/*.rules "$WORK/shipped/"
{
	printf 'database = %s\nrules_dir = shipped\ntemplates_dir = %s/rules/templates\n' "$XDB" "$SRCDIR"
	grep -v '^database\|^rules_dir\|^templates_dir' "$SRCDIR/sample/tiketti.conf"
} >"$WORK/x.conf"
xt() { "$TIKETTI" -c "$WORK/x.conf" "$@"; }
MB=$(sed -n 's/^mailboxes *= *\([^ ,]*\).*/\1/p' "$WORK/x.conf")
printf 'From: Anna <anna@asiakas.example>\nTo: %s\nSubject: Reklamaatio: kahvinkeitin\nMessage-ID: <x1@asiakas.example>\n\nRikki.\n' "$MB" |
    xt ingest >/dev/null 2>&1
xt ticket set 1 status pending >/dev/null 2>&1
xt ticket set 1 status solved >/dev/null 2>&1
xt rules explain 1 >"$WORK/explain" 2>&1
is "rules explain: exit 0" "$?" 0
missing=
for r in $(sed -n 's/^\(rule\|macro\) "\([^"]*\)".*/\2/p' "$SRCDIR"/rules/*.rules | tr ' ' '_'); do
	grep -q "\"$(echo "$r" | tr '_' ' ')\"" "$WORK/explain" || missing="$missing $r"
done
is "... it names every shipped rule and macro" "${missing:-none}" none
check "... the complaint rule fired on create, the survey on solved" \
    sh -c "grep -A3 '^create' '$WORK/explain' | grep -q 'fired      \"complaints\"' && grep -A4 '^status solved' '$WORK/explain' | grep -q 'fired      \"survey when solved\"'"
check "... and why the VIP rule did not: its test as written" \
    grep -q 'not fired  "CEO mail jumps the queue" (.*10-vip.rules:[0-9]*): address "from" :is "toimitusjohtaja@yritys.example" does not hold' "$WORK/explain"
check "... the pending reminder: not due" \
    grep -q 'not fired  "nudge the customer": not due (after 7d in pending)' "$WORK/explain"

# ---- failures reopen ----
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
rule "tell" { on status pending then reply "told"; }
EOF
printf 'Subject: Received\n\nThank you.\n' >"$WORK/templates/ack.txt"
printf 'Subject: Waiting for you\n\nPlease answer.\n' >"$WORK/templates/told.txt"
sink_up "$SPORT" "$WORK/sink" -f rcpt	# 5xx to every recipient
printf 'From: Olli <olli@asiakas.example>\nTo: tuki@yritys.example\nSubject: Tilaus\nMessage-ID: <o2@asiakas.example>\n\nHei.\n' |
    tk ingest >/dev/null 2>&1
T2=$(sql "select ticket_id from messages where message_id = 'o2@asiakas.example'")
tk ticket set "$T2" status pending >/dev/null 2>&1
tk flush >/dev/null 2>&1
is "a reply refused with a 5xx: the row failed, its ticket reopened" \
    "$(sql "select state from outbox where ticket_id = $T2 and kind = 'reply'")/$(tk ticket show "$T2" --format json | json 'd["status"]')" "failed/open"
is "... tagged undelivered, with the reason in a send_failed event" \
    "$(tk ticket show "$T2" --format json | json '",".join(d["tags"])')/$(sql "select count(*) from events where ticket_id = $T2 and type = 'send_failed' and old = 'reply'")" "undelivered/1"
is "... the reopening is an event of its own" \
    "$(sql "select actor || ':' || old || '>' || new from events where ticket_id = $T2 and type = 'status' order by id desc limit 1")" "deliver:pending>open"
printf 'From: Ville <ville@asiakas.example>\nTo: tuki@yritys.example\nSubject: Kysymys\nMessage-ID: <o3@asiakas.example>\n\nHei.\n' |
    tk ingest >/dev/null 2>&1
T3=$(sql "select ticket_id from messages where message_id = 'o3@asiakas.example'")
tk flush >/dev/null 2>&1
is "an autoreply refused: its ticket flagged, not reopened (new stays new)" \
    "$(tk ticket show "$T3" --format json | json 'd["status"] + "/" + ",".join(d["tags"])')" "new/undelivered"
sink_down

# ---- a bounce to the VERP address of a reply ----
sink_up "$SPORT" "$WORK/sink2"
printf 'From: Liisa <liisa@asiakas.example>\nTo: tuki@yritys.example\nSubject: Palautus\nMessage-ID: <o4@asiakas.example>\n\nHei.\n' |
    tk ingest >/dev/null 2>&1
T4=$(sql "select ticket_id from messages where message_id = 'o4@asiakas.example'")
tk ticket set "$T4" status pending >/dev/null 2>&1
tk flush >/dev/null 2>&1
waitfiles "$WORK/sink2" 2
M=""
for f in "$WORK"/sink2/*; do
	[ "$(mc "$f" "m['Subject']")" = "Waiting for you [Tuki #$T4]" ] && M=$f
done
VERP=$(mc "$M" 'env_from')
check "the reply went out from its VERP address" test -n "$VERP"
cat >"$WORK/b1.eml" <<EOF
Return-Path: <>
From: MAILER-DAEMON@mx.asiakas.example (Mail Delivery System)
To: $VERP
Subject: Undelivered Mail Returned to Sender
Message-ID: <ob1@mx.asiakas.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.asiakas.example

Final-Recipient: rfc822; liisa@asiakas.example
Action: failed
Status: 5.1.1

--B--
EOF
tk ingest --sender '' "$WORK/b1.eml" >/dev/null 2>&1
is "a reply that bounced to its VERP address: its ticket reopened, flagged" \
    "$(tk ticket show "$T4" --format json | json 'd["status"] + "/" + ",".join(d["tags"])')" "open/undelivered"
is "... the bounce an event on it" \
    "$(sql "select count(*) from events where ticket_id = $T4 and type = 'bounced'")" 1

# ---- sent_copy: what tiketti sends, in the mailbox's Sent folder ----
if [ "$(id -u)" != 0 ]; then
	not_ok "Dovecot needs root (CI runs as root)"
	done_testing
	exit
fi
DIR=$WORK
IPORT=$(freeport)
DOVECOT_CONF='namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \Sent
    auto = create
  }
}'
check "dovecot starts with a \\Sent folder" dovecot_up "$IPORT"
trap 'sink_down; dovecot_down; rm -rf "$WORK"' EXIT
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"
SDB=$(db s)
{
	sed "s|^database = .*|database = $SDB|; s|^mailboxes = .*|mailboxes = support@yritys.example|" "$WORK/tiketti.conf"
	dovecot_account support "$IPORT" "$WORK/pw"
	echo "sent_copy = yes"
	dovecot_account other "$IPORT" "$WORK/pw"
	printf 'folder = Other\nsent_copy = yes\nsent_folder = Missing\nmailbox = other@yritys.example\n'
} >"$WORK/s.conf"
sed -i 's/^mailboxes = support@yritys.example$/mailboxes = support@yritys.example, other@yritys.example/' "$WORK/s.conf"
st() { "$TIKETTI" -c "$WORK/s.conf" "$@"; }
ssql() { sql_db "$SDB" "$1"; }
# sdrop FOLDER N: a customer's mail N into the support user's FOLDER.
sdrop() {
	_md=$DIR/dc/mail/support/Maildir${1:+/.$1}
	mkdir -p "$_md/new" "$_md/cur" "$_md/tmp"
	printf 'From: Asiakas %s <a%s@asiakas.example>\nTo: support@yritys.example\nSubject: Kysymys %s\nMessage-ID: <sc-%s@asiakas.example>\n\nHei.\n' \
	    "$2" "$2" "$2" "$2" >"$_md/tmp/$2"
	mv "$_md/tmp/$2" "$_md/new/$2"
	chown -R nobody:nogroup "$DIR/dc/mail"
}
# sent FOLDER: "FLAGS MESSAGE-ID" of each message there.
sent() {
	python3 - "$IPORT" "$1" <<'PY'
import imaplib, email, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("support", "secret")
typ, _ = m.select(sys.argv[2], readonly=True)
if typ == "OK":
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    for item in data:
        if isinstance(item, tuple):
            seen = "seen" if b"\\Seen" in item[0] else "unseen"
            print(seen, email.message_from_bytes(item[1])["Message-ID"])
m.logout()
PY
}
sink_down
sink_up "$SPORT" "$WORK/sink3"
sdrop "" 1
is "sent_copy = yes: a poll that sends an autoreply exits 0" "$(exitcode st poll --account support)" 0
MID=$(ssql "select m.message_id from outbox o join messages m on m.id = o.out_message where o.kind = 'autoreply' order by o.id limit 1")
is "... its copy is in the \\Sent folder, read" "$(sent Sent)" "seen <$MID>"
is "... the copy's outbox row sent" \
    "$(ssql "select state || '/' || to_addr from outbox where kind = 'sent_copy'")" "sent/support"
st poll --account support >/dev/null 2>&1
is "another poll appends nothing more" "$(sent Sent | grep -c .)" 1
ssql "update outbox set state = 'queued' where kind = 'sent_copy'"
is "a run that died between its APPEND and marking the row: not appended twice" \
    "$(exitcode st poll --account support)/$(sent Sent | grep -c .)/$(ssql "select state from outbox where kind = 'sent_copy'")" "0/1/sent"
check "... it said the copy was there already" grep -q "a copy in Sent (there already)" "$WORK/err"
sdrop Other 2
st poll --account other >/dev/null 2>&1
is "a Sent folder that is not there: the row waits, the reason kept" \
    "$(ssql "select state from outbox where kind = 'sent_copy' and to_addr = 'other'")/$(ssql "select count(*) from outbox where kind = 'sent_copy' and to_addr = 'other' and last_error like 'APPEND to Missing:%'")" "queued/1"
python3 -c 'import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login("support", "secret"); m.create("Missing"); m.logout()' "$IPORT"
faketime -f '+300s' "$TIKETTI" -c "$WORK/s.conf" poll --account other >/dev/null 2>&1
is "... retried once it exists: appended once" \
    "$(sent Missing | grep -c .)/$(ssql "select state from outbox where kind = 'sent_copy' and to_addr = 'other'")" "1/sent"
done_testing
