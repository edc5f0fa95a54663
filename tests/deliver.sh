#!/bin/sh
# Sending against real receivers on loopback: Postfix's smtp-sink captures
# every mail (checked header by header with Python's email parser), a
# small Python HTTP server captures webhook bodies (tests/sink/). Covers
# retries with the receiver down then up, 4xx/5xx answers, STARTTLS and
# password-file refusals, surveys and their answers, forged tokens, VERP
# bounces and bounce_block, the rate limit, every corpus bounce answered
# by nothing, and two tiketti instances that must stop autoreplying to
# each other.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink python3 faketime
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# sink_start [SMTP-SINK-OPTIONS...]: (re)starts smtp-sink on $SPORT.
sink_start() {
	sink_down
	sink_up "$SPORT" "$WORK/sink" "$@"
	PIDS="$PIDS $SINK"
}

nmail() { find "$WORK/sink" -type f | wc -l | tr -d ' '; }
# lastmail: the newest captured mail (the sink names files by minute).
lastmail() {
	find "$WORK/sink" -type f -printf '%T@ %p\n' | sort -n | tail -1 |
	    cut -d' ' -f2-
}
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }
DB=$(db t)
sql() { sql_db "$DB" "$1"; }
# sql_has QUERY GREP-ARGS...: the query's rows match.
sql_has() {
	_q=$1
	shift
	sql "$_q" | grep -q "$@"
}

SPORT=$(freeport)
HPORT=$(freeport)
mkdir -p "$WORK/sink" "$WORK/http" "$WORK/tmpl" "$WORK/rules"
# smtp-sink drops to nobody (as root), who must reach the dump directory.
chmod 711 "$WORK"
chmod 777 "$WORK/sink"
python3 "$SRCDIR/tests/sink/http_sink.py" "$HPORT" "$WORK/http" \
    >"$WORK/http.log" 2>&1 &
PIDS="$PIDS $!"
waitport "$HPORT" || echo "# http sink did not start"

cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
secret = deliver-test-secret-0123456789
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
smtp_timeout = 10s
webhook_timeout = 5s
csat_url = https://kysely.yritys.example/csat
# The assignment mail has tests of its own (push.sh).
assign_mail = no
rules_dir = rules
templates_dir = tmpl

[webhook crm]
url = http://127.0.0.1:$HPORT/hook
header = Authorization: Bearer s3cret

[agent maria]
address = maria@yritys.example
skills = complaints
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
rule "hook" { on create if header :subject :contains "reklamaatio" then {
    route skill "complaints"; tag "vip"; webhook "crm"; } }
rule "survey" { on status solved then csat; }
EOF
printf 'Subject: Kiitos viestistäsi, {{customer.name}}\nContent-Language: fi\n\nHei {{customer.name}},\nasiasi on {{ticket.tag}}.\n' >"$WORK/tmpl/ack.txt"
printf '<p>Hei <b>{{customer.name}}</b>, asiasi on {{ticket.tag}}.</p>\n' >"$WORK/tmpl/ack.html"
printf 'Subject: Miten onnistuimme?\n\nArvioi 1-5:\n{{csat.links}}\n' >"$WORK/tmpl/csat.txt"

# ---- the receiver down, then up: retried, then sent once ----
cat >"$WORK/m1.eml" <<'EOF'
From: =?utf-8?q?Matti_M=C3=A4kel=C3=A4=0D=0ABcc=3A_victim=40x=2Eexample?= <matti@asiakas.example>
To: tuki@yritys.example
Subject: =?utf-8?q?Reklamaatio=3A_k=C3=A4ytt=C3=B6ongelma=0D=0ABcc=3A_x=40y=2Eexample?=
Message-ID: <m1@asiakas.example>
References: <old@asiakas.example>
Date: Sun, 22 Nov 2026 08:00:00 +0200

Apua, laite ei toimi.
EOF
echo 503 >"$WORK/http/status"
is "receiver down: ingest still exits 0" "$(exitcode tk ingest "$WORK/m1.eml")" 0
is "receiver down: both rows stay queued after one attempt" \
    "$(sql "select kind||':'||state||':'||attempts from outbox order by id" | tr '\n' ' ')" \
    "autoreply:queued:1 webhook:queued:1 "
check "receiver down: the SMTP error is kept" \
    sql_has "select last_error from outbox where id = 1" -i 'connect'
check "receiver down: the HTTP 503 is kept" \
    sql_has "select last_error from outbox where id = 2" 'HTTP 503'
sink_start
rm -f "$WORK/http/status"
tk flush >"$WORK/out" 2>&1
is "back-off: a plain flush before the retry time sends nothing" "$(nmail)" 0
check "outbox list shows attempts and the last error" \
    sh -c "'$TIKETTI' -c '$WORK/tiketti.conf' outbox list | grep -q 'queued *1 .*# .*onnect'"
later 90 "$TIKETTI" -c "$WORK/tiketti.conf" flush >"$WORK/out" 2>/dev/null
is "a minute and a half later: both sent" "$(cat "$WORK/out")" \
    "outbox: 2 sent, 0 deferred, 0 failed, 0 cancelled"
is "one mail captured" "$(nmail)" 1
tk flush -f >/dev/null 2>&1
is "a forced flush later sends nothing twice" "$(nmail)" 1
is "one webhook captured" "$(ls "$WORK/http" | grep -c json)" 1
is "states: both sent" "$(sql "select state from outbox order by id" | paste -sd, -)" "sent,sent"

# ---- the mail, header by header ----
M=$(lastmail)
is "From: the shared address" "$(mc "$M" 'm["From"]')" "tuki@yritys.example"
is "To: the customer" "$(mc "$M" 'm["To"].addresses[0].addr_spec')" "matti@asiakas.example"
is "Auto-Submitted: auto-replied" "$(mc "$M" 'm["Auto-Submitted"]')" "auto-replied"
is "X-Auto-Response-Suppress: All" "$(mc "$M" 'm["X-Auto-Response-Suppress"]')" "All"
is "In-Reply-To: the customer's mail" "$(mc "$M" 'm["In-Reply-To"]')" "<m1@asiakas.example>"
is "References: theirs, then the customer's mail" "$(mc "$M" 'm["References"]')" \
    "<old@asiakas.example> <m1@asiakas.example>"
check "Subject: the template's, with the ticket tag" \
    sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$M' 'm[\"Subject\"]' | grep -q '^Kiitos viestistäsi, Matti Mäkelä.*\[Tuki #1\]$'"
check "Subject: RFC 2047 on the wire" grep -q '^Subject: .*=?UTF-8?' "$M"
check "no header injected from CR/LF in the customer's name or subject" \
    sh -c "! grep -qi '^bcc:' '$M'"
is "the headers: exactly the ones tiketti writes" \
    "$(mc "$M" 'sorted(set(k.lower() for k in m.keys()) - {"received"})')" \
    '["auto-submitted", "content-language", "content-type", "date", "from", "in-reply-to", "message-id", "mime-version", "references", "reply-to", "subject", "to", "x-auto-response-suppress", "x-tiketti-ticket"]'
is "MIME: text and an HTML alternative" \
    "$(mc "$M" '[p.get_content_type() for p in m.walk()]')" \
    '["multipart/alternative", "text/plain", "text/html"]'
check "HTML: the values are escaped" \
    sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$M' 'part(\"text/html\")' | grep -q '<b>Matti Mäkelä *Bcc: victim@x.example</b>'"
is "the text part is UTF-8" "$(mc "$M" '[p.get_content_charset() for p in m.walk()][1]')" "utf-8"
MID=$(mc "$M" 'm["Message-ID"].strip("<>")')
is "the Message-ID is stored with the ticket" \
    "$(sql "select ticket_id||':'||direction||':'||kind from messages where message_id = '$MID'")" \
    "1:out:autoreply"
check "the envelope sender is the signed VERP address of row 1" \
    sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$M' 'env_from' | grep -q '^tuki+bounce-1-[0-9a-f]\{16\}@yritys.example$'"
check "Reply-To carries the signed ticket token" \
    sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$M' 'm[\"Reply-To\"]' | grep -q '^tuki+t1-[0-9a-f]\{16\}@yritys.example$'"

# ---- the webhook ----
W="$WORK/http/0001.json"
is "webhook: the token header" "$(json 'd["headers"]["Authorization"]' <"$W")" "Bearer s3cret"
is "webhook: JSON content type" "$(json 'd["headers"]["Content-Type"]' <"$W")" "application/json"
is "webhook: the delivery id" "$(json 'd["headers"]["X-Tiketti-Delivery"]' <"$W")" "2"
is "webhook: event, ticket, skill and tags" \
    "$(json '(lambda b: [b["event"], b["ticket"]["id"], b["ticket"]["skill"], b["ticket"]["tags"], b["ticket"]["assignee"], b["ticket"]["requester"], b["ticket"]["status"]])(json.loads(d["body"]))' <"$W")" \
    '["create", 1, "complaints", ["vip"], "maria", "matti@asiakas.example", "new"]'

# ---- a reply to our mail threads, by References and by Reply-To alone ----
RT=$(mc "$M" 'm["Reply-To"]')
printf 'From: matti@asiakas.example\nTo: %s\nSubject: ei aihetta\nMessage-ID: <m2@asiakas.example>\n\nlisää\n' "$RT" >"$WORK/m2.eml"
tk ingest "$WORK/m2.eml" >/dev/null 2>&1
is "a reply with only the Reply-To token threads" \
    "$(sql "select ticket_id from messages where message_id = 'm2@asiakas.example'")" 1
printf 'From: matti@asiakas.example\nTo: tuki@yritys.example\nSubject: Re: x\nIn-Reply-To: <%s>\nMessage-ID: <m3@asiakas.example>\n\nja lisää\n' "$MID" >"$WORK/m3.eml"
tk ingest "$WORK/m3.eml" >/dev/null 2>&1
is "a reply to the autoreply's Message-ID threads" \
    "$(sql "select ticket_id from messages where message_id = 'm3@asiakas.example'")" 1

# ---- the survey and its answers ----
tk ticket set 1 status solved >/dev/null 2>&1
S=$(lastmail)
is "solved: one survey mail" "$(nmail)" 2
is "survey: Auto-Submitted" "$(mc "$S" 'm["Auto-Submitted"]')" "auto-replied"
is "survey: five signed mailto links, 5 first" \
    "$(mc "$S" '__import__("re").findall(r"mailto:tuki\+csat-1-([1-5])-[0-9a-f]{16}@yritys\.example", part("text/plain"))')" \
    '["5", "4", "3", "2", "1"]'
is "survey: csat_url links with the same tokens" \
    "$(mc "$S" 'len(__import__("re").findall(r"https://kysely\.yritys\.example/csat\?token=csat-1-[1-5]-[0-9a-f]{16}", part("text/plain")))')" 5
A4=$(mc "$S" '__import__("re").search(r"tuki\+csat-1-4-[0-9a-f]{16}@yritys\.example", part("text/plain")).group(0)')
printf 'From: matti@asiakas.example\nTo: %s\nSubject: Re: Miten onnistuimme?\nMessage-ID: <r1@asiakas.example>\n\nNopeaa palvelua, kiitos!\n' "$A4" >"$WORK/r1.eml"
tk ingest "$WORK/r1.eml" >/dev/null 2>&1
tk ticket show 1 --format json >"$WORK/show.json"
is "an answer records the rating" "$(json 'd["csat"]' <"$WORK/show.json")" 4
is "an answer does not reopen the ticket" "$(json 'd["status"]' <"$WORK/show.json")" solved
is "the comment is an event" \
    "$(json '[e["new"] for e in d["events"] if e["type"] == "csat_comment"]' <"$WORK/show.json")" \
    '["Nopeaa palvelua, kiitos!"]'
FORGED=$(echo "$A4" | sed 's/csat-1-4-/csat-1-5-/')
printf 'From: matti@asiakas.example\nTo: %s\nSubject: Re: Miten onnistuimme?\nMessage-ID: <r2@asiakas.example>\n\n5\n' "$FORGED" >"$WORK/r2.eml"
tk ingest "$WORK/r2.eml" >"$WORK/out" 2>&1
is "a forged token changes no rating" "$(tk ticket show 1 --format json | json 'd["csat"]')" 4
check "a forged token is logged" grep -q "bad signature" "$WORK/out"
RS=$(mc "$S" 'm["Reply-To"]')
printf 'From: matti@asiakas.example\nTo: %s\nSubject: Re: Miten onnistuimme?\nMessage-ID: <r3@asiakas.example>\n\n5\n\n> Arvioi 1-5:\n' "$RS" >"$WORK/r3.eml"
tk ingest "$WORK/r3.eml" >/dev/null 2>&1
is "a plain reply to the survey: the figure is the rating" \
    "$(tk ticket show 1 --format json | json '[d["csat"], d["status"]]')" '[5, "solved"]'
printf 'From: matti@asiakas.example\nTo: %s\nSubject: Re: Miten onnistuimme?\nMessage-ID: <r4@asiakas.example>\n\nIt is NOT solved. The part still leaks and I have 2 days before my trip.\n\n> Arvioi 1-5:\n' "$RS" >"$WORK/r4.eml"
tk ingest "$WORK/r4.eml" >/dev/null 2>&1
is "a reply to the survey that is no rating is the customer writing: reopened, rating kept" \
    "$(tk ticket show 1 --format json | json '[d["csat"], d["status"]]')/$(sql "select kind from messages where message_id = 'r4@asiakas.example'")" '[5, "open"]/customer'
is "... and no rating from the 2 in it" "$(sql "select count(*) from events where type = 'csat'")" 2
printf 'From: matti@asiakas.example\nTo: %s\nSubject: Re: Miten onnistuimme?\nMessage-ID: <r5@asiakas.example>\n\nHyvä!\nKiitos avusta.\n' "$RS" >"$WORK/r5.eml"
tk ingest "$WORK/r5.eml" >/dev/null 2>&1
is "a documented word alone on the first line is a rating" \
    "$(tk ticket show 1 --format json | json 'd["csat"]')" 4
tk ticket set 1 status open >/dev/null 2>&1
tk ticket set 1 status solved >/dev/null 2>&1
is "solved again: still one survey" "$(sql "select count(*) from outbox where kind = 'csat'")" 1

# ---- a bounce of our mail: by VERP, attached, not reopened, blocks ----
VERP=$(mc "$M" 'env_from')
# First a delay notice and an out-of-office reply to the same address:
# neither is a bounce.
cat >"$WORK/b0.eml" <<EOF
Return-Path: <>
From: MAILER-DAEMON@mx.asiakas.example (Mail Delivery System)
To: $VERP
Subject: Delayed Mail (still being retried)
Message-ID: <b0@mx.asiakas.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered for 4 hours. It will be retried
until it is 5 days old.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.asiakas.example

Final-Recipient: rfc822; matti@asiakas.example
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx2.asiakas.example: Connection
    timed out

--B--
EOF
tk ingest --sender '' "$WORK/b0.eml" >/dev/null 2>&1
printf 'Return-Path: <>\nFrom: Matti <matti@asiakas.example>\nTo: %s\nSubject: Automatic reply: Kiitos viestistäsi\nAuto-Submitted: auto-replied\nMessage-ID: <v0@asiakas.example>\n\nOlen lomalla 1.12. asti. 550 hakemusta odottaa.\n' "$VERP" >"$WORK/v0.eml"
tk ingest --sender '' "$WORK/v0.eml" >/dev/null 2>&1
is "a delay notice (Action: delayed, 4.4.1) and a vacation reply to VERP: not bounces" \
    "$(sql "select state from outbox where id = 1")/$(sql "select count(*) from bounced")/$(sql "select count(*) from events where type = 'bounced'")" "sent/0/0"
is "... both stored on the ticket as automatic mail" \
    "$(sql "select kind from messages where message_id in ('b0@mx.asiakas.example', 'v0@asiakas.example') order by id" | paste -sd, -)" "bounce,auto"
cat >"$WORK/b1.eml" <<EOF
Return-Path: <>
From: MAILER-DAEMON@mx.asiakas.example (Mail Delivery System)
To: $VERP
Subject: Undelivered Mail Returned to Sender
Message-ID: <b1@mx.asiakas.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not
be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.asiakas.example

Final-Recipient: rfc822; matti@asiakas.example
Action: failed
Status: 5.1.1

--B--
EOF
tk ingest --sender '' "$WORK/b1.eml" >/dev/null 2>&1
is "VERP bounce: attached to ticket 1" \
    "$(sql "select ticket_id||':'||kind from messages where message_id = 'b1@mx.asiakas.example'")" "1:bounce"
is "VERP bounce: the row is marked bounced" "$(sql "select state from outbox where id = 1")" bounced
is "VERP bounce: the ticket is not reopened" "$(tk ticket show 1 --format json | json 'd["status"]')" solved
printf 'From: matti@asiakas.example\nTo: tuki@yritys.example\nSubject: uusi asia\nMessage-ID: <m4@asiakas.example>\n\nx\n' >"$WORK/m4.eml"
n0=$(nmail)
tk ingest "$WORK/m4.eml" >/dev/null 2>&1
is "bounce_block: no autoreply to an address that bounced" "$(nmail)" "$n0"
is "bounce_block: the reason is recorded" \
    "$(sql "select new from events where type = 'autoreply_suppressed' order by id desc limit 1")" bounce-block

# ---- a bounce found by the Message-ID it returns ----
printf 'From: liisa@asiakas.example\nTo: tuki@yritys.example\nSubject: kysymys\nMessage-ID: <l1@asiakas.example>\n\nx\n' >"$WORK/l1.eml"
tk ingest "$WORK/l1.eml" >/dev/null 2>&1
LT=$(sql "select ticket_id from messages where message_id = 'l1@asiakas.example'")
LMID=$(sql "select message_id from messages where ticket_id = $LT and direction = 'out'")
cat >"$WORK/b2.eml" <<EOF
From: postmaster@mx.example
To: tuki@yritys.example
Subject: Delivery Status Notification (Failure)
Message-ID: <b2@mx.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Delivery failed.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; liisa@asiakas.example
Action: failed
Status: 5.2.2

--B
Content-Type: text/rfc822-headers

From: tuki@yritys.example
To: liisa@asiakas.example
Subject: Kiitos viestistäsi
Message-ID: <$LMID>

--B--
EOF
tk ingest "$WORK/b2.eml" >/dev/null 2>&1
is "DSN bounce: attached to its ticket" \
    "$(sql "select ticket_id from messages where message_id = 'b2@mx.example'")" "$LT"
is "DSN bounce: the address is blocked" \
    "$(sql "select count(*) from bounced where address = 'liisa@asiakas.example'")" 1

# ---- the rate limit, across tickets ----
n0=$(nmail)
for i in 1 2 3 4 5; do
	printf 'From: pekka@asiakas.example\nTo: tuki@yritys.example\nSubject: asia %s\nMessage-ID: <p%s@asiakas.example>\n\nx\n' "$i" "$i" >"$WORK/p.eml"
	tk ingest "$WORK/p.eml" >/dev/null 2>&1
done
is "rate limit: 5 new tickets, 3 autoreplies" "$(($(nmail) - n0))" 3
is "rate limit: 2 suppressed as rate-limit" \
    "$(sql "select count(*) from events where type = 'autoreply_suppressed' and new = 'rate-limit'")" 2

# ---- 5xx fails at once, 4xx defers; HTTP 4xx fails, 5xx defers ----
sink_start -f RCPT
printf 'From: hylky@asiakas.example\nTo: tuki@yritys.example\nSubject: x\nMessage-ID: <h1@asiakas.example>\n\nx\n' >"$WORK/h1.eml"
tk ingest "$WORK/h1.eml" >/dev/null 2>&1
is "SMTP 5xx to RCPT: failed at once" \
    "$(sql "select state||':'||attempts from outbox where to_addr = 'hylky@asiakas.example'")" "failed:1"
check "SMTP 5xx: the server's reply is the reason" \
    sql_has "select last_error from outbox where to_addr = 'hylky@asiakas.example'" '5[0-9][0-9]'
is "SMTP 5xx: the ticket says so" \
    "$(sql "select count(*) from events where type = 'send_failed'")" 1
sink_start -r RCPT
printf 'From: viive@asiakas.example\nTo: tuki@yritys.example\nSubject: x\nMessage-ID: <v1@asiakas.example>\n\nx\n' >"$WORK/v1.eml"
tk ingest "$WORK/v1.eml" >/dev/null 2>&1
is "SMTP 4xx to RCPT: deferred" \
    "$(sql "select state||':'||attempts from outbox where to_addr = 'viive@asiakas.example'")" "queued:1"
sink_start
echo 404 >"$WORK/http/status"
printf 'From: olli@asiakas.example\nTo: tuki@yritys.example\nSubject: Reklamaatio\nMessage-ID: <o1@asiakas.example>\n\nx\n' >"$WORK/o1.eml"
tk ingest "$WORK/o1.eml" >/dev/null 2>&1
is "HTTP 404: the webhook fails at once" \
    "$(sql "select state||':'||last_error from outbox where kind = 'webhook' order by id desc limit 1")" \
    "failed:HTTP 404: HTTP/1.0 404 Not Found"
rm -f "$WORK/http/status"
tk flush -f >/dev/null 2>&1
is "the deferred mail goes when the server takes it" \
    "$(sql "select state from outbox where to_addr = 'viive@asiakas.example'")" sent
# outbox_max_age: a row that keeps failing is given up after 2 days.
sink_down
printf 'From: kaukana@asiakas.example\nTo: tuki@yritys.example\nSubject: x\nMessage-ID: <k1@asiakas.example>\n\nx\n' >"$WORK/k1.eml"
tk ingest "$WORK/k1.eml" >/dev/null 2>&1
later $((3 * 86400)) "$TIKETTI" -c "$WORK/tiketti.conf" flush >/dev/null 2>&1
check "outbox_max_age: failed with the reason, after 2 days" \
    sql_has "select state||':'||last_error from outbox where to_addr = 'kaukana@asiakas.example'" '^failed:gave up after 2 attempts in 2d: '

# ---- a sender killed mid-send: the row goes once more, never lost ----
sink_start -w 5		# the sink answers DATA after 5 seconds
printf 'From: kesken@asiakas.example\nTo: tuki@yritys.example\nSubject: x\nMessage-ID: <c1@asiakas.example>\n\nx\n' >"$WORK/c1.eml"
tk ingest --no-rules "$WORK/c1.eml" >/dev/null 2>&1
sql "insert into outbox (ticket_id, kind, to_addr, subject, next_at, created_at, out_message) select ticket_id, 'autoreply', 'kesken@asiakas.example', 'x', 0, $(date +%s), (select id from messages where direction = 'out' limit 1) from messages where message_id = 'c1@asiakas.example'"
KROW=$(sql "select max(id) from outbox")
"$TIKETTI" -c "$WORK/tiketti.conf" flush >/dev/null 2>&1 &
FPID=$!
sleep 2
kill -9 "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
is "killed mid-send: the row is left claimed" "$(sql "select state from outbox where id = $KROW")" sending
sink_start
tk flush >/dev/null 2>&1
is "... and a flush at once leaves it to its sender" "$(sql "select state from outbox where id = $KROW")" sending
later 700 "$TIKETTI" -c "$WORK/tiketti.conf" flush >/dev/null 2>&1
is "ten minutes on: sent once more" \
    "$(sql "select state||':'||attempts||':'||interrupted from outbox where id = $KROW")" "sent:2:1"
sql "update outbox set state = 'sending', claimed_at = 1 where id = $KROW"
tk flush >/dev/null 2>&1
check "interrupted twice: failed, not sent a third time" \
    sql_has "select state||':'||last_error from outbox where id = $KROW" '^failed:interrupted twice'

# ---- STARTTLS required by default; a password file others can read ----
sink_start
sed 's/^smtp_starttls = no$/smtp_starttls = yes/' "$WORK/tiketti.conf" >"$WORK/tls.conf"
printf 'From: tls@asiakas.example\nTo: tuki@yritys.example\nSubject: x\nMessage-ID: <t1@asiakas.example>\n\nx\n' >"$WORK/t1.eml"
"$TIKETTI" -c "$WORK/tls.conf" ingest "$WORK/t1.eml" >/dev/null 2>&1
check "STARTTLS required: a server without it gets nothing, the row waits" \
    sql_has "select state||':'||last_error from outbox where to_addr = 'tls@asiakas.example'" -i '^queued:.*\(ssl\|tls\)'
printf 'secret\n' >"$WORK/pw"
chmod 644 "$WORK/pw"
sed -i "1i smtp_user = tiketti\\nsmtp_password_file = $WORK/pw" "$WORK/tls.conf"
is "a password file others can read: flush refuses (78)" \
    "$(exitcode "$TIKETTI" -c "$WORK/tls.conf" flush)" 78
check "... and says why" grep -q "mode 644.*chmod 600" "$WORK/err"

# ---- every corpus bounce is automatic and answered by nothing ----
db t >/dev/null
n0=$(nmail)
tk ingest "$SRCDIR"/tests/corpus/bounces/*.eml >/dev/null 2>&1
nb=$(ls "$SRCDIR"/tests/corpus/bounces/*.eml | wc -l | tr -d ' ')
is "corpus bounces: all stored" "$(sql "select count(*) from messages where direction = 'in'")" "$nb"
is "corpus bounces: none classified as a customer's mail" \
    "$(sql "select count(*) from messages where kind in ('customer', 'agent')")" 0
is "corpus bounces: no autoreply queued" "$(sql "select count(*) from outbox")" 0
is "corpus bounces: nothing sent" "$(nmail)" "$n0"

# ---- an import of old mail with --no-rules queues nothing ----
db t >/dev/null
tk ingest --no-rules "$WORK/m1.eml" "$WORK/p.eml" >/dev/null 2>&1
is "ingest --no-rules: the mail is in, nothing queued" \
    "$(sql "select count(*) from messages")/$(sql "select count(*) from outbox")" "2/0"

# ---- two instances autoreplying to each other stop by themselves ----
# A serves a@a.example, B b@b.example; each autoreplies on every new
# ticket and every customer reply. A relay hands each mail to the
# instance it is addressed to; STRIP=1 is a relay that drops the
# Auto-Submitted headers (it happens), leaving the rate limit to stop it.
loop() {
	rm -rf "$WORK/loop"
	mkdir -p "$WORK/loop/rules"
	cat >"$WORK/loop/rules/r.rules" <<'EOF'
rule "ack" { on create on customer reply then autoreply "ack"; }
EOF
	for x in a b; do
		sed -e "s|^database = .*|database = $(db "loop_$x")|" \
		    -e "s|^mailboxes = .*|mailboxes = $x@$x.example|" \
		    -e "s|^rules_dir = .*|rules_dir = $WORK/loop/rules|" \
		    -e "s|^templates_dir = .*|templates_dir = $WORK/tmpl|" \
		    "$WORK/tiketti.conf" >"$WORK/loop/$x.conf"
	done
	rm -rf "$WORK/sink"/*
	printf 'From: b@b.example\nTo: a@a.example\nSubject: hello\nMessage-ID: <start@b.example>\n\nhi\n' >"$WORK/loop/start.eml"
	"$TIKETTI" -c "$WORK/loop/a.conf" ingest "$WORK/loop/start.eml" >/dev/null 2>&1
	seen=0
	rounds=0
	while [ "$rounds" -lt 30 ]; do
		rounds=$((rounds + 1))
		files=$(find "$WORK/sink" -type f -printf '%T@ %p\n' | sort -n |
		    cut -d' ' -f2- | tail -n +$((seen + 1)))
		[ -z "$files" ] && break
		for f in $files; do
			seen=$((seen + 1))
			to=$(mc "$f" 'env_to[0]')
			x=${to%%@*}
			if [ -n "${STRIP:-}" ]; then
				mc "$f" 'raw.decode()' | grep -v -i -e '^auto-submitted:' \
				    -e '^x-auto-response-suppress:' >"$WORK/loop/in.eml"
			else
				mc "$f" 'raw.decode()' >"$WORK/loop/in.eml"
			fi
			"$TIKETTI" -c "$WORK/loop/$x.conf" ingest "$WORK/loop/in.eml" \
			    >/dev/null 2>&1
		done
	done
	LOOP_MAILS=$(nmail)
	LOOP_ROUNDS=$rounds
}
loop
is "loop: Auto-Submitted stops it after one autoreply" "$LOOP_MAILS" 1
STRIP=1 loop
check "loop without Auto-Submitted: stops by itself ($LOOP_MAILS mails, $LOOP_ROUNDS rounds)" \
    test "$LOOP_ROUNDS" -lt 30 -a "$LOOP_MAILS" -le 6
check "loop without Auto-Submitted: the rate limit is what stopped it" \
    test "$(sql_db "$(sed -n 's/^database = //p' "$WORK/loop/a.conf")" "select count(*) from events where new = 'rate-limit'")$(sql_db "$(sed -n 's/^database = //p' "$WORK/loop/b.conf")" "select count(*) from events where new = 'rate-limit'")" != 00

# ---- a survey queued while solved is not sent once the ticket reopened ----
sink_down
rm -rf "$WORK/sink"/*
printf 'From: kalle@asiakas.example\nTo: tuki@yritys.example\nSubject: Laturi\nMessage-ID: <k1@asiakas.example>\n\nLaturi ei lataa.\n' >"$WORK/k1.eml"
tk ingest "$WORK/k1.eml" >/dev/null 2>&1
K=$(sql "select ticket_id from messages where message_id = 'k1@asiakas.example'")
tk ticket set "$K" status solved >/dev/null 2>&1
is "stale survey: queued while solved, the receiver down" \
    "$(sql "select state from outbox where kind = 'csat' and ticket_id = $K")" queued
printf 'From: kalle@asiakas.example\nTo: tuki@yritys.example\nSubject: Re: Laturi\nIn-Reply-To: <k1@asiakas.example>\nMessage-ID: <k2@asiakas.example>\n\nEi se vieläkään lataa.\n' >"$WORK/k2.eml"
tk ingest "$WORK/k2.eml" >/dev/null 2>&1
sink_start
tk flush -f >"$WORK/out" 2>&1
is "... the customer wrote again: flush cancels it, sends the rest" \
    "$(cat "$WORK/out")" "outbox: 1 sent, 0 deferred, 0 failed, 1 cancelled"
is "... outbox list shows it cancelled, and why" \
    "$(sql "select state, last_error from outbox where kind = 'csat' and ticket_id = $K")" \
    "cancelled|not sent: queued while the ticket was solved,closed, it is open now"
is "... only the acknowledgement reached the customer" \
    "$(nmail)/$(mc "$(lastmail)" 'm["Auto-Submitted"]')/$(sql "select count(*) from events where type = 'send_cancelled' and ticket_id = $K")" "1/auto-replied/1"
check "... outbox list --state cancelled lists it" \
    sh -c "'$TIKETTI' -c '$WORK/tiketti.conf' outbox list --state cancelled | grep -q 'csat *cancelled'"

sink_down
done_testing
