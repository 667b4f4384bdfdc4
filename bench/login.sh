#!/usr/bin/env bash
# Compat password logins per second (SQLite) against the argon2id bound on this machine: argon2id
# hashes per second with MAS's parameters (m=19456 KiB, t=2, p=1) on one thread, which is what
# masd gives password hashing (one low-priority thread). Rate limits are lifted for the run; 4
# concurrent clients, the hashing queue's size, so the measure is throughput, not 429s.
#
# Each login creates its device on the stand-in homeserver (tests/homeserver/standin.py, Synapse's
# /_synapse/mas/upsert_device) before it answers. Its share of the cost is reported twice: the CPU
# time the stand-in spent per login against masd-oauth's, and the latency of one upsert_device
# call measured alone (sequential calls on one keep-alive connection) against the login latency.
#   DURATION=10 bench/login.sh
source "$(dirname "$0")/lib.sh"
release_build
bench_header
export SECRET=bench-shared-secret
start_standin "$SECRET" bench
port=$(free_port)
oauth_config "$WORK/config.yaml" "sqlite://$WORK/masd.db" "$port" "rate_limiting:
  login:
    per_ip: {burst: 1000000, per_second: 1000000}
    per_account: {burst: 1000000, per_second: 1000000}"
"$BUILD/tools/masctl" -c "$WORK/config.yaml" database migrate >/dev/null 2>&1
"$BUILD/tools/masctl" -c "$WORK/config.yaml" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
bg "$WORK/oauth.log" "$BUILD/services/oauth/masd-oauth" --config "$WORK/config.yaml"
opid=$BG_PID
wait_port "$port"
url=http://127.0.0.1:$port/_matrix/client/v3/login
body='{"type":"m.login.password","identifier":{"type":"m.id.user","user":"bench"},"password":"correct horse battery staple"}'
code=$(curl -s -o "$WORK/first.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" "$url")
[ "$code" = 200 ] || { echo "the first login answered $code: $(cat "$WORK/first.json")" >&2; exit 1; }

# The bound: sequential argon2id hashes on one thread, through masd's own password code,
# measured before and after the logins (the mean is the bound).
bound_once() { "$BUILD/bench/argon2_bound" "${N:-40}" | awk '{for (i = 1; i <= NF; i++) if ($i == "hashes/s") print $(i-1)}'; }
b1=$(bound_once)
ok0=$(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 200)
devs0=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["users"]["bench"]["devices"]))' "$WORK/hs/state.json")
c_o=$(cpu_ms "$opid") c_h=$(cpu_ms "$HS_PID")
out=$(wrk -t1 -c4 -d"${DURATION:-10}"s --latency -s "$BENCH_ROOT/bench/login.lua" "$url")
c_o=$(($(cpu_ms "$opid") - c_o)) c_h=$(($(cpu_ms "$HS_PID") - c_h))
b2=$(bound_once)
bound=$(echo "scale=2; ($b1 + $b2) / 2" | bc)
sleep 0.5 # the logger thread drains
ok=$(($(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 200) - ok0))
busy=$(access_lines "$WORK/oauth.log" 'POST /_matrix/client/v3/login' 429)
devs=$(($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["users"]["bench"]["devices"]))' "$WORK/hs/state.json") - devs0))
read -r rps p50 p99 bad <<<"$(wrk_parse <<<"$out")"
echo "argon2id bound (one thread): $bound hashes/s (before $b1, after $b2)"
echo "logins: $rps req/s answered ($ok succeeded, $busy answered 429 while the hashing queue was full); devices created on the stand-in: $devs"
echo "successful logins/s: $(echo "scale=2; $ok / ${DURATION:-10}" | bc); ratio to the bound: $(echo "scale=2; $ok / ${DURATION:-10} / $bound" | bc)"
echo "login latency p50 $p50 ms, p99 $p99 ms"
echo "CPU per successful login: masd-oauth $(echo "scale=1; $c_o / $ok" | bc) ms, stand-in homeserver $(echo "scale=1; $c_h / $ok" | bc) ms (stand-in share of the CPU: $(echo "scale=2; $c_h / ($c_o + $c_h)" | bc))"

# One upsert_device alone: the wall time a login spends waiting for the homeserver.
python3 - "$HS_PORT" "$SECRET" <<'PY'
import http.client, json, sys, time
port, secret = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + secret, "Content-Type": "application/json"}
n, t0 = 200, time.monotonic()
for i in range(n):
    c.request("POST", "/_synapse/mas/upsert_device", json.dumps({"localpart": "bench", "device_id": "UPSERT%d" % (i % 20)}).encode(), h)
    r = c.getresponse(); r.read()
    assert r.status in (200, 201), r.status
print("one upsert_device on the stand-in, alone: %.2f ms" % ((time.monotonic() - t0) * 1000 / n))
PY
bench_footer
