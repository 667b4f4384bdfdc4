#!/usr/bin/env bash
# RssAnon (/proc/PID/status) of each service: at start, under load, after warm-up and IDLE (30) s
# idle, and under two floods held for FLOOD_SECONDS (default 8) each: CONNS (default 4000, under
# the 4096 connection cap) connections that send half a PROXY v2 header (to a listener with
# proxy_protocol: true), then BODY_CONNS (default 1000) connections that send a request head with
# Content-Length BODY (default 1,000,000: above masd-oauth's 64 KiB cap, so it answers 413 at
# once; discovery and assets take 1 KiB) and half of that body (bench/flood.py), then, for
# masd-oauth, the same with Content-Length CAP_BODY (default 65,536: the largest it reads). The peak
# is sampled every 0.2 s. Services: masd-discovery, masd-assets, masd-oauth (SQLite, 10,000
# sessions), masd-worker (no listener: idle only). Targets: <= 8 MB idle, <= 64 MB under floods.
#   bench/memory.sh
source "$(dirname "$0")/lib.sh"
IDLE=${IDLE:-30}
CONNS=${CONNS:-4000}
BODY_CONNS=${BODY_CONNS:-1000} # each holds ~BODY/2 in masd: 1000 x 500 KB is already 500 MB
BODY=${BODY:-1000000}
FLOOD_SECONDS=${FLOOD_SECONDS:-8}
release_build
bench_header
ulimit -n "$(ulimit -Hn)" # the flood client holds CONNS sockets
export SECRET=bench-shared-secret
start_standin "$SECRET" bench
ASSETS=$WORK/assets
cp -r "$BENCH_ROOT/tests/data/assets" "$ASSETS"
declare -A PORT PPORT PID
for s in discovery assets oauth; do PORT[$s]=$(free_port) PPORT[$s]=$(free_port); done
listener() { # NAME RESOURCES PORT PROXY
    printf '    - name: %s\n      resources: %s\n      proxy_protocol: %s\n      binds: [{address: "127.0.0.1:%s"}]\n' "$1" "$2" "$4" "$3"
}
oauth_config "$WORK/config.yaml" "sqlite://$WORK/masd.db" "${PORT[oauth]}"
python3 - "$WORK/config.yaml" "$(
    listener oauth-proxy '[{name: oauth}, {name: compat}]' "${PPORT[oauth]}" true
    listener discovery '[{name: discovery}]' "${PORT[discovery]}" false
    listener discovery-proxy '[{name: discovery}]' "${PPORT[discovery]}" true
    listener assets "[{name: assets, path: \"$ASSETS\"}]" "${PORT[assets]}" false
    listener assets-proxy "[{name: assets, path: \"$ASSETS\"}]" "${PPORT[assets]}" true
)" <<'PY'
import sys
p, extra = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("database:", extra + "\ndatabase:", 1)
open(p, "w").write(s)
PY
"$BUILD/tools/masctl" -c "$WORK/config.yaml" database migrate >/dev/null 2>&1
"$BUILD/tools/masctl" -c "$WORK/config.yaml" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
"$BUILD/bench/sessions_fill" "sqlite://$WORK/masd.db" 10000 "$WORK/tokens" >/dev/null
for s in discovery assets oauth; do
    bg "$WORK/$s.log" "$BUILD/services/$s/masd-$s" --config "$WORK/config.yaml"
    PID[$s]=$BG_PID
done
bg "$WORK/worker.log" "$BUILD/services/worker/masd-worker" --config "$WORK/config.yaml"
PID[worker]=$BG_PID
for s in discovery assets oauth; do wait_port "${PORT[$s]}"; done
sleep 0.5
SERVICES="discovery assets oauth worker"
rss_all() { local s; for s in $SERVICES; do printf '%s %s kB, ' "masd-$s" "$(rss_anon_kb "${PID[$s]}")"; done; echo; }
echo "at start: $(rss_all)"

url_d=http://127.0.0.1:${PORT[discovery]}/.well-known/openid-configuration
url_a=http://127.0.0.1:${PORT[assets]}/assets/app.js
url_o=http://127.0.0.1:${PORT[oauth]}/oauth2/introspect
LOAD_PIDS=()
load() { # SECONDS: all three services under wrk at once, logins too
    local d=$1
    DURATION=$d WRK_THREADS=1 WRK_CONNS=32 wrk_stats "$url_d" >/dev/null &
    LOAD_PIDS+=($!)
    DURATION=$d WRK_THREADS=1 WRK_CONNS=32 wrk_stats "$url_a" -H 'Accept-Encoding: gzip' >/dev/null &
    LOAD_PIDS+=($!)
    TOKENS=$WORK/tokens DURATION=$d WRK_THREADS=1 WRK_CONNS=32 wrk_stats "$url_o" -s "$BENCH_ROOT/bench/introspect.lua" >/dev/null &
    LOAD_PIDS+=($!)
    wrk -t1 -c4 -d"$d"s -s "$BENCH_ROOT/bench/login.lua" "http://127.0.0.1:${PORT[oauth]}/_matrix/client/v3/login" >/dev/null &
    LOAD_PIDS+=($!)
}
# peak SERVICE... over SECONDS: the highest RssAnon of each, sampled every 0.2 s
peak() {
    local secs=$1 s i
    shift
    declare -A max
    for i in $(seq $((secs * 5))); do
        for s in "$@"; do
            local v
            v=$(rss_anon_kb "${PID[$s]}")
            [ "${max[$s]:-0}" -ge "$v" ] || max[$s]=$v
        done
        sleep 0.2
    done
    for s in "$@"; do printf 'masd-%s %s kB, ' "$s" "${max[$s]}"; done
    echo
}
load 10
echo "under load (peak over 8 s of wrk on all three, logins included): $(sleep 1; peak 8 discovery assets oauth worker)"
wait "${LOAD_PIDS[@]}"
echo "after warm-up: $(rss_all)"
sleep "$IDLE"
echo "after $IDLE s idle: $(rss_all)"

for s in discovery assets oauth; do
    python3 "$BENCH_ROOT/bench/flood.py" 127.0.0.1 "${PPORT[$s]}" proxy "$CONNS" "$FLOOD_SECONDS" >"$WORK/flood.out" &
    fp=$!
    p=$(peak $((FLOOD_SECONDS - 1)) "$s")
    wait "$fp"
    echo "half-sent PROXY headers, masd-$s: peak $p($(cat "$WORK/flood.out"))"
done
for s in discovery assets oauth; do
    case $s in discovery) path=/.well-known/openid-configuration ;; assets) path=/assets/app.js ;; oauth) path=/oauth2/introspect ;; esac
    python3 "$BENCH_ROOT/bench/flood.py" 127.0.0.1 "${PORT[$s]}" body "$BODY_CONNS" "$FLOOD_SECONDS" "$BODY" "$path" >"$WORK/flood.out" &
    fp=$!
    p=$(peak $((FLOOD_SECONDS - 1)) "$s")
    wait "$fp"
    echo "half-sent request bodies ($BODY-byte Content-Length), masd-$s: peak $p($(cat "$WORK/flood.out"))"
done
# The worst body masd-oauth still reads: Content-Length at its 64 KiB cap, half of it sent (a
# larger one is refused at once with 413, so the flood above costs it nothing).
CAP_BODY=${CAP_BODY:-65536}
python3 "$BENCH_ROOT/bench/flood.py" 127.0.0.1 "${PORT[oauth]}" body "$BODY_CONNS" "$FLOOD_SECONDS" "$CAP_BODY" /oauth2/introspect >"$WORK/flood.out" &
fp=$!
p=$(peak $((FLOOD_SECONDS - 1)) oauth)
wait "$fp"
echo "half-sent request bodies ($CAP_BODY-byte Content-Length, masd-oauth's cap), masd-oauth: peak $p($(cat "$WORK/flood.out"))"
sleep 2
echo "after the floods: $(rss_all)"
for s in discovery assets oauth; do
    curl -sf -o /dev/null "$([ $s = oauth ] && echo "http://127.0.0.1:${PORT[oauth]}/_matrix/client/v3/login" || ([ $s = discovery ] && echo "$url_d" || echo "$url_a"))" &&
        echo "masd-$s still answers" || echo "masd-$s does NOT answer"
done
bench_footer
