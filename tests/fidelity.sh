#!/bin/sh
# What is stored is what the customer sent, and anyone can read it: the
# defects other help desks' users reported, each as a small mail through
# `tiketti ingest` (a padded encoded word, HTML entities, an empty text
# alternative, Apple Mail's text parts, undeclared 8-bit text, ISO-2022-JP
# with NEC characters, a winmail.dat), then `ticket show`'s JSON and text,
# `message raw` byte for byte (CRLF, a binary part), `message attachment`
# checked against the JSON's sha256, new_text, `body :new` and
# {{message.new_text}}.
. "${SRCDIR:-.}/tests/lib.sh"

need python3 sqlite3 sha256sum
mkdir -p "$WORK/rules" "$WORK/tmpl"
cat >"$WORK/tiketti.conf" <<CONF
database = $WORK/t.db
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = $WORK/rules
templates_dir = $WORK/tmpl
CONF
cat >"$WORK/rules/10.rules" <<'RULES'
rule "new complaint" { on customer reply if body :new :contains "reklamaatio"
    then tag "complaint-new"; }
rule "any complaint" { on customer reply if body :contains "reklamaatio"
    then tag "complaint-anywhere"; }
rule "echo" { on customer reply then autoreply "echo"; }
RULES
printf 'Subject: Saimme viestisi\n\nKirjoitit: {{message.new_text}}\n' >"$WORK/tmpl/echo.txt"
sql() { sqlite3 "$WORK/t.db" "$1"; }
# mail NAME: ingests $WORK/NAME.eml, prints the ticket.
mail() {
	tk ingest "$WORK/$1.eml" >"$WORK/out" 2>&1 || sed 's/^/# /' "$WORK/out"
	sql "select ticket_id from messages where message_id = '$1@x'"
}
# field TICKET PYTHON: an expression over the last message (m) of the
# ticket's JSON.
field() {
	tk ticket show "$1" --format json | json "(lambda m: $2)(d['messages'][-1])"
}

# 1. A padded base64 word followed by another: every word counts.
printf 'From: =?UTF-8?B?TWF0dGkg?= =?UTF-8?B?TcOka2Vsw6Q=?= <m@x.fi>\nSubject: =?UTF-8?B?YWJjIA==?= =?UTF-8?B?ZGVm?=\nMessage-ID: <w1@x>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nx\n--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="=?UTF-8?B?YWJjIA==?= =?UTF-8?B?ZGVm?=.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--B--\n' >"$WORK/w1.eml"
t=$(mail w1)
is "1. padded encoded words: the Subject, a name and a file name whole" \
    "$(field "$t" '[m["subject"], m["attachments"][0]["name"]]')/$(sql "select from_name from messages where message_id = 'w1@x'")" \
    '["abc def", "abc def.pdf"]/Matti Mäkelä'

# 2. HTML: every entity, no style, lists, links, tables.
printf 'From: h@x.fi\nSubject: html\nMessage-ID: <w2@x>\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p{color:red}</style></head><body><p>&uuml;ber &szlig; &Psi; &oacute;</p><ul><li>yksi</li></ul><a href="https://x.example/">t&auml;st&auml;</a><table><tr><th>Tilaus</th><td>4711</td></tr></table></body></html>\n' >"$WORK/w2.eml"
t=$(mail w2)
is "2. HTML through libxml2: entities, lists, links, tables, no CSS" \
    "$(field "$t" 'm["text"]')" "über ß Ψ ó

- yksi

tästä <https://x.example/>
Tilaus	4711"

# 3. An empty text/plain alternative loses to the HTML.
printf 'From: e@x.fi\nSubject: empty plain\nMessage-ID: <w3@x>\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\n  \n\n--A\nContent-Type: text/html\n\n<p>Oikea teksti</p>\n--A--\n' >"$WORK/w3.eml"
t=$(mail w3)
is "3. an empty text alternative: the HTML's text" "$(field "$t" 'm["text"]')" "Oikea teksti"

# 4. Apple Mail: text, inline image, text, inline PDF, text.
printf 'From: a@x.fi\nSubject: apple\nMessage-ID: <w4@x>\nContent-Type: multipart/mixed; boundary=M\n\n--M\nContent-Type: text/plain\n\nEnsin.\n--M\nContent-Type: image/png\nContent-Disposition: inline; filename=a.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--M\nContent-Type: text/plain\n\nSitten.\n--M\nContent-Type: application/pdf\nContent-Disposition: inline; filename=b.pdf\n\n%%PDF-1.4\n--M\nContent-Type: text/plain\n\nLopuksi.\n--M--\n' >"$WORK/w4.eml"
t=$(mail w4)
is "4. every inline text part, in order" \
    "$(field "$t" '[m["text"], [a["name"] for a in m["attachments"]]]')" \
    '["Ensin.\nSitten.\nLopuksi.", ["a.png", "b.pdf"]]'

# 5. 8-bit text with no charset: the fallback that fits.
printf 'From: f@x.fi\nSubject: latin\nMessage-ID: <w5@x>\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nCaf\351 \344\366\n' >"$WORK/w5.eml"
t=$(mail w5)
is "5. undeclared 8-bit text: windows-1252 after utf-8" "$(field "$t" 'm["text"]')" "Café äö"

# 6. ISO-2022-JP with NEC row 13, and the text after it.
printf 'From: j@x.jp\nSubject: jp\nMessage-ID: <w6@x>\nContent-Type: text/plain; charset=iso-2022-jp\n\n\033$B-!-j$"\033(B ok\n' >"$WORK/w6.eml"
t=$(mail w6)
is "6. ISO-2022-JP with NEC row 13" "$(field "$t" 'm["text"]')" "①㈱あ ok"

# 7. winmail.dat: its files are the attachments.
python3 - "$SRCDIR/tests/corpus/mimekit-tnef/two-files.tnef" "$WORK/w7.eml" <<'PY'
import base64, sys
data = base64.encodebytes(open(sys.argv[1], "rb").read()).decode()
open(sys.argv[2], "w").write("From: o@x.fi\nSubject: tnef\nMessage-ID: <w7@x>\n"
    "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
    "Liitteet.\n--B\nContent-Type: application/ms-tnef; name=winmail.dat\n"
    "Content-Transfer-Encoding: base64\n\n" + data + "\n--B--\n")
PY
t=$(mail w7)
is "7. winmail.dat opened: its files are the attachments" \
    "$(field "$t" '[a["name"] for a in m["attachments"]]')" '["AUTHORS", "README"]'
mid=$(field "$t" 'm["id"]')
tk message attachment "$mid" 2 -o "$WORK/readme" >"$WORK/out" 2>&1
is "... message attachment gives the bytes the JSON's sha256 names" \
    "$(sha256sum <"$WORK/readme" | cut -d' ' -f1)" "$(field "$t" 'm["attachments"][1]["sha256"]')"

# 8. The JSON contract and the text view.
is "8. each message: id, message_id, from, date, direction, text, new_text, attachments" \
    "$(field "$t" 'sorted(m)')" \
    '["attachments", "date", "direction", "flagged", "from", "id", "kind", "message_id", "new_text", "subject", "text"]'
tk ticket show "$t" >"$WORK/show.txt"
check "... the text view shows the conversation and the files" \
    sh -c "grep -q '      | Liitteet.' '$WORK/show.txt' && grep -q 'attachment: README (' '$WORK/show.txt'"

# 9. message raw: byte for byte, CRLF and a binary part.
python3 - "$WORK/w9.eml" <<'PY'
import sys
bin = bytes(range(256)) * 4
m = (b"From: r@x.fi\r\nSubject: raw\r\nMessage-ID: <w9@x>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
     b"--B\r\nContent-Type: text/plain\r\n\r\nhei\r\n--B\r\nContent-Type: application/octet-stream\r\n"
     b"Content-Disposition: attachment; filename=b.bin\r\nContent-Transfer-Encoding: binary\r\n\r\n"
     + bin + b"\r\n--B--\r\n")
open(sys.argv[1], "wb").write(m)
PY
t=$(mail w9)
mid=$(field "$t" 'm["id"]')
tk message raw "$mid" >"$WORK/raw.out"
check "9. message raw: the message byte for byte" cmp "$WORK/raw.out" "$WORK/w9.eml"
tk message attachment "$mid" 1 >"$WORK/bin.out"
is "... message attachment 1: the binary part's 1024 bytes" \
    "$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read() == bytes(range(256))*4)' "$WORK/bin.out")" True
is "... an attachment that is not there: 66" "$(exitcode tk message attachment "$mid" 5)" 66
is "... a message that is not there: 66" "$(exitcode tk message raw 999)" 66

# 10 and 11. new_text, body :new, {{message.new_text}}.
printf 'From: anna@asiakas.example\nTo: tuki@yritys.example\nSubject: Kahvinkeitin\nMessage-ID: <n1@x>\n\nKeitin on rikki, tämä on reklamaatio.\n' >"$WORK/n1.eml"
tk ingest "$WORK/n1.eml" >/dev/null 2>&1
printf 'From: anna@asiakas.example\nTo: tuki@yritys.example\nSubject: Re: Kahvinkeitin\nMessage-ID: <n2@x>\nIn-Reply-To: <n1@x>\n\nKiitos, uusi tuli jo.\n\nma 5.1.2026 klo 10.00 Anna <anna@asiakas.example> kirjoitti:\n> Keitin on rikki, tämä on reklamaatio.\n' >"$WORK/n2.eml"
tk ingest "$WORK/n2.eml" >/dev/null 2>&1
t=$(sql "select ticket_id from messages where message_id = 'n2@x'")
is "10. new_text: without the quote and its attribution (Finnish)" \
    "$(tk ticket show "$t" --format json | json '[m["new_text"] for m in d["messages"] if m["message_id"] == "n2@x"][0]')" \
    "Kiitos, uusi tuli jo."
is "11. body :new does not see the quoted complaint; body does" \
    "$(tk ticket show "$t" --format json | json 'd["tags"]')" '["complaint-anywhere"]'
is "... and {{message.new_text}} in a template is the new text" \
    "$(sql "select body from outbox where ticket_id = $t")" "Kirjoitit: Kiitos, uusi tuli jo."
tk rules test --event customer-reply "$WORK/n2.eml" >"$WORK/rt.out" 2>&1
check "... rules test shows both texts" \
    sh -c "grep -q '^new text, without the quote (body :new):' '$WORK/rt.out' && grep -q '  | > Keitin on rikki' '$WORK/rt.out'"
done_testing
