#!/usr/bin/env bash
# Discovery document throughput: masd-discovery vs nginx returning the same bytes from memory.
# Both log every request. Runs are interleaved; the ratio reported is the median of per-round
# ratios. Also prints masd-discovery's RssAnon after warm-up and 30 s idle.
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
release_build

mport=$(free_port)
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: discovery
      resources: [{name: discovery}]
      binds: [{address: "127.0.0.1:$mport"}]
YAML
"$BUILD/services/discovery/masd-discovery" --config "$WORK/config.yaml" 2>"$WORK/masd.log" &
mpid=$!
PIDS+=($mpid)
wait_port "$mport"
url_m="http://127.0.0.1:$mport/.well-known/openid-configuration"
curl -s "$url_m" >"$WORK/doc.json"
nport=$(free_port)
body=$(sed "s/'/\\\\'/g" "$WORK/doc.json")
start_nginx "server { listen 127.0.0.1:$nport; location = /.well-known/openid-configuration { default_type application/json; return 200 '$body'; } }"
wait_port "$nport"
url_n="http://127.0.0.1:$nport/.well-known/openid-configuration"
cmp <(curl -s "$url_n") "$WORK/doc.json" || { echo "nginx does not return the same bytes" >&2; exit 1; }

DURATION=2 wrk_rps "$url_m" >/dev/null
DURATION=2 wrk_rps "$url_n" >/dev/null
ratios=()
for i in $(seq "$ROUNDS"); do
    m=$(wrk_rps "$url_m")
    n=$(wrk_rps "$url_n")
    r=$(echo "scale=3; $m / $n" | bc)
    ratios+=("$r")
    echo "round $i: masd-discovery $m req/s, nginx $n req/s, ratio $r"
done
echo "median ratio masd-discovery/nginx: $(printf '%s\n' "${ratios[@]}" | median)"
echo "masd-discovery RssAnon under load end: $(rss_anon_kb "$mpid") kB"
sleep "${IDLE:-30}"
echo "masd-discovery RssAnon after ${IDLE:-30} s idle: $(rss_anon_kb "$mpid") kB"
echo "access log lines written by masd: $(grep -c ' access: ' "$WORK/masd.log")"
