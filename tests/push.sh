#!/bin/sh
# The ticket pushed to its agent, and her answer through us, against a real
# smtp-sink on loopback (every captured mail read back with Python's email
# parser): the assignment mail's content, Reply-To signature and threading;
# her answer reaching the customer once, from the shared address, without
# her command lines and her quote; a stranger's, a forged, another agent's
# and a wrongly signed answer sending nothing. Agents are proven as the
# pipe proves them: Authentication-Results of the trusted authserv-id.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink python3 faketime
export TZ=UTC
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

DB=$(db t)
sql() { sql_db "$DB" "$1"; }
SPORT=$(freeport)
chmod 711 "$WORK"
sink_up "$SPORT" "$WORK/sink"
PIDS="$PIDS $SINK"
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }
HPORT=$(freeport)
mkdir -p "$WORK/http"
python3 "$SRCDIR/tests/sink/http_sink.py" "$HPORT" "$WORK/http" \
    >"$WORK/http.log" 2>&1 &
PIDS="$PIDS $!"
waitport "$HPORT" || echo "# http sink did not start"
# The schemas are read by Debian's python3-jsonschema (deps.sh --test);
# a python3 earlier in PATH may lack it.
PYJS=python3
python3 -c 'import jsonschema' 2>/dev/null || PYJS=/usr/bin/python3
schema() { "$PYJS" "$SRCDIR/tests/sink/schemacheck.py" "$SRCDIR/contrib/schemas/$1.schema.json" ${2:+"$2"}; }
# sent TO: the captured mails to TO, oldest first, a path a line.
sent() {
	for f in $(find "$WORK/sink" -type f -printf '%T@ %p\n' | sort -n |
	    cut -d' ' -f2-); do
		[ "$(mc "$f" 'env_to[0]')" = "$1" ] && echo "$f"
	done
}
count() { sent "$1" | grep -c . ; }

mkdir -p "$WORK/rules"
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
secret = push-test-secret-0123456789
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
smtp_timeout = 10s
trusted_authserv_id = mx.yritys.example
rules_dir = rules
templates_dir = $SRCDIR/rules/templates

[webhook hub]
url = http://127.0.0.1:$HPORT/hook
events = ticket.assigned, agent.away, agent.back

[agent maria]
address = maria@yritys.example
skills = complaints
deputy = antti

[agent antti]
address = antti@yritys.example
lang = fi

[agent liisa]
address = liisa@yritys.example
skills = complaints
max_open = 1
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "complaints" { on create if header :subject :contains "reklamaatio"
    then { route skill "complaints"; webhook "hub"; } }
EOF

# ---- the assignment mail ----
# Ville's earlier question, then his complaint, which routing gives maria.
printf 'From: Ville <ville@asiakas.example>\nTo: tuki@yritys.example\nSubject: Laskun eräpäivä\nMessage-ID: <v0@asiakas.example>\nDate: Mon, 02 Nov 2026 09:00:00 +0200\n\nMilloin lasku erääntyy?\n' |
    tk ingest >/dev/null 2>&1
cat >"$WORK/v1.eml" <<'EOF'
From: Ville <ville@asiakas.example>
To: tuki@yritys.example
Subject: Reklamaatio: kahvinkeitin
Message-ID: <v1@asiakas.example>
Date: Mon, 02 Nov 2026 10:00:00 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Kahvinkeitin meni rikki viikossa.

Ville kirjoitti 1.11.2026:
> vanha lainaus
--b1
Content-Type: application/pdf; name="kuitti.pdf"
Content-Disposition: attachment; filename="kuitti.pdf"
Content-Transfer-Encoding: base64

S1VJVFRJIDEyMwo=
--b1--
EOF
is "a routed complaint: ingest exits 0" "$(exitcode tk ingest "$WORK/v1.eml")" 0
is "... one assignment mail, to maria" "$(count maria@yritys.example)" 1
A=$(sent maria@yritys.example | head -1)
is "... its Subject has the ticket's tag" \
    "$(mc "$A" 'm["Subject"]')" "[Tuki #2] is yours: Reklamaatio: kahvinkeitin"
is "... From the shared address" "$(mc "$A" 'm["From"].addresses[0].addr_spec')" \
    tuki@yritys.example
RT=$(mc "$A" 'm["Reply-To"].addresses[0].addr_spec')
case $RT in
tuki+a-2-maria-????????????????@yritys.example) ok "... Reply-To maria's signed address ($RT)" ;;
*) not_ok "... Reply-To maria's signed address"; echo "#   got: '$RT'" ;;
esac
is "... In-Reply-To the customer's mail" "$(mc "$A" 'm["In-Reply-To"]')" \
    "<v1@asiakas.example>"
mc "$A" 'm.get_body(("plain",)).get_content()' >"$WORK/a.txt"
check "... what the customer wrote this time" grep -q "Kahvinkeitin meni rikki viikossa." "$WORK/a.txt"
check "... without his quote" sh -c "! grep -q 'vanha lainaus' '$WORK/a.txt'"
check "... the ticket's status, priority and skill" \
    grep -q "status new, priority normal" "$WORK/a.txt"
check "... routed by skill complaints" grep -q "Skill: complaints" "$WORK/a.txt"
check "... and his other ticket" grep -q "\[Tuki #1\] Laskun eräpäivä (new, " "$WORK/a.txt"
is "... the customer's file attached, as he sent it" \
    "$(mc "$A" '";".join("%s|%s|%s" % (p.get_filename(), p.get_content_type(), p.get_payload(decode=True).decode().strip()) for p in m.iter_attachments())')" \
    "kuitti.pdf|application/pdf|KUITTI 123"
is "... an event says it was queued" \
    "$(sql "select count(*) from events where ticket_id = 2 and type = 'queued' and old = 'assign'")" 1

# antti reads Finnish (lang = fi); given the ticket by hand, he is told.
tk ticket set 1 assignee antti >/dev/null 2>&1
tk flush >/dev/null 2>&1
B=$(sent antti@yritys.example | head -1)
is "ticket set ... assignee: antti's mail is in Finnish" \
    "$(mc "$B" 'm["Subject"]')" "[Tuki #1] on sinun: Laskun eräpäivä"

# ---- her answer through us ----
cat >"$WORK/r1.eml" <<EOF
Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example
Received: from b by mx.yritys.example; Mon, 02 Nov 2026 10:30:00 +0200
From: Maria <maria@yritys.example>
To: $RT
Subject: Re: [Tuki #2] is yours: Reklamaatio: kahvinkeitin
Message-ID: <r1@yritys.example>
In-Reply-To: $(mc "$A" 'm["Message-ID"]')
Date: Mon, 02 Nov 2026 10:30:00 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

#pending

Hei Ville, lähetämme uuden keittimen. Palauta vanha, kiitos.

On Mon, 2 Nov 2026, tuki@yritys.example wrote:
> Kahvinkeitin meni rikki viikossa.
--b2
Content-Type: text/plain; name="palautus.txt"
Content-Disposition: attachment; filename="palautus.txt"
Content-Transfer-Encoding: base64

UGFsYXV0dXNsb21ha2UK
--b2--
EOF
is "maria answers to her address: ingest exits 0" \
    "$(exitcode tk ingest "$WORK/r1.eml")" 0
is "... one mail to the customer" "$(count ville@asiakas.example)" 1
C=$(sent ville@asiakas.example | head -1)
is "... from the shared address" "$(mc "$C" 'm["From"].addresses[0].addr_spec')" \
    tuki@yritys.example
is "... with the ticket's tag" "$(mc "$C" 'm["Subject"]')" \
    "Re: Reklamaatio: kahvinkeitin [Tuki #2]"
is "... In-Reply-To his mail" "$(mc "$C" 'm["In-Reply-To"]')" "<v1@asiakas.example>"
check "... References his mail" sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$C' 'm[\"References\"]' | grep -q '<v1@asiakas.example>'"
mc "$C" 'm.get_body(("plain",)).get_content()' >"$WORK/c.txt"
check "... her text" grep -q "lähetämme uuden keittimen" "$WORK/c.txt"
check "... without her command line" sh -c "! grep -q '#pending' '$WORK/c.txt'"
check "... without her quote" sh -c "! grep -qi 'rikki viikossa\|wrote:' '$WORK/c.txt'"
is "... her file attached" \
    "$(mc "$C" '";".join("%s|%s|%s" % (p.get_filename(), p.get_content_type(), p.get_payload(decode=True).decode().strip()) for p in m.iter_attachments())')" \
    "palautus.txt|text/plain|Palautuslomake"
is "... her command ran" "$(sql "select status from tickets where id = 2")" pending
is "... stored as her answer to the customer" \
    "$(sql "select direction || ' ' || kind from messages where message_id = 'r1@yritys.example'")" \
    "out agent"
tk flush -f >/dev/null 2>&1
is "... and sent once" "$(count ville@asiakas.example)" 1
is "the same mail again (a redelivery) sends nothing more" \
    "$(exitcode tk ingest "$WORK/r1.eml") $(count ville@asiakas.example)" "0 1"

# ---- nobody else answers through her address ----
relay_refused() { sql "select count(*) from events where ticket_id = 2 and type = 'relay_refused'"; }
# answer FROM-LINE TO-ADDRESS ID [HEADERS]: a proven-looking answer.
answer() {
	printf '%sFrom: %s\nTo: %s\nSubject: Re: [Tuki #2]\nMessage-ID: <%s@x.example>\nDate: Mon, 02 Nov 2026 11:00:00 +0200\n\nHei Ville, maksa tähän tiliin.\n' \
	    "$4" "$1" "$2" "$3" | tk ingest >/dev/null 2>&1
}
proof='Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example
Received: from b by mx.yritys.example; Mon, 02 Nov 2026 11:00:00 +0200
'
answer "Mallory <mallory@evil.example>" "$RT" stranger ""
is "a stranger's mail to maria's address: nothing to the customer" \
    "$(count ville@asiakas.example)" 1
is "... an event says why" "$(relay_refused)" 1
is "... and the mail is kept" \
    "$(sql "select count(*) from messages where message_id = 'stranger@x.example'")" 1
answer "Maria <maria@yritys.example>" "$RT" forged ""
is "From: maria without proof: nothing to the customer" \
    "$(count ville@asiakas.example) $(relay_refused)" "1 2"
answer "Antti <antti@yritys.example>" "$RT" other "$proof"
is "antti (proven) through maria's address: nothing to the customer" \
    "$(count ville@asiakas.example) $(relay_refused)" "1 3"
is "... the event names whose address it is" \
    "$(sql "select new from events where ticket_id = 2 and type = 'relay_refused' order by id desc limit 1")" \
    "the address is maria's"
answer "Maria <maria@yritys.example>" "tuki+a-2-maria-0123456789abcdef@yritys.example" badsig "$proof"
is "maria with a wrong signature: nothing to the customer" \
    "$(count ville@asiakas.example)" 1
is "... a token_forged event" \
    "$(sql "select count(*) from events where type = 'token_forged'")" 1

# ---- who is there ----
# complaint N: a new customer's complaint; prints the ticket's assignee.
complaint() {
	printf 'From: c%s@asiakas.example\nTo: tuki@yritys.example\nSubject: Reklamaatio %s\nMessage-ID: <c%s@asiakas.example>\n\nRikki.\n' \
	    "$1" "$1" "$1" | tk ingest >/dev/null 2>&1
	sql "select coalesce(assignee, '(nobody)') from tickets where id = (select max(id) from tickets)"
}
away_json() {
	tk agent list --format json | python3 -c 'import json, sys
print(" ".join("%s:%s:%s" % (a["name"], a["away"], "until" if a["away_until"] else "-") for a in json.load(sys.stdin)))'
}
tickets=$(sql "select count(*) from tickets")
back=$(date -u -d '+10 days' +%Y-%m-%d)
printf '%sFrom: Maria <maria@yritys.example>\nTo: tuki@yritys.example\nSubject: loma\nMessage-ID: <away1@yritys.example>\n\n#away %s\n' \
    "$proof" "$back" | tk ingest >/dev/null 2>&1
is "maria's own #away DATE to the shared address: no ticket" \
    "$(sql "select count(*) from tickets")" "$tickets"
is "... agent list: maria away until then" "$(away_json)" \
    "maria:True:until antti:False:- liisa:False:-"
check "... the date she named, at midnight" sh -c "$TIKETTI -c $WORK/tiketti.conf agent list | grep -q '^maria .*${back}T00:00:00Z'"
is "routing skips her: the least busy other (liisa, 0 open)" "$(complaint 10)" liisa
is "liisa is full (max_open 1): maria's deputy antti takes it" \
    "$(complaint 11)" antti
tk agent set maria back
is "agent set maria back: she gets the next" "$(complaint 12)" maria
tk agent set maria away --until 3d
tk agent set antti away
is "maria and her deputy away, liisa full: the ticket waits unassigned" \
    "$(complaint 13)" "(nobody)"
is "... a route_failed event says so" \
    "$(sql "select count(*) from events where type = 'route_failed' and ticket_id = (select max(id) from tickets)")" 1
is "agent list --format json: the fields" \
    "$(tk agent list --format json | python3 -c 'import json, sys; a = json.load(sys.stdin)[0]; print(sorted(a), a["name"], a["address"], a["skills"], a["deputy"], a["open"] >= 1)')" \
    "['address', 'away', 'away_until', 'deputy', 'max_open', 'name', 'open', 'skills'] maria maria@yritys.example ['complaints'] antti True"
is "agent set with a time gone: usage error (64)" \
    "$(exitcode tk agent set maria away --until 2020-01-01)" 64
is "agent set for nobody: usage error (64)" \
    "$(exitcode tk agent set nobody back)" 64
# #back and #away in liisa's reply, with the rest of her answer.
cat >"$WORK/r2.eml" <<EOF
${proof}From: Liisa <liisa@yritys.example>
To: tuki@yritys.example
Subject: Re: [Tuki #5] Reklamaatio 10
Message-ID: <r2@yritys.example>

#back
#away 2d

Hei, selvitän asian.
EOF
tk ingest "$WORK/r2.eml" >/dev/null 2>&1
is "#away in liisa's reply: away, two events on the ticket" \
    "$(away_json | cut -d' ' -f3) $(sql "select count(*) from events where ticket_id = 5 and type in ('agent_back', 'agent_away')")" \
    "liisa:True:until 2"

# ---- the queue ----
tk ticket set 5 priority urgent
tk ticket set 6 status pending
queue_ids() {
	tk queue --format json | python3 -c 'import json, sys
print(" ".join("%d:%s:%s" % (t["id"], t["assignee"] or "-", t["priority"]) for t in json.load(sys.stdin)))'
}
# 3 and 4: the stranger's and the forged answer; 8 waits for anyone.
QUEUE_WANT="3:-:normal 4:-:normal 8:-:normal 5:liisa:urgent 1:antti:normal 7:maria:normal"
is "queue: waiting tickets, unassigned first, then urgent, then the oldest" \
    "$(queue_ids)" "$QUEUE_WANT"
is "queue --format json: the fields of a ticket" \
    "$(tk queue --format json | python3 -c 'import json, sys; t = [t for t in json.load(sys.stdin) if t["id"] == 5][0]; print(sorted(t), t["age"] >= 0, t["skill"])')" \
    "['age', 'assignee', 'due', 'id', 'priority', 'requester', 'skill', 'status', 'subject'] True complaints"
check "queue: the text form has a line a ticket under its header" \
    sh -c "$TIKETTI -c $WORK/tiketti.conf queue | awk 'NR == 1 && /ID +AGE +DUE +PRIO/ {h = 1} END {exit !(h && NR == $(echo "$QUEUE_WANT" | wc -w) + 1)}'"

# ---- her out-of-office reply ----
tk agent set maria back
tickets=$(sql "select count(*) from tickets")
tomaria=$(count maria@yritys.example)
ret=$(date -u -d '+12 days' +%-d.%-m.%Y)
ooo() {	# PROOF BODY ID: maria's automatic reply
	printf '%sFrom: Maria <maria@yritys.example>\nTo: tuki@yritys.example\nSubject: Automaattinen vastaus: asia\nAuto-Submitted: auto-replied\nMessage-ID: <%s@yritys.example>\n\n%s\n' \
	    "$1" "$3" "$2" | tk ingest >/dev/null 2>&1
}
ooo "" "Olen lomalla $ret asti." ooo0
is "an out-of-office reply from maria's address, not proven hers: nothing" \
    "$(away_json | cut -d' ' -f1)" "maria:False:-"
ooo "$proof" "Olen lomalla $ret asti." ooo1
is "her own (proven): away until the day it names" \
    "$(tk agent list --format json | python3 -c 'import json, sys; a = json.load(sys.stdin)[0]; print(a["away"], a["away_until"])')" \
    "True $(date -u -d '+12 days' +%Y-%m-%d)T00:00:00Z"
is "... it opened no ticket (the unproven one did) and sent her nothing" \
    "$(sql "select count(*) from tickets") $(count maria@yritys.example)" \
    "$((tickets + 1)) $tomaria"
tk agent set maria back
ooo "$proof" "Olen poissa toimistolta." ooo2
is "... one that names no day: away for ooo_away (1d)" \
    "$(tk agent list --format json | python3 -c 'import json, sys, time, datetime
a = json.load(sys.stdin)[0]
u = datetime.datetime.strptime(a["away_until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
print(a["away"], abs(u - time.time() - 86400) < 120)')" "True True"

# ---- her unanswered tickets go on after reroute_after (2h) ----
# maria is away (her reply above) with ticket 7 unanswered, liisa (#away
# 2d) with ticket 5; antti, maria's deputy, is back.
tk agent set antti back
tk tick
is "tick within reroute_after: ticket 7 stays hers" \
    "$(sql "select assignee from tickets where id = 7")" maria
later 10800 "$TIKETTI" -c "$WORK/tiketti.conf" tick
is "tick 3 hours later: ticket 7 goes to her deputy" \
    "$(sql "select assignee from tickets where id = 7")" antti
is "... a rerouted event says from whom to whom" \
    "$(sql "select old || '>' || new from events where ticket_id = 7 and type = 'rerouted'")" "maria>antti"
later 14400 "$TIKETTI" -c "$WORK/tiketti.conf" tick
is "... liisa's ticket 5 (she has no deputy) where routing sends complaints now" \
    "$(sql "select old || '>' || new from events where ticket_id = 5 and type = 'rerouted'")" "liisa>antti"
is "... once: the next tick moves nothing more" \
    "$(sql "select count(*) from events where type = 'rerouted'")" 2
is "... and antti got the assignment mail" \
    "$(sent antti@yritys.example | while read -r f; do mc "$f" 'm["Subject"]'; done | grep -c '^\[Tuki #7\]')" 1

# ---- the JSON a program reads, against contrib/schemas ----
check "queue --format json matches contrib/schemas/queue.schema.json" \
    sh -c "$TIKETTI -c $WORK/tiketti.conf queue --format json >$WORK/q.json && $PYJS $SRCDIR/tests/sink/schemacheck.py $SRCDIR/contrib/schemas/queue.schema.json $WORK/q.json"
check "agent list --format json matches agents.schema.json" \
    sh -c "$TIKETTI -c $WORK/tiketti.conf agent list --format json >$WORK/ag.json && $PYJS $SRCDIR/tests/sink/schemacheck.py $SRCDIR/contrib/schemas/agents.schema.json $WORK/ag.json"
tk flush -f >/dev/null 2>&1
# Each webhook body the receiver got, against its schema.
events=
bad=
for f in "$WORK"/http/*.json; do
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["body"])' "$f" >"$WORK/body.json"
	ev=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["event"])' <"$WORK/body.json")
	case $ev in
	agent.*) sc=webhook-agent ;;
	*) sc=webhook-ticket ;;
	esac
	schema "$sc" "$WORK/body.json" >"$WORK/schema.out" 2>&1 ||
	    bad="$bad $ev: $(head -1 "$WORK/schema.out")"
	events="$events $ev"
done
is "every webhook body matches its schema (webhook-ticket, webhook-agent)" "$bad" ""
is "... the events heard: a rule's, ticket.assigned, agent.away, agent.back" \
    "$(echo $events | tr ' ' '\n' | sort -u | tr '\n' ' ')" \
    "agent.away agent.back create ticket.assigned "
check "... a schema refuses what breaks it (an agent event without its agent)" \
    sh -c "if echo '{\"event\": \"agent.away\", \"at\": 1}' | $PYJS $SRCDIR/tests/sink/schemacheck.py $SRCDIR/contrib/schemas/webhook-agent.schema.json; then exit 1; fi"

# ---- the customer's history in rules ----
HDB=$(db hist)
mkdir -p "$WORK/rules2"
sed -e "s|^database = .*|database = $HDB|" -e "s|^rules_dir = .*|rules_dir = rules2|" \
    "$WORK/tiketti.conf" >"$WORK/hist.conf"
cat >"$WORK/rules2/10.rules" <<'EOF'
rule "repeat contact" { on create if history :within "14d"
    then set priority "high"; }
rule "regular" { on create if history :over "1" then tag "regular"; }
EOF
hist() {
	printf 'From: pekka@asiakas.example\nTo: tuki@yritys.example\nSubject: asia %s\nMessage-ID: <h%s@asiakas.example>\n\nTeksti.\n' \
	    "$2" "$2" | at "$1" "$TIKETTI" -c "$WORK/hist.conf" ingest >/dev/null 2>&1
}
hist_tags() { sql_db "$HDB" "select count(*) from tags where tag = 'regular' and ticket_id = (select max(id) from tickets)"; }
hist "2026-11-01 10:00:00" 1 >/dev/null
is "history: a first contact is no repeat" \
    "$(sql_db "$HDB" "select priority from tickets where id = 1")" normal
hist "2026-11-20 10:00:00" 2 >/dev/null
is "history :within 14d: 19 days later, still normal" \
    "$(sql_db "$HDB" "select priority from tickets where id = 2") $(hist_tags)" "normal 0"
hist "2026-11-25 10:00:00" 3 >/dev/null
is "history :within 14d: 5 days later, high; :over 1: a regular" \
    "$(sql_db "$HDB" "select priority from tickets where id = 3") $(hist_tags)" "high 1"
printf 'rule "x" { on create if history :contains "x" then tag "y"; }\n' >"$WORK/bad.rules"
check "history :contains is refused with the place and what it needs" \
    sh -c "$TIKETTI -c $WORK/hist.conf rules check $WORK/bad.rules | grep -q 'bad.rules:1:[0-9]*: history needs :within DURATION, :over N or :under N'"

# ---- files over attach_max are named, not attached ----
sed 's/^smtp_timeout = 10s$/smtp_timeout = 10s\nattach_max = 5/' \
    "$WORK/tiketti.conf" >"$WORK/tiny.conf"
"$TIKETTI" -c "$WORK/tiny.conf" ticket set 2 assignee liisa >/dev/null 2>&1
L=$(sent liisa@yritys.example | while read -r f; do
	[ "$(mc "$f" 'm["Subject"]' | cut -c1-9)" = "[Tuki #2]" ] && echo "$f"
done | tail -1)
is "attach_max = 5: the assignment mail carries no file" \
    "$(mc "$L" 'len(list(m.iter_attachments()))')" 0
check "... and names it" sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$L' 'm.get_body((\"plain\",)).get_content()' | grep -q 'kuitti.pdf (11 bytes)'"

done_testing
