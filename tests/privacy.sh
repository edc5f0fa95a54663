#!/bin/sh
# Privacy: redact = cards, hetu, iban. A card number and a Finnish
# personal identity code in a quoted-printable text part (across a soft
# line break), in a base64 HTML part (across tags), in a text attachment
# and in the Subject are masked in the stored text, the raw message
# (parsed again by Python's email package: valid MIME, a PDF attachment
# byte for byte), the assignment mail at a real smtp-sink, a webhook at
# an HTTP receiver, the log and the "redacted" event; a number that
# fails its check is left alone;
# through a real Postfix with the milter, the mailbox gets the masked
# mail too. tiketti export writes what is held of an address, tiketti
# forget erases it with report counts unchanged, and retention under
# faketime erases exactly the closed tickets past their mailbox's limit.
# tests/pg.sh runs it again on PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink python3 faketime
DIR=$WORK
PIDS=
MPID=
trap 'postfix_down; dovecot_down; for p in $PIDS $MPID; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"

DB=$(db t)
sql() { sql_db "$DB" "$1"; }
SPORT=$(freeport)
sink_up "$SPORT" "$WORK/sink"
PIDS="$PIDS $SINK"
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }
HPORT=$(freeport)
mkdir -p "$WORK/http"
python3 "$SRCDIR/tests/sink/http_sink.py" "$HPORT" "$WORK/http" \
    >"$WORK/http.log" 2>&1 &
PIDS="$PIDS $!"
waitport "$HPORT" || echo "# http sink did not start"
sent() {
	for f in $(find "$WORK/sink" -type f -printf '%T@ %p\n' | sort -n |
	    cut -d' ' -f2-); do
		[ "$(mc "$f" 'env_to[0]')" = "$1" ] && echo "$f"
	done
}

mkdir -p "$WORK/rules" "$WORK/templates"
cp "$SRCDIR/rules/templates/assign.txt" "$WORK/templates/"
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example, myynti@yritys.example
ticket_prefix = Tuki
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
rules_dir = rules
templates_dir = templates
secret = privacy-test-secret-0123456789
redact = cards, hetu, iban
retention = 30d

[mailbox myynti@yritys.example]
retention = 7d

[agent maria]
address = maria@yritys.example
skills = all

[webhook crm]
url = http://127.0.0.1:$HPORT/hook
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "all to maria" { on create then { route skill "all"; webhook "crm"; } }
EOF

# ---- a card and a HETU everywhere a mail can carry them ----
# The PDF's bytes hold the card's digits too: an attachment that is no
# text is never touched.
PDF=$(printf '%%PDF-1.4 4111111111111111 131052-308T' | base64)
HTML=$(printf '<html><body><p>Kortti: 4111 <b>1111</b> 1111&nbsp;1111</p><p>Hetu <i>131052-308T</i></p></body></html>' | base64 -w 60)
ATT=$(printf 'Tilaus\r\nKortti 5555-5555-5555-4444\r\nHetu 010594Y9021\r\n' | base64)
cat >"$WORK/m1.eml" <<EOF
From: Anna Asiakas <anna@asiakas.example>
To: tuki@yritys.example
Subject: Maksu 5500 0000 0000 0004
Message-ID: <p1@asiakas.example>
Date: Thu, 03 Dec 2026 08:00:00 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hei, korttini on 4111 1111 11=
11 1111 ja henkil=C3=B6tunnukseni 131052-308T.
Tilausnumero 1234 5678 9012 3456.
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

$HTML
--alt--

--mixed
Content-Type: text/plain; charset=utf-8; name="tilaus.txt"
Content-Disposition: attachment; filename="tilaus.txt"
Content-Transfer-Encoding: base64

$ATT
--mixed
Content-Type: application/pdf; name="kuitti.pdf"
Content-Disposition: attachment; filename="kuitti.pdf"
Content-Transfer-Encoding: base64

$PDF
--mixed--
EOF
is "a mail with a card and a HETU: ingest exits 0" \
    "$(exitcode tk -v ingest "$WORK/m1.eml" 2>"$WORK/ingest.log")" 0
tk ticket show 1 --format json >"$WORK/show.json"
msg() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/show.json" "$1"; }
is "the stored text: the card and the HETU masked, the order number kept" \
    "$(msg "d['messages'][0]['text']")" \
    "Hei, korttini on 411111******1111 ja henkilötunnukseni 131052-****.
Tilausnumero 1234 5678 9012 3456."
is "... and what it added (new_text)" "$(msg "'411111******1111' in d['messages'][0]['new_text']")" True
is "the Subject, of the ticket and the message" \
    "$(msg "d['subject'] + ' / ' + d['messages'][0]['subject']")" \
    "Maksu 550000******0004 / Maksu 550000******0004"
is "an event redacted with the counts (text, subject, attachment)" \
    "$(msg "[e['new'] for e in d['events'] if e['type'] == 'redacted']")" \
    "['cards=3 hetu=2']"
tk message raw 1 >"$WORK/raw1.eml"
cat >"$WORK/walk.py" <<'PY'
import email, email.policy, hashlib, sys
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
out = [m["Subject"]]
for p in m.walk():
    if p.is_multipart():
        continue
    data = p.get_payload(decode=True)
    out.append("%s %s %s" % (p.get_content_type(), p.get_filename(),
        hashlib.sha256(data).hexdigest()[:12] if p.get_content_maintype() != "text"
        else data.decode(p.get_content_charset() or "ascii").replace("\r\n", "\n").replace("\n", " | ").strip(" |")))
print("\n".join(out))
PY
python3 "$WORK/walk.py" "$WORK/raw1.eml" >"$WORK/raw1.txt" 2>&1
PDFSUM=$(printf '%%PDF-1.4 4111111111111111 131052-308T' | sha256sum | cut -c1-12)
is "the raw message, parsed again by Python: every part masked, the PDF as it was" \
    "$(cat "$WORK/raw1.txt")" \
"Maksu 550000******0004
text/plain None Hei, korttini on 411111******1111 ja henkilötunnukseni 131052-****. | Tilausnumero 1234 5678 9012 3456.
text/html None <html><body><p>Kortti: 411111******1111<b></b></p><p>Hetu <i>131052-****</i></p></body></html>
text/plain tilaus.txt Tilaus | Kortti 555555******4444 | Hetu 010594Y****
application/pdf kuitti.pdf $PDFSUM"
check "... no card or HETU in its bytes" \
    sh -c "! grep -Eq '4111 1111|5555-5555|308T|9021|5500 0000' '$WORK/raw1.eml'"
check "... nor in the log" sh -c "! grep -Eq '4111|5555|308T|9021|5500' '$WORK/ingest.log'"
check "tiketti flush sends the assignment mail" tk flush
A=$(sent maria@yritys.example | head -1)
check "the assignment mail reached the smtp-sink" test -n "$A"
is "... its text masked" \
    "$(mc "$A" "m.get_body(('plain',)).get_content().count('411111******1111')")" 1
is "... its Subject too" "$(mc "$A" "'550000******0004' in m['Subject']")" true
check "... no card in it anywhere" sh -c "! grep -Eq '4111 1111|308T|5500 0000' '$A'"
check "the webhook got the ticket, masked" \
    sh -c "grep -lq '550000\*\*\*\*\*\*0004' '$WORK'/http/*.json && ! grep -Eq '4111 1111|308T|5500 0000|5500000000000004' '$WORK'/http/*.json"

# ---- a number that fails its check is left alone ----
cat >"$WORK/m2.eml" <<'EOF'
From: Olli <olli@asiakas.example>
To: tuki@yritys.example
Subject: Tilaus 1234 5678 9012 3456
Message-ID: <p2@asiakas.example>

Tilausnumero 1234 5678 9012 3456, viite 4111 1111 1111 1112.
EOF
tk ingest "$WORK/m2.eml" >/dev/null 2>&1
is "a Luhn-failing number: the raw message stored byte for byte" \
    "$(tk message raw "$(sql "select id from messages where message_id = 'p2@asiakas.example'")" |
    sha256sum)" "$(sha256sum <"$WORK/m2.eml")"
is "... no redacted event" \
    "$(sql "select count(*) from events where ticket_id = 2 and type = 'redacted'")" 0

# ---- export and forget ----
printf 'From: Anna Asiakas <anna@asiakas.example>\nTo: tuki@yritys.example\nSubject: Toinen asia\nMessage-ID: <p3@asiakas.example>\n\nKiitos.\n' |
    tk ingest >/dev/null 2>&1
printf 'From: Olli <olli@asiakas.example>\nTo: tuki@yritys.example\nCc: anna@asiakas.example\nSubject: Yhteinen\nMessage-ID: <p4@asiakas.example>\n\nAnna tietää.\n' |
    tk ingest >/dev/null 2>&1
tk flush >/dev/null 2>&1
REPORT="report --since 2026-01-01 --until 2027-12-31 --format json"
NOW=$(date '+%Y-%m-%d %H:%M:%S')
# report: the counts, not when it was made or the oldest one's subject
counts() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); d.pop("generated_at"); (d["backlog"].get("oldest") or {}).pop("subject", None); print(json.dumps(d, indent=1, sort_keys=True))'
}
at "$NOW" "$TIKETTI" -c "$WORK/tiketti.conf" $REPORT | counts >"$WORK/report.before"
is "export ADDRESS -o FILE: exit 0" \
    "$(exitcode tk export anna@asiakas.example -o "$WORK/anna.json")" 0
is "... a file only its owner reads" "$(stat -c %a "$WORK/anna.json")" 600
ex() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/anna.json" "$1"; }
is "... her tickets: requester of two, cc'd on one" \
    "$(ex "[t['id'] for t in d['tickets']]")" "[1, 3, 4]"
is "... with their messages, masked" \
    "$(ex "d['tickets'][0]['messages'][0]['text'].count('411111******1111')")" 1
is "... and the mail sent for her tickets" \
    "$(ex "d['address'] + ' ' + str(len(d['tickets'][0]['events']) > 0)")" \
    "anna@asiakas.example True"
is "each ticket records who exported it" \
    "$(sql "select count(*) from events where type = 'exported' and actor like 'cli:%'")" 3
is "forget of an agent's address: refused (64), nothing erased" \
    "$(exitcode tk forget maria@yritys.example)/$(sql "select count(*) from tickets where erased_at is not null")" "64/0"
is "... nor of the shared address" "$(exitcode tk forget tuki@yritys.example)" 64
is "forget ADDRESS: exit 0, her tickets erased" \
    "$(tk forget anna@asiakas.example 2>"$WORK/forget.log")" "3 tickets erased"
check "... the log names who ran it, not her" \
    sh -c "grep -q 'forget by cli:' '$WORK/forget.log' && ! grep -q anna '$WORK/forget.log'"
at "$NOW" "$TIKETTI" -c "$WORK/tiketti.conf" $REPORT | counts >"$WORK/report.after"
check "... the report counts as before" diff "$WORK/report.before" "$WORK/report.after"
is "... nothing of hers in tickets, messages, participants, outbox" \
    "$(sql "select (select count(*) from tickets where requester like '%anna%' or subject like '%Maksu%')
        + (select count(*) from messages where from_addr like '%anna%' or body like '%Kiitos%' or body like '%Anna%')
        + (select count(*) from participants where address like '%anna%')
        + (select count(*) from outbox where body like '%korttini%' or subject like '%Maksu%')
        + (select count(*) from events where actor like '%anna%')")" 0
is "... no raw message of her tickets" "$(exitcode tk message raw 1)" 66
is "... Olli's own ticket untouched, the one she was cc'd on still his" \
    "$(sql "select id, requester, case when erased_at is null then 1 else 0 end from tickets where id in (2, 4) order by id" | tr '\n' ' ')" \
    "2|olli@asiakas.example|1 4|olli@asiakas.example|0 "
is "... the erased tickets say when" \
    "$(tk ticket show 1 --format json | json "d['erased'] is not None")" true
is "... by whom, as events" \
    "$(sql "select count(*) from events where type = 'erased' and actor like 'cli:%' and new = 'forget'")" 3
is "export after forget: no ticket of hers" \
    "$(tk export anna@asiakas.example | json "len(d['tickets'])")" 0

# ---- retention under faketime ----
RDB=$(db r)
sed "s|^database = .*|database = $RDB|; /^redact/d" "$WORK/tiketti.conf" >"$WORK/r.conf"
: >"$WORK/rules/10.rules"
rt() { "$TIKETTI" -c "$WORK/r.conf" "$@"; }
rsql() { sql_db "$RDB" "$1"; }
D0=$(date -d '2026-01-01 12:00:00' +%s)
day() { date -d "@$((D0 + $1 * 86400))" '+%Y-%m-%d %H:%M:%S'; }
rmail() {	# ID MAILBOX
	printf 'From: c%s@asiakas.example\nTo: %s\nSubject: Asia %s\nMessage-ID: <r%s@asiakas.example>\n\nTeksti %s.\n' \
	    "$1" "$2" "$1" "$1" "$1" | at "$(day 0)" "$TIKETTI" -c "$WORK/r.conf" ingest >/dev/null 2>&1
}
rmail 1 tuki@yritys.example	# closed day 1: past 30 days at day 35
rmail 2 tuki@yritys.example	# closed day 20: not yet
rmail 3 tuki@yritys.example	# open
rmail 4 myynti@yritys.example	# closed day 20: past its 7 days
rmail 5 tuki@yritys.example	# solved day 20, closed by tick at day 25
at "$(day 1)" "$TIKETTI" -c "$WORK/r.conf" ticket set 1 status closed
at "$(day 20)" "$TIKETTI" -c "$WORK/r.conf" ticket set 2 status closed
at "$(day 20)" "$TIKETTI" -c "$WORK/r.conf" ticket set 4 status closed
at "$(day 20)" "$TIKETTI" -c "$WORK/r.conf" ticket set 5 status solved
RREPORT="report --since 2026-01-01 --until 2026-03-01 --format json"
is "tick at day 25: nothing past retention yet" \
    "$(at "$(day 25)" "$TIKETTI" -c "$WORK/r.conf" tick >/dev/null 2>&1; rsql "select count(*) from tickets where erased_at is not null")" 0
at "$(day 40)" "$TIKETTI" -c "$WORK/r.conf" $RREPORT | counts >"$WORK/r.before"
at "$(day 35)" "$TIKETTI" -c "$WORK/r.conf" tick >/dev/null 2>&1
is "tick at day 35: exactly the closed tickets past their mailbox's retention" \
    "$(rsql "select id from tickets where erased_at is not null order by id" | tr '\n' ' ')" "1 4 "
is "... their text and raw mail gone, the others' kept" \
    "$(rsql "select count(*) from messages where body is null")/$(rsql "select count(*) from raw_messages")" "2/3"
is "... an event erased by retention" \
    "$(rsql "select ticket_id from events where type = 'erased' and actor = 'retention' order by 1" | tr '\n' ' ')" "1 4 "
at "$(day 40)" "$TIKETTI" -c "$WORK/r.conf" $RREPORT | counts >"$WORK/r.after"
check "... the report over those days the same" diff "$WORK/r.before" "$WORK/r.after"
is "a second tick erases nothing more" \
    "$(at "$(day 36)" "$TIKETTI" -c "$WORK/r.conf" tick >/dev/null 2>&1; rsql "select count(*) from events where type = 'erased'")" 2
is "config: a bad retention is refused with its line" \
    "$(printf 'retention = 24x\n' >"$WORK/bad.conf"; "$TIKETTI" -c "$WORK/bad.conf" config 2>&1 >/dev/null | head -1)" \
    "$WORK/bad.conf:1: bad retention (want 0, Nd, Nw, Nm for months or Ny) \"retention\""
is "... and an unknown redact kind" \
    "$(printf 'redact = cards, ssn\n' >"$WORK/bad.conf"; "$TIKETTI" -c "$WORK/bad.conf" config 2>&1 >/dev/null | head -1)" \
    "$WORK/bad.conf: redact: unknown kind \"ssn\" (want cards, hetu, iban or none)"

if [ "$(id -u)" != 0 ]; then
	not_ok "Dovecot and Postfix need root (CI runs as root)"
	done_testing
	exit
fi

# ---- the poller: redact_mailbox = yes replaces the server's copy ----
IDB=$(db i)
IPORT=$(freeport)
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"
check "dovecot starts" dovecot_up "$IPORT"
PIDS="$PIDS $DOVECOT"
{
	sed "s|^database = .*|database = $IDB|; /^\[mailbox/,\$d" "$WORK/tiketti.conf"
	echo "mailboxes = support@yritys.example"
	dovecot_account masked "$IPORT" "$WORK/pw"
	printf 'folder = Masked\nafter = seen\nredact_mailbox = yes\n'
	dovecot_account plain "$IPORT" "$WORK/pw"
	printf 'folder = Plain\n'
} >"$WORK/i.conf"
it() { "$TIKETTI" -c "$WORK/i.conf" "$@"; }
isql() { sql_db "$IDB" "$1"; }
# drop FOLDER MESSAGE-ID: m1.eml into the folder, as the LDA would.
drop() {
	_md=$DIR/dc/mail/support/Maildir/.$1
	mkdir -p "$_md/new" "$_md/cur" "$_md/tmp"
	sed "s/^Message-ID: .*/Message-ID: <$2>/" "$WORK/m1.eml" >"$_md/tmp/$2"
	mv "$_md/tmp/$2" "$_md/new/$2"
	chown -R nobody:nogroup "$DIR/dc/mail"
}
# folder NAME: each message's flags and whether a card or HETU is in it.
folder() {
	python3 - "$IPORT" "$1" <<'PY'
import imaplib, re, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("support", "secret")
m.select(sys.argv[2], readonly=True)
typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
for item in data:
    if isinstance(item, tuple):
        body = item[1]
        seen = b"\\Seen" in item[0]
        bare = re.search(rb"4111 1111|5555-5555|308T|5500 0000", body) is not None
        masked = b"411111******1111" in body
        print("seen" if seen else "unseen", "card" if bare else "masked" if masked else "base64")
m.logout()
PY
}
drop Masked i1@asiakas.example
is "redact_mailbox = yes: poll exits 0" "$(exitcode it poll --account masked)" 0
is "... one ticket, its text masked" \
    "$(isql "select count(*) from messages where body like '%411111******1111%'")" 1
is "... the server's copy replaced by the masked one (the card nowhere)" \
    "$(folder Masked)" "seen masked"
check "... the poll says so, with the counts and no number" \
    sh -c "grep -q 'UID 1 of Masked replaced by its masked copy (cards=3 hetu=2)' '$WORK/err' && ! grep -Eq '4111|308T' '$WORK/err'"
is "the next poll takes the copy as a duplicate" \
    "$(it poll --account masked >/dev/null 2>&1; isql "select count(*) from messages")/$(folder Masked)" "1/seen masked"
check "... the copy masked, parsed by Python" sh -c "python3 - '$IPORT' <<'PY' | grep -q 411111
import imaplib, email, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1])); m.login('support', 'secret'); m.select('Masked', readonly=True)
typ, data = m.uid('FETCH', '1:*', '(BODY.PEEK[])')
msg = email.message_from_bytes(data[0][1])
print([p.get_payload(decode=True).decode(p.get_content_charset() or 'utf-8') for p in msg.walk() if p.get_content_type() == 'text/plain'][0])
PY"
drop Plain i2@asiakas.example
it poll --account plain >/dev/null 2>&1
is "without it (the default) the server's copy stays as it came" \
    "$(folder Plain)" "unseen card"
check "... while the stored one is masked" \
    test "$(isql "select count(*) from messages where message_id = 'i2@asiakas.example' and body like '%411111******1111%'")" = 1
# A run that died between its commit and the replacement: the next one
# fetches what it had not acted on and replaces it then.
drop Masked i3@asiakas.example
sed 's/^redact_mailbox = yes$/redact_mailbox = no/; s/^after = seen$/after = keep/' "$WORK/i.conf" >"$WORK/i2.conf"
"$TIKETTI" -c "$WORK/i2.conf" poll --account masked >/dev/null 2>&1
isql "update imap_state set acted_uid = last_uid - 1 where account = 'masked'"
is "a run that died before replacing: the next run replaces it" \
    "$(it poll --account masked 2>"$WORK/poll2.log" >/dev/null; folder Masked | sort | tr '\n' ' ')" "seen masked seen masked "
check "... and logs it" grep -q "replaced by its masked copy" "$WORK/poll2.log"
dovecot_down

# ---- the mailbox gets the masked mail: real Postfix and the milter ----
MDB=$(db m)
MPORT=$(freeport)
PPORT=$(freeport)
RPORT=$(freeport)
chmod 777 "$WORK"
sed "s|^database = .*|database = $MDB\\
milter_socket = inet:$MPORT@127.0.0.1\\
milter_pid_file = $WORK/milter.pid\\
milter_user = nobody|" "$WORK/tiketti.conf" >"$WORK/m.conf"
chmod 644 "$WORK/m.conf"
"$TIKETTI" -c "$WORK/m.conf" milter -d >"$WORK/milter.log" 2>&1 &
MPID=$!
waitport "$MPORT" || echo "# the milter did not start"
sink_up "$RPORT" "$WORK/mailbox"
PIDS="$PIDS $SINK"
if ! postfix_up "$PPORT" "$RPORT" "inet:127.0.0.1:$MPORT"; then
	not_ok "Postfix started"
	cat "$WORK/pf/start.log" "$WORK/pf/maillog" 2>/dev/null | sed 's/^/# /'
	done_testing
	exit
fi
swaks --server "127.0.0.1:$PPORT" --helo client.example \
    --from anna@asiakas.example --to tuki@yritys.example \
    --data "$WORK/m1.eml" >"$WORK/swaks" 2>&1
check "Postfix accepted the mail through the milter" \
    grep -q "^<-  250 2.0.0 Ok: queued" "$WORK/swaks"
waitfiles "$WORK/mailbox" 1
B=$(find "$WORK/mailbox" -type f | head -1)
sed '/^X-/d' "$B" >"$WORK/mailbox.eml"
python3 "$WORK/walk.py" "$WORK/mailbox.eml" >"$WORK/mailbox.txt" 2>&1
is "the mailbox's copy, parsed by Python: masked, tagged, the PDF as it was" \
    "$(cat "$WORK/mailbox.txt")" \
"Maksu 550000******0004 [Tuki #1]
text/plain None Hei, korttini on 411111******1111 ja henkilötunnukseni 131052-****. | Tilausnumero 1234 5678 9012 3456.
text/html None <html><body><p>Kortti: 411111******1111<b></b></p><p>Hetu <i>131052-****</i></p></body></html>
text/plain tilaus.txt Tilaus | Kortti 555555******4444 | Hetu 010594Y****
application/pdf kuitti.pdf $PDFSUM"
check "... no card or HETU in its bytes" \
    sh -c "! grep -Eq '4111 1111|5555-5555|308T|9021|5500 0000' '$B'"
is "... and stored masked as well" \
    "$("$TIKETTI" -c "$WORK/m.conf" message raw 1 | grep -c '411111\*\*\*\*\*\*1111')" 1
check "the milter's log: the counts, no number" \
    sh -c "grep -q 'masked cards=3 hetu=2' '$WORK/milter.log' && ! grep -Eq '4111|308T' '$WORK/milter.log'"
done_testing
