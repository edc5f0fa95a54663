#!/bin/sh
# Spam: a rule on X-Spam-Flag sets status spam, which keeps the ticket out
# of the queue, out of reports and unanswered; an agent's #spam marks the
# ticket and blocks its sender, whose later mail is kept as spam with no
# ticket and no autoreply (nothing reaches a real smtp-sink); tiketti
# block list|add|remove; tiketti purge --spam --older-than deletes spam
# past that age and nothing else. tests/pg.sh runs it again on
# PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink faketime python3
trap 'sink_down; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
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

[agent maria]
address = maria@yritys.example
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
rule "spam flag" { on create if header :x-spam-flag :is "YES" then set status spam; }
EOF
printf 'Subject: Received\n\nThank you.\n' >"$WORK/templates/ack.txt"
mail() {	# MESSAGE-ID FROM [EXTRA-HEADER]
	printf 'From: %s\nTo: tuki@yritys.example\nSubject: Hello\nMessage-ID: <%s>\n%s\nHello.\n' \
	    "$2" "$1" "${3:+$3
}" | tk ingest >/dev/null 2>&1
	tk flush >/dev/null 2>&1
}
on() { sql "select coalesce(ticket_id, 0) from messages where message_id = '$1'"; }
sent() { find "$WORK/sink" -type f | wc -l; }
REPORT="report --since 2026-01-01 --until 2027-12-31 --format json"
created() { tk $REPORT | json 'sum(v["created"] for v in d["volume"])'; }

mail s1@asiakas.example anna@asiakas.example
is "an ordinary mail: a ticket, an autoreply" "$(sent)" 1
mail s2@spam.example bot@spam.example "X-Spam-Flag: YES"
T2=$(on s2@spam.example)
is "X-Spam-Flag: YES and a rule: status spam" \
    "$(tk ticket show "$T2" --format json | json 'd["status"]')" spam
is "... no autoreply, even from a rule before it (the sender drops it)" \
    "$(sent)/$(sql "select count(*) from outbox where ticket_id = $T2 and state = 'sent'")" "1/0"
is "... out of the queue" \
    "$(tk queue --format json | json '[t["id"] for t in d]')" "[1]"
is "... and out of the report" "$(created)" 1

# ---- #spam by an agent ----
mail v1@huijari.example "Huijari <villain@huijari.example>"
TV=$(on v1@huijari.example)
is "a mail that only an agent sees through: answered like any" "$(sent)" 2
printf 'Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nReceived: from b by mx.yritys.example; Mon, 02 Nov 2026 11:00:00 +0200\nFrom: Maria <maria@yritys.example>\nTo: tuki@yritys.example\nSubject: Re: [Tuki #%s] Hello\nMessage-ID: <m1@yritys.example>\n\n#spam\n' "$TV" |
    tk ingest >/dev/null 2>&1
is "#spam: the ticket is spam" "$(tk ticket show "$TV" --format json | json 'd["status"]')" spam
is "... its sender on the block list, by her" \
    "$(tk block list | awk '{ print $1, $3 }')" "villain@huijari.example maria@yritys.example"
mail v2@huijari.example "Huijari <Villain@Huijari.example>"
is "the blocked sender's next mail: kept as spam, no ticket" \
    "$(on v2@huijari.example)/$(sql "select kind from messages where message_id = 'v2@huijari.example'")/$(sql "select count(*) from tickets")" "0/spam/3"
is "... nothing sent to the smtp-sink" "$(sent)" 2
is "... the report still counts one ticket" "$(created)" 1

# ---- tiketti block ----
is "block remove: exit 0" "$(exitcode tk block remove villain@huijari.example)" 0
mail v3@huijari.example "Huijari <villain@huijari.example>"
is "... the sender's mail opens a ticket again" \
    "$(test "$(on v3@huijari.example)" -gt 0 && echo ticket)" ticket
is "block add: exit 0, listed" \
    "$(exitcode tk block add bot@spam.example)/$(tk block list | grep -c '^bot@spam.example ')" "0/1"
is "... an agent's address refused" "$(exitcode tk block add maria@yritys.example)" 64
is "block with no address: refused" "$(exitcode tk block add)" 64

# ---- purge ----
mail b1@spam.example bot@spam.example
is "a blocked sender's mail (for the purge)" "$(on b1@spam.example)" 0
is "purge --spam --older-than 30d now: nothing that young goes" \
    "$(tk purge --spam --older-than 30d)/$(sql "select count(*) from tickets where status = 'spam'")" \
    "0 spam tickets purged/2"
is "... 31 days on: the spam tickets and the kept spam gone" \
    "$(faketime -f '+31d' "$TIKETTI" -c "$WORK/tiketti.conf" purge --spam --older-than 30d)/$(sql "select count(*) from tickets where status = 'spam'")/$(sql "select count(*) from messages where kind = 'spam'")" \
    "2 spam tickets purged/0/0"
is "... the other tickets and their mail kept" \
    "$(sql "select count(*) from tickets")/$(on s1@asiakas.example)" "2/1"
done_testing
