#!/usr/bin/env bash
# The CPU cost of one introspection as a repeatable number: instructions executed by masd-oauth
# per request (valgrind --tool=callgrind, every thread, counted only while the measured requests
# run), on SQLite and on PostgreSQL. Independent of the machine's load, unlike req/s. On
# PostgreSQL the server's own work is not in the count: the script prints the shared buffers the
# server touched per request (pg_stat_database blks_hit + blks_read), a repeatable number for it.
#
# Same data as bench/introspect.sh: ISSUED (default 50) sessions through masctl, FILL (default
# 10000) through bench/sessions_fill; N (default 2000) requests after WARM (default 200), one
# keep-alive connection, tokens drawn at random with a fixed seed, each answer checked active.
#   N=2000 bench/introspect_cost.sh
source "$(dirname "$0")/lib.sh"
ISSUED=${ISSUED:-50}
FILL=${FILL:-10000}
N=${N:-2000}
WARM=${WARM:-200}
release_build
bench_header
PG_DIR=/tmp/masd-bench-pg.$$
pg_uri=$("$BENCH_ROOT/tests/pg.sh" start "$PG_DIR")
trap '"$BENCH_ROOT/tests/pg.sh" stop "$PG_DIR" >/dev/null; cleanup' EXIT
export SECRET=bench-shared-secret
start_standin "$SECRET" bench

setup() { # NAME URI: config, schema, user, sessions and tokens
    local name=$1 uri=$2 i
    "$BUILD/tools/masctl" -c "$WORK/$name.yaml" database migrate >/dev/null 2>&1
    "$BUILD/tools/masctl" -c "$WORK/$name.yaml" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
    for i in $(seq "$ISSUED"); do
        "$BUILD/tools/masctl" -c "$WORK/$name.yaml" manage issue-compatibility-token bench "DEV$i" 2>>"$WORK/$name.masctl.log"
    done >"$WORK/$name.tokens"
    "$BUILD/bench/sessions_fill" "$uri" "$FILL" "$WORK/$name.tokens" >&2
}

# count NAME PORT: masd-oauth under callgrind, WARM requests, then N counted; prints Ir/request.
count() {
    local name=$1 port=$2 out=$WORK/$1.callgrind pid
    bg "$WORK/$name.log" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
        "$BUILD/services/oauth/masd-oauth" --config "$WORK/$name.yaml"
    pid=$BG_PID
    for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    client() { # COUNT
        python3 - "$port" "$WORK/$name.tokens" "$1" "$SECRET" <<'PY'
import http.client, random, sys
port, tokens, n, secret = int(sys.argv[1]), open(sys.argv[2]).read().split(), int(sys.argv[3]), sys.argv[4]
random.seed(1)
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + secret, "Content-Type": "application/x-www-form-urlencoded",
     "X-MAS-Supports-Device-Id": "1"}
bad = 0
for _ in range(n):
    c.request("POST", "/oauth2/introspect", "token=%s&token_type_hint=access_token" % random.choice(tokens), h)
    r = c.getresponse()
    if b'"active":true' not in r.read():
        bad += 1
sys.exit(1 if bad else 0)
PY
    }
    client "$WARM" || { echo "$name: an answer was not active" >&2; exit 1; }
    [ "$name" = pg ] && sleep 11 && b0=$(blocks) # the backends report their counts when idle 10 s
    callgrind_control -i on "$pid" >/dev/null 2>&1
    client "$N" || { echo "$name: an answer was not active" >&2; exit 1; }
    callgrind_control -i off "$pid" >/dev/null 2>&1
    stop_pid "$pid" # the backends exit and report the rest
    [ "$name" = pg ] && sleep 1 && echo "postgresql: $(echo "scale=2; ($(blocks) - $b0) / $N" | bc) shared buffers per request" >&2
    # one file holds every thread's counts (no --separate-threads); totals: is their sum while instrumented (summary: counts from the start only)
    cat "$out"* | awk -v n="$N" '/^totals:/ {s += $2} END {printf "%.0f\n", s / n}'
}

blocks() { psql "$pg_uri" -Atc "SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = current_database()"; }
sp=$(free_port)
pp=$(free_port)
oauth_config "$WORK/sqlite.yaml" "sqlite://$WORK/masd.db" "$sp"
oauth_config "$WORK/pg.yaml" "$pg_uri" "$pp"
setup sqlite "sqlite://$WORK/masd.db"
setup pg "$pg_uri"
s=$(count sqlite "$sp")
p=$(count pg "$pp")
echo "instructions per introspection (masd-oauth, all threads, N=$N after $WARM warm-up, $((ISSUED + FILL)) sessions): sqlite $s, postgresql $p"

bench_footer
