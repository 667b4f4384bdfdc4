#!/usr/bin/env bash
# POST /oauth2/token (services/oauth/token.c), all in the same run, interleaved rounds, medians of
# the per-round ratios, p99 of each:
#   - client_credentials grants/s: masd-oauth (a static confidential client, client_secret_basic)
#     on SQLite and on PostgreSQL against oidc-provider's client_credentials (bench/node) and
#     nginx answering a fixed 200 (the throughput and p99 reference);
#   - refresh_token grants/s, every request presenting a fresh valid refresh token (both rotate
#     it): masd's sessions made up front by bench/oauth_fill (the storage layer), oidc-provider's
#     minted through its own models at start-up (server.mjs REFRESH_COUNT); wrk walks each list
#     once (bench/token.lua), a new slice per run;
#   - complete authorization-code flows/s (authorize → consent page → consent POST → token,
#     PKCE, public client) by bench/flows.mjs, FLOW_CONC loops sharing one browser session,
#     against masd-human + masd-oauth on SQLite; the per-step latencies.
#   ROUNDS=3 DURATION=5 bench/token.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
PER_RUN_MASD=${PER_RUN_MASD:-10000} # refresh tokens per masd run (more than DURATION s can use)
PER_RUN_OIDC=${PER_RUN_OIDC:-8000}
FLOW_CONC=${FLOW_CONC:-16}
release_build
bench_header
PG_DIR=/tmp/masd-bench-pg.$$ # outside $WORK: the cluster belongs to nobody
pg_uri=$("$BENCH_ROOT/tests/pg.sh" start "$PG_DIR")
trap '"$BENCH_ROOT/tests/pg.sh" stop "$PG_DIR" >/dev/null; cleanup' EXIT
export SECRET=bench-shared-secret
start_standin "$SECRET"
CONF=01HQ8Z4ZQ0ABCDEFGHJKMNPCNF # confidential, client_secret_basic
CONF_SECRET=bench-client-secret-0123456789
PUB=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS # public, PKCE (the code flows)
RU=http://127.0.0.1:9/callback
PW='correct horse battery staple'
SCOPE='openid urn:matrix:org.matrix.msc2967.client:api:*' # an ID token with every code exchange
MASD_BASIC=$(printf '%s:%s' "$CONF" "$CONF_SECRET" | base64 -w0)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null
ENC=$(openssl rand -hex 32)
runs=$((ROUNDS + 1)) # slices of refresh tokens per target: the warm-up, then one per round

config() { # FILE DB-URI OAUTH-PORT HUMAN-PORT
    cat >"$1" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{address: "127.0.0.1:$3"}]
    - name: human
      resources: [{name: human}]
      binds: [{address: "127.0.0.1:$4"}]
database: {uri: "$2"}
matrix: {homeserver: example.com, secret: "$SECRET", endpoint: "$HS_ENDPOINT"}
clients:
  - client_id: $CONF
    client_auth_method: client_secret_basic
    client_secret: "$CONF_SECRET"
    redirect_uris: [$RU]
  - client_id: $PUB
    client_auth_method: none
    redirect_uris: [$RU]
rate_limiting: # every code-flow run signs the one user in once
  login: {per_account: {burst: 100, per_second: 10}, per_ip: {burst: 100, per_second: 10}}
secrets:
  encryption: "$ENC"
  keys: [{key_file: "$WORK/rsa.pem"}, {key_file: "$WORK/ec.pem"}]
YAML
}
setup() { # NAME URI: config, schema, clients, user, refresh tokens in slices, masd-oauth (and masd-human) started
    local name=$1 uri=$2 cfg=$WORK/$1.yaml op hp
    op=$(free_port)
    hp=$(free_port)
    config "$cfg" "$uri" "$op" "$hp"
    { "$BUILD/tools/masctl" -c "$cfg" database migrate && "$BUILD/tools/masctl" -c "$cfg" config sync &&
        "$BUILD/tools/masctl" -c "$cfg" manage register-user -y -p "$PW" --ignore-password-complexity bench; } >"$WORK/$name.masctl.log" 2>&1 ||
        { tail "$WORK/$name.masctl.log" >&2; exit 1; }
    "$BUILD/bench/oauth_fill" "$uri" "$CONF" bench $((runs * PER_RUN_MASD + 1)) "$WORK/$name.rt" >&2
    tail -n 1 "$WORK/$name.rt" >"$WORK/$name.rt.check"
    split -d -a 2 -l "$PER_RUN_MASD" "$WORK/$name.rt" "$WORK/$name.rt."
    bg "$WORK/$name.oauth.log" "$BUILD/services/oauth/masd-oauth" --config "$cfg"
    wait_port "$op"
    # as deployed: masd-worker checkpoints SQLite's WAL every second (storage_sqlite.c); without
    # it the service itself empties a 64 MB WAL now and then, behind its writes
    bg "$WORK/$name.worker.log" "$BUILD/services/worker/masd-worker" --config "$cfg"
    eval "${name}_op=$op ${name}_hp=$hp"
    if [ "$name" = sqlite ]; then
        bg "$WORK/$name.human.log" "$BUILD/services/human/masd-human" --config "$cfg"
        wait_port "$hp"
    fi
}
setup sqlite "sqlite://$WORK/masd.db"
setup pg "$pg_uri"
# shellcheck disable=SC2154 # set by setup through eval
{ url_s="http://127.0.0.1:$sqlite_op/oauth2/token" url_p="http://127.0.0.1:$pg_op/oauth2/token" human_s="http://127.0.0.1:$sqlite_hp" oauth_s="http://127.0.0.1:$sqlite_op"; }
np=$(free_port)
start_nginx "server { listen 127.0.0.1:$np; location / { default_type application/json; return 200 '{\"access_token\":\"x\",\"token_type\":\"Bearer\",\"expires_in\":300}'; } }"
wait_port "$np"
url_n="http://127.0.0.1:$np/oauth2/token"
# oidc-provider mints its refresh tokens before it listens (a few thousand a second).
OIDC_PORT=$(free_port)
OIDC_BASIC=$(printf '%s:%s' "$OIDC_CLIENT" "$OIDC_SECRET" | base64 -w0)
[ -d "$BENCH_ROOT/bench/node/node_modules/oidc-provider" ] || (cd "$BENCH_ROOT/bench/node" && npm ci --no-audit --no-fund >/dev/null 2>&1)
bg "$WORK/oidc.stderr" env NODE_ENV=production node "$BENCH_ROOT/bench/node/server.mjs" "$OIDC_PORT" "$WORK/oidc-access.log" \
    $((runs * PER_RUN_OIDC + 1)) "$WORK/oidc.rt"
for _ in $(seq 600); do [ -s "$WORK/oidc.rt" ] && break; sleep 0.5; done
wait_port "$OIDC_PORT"
url_o="http://127.0.0.1:$OIDC_PORT/token"
tail -n 1 "$WORK/oidc.rt" >"$WORK/oidc.rt.check"
split -d -a 2 -l "$PER_RUN_OIDC" "$WORK/oidc.rt" "$WORK/oidc.rt."

# Every target answers both grants before anything is measured.
grant() { # URL BASIC BODY
    curl -sf -H "Authorization: Basic $2" -d "$3" "$1" | grep -q '"access_token"'
}
for t in "sqlite $url_s $MASD_BASIC" "pg $url_p $MASD_BASIC" "oidc $url_o $OIDC_BASIC"; do
    read -r name url basic <<<"$t"
    grant "$url" "$basic" grant_type=client_credentials || { echo "$name: client_credentials failed" >&2; exit 1; }
    grant "$url" "$basic" "grant_type=refresh_token&refresh_token=$(cat "$WORK/$name.rt.check")" ||
        { echo "$name: refresh_token failed" >&2; exit 1; }
done
echo "refresh tokens: $PER_RUN_MASD per masd run ($((runs * PER_RUN_MASD + 1)) sessions per backend), $PER_RUN_OIDC per oidc-provider run"

# run GRANT NAME URL BASIC SLICE: "rps p50 p99 non2xx"
run() {
    GRANT=$1 AUTH="Basic $4" TOKENS="$WORK/$2.rt.$(printf %02d "$5")" THREADS=${WRK_THREADS:-2} \
        wrk_stats "$3" -s "$BENCH_ROOT/bench/token.lua"
}
# Warm-up (oidc-provider's JIT, every cache), not counted: slice 00.
for t in "sqlite $url_s $MASD_BASIC" "pg $url_p $MASD_BASIC" "oidc $url_o $OIDC_BASIC"; do
    read -r name url basic <<<"$t"
    DURATION=3 run client_credentials "$name" "$url" "$basic" 0 >/dev/null
    DURATION=3 run refresh_token "$name" "$url" "$basic" 0 >/dev/null
done
DURATION=3 run client_credentials sqlite "$url_n" x 0 >/dev/null
for g in client_credentials refresh_token; do
    rso=() rpo=() rsn=() lso=() lpo=()
    for i in $(seq "$ROUNDS"); do
        read -r s _ s99 sbad <<<"$(run $g sqlite "$url_s" "$MASD_BASIC" "$i")"
        read -r o _ o99 obad <<<"$(run $g oidc "$url_o" "$OIDC_BASIC" "$i")"
        read -r p _ p99 pbad <<<"$(run $g pg "$url_p" "$MASD_BASIC" "$i")"
        read -r n _ n99 nbad <<<"$(run client_credentials sqlite "$url_n" x "$i")"
        rso+=("$(ratio "$s" "$o")")
        rpo+=("$(ratio "$p" "$o")")
        rsn+=("$(ratio "$s" "$n")")
        lso+=("$(ratio "$s99" "$o99")")
        lpo+=("$(ratio "$p99" "$o99")")
        echo "$g round $i: masd sqlite $s grants/s (p99 $s99 ms), masd postgresql $p (p99 $p99 ms), oidc-provider $o (p99 $o99 ms), nginx return 200 $n req/s (p99 $n99 ms); non-2xx: $sbad $pbad $obad $nbad"
    done
    echo "$g: median throughput ratio sqlite/oidc-provider $(printf '%s\n' "${rso[@]}" | median), postgresql/oidc-provider $(printf '%s\n' "${rpo[@]}" | median), sqlite/nginx $(printf '%s\n' "${rsn[@]}" | median)"
    echo "$g: median p99 ratio sqlite/oidc-provider $(printf '%s\n' "${lso[@]}" | median), postgresql/oidc-provider $(printf '%s\n' "${lpo[@]}" | median)"
done

# Complete code flows (masd-human + masd-oauth, SQLite).
flows() { node "$BENCH_ROOT/bench/flows.mjs" "$human_s" "$oauth_s" "$PUB" "$RU" "$SCOPE" bench "$PW" "$FLOW_CONC" "$1"; }
flows 3 >/dev/null # warm-up
fr=()
for i in $(seq "$ROUNDS"); do
    j=$(flows "$DURATION")
    fr+=("$(node -e 'console.log(JSON.parse(process.argv[1]).flows_per_s)' "$j")")
    echo "code flows round $i ($FLOW_CONC loops): $j"
done
echo "code flows: median $(printf '%s\n' "${fr[@]}" | median) flows/s"
sleep 0.5
echo "access log lines: masd-oauth sqlite $(grep -c ' access: ' "$WORK/sqlite.oauth.log"), postgresql $(grep -c ' access: ' "$WORK/pg.oauth.log"), masd-human $(grep -c ' access: ' "$WORK/sqlite.human.log"), oidc-provider $(wc -l <"$WORK/oidc-access.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
bench_footer
