# Shared helpers for the integration tests; sourced by tests/integration/*.sh.
#
# Environment:
#   BUILD    meson build directory holding the binaries (default: <root>/build)
#   RESULTS  file to which every check appends "ok" or "not ok"; tests/run sums these files.
#            Unset when a script runs alone: a private file is used and a summary printed.
#
# Rules: every process is started here in the foreground of a background job and stopped by its
# PID; nothing is ever killed by name. Every temporary file lives under $T, removed on exit.
# Traffic stays on loopback.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DISCOVERY_BIN=$BUILD/services/discovery/masd-discovery
ASSETS_BIN=$BUILD/services/assets/masd-assets
NODE_DIR=$ROOT/tests/node
SCRIPT_NAME=$(basename "$0" .sh)
LABEL="$SCRIPT_NAME[$(basename "$BUILD")]"

T=$(mktemp -d "/tmp/masd-$SCRIPT_NAME.XXXXXX")
chmod 755 "$T" # nginx workers (www-data) must reach sockets and files below it
mkdir -p "$T/logs" "$T/run"

# Any sanitizer report is fatal (tests/run exports the same). tests/lsan.supp holds the one
# LeakSanitizer suppression: libh2o's per-thread recycle caches, which it never frees.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
SANITIZER_RE='ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|UndefinedBehaviorSanitizer|SUMMARY: [A-Za-z]*Sanitizer'

if [ -z "${RESULTS:-}" ]; then
    RESULTS=$T/results
    _OWN_RESULTS=1
else
    _OWN_RESULTS=0
fi
_FAILED=0
_FINISHED=0
_PIDS=()           # every background process started here
declare -A PID_OF  # name -> pid
declare -A LOG_OF  # name -> stderr log of that process

# ---------------------------------------------------------------------------------------------
# Checks

# check "description" cmd args...: runs the command, its output captured; prints "ok - ..." or
# "not ok - ..." followed by the captured output, and counts the result.
check()
{
    local desc=$1
    shift
    local out=$T/check.out
    if "$@" >"$out" 2>&1; then
        echo "ok - $LABEL: $desc"
        echo ok >>"$RESULTS"
    else
        echo "not ok - $LABEL: $desc"
        sed -e 's/^/#   /' "$out" | head -n 60
        echo "not ok" >>"$RESULTS"
        _FAILED=$((_FAILED + 1))
    fi
    return 0
}

# fail_check "description" "why": records a failed check without running anything.
fail_check()
{
    echo "not ok - $LABEL: $1"
    echo "#   $2"
    echo "not ok" >>"$RESULTS"
    _FAILED=$((_FAILED + 1))
}

note() { echo "# $*"; }

# Assertions for use inside check commands; each explains itself on failure.
expect_eq()
{
    [ "$1" = "$2" ] && return 0
    echo "expected: $2"
    echo "     got: $1"
    return 1
}

expect_match() # string regex
{
    [[ $1 =~ $2 ]] && return 0
    echo "expected to match: $2"
    echo "               got: $1"
    return 1
}

expect_file_contains() # file regex (grep -E)
{
    grep -Eq -- "$2" "$1" && return 0
    echo "no line matching /$2/ in $1:"
    head -n 40 "$1"
    return 1
}

expect_file_lacks() # file regex (grep -E)
{
    grep -Eq -- "$2" "$1" || return 0
    echo "unexpected line matching /$2/ in $1:"
    grep -E -- "$2" "$1" | head -n 20
    return 1
}

# json_expect FILE 'js expression over d': evaluates the expression with d = the parsed document.
json_expect()
{
    node -e '
        const fs = require("fs");
        let d;
        try { d = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); }
        catch (e) { console.log("not JSON: " + e.message); process.exit(1); }
        let ok;
        try { ok = eval(process.argv[2]); } catch (e) { console.log(String(e)); process.exit(1); }
        if (!ok) { console.log("false: " + process.argv[2]); console.log(JSON.stringify(d, null, 1).slice(0, 3000)); process.exit(1); }
    ' "$1" "$2"
}

# header FILE NAME: the value of the last NAME header in a curl -D dump (CR stripped).
header()
{
    tr -d '\r' <"$1" | awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" '
        /^HTTP\// { v = ""; found = 0 }
        { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); found = 1 } }
        END { if (found) print v }'
}

# status FILE: the status code of the last response in a curl -D dump.
status()
{
    tr -d '\r' <"$1" | awk '/^HTTP\// { s = $2 } END { print s }'
}

# http NAME curl-args...: runs curl, leaving $T/NAME.h (headers) and $T/NAME.b (body).
# Returns curl's exit status.
http()
{
    local name=$1
    shift
    curl -sS --max-time 10 -D "$T/$name.h" -o "$T/$name.b" "$@"
}

# ---------------------------------------------------------------------------------------------
# Ports and waiting

# free_port: a TCP port on 127.0.0.1 nobody listens on, never handed out twice by this script.
free_port()
{
    # Called as $(free_port), in a subshell: the ports handed out are remembered in a file, so
    # that two calls before either port is bound never return the same one.
    local p i used=$T/.ports
    for i in $(seq 1 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        grep -qx "$p" "$used" 2>/dev/null && continue
        if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
            echo "$p" >>"$used"
            echo "$p"
            return 0
        fi
    done
    echo "no free port" >&2
    return 1
}

# wait_listen SPEC [PID] [SECONDS]: waits until SPEC (HOST:PORT or a UNIX socket path) is in
# LISTEN state. Fails early if PID exits.
wait_listen()
{
    local spec=$1 pid=${2:-} secs=${3:-20} i
    for i in $(seq 1 $((secs * 20))); do
        if [[ $spec == /* ]]; then
            # A socket bind is made as "<path>.<pid>.tmp" and renamed; ss shows the first name.
            [ -S "$spec" ] && ss -Hxl 2>/dev/null | grep -qE -- " $spec(\.[0-9]+\.tmp)? " && return 0
        else
            [ -n "$(ss -Htln "( sport = :${spec##*:} )" 2>/dev/null)" ] && return 0
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            echo "process $pid exited before listening on $spec"
            return 1
        fi
        sleep 0.05
    done
    echo "nothing listens on $spec after ${secs}s"
    return 1
}

# wait_exit PID SECONDS: waits until PID has exited (it must be our child). Returns 1 on timeout.
wait_exit()
{
    local pid=$1 secs=$2 i
    for i in $(seq 1 $((secs * 20))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------------------------
# Processes

# spawn NAME LOGFILE cmd...: starts cmd in the background, stdout+stderr to LOGFILE.
spawn()
{
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 </dev/null &
    local pid=$! i
    # Until it execs, the child is a copy of this shell with its traps: a signal then (a stop
    # right after the start) would run this script's exit handler there. Wait for the exec.
    local shell_exe
    shell_exe=$(readlink /proc/$$/exe)
    for i in $(seq 1 200); do
        [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$shell_exe" ] && break
        sleep 0.005
    done
    _PIDS+=("$pid")
    PID_OF[$name]=$pid
    LOG_OF[$name]=$log
}

# stop NAME [SIGNAL] [SECONDS]: sends SIGNAL (TERM) to NAME's pid and waits; the exit status
# lands in STOP_STATUS (999 when it had to be killed).
stop()
{
    local name=$1 sig=${2:-TERM} secs=${3:-10}
    local pid=${PID_OF[$name]:-}
    STOP_STATUS=
    [ -z "$pid" ] && { STOP_STATUS=998; return 1; }
    kill -s "$sig" "$pid" 2>/dev/null
    if wait_exit "$pid" "$secs"; then
        wait "$pid" 2>/dev/null
        STOP_STATUS=$?
    else
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_STATUS=999
    fi
    unset "PID_OF[$name]"
    return 0
}

# masd_start NAME BINARY CONFIG WAITSPEC... [-- ARGS...]: starts a masd binary with a config and
# waits until every WAITSPEC (HOST:PORT or socket path) listens.
masd_start()
{
    local name=$1 bin=$2 cfg=$3
    shift 3
    local waits=() args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do waits+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    args=("$@")
    spawn "$name" "$T/logs/$name.log" "$bin" --config "$cfg" "${args[@]}"
    local w
    for w in "${waits[@]}"; do
        if ! wait_listen "$w" "${PID_OF[$name]}" >"$T/wait.out" 2>&1; then
            fail_check "$name starts and listens on $w" "$(cat "$T/wait.out"); log: $(tail -n 20 "$T/logs/$name.log")"
            return 1
        fi
    done
    return 0
}

# homeserver_start SECRET [SERVER-NAME]: the stand-in homeserver (tests/homeserver/standin.py,
# Synapse's /_synapse/mas API: the one allowed stand-in) on a free port, as process "hs". Sets
# HS_PORT, HS_ENDPOINT (for matrix.endpoint) and HS_RECORD (its JSON-lines record of every call).
# A compat login creates its device there before it answers, so every test that logs in needs it.
homeserver_start()
{
    HS_PORT=$(free_port) || return 1
    HS_ENDPOINT=http://127.0.0.1:$HS_PORT/
    mkdir -p "$T/hs"
    HS_RECORD=$T/hs/calls.jsonl
    spawn hs "$T/logs/hs.log" /usr/bin/python3 "$ROOT/tests/homeserver/standin.py" --listen "127.0.0.1:$HS_PORT" \
        --server-name "${2:-example.com}" --secret "$1" --state "$T/hs/state.json" --record "$HS_RECORD"
    if ! wait_listen "127.0.0.1:$HS_PORT" "${PID_OF[hs]}" >"$T/wait.out" 2>&1; then
        fail_check "the stand-in homeserver starts" "$(cat "$T/wait.out" "$T/logs/hs.log")"
        return 1
    fi
}

# csrf_of NAME: the csrf field's value in the page $T/NAME.b (masd-human's forms).
csrf_of() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/$1.b" | head -n 1; }
# jar_req NAME JAR curl-args... PATH: $BASE$PATH over TLS ($T/tls/cert.pem) with the cookie jar
# $T/JAR ("-" for none).
jar_req()
{
    local name=$1 jar=$2
    shift 2
    local path=${*: -1} j=()
    [ "$jar" != - ] && j=(-b "$T/$jar" -c "$T/$jar")
    http "$name" --cacert "$T/tls/cert.pem" "${j[@]}" "${@:1:$#-1}" "$BASE$path"
}
# jar_form NAME JAR PATH fields...: GET PATH for its csrf, then POST the fields to it.
jar_form()
{
    local name=$1 jar=$2 path=$3
    shift 3
    jar_req "$name-get" "$jar" "$path"
    local args=(--data-urlencode "csrf=$(csrf_of "$name-get")") f
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    jar_req "$name" "$jar" "${args[@]}" "$path"
}

# backend_wanted NAME: whether this run covers the storage backend NAME (sqlite or postgresql).
# MASD_TEST_BACKENDS lists them; by default both. tests/run gives a script's SQLite half and its
# PostgreSQL half to different builds, so that each check runs once per backend (README, "Tests").
backend_wanted() { [[ " ${MASD_TEST_BACKENDS:-sqlite postgresql} " == *" $1 "* ]]; }

# pg_database PREFIX: a fresh database on the server of MASD_TEST_PG_URI (tests/run starts one),
# dropped at exit. Sets PG_DB (its name) and PG_DB_URI. Returns 2 with a note when PostgreSQL is
# not configured or not wanted in this run, 1 with a failed check when the database cannot be made.
_PG_DBS=()
pg_database()
{
    if ! backend_wanted postgresql; then
        note "PostgreSQL is not among MASD_TEST_BACKENDS ($MASD_TEST_BACKENDS): its half runs in another job"
        return 2
    fi
    if [ -z "${MASD_TEST_PG_URI:-}" ]; then
        note "MASD_TEST_PG_URI is not set: PostgreSQL skipped (tests/run sets it)"
        return 2
    fi
    PG_DB=${1}_$$_$RANDOM
    if ! psql -X -q "$MASD_TEST_PG_URI" -c "CREATE DATABASE $PG_DB TEMPLATE template0" >"$T/pg-create.log" 2>&1; then
        fail_check "postgresql: CREATE DATABASE $PG_DB" "$(cat "$T/pg-create.log")"
        return 1
    fi
    _PG_DBS+=("$PG_DB")
    case $MASD_TEST_PG_URI in
    *\?*) PG_DB_URI=$(echo "$MASD_TEST_PG_URI" | sed -E "s|^([a-z]+://[^/?]*)(/[^?]*)?\?|\1/$PG_DB?|") ;;
    *) PG_DB_URI=$(echo "$MASD_TEST_PG_URI" | sed -E "s|^([a-z]+://[^/]*)(/.*)?$|\1/$PG_DB|") ;;
    esac
}

# sanitizer_clean LOGFILE...: no sanitizer report in these logs.
sanitizer_clean()
{
    local f bad=0
    for f in "$@"; do
        if grep -Eq -- "$SANITIZER_RE" "$f" 2>/dev/null; then
            echo "sanitizer report in $f:"
            grep -E -A 30 -- "$SANITIZER_RE" "$f" | head -n 60
            bad=1
        fi
    done
    return $bad
}

# masd_stop NAME: SIGTERM, then two checks: exit status 0 within 5 s, and no sanitizer report.
masd_stop()
{
    local name=$1
    local t0 t1
    t0=$(now_ms)
    stop "$name" TERM 5
    t1=$(now_ms)
    check "$name exits 0 on SIGTERM (status $STOP_STATUS, $((t1 - t0)) ms)" expect_eq "$STOP_STATUS" 0
    check "$name logged no sanitizer report" sanitizer_clean "${LOG_OF[$name]}"
}

# ---------------------------------------------------------------------------------------------
# The access log: "<ident>: access: <listener> <client> "<method> <path>" <status> <ms>ms"

log_mark() # NAME: a position to search from
{
    wc -l <"${LOG_OF[$1]}"
}

# log_wait NAME MARK FIXEDSTRING [SECONDS]: prints the first access line after MARK that contains
# FIXEDSTRING, waiting for the logger thread. Fails if none appears.
log_wait()
{
    local name=$1 mark=$2 what=$3 secs=${4:-5} i line
    for i in $(seq 1 $((secs > 0 ? secs * 20 : 1))); do
        line=$(tail -n +"$((mark + 1))" "${LOG_OF[$name]}" | grep -F ': access: ' | grep -F -- "$what" | head -n 1)
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        sleep 0.05
    done
    echo "no access line containing '$what' in ${LOG_OF[$name]} after line $mark:" >&2
    tail -n +"$((mark + 1))" "${LOG_OF[$name]}" | tail -n 20 >&2
    return 1
}

# access_field LINE FIELD: listener | client | method | path | status
access_field()
{
    local re='^[^:]*: access: ([^ ]*) ([^ ]*) "([^ ]*) ([^"]*)" ([0-9]+) ([0-9.]+)ms$'
    [[ $1 =~ $re ]] || { echo "unparsable access line: $1" >&2; return 1; }
    case $2 in
    listener) echo "${BASH_REMATCH[1]}" ;;
    client) echo "${BASH_REMATCH[2]}" ;;
    method) echo "${BASH_REMATCH[3]}" ;;
    path) echo "${BASH_REMATCH[4]}" ;;
    status) echo "${BASH_REMATCH[5]}" ;;
    duration) echo "${BASH_REMATCH[6]}" ;;
    esac
}

# expect_logged_client NAME MARK PATH IP: the access line for PATH after MARK names client IP.
expect_logged_client()
{
    local line client
    line=$(log_wait "$1" "$2" "$3" 2>&1) || { echo "$line"; return 1; }
    client=$(access_field "$line" client) || return 1
    expect_eq "$client" "$4" || { echo "line: $line"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# Configuration

# Writes $T/keys/{rsa,ec}.pem once: signing keys for secrets.keys.
make_keys()
{
    [ -f "$T/keys/rsa.pem" ] && return 0
    mkdir -p "$T/keys"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/rsa.pem" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/keys/ec.pem" 2>/dev/null
    chmod 644 "$T/keys/"*.pem
}

# secrets_yaml: a MAS secrets section with one RSA and one P-256 key, from files.
secrets_yaml()
{
    make_keys
    cat <<EOF
secrets:
  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff
  keys:
    - kid: rsa-key
      key_file: $T/keys/rsa.pem
    - kid: ec-key
      key_file: $T/keys/ec.pem
EOF
}

# Writes assets under DIR: app.js with .gz and .br siblings, style.css, an image, a subdirectory.
make_assets()
{
    local dir=$1 i
    mkdir -p "$dir/sub"
    {
        echo "/* masd integration test asset */"
        for i in $(seq 1 400); do
            echo "export function f$i(x) { return x * $i + \"line $i of the test bundle\".length; }"
        done
    } >"$dir/app.js"
    gzip -9 -k -n "$dir/app.js"
    brotli -q 11 -k "$dir/app.js"
    printf 'body { color: #123456; }\n' >"$dir/style.css"
    printf '\x89PNG\r\n\x1a\n0000' >"$dir/logo.png"
    printf '{"app.js":{"file":"app.js"}}\n' >"$dir/sub/manifest.json"
    chmod -R a+rX "$dir"
}

# ---------------------------------------------------------------------------------------------
# nginx and haproxy, in the foreground of a background job, by PID

# render_nginx_snippets DIR [SED-ARGS...]: copies units/nginx/*.conf into DIR with the paths of
# this test run (/etc/nginx/masd/ -> DIR/, /run/masd/ -> $T/run/, /usr/share/masd/assets/ ->
# $T/assets/, the certificate -> $T/tls/), plus the given sed expressions (ports, variants).
# The tests run the shipped text; only these substitutions differ.
render_nginx_snippets()
{
    local dir=$1 f
    shift
    mkdir -p "$dir"
    for f in "$ROOT"/units/nginx/*.conf; do
        sed -e "s|/etc/nginx/masd/|$dir/|g" \
            -e "s|/run/masd/|$T/run/|g" \
            -e "s|/usr/share/masd/assets/|$T/assets/|g" \
            -e "s|/etc/ssl/certs/auth.example.com.pem|$T/tls/cert.pem|g" \
            -e "s|/etc/ssl/private/auth.example.com.key|$T/tls/key.pem|g" \
            "$@" "$f" >"$dir/$(basename "$f")"
    done
}

# make_cert NAME...: a self-signed certificate for these DNS names and 127.0.0.1, in
# $T/tls/{cert,key}.pem.
make_cert()
{
    local san="IP:127.0.0.1" n
    for n in "$@"; do san="$san,DNS:$n"; done
    mkdir -p "$T/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" -subj "/CN=${1:-localhost}" \
        -addext "subjectAltName=$san" 2>/dev/null
    chmod 644 "$T/tls/"*.pem
}

# nginx_main_conf PREFIX HTTP_BODY [STREAM_BODY]: writes PREFIX/nginx.conf around the given
# http {} (and stream {}) contents, with every path under PREFIX.
nginx_main_conf()
{
    local prefix=$1 http_body=$2 stream_body=${3:-}
    mkdir -p "$prefix/temp"
    {
        [ -n "$stream_body" ] && echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
        cat <<EOF
daemon off;
master_process on;
worker_processes 1;
user www-data;
pid $prefix/nginx.pid;
error_log $prefix/error.log info;
events { worker_connections 256; }
http {
    access_log $prefix/access.log;
    client_body_temp_path $prefix/temp/body;
    proxy_temp_path $prefix/temp/proxy;
    fastcgi_temp_path $prefix/temp/fastcgi;
    uwsgi_temp_path $prefix/temp/uwsgi;
    scgi_temp_path $prefix/temp/scgi;
    types { application/javascript js; text/css css; image/png png; application/json json; }
    default_type application/octet-stream;
$http_body
}
EOF
        [ -n "$stream_body" ] && printf 'stream {\n%s\n}\n' "$stream_body"
    } >"$prefix/nginx.conf"
}

# nginx_start NAME PREFIX WAITSPEC...: nginx -p PREFIX -c PREFIX/nginx.conf in the foreground.
nginx_start()
{
    local name=$1 prefix=$2 w
    shift 2
    if ! nginx -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" >"$T/nginx-t.out" 2>&1; then
        fail_check "$name: nginx -t accepts the configuration" "$(cat "$T/nginx-t.out")"
        return 1
    fi
    spawn "$name" "$prefix/stderr.log" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    LOG_OF[$name]=$prefix/error.log
    for w in "$@"; do
        if ! wait_listen "$w" "${PID_OF[$name]}" >"$T/wait.out" 2>&1; then
            fail_check "$name starts and listens on $w" "$(cat "$T/wait.out"; cat "$prefix/error.log" "$prefix/stderr.log")"
            return 1
        fi
    done
}

# haproxy_start NAME CONFIG WAITSPEC...
haproxy_start()
{
    local name=$1 cfg=$2 w
    shift 2
    if ! haproxy -c -q -f "$cfg" >"$T/haproxy-c.out" 2>&1; then
        fail_check "$name: haproxy -c accepts the configuration" "$(cat "$T/haproxy-c.out")"
        return 1
    fi
    spawn "$name" "$T/logs/$name.log" haproxy -db -f "$cfg"
    for w in "$@"; do
        if ! wait_listen "$w" "${PID_OF[$name]}" >"$T/wait.out" 2>&1; then
            fail_check "$name starts and listens on $w" "$(cat "$T/wait.out" "$T/logs/$name.log")"
            return 1
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# The scripts behind the shipped nginx over TLS ($BASE is https://127.0.0.1:PORT, the certificate
# from make_cert). A script may define its own variant of any of these after sourcing this file.

# need_node_modules MODULE...: runs npm ci in tests/node when one of these modules is missing;
# if that fails, a failed check "npm ci in tests/node" naming the first module, and the end.
need_node_modules()
{
    local m
    for m in "$@"; do
        [ -d "$NODE_DIR/node_modules/$m" ] && continue
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
            { fail_check "npm ci in tests/node" "$1 is not installed"; finish; }
        return 0
    done
}

# need_chromium: CHROMIUM (default /usr/bin/chromium) is executable; else a failed check and the end.
need_chromium()
{
    CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
    [ -x "$CHROMIUM" ] || { fail_check "chromium is installed ($CHROMIUM)" "tools/packages --install test"; finish; }
}

# need_command NAME: NAME is on PATH; else a failed check "NAME is installed" and the end.
need_command() { command -v "$1" >/dev/null || { fail_check "$1 is installed" "tools/packages --install test"; finish; }; }

# human_assets: the certificate for auth.example.com, and $T/assets with masd-human's
# stylesheets for masd-assets to serve (the pages' look in the screenshots).
human_assets()
{
    make_cert auth.example.com
    mkdir -p "$T/assets"
    cp "$BUILD"/services/human/templates/masd-*.css* "$T/assets/" 2>/dev/null
    chmod -R a+rX "$T/assets"
}

# web_config_yaml PUBLIC-BASE DB-URI HUMAN-SOCKET OAUTH-SOCKET [discovery]: the http, database and
# matrix sections of a masd configuration: listeners human, oauth (with compat) and assets (and
# discovery) on UNIX sockets, the stand-in homeserver of homeserver_start with secret $HS_SECRET.
web_config_yaml()
{
    cat <<EOF
http:
  public_base: $1/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $3, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{socket: $4, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
EOF
    [ "${5:-}" != discovery ] || cat <<EOF
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery.sock, mode: "666"}]
EOF
    cat <<EOF
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
EOF
}

# provider_yaml ID CLIENT [LINE...]: one entry of upstream_oauth2.providers for tests/node/idp.mjs
# at $ISSUER (discovery insecure: plain HTTP), client CLIENT with the secret CLIENT-secret by
# client_secret_basic, scope "openid profile email"; each LINE is added as a further key.
provider_yaml()
{
    local id=$1 client=$2
    shift 2
    printf '    - id: %s\n      issuer: "%s"\n      discovery_mode: insecure\n      client_id: %s\n' "$id" "$ISSUER" "$client"
    printf '      client_secret: %s-secret\n      token_endpoint_auth_method: client_secret_basic\n' "$client"
    printf '      scope: "openid profile email"\n'
    local l
    for l in "$@"; do printf '      %s\n' "$l"; done
}

# start_idp [NAME [CHECK-PREFIX [IDP-ARGS...]]]: tests/node/idp.mjs (oidc-provider) on $IDP_PORT
# with the clients of $T/idp.json and the keys of $T/idp-keys.json (made once, then the same), as
# process NAME (default idp), trusting $T/tls/cert.pem (it calls masd through nginx). Returns 1
# with the failed check "CHECK-PREFIXthe IdP starts" when it does not listen.
start_idp()
{
    local name=${1:-idp} prefix=${2:-}
    shift $(($# < 2 ? $# : 2))
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem spawn "$name" "$T/logs/$name.log" node "$NODE_DIR/idp.mjs" \
        --port "$IDP_PORT" --config "$T/idp.json" --keys "$T/idp-keys.json" "$@"
    wait_listen "127.0.0.1:$IDP_PORT" "${PID_OF[$name]}" >"$T/wait.out" 2>&1 ||
        { fail_check "${prefix}the IdP starts" "$(cat "$T/wait.out" "$T/logs/$name.log")"; return 1; }
}

# standin_reset B: the stand-in homeserver forgets its users (another backend's alice would be
# taken there); a failed check "B: the stand-in homeserver is reset" when it does not answer.
standin_reset()
{
    curl -sS --max-time 5 -X POST -H 'content-type: application/json' -d '{"users": {}}' \
        "${HS_ENDPOINT}_standin/state" >/dev/null || fail_check "$1: the stand-in homeserver is reset" "curl failed"
}

# masctl_sync B CONFIG LOG: masctl database migrate, then config sync (the providers); returns 1
# with the failed check "B: masctl sets up the database" and LOG's tail when either fails.
masctl_sync()
{
    if ! { "$MASCTL_BIN" -c "$2" database migrate && "$MASCTL_BIN" -c "$2" config sync; } >"$3" 2>&1; then
        fail_check "$1: masctl sets up the database" "$(tail -n 20 "$3")"
        return 1
    fi
}

# web_start B CONFIG HUMAN-SOCKET OAUTH-SOCKET: masd-human, masd-oauth and masd-assets of CONFIG as
# processes human-B, oauth-B and assets-B (assets on $T/run/assets.sock), each listening.
web_start()
{
    masd_start "human-$1" "$HUMAN_BIN" "$2" "$3" || return 1
    masd_start "oauth-$1" "$OAUTH_BIN" "$2" "$4" || return 1
    masd_start "assets-$1" "$ASSETS_BIN" "$2" "$T/run/assets.sock" || return 1
}

# nginx_masd_start NAME DIR PORT [SED-ARGS...]: the shipped units/nginx snippets rendered into
# DIR/masd (render_nginx_snippets, with these further sed expressions), listening on
# 127.0.0.1:PORT only, in DIR/nginx.conf; nginx started as process NAME.
nginx_masd_start()
{
    local name=$1 dir=$2 port=$3
    shift 3
    render_nginx_snippets "$dir/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$port ssl http2;|" \
        -e '/listen \[::\]:443/d' "$@"
    nginx_main_conf "$dir" "
    include $dir/masd/masd-upstreams-unix.conf;
    include $dir/masd/masd.conf;"
    nginx_start "$name" "$dir" "127.0.0.1:$port"
}

# req NAME [curl-args...] PATH: $BASE$PATH through nginx, trusting the test certificate;
# leaves $T/NAME.h and $T/NAME.b as http() does.
req() { local name=$1; shift; local path=${*: -1}; http "$name" --cacert "$T/tls/cert.pem" "${@:1:$#-1}" "$BASE$path"; }
# loc NAME: the Location of the answer $T/NAME.h.
loc() { header "$T/$1.h" location; }
# qp URL NAME: a query parameter of URL, decoded ("" when absent; "<twice>" when repeated).
qp() { node -e 'const v = new URL(process.argv[1]).searchParams.getAll(process.argv[2]); console.log(v.length > 1 ? "<twice>" : v[0] ?? "")' "$1" "$2"; }
# js EXPR: EXPR evaluated with d = the JSON document on stdin ("" for null or undefined).
js() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]) ?? "")' "$1"; }
# enc STRING: STRING as a URL component (encodeURIComponent).
enc() { node -e 'console.log(encodeURIComponent(process.argv[1]))' "$1"; }
# redirects_to NAME REGEX: a 303 whose Location matches REGEX.
redirects_to() { expect_eq "$(status "$T/$1.h")" 303 && expect_match "$(loc "$1")" "$2"; }
# html_page NAME STATUS [BODY-REGEX]: an HTML page with this status.
html_page()
{
    expect_eq "$(status "$T/$1.h")" "$2" || return 1
    expect_match "$(header "$T/$1.h" content-type)" '^text/html; charset=utf-8$' || return 1
    [ -z "${3:-}" ] || expect_file_contains "$T/$1.b" "$3"
}
# csp_page NAME STATUS [BODY-REGEX]: the same, with masd-human's CSP (default-src 'none').
csp_page()
{
    expect_eq "$(status "$T/$1.h")" "$2" || return 1
    expect_match "$(header "$T/$1.h" content-type)" '^text/html; charset=utf-8$' || return 1
    expect_match "$(header "$T/$1.h" content-security-policy)" "default-src 'none'" || return 1
    [ -z "${3:-}" ] || expect_file_contains "$T/$1.b" "$3"
}

# step_checks PREFIX FILE: a check "PREFIX: STEP" for each line {"step": STEP, "ok": ...} that a
# node driver (tests/node/browser.mjs's step()) printed to FILE, failed with its error unless ok.
step_checks()
{
    local line name
    while IFS= read -r line; do
        case $line in
        '{"step"'*)
            name=$(js 'd.step' <<<"$line")
            if [ "$(js 'd.ok' <<<"$line")" = true ]; then check "$1: $name" true; else fail_check "$1: $name" "$(js 'd.error' <<<"$line")"; fi
            ;;
        esac
    done <"$2"
}

# ---------------------------------------------------------------------------------------------
# Exit

_cleanup()
{
    local rc=$? pid
    trap '' INT TERM
    for pid in "${_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${_PIDS[@]}"; do
        if ! wait_exit "$pid" 3; then
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    local db
    for db in "${_PG_DBS[@]}"; do
        psql -X -q "$MASD_TEST_PG_URI" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
    if [ "$_FINISHED" = 0 ]; then
        echo "not ok - $LABEL: ran to the end (aborted with status $rc)"
        echo "not ok" >>"$RESULTS"
        rc=1
    fi
    if [ "$_OWN_RESULTS" = 1 ]; then
        echo "$(grep -cx ok "$RESULTS") passed, $(grep -cx 'not ok' "$RESULTS") failed"
    fi
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# finish: the last line of every script.
finish()
{
    _FINISHED=1
    [ "$_FAILED" = 0 ] && exit 0
    exit 1
}

# Preconditions shared by every script.
require_binaries()
{
    local b
    for b in "$@"; do
        if [ ! -x "$b" ]; then
            fail_check "binary $b exists" "build it first (BUILD=$BUILD)"
            finish
        fi
    done
}
