#!/bin/sh
# contrib/deps.sh [--test] — installs the Debian 12 packages tiketti needs
# to build (and with --test, to run its test suite) that are missing.
set -eu
#
# The lists are what a minbase Debian 12 root (debootstrap --variant=
# minbase bookworm) lacks, found by running the README's commands in one:
# tests/fresh-debian.sh does that in the suite, so a dependency missing
# here fails there.
#   ca-certificates  the system trust store: poll and SMTP verify TLS
#                    against it (without it every TLS server is refused)
#   git, debootstrap the suite's fresh-root stage (git archive of HEAD
#                    into a new minbase root)
#   python3-jsonschema  checks the JSON Schemas of contrib/schemas against
#                    real output (push.sh)
#   postgresql       the server the PostgreSQL tests start in a scratch
#                    directory; the package's own cluster is not made
pkgs="autoconf automake libtool pkg-config make gcc
      libgmime-3.0-dev libxml2-dev libytnef0-dev libsqlite3-dev libpq-dev libcurl4-gnutls-dev libetpan-dev
      libmilter-dev libical-dev libjansson-dev ca-certificates"
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs libcmocka-dev faketime python3 sqlite3 valgrind
	      clang libclang-rt-14-dev postfix miltertest swaks bc
	      dovecot-imapd openssl isync chromium git debootstrap
	      postgresql python3-jsonschema"
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
# Postfix (for its smtp-sink and the milter tests) must not ask questions
# or start a mail system of its own; Dovecot is started by the tests, in
# a scratch directory, on free ports.
echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections
# Nor PostgreSQL a cluster of its own on port 5432: the tests make theirs.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" \
	    >/etc/postgresql-common/createcluster.conf
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
