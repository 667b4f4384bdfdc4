#!/usr/bin/env bash
# Discovery document throughput: masd-discovery against nginx returning the same bytes from
# memory (`return 200 '…'`), and against oidc-provider's own discovery document (bench/node, a
# reference OAuth server). All three log every request. Runs are interleaved; the ratios reported
# are the medians of the per-round ratios.
#   ROUNDS=5 DURATION=5 bench/discovery.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
release_build
bench_header

mport=$(free_port)
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: discovery
      resources: [{name: discovery}]
      binds: [{address: "127.0.0.1:$mport"}]
YAML
bg "$WORK/masd.log" "$BUILD/services/discovery/masd-discovery" --config "$WORK/config.yaml"
wait_port "$mport"
url_m="http://127.0.0.1:$mport/.well-known/openid-configuration"
curl -sf "$url_m" >"$WORK/doc.json"
nport=$(free_port)
body=$(sed "s/'/\\\\'/g" "$WORK/doc.json")
start_nginx "server { listen 127.0.0.1:$nport; location = /.well-known/openid-configuration { default_type application/json; return 200 '$body'; } }"
wait_port "$nport"
url_n="http://127.0.0.1:$nport/.well-known/openid-configuration"
cmp <(curl -s "$url_n") "$WORK/doc.json" || { echo "nginx does not return the same bytes" >&2; exit 1; }
start_oidc
url_o="http://127.0.0.1:$OIDC_PORT/.well-known/openid-configuration"
curl -sf "$url_o" >"$WORK/oidc-doc.json"
echo "documents: masd $(wc -c <"$WORK/doc.json") bytes, nginx the same bytes, oidc-provider $(wc -c <"$WORK/oidc-doc.json") bytes"

for u in "$url_m" "$url_n" "$url_o"; do DURATION=3 wrk_rps "$u" >/dev/null; done # warm-up (JIT, caches)
rn=() ro=()
for i in $(seq "$ROUNDS"); do
    read -r m _ m99 mbad <<<"$(wrk_stats "$url_m")"
    read -r n _ n99 nbad <<<"$(wrk_stats "$url_n")"
    read -r o _ o99 obad <<<"$(wrk_stats "$url_o")"
    rn+=("$(ratio "$m" "$n")")
    ro+=("$(ratio "$m" "$o")")
    echo "round $i: masd-discovery $m req/s (p99 $m99 ms), nginx $n req/s (p99 $n99 ms), oidc-provider $o req/s (p99 $o99 ms); ratios $(ratio "$m" "$n") $(ratio "$m" "$o"); non-2xx $mbad $nbad $obad"
done
echo "median ratio masd-discovery/nginx: $(printf '%s\n' "${rn[@]}" | median) (target >= 0.9)"
echo "median ratio masd-discovery/oidc-provider: $(printf '%s\n' "${ro[@]}" | median)"
sleep 0.5
echo "access log lines: masd $(grep -c ' access: ' "$WORK/masd.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log"), oidc-provider $(wc -l <"$WORK/oidc-access.log")"
bench_footer
