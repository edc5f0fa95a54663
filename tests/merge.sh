#!/bin/sh
# Merge and unmerge: `ticket merge SRC DST` moves SRC's messages,
# participants and events to DST and closes SRC with merged_into; later
# mail for SRC - a reply to one of its Message-IDs, its tag, a reply to
# its autoreply - lands on DST; a report counts one ticket; `ticket
# unmerge SRC` puts everything back, its status too, and later mail
# threads to SRC again; an agent's #merge does the same from her mail;
# refusals (itself, a merged ticket, no such ticket). `ticket split`
# moves a message and what answers it (In-Reply-To and References, however
# deep) into a new ticket, where later replies follow. tests/pg.sh runs it
# again on PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"

DB=$(db t)
sql() { sql_db "$DB" "$1"; }
mkdir -p "$WORK/rules" "$WORK/templates"
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = rules
templates_dir = templates
trusted_authserv_id = mx.yritys.example

[agent maria]
address = maria@yritys.example
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
EOF
printf 'Subject: Received\n\nThank you.\n' >"$WORK/templates/ack.txt"
mail() {	# MESSAGE-ID SUBJECT [IN-REPLY-TO] [FROM]
	printf 'From: %s\nTo: tuki@yritys.example\nSubject: %s\nMessage-ID: <%s>\n%s\nHei.\n' \
	    "${4:-Anna <anna@asiakas.example>}" "$2" "$1" \
	    "${3:+In-Reply-To: <$3>
}" | tk ingest >/dev/null 2>&1
}
on() { sql "select ticket_id from messages where message_id = '$1'"; }
REPORT="report --since 2026-01-01 --until 2027-12-31 --format json"
tickets() { tk $REPORT | json 'd["volume"][0]["created"] if d["volume"] else 0'; }

mail a1@asiakas.example "Lasku"
mail a2@asiakas.example "Lasku uudestaan"
mail o1@asiakas.example "Toinen asia" "" "Olli <olli@asiakas.example>"
SRC=$(on a2@asiakas.example)
DST=$(on a1@asiakas.example)
ACK=$(sql "select m.message_id from outbox o join messages m on m.id = o.out_message where o.ticket_id = $SRC and o.kind = 'autoreply'")
before=$(tickets)
is "ticket merge SRC DST: exit 0" "$(exitcode tk ticket merge "$SRC" "$DST")" 0
is "... SRC's messages are on DST" "$(on a2@asiakas.example)" "$DST"
is "... SRC closed, merged_into DST in its JSON" \
    "$(tk ticket show "$SRC" --format json | json 'd["status"] + "/" + str(d["merged_into"])')" "closed/$DST"
is "... a merge event on both" \
    "$(sql "select count(*) from events where type = 'merge' and ticket_id in ($SRC, $DST)")" 2
is "... the report counts one ticket where there were two" \
    "$(tickets)" "$((before - 1))"
mail a3@asiakas.example "Re: Lasku uudestaan" a2@asiakas.example
is "a reply to SRC's Message-ID lands on DST" "$(on a3@asiakas.example)" "$DST"
mail a4@asiakas.example "[Tuki #$SRC] vielä"
is "... one with SRC's tag" "$(on a4@asiakas.example)" "$DST"
mail a5@asiakas.example "Re: Received" "$ACK"
is "... a reply to SRC's autoreply" "$(on a5@asiakas.example)" "$DST"
is "merging a merged ticket, or a ticket into itself: refused (64)" \
    "$(exitcode tk ticket merge "$SRC" "$DST")/$(exitcode tk ticket merge "$DST" "$DST")/$(exitcode tk ticket merge 999 "$DST")" "64/64/64"
OLLI=$(on o1@asiakas.example)
is "... into a merged ticket: refused, naming where it went" \
    "$(exitcode tk ticket merge "$OLLI" "$SRC")/$(grep -c "merged into $DST" "$WORK/err")" "64/1"

# ---- unmerge ----
is "ticket unmerge SRC: exit 0" "$(exitcode tk ticket unmerge "$SRC")" 0
is "... its own messages back, the ones that came after stay on DST" \
    "$(on a2@asiakas.example)/$(on a3@asiakas.example)" "$SRC/$DST"
is "... its status as before the merge, merged_into gone" \
    "$(tk ticket show "$SRC" --format json | json 'd["status"] + "/" + str(d["merged_into"])')" "new/None"
is "... the report counts both again" "$(tickets)" "$((before + 0))"
mail a6@asiakas.example "Re: Lasku uudestaan" a2@asiakas.example
is "... later mail to SRC's Message-ID threads to SRC again" "$(on a6@asiakas.example)" "$SRC"
is "unmerging a ticket that is not merged: refused" "$(exitcode tk ticket unmerge "$SRC")" 64

# ---- #merge by an agent ----
printf 'Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nReceived: from b by mx.yritys.example; Mon, 02 Nov 2026 11:00:00 +0200\nFrom: Maria <maria@yritys.example>\nTo: anna@asiakas.example\nCc: tuki@yritys.example\nSubject: Re: [Tuki #%s] Lasku uudestaan\nMessage-ID: <m1@yritys.example>\nIn-Reply-To: <a2@asiakas.example>\n\n#merge %s\nYhdistän tämän aiempaan.\n' "$SRC" "$DST" |
    tk ingest >/dev/null 2>&1
is "an agent's #merge DST: SRC merged into DST, her mail with it" \
    "$(tk ticket show "$SRC" --format json | json 'str(d["merged_into"])')/$(on m1@yritys.example)" "$DST/$DST"
is "... by her" "$(sql "select actor from events where ticket_id = $SRC and type = 'merge' order by id desc limit 1")" "maria@yritys.example"

# ---- split ----
mail p1@asiakas.example "Tilaus 1"
T=$(on p1@asiakas.example)
mail p2@asiakas.example "Re: Tilaus 1" p1@asiakas.example
mail q1@asiakas.example "[Tuki #$T] Toinen asia samassa"
mail q2@asiakas.example "Re: Toinen asia" q1@asiakas.example
printf 'From: Anna <anna@asiakas.example>\nTo: tuki@yritys.example\nSubject: Re: Toinen asia\nMessage-ID: <q3@asiakas.example>\nReferences: <q1@asiakas.example> <q2@asiakas.example>\n\nVielä.\n' |
    tk ingest >/dev/null 2>&1
is "five messages on one ticket" "$(sql "select count(*) from messages where ticket_id = $T and direction = 'in'")" 5
NEW=$(tk ticket split "$T" "<q1@asiakas.example>" 2>"$WORK/err")
is "ticket split ID MESSAGE-ID: a new ticket" "$(test -n "$NEW" && test "$NEW" != "$T" && echo new)" new
is "... the message and what answers it, however deep, moved" \
    "$(on q1@asiakas.example)/$(on q2@asiakas.example)/$(on q3@asiakas.example)" "$NEW/$NEW/$NEW"
is "... the rest stays" "$(on p1@asiakas.example)/$(on p2@asiakas.example)" "$T/$T"
is "... the same requester, the message's subject" \
    "$(tk ticket show "$NEW" --format json | json 'd["requester"] + "/" + d["subject"]')" "anna@asiakas.example/Toinen asia samassa"
is "... a split event on both" \
    "$(sql "select count(*) from events where type = 'split' and ticket_id in ($T, $NEW)")" 2
mail q4@asiakas.example "Re: Toinen asia" q2@asiakas.example
is "a later reply to a split message follows it to the new ticket" "$(on q4@asiakas.example)" "$NEW"
P2=$(sql "select id from messages where message_id = 'p2@asiakas.example'")
is "split by the message's number" \
    "$(tk ticket split "$T" "$P2" >/dev/null 2>&1; on p2@asiakas.example | grep -vc "^$T\$")" 1
is "splitting off all of a ticket's mail: refused (64)" \
    "$(exitcode tk ticket split "$NEW" "<q1@asiakas.example>")" 64
is "... and a message it does not have" "$(exitcode tk ticket split "$T" "<nope@x>")" 64
done_testing
