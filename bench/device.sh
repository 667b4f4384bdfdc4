#!/usr/bin/env bash
# What a waiting device costs: POST /oauth2/token with grant_type=urn:ietf:params:oauth:grant-type:
# device_code for a pending code (services/oauth/token_device.c), polls/s and p99 that one
# masd-oauth process answers, on SQLite and on PostgreSQL, in the same run as two references,
# interleaved rounds, medians of the per-round ratios:
#   - FEW (1,000) pending codes polled round-robin as fast as wrk can, the issue's setup: every
#     code is polled again long before its 5 s are up, so after the first round of the list the
#     answers are slow_down (RFC 8628 §3.5), which is the same statement as authorization_pending
#     (one UPDATE … RETURNING through the device code's unique index that records the poll),
#     with the interval growing in it;
#   - MANY (200,000) pending codes polled the same way, so that no code is polled again within
#     its interval at the rates measured here: every answer is authorization_pending, the path a
#     well-behaved device takes; the answers are counted (bench/device.lua) to show it;
#   - the references: client_credentials grants (a confidential static client, client_secret_basic:
#     a session and an access token written per request) against the same process, and nginx
#     answering the same 403 body (the ceiling of the loopback HTTP path).
# The codes are made up front through the storage layer (bench/device_fill), as POST
# /oauth2/device makes them. The clients are public (MAS's `none`), as a device is.
#   ROUNDS=3 DURATION=5 bench/device.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
FEW=${FEW:-1000}
MANY=${MANY:-200000}
release_build
bench_header
PG_DIR=/tmp/masd-bench-pg.$$ # outside $WORK: the cluster belongs to nobody
pg_uri=$("$BENCH_ROOT/tests/pg.sh" start "$PG_DIR")
trap '"$BENCH_ROOT/tests/pg.sh" stop "$PG_DIR" >/dev/null; cleanup' EXIT
export SECRET=bench-shared-secret
start_standin "$SECRET"
PUB=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS # public: the device
CONF=01HQ8Z4ZQ0ABCDEFGHJKMNPCNF # confidential, client_secret_basic: the reference
CONF_SECRET=bench-client-secret-0123456789
MASD_BASIC=$(printf '%s:%s' "$CONF" "$CONF_SECRET" | base64 -w0)
GRANT=urn:ietf:params:oauth:grant-type:device_code

setup() { # NAME URI: config, schema, clients, the pending codes, masd-oauth and masd-worker
    local name=$1 uri=$2 cfg=$WORK/$1.yaml op
    op=$(free_port)
    oauth_config "$cfg" "$uri" "$op" "clients:
  - {client_id: $PUB, client_auth_method: none}
  - {client_id: $CONF, client_auth_method: client_secret_basic, client_secret: \"$CONF_SECRET\"}"
    { "$BUILD/tools/masctl" -c "$cfg" database migrate && "$BUILD/tools/masctl" -c "$cfg" config sync; } \
        >"$WORK/$name.masctl.log" 2>&1 || { tail "$WORK/$name.masctl.log" >&2; exit 1; }
    # an hour: longer than the run, so that no code expires while it is polled
    "$BUILD/bench/device_fill" "$uri" "$PUB" "$FEW" 3600 "$WORK/$name.few" >&2
    "$BUILD/bench/device_fill" "$uri" "$PUB" "$MANY" 3600 "$WORK/$name.many" >&2
    bg "$WORK/$name.oauth.log" "$BUILD/services/oauth/masd-oauth" --config "$cfg"
    eval "${name}_pid=$BG_PID"
    wait_port "$op"
    # as deployed: masd-worker checkpoints SQLite's WAL every second
    bg "$WORK/$name.worker.log" "$BUILD/services/worker/masd-worker" --config "$cfg"
    eval "url_$name=http://127.0.0.1:$op/oauth2/token"
}
setup sqlite "sqlite://$WORK/masd.db"
setup pg "$pg_uri"
# shellcheck disable=SC2154 # set by setup through eval
{ url_s=$url_sqlite url_p=$url_pg pid_s=$sqlite_pid pid_p=$pg_pid; }
BODY='{"error":"authorization_pending","error_description":"The authorization request is still pending"}'
np=$(free_port)
start_nginx "server { listen 127.0.0.1:$np; location / { default_type application/json; return 403 '$BODY'; } }"
wait_port "$np"
url_n="http://127.0.0.1:$np/oauth2/token"

# Every target answers as expected before anything is measured.
first=$(head -n 1 "$WORK/sqlite.many")
curl -s -d "grant_type=$GRANT&client_id=$PUB&device_code=$first" "$url_s" | grep -q authorization_pending ||
    { echo "sqlite: the first poll is not authorization_pending" >&2; exit 1; }
first=$(head -n 1 "$WORK/pg.many")
curl -s -d "grant_type=$GRANT&client_id=$PUB&device_code=$first" "$url_p" | grep -q authorization_pending ||
    { echo "pg: the first poll is not authorization_pending" >&2; exit 1; }
curl -sf -H "Authorization: Basic $MASD_BASIC" -d grant_type=client_credentials "$url_s" | grep -q access_token ||
    { echo "client_credentials failed" >&2; exit 1; }

# poll URL CODES PID: "rps p50 p99 pending slow_down other cpu_us_per_request"
poll() {
    local out=$WORK/poll.out c0 c1
    c0=$(cpu_ms "$3")
    THREADS=${WRK_THREADS:-2} CODES=$2 CLIENT=$PUB wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNS:-64}" \
        -d"$DURATION"s --latency -s "$BENCH_ROOT/bench/device.lua" "$1" >"$out"
    c1=$(cpu_ms "$3")
    local stats answers n
    stats=$(wrk_parse <"$out")
    answers=$(sed -n 's/^answers: pending=\([0-9]*\) slow_down=\([0-9]*\) other=\([0-9]*\)$/\1 \2 \3/p' "$out")
    n=$(awk '/requests in/ {print $1}' "$out")
    echo "$(cut -d' ' -f1-3 <<<"$stats") $answers $(((c1 - c0) * 1000 / (n > 0 ? n : 1)))"
}
# cc URL PID: "rps p50 p99 non2xx cpu_us_per_request"
cc() {
    local c0 c1 s
    c0=$(cpu_ms "$2")
    s=$(GRANT=client_credentials AUTH="Basic $MASD_BASIC" THREADS=${WRK_THREADS:-2} \
        wrk_stats "$1" -s "$BENCH_ROOT/bench/token.lua")
    c1=$(cpu_ms "$2")
    local rps=${s%% *}
    echo "$s $(((c1 - c0) * 1000 / ${rps%.*} / DURATION))"
}
# Warm-up, not counted.
DURATION=2 poll "$url_s" "$WORK/sqlite.few" "$pid_s" >/dev/null
DURATION=2 poll "$url_p" "$WORK/pg.few" "$pid_p" >/dev/null
DURATION=2 cc "$url_s" "$pid_s" >/dev/null
DURATION=2 wrk_stats "$url_n" >/dev/null

r_sn=() r_sc=() r_pn=() l_sn=() r_fm=()
for i in $(seq "$ROUNDS"); do
    read -r sf _ sf99 sfp sfs sfo sfcpu <<<"$(poll "$url_s" "$WORK/sqlite.few" "$pid_s")"
    read -r sm _ sm99 smp sms smo smcpu <<<"$(poll "$url_s" "$WORK/sqlite.many" "$pid_s")"
    read -r pf _ pf99 pfp pfs pfo pfcpu <<<"$(poll "$url_p" "$WORK/pg.few" "$pid_p")"
    read -r pm _ pm99 pmp pms pmo pmcpu <<<"$(poll "$url_p" "$WORK/pg.many" "$pid_p")"
    read -r c _ c99 cbad ccpu <<<"$(cc "$url_s" "$pid_s")"
    read -r n _ n99 _ <<<"$(wrk_stats "$url_n")"
    echo "round $i:"
    echo "  sqlite, $FEW codes:  $sf polls/s, p99 $sf99 ms, answers pending $sfp slow_down $sfs other $sfo, masd-oauth CPU ${sfcpu} us/poll"
    echo "  sqlite, $MANY codes: $sm polls/s, p99 $sm99 ms, answers pending $smp slow_down $sms other $smo, masd-oauth CPU ${smcpu} us/poll"
    echo "  postgresql, $FEW codes:  $pf polls/s, p99 $pf99 ms, answers pending $pfp slow_down $pfs other $pfo, masd-oauth CPU ${pfcpu} us/poll"
    echo "  postgresql, $MANY codes: $pm polls/s, p99 $pm99 ms, answers pending $pmp slow_down $pms other $pmo, masd-oauth CPU ${pmcpu} us/poll"
    echo "  sqlite client_credentials: $c grants/s, p99 $c99 ms, non-2xx $cbad, masd-oauth CPU ${ccpu} us/grant"
    echo "  nginx return 403: $n req/s, p99 $n99 ms"
    r_sn+=("$(ratio "$sm" "$n")")
    r_sc+=("$(ratio "$sm" "$c")")
    r_pn+=("$(ratio "$pm" "$n")")
    r_fm+=("$(ratio "$sf" "$sm")")
    l_sn+=("$(ratio "$sm99" "$n99")")
done
echo "median ratios: sqlite pending polls / nginx $(printf '%s\n' "${r_sn[@]}" | median), sqlite pending polls / client_credentials $(printf '%s\n' "${r_sc[@]}" | median), postgresql pending polls / nginx $(printf '%s\n' "${r_pn[@]}" | median), sqlite $FEW codes (slow_down) / $MANY codes (pending) $(printf '%s\n' "${r_fm[@]}" | median)"
echo "median p99 ratio: sqlite pending polls / nginx $(printf '%s\n' "${l_sn[@]}" | median)"
bench_footer
