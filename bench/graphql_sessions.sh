#!/usr/bin/env bash
# GraphQL: the account page's sessions query,
#   viewer { ... on User { appSessions(first: 6) { edges { node { __typename ... } } totalCount } } }
# for a user with 1,000 app sessions (compat and OAuth in turn, bench/app_sessions_fill), POSTed
# with the user's session cookie straight to masd-human (SQLite), against nginx answering the same
# bytes from memory (`return 200 '…'`) in the same run; both log every request. Interleaved
# rounds of wrk (2 threads, 64 connections, --latency), the median of the per-round ratios; then
# masd-human's RssAnon idle.
#   ROUNDS=5 DURATION=5 SESSIONS=1000 bench/graphql_sessions.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
SESSIONS=${SESSIONS:-1000}
release_build
bench_header

port=$(free_port)
PW='correct horse battery staple'
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "http://127.0.0.1:$port/"
  listeners:
    - name: human
      resources: [{name: human}, {name: graphql}]
      binds: [{address: "127.0.0.1:$port"}]
database: {uri: "sqlite://$WORK/masd.db"}
matrix: {homeserver: example.com, secret: bench, endpoint: "http://127.0.0.1:9/"}
passwords: {minimum_complexity: 0}
secrets:
  encryption: "$(openssl rand -hex 32)"
YAML
M=("$BUILD/tools/masctl" -c "$WORK/config.yaml")
"${M[@]}" database migrate >/dev/null
"${M[@]}" manage register-user -y -p "$PW" bench >/dev/null 2>&1
"$BUILD/bench/app_sessions_fill" "sqlite://$WORK/masd.db" bench "$SESSIONS"
bg "$WORK/masd.log" "$BUILD/services/human/masd-human" --config "$WORK/config.yaml"
HUMAN_PID=$BG_PID
wait_port "$port"
rss_start=$(rss_anon_kb "$HUMAN_PID")
base=http://127.0.0.1:$port
# sign in as bench: the login form's CSRF token, then the form
curl -sf -c "$WORK/jar" "$base/login" >"$WORK/login.html"
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -n 1)
curl -s -o /dev/null -b "$WORK/jar" -c "$WORK/jar" --data-urlencode "csrf=$csrf" --data-urlencode username=bench \
    --data-urlencode "password=$PW" "$base/login"
export BENCH_COOKIE="session=$(awk '$6 == "session" {print $7}' "$WORK/jar")"
export BENCH_ORIGIN=$base
export BENCH_BODY='{"query":"query AppSessionsList { viewer { __typename ... on User { id appSessions(first: 6) { edges { cursor node { __typename ... on CompatSession { id deviceId createdAt lastActiveAt lastActiveIp humanName userAgent { name os model deviceType } } ... on Oauth2Session { id scope createdAt lastActiveAt lastActiveIp humanName userAgent { name os model deviceType } client { id clientId clientName } } } } totalCount pageInfo { hasNextPage endCursor } } } } }"}'
curl -sf -H 'Content-Type: application/json' -H "Origin: $BENCH_ORIGIN" -H "Cookie: $BENCH_COOKIE" \
    --data-binary "$BENCH_BODY" "$base/graphql" >"$WORK/answer.json"
python3 - "$WORK/answer.json" "$SESSIONS" <<'PY' || { cat "$WORK/answer.json" >&2; exit 1; }
import json, sys
a = json.load(open(sys.argv[1]))
s = a["data"]["viewer"]["appSessions"]
assert "errors" not in a and len(s["edges"]) == 6 and s["totalCount"] == int(sys.argv[2]), a
PY
echo "answer: $(wc -c <"$WORK/answer.json") bytes, 6 of $SESSIONS sessions"
nport=$(free_port)
body=$(python3 -c 'import sys; t = open(sys.argv[1]).read(); print(t.replace("\\", "\\\\").replace(chr(39), "\\" + chr(39)).replace("\n", "\\n"))' "$WORK/answer.json")
start_nginx "server { listen 127.0.0.1:$nport; location = /graphql { default_type 'application/json'; return 200 '$body'; } }"
wait_port "$nport"
url_m=$base/graphql
url_n=http://127.0.0.1:$nport/graphql
cmp <(curl -s --data-binary "$BENCH_BODY" "$url_n") "$WORK/answer.json" || { echo "nginx does not return the same bytes" >&2; exit 1; }
lua=$BENCH_ROOT/bench/graphql_sessions.lua
for u in "$url_m" "$url_n"; do DURATION=2 wrk_rps "$u" -s "$lua" >/dev/null; done # warm-up
rn=()
cpu=() # masd-human's CPU time per request (user + system), which the machine's other load does not skew
for i in $(seq "$ROUNDS"); do
    c0=$(cpu_ms "$HUMAN_PID") l0=$(grep -c ' access: ' "$WORK/masd.log" || true)
    read -r m _ m99 mbad <<<"$(wrk_stats "$url_m" -s "$lua")"
    sleep 0.2
    c1=$(cpu_ms "$HUMAN_PID") l1=$(grep -c ' access: ' "$WORK/masd.log" || true)
    cpu+=("$(echo "scale=1; ($c1 - $c0) * 1000 / ($l1 - $l0)" | bc)")
    read -r n _ n99 nbad <<<"$(wrk_stats "$url_n" -s "$lua")"
    rn+=("$(ratio "$m" "$n")")
    echo "round $i: masd-human $m req/s (p99 $m99 ms, ${cpu[-1]} µs CPU a request), nginx $n req/s (p99 $n99 ms); ratio $(ratio "$m" "$n"); non-2xx $mbad $nbad"
done
echo "median masd-human CPU a request: $(printf '%s\n' "${cpu[@]}" | median) µs"
echo "median ratio masd-human/nginx: $(printf '%s\n' "${rn[@]}" | median)"
sleep 1
echo "masd-human RssAnon: $rss_start KiB after start-up, $(rss_anon_kb "$HUMAN_PID") KiB idle after the load"
echo "access log lines: masd $(grep -c ' access: ' "$WORK/masd.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
bench_footer
