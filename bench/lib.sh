# shellcheck shell=bash
# Shared helpers for the benchmarks: a release build, free ports, processes ended by PID, the
# references (nginx, oidc-provider), the stand-in homeserver, wrk with its latency percentiles.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$BENCH_ROOT/build-release}
WORK=$(mktemp -d /tmp/masd-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers (www-data when run as root) read files below it
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "${KEEP:-}" ]; then # KEEP=1: stop the processes, keep $WORK for a look
    cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        echo "kept $WORK"
    }
fi

release_build() {
    [ -d "$BUILD" ] || meson setup "$BUILD" "$BENCH_ROOT" --buildtype=release >/dev/null
    ninja -C "$BUILD" >/dev/null
}

# The header every script prints first: what ran, where, under which load.
bench_header() {
    echo "# $(basename "$0") $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD)$(git -C "$BENCH_ROOT" diff --quiet HEAD -- common services 2>/dev/null || echo '+uncommitted'), build $BUILD"
    echo "# load before the run: $(uptime | sed 's/.*load average/load average/')"
}
bench_footer() { echo "# load after the run: $(uptime | sed 's/.*load average/load average/')"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "port $1 did not open" >&2
    return 1
}

# bg LOG cmd...: starts cmd in the background (stdout and stderr to LOG), remembered for cleanup;
# BG_PID is its PID.
bg() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 </dev/null &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

# stop_pid PID: SIGTERM and wait (PIDs this script started only).
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# wrk_rps URL [extra wrk args...]: prints requests/second.
wrk_rps() {
    local url=$1
    shift
    wrk -t2 -c64 -d"${DURATION:-5}"s "$@" "$url" | awk '/Requests\/sec/ {print $2}'
}

# wrk_stats URL [extra wrk args...]: "rps p50_ms p99_ms non2xx" (wrk -t2 -c64 --latency).
wrk_stats() {
    local url=$1
    shift
    wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNS:-64}" -d"${DURATION:-5}"s --latency "$@" "$url" | wrk_parse
}
# wrk_parse: reads wrk --latency output, prints "rps p50_ms p99_ms non2xx".
wrk_parse() {
    awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
         /Requests\/sec/ {r = $2} /^ +50%/ {p50 = ms($2)} /^ +99%/ {p99 = ms($2)} /Non-2xx/ {bad = $NF}
         END {printf "%s %.3f %.3f %d\n", r, p50, p99, bad}'
}

median() {
    sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
ratio() { echo "scale=3; $1 / $2" | bc; } # A B: A/B to 3 places

rss_anon_kb() {
    awk '/RssAnon/ {print $2}' "/proc/$1/status"
}
# CPU time (user + system) of a process so far, in ms.
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"
}

start_nginx() { # start_nginx CONF_BODY: nginx with 2 workers (one per core), access log on
    mkdir -p "$WORK/nginx/logs"
    cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 2;
error_log $WORK/nginx/logs/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log $WORK/nginx/logs/access.log;
    client_body_temp_path $WORK/nginx/tmp_body;
    proxy_temp_path $WORK/nginx/tmp_proxy;
    fastcgi_temp_path $WORK/nginx/tmp_fcgi;
    uwsgi_temp_path $WORK/nginx/tmp_uwsgi;
    scgi_temp_path $WORK/nginx/tmp_scgi;
    keepalive_requests 1000000;
    $1
}
NGINX
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
    PIDS+=($!)
}

# The stand-in homeserver (tests/homeserver/standin.py, Synapse's /_synapse/mas API): a compat
# login creates its device there before it answers. start_standin SECRET [LOCALPART...]: the
# users named exist on it from the start. Sets HS_PORT, HS_ENDPOINT, HS_PID.
start_standin() {
    local secret=$1 users='' u
    shift
    for u in "$@"; do users="$users${users:+,}\"$u\":{}"; done
    HS_PORT=$(free_port)
    HS_ENDPOINT=http://127.0.0.1:$HS_PORT/
    mkdir -p "$WORK/hs"
    echo "{\"users\":{$users}}" >"$WORK/hs/state.json"
    bg "$WORK/hs/stderr.log" /usr/bin/python3 "$BENCH_ROOT/tests/homeserver/standin.py" \
        --listen "127.0.0.1:$HS_PORT" --server-name example.com --secret "$secret" --state "$WORK/hs/state.json"
    HS_PID=$BG_PID
    wait_port "$HS_PORT"
}

# oidc-provider (bench/node): `npm ci` once, then the server on a free port with its access log.
# Sets OIDC_PORT, OIDC_PID, OIDC_BASIC (the client's Basic credentials).
OIDC_CLIENT=bench-client
OIDC_SECRET=bench-client-secret-0123456789
start_oidc() {
    local dir=$BENCH_ROOT/bench/node
    if [ ! -d "$dir/node_modules/oidc-provider" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "npm ci in $dir failed" >&2; return 1; }
    fi
    OIDC_PORT=$(free_port)
    bg "$WORK/oidc.stderr" env NODE_ENV=production node "$dir/server.mjs" "$OIDC_PORT" "$WORK/oidc-access.log"
    OIDC_PID=$BG_PID
    OIDC_BASIC=$(printf '%s:%s' "$OIDC_CLIENT" "$OIDC_SECRET" | base64 -w0)
    wait_port "$OIDC_PORT"
}
# oidc_token: a fresh opaque access token from oidc-provider (client_credentials grant).
oidc_token() {
    curl -sf -u "$OIDC_CLIENT:$OIDC_SECRET" -d grant_type=client_credentials "http://127.0.0.1:$OIDC_PORT/token" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# A MAS config for masd-oauth: oauth_config FILE DB-URI PORT [EXTRA-YAML]; SECRET and HS_ENDPOINT
# must be set. Signing key made once in $WORK/key.pem.
oauth_config() {
    [ -f "$WORK/key.pem" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/key.pem" 2>/dev/null
    cat >"$1" <<YAML
http:
  public_base: "https://auth.example.com/"
  listeners:
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{address: "127.0.0.1:$3"}]
database: {uri: "$2"}
matrix: {homeserver: example.com, secret: "$SECRET", endpoint: "$HS_ENDPOINT"}
secrets:
  encryption: "$(openssl rand -hex 32)"
  keys: [{key_file: "$WORK/key.pem"}]
${4:-}
YAML
}

# access_lines FILE "METHOD PATH" STATUS: how many access-log lines of FILE have that request and status.
access_lines() {
    grep -c "\"$2\" $3" "$1" || true
}
