#!/usr/bin/env bash
# Introspection of valid compat tokens drawn at random from many sessions, on SQLite and on
# PostgreSQL, against nginx answering a fixed 200 in the same run (for scale). Interleaved
# rounds; ratios are per round, the median is reported.
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
SESSIONS=${SESSIONS:-200}
release_build
PG_DIR=/tmp/masd-bench-pg.$$ # outside $WORK: the cluster belongs to nobody
pg_uri=$("$BENCH_ROOT/tests/pg.sh" start "$PG_DIR")
trap '"$BENCH_ROOT/tests/pg.sh" stop "$PG_DIR"; cleanup' EXIT
export SECRET=bench-shared-secret
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/key.pem" 2>/dev/null

setup() { # NAME URI PORT: config, schema, users and tokens; prints nothing
    local name=$1 uri=$2 port=$3 cfg=$WORK/$1.yaml i
    cat >"$cfg" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{address: "127.0.0.1:$port"}]
database: {uri: "$uri"}
matrix: {homeserver: example.com, secret: "$SECRET"}
secrets:
  encryption: "$(openssl rand -hex 32)"
  keys: [{key_file: "$WORK/key.pem"}]
YAML
    "$BUILD/tools/masctl" -c "$cfg" database migrate >/dev/null 2>&1
    "$BUILD/tools/masctl" -c "$cfg" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
    for i in $(seq "$SESSIONS"); do
        "$BUILD/tools/masctl" -c "$cfg" manage issue-compatibility-token bench "DEV$i" 2>/dev/null
    done >"$WORK/$name.tokens"
    "$BUILD/services/oauth/masd-oauth" --config "$cfg" 2>"$WORK/$name.log" &
    PIDS+=($!)
    wait_port "$port"
}
sp=$(free_port)
pp=$(free_port)
np=$(free_port)
setup sqlite "sqlite://$WORK/masd.db" "$sp"
setup pg "$pg_uri" "$pp"
start_nginx "server { listen 127.0.0.1:$np; location / { return 200 '{\"active\":true}'; } }"
wait_port "$np"
echo "tokens: $(wc -l <"$WORK/sqlite.tokens") (sqlite), $(wc -l <"$WORK/pg.tokens") (postgresql)"

rps_p99() { # URL TOKENS: "rps p99ms"
    TOKENS=$2 wrk -t2 -c64 -d"${DURATION:-5}"s --latency -s "$BENCH_ROOT/bench/introspect.lua" "$1" |
        awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} END {print r, p}'
}
rs=() rp=()
for i in $(seq "$ROUNDS"); do
    read -r s sl <<<"$(rps_p99 "http://127.0.0.1:$sp/oauth2/introspect" "$WORK/sqlite.tokens")"
    read -r p pl <<<"$(rps_p99 "http://127.0.0.1:$pp/oauth2/introspect" "$WORK/pg.tokens")"
    read -r n nl <<<"$(rps_p99 "http://127.0.0.1:$np/" "$WORK/sqlite.tokens")"
    rs+=("$(echo "scale=3; $s / $n" | bc)")
    rp+=("$(echo "scale=3; $p / $n" | bc)")
    echo "round $i: sqlite $s req/s (p99 $sl), postgresql $p req/s (p99 $pl), nginx return 200 $n req/s (p99 $nl)"
done
echo "median ratio sqlite/nginx: $(printf '%s\n' "${rs[@]}" | median); postgresql/nginx: $(printf '%s\n' "${rp[@]}" | median)"
grep -h -c '"POST /oauth2/introspect" 200' "$WORK/sqlite.log" "$WORK/pg.log" | paste -sd' ' | sed 's/^/access log lines (sqlite, postgresql): /'
