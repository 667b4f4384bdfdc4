#!/usr/bin/env bash
# Instructions per request (valgrind --tool=callgrind), the repeatable measure of per-request cost
# on a shared machine: masd-discovery serving its document against nginx returning the same bytes
# (`return 200 '…'`), both with their access log on, one event loop / one worker each. Each server
# runs under callgrind with instrumentation off; after a warm-up of WARM requests instrumentation is turned
# on for N (default 20,000) keep-alive HTTP/1.1 requests from h2load (4 connections), then dumped:
# instructions / N counts every thread of the process (masd's logger thread included). Prints both
# counts, their ratio, and masd's functions by inclusive cost (callgrind_annotate) to $OUT if set.
#   N=20000 bench/callgrind.sh
source "$(dirname "$0")/lib.sh"
N=${N:-20000}
WARM=${WARM:-2000}
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
    "$BUILD/services/discovery/masd-discovery" --config "$WORK/config.yaml" --threads 1
MPID=$BG_PID
wait_port "$mport"
url_m="http://127.0.0.1:$mport/.well-known/openid-configuration"
sleep 1
curl -sf "$url_m" >"$WORK/doc.json"
m=$(measure masd "$url_m" "$MPID" "$WORK/masd.cg")

nport=$(free_port)
body=$(sed "s/'/\\\\'/g" "$WORK/doc.json")
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
    server { listen 127.0.0.1:$nport; location = /.well-known/openid-configuration { default_type application/json; return 200 '$body'; } }
}
NGINX
bg "$WORK/nginx.log" valgrind --tool=callgrind --instr-atstart=no --fair-sched=yes --callgrind-out-file="$WORK/nginx.cg" \
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
NPID=$BG_PID
wait_port "$nport"
url_n="http://127.0.0.1:$nport/.well-known/openid-configuration"
sleep 1
cmp <(curl -s "$url_n") "$WORK/doc.json" || { echo "nginx does not return the same bytes" >&2; exit 1; }
n=$(measure nginx "$url_n" "$NPID" "$WORK/nginx.cg")

echo "instructions per request (N=$N, keep-alive HTTP/1.1, 4 connections, access log on): masd-discovery $m, nginx $n; nginx/masd $(ratio "$n" "$m")"
sleep 0.5
echo "access log lines: masd $(grep -c ' access: ' "$WORK/masd.log"), nginx $(wc -l <"$WORK/nginx/logs/access.log")"
if [ -n "${OUT:-}" ]; then
    callgrind_annotate --inclusive=yes $(ls "$WORK"/masd.cg.*) 2>/dev/null | head -80 >"$OUT"
    echo "masd's profile: $OUT"
fi
bench_footer
