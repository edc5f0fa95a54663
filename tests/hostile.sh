#!/bin/sh
# Hostile mail, each piece through `tiketti ingest` with a time cap (60 s)
# and, in a build without AddressSanitizer, a memory cap (RLIMIT_AS) and a
# check of its peak memory: 10,000 nested multiparts, a 50 MB header,
# 100,000 headers, 10,000 attachments, NUL and bare CR in headers and
# body, invalid UTF-8 declared as UTF-8, encoded words split in the
# middle of a character, an empty file, a file that is not mail (each
# stored, raw and whole), and a 200 MB message (refused as over
# message_size_limit, from a file and from a pipe).
#
# The bound: peak RSS at most 64 MiB plus six times the message; for a
# message refused as too big, 64 MiB plus twice message_size_limit (read
# from a pipe up to the limit), and without reading it from a file.
. "${SRCDIR:-.}/tests/lib.sh"

need python3 sqlite3
H=$WORK/h
mkdir -p "$H"
python3 - "$H" <<'PY'
import base64, os, sys
d = sys.argv[1]
def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
def head(name, extra=b""):
    return (b"From: Hostile <hostile@asiakas.example>\n"
            b"To: support@yritys.example\nMessage-ID: <%s@hostile.example>\n"
            b"Subject: %s\n" % (name.encode(), name.encode()) + extra)
n = 10000
body = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n"
                % (i, i + 1) for i in range(n))
body += b"--b%d\nContent-Type: text/plain\n\ndeep\n--b%d--\n" % (n, n)
body += b"".join(b"--b%d--\n" % i for i in reversed(range(n)))
w("nested", head("nested", b"MIME-Version: 1.0\nContent-Type: multipart/"
                 b"mixed; boundary=\"b0\"\n\n") + body)
w("bigheader", head("bigheader", b"X-Big: " + b"a" * 50000000 + b"\n\n")
  + b"body\n")
w("headers", head("headers") + b"".join(b"X-H%d: v%d\n" % (i, i)
                                       for i in range(100000)) + b"\nbody\n")
att = b"".join(b"--z\nContent-Type: application/octet-stream; name=\"f%d.bin\""
               b"\nContent-Disposition: attachment; filename=\"f%d.bin\"\n"
               b"Content-Transfer-Encoding: base64\n\nAAECAwQF\n" % (i, i)
               for i in range(10000))
w("attachments", head("attachments", b"MIME-Version: 1.0\nContent-Type: "
                      b"multipart/mixed; boundary=\"z\"\n\n--z\nContent-Type:"
                      b" text/plain\n\nsee\n") + att + b"--z--\n")
w("nulcr", head("nulcr", b"X-Bad: a\x00b\rc\nX-Cr: one\rtwo\n\n")
  + b"body\x00with\rbare CR and NUL\r\n\x00\n")
w("badutf8", head("badutf8", b"X-Subject: =?utf-8?b?"
                  + base64.b64encode(b"\xff\xfe\xc3(") + b"?=\nMIME-Version:"
                  b" 1.0\nContent-Type: text/plain; charset=utf-8\n"
                  b"Content-Transfer-Encoding: 8bit\n\n")
  + b"\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\xbc\n")
w("splitword", head("splitword", b"X-Word: =?utf-8?q?k=C3?= "
                    b"=?utf-8?q?=A4ytt=C3=B6?=\nCc: =?utf-8?b?w6Q=?= "
                    b"=?utf-8?b?w6Q?= <x@y.example>\n\n") + b"body\n")
w("empty", b"")
w("notmail", bytes(range(256)) * 1000)
with open(os.path.join(d, "huge"), "wb") as f:
    f.write(head("huge", b"\n"))
    line = b"x" * 999 + b"\n"
    for _ in range(200000):
        f.write(line)
PY

# Under AddressSanitizer virtual memory means nothing: no cap, no bound.
asan=0
grep -q __asan_init "$TIKETTI" 2>/dev/null && asan=1
LIMIT=52428800

# run NAME [pipe]: ingests $H/NAME (through a pipe with "pipe") with the
# caps; prints "EXIT SECONDS PEAK-KIB", its stderr in $WORK/err.
run() {
	python3 - "$TIKETTI" "$WORK/tiketti.conf" "$H/$1" "${2:-}" "$asan" \
	    "$LIMIT" 2>"$WORK/err" <<'PY'
import os, resource, subprocess, sys, time
tk, conf, path, how, asan, limit = sys.argv[1:]
size = os.path.getsize(path)
def caps():
    if asan == "0":
        cap = (256 << 20) + 8 * min(size, int(limit))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
cmd = [tk, "-c", conf, "ingest"] + ([] if how == "pipe" else [path])
t = time.monotonic()
p = subprocess.Popen(cmd, preexec_fn=caps, stderr=subprocess.PIPE,
                     stdin=subprocess.PIPE if how == "pipe" else None)
if how == "pipe":
    with open(path, "rb") as f:
        try:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                p.stdin.write(b)
        except BrokenPipeError:
            pass
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
err = p.stderr.read()
_, status, ru = os.wait4(p.pid, 0)
sys.stderr.write(err.decode(errors="replace"))
print(os.waitstatus_to_exitcode(status), "%.1f" % (time.monotonic() - t),
      ru.ru_maxrss)
PY
}

cat >"$WORK/tiketti.conf" <<EOF
database = $WORK/t.db
mailboxes = support@yritys.example
message_size_limit = $LIMIT
EOF
sql() { sqlite3 "$WORK/t.db" "$1"; }

# bound NAME PEAK-KIB LIMIT-BYTES: the memory check, outside ASan.
bound() {
	[ "$asan" = 1 ] && return 0
	_max=$(( (64 << 10) + 6 * $3 / 1024 ))
	check "$1: peak memory $(($2 / 1024)) MiB within $((_max / 1024)) MiB" \
	    test "$2" -le "$_max"
}

n=0
for m in nested bigheader headers attachments nulcr badutf8 splitword \
    empty notmail; do
	set -- $(run "$m")
	n=$((n + 1))
	size=$(wc -c <"$H/$m")
	is "$m: stored (exit 0, in $2 s)" "$1" 0
	is "$m: the raw message is kept whole" \
	    "$(sql "select count(*), sum(length(r.raw)) from messages m join raw_messages r on r.message = m.id where m.id = (select max(id) from messages)")" \
	    "1|$size"
	bound "$m" "$3" "$size"
done
is "every piece has a ticket" "$(sql "select count(*) from tickets")" "$n"
is "the empty file and the not-mail are flagged unparsed" \
    "$(sql "select group_concat(subject || ':' || (flags & 1)) from messages where flags & 1")" \
    ":1,:1"
is "what a limit cut is flagged truncated" \
    "$(sql "select group_concat(subject) from messages where flags & 4")" \
    "bigheader,headers,attachments"

set -- $(run huge)
is "200 MB from a file: refused as too big (65)" "$1" 65
check "... saying why" grep -q "message is over message_size_limit ($LIMIT bytes)" "$WORK/err"
bound "200 MB from a file" "$3" 0
set -- $(run huge pipe)
is "200 MB from a pipe: refused as too big (65)" "$1" 65
bound "200 MB from a pipe" "$3" $((2 * LIMIT))
is "nothing of it stored" "$(sql "select count(*) from messages where subject = 'huge'")" 0
is "PRAGMA integrity_check" "$(sql "PRAGMA integrity_check")" ok
done_testing
