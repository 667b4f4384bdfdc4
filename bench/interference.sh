#!/usr/bin/env bash
# Interference: introspection p99 while a storm of compat password logins runs, against its p99
# with no storm, in the same run (interleaved rounds, median ratio; target <= 2x), and the login
# latency p99 during the storm. One masd-oauth (SQLite), default rate limits: introspection on a
# plain listener; the logins on a second listener with proxy_protocol: true, each on a new
# connection whose PROXY v2 header names a random client address (bench/storm.lua), so the per-IP
# limit does not turn the storm into 429s; USERS accounts drawn at random (the per-account limit
# likewise). STORM_CONNS (default 16, 4x the hashing queue) clients; a 429 from the full hashing
# queue is honoured (the client waits retry_after_ms). Every login creates its device on the
# stand-in homeserver.
#   ROUNDS=5 DURATION=10 bench/interference.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
USERS=${USERS:-20}
STORM_CONNS=${STORM_CONNS:-16}
DURATION=${DURATION:-10}
release_build
bench_header
export SECRET=bench-shared-secret
export PASSWORD="correct horse battery staple"
users=()
for i in $(seq "$USERS"); do users+=("storm$i"); done
start_standin "$SECRET" "${users[@]}"
ip=$(free_port)
lp=$(free_port)
oauth_config "$WORK/config.yaml" "sqlite://$WORK/masd.db" "$ip"
python3 - "$WORK/config.yaml" "$lp" <<'PY'
import sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("database:", f"""    - name: logins
      resources: [{{name: compat}}]
      proxy_protocol: true
      binds: [{{address: "127.0.0.1:{port}"}}]
database:""", 1)
open(p, "w").write(s)
PY
"$BUILD/tools/masctl" -c "$WORK/config.yaml" database migrate >/dev/null 2>&1
for u in "${users[@]}"; do
    "$BUILD/tools/masctl" -c "$WORK/config.yaml" manage register-user -y -p "$PASSWORD" "$u" >/dev/null 2>&1
done
"$BUILD/bench/sessions_fill" "sqlite://$WORK/masd.db" "${SESSIONS:-10000}" "$WORK/tokens" >/dev/null
bg "$WORK/oauth.log" "$BUILD/services/oauth/masd-oauth" --config "$WORK/config.yaml"
wait_port "$ip"
wait_port "$lp"
iurl=http://127.0.0.1:$ip/oauth2/introspect
lurl=http://127.0.0.1:$lp/_matrix/client/v3/login
introspect() { TOKENS=$WORK/tokens wrk_stats "$iurl" -s "$BENCH_ROOT/bench/introspect.lua"; }
storm() { # SECONDS: the storm's wrk output in $WORK/storm.out
    USERS=$USERS wrk -t1 -c"$STORM_CONNS" -d"$1"s --latency -s "$BENCH_ROOT/bench/storm.lua" "$lurl" >"$WORK/storm.out" 2>&1
}
# One storm login must succeed first (PROXY header accepted, device created).
USERS=$USERS wrk -t1 -c1 -d1s -s "$BENCH_ROOT/bench/storm.lua" "$lurl" >/dev/null 2>&1
sleep 0.5
grep -q '"POST /_matrix/client/v3/login" 200' "$WORK/oauth.log" || { echo "no storm login succeeded:" >&2; tail -5 "$WORK/oauth.log" >&2; exit 1; }
DURATION=3 introspect >/dev/null
ri=() lp99=()
for i in $(seq "$ROUNDS"); do
    read -r q q50 q99 qbad <<<"$(introspect)"
    ok0=$(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 200)
    busy0=$(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 429)
    storm $((DURATION + 3)) &
    spid=$!
    sleep 1.5
    read -r s s50 s99 sbad <<<"$(introspect)"
    wait "$spid"
    sleep 0.3
    ok=$(($(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 200) - ok0))
    busy=$(($(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 429) - busy0))
    read -r lr l50 l99 lbad <<<"$(wrk_parse <"$WORK/storm.out")"
    ri+=("$(ratio "$s99" "$q99")")
    lp99+=("$l99")
    echo "round $i: introspection idle $q req/s (p50 $q50 ms, p99 $q99 ms), during the storm $s req/s (p50 $s50 ms, p99 $s99 ms): p99 ratio $(ratio "$s99" "$q99"); storm: $ok logins 200 ($(echo "scale=1; $ok / ($DURATION + 3)" | bc)/s), $busy 429 (hashing queue full), login p50 $l50 ms, p99 $l99 ms; introspection non-2xx $qbad $sbad"
done
echo "median introspection p99 ratio storm/idle: $(printf '%s\n' "${ri[@]}" | median) (target <= 2)"
echo "median login p99 during the storm: $(printf '%s\n' "${lp99[@]}" | median) ms"
echo "login statuses over the run: $(grep -o '"POST /_matrix/client/v3/login" [0-9]*' "$WORK/oauth.log" | sort | uniq -c | awk '{printf "%s x %s; ", $4, $1}')"
echo "login client addresses logged (distinct): $(grep '"POST /_matrix/client/v3/login"' "$WORK/oauth.log" | awk '{print $4}' | sort -u | wc -l)"
bench_footer
