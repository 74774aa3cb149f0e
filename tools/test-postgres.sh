#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: its own data folder in a temporary directory,
# listening on loopback only, run by an unprivileged user of its own when started as root.
#
#   eval "$(tools/test-postgres.sh start)"   # prints the export of CLIENTLEDGER_TEST_POSTGRES
#   tools/test-postgres.sh stop              # stops it and removes its folder
#
# The tests that need PostgreSQL read CLIENTLEDGER_TEST_POSTGRES (a postgres:// URL of a
# role that may create databases); without it they are skipped and say so.
set -euo pipefail

# CLIENTLEDGER_PG_STATE names another state file, for a second server (the crash trial has its own).
state_file="${CLIENTLEDGER_PG_STATE:-${TMPDIR:-/tmp}/clientledger-test-postgres.state}"
run_user="clientledger-pg"

bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
    echo "test-postgres: no PostgreSQL server programs found (apt-get install postgresql)" >&2
    exit 69
}

# The server outlives this script: it must not keep a descriptor the caller waits on (a
# program that starts this script may watch a pipe of its own to see it end).
close_inherited() {
    local fd
    for fd in $(ls /proc/$BASHPID/fd 2>/dev/null); do
        [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
    done
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$run_user" -- "$@"; else "$@"; fi
}

start() {
    local bin folder port
    close_inherited
    bin="$(bin_dir)"
    if [ "$(id -u)" -eq 0 ] && ! id "$run_user" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$run_user"
    fi
    folder="$(mktemp -d "${TMPDIR:-/tmp}/clientledger-pg.XXXXXX")"
    chmod 755 "$folder"
    [ "$(id -u)" -eq 0 ] && chown "$run_user" "$folder"
    as_owner "$bin/initdb" -D "$folder/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$folder/initdb.log" 2>&1 || {
        cat "$folder/initdb.log" >&2; exit 70; }
    port=55432
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$folder -c max_connections=200 -c fsync=on" \
        start >/dev/null || { cat "$folder/server.log" >&2; exit 70; }
    printf '%s\n%s\n%s\n' "$bin" "$folder" "$port" >"$state_file"
    echo "export CLIENTLEDGER_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
    [ -f "$state_file" ] || return 0
    local bin folder
    bin="$(sed -n 1p "$state_file")"
    folder="$(sed -n 2p "$state_file")"
    as_owner "$bin/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$folder" "$state_file"
}

# The crash trials: stop the server as a power cut would (no shutdown checkpoint; it
# recovers from its WAL when started again), and start it again on the same port.
crash() {
    local bin folder
    bin="$(sed -n 1p "$state_file")"
    folder="$(sed -n 2p "$state_file")"
    as_owner "$bin/pg_ctl" -D "$folder/data" -m immediate -w stop >/dev/null
}

restart() {
    local bin folder port
    close_inherited
    close_inherited
    bin="$(sed -n 1p "$state_file")"
    folder="$(sed -n 2p "$state_file")"
    port="$(sed -n 3p "$state_file")"
    as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$folder -c max_connections=200 -c fsync=on" \
        start >/dev/null
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    crash) crash ;;
    restart) restart ;;
    *) echo "usage: $0 start|stop|crash|restart" >&2; exit 64 ;;
esac
