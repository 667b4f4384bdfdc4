#!/usr/bin/env bash
# Compat password logins per second (SQLite) against the argon2id bound on this machine: argon2id
# hashes per second with MAS's parameters (m=19456 KiB, t=2, p=1) on one thread, which is what
# masd gives password hashing (one low-priority thread). Rate limits are lifted for the run; 4
# concurrent clients, the hashing queue's size, so the measure is throughput, not 429s.
source "$(dirname "$0")/lib.sh"
release_build
export SECRET=bench-shared-secret
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/key.pem" 2>/dev/null
port=$(free_port)
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: oauth
      resources: [{name: compat}]
      binds: [{address: "127.0.0.1:$port"}]
database: {uri: "sqlite://$WORK/masd.db"}
matrix: {homeserver: example.com, secret: "$SECRET"}
secrets:
  encryption: "$(openssl rand -hex 32)"
  keys: [{key_file: "$WORK/key.pem"}]
rate_limiting:
  login:
    per_ip: {burst: 1000000, per_second: 1000000}
    per_account: {burst: 1000000, per_second: 1000000}
YAML
"$BUILD/tools/masctl" -c "$WORK/config.yaml" database migrate >/dev/null 2>&1
"$BUILD/tools/masctl" -c "$WORK/config.yaml" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
"$BUILD/services/oauth/masd-oauth" --config "$WORK/config.yaml" 2>"$WORK/oauth.log" &
PIDS+=($!)
wait_port "$port"

# The bound: sequential argon2id hashes on one thread, through masd's own password code,
# measured before and after the logins (the mean is the bound).
bound_once() { "$BUILD/bench/argon2_bound" "${N:-40}" | awk '{for (i = 1; i <= NF; i++) if ($i == "hashes/s") print $(i-1)}'; }
b1=$(bound_once)
out=$(wrk -t1 -c4 -d"${DURATION:-10}"s --latency -s "$BENCH_ROOT/bench/login.lua" "http://127.0.0.1:$port/_matrix/client/v3/login")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
b2=$(bound_once)
bound=$(echo "scale=2; ($b1 + $b2) / 2" | bc)
ok=$(grep -c '"POST /_matrix/client/v3/login" 200' "$WORK/oauth.log" || true)
busy=$(grep -c '"POST /_matrix/client/v3/login" 429' "$WORK/oauth.log" || true)
echo "argon2id bound (one thread): $bound hashes/s (before $b1, after $b2)"
echo "logins: $rps req/s answered ($ok succeeded, $busy answered 429 while the hashing queue was full)"
echo "successful logins/s: $(echo "scale=2; $ok / ${DURATION:-10}" | bc); ratio to the bound: $(echo "scale=2; $ok / ${DURATION:-10} / $bound" | bc)"
awk '$1 == "Latency" && NF >= 4 {print "latency avg " $2 ", max " $4; exit}' <<<"$out"; awk '/^ +99%/ {print "p99 " $2}' <<<"$out"
