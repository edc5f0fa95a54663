#!/bin/sh
# bench/rules.sh [N] [RULES] — what rules cost at ingest: `tiketti ingest
# --maildir` of N (default 10000) corpus messages into a fresh database
# (1) without rules, (2) with RULES (default 200) "on create" rules whose
# tests (header, address, body, regex, tag) are all evaluated but never
# hold (each is ANDed with false), and (3) with the same rules acting
# when they match (set, tag, note, autoreply: about two per message,
# each an event row). Target: evaluating the rules, (2), adds under 20%.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
nrules=${2:-200}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 "$top/bench/mkmaildir.py" "$top/tests/corpus" "$work/mail" "$n"
mkdir -p "$work/rules" "$work/none"
python3 - "$work/rules/50-bench.rules" "$nrules" <<'PY'
import sys
out, n = sys.argv[1], int(sys.argv[2])
words = ["invoice", "refund", "delivery", "broken", "password", "urgent",
         "reklamaatio", "lasku", "toimitus", "скарга", "order", "cancel"]
with open(out, "w") as f:
    for i in range(n):
        w = words[i % len(words)]
        kind = i % 5
        if kind == 0:
            test = 'header :subject :contains ["%s", "x%d"]' % (w, i)
        elif kind == 1:
            test = 'address :from :domain :is "d%d.example"' % i
        elif kind == 2:
            test = 'anyof (body :contains "%s %d", header :x-mailer :matches "*%d*")' % (w, i, i)
        elif kind == 3:
            test = 'allof (header :subject :regex "^(re|fw): .*%s", not tag :is "t%d")' % (w, i)
        else:
            test = 'body :contains "%s"' % w
        acts = ['tag "t%d";' % (i % 17), 'set category "c%d";' % (i % 7),
                'note "rule %d";' % i, 'autoreply "ack";'][i % 4]
        f.write('rule "r%d" { on create if %s then { %s } }\n' % (i, test, acts))
PY
mkdir -p "$work/evalonly"
sed -E 's/ if (.*) then \{/ if allof (\1, false) then {/' \
    "$work/rules/50-bench.rules" >"$work/evalonly/50-bench.rules"
cp "$top/tests/rules/templates/ack.txt" "$work/rules/"
for set in none evalonly rules; do
	printf 'database = %s/%s.db\nmailboxes = support@tiketti.test\nrules_dir = %s/%s\ntemplates_dir = %s/rules\n' \
	    "$work" "$set" "$work" "$set" "$work" >"$work/$set.conf"
done
"$tiketti" -c "$work/rules.conf" rules check >/dev/null

python3 - "$work" "$tiketti" "$n" "$nrules" <<'PY'
import os, subprocess, sys, time
work, tiketti, n, nrules = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def run(conf):
    best = None
    for _ in range(2):	# the better of two runs: less noise from the machine
        db = os.path.join(work, conf + ".db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        t = time.monotonic()
        p = subprocess.run([tiketti, "-c", os.path.join(work, conf + ".conf"),
                            "ingest", "--maildir", os.path.join(work, "mail")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.monotonic() - t
        if p.returncode != 0:
            sys.exit("bench: ingest failed: " + p.stderr.decode()[-500:])
        best = dt if best is None else min(best, dt)
    return best
t0 = run("none")
te = run("evalonly")
t1 = run("rules")
rows = subprocess.run(["sqlite3", os.path.join(work, "rules.db"),
    "select (select count(*) from events where actor like 'rule:%'),"
    " (select count(*) from outbox)"], capture_output=True, text=True).stdout.strip()
print("messages:                %d" % n)
print("ingest without rules:    %8.0f msg/s  (%.2f s)" % (n / t0, t0))
print("%s rules evaluated:     %8.0f msg/s  (%.2f s)  %+.1f%%  (target < +20%%)"
      % (nrules, n / te, te, (te / t0 - 1) * 100))
print("%s rules acting:        %8.0f msg/s  (%.2f s)  %+.1f%%  (rule events|outbox rows: %s)"
      % (nrules, n / t1, t1, (t1 / t0 - 1) * 100, rows))
PY
