#!/usr/bin/env bash
# tests/run: alone
# The SQLite WAL stays bounded under a flood of unauthenticated logins: wrk sends wrong-password
# logins for random user names from random IPv6 /64 networks (X-Forwarded-For from the trusted
# proxy address), so every request writes new rate-limit rows, for FLOOD_SECONDS (default 20)
# while masd-worker runs its checkpoints. The WAL's size is sampled every 0.2 s; it must stay
# within WAL_BOUND_MIB (default 96: the 64 MiB hard bound of common/storage.h, where a
# committing service truncates it, plus what the flood writes while that checkpoint waits for
# the write lock: ~100 MiB/s here, so 1/3 s of headroom). Before the bound, the same flood grew
# the WAL to 1.5 GiB. Prints the request rate and the peak (bench/RESULTS.md quotes it).
# It measures, so it runs once, with the first build: under the sanitizers the flood is a fifth as
# strong, and the services' C paths under a flood run under ASan in reliability.sh.
# tests/run: once
. "$(dirname "$0")/lib.sh"
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
WORKER_BIN=$BUILD/services/worker/masd-worker
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$OAUTH_BIN" "$WORKER_BIN" "$MASCTL_BIN"
command -v wrk >/dev/null || { fail_check "wrk is installed" "apt-get install wrk"; finish; }
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
WAL_BOUND_MIB=${WAL_BOUND_MIB:-96}

homeserver_start shared-secret || finish
PORT=$(free_port)
DB=$T/masd.db
cat >"$T/config.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  trusted_proxies: [127.0.0.1/32]
  listeners:
    - name: oauth
      resources: [{name: compat}, {name: health}]
      binds: [{address: "127.0.0.1:$PORT"}]
database:
  uri: "sqlite://$DB"
matrix:
  homeserver: example.com
  secret: shared-secret
  endpoint: $HS_ENDPOINT
$(secrets_yaml)
EOF
if ! "$MASCTL_BIN" -c "$T/config.yaml" database migrate >"$T/logs/migrate.log" 2>&1; then
    fail_check "masctl database migrate" "$(cat "$T/logs/migrate.log")"
    finish
fi
masd_start oauth "$OAUTH_BIN" "$T/config.yaml" 127.0.0.1:$PORT || finish
spawn worker "$T/logs/worker.log" "$WORKER_BIN" --config "$T/config.yaml" --threads 1

# Each wrk thread seeds its own generator (LuaJIT's is not seeded per thread).
cat >"$T/flood.lua" <<'EOF'
local n = 0
function setup(thread)
    n = n + 1
    thread:set("id", n)
end
function init(args)
    math.randomseed(id * 7919 + os.time())
end
function request()
    local a, b = math.random(0, 65535), math.random(0, 65535)
    local xff = string.format("2001:db8:%x:%x::%x", a, b, math.random(1, 65535))
    local body = string.format('{"type":"m.login.password","identifier":{"type":"m.id.user","user":"u%x%x%x"},"password":"wrong"}',
        a, b, math.random(0, 65535))
    return wrk.format("POST", "/_matrix/client/v3/login",
        {["Content-Type"] = "application/json", ["X-Forwarded-For"] = xff}, body)
end
EOF

# sample: the WAL's size every 0.2 s until $T/stop-sampling exists; the peak in bytes at the end.
sample()
{
    local peak=0 s
    while [ ! -e "$T/stop-sampling" ]; do
        s=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
        [ "$s" -gt "$peak" ] && peak=$s
        sleep 0.2
    done
    echo "$peak"
}
sample >"$T/peak" &
SAMPLER=$!
wrk -t 2 -c 32 -d "${FLOOD_SECONDS}s" --latency -s "$T/flood.lua" "http://127.0.0.1:$PORT" >"$T/wrk.out" 2>&1
touch "$T/stop-sampling"
wait "$SAMPLER"
PEAK=$(cat "$T/peak")
RPS=$(awk '/Requests\/sec/ {print $2}' "$T/wrk.out")
TOTAL=$(awk '/requests in/ {print $1}' "$T/wrk.out")
ROWS=$(sqlite3 "$DB" 'SELECT count(*) FROM rate_limits' 2>/dev/null || echo '?')
note "flood: $TOTAL requests in ${FLOOD_SECONDS} s ($RPS/s), WAL peak $((PEAK / 1048576)) MiB ($PEAK bytes), rate_limits rows now $ROWS"
grep -h 'WAL' "${LOG_OF[oauth]}" "$T/logs/worker.log" | tail -n 5 | sed 's/^/# /'
check "the flood ran (wrk sent requests)" eval "[ \"\${TOTAL:-0}\" -gt 0 ] || { cat $T/wrk.out; false; }"
check "the WAL stayed within $WAL_BOUND_MIB MiB under a ${FLOOD_SECONDS} s login flood (peak $((PEAK / 1048576)) MiB)" \
    eval "[ $PEAK -le $((WAL_BOUND_MIB * 1048576)) ]"
http alive "http://127.0.0.1:$PORT/_matrix/client/v3/login"
check "masd-oauth still answers after the flood" expect_eq "$(status "$T/alive.h")" 200
stop worker TERM 10
check "masd-worker exits 0 on SIGTERM" expect_eq "$STOP_STATUS" 0
check "masd-worker logged no sanitizer report" sanitizer_clean "${LOG_OF[worker]}"
masd_stop oauth
finish
