#!/usr/bin/env bash
# A 200 KB JavaScript asset, gzip variant: masd-assets against nginx with gzip_static, both
# serving tests/data/assets/app.js (200,472 bytes) and its app.js.gz sibling (18 KB) to clients
# that send Accept-Encoding: gzip. Both log every request. Interleaved rounds, median ratio.
#   ROUNDS=5 DURATION=5 bench/assets.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
release_build
bench_header
ASSETS=$WORK/assets
cp -r "$BENCH_ROOT/tests/data/assets" "$ASSETS"
chmod -R a+rX "$ASSETS"
mport=$(free_port)
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: assets
      resources: [{name: assets, path: "$ASSETS"}]
      binds: [{address: "127.0.0.1:$mport"}]
YAML
bg "$WORK/masd.log" "$BUILD/services/assets/masd-assets" --config "$WORK/config.yaml"
wait_port "$mport"
nport=$(free_port)
start_nginx "types { application/javascript js; } server { listen 127.0.0.1:$nport; location /assets/ { alias $ASSETS/; gzip_static on; } }"
wait_port "$nport"
url_m="http://127.0.0.1:$mport/assets/app.js"
url_n="http://127.0.0.1:$nport/assets/app.js"
for u in "$url_m" "$url_n"; do
    curl -sf -H 'Accept-Encoding: gzip' -D "$WORK/h" -o "$WORK/b" "$u"
    grep -qi '^content-encoding: gzip' "$WORK/h" || { echo "$u: not the gzip variant" >&2; cat "$WORK/h" >&2; exit 1; }
    cmp "$WORK/b" "$ASSETS/app.js.gz" || { echo "$u: not the bytes of app.js.gz" >&2; exit 1; }
done
echo "asset: app.js $(wc -c <"$ASSETS/app.js") bytes, served as app.js.gz $(wc -c <"$ASSETS/app.js.gz") bytes by both"

for u in "$url_m" "$url_n"; do DURATION=2 wrk_rps "$u" -H 'Accept-Encoding: gzip' >/dev/null; done
rs=()
for i in $(seq "$ROUNDS"); do
    read -r m _ m99 mbad <<<"$(wrk_stats "$url_m" -H 'Accept-Encoding: gzip')"
    read -r n _ n99 nbad <<<"$(wrk_stats "$url_n" -H 'Accept-Encoding: gzip')"
    rs+=("$(ratio "$m" "$n")")
    echo "round $i: masd-assets $m req/s (p99 $m99 ms), nginx gzip_static $n req/s (p99 $n99 ms), ratio $(ratio "$m" "$n"); non-2xx $mbad $nbad"
done
echo "median ratio masd-assets/nginx gzip_static: $(printf '%s\n' "${rs[@]}" | median) (target >= 0.9)"
sleep 0.5
echo "access log lines: masd $(grep -c ' access: ' "$WORK/masd.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
bench_footer
