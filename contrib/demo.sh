#!/bin/sh
# contrib/demo.sh [BUILD_DIR]: `make demo`. Starts a throwaway PostgreSQL 15 and `acra server`
# in front of it, shows a few psql commands going through acra, and prints how to connect.
# On a terminal it then waits for Ctrl-C; otherwise it stops everything and exits at once.
# Everything lives in a temporary directory that is removed on exit.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/.." && pwd)
ACRA_BUILD=$(cd "${1:-$ACRA_TOP/build}" && pwd)
SVC_NAME=demo
export ACRA_BUILD
. "$ACRA_TOP/t/lib/services.sh"

say() { printf '\n== %s\n' "$*"; }
show() { # CMD...: print a psql command line, then run it
	printf '$ psql -h 127.0.0.1 -p %s -U %s %s' "$ACRA_PORT" "$PG_USER" "$PG_DB"
	for _a in "$@"; do
		case $_a in
		*' '*) printf " \"%s\"" "$_a" ;;
		*) printf ' %s' "$_a" ;;
		esac
	done
	printf '\n'
	PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable "$PG_BIN/psql" -X -P pager=off -h 127.0.0.1 -p "$ACRA_PORT" \
		-U "$PG_USER" -d "$PG_DB" "$@"
}

say "Starting a throwaway PostgreSQL 15"
pg_start
echo "PostgreSQL listens on 127.0.0.1:$PG_PORT (data in $PG_DIR)"

say "Starting acra server in front of it"
echo "\$ $ACRA_BUILD/acra server --db_host=127.0.0.1 --db_port=$PG_PORT" \
	"--incoming_connection_string=tcp://127.0.0.1:<free port>/ -v"
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -v || svc_die "acra server did not start"
echo "acra server (PID $ACRA_PID) listens on 127.0.0.1:$ACRA_PORT; its log: $ACRA_LOG"

say "Talking to PostgreSQL through acra (port $ACRA_PORT, not $PG_PORT)"
show -c "SELECT current_user, inet_server_port() AS database_port, version()"
show -c "CREATE TABLE demo (id serial PRIMARY KEY, note text)"
show -c "INSERT INTO demo (note) VALUES ('hello through acra'), ('second row')"
show -c "SELECT * FROM demo ORDER BY id"

say "acra server log so far"
sed 's/^/  /' "$ACRA_LOG"

say "Connect yourself"
echo "  PGPASSWORD=$PG_PASSWORD psql \"host=127.0.0.1 port=$ACRA_PORT user=$PG_USER dbname=$PG_DB sslmode=disable\""
echo "The password was generated for this demo; the database is deleted when the demo ends."
if [ -t 0 ] && [ -t 1 ]; then
	echo
	echo "Press Ctrl-C to stop acra server and PostgreSQL and remove their files."
	while acra_alive; do sleep 1; done
	echo "acra server exited; its log:"
	cat "$ACRA_LOG"
	exit 1
fi
echo
echo "Not on a terminal: stopping acra server and PostgreSQL now."
