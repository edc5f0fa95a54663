-- miltertest script: the milter's protocol cases (tests/milter.sh).
-- SOCK comes from the environment. The milter asks for no connect and no
-- end-of-header stage (mt.conninfo and mt.eoh would fail on that) and
-- for no reply to MAIL, RCPT, headers and body (miltertest then reports
-- them as continue); it answers DATA, accepting mail that is not its own.
local sock = os.getenv("SOCK")

-- One message up to its body; the answer to DATA.
local function msg(conn, qid, from, rcpts, subject, mid, body)
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	assert(mt.mailfrom(conn, from) == nil)
	for _, r in ipairs(rcpts) do assert(mt.rcptto(conn, r) == nil) end
	assert(mt.data(conn) == nil)
	if mt.getreply(conn) ~= SMFIR_CONTINUE then return mt.getreply(conn) end
	mt.header(conn, "From", from)
	mt.header(conn, "Subject", subject)
	mt.header(conn, "Message-ID", mid)
	if body then mt.bodystring(conn, body) end
	return SMFIR_CONTINUE
end

-- 1. a shared address: ticketed, headers added, Subject tagged
local conn = mt.connect(sock)
assert(conn, "connect")
msg(conn, "Q1", "<anna@asiakas.example>", {"<tuki@yritys.example>"},
    "Apua", "<a1@asiakas.example>", "hello\r\n")
mt.eom(conn)
assert(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT,
    "1: not accepted")
assert(mt.eom_check(conn, MT_HDRADD, "X-Tiketti-Ticket", "1"), "1: X-Tiketti-Ticket")
assert(mt.eom_check(conn, MT_HDRADD, "X-Tiketti-Status", "new"), "1: X-Tiketti-Status")
assert(mt.eom_check(conn, MT_HDRCHANGE, "Subject", "Apua [Tuki #1]"), "1: Subject")

-- 2. the next message on the same connection: another address, untouched
assert(msg(conn, "Q2", "<x@muu.example>", {"<someone@muu.example>"},
    "Other", "<o1@muu.example>", nil) == SMFIR_ACCEPT, "2: not accepted at DATA")

-- 3. aborted mid-message, then a message with many recipients
msg(conn, "Q3", "<b@asiakas.example>", {"<tuki@yritys.example>"},
    "Aborted", "<b1@asiakas.example>", "half\r\n")
mt.abort(conn)
local rcpts = {}
for i = 1, 200 do rcpts[i] = "<r" .. i .. "@muu.example>" end
rcpts[201] = "<tuki@yritys.example>"
msg(conn, "Q4", "<c@asiakas.example>", rcpts, "Many", "<c1@asiakas.example>",
    string.rep("x", 65535) .. "\r\n")
mt.eom(conn)
assert(mt.eom_check(conn, MT_HDRADD, "X-Tiketti-Ticket", "2"), "4: ticket 2")

-- 4. the same message again (Postfix after a timeout): the same ticket
msg(conn, "Q5", "<c@asiakas.example>", rcpts, "Many", "<c1@asiakas.example>",
    string.rep("x", 65535) .. "\r\n")
mt.eom(conn)
assert(mt.eom_check(conn, MT_HDRADD, "X-Tiketti-Ticket", "2"), "5: duplicate")
mt.disconnect(conn)

-- 5. over message_size_limit (the test sets 2 MB): 552
conn = mt.connect(sock)
msg(conn, "Q6", "<d@asiakas.example>", {"<tuki@yritys.example>"},
    "Big", "<d1@asiakas.example>", nil)
local chunk = string.rep("y", 65534) .. "\r\n"
for i = 1, 40 do mt.bodystring(conn, chunk) end
mt.eom(conn)
assert(mt.getreply(conn) == SMFIR_REPLYCODE, "6: not refused")
mt.disconnect(conn)
print("milter protocol cases ok")
