#!/bin/sh
# Ticket fields, web forms, extraction and lookups, against a real
# smtp-sink and a CRM stand-in (tests/sink/crm.py, Python's http.server)
# on free loopback ports: typed fields set by hand, by rules and by an
# agent's #field, tested by rules, in templates and reports; a form
# robot's mail becoming the person's ticket, who gets the autoreply (the
# robot never); fields from "Key: value" lines, an HTML table and a
# regex; a lookup filling a field a later rule routes on, its cache, a
# server that sleeps 5 s costing only the timeout, a 10 MB answer
# refused, the bearer token from a 0600 file only. tests/pg.sh runs it
# again on PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink python3
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

DB=$(db t)
sql() { sql_db "$DB" "$1"; }
SPORT=$(freeport)
chmod 711 "$WORK"
sink_up "$SPORT" "$WORK/sink"
PIDS="$PIDS $SINK"
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }
# sent TO: the captured mails to TO, a path a line.
sent() {
	for f in $(find "$WORK/sink" -type f -printf '%T@ %p\n' | sort -n |
	    cut -d' ' -f2-); do
		[ "$(mc "$f" 'env_to[0]')" = "$1" ] && echo "$f"
	done
}
count() { sent "$1" | grep -c . ; }
CPORT=$(freeport)
mkdir -p "$WORK/crm"
cat >"$WORK/crm/customers.json" <<'EOF'
{"anna@asiakas.example": {"tier": "gold", "id": 42, "name": "Anna"},
 "olli@asiakas.example": {"tier": "basic", "id": 7}}
EOF
: >"$WORK/crm/requests"
python3 "$SRCDIR/tests/sink/crm.py" "$CPORT" "$WORK/crm" >"$WORK/crm.log" 2>&1 &
PIDS="$PIDS $!"
waitport "$CPORT" || echo "# crm.py did not start"
requests() { grep -c "$1" "$WORK/crm/requests"; }

mkdir -p "$WORK/rules" "$WORK/templates"
(umask 077 && echo "crm-token-0123" >"$WORK/crm.token")
(umask 022 && echo "crm-token-0123" >"$WORK/open.token")
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
smtp_timeout = 10s
rules_dir = rules
templates_dir = templates
trusted_authserv_id = mx.yritys.example
form_senders = wordpress@kauppa.example, *@lomakkeet.example

[agent maria]
address = maria@yritys.example
skills = vip

[agent antti]
address = antti@yritys.example
skills = basic

[field order]
type = number

[field topic]
type = enum
values = Billing, Delivery, Returns

[field due]
type = date

[field tier]
type = enum
values = gold, basic

[field crm_id]
type = number

[field note]
type = text

[lookup crm]
url = http://127.0.0.1:$CPORT/customers?email={{customer.address}}
token_file = $WORK/crm.token
timeout = 2s
cache = 1h
field.tier = customer.tier
field.crm_id = customer.id

[lookup slow]
url = http://127.0.0.1:$CPORT/slow
timeout = 1s

[lookup big]
url = http://127.0.0.1:$CPORT/big

[lookup leaky]
url = http://127.0.0.1:$CPORT/customers?email={{customer.address}}
token_file = $WORK/open.token
EOF
cat >"$WORK/templates/ack.txt" <<'EOF'
Subject: Received: {{ticket.subject}}

Thank you, {{customer.name}}. Order {{ticket.fields.order}} ({{ticket.fields.topic}}).
EOF

# ---- fields by hand ----
printf 'From: Ville <ville@asiakas.example>\nTo: tuki@yritys.example\nSubject: Lasku\nMessage-ID: <f1@asiakas.example>\n\nHei.\n' |
    tk ingest >/dev/null 2>&1
check "ticket set ID field: a number" tk ticket set 1 field order 4711
check "... an enum, in any case" tk ticket set 1 field topic billing
check "... a date" tk ticket set 1 field due 2026-12-24
is "a date that does not exist: refused (64)" \
    "$(exitcode tk ticket set 1 field due 2026-02-30)" 64
is "... an enum's unknown value" \
    "$(exitcode tk ticket set 1 field topic Weather)" 64
is "... not a number" "$(exitcode tk ticket set 1 field order 47a)" 64
is "... an undeclared field" "$(exitcode tk ticket set 1 field colour red)" 64
is "show --format json: fields by name, a number as a number" \
    "$(tk ticket show 1 --format json | json "d['fields']")" \
    '{"due": "2026-12-24", "order": 4711, "topic": "Billing"}'
is "... and in text" "$(tk ticket show 1 | grep -A2 '^Fields:')" \
"Fields:    due = 2026-12-24
           order = 4711
           topic = Billing"
is "each change is an event" \
    "$(sql "select count(*) from events where ticket_id = 1 and type = 'field'")" 3

# ---- rules, templates, agents ----
cat >"$WORK/rules/10-fields.rules" <<'EOF'
rule "returns" { on create if header :subject :contains "palautus"
    then { set field "topic" "returns"; extract field "order" from "Tilausnumero"; } }
rule "form" { on create then {
    extract field "order" from "Tilausnumero";
    extract field "due" regex "toimitus[^0-9]*([0-9]{4}-[0-9]{2}-[0-9]{2})";
    extract field "note" regex "Viesti: (.*)"; } }
rule "orders-47" { on create if field "order" :matches "47*" then tag "order-47"; }
rule "ack" { on create if field "topic" :is "returns" then autoreply "ack"; }
EOF
cat >"$WORK/p1.eml" <<'EOF'
From: Pia <pia@asiakas.example>
To: tuki@yritys.example
Subject: Palautus
Message-ID: <p1@asiakas.example>

Hei, palautan kengät.

Tilausnumero: 4799
Toimituspäivä: 2026-11-30
EOF
check "rules set and extract fields" tk ingest "$WORK/p1.eml"
is "... set field, extract from a label, extract by regex" \
    "$(tk ticket show 2 --format json | json "d['fields']")" \
    '{"due": "2026-11-30", "order": 4799, "topic": "Returns"}'
is "... a later rule tests the field" \
    "$(sql "select tag from tags where ticket_id = 2")" order-47
is "... the template shows it (the autoreply at smtp-sink)" \
    "$(mc "$(sent pia@asiakas.example | head -1)" 'part("text/plain")' | grep '^Thank')" \
    "Thank you, Pia. Order 4799 (Returns)."
cat >"$WORK/h1.eml" <<'EOF'
From: Web <web@asiakas.example>
To: tuki@yritys.example
Subject: Yhteydenotto
Message-ID: <h1@asiakas.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><table>
<tr><th>Nimi</th><td>Web</td></tr>
<tr><th>Tilausnumero</th><td> 4812 </td></tr>
<tr><th>Viesti</th><td>Missä paketti?</td></tr>
</table></body></html>
EOF
tk ingest "$WORK/h1.eml" >/dev/null 2>&1
is "fields from an HTML table's rows" \
    "$(tk ticket show 3 --format json | json "[d['fields'].get(k) for k in ('order', 'note')]")" \
    '[4812, null]'
printf 'Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nReceived: from b by mx.yritys.example; Mon, 02 Nov 2026 11:00:00 +0200\nFrom: Maria <maria@yritys.example>\nTo: ville@asiakas.example\nCc: tuki@yritys.example\nSubject: Re: [Tuki #1] Lasku\nMessage-ID: <m1@yritys.example>\nIn-Reply-To: <f1@asiakas.example>\n\n#field topic delivery\n#field order 9x\nSelvä.\n' |
    tk ingest >/dev/null 2>&1
is "an agent's #field sets it; a bad value is a command_error" \
    "$(tk ticket show 1 --format json | json "d['fields']['topic']") $(sql "select count(*) from events where ticket_id = 1 and type = 'command_error'")" \
    "Delivery 1"
is "report --by field:topic: per value created, solved, open" \
    "$(tk report --since 2026-01-01 --until 2027-12-31 --by field:topic --format json | json "[(v['value'], v['created']) for v in d['by_field']['values']]")" \
    '[[null, 1], ["Delivery", 1], ["Returns", 1]]'
is "... an undeclared field: a usage error" \
    "$(exitcode tk report --by field:colour)" 64
printf 'rule "x" { on create if field "colour" :is "red" then set field "size" "1"; }\n' >"$WORK/bad.rules"
is "rules check: undeclared fields named at file:line:col" \
    "$(tk rules check "$WORK/bad.rules" | sed "s|$WORK/||")" \
    'bad.rules:1:31: unknown field "colour" (no [field colour] in '"$WORK"'/tiketti.conf)'

# ---- web forms ----
form() {
	printf 'Return-Path: <%s>\nFrom: WordPress <%s>\n%sTo: tuki@yritys.example\nSubject: Lomake %s\nMessage-ID: <%s@kauppa.example>\n\nNimi: Olli\nTilausnumero: 4900\n' \
	    "$1" "$1" "$2" "$3" "$3" | tk ingest --sender "$1" >/dev/null 2>&1
	sql "select requester from tickets where id = (select max(id) from tickets)"
}
cat >"$WORK/rules/20-ack-all.rules" <<'EOF'
rule "ack-forms" { on create if header :subject :contains "Lomake" then autoreply "ack"; }
EOF
is "a form robot's mail is the ticket of the person in its Reply-To" \
    "$(form wordpress@kauppa.example 'Reply-To: Olli <Olli@Asiakas.example>
' fr1)" olli@asiakas.example
is "... who gets the autoreply" "$(count olli@asiakas.example)" 1
is "... and the robot never does" "$(count wordpress@kauppa.example)" 0
is "... a form event names the robot" \
    "$(sql "select old || ' -> ' || new from events where type = 'form'")" \
    "wordpress@kauppa.example -> olli@asiakas.example"
is "... a robot matched by a pattern (*@lomakkeet.example)" \
    "$(form noreply@lomakkeet.example 'Reply-To: pekka@asiakas.example
' fr2)" pekka@asiakas.example
is "... whose autoreply goes to the person, though the robot is a noreply" \
    "$(count pekka@asiakas.example) $(count noreply@lomakkeet.example)" "1 0"
is "a form without a Reply-To stays the robot's, and gets no autoreply" \
    "$(form wordpress@kauppa.example '' fr3) $(count wordpress@kauppa.example)" \
    "wordpress@kauppa.example 0"
printf 'From: Liisa <liisa@asiakas.example>\nReply-To: liisa.private@koti.example\nTo: tuki@yritys.example\nSubject: Oma\nMessage-ID: <l1@asiakas.example>\n\nHei.\n' |
    tk ingest >/dev/null 2>&1
is "a person's own Reply-To changes nothing" \
    "$(sql "select requester from tickets where id = (select max(id) from tickets)")" \
    liisa@asiakas.example
sed -i 's/^form_senders = .*/&\nform_requester_field = Sähköposti/' "$WORK/tiketti.conf"
is "form_requester_field: the address under that label wins" \
    "$(printf 'From: wordpress@kauppa.example\nReply-To: wordpress@kauppa.example\nTo: tuki@yritys.example\nSubject: Lomake fr4\nMessage-ID: <fr4@kauppa.example>\n\nNimi: Sanna\nSähköposti: sanna@asiakas.example\n' | tk ingest >/dev/null 2>&1; sql "select requester from tickets where id = (select max(id) from tickets)")" \
    sanna@asiakas.example

# ---- lookups ----
rm "$WORK/rules/20-ack-all.rules"
cat >"$WORK/rules/30-crm.rules" <<'EOF'
rule "crm" { on create if header :subject :contains "CRM" then lookup "crm"; }
rule "vip" { on create if field "tier" :is "gold" then route skill "vip"; }
rule "basic" { on create if field "tier" :is "basic" then route skill "basic"; }
rule "slow" { on create if header :subject :contains "hidas" then lookup "slow"; }
rule "big" { on create if header :subject :contains "iso" then lookup "big"; }
rule "leaky" { on create if header :subject :contains "vuoto" then lookup "leaky"; }
EOF
check "the lookup rules load" tk rules check
crm() {
	printf 'From: %s\nTo: tuki@yritys.example\nSubject: %s\nMessage-ID: <%s@asiakas.example>\n\nHei.\n' \
	    "$1" "$2" "$3" | tk ingest >/dev/null 2>"$WORK/crm.err"
	echo $?
}
last() { sql "select $1 from tickets where id = (select max(id) from tickets)"; }
is "a lookup fills the fields from the JSON answer" \
    "$(crm anna@asiakas.example 'CRM 1' c1) $(tk ticket show "$(last id)" --format json | json "[d['fields'][k] for k in ('tier', 'crm_id')]")" \
    '0 ["gold", 42]'
is "... and a later rule routes on them" "$(last assignee)" maria
is "... the request had the address URL-encoded, and the bearer token" \
    "$(grep -c 'email=anna%40asiakas.example Bearer crm-token-0123' "$WORK/crm/requests")" 1
is "... an event names the lookup" \
    "$(sql "select new from events where type = 'lookup' and old = 'crm' order by id limit 1")" asked
crm anna@asiakas.example 'CRM 2' c2 >/dev/null
is "the cache: the same address within the hour asks nobody" \
    "$(requests 'anna%40asiakas.example') $(last assignee) $(sql "select new from events where type = 'lookup' order by id desc limit 1")" \
    "1 maria cached"
is "another address is asked, and routed by its answer" \
    "$(crm olli@asiakas.example 'CRM 3' c3) $(requests 'olli%40asiakas.example') $(last assignee)" \
    "0 1 antti"
is "a customer the CRM does not know: the ticket is made without" \
    "$(crm uusi@asiakas.example 'CRM 4' c4) $(sql "select new from events where type = 'lookup_failed' order by id desc limit 1")" \
    "0 crm: HTTP 404"
start=$(date +%s)
is "a server that sleeps 5 s: ingest ends after the 1 s timeout" \
    "$(crm anna@asiakas.example 'hidas' s1)" 0
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 5 ] && ok "... well before the server answers (${elapsed}s)" ||
    not_ok "... took ${elapsed}s"
is "... lookup_failed: slow: timeout, the ticket made" \
    "$(sql "select new from events where type = 'lookup_failed' order by id desc limit 1") $(last subject)" \
    "slow: timeout hidas"
is "an answer of 10 MB: refused, the ticket made" \
    "$(crm anna@asiakas.example 'iso' b1) $(sql "select new from events where type = 'lookup_failed' order by id desc limit 1")" \
    "0 big: answer over 1048576 bytes"
n0=$(grep -c Bearer "$WORK/crm/requests")
is "a token file others may read: not used, nothing asked" \
    "$(crm olli@asiakas.example 'vuoto' v1) $(grep -c Bearer "$WORK/crm/requests")" "0 $n0"
check "... the event says why" sh -c "$TIKETTI -c $WORK/tiketti.conf ticket show $(last id) --format json | grep -q 'is mode 644: group or others may read it'"
check "... and no token reached a log" sh -c "! grep -q crm-token $WORK/crm.err"

done_testing
