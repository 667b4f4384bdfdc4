#!/usr/bin/env bash
# RssAnon of masd-discovery and masd-assets after warm-up (wrk, 5 s) and 30 s idle.
source "$(dirname "$0")/lib.sh"
release_build
dport=$(free_port)
aport=$(free_port)
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: discovery
      resources: [{name: discovery}]
      binds: [{address: "127.0.0.1:$dport"}]
    - name: assets
      resources: [{name: assets, path: "$BENCH_ROOT/tests/data/assets"}]
      binds: [{address: "127.0.0.1:$aport"}]
YAML
for svc in discovery assets; do
    "$BUILD/services/$svc/masd-$svc" --config "$WORK/config.yaml" 2>"$WORK/$svc.log" &
    PIDS+=($!)
done
dpid=${PIDS[0]}
apid=${PIDS[1]}
wait_port "$dport"
wait_port "$aport"
echo "at start: discovery $(rss_anon_kb "$dpid") kB, assets $(rss_anon_kb "$apid") kB"
DURATION=5 wrk_rps "http://127.0.0.1:$dport/.well-known/openid-configuration" >/dev/null
DURATION=5 wrk_rps "http://127.0.0.1:$aport/assets/app.js" -H 'Accept-Encoding: gzip' >/dev/null
echo "after warm-up: discovery $(rss_anon_kb "$dpid") kB, assets $(rss_anon_kb "$apid") kB"
sleep "${IDLE:-30}"
echo "after ${IDLE:-30} s idle: discovery $(rss_anon_kb "$dpid") kB, assets $(rss_anon_kb "$apid") kB"
