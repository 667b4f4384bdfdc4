#!/usr/bin/env bash
# Introspection of valid compat tokens drawn at random from many sessions, on SQLite and on
# PostgreSQL, against oidc-provider introspecting a valid opaque token (bench/node), and nginx
# answering a fixed 200 (the throughput and p99 reference), all in the same run: interleaved
# rounds, per-round ratios, medians reported. bench/introspect_cost.sh counts instructions.
#
# Sessions: ISSUED (default 50) through `masctl manage issue-compatibility-token` (the real path,
# each creating its device on the stand-in homeserver), then FILL (default 10000) more through
# bench/sessions_fill (the storage layer, in large transactions); tokens are drawn from all.
#   ROUNDS=5 DURATION=5 bench/introspect.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
ISSUED=${ISSUED:-50}
FILL=${FILL:-10000}
release_build
bench_header
PG_DIR=/tmp/masd-bench-pg.$$ # outside $WORK: the cluster belongs to nobody
pg_uri=$("$BENCH_ROOT/tests/pg.sh" start "$PG_DIR")
trap '"$BENCH_ROOT/tests/pg.sh" stop "$PG_DIR" >/dev/null; cleanup' EXIT
export SECRET=bench-shared-secret
start_standin "$SECRET" bench

setup() { # NAME URI PORT: config, schema, user, sessions and tokens, masd-oauth started
    local name=$1 uri=$2 port=$3 cfg=$WORK/$1.yaml i
    oauth_config "$cfg" "$uri" "$port"
    "$BUILD/tools/masctl" -c "$cfg" database migrate >/dev/null 2>&1
    "$BUILD/tools/masctl" -c "$cfg" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
    for i in $(seq "$ISSUED"); do
        "$BUILD/tools/masctl" -c "$cfg" manage issue-compatibility-token bench "DEV$i" 2>>"$WORK/$name.masctl.log"
    done >"$WORK/$name.tokens"
    [ "$(grep -c '^mct_' "$WORK/$name.tokens")" = "$ISSUED" ] || { echo "masctl issued too few tokens:" >&2; tail "$WORK/$name.masctl.log" >&2; exit 1; }
    "$BUILD/bench/sessions_fill" "$uri" "$FILL" "$WORK/$name.tokens" >&2
    bg "$WORK/$name.log" "$BUILD/services/oauth/masd-oauth" --config "$cfg"
    wait_port "$port"
}
sp=$(free_port)
pp=$(free_port)
np=$(free_port)
setup sqlite "sqlite://$WORK/masd.db" "$sp"
setup pg "$pg_uri" "$pp"
start_nginx "server { listen 127.0.0.1:$np; location / { return 200 '{\"active\":true}'; } }"
wait_port "$np"
start_oidc
oidc_token >"$WORK/oidc.tokens"

# Every target answers active for its tokens before anything is measured.
active() { # URL AUTH TOKEN
    curl -sf -H "Authorization: $2" -d "token=$3&token_type_hint=access_token" "$1" | grep -q '"active":true'
}
for name in sqlite pg; do
    port=$([ $name = sqlite ] && echo "$sp" || echo "$pp")
    for t in $(head -n 1 "$WORK/$name.tokens") $(tail -n 1 "$WORK/$name.tokens"); do
        active "http://127.0.0.1:$port/oauth2/introspect" "Bearer $SECRET" "$t" || { echo "$name: token $t is not active" >&2; exit 1; }
    done
done
active "http://127.0.0.1:$OIDC_PORT/token/introspection" "Basic $OIDC_BASIC" "$(cat "$WORK/oidc.tokens")" ||
    { echo "oidc-provider: the token is not active" >&2; exit 1; }
echo "tokens: $(wc -l <"$WORK/sqlite.tokens") (sqlite), $(wc -l <"$WORK/pg.tokens") (postgresql), drawn at random from $((ISSUED + FILL)) sessions each"

run() { # NAME URL TOKENS [AUTH]
    AUTH=${4:-} TOKENS=$3 wrk_stats "$2" -s "$BENCH_ROOT/bench/introspect.lua"
}
# Warm-up (oidc-provider's JIT, every cache), not counted.
for t in "sqlite http://127.0.0.1:$sp/oauth2/introspect $WORK/sqlite.tokens" "pg http://127.0.0.1:$pp/oauth2/introspect $WORK/pg.tokens" "nginx http://127.0.0.1:$np/ $WORK/sqlite.tokens"; do
    # shellcheck disable=SC2086
    DURATION=3 run $t >/dev/null
done
DURATION=3 run oidc "http://127.0.0.1:$OIDC_PORT/token/introspection" "$WORK/oidc.tokens" "Basic $OIDC_BASIC" >/dev/null
declare -a rs rp ls lp ns np
for i in $(seq "$ROUNDS"); do
    read -r s s50 s99 sbad <<<"$(run sqlite "http://127.0.0.1:$sp/oauth2/introspect" "$WORK/sqlite.tokens")"
    read -r o o50 o99 obad <<<"$(run oidc "http://127.0.0.1:$OIDC_PORT/token/introspection" "$WORK/oidc.tokens" "Basic $OIDC_BASIC")"
    read -r p p50 p99 pbad <<<"$(run pg "http://127.0.0.1:$pp/oauth2/introspect" "$WORK/pg.tokens")"
    read -r n n50 n99 nbad <<<"$(run nginx "http://127.0.0.1:$np/" "$WORK/sqlite.tokens")"
    rs+=("$(ratio "$s" "$o")")
    rp+=("$(ratio "$p" "$o")")
    ns+=("$(ratio "$s" "$n")")
    np+=("$(ratio "$p" "$n")")
    ls+=("$(ratio "$s99" "$n99")")
    lp+=("$(ratio "$p99" "$n99")")
    echo "round $i: sqlite $s req/s (p50 $s50 ms, p99 $s99 ms), postgresql $p req/s (p50 $p50, p99 $p99), oidc-provider $o req/s (p50 $o50, p99 $o99), nginx return 200 $n req/s (p50 $n50, p99 $n99); non-2xx: $sbad $pbad $obad $nbad"
done
echo "median throughput ratio sqlite/nginx: $(printf '%s\n' "${ns[@]}" | median) (target >= 0.6); postgresql/nginx: $(printf '%s\n' "${np[@]}" | median) (target >= 0.3)"
echo "median throughput ratio sqlite/oidc-provider: $(printf '%s\n' "${rs[@]}" | median) (target >= 15)"
echo "median throughput ratio postgresql/oidc-provider: $(printf '%s\n' "${rp[@]}" | median) (target >= 8)"
echo "median p99 ratio sqlite/nginx: $(printf '%s\n' "${ls[@]}" | median); postgresql/nginx: $(printf '%s\n' "${lp[@]}" | median) (target <= 2)"
# p99 at a fixed offered load below every target's capacity (64 connections, one request per
# PACE_MS each: about 64000/PACE_MS req/s), where latency is service time, not queueing behind a
# saturated server (Little's law: at saturation, latency = connections / throughput).
PACE_MS=${PACE_MS:-20}
ps=() pp99=()
for i in $(seq "$ROUNDS"); do
    read -r s s50 s99 sbad <<<"$(PACE_MS=$PACE_MS run sqlite "http://127.0.0.1:$sp/oauth2/introspect" "$WORK/sqlite.tokens")"
    read -r p p50 p99 pbad <<<"$(PACE_MS=$PACE_MS run pg "http://127.0.0.1:$pp/oauth2/introspect" "$WORK/pg.tokens")"
    read -r n n50 n99 nbad <<<"$(PACE_MS=$PACE_MS run nginx "http://127.0.0.1:$np/" "$WORK/sqlite.tokens")"
    ps+=("$(ratio "$s99" "$n99")")
    pp99+=("$(ratio "$p99" "$n99")")
    echo "paced round $i (${PACE_MS} ms between requests per connection): sqlite $s req/s (p50 $s50, p99 $s99 ms), postgresql $p req/s (p50 $p50, p99 $p99 ms), nginx $n req/s (p50 $n50, p99 $n99 ms)"
done
echo "paced: median p99 ratio sqlite/nginx: $(printf '%s\n' "${ps[@]}" | median); postgresql/nginx: $(printf '%s\n' "${pp99[@]}" | median)"
echo "access log lines: masd sqlite $(access_lines "$WORK/sqlite.log" 'POST /oauth2/introspect' 200), masd postgresql $(access_lines "$WORK/pg.log" 'POST /oauth2/introspect' 200), oidc-provider $(access_lines "$WORK/oidc-access.log" 'POST /token/introspection' 200), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
bench_footer
