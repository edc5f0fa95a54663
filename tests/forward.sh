#!/bin/sh
# Forward-in: an authenticated agent forwards a customer's mail to the
# shared address with #fwd (or the forward_subject marker): the ticket is
# the original sender's, dated by the original, and the autoreply goes to
# her at a real smtp-sink, not to the agent - from Outlook in Finnish
# (inline), Gmail (inline) and an attached message/rfc822. A stranger's
# #fwd is an ordinary message; an agent's #fwd with nothing in it is a
# command error. tests/pg.sh runs it again on PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink python3
trap 'sink_down; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
export TZ=Europe/Helsinki
DB=$(db t)
sql() { sql_db "$DB" "$1"; }
SPORT=$(freeport)
sink_up "$SPORT" "$WORK/sink"
mkdir -p "$WORK/rules" "$WORK/templates"
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = rules
templates_dir = templates
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
trusted_authserv_id = mx.yritys.example
forward_subject = [sisään]

[agent maria]
address = maria@yritys.example
EOF
printf 'rule "ack" { on create then autoreply "ack"; }\n' >"$WORK/rules/10.rules"
printf 'Subject: Received\n\nThank you.\n' >"$WORK/templates/ack.txt"
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }
# to ADDRESS: how many mails the sink got for it.
to() {
	n=0
	for f in $(find "$WORK/sink" -type f); do
		[ "$(mc "$f" 'env_to[0]')" = "$1" ] && n=$((n + 1))
	done
	echo "$n"
}
AUTH='Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example
Received: from b by mx.yritys.example; Thu, 03 Dec 2026 10:00:00 +0200'
last() { sql "select max(id) from tickets"; }
show() { tk ticket show "$(last)" --format json | json "$1"; }

# ---- Outlook in Finnish, inline ----
cat >"$WORK/f1.eml" <<EOF
$AUTH
From: Maria <maria@yritys.example>
To: tuki@yritys.example
Subject: VL: Laskuvirhe
Message-ID: <f1@yritys.example>
Date: Thu, 03 Dec 2026 10:00:00 +0200
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

#fwd
Tämä tuli minulle suoraan.

________________________________
Lähettäjä: Virtanen, Anna <anna.virtanen@asiakas.example>
Lähetetty: tiistai 1. joulukuuta 2026 9.05
Vastaanottaja: Maria <maria@yritys.example>
Aihe: Laskuvirhe

Hei, laskussa on virhe.
EOF
is "an agent's #fwd of an Outlook (Finnish) forward: exit 0" \
    "$(exitcode tk ingest "$WORK/f1.eml")" 0
tk flush >/dev/null 2>&1
is "... the ticket is the original sender's, with her name" \
    "$(show 'd["requester"] + "/" + d["messages"][0]["from"]')" \
    "anna.virtanen@asiakas.example/anna.virtanen@asiakas.example"
is "... its subject and text the original's" \
    "$(show 'd["subject"] + "/" + d["messages"][0]["text"]')" \
    "Laskuvirhe/Hei, laskussa on virhe."
is "... dated by the original" "$(show 'd["created"]')" "2026-12-01T07:05:00Z"
is "... the autoreply to her, none to the agent" \
    "$(to anna.virtanen@asiakas.example)/$(to maria@yritys.example)" "1/0"
is "... a forwarded_in event naming the agent" \
    "$(sql "select actor from events where ticket_id = $(last) and type = 'forwarded_in'")" \
    "maria@yritys.example"
is "the same forward again: nothing new" \
    "$(tk ingest "$WORK/f1.eml" >/dev/null 2>&1; last)/$(sql "select count(*) from tickets")" "1/1"

# ---- Gmail, inline, by the subject marker ----
printf '%s\nFrom: Maria <maria@yritys.example>\nTo: tuki@yritys.example\nSubject: Fwd: Order [sisään]\nMessage-ID: <f2@yritys.example>\n\n---------- Forwarded message ---------\nFrom: Olli <olli@asiakas.example>\nDate: Tue, Dec 1, 2026 at 11:30 AM\nSubject: Order 4711\nTo: <maria@yritys.example>\n\nWhere is my order?\n' "$AUTH" |
    tk ingest >/dev/null 2>&1
tk flush >/dev/null 2>&1
is "a Gmail forward with forward_subject in the Subject: Olli's ticket" \
    "$(show 'd["requester"] + "/" + d["subject"] + "/" + d["created"]')" \
    "olli@asiakas.example/Order 4711/2026-12-01T09:30:00Z"
is "... his autoreply" "$(to olli@asiakas.example)" 1

# ---- an attached message/rfc822 ----
cat >"$WORK/f3.eml" <<EOF
$AUTH
From: Maria <maria@yritys.example>
To: tuki@yritys.example
Subject: FW: Delivery
Message-ID: <f3@yritys.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

#fwd

--b
Content-Type: message/rfc822

From: Liisa <liisa@asiakas.example>
To: maria@yritys.example
Subject: Delivery
Date: Mon, 30 Nov 2026 14:00:00 +0200
Message-ID: <orig-l1@asiakas.example>

The parcel never came.
--b--
EOF
tk ingest "$WORK/f3.eml" >/dev/null 2>&1
tk flush >/dev/null 2>&1
is "an attached message: Liisa's ticket, her Message-ID, her date" \
    "$(show 'd["requester"] + "/" + d["messages"][0]["message_id"] + "/" + d["created"]')" \
    "liisa@asiakas.example/orig-l1@asiakas.example/2026-11-30T12:00:00Z"
is "... her autoreply" "$(to liisa@asiakas.example)" 1
printf 'From: Liisa <liisa@asiakas.example>\nTo: tuki@yritys.example\nSubject: Re: Delivery\nMessage-ID: <l2@asiakas.example>\nIn-Reply-To: <orig-l1@asiakas.example>\n\nStill nothing.\n' |
    tk ingest >/dev/null 2>&1
is "... her reply to the original threads to it" \
    "$(sql "select ticket_id from messages where message_id = 'l2@asiakas.example'")" "$(last)"

# ---- a stranger's #fwd, an agent's with nothing in it ----
sed 's/^Authentication-Results:.*$/X-Nothing: here/; s/^From: Maria <maria@yritys.example>$/From: Mallory <mallory@huijari.example>/; s/<f1@yritys.example>/<f9@huijari.example>/' "$WORK/f1.eml" |
    tk ingest >/dev/null 2>&1
is "a stranger's #fwd: an ordinary message, the ticket is hers" \
    "$(show 'd["requester"]')" "mallory@huijari.example"
printf '%s\nFrom: Maria <maria@yritys.example>\nTo: anna.virtanen@asiakas.example\nCc: tuki@yritys.example\nSubject: Re: [Tuki #1] Laskuvirhe\nMessage-ID: <f4@yritys.example>\n\n#fwd\nHups.\n' "$AUTH" |
    tk ingest >/dev/null 2>&1
is "an agent's #fwd with nothing forwarded: a command error on her ticket" \
    "$(sql "select count(*) from events where ticket_id = 1 and type = 'command_error' and new = 'fwd'")" 1
done_testing
