#!/bin/sh
# Install every Debian package that building, testing, benchmarking and the demo need.
# Idempotent; runs as root or through sudo. Installing database packages must not start
# system services: tests start their own throwaway instances.
set -eu

BUILD="build-essential pkg-config libevent-dev libssl-dev libsodium-dev libjansson-dev
	libinih-dev libhiredis-dev libpg-query-dev libyaml-dev check libpq-dev libmariadb-dev"
TEST="postgresql-15 postgresql-client-15 postgresql-contrib mariadb-server mariadb-client
	redis-server redis-tools pgbouncer python3 python3-psycopg2 python3-psycopg
	python3-asyncpg python3-pymysql python3-mysqldb python3-cryptography python3-botocore
	libpostgresql-jdbc-java libmariadb-java
	default-jdk-headless curl openssl procps iproute2 valgrind"
BENCH="wrk hyperfine sysbench"
FUZZ="clang libclang-rt-14-dev"

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi

missing=
for p in $BUILD $TEST $BENCH $FUZZ; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
if [ -z "$missing" ]; then
	echo "deps.sh: all packages present"
	exit 0
fi

# Keep package scripts from starting database services on this machine.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	own_policy=1
fi
cleanup() { [ -z "$own_policy" ] || $SUDO rm -f "$policy"; }
trap cleanup EXIT

echo "deps.sh: installing$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq \
	install --no-install-recommends $missing
