#!/usr/bin/env bash
# A private PostgreSQL server for the storage tests, from Debian's postgresql package.
#
#   tests/pg.sh start DIR   initdb a cluster in DIR (created, must not exist), start it on a UNIX
#                           socket in DIR/sock only (listen_addresses = '': no TCP at all) with a
#                           random private port number, create the database "masd", print the
#                           URI for MASD_TEST_PG_URI on stdout
#   tests/pg.sh stop DIR    stop that server (by the PID in its postmaster.pid) and remove DIR
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to `nobody` and every
# PostgreSQL program runs through runuser. Environment: PG_BIN (default
# /usr/lib/postgresql/15/bin).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

as_pg()
{
    if [ "$(id -u)" = 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

start()
{
    [ -x "$PG_BIN/initdb" ] || { echo "$PG_BIN/initdb not found: apt-get install postgresql" >&2; exit 1; }
    mkdir "$dir"
    [ "$(id -u)" = 0 ] && chown nobody: "$dir"
    chmod 700 "$dir"
    as_pg mkdir "$dir/sock"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U masd --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    # A port number only names the socket file (.s.PGSQL.<port>); retry if another test run
    # happens to use the same one.
    local port tries=0
    while :; do
        port=$((20000 + RANDOM % 30000))
        if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses='' -k $dir/sock -p $port -c max_connections=200 -c shared_buffers=32MB" \
            start >"$dir/pg_ctl.log" 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 5 ]; then
            cat "$dir/pg_ctl.log" "$dir/server.log" >&2 || true
            exit 1
        fi
    done
    as_pg "$PG_BIN/createdb" -h "$dir/sock" -p "$port" -U masd masd
    echo "postgresql://masd@/masd?host=$dir/sock&port=$port"
}

stop()
{
    [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case $cmd in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
