#!/usr/bin/env bash
# Instructions per request (valgrind --tool=callgrind), the repeatable measure of per-request cost
# on a shared machine: masd-discovery serving its document against nginx returning the same bytes
# (`return 200 '…'`), both with their access log on, one event loop / one worker each. Each server
# runs under callgrind with instrumentation off; after a warm-up of WARM requests instrumentation is turned
# on for N (default 20,000) keep-alive HTTP/1.1 requests from h2load (4 connections), then dumped:
# instructions / N counts every thread of the process (masd's logger thread included). Prints both
# counts, their ratio, and masd's functions by inclusive cost (callgrind_annotate) to $OUT if set.
# TARGET=login measures masd-human's login page (GET /login: a fresh CSRF token and its cookie)
# the same way.
#   N=20000 [TARGET=discovery|login] bench/callgrind.sh
source "$(dirname "$0")/lib.sh"
N=${N:-20000}
WARM=${WARM:-2000}
release_build
bench_header

TARGET=${TARGET:-discovery}
mport=$(free_port)
if [ "$TARGET" = login ]; then
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
    MASD_BIN=$BUILD/services/human/masd-human MASD_NAME=masd-human MASD_PATH=/login CTYPE='text/html; charset=utf-8'
else
    cat >"$WORK/config.yaml" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: discovery
      resources: [{name: discovery}]
      binds: [{address: "127.0.0.1:$mport"}]
YAML
    MASD_BIN=$BUILD/services/discovery/masd-discovery MASD_NAME=masd-discovery
    MASD_PATH=/.well-known/openid-configuration CTYPE=application/json
fi
# measure NAME URL PID OUTFILE: warm-up, then N requests with collection on; prints Ir / N.
measure() {
    local name=$1 url=$2 pid=$3 out=$4 ir
    h2load --h1 -n "$WARM" -c 4 "$url" >/dev/null 2>&1 || true
    callgrind_control -i on "$pid" >/dev/null 2>&1
    h2load --h1 -n "$N" -c 4 "$url" >"$WORK/$name.h2load" 2>&1
    callgrind_control -i off "$pid" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 1
    grep -q "succeeded, 0 failed" "$WORK/$name.h2load" || grep -q "$N succeeded" "$WORK/$name.h2load" ||
        { echo "$name: not every request succeeded: $(grep 'requests:' "$WORK/$name.h2load")" >&2; }
    ir=$(cat "$out".* 2>/dev/null | awk '/^summary:/ {s += $2} /^totals:/ {t += $2} END {print (s ? s : t)}')
    echo "scale=0; $ir / $N" | bc
}

bg "$WORK/masd.log" valgrind --tool=callgrind --instr-atstart=no --fair-sched=yes --callgrind-out-file="$WORK/masd.cg" \
    "$MASD_BIN" --config "$WORK/config.yaml" --threads 1
MPID=$BG_PID
wait_port "$mport"
url_m="http://127.0.0.1:$mport$MASD_PATH"
sleep 1
curl -sf "$url_m" >"$WORK/doc.json"
m=$(measure masd "$url_m" "$MPID" "$WORK/masd.cg")

nport=$(free_port)
# one line for nginx's quoted string: backslash, quote and newline escaped (nginx reads \\n)
body=$(python3 -c 'import sys; t = open(sys.argv[1]).read(); print(t.replace("\\", "\\\\").replace(chr(39), "\\" + chr(39)).replace("\n", "\\n"))' "$WORK/doc.json")
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
error_log $WORK/nginx/logs/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log $WORK/nginx/logs/access.log;
    client_body_temp_path $WORK/nginx/tmp_body;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$nport; location = $MASD_PATH { default_type '$CTYPE'; return 200 '$body'; } }
}
NGINX
bg "$WORK/nginx.log" valgrind --tool=callgrind --instr-atstart=no --fair-sched=yes --callgrind-out-file="$WORK/nginx.cg" \
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
NPID=$BG_PID
wait_port "$nport"
url_n="http://127.0.0.1:$nport$MASD_PATH"
sleep 1
if [ "$TARGET" = login ]; then # the same length: only the CSRF token differs
    [ "$(curl -s "$url_n" | wc -c)" = "$(wc -c <"$WORK/doc.json")" ] || { echo "nginx does not return the same bytes" >&2; exit 1; }
else
    cmp <(curl -s "$url_n") "$WORK/doc.json" || { echo "nginx does not return the same bytes" >&2; exit 1; }
fi
n=$(measure nginx "$url_n" "$NPID" "$WORK/nginx.cg")

echo "instructions per request (N=$N, keep-alive HTTP/1.1, 4 connections, access log on): $MASD_NAME $m, nginx $n; nginx/masd $(ratio "$n" "$m")"
sleep 0.5
echo "access log lines: masd $(grep -c ' access: ' "$WORK/masd.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
if [ -n "${OUT:-}" ]; then
    callgrind_annotate --inclusive=yes $(ls "$WORK"/masd.cg.*) 2>/dev/null | head -80 >"$OUT"
    echo "masd's profile: $OUT"
fi
bench_footer
