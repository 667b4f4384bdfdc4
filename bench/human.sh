#!/usr/bin/env bash
# The login page: GET /login (no session: the page with a fresh CSRF token and its cookie)
# from masd-human against nginx returning the same bytes from memory (`return 200 '…'`), both
# logging every request; runs interleaved, the ratio is the median of the per-round ratios. Then
# masd-human's RssAnon idle (after start-up and after the load).
#   ROUNDS=5 DURATION=5 bench/human.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
release_build
bench_header

mport=$(free_port)
cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{address: "127.0.0.1:$mport"}]
database: {uri: "sqlite://$WORK/masd.db"}
matrix: {homeserver: example.com}
secrets:
  encryption: "$(openssl rand -hex 32)"
YAML
"$BUILD/tools/masctl" -c "$WORK/config.yaml" database migrate >/dev/null
bg "$WORK/masd.log" "$BUILD/services/human/masd-human" --config "$WORK/config.yaml"
HUMAN_PID=$BG_PID
wait_port "$mport"
rss_start=$(rss_anon_kb "$HUMAN_PID")
url_m="http://127.0.0.1:$mport/login"
curl -sf "$url_m" >"$WORK/page.html"
nport=$(free_port)
# one line for nginx's quoted string: backslash, quote and newline escaped (nginx reads \\n)
body=$(python3 -c 'import sys; t = open(sys.argv[1]).read(); print(t.replace("\\", "\\\\").replace(chr(39), "\\" + chr(39)).replace("\n", "\\n"))' "$WORK/page.html")
start_nginx "server { listen 127.0.0.1:$nport; location = /login { default_type 'text/html; charset=utf-8'; return 200 '$body'; } }"
wait_port "$nport"
url_n="http://127.0.0.1:$nport/login"
cmp <(curl -s "$url_n") "$WORK/page.html" || { echo "nginx does not return the same bytes" >&2; exit 1; }
echo "page: $(wc -c <"$WORK/page.html") bytes (masd's differs only in its CSRF token)"

for u in "$url_m" "$url_n"; do DURATION=3 wrk_rps "$u" >/dev/null; done # warm-up
rn=()
for i in $(seq "$ROUNDS"); do
    read -r m _ m99 mbad <<<"$(wrk_stats "$url_m")"
    read -r n _ n99 nbad <<<"$(wrk_stats "$url_n")"
    rn+=("$(ratio "$m" "$n")")
    echo "round $i: masd-human $m req/s (p99 $m99 ms), nginx $n req/s (p99 $n99 ms); ratio $(ratio "$m" "$n"); non-2xx $mbad $nbad"
done
echo "median ratio masd-human/nginx: $(printf '%s\n' "${rn[@]}" | median)"
sleep 1
echo "masd-human RssAnon: $rss_start KiB after start-up, $(rss_anon_kb "$HUMAN_PID") KiB idle after the load"
echo "access log lines: masd $(grep -c ' access: ' "$WORK/masd.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
bench_footer
