#!/bin/sh
# bench/milter.sh [SESSIONS] [MESSAGES] — what the milter costs Postfix:
# `smtp-source -s SESSIONS -m MESSAGES` (default 10 and 2000) through a
# real Postfix on loopback to an smtp-sink, once without a milter and
# once with `tiketti milter` (every message to the shared address, so
# every one becomes a ticket), in one run. A third pass sends to an
# address that is not shared, which the milter accepts at DATA
# untouched: what the milter protocol alone (libmilter, Postfix's round
# trips) costs, apart from tiketti's work. A fourth pass sends mail
# from an agent's address to a customer, with no ticket tag and no
# thread: the milter receives the whole message (every header and the
# body, over libmilter), parses it and looks it up, and lets it pass
# untouched, writing nothing: what seeing the message costs before any
# ticket is written. A fifth pass puts OpenDKIM (Debian's opendkim,
# signing every message with a test key) on the same Postfix and the
# same load instead: the milter most Postfix hosts already run, for
# comparison. The five passes run in turn ROUNDS times (default 3).
# Prints the medians of messages/second accepted and delivered and of
# the whole machine's CPU time per message for each, the ratios, the
# milter process's own CPU time per message (tiketti's and OpenDKIM's,
# from /proc), each round's figures, and the milter's added latency at
# end-of-message (median and p99, from the "in N ms" of its own log).
# Targets: with the milter, at least 80% of the throughput; tiketti's
# own CPU per message no more than OpenDKIM's.
# Needs root (Postfix's master), Postfix and opendkim (apt-get install
# opendkim opendkim-tools); see tests/servers.sh.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sessions=${1:-10}
n=${2:-2000}
rounds=${ROUNDS:-3}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: Postfix needs root"; exit 1; }
command -v opendkim >/dev/null && command -v opendkim-genkey >/dev/null || {
	echo "bench: opendkim is not installed (apt-get install opendkim opendkim-tools)"
	exit 1
}
. "$top/tests/servers.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
MPID=
DPID=
trap 'postfix_down; sink_down; [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$DIR"' EXIT
chmod 711 "$DIR"
mkdir -p "$DIR/state"
chmod 777 "$DIR/state"
SPORT=$(freeport)
RPORT=$(freeport)
MPORT=$(freeport)
cat >"$DIR/tiketti.conf" <<EOF
database = $DIR/state/t.db
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = $DIR/rules
milter_socket = unix:$DIR/state/milter.sock
milter_user = nobody
milter_pid_file = $DIR/state/milter.pid

[agent anna]
address = anna@yritys.example
EOF
mkdir -p "$DIR/rules"

now() { date +%s.%N; }
# All the machine's CPU time so far (user, nice, system, irq, softirq), in
# clock ticks: under load, the cost of a message for everything on it.
cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
# pcpu PID: the CPU time (user and system) of one process so far, in
# clock ticks; 0 without a process. Its name in parentheses may hold
# spaces: the fields are counted from its end.
pcpu() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# run OUT FROM RCPT [MILTER [MILTER-PID]]: one pass; appends "accepted/s
# delivered/s CPU-ms/message milter-CPU-ms/message" to OUT.
run() {
	rm -rf "$DIR/pf" "$DIR/sink"
	sink_up "$RPORT" "$DIR/sink"
	postfix_up "$SPORT" "$RPORT" "${4:-}" || {
		echo "bench: Postfix did not start"
		cat "$DIR/pf/start.log" "$DIR/pf/maillog" 2>/dev/null
		exit 1
	}
	# The previous pass's files (spooled mail, the sink's copies) go to
	# disk now, not during this pass.
	sync
	c0=$(cpu)
	p0=$(pcpu "${5:-}")
	t0=$(now)
	smtp-source -s "$sessions" -m "$n" -l 2048 -f "$2" -t "$3" \
	    -S "Benchmark" "127.0.0.1:$SPORT"
	t1=$(now)
	waitfiles "$DIR/sink" "$n" 600 || echo "bench: not all mail arrived"
	t2=$(now)
	c1=$(cpu)
	p1=$(pcpu "${5:-}")
	postfix_down
	sink_down
	echo "$(echo "$n / ($t1 - $t0)" | bc -l) $(echo "$n / ($t2 - $t0)" | bc -l)" \
	    "$(echo "($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $n" | bc -l)" \
	    "$(echo "($p1 - $p0) * 1000 / $(getconf CLK_TCK) / $n" | bc -l)" >>"$1"
}

"$tiketti" -c "$DIR/tiketti.conf" milter -d >"$DIR/milter.log" 2>&1 &
MPID=$!
for _ in $(seq 50); do [ -S "$DIR/state/milter.sock" ] && break; sleep 0.1; done
chmod 666 "$DIR/state/milter.sock"
# OpenDKIM signing the sender's domain with a fresh 2048-bit test key.
mkdir -p "$DIR/dkim"
opendkim-genkey -b 2048 -d asiakas.example -s bench -D "$DIR/dkim"
DPORT=$(freeport)
cat >"$DIR/dkim/opendkim.conf" <<EOF
Syslog no
Mode s
Domain asiakas.example
Selector bench
KeyFile $DIR/dkim/bench.private
Socket inet:$DPORT@127.0.0.1
InternalHosts 127.0.0.1
Canonicalization relaxed/simple
PidFile $DIR/dkim/opendkim.pid
# A scratch directory under /tmp: the key file is ours alone all the same.
RequireSafeKeys false
EOF
opendkim -f -x "$DIR/dkim/opendkim.conf" >"$DIR/dkim/log" 2>&1 &
DPID=$!
waitport "$DPORT" || { echo "bench: opendkim did not start"; cat "$DIR/dkim/log"; exit 1; }
# Rounds of the four passes in turn, so that a slow moment of the
# machine falls on all of them alike; medians are compared.
for _ in $(seq "$rounds"); do
	run "$DIR/without" kunde@asiakas.example tuki@yritys.example
	run "$DIR/with" kunde@asiakas.example tuki@yritys.example \
	    "unix:$DIR/state/milter.sock" "$MPID"
	run "$DIR/null" kunde@asiakas.example other@muu.example \
	    "unix:$DIR/state/milter.sock"
	run "$DIR/seen" anna@yritys.example kunde@asiakas.example \
	    "unix:$DIR/state/milter.sock"
	run "$DIR/opendkim" kunde@asiakas.example tuki@yritys.example \
	    "inet:127.0.0.1:$DPORT" "$DPID"
	signed=$(cat "$DIR"/sink/* | grep -c '^DKIM-Signature:' || :)
done
tickets=$(sqlite3 "$DIR/state/t.db" "select count(*) from tickets" 2>/dev/null || echo "?")
python3 - "$DIR" "$DIR/milter.log" "$n" "$sessions" "$rounds" "$tickets" "$signed" <<'PY'
import re, statistics, sys
d, log, n, s, rounds, tickets, signed = sys.argv[1:]
def rows(name):
    return [tuple(map(float, l.split())) for l in open(d + "/" + name)]
base, with_, null, seen, dkim = (rows("without"), rows("with"), rows("null"),
                                 rows("seen"), rows("opendkim"))
def med(rs, i):
    return statistics.median(r[i] for r in rs)
ms = sorted(float(x) for x in re.findall(r" in ([0-9.]+) ms$", open(log).read(), re.M))
def pct(p):
    return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))] if ms else float("nan")
print("smtp-source -s %s -m %s through Postfix to smtp-sink; medians of %s round(s)"
      % (s, n, rounds))
print("%-24s %14s %15s %14s" % ("", "accepted msg/s", "delivered msg/s", "CPU ms/msg"))
for name, rs in (("Postfix alone", base), ("Postfix + tiketti", with_),
                 ("Postfix + null milter", null), ("Postfix + agent mail", seen),
                 ("Postfix + OpenDKIM", dkim)):
    print("%-24s %14.0f %15.0f %14.2f" % (name, med(rs, 0), med(rs, 1), med(rs, 2)))
for name, rs, what in (("ratio, tiketti", with_, "(target: at least 80%)"),
                       ("ratio, null milter", null, "(the milter protocol alone)"),
                       ("ratio, agent mail", seen, "(the whole message seen, nothing written)")):
    print("%-24s %13.0f%% %14.0f%% %13.0f%%   %s" % (name,
        100 * med(rs, 0) / med(base, 0), 100 * med(rs, 1) / med(base, 1),
        100 * med(base, 2) / med(rs, 2), what))
print("(the CPU ratio is alone's CPU per message over the other's: the share "
      "of the throughput a CPU-bound machine keeps)")
add_tk, add_dk = med(with_, 2) - med(base, 2), med(dkim, 2) - med(base, 2)
own_tk, own_dk = med(with_, 3), med(dkim, 3)
print("the milter process's own CPU per message: tiketti %.3f ms, OpenDKIM "
      "%.3f ms (target: tiketti's no more than OpenDKIM's: %s)"
      % (own_tk, own_dk, "met" if own_tk <= own_dk else "not met"))
print("the whole machine's CPU per message over Postfix alone's: tiketti "
      "%+.2f ms, OpenDKIM %+.2f ms; OpenDKIM's last pass signed %s of %s"
      % (add_tk, add_dk, signed, n))
print("delivered msg/s by round, alone/tiketti/null/agent/OpenDKIM: " + ", ".join(
    "%.0f/%.0f/%.0f/%.0f/%.0f" % (b[1], w[1], x[1], a[1], k[1])
    for b, w, x, a, k in zip(base, with_, null, seen, dkim)))
print("milter at end-of-message: median %.1f ms, p99 %.1f ms, max %.1f ms over %d messages; %s tickets" % (
    statistics.median(ms) if ms else float("nan"), pct(99), ms[-1] if ms else float("nan"), len(ms), tickets))
PY
