#!/bin/sh
# The milter behind a real Postfix on loopback (HARNESS.md): swaks sends
# through Postfix's smtpd with `tiketti milter` as its smtpd_milters to an
# smtp-sink. Shared-address mail arrives with X-Tiketti-* headers and a
# tagged Subject and is in the database; a reply threads; an agent who
# logged in (SASL against Dovecot's auth service) answers the customer and
# is recorded, her command lines run and never reach the customer, while
# the same mail without the login is not hers (agent_unverified); headers
# a sender forged as ours go; a refused tag is replaced in the Subject and
# a thread beats a tag; other mail passes untouched; a 20 MB message
# is ticketed; with the milter stopped, or the database locked, Postfix
# answers 4xx and keeps nothing, and the retried mail is ticketed once;
# mail through Postfix, `ingest --maildir`, `poll` from a real Dovecot and
# `tick` at the same time lose nothing and report no "database is locked".
# Last, a ticket pushed to Maria: her logged-in answer to her signed
# address goes through the milter to the customer (a second smtp-sink
# takes what tiketti sends), a stranger's goes to nobody.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need postfix smtp-sink swaks python3 sqlite3
if [ "$(id -u)" != 0 ]; then
	# Postfix's master must start as root; CI runs as root.
	echo "1..0 # SKIP Postfix needs root"
	exit 0
fi
DIR=$WORK
MPID=
OSINK=
trap 'postfix_down; sink_down; dovecot_down; [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; [ -n "$OSINK" ] && kill "$OSINK" 2>/dev/null; rm -rf "$WORK"' EXIT
# Postfix, smtp-sink and the milter run as other users.
chmod 711 "$WORK"
SPORT=$(freeport)
RPORT=$(freeport)
MPORT=$(freeport)
IPORT=$(freeport)
APORT=$(freeport)
OPORT=$(freeport)	# what tiketti itself sends (the outbox)
mkdir -p "$WORK/rules" "$WORK/state"
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"
chmod 777 "$WORK/state"
cat >"$WORK/tiketti.conf" <<EOF
database = $WORK/state/t.db
mailboxes = tuki@yritys.example, support@yritys.example
ticket_prefix = Tuki
rules_dir = $WORK/rules
milter_socket = inet:$MPORT@127.0.0.1
milter_pid_file = $WORK/state/milter.pid
milter_user = nobody
busy_timeout = 2s
secret = postfix-test-secret-0123456789
smtp_url = smtp://127.0.0.1:$OPORT
smtp_starttls = no

[agent maria]
address = maria@yritys.example
login = maria
EOF
{
	dovecot_account support "$IPORT" "$WORK/pw"
	echo "after = seen"
} >>"$WORK/tiketti.conf"
sql() { sqlite3 "$WORK/state/t.db" "$1"; }

milter_up() {
	"$TIKETTI" -c "$WORK/tiketti.conf" milter -d >>"$WORK/milter.log" 2>&1 &
	MPID=$!
	waitport "$MPORT" || echo "# the milter did not start"
}

milter_down() {
	kill "$MPID" 2>/dev/null
	wait "$MPID" 2>/dev/null
	MPID=
}

# send ARGS...: swaks through Postfix; its transcript is in $WORK/swaks.
send() {
	swaks --server "127.0.0.1:$SPORT" --helo client.example "$@" \
	    >"$WORK/swaks" 2>&1
}

# got N: the Nth mail the sink captured (in arrival order).
got() {
	ls -tr "$WORK/sink"/* 2>/dev/null | sed -n "${1}p"
}
# hdr FILE NAME: a header's value in a captured mail.
hdr() {
	python3 -c 'import sys, email; m = email.message_from_binary_file(open(sys.argv[1], "rb")); print(m.get(sys.argv[2], "(none)"))' "$1" "$2"
}

sink_up "$RPORT" "$WORK/sink"
milter_up
# Dovecot serves the poll below and, to Postfix, SASL for the agents.
DOVECOT_USERS="maria maria-pw"
dovecot_sasl "$APORT"
check "dovecot starts (IMAP, and SASL for Postfix)" dovecot_up "$IPORT"
if ! postfix_up "$SPORT" "$RPORT" "inet:127.0.0.1:$MPORT"; then
	not_ok "Postfix started"
	cat "$WORK/pf/start.log" "$WORK/pf/maillog" 2>/dev/null | sed 's/^/# /'
	done_testing
	exit 1
fi
ok "Postfix started with the milter"

# ---- a customer's mail to the shared address ----
send --from anna@asiakas.example --to tuki@yritys.example \
    --header "Subject: Tilaus ei saapunut" \
    --header "Message-Id: <a1@asiakas.example>" \
    --body "Hei, tilaukseni 1234 ei ole tullut."
check "Postfix accepted the customer's mail" grep -q "^<-  250 2.0.0 Ok: queued" "$WORK/swaks"
waitfiles "$WORK/sink" 1
m=$(got 1)
is "it reached the sink with X-Tiketti-Ticket" "$(hdr "$m" X-Tiketti-Ticket)" 1
is "... and X-Tiketti-Status" "$(hdr "$m" X-Tiketti-Status)" new
is "... and the tag in its Subject" "$(hdr "$m" Subject)" "Tilaus ei saapunut [Tuki #1]"
is "the ticket is in the database" \
    "$(sql "select id, requester, status from tickets")" "1|anna@asiakas.example|new"
check "the milter logged Postfix's queue id" \
    grep -Eq "^tiketti: [0-9A-F]+: ticket 1 new" "$WORK/milter.log"

# ---- the customer's reply threads ----
send --from anna@asiakas.example --to tuki@yritys.example \
    --header "Subject: Re: Tilaus ei saapunut" \
    --header "Message-Id: <a2@asiakas.example>" \
    --header "In-Reply-To: <a1@asiakas.example>" \
    --body "Vieläkään ei kuulu."
waitfiles "$WORK/sink" 2
m=$(got 2)
is "a reply is put on the same ticket" "$(hdr "$m" X-Tiketti-Ticket)" 1
is "... its Subject tagged once" "$(hdr "$m" Subject)" "Re: Tilaus ei saapunut [Tuki #1]"
is "one ticket, two messages" \
    "$(sql "select count(*) from tickets")/$(sql "select count(*) from messages where ticket_id = 1")" "1/2"

# ---- an agent answers the customer from their own mail client ----
send --auth PLAIN --auth-user maria --auth-password maria-pw \
    --from maria@yritys.example --to anna@asiakas.example \
    --header "Subject: Re: Tilaus ei saapunut [Tuki #1]" \
    --header "Message-Id: <m1@yritys.example>" \
    --body "Paketti lähti tänään."
check "Postfix took Maria's login (SASL through Dovecot)" grep -q "^<- *235 " "$WORK/swaks"
waitfiles "$WORK/sink" 3
is "the agent's answer is recorded on the ticket as outgoing" \
    "$(sql "select direction, kind from messages where message_id = 'm1@yritys.example'")" "out|agent"
is "... its Subject left alone" "$(hdr "$(got 3)" Subject)" "Re: Tilaus ei saapunut [Tuki #1]"
is "... as the agent's reply (the first response)" \
    "$(sql "select e.actor from events e join messages m on m.id = e.message where e.ticket_id = 1 and e.type = 'message' and m.direction = 'out'")" maria@yritys.example
is "... and the customer gets no X-Tiketti-* header" "$(hdr "$(got 3)" X-Tiketti-Ticket)" "(none)"

# ---- her commands run and never reach the customer: a text part in
# quoted-printable and an HTML one in base64, Cc the shared mailbox ----
python3 - "$WORK/cmd.eml" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Maria <maria@yritys.example>"
m["To"] = "anna@asiakas.example"
m["Cc"] = "tuki@yritys.example"
m["Subject"] = "Re: Tilaus ei saapunut [Tuki #1]"
m["Message-ID"] = "<m2@yritys.example>"
text = "#note asiakas on töykeä\r\n#solve\r\n\r\nHei Anna, paketti lähti tänään. Terveisin Maria\r\n"
m.set_content(text.replace("\r\n", "\n"), cte="quoted-printable")
m.add_alternative("<html><body><div>#note asiakas on t&ouml;yke&auml;</div>"
                  "<div>#solve</div><div><br></div><div>Hei Anna, paketti "
                  "l&auml;hti t&auml;n&auml;&auml;n. Terveisin Maria</div>"
                  "</body></html>\n", subtype="html", cte="base64")
open(sys.argv[1], "wb").write(bytes(m))
PY
send --auth PLAIN --auth-user maria --auth-password maria-pw \
    --from maria@yritys.example --to anna@asiakas.example,tuki@yritys.example \
    --data "$WORK/cmd.eml"
waitfiles "$WORK/sink" 4
# parts FILE: each text part decoded, "TYPE CTE: text" a line, with the
# MIME defects Python's parser found.
parts() {
	python3 - "$1" <<'PY'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for p in m.walk():
    if p.get_content_maintype() == "text":
        t = " ".join(p.get_content().split())
        print("%s %s: %s" % (p.get_content_type(), p["Content-Transfer-Encoding"], t))
    for d in p.defects:
        print("defect:", type(d).__name__)
PY
}
# textpart FILE TYPE: the first part of that type, decoded.
textpart() {
	python3 - "$1" "$2" <<'PY'
import sys, email
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
p = [p for p in m.walk() if p.get_content_type() == sys.argv[2]][0]
sys.stdout.write(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))
PY
}
parts "$(got 4)" >"$WORK/parts"
is "her #solve ran: the ticket is solved" "$(sql "select status from tickets where id = 1")" solved
is "... her #note is on the ticket" \
    "$(sql "select new from events where ticket_id = 1 and type = 'note'")" "asiakas on töykeä"
is "the customer's copy: both parts without the command lines, encodings and markup kept" \
    "$(cat "$WORK/parts")" "text/plain quoted-printable: Hei Anna, paketti lähti tänään. Terveisin Maria
text/html base64: <html><body><div></div><div></div><div><br></div><div>Hei Anna, paketti l&auml;hti t&auml;n&auml;&auml;n. Terveisin Maria</div></body></html>"
is "... and no X-Tiketti-* header (a customer is among the recipients)" \
    "$(grep -c '^X-Tiketti-' "$(got 4)")" 0
check "the milter said it took the command lines out" \
    grep -q "command lines taken out of the body" "$WORK/milter.log"

# ---- the same mail without the login is not hers ----
sed 's/<m2@yritys.example>/<m3@yritys.example>/' "$WORK/cmd.eml" >"$WORK/forged.eml"
sql "update tickets set status = 'open' where id = 1"
send --from maria@yritys.example --to anna@asiakas.example,tuki@yritys.example \
    --data "$WORK/forged.eml"
waitfiles "$WORK/sink" 5
fid=$(sql "select ticket_id from messages where message_id = 'm3@yritys.example'")
is "without SASL: stored as its sender's mail, on a ticket of its own" \
    "$(sql "select kind, ticket_id != 1 from messages where message_id = 'm3@yritys.example'")" "customer|1"
is "... no command ran on ticket 1" "$(sql "select status from tickets where id = 1")/$(sql "select count(*) from events where type = 'note'")" "open/1"
is "... an agent_unverified event says why" \
    "$(sql "select actor, old, new from events where type = 'agent_unverified' and ticket_id = '$fid'")" \
    "maria@yritys.example|maria|no SASL login, and client 127.0.0.1 is not in trusted_relays"
check "... and the milter logged it" grep -q "agent_unverified: .*no SASL login" "$WORK/milter.log"
is "... its body was left as it was written" \
    "$(textpart "$(got 5)" text/plain | head -2)" "#note asiakas on töykeä
#solve"

# ---- X-Tiketti-* headers a sender wrote are not ours ----
send --from anna@asiakas.example --to tuki@yritys.example \
    --header "Subject: Re: Tilaus ei saapunut [Tuki #1]" \
    --header "Message-Id: <a3@asiakas.example>" \
    --header "X-Tiketti-Ticket: 99" --header "X-Tiketti-Status: solved" \
    --header "X-Tiketti-Priority: urgent" --body "Kiitos."
waitfiles "$WORK/sink" 6
is "forged X-Tiketti-* headers are removed, ours added" \
    "$(grep '^X-Tiketti-' "$(got 6)" | tr '\n' ' ')" "X-Tiketti-Ticket: 1 X-Tiketti-Status: open "

# ---- a refused tag is replaced; a thread beats a tag ----
send --from mallory@muu.example --to tuki@yritys.example \
    --header "Subject: Question [Tuki #1]" \
    --header "Message-Id: <x1@muu.example>" --body "What about ticket 1?"
waitfiles "$WORK/sink" 7
mt=$(hdr "$(got 7)" X-Tiketti-Ticket)
is "a stranger's tag is refused: a ticket of his own, his Subject re-tagged" \
    "$(hdr "$(got 7)" Subject)" "Question [Tuki #$mt]"
send --auth PLAIN --auth-user maria --auth-password maria-pw \
    --from maria@yritys.example --to mallory@muu.example \
    --header "Subject: Re: Question [Tuki #1] [Tuki #$mt]" \
    --header "Message-Id: <m4@yritys.example>" \
    --header "In-Reply-To: <x1@muu.example>" --body "Which order?"
waitfiles "$WORK/sink" 8
is "Maria's answer to him goes on his ticket, by its thread" \
    "$(sql "select ticket_id from messages where message_id = 'm4@yritys.example'")" "$mt"
send --from mallory@muu.example --to tuki@yritys.example \
    --header "Subject: Re: [Tuki #1] correction" \
    --header "Message-Id: <x2@muu.example>" --body "I meant ticket 1."
waitfiles "$WORK/sink" 9
is "... and his next mail with ticket 1's tag does not land on ticket 1" \
    "$(sql "select ticket_id != 1 from messages where message_id = 'x2@muu.example'")" 1
is "ticket 1 has no mail of his" \
    "$(sql "select count(*) from messages where ticket_id = 1 and from_addr like 'mallory%'")" 0

# ---- other mail passes untouched ----
send --from x@muu.example --to someone@muu.example \
    --header "Subject: Lounas" --header "Message-Id: <o1@muu.example>" \
    --body "Lounaalle?"
waitfiles "$WORK/sink" 10
m=$(got 10)
is "mail to another address carries no X-Tiketti header" \
    "$(hdr "$m" X-Tiketti-Ticket)/$(hdr "$m" Subject)" "(none)/Lounas"
is "... and is not stored" \
    "$(sql "select count(*) from messages where message_id = 'o1@muu.example'")" 0

# ---- a 20 MB message (spooled to a file by the milter) ----
python3 - "$WORK/big.eml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("From: iso@asiakas.example\nTo: tuki@yritys.example\n"
            "Subject: Liite\nMessage-ID: <big1@asiakas.example>\n\n")
    line = "x" * 76 + "\n"
    for _ in range(20 * 1024 * 1024 // 77):
        f.write(line)
PY
send --from iso@asiakas.example --to tuki@yritys.example --data "$WORK/big.eml"
waitfiles "$WORK/sink" 11 60
is "a 20 MB message is ticketed and delivered" \
    "$(hdr "$(got 11)" X-Tiketti-Ticket)/$(sql "select length(raw) > 20000000 from raw_messages r join messages m on m.id = r.message where m.message_id = 'big1@asiakas.example'")" "5/1"

# ---- the milter stopped: Postfix tempfails, the retry is ticketed once ----
milter_down
send --from b@asiakas.example --to tuki@yritys.example \
    --header "Subject: Laskutus" --header "Message-Id: <b1@asiakas.example>" \
    --body "Lasku on väärin."
check "with the milter stopped Postfix answers 4xx" grep -q "^<\*\* *451 4.7.1" "$WORK/swaks"
sleep 1
is "... and neither delivers nor stores it" \
    "$(find "$WORK/sink" -type f | wc -l)/$(sql "select count(*) from messages where message_id = 'b1@asiakas.example'")" "11/0"
milter_up
for i in 1 2; do	# the client retries; later Postfix hands it over again
	send --from b@asiakas.example --to tuki@yritys.example \
	    --header "Subject: Laskutus" --header "Message-Id: <b1@asiakas.example>" \
	    --body "Lasku on väärin."
done
waitfiles "$WORK/sink" 13
is "after a restart the retried mail is ticketed once" \
    "$(sql "select count(*) from messages where message_id = 'b1@asiakas.example'")/$(sql "select count(*) from tickets")" "1/6"
is "... and both deliveries name the same ticket" \
    "$(hdr "$(got 12)" X-Tiketti-Ticket)/$(hdr "$(got 13)" X-Tiketti-Ticket)" "6/6"

# ---- the database locked past busy_timeout: tempfail, nothing lost ----
python3 - "$WORK/state/t.db" "$SPORT" >"$WORK/lock.out" 2>&1 <<'PY'
import sqlite3, smtplib, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
msg = ("From: c@asiakas.example\r\nTo: tuki@yritys.example\r\n"
       "Subject: Lukossa\r\nMessage-ID: <c1@asiakas.example>\r\n\r\nx\r\n")
try:
    with smtplib.SMTP("127.0.0.1", int(sys.argv[2]), timeout=60) as s:
        s.sendmail("c@asiakas.example", ["tuki@yritys.example"], msg)
    print("accepted")
except smtplib.SMTPDataError as e:
    print(e.smtp_code)
db.execute("ROLLBACK")
PY
is "a locked database: Postfix answers 451 from the milter's tempfail" "$(tail -1 "$WORK/lock.out")" 451
check "... the milter says why" grep -q "tempfail: .*locked" "$WORK/milter.log"
send --from c@asiakas.example --to tuki@yritys.example \
    --header "Subject: Lukossa" --header "Message-Id: <c1@asiakas.example>" --body x
waitfiles "$WORK/sink" 14
is "... and once it is free the retried mail is ticketed once" \
    "$(sql "select count(*) from messages where message_id = 'c1@asiakas.example'")/$(hdr "$(got 14)" X-Tiketti-Ticket)" "1/7"
is "Postfix delivered nothing twice and lost nothing" \
    "$(find "$WORK/sink" -type f | wc -l)" 14

# ---- the milter, ingest --maildir, poll and tick on one database at once ----
dovecot_drop 1 200
mkdir -p "$WORK/md/cur" "$WORK/md/new" "$WORK/md/tmp"
for i in $(seq 200); do
	printf 'From: m%d@asiakas.example\nTo: tuki@yritys.example\nSubject: Maildir %d\nMessage-ID: <md%d@asiakas.example>\n\nviesti %d\n' \
	    "$i" "$i" "$i" "$i" >"$WORK/md/new/$i.eml"
done
cat >"$WORK/rules/10.rules" <<'EOF'
rule "stale" { on after 1m since created in new then tag "seen"; }
EOF
kill -HUP "$MPID"
sleep 0.5
: >"$WORK/milter.log"
smtp-source -c -s 4 -m 200 -f load@asiakas.example -t tuki@yritys.example \
    -S "Load" "127.0.0.1:$SPORT" >"$WORK/source.out" 2>&1 &
SRC=$!
tk ingest --maildir "$WORK/md" >"$WORK/ingest.out" 2>&1 &
ING=$!
tk poll >"$WORK/poll.out" 2>&1 &
POLL=$!
: >"$WORK/tick.out"
for _ in 1 2 3 4 5 6 7 8; do
	tk tick >>"$WORK/tick.out" 2>&1 ||
	    echo "tick failed" >>"$WORK/tick.out"
done
wait "$ING"
ist=$?
wait "$POLL"
pst=$?
wait "$SRC"
waitfiles "$WORK/sink" 214 60
is "all 200 maildir messages and 200 SMTP messages are in" \
    "$ist/$(sql "select count(*) from messages where subject like 'Maildir %'")/$(sql "select count(*) from messages where subject = 'Load'")/$(find "$WORK/sink" -type f | wc -l)" "0/200/200/214"
is "all 200 IMAP messages are in, once each" \
    "$pst/$(sql "select count(*), count(distinct message_id) from messages where subject like 'Question number %'")" "0/200|200"
is "... every message for the shared address was ticketed on its way" \
    "$(grep -l "^X-Tiketti-Ticket: " "$WORK"/sink/* | wc -l)" 210
check "nobody reported \"database is locked\" or failed" \
    sh -c "! grep -i 'locked\|tempfail\|failed' '$WORK/milter.log' '$WORK/ingest.out' '$WORK/poll.out' '$WORK/tick.out'"
for _ in 1 2; do	# a minute later every ticket is due
	later 120 "$TIKETTI" -c "$WORK/tiketti.conf" tick >>"$WORK/tick.out" 2>&1
done
is "tick fired its rule exactly once on every new ticket" \
    "$(sql "select count(*) from events where type = 'tag' and new = 'seen'")" \
    "$(sql "select count(*) from tickets where status = 'new'")"

# ---- the ticket pushed to Maria; her logged-in answer goes through us ----
SINK_MAIN=$SINK
sink_up "$OPORT" "$WORK/out"
OSINK=$SINK
SINK=$SINK_MAIN
outmail() { ls -tr "$WORK/out"/* 2>/dev/null | sed -n "${1}p"; }
tk ticket set 1 assignee maria
waitfiles "$WORK/out" 1
is "ticket set 1 assignee maria: her assignment mail goes out" \
    "$(hdr "$(outmail 1)" To)" "maria <maria@yritys.example>"
RT=$(python3 -c 'import sys, email.utils; print(email.utils.parseaddr(sys.argv[1])[1])' "$(hdr "$(outmail 1)" Reply-To)")
send --auth PLAIN --auth-user maria --auth-password maria-pw \
    --from maria@yritys.example --to "$RT" \
    --header "Subject: Re: [Tuki #1] is yours" \
    --header "Message-Id: <m9@yritys.example>" \
    --body "#open

Hei Anna, hyvitys on maksettu tilillesi."
check "Postfix took her answer to her signed address ($RT)" grep -q "^<-  250 2.0.0 Ok: queued" "$WORK/swaks"
waitfiles "$WORK/out" 2 30
m=$(outmail 2)
is "the milter passed it on to the customer, from the shared address" \
    "$(hdr "$m" To)|$(hdr "$m" From)|$(hdr "$m" Subject)" \
    "anna@asiakas.example|tuki@yritys.example|Re: Tilaus ei saapunut [Tuki #1]"
check "... her text, without her command line" sh -c "grep -q 'hyvitys on maksettu' '$m' && ! grep -q '#open' '$m'"
is "... her command ran" "$(sql "select status from tickets where id = 1")" open
send --from mallory@muu.example --to "$RT" \
    --header "Subject: Re: [Tuki #1]" --header "Message-Id: <x9@muu.example>" \
    --body "Maksa minulle."
waitfiles "$WORK/sink" 216 30
sleep 1
is "a stranger's mail to her address (no SASL) goes to nobody" \
    "$(find "$WORK/out" -type f | wc -l)/$(sql "select count(*) from events where ticket_id = 1 and type = 'relay_refused'")" "2/1"
kill "$OSINK" 2>/dev/null
done_testing
