#!/usr/bin/env bash
# The command line of the masd binaries: --help, --check, configuration errors with
# file:line:column, MAS's stock listener refused with advice, SIGTERM with an idle keep-alive
# connection, --exit-idle-time under systemd-socket-activate, UNIX socket binds.
. "$(dirname "$0")/lib.sh"
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
WORKER_BIN=$BUILD/services/worker/masd-worker
require_binaries "$DISCOVERY_BIN" "$ASSETS_BIN" "$OAUTH_BIN" "$WORKER_BIN"

# run NAME cmd...: runs a short-lived command; stdout in $T/NAME.out, stderr in $T/NAME.err,
# exit status in $T/NAME.rc. Always succeeds.
run()
{
    local name=$1
    shift
    timeout 20 "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
    echo $? >"$T/$name.rc"
}
rc() { cat "$T/$1.rc"; }

# Every short run must also be free of sanitizer reports.
clean_run() # NAME
{
    sanitizer_clean "$T/$1.out" "$T/$1.err"
}

# ------------------------------------------------------------------------------------------
# --help

for bin in "$DISCOVERY_BIN" "$ASSETS_BIN"; do
    b=$(basename "$bin")
    run "help-$b" "$bin" --help
    help_ok()
    {
        expect_eq "$(rc "help-$1")" 0 || return 1
        local opt
        for opt in --config --check --exit-idle-time --help; do
            expect_file_contains "$T/help-$1.out" -- "$opt" || return 1
        done
        clean_run "help-$1"
    }
    check "$b --help exits 0 and lists --config, --check, --exit-idle-time" help_ok "$b"
done
run badopt "$DISCOVERY_BIN" --no-such-option
check "an unknown option exits non-zero" eval '[ "$(rc badopt)" != 0 ]'

# ------------------------------------------------------------------------------------------
# --check on a valid configuration

PD=$(free_port)
PA=$(free_port)
make_assets "$T/assets"
cat >"$T/ok.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: web-discovery
      resources:
        - name: discovery
        - name: health
      binds:
        - address: 127.0.0.1:$PD
        - socket: $T/run/discovery.sock
          mode: "600"
    - name: web-assets
      resources:
        - name: assets
          path: $T/assets/
      binds:
        - fd_name: assets
    - name: internal
      resources:
        - name: health
      binds:
        - host: localhost
          port: 8081
$(secrets_yaml)
EOF

run check-discovery "$DISCOVERY_BIN" --config "$T/ok.yaml" --check
run check-assets "$ASSETS_BIN" --config "$T/ok.yaml" --check
check_discovery()
{
    cat "$T/check-discovery.out"
    expect_eq "$(rc check-discovery)" 0 || return 1
    expect_file_contains "$T/check-discovery.out" 'listener web-discovery' || return 1
    expect_file_contains "$T/check-discovery.out" "bind 127\.0\.0\.1:$PD" || return 1
    expect_file_contains "$T/check-discovery.out" "bind unix:$T/run/discovery\.sock" || return 1
    expect_file_contains "$T/check-discovery.out" 'discovery +/\.well-known/openid-configuration' || return 1
    expect_file_contains "$T/check-discovery.out" 'discovery +/\.well-known/webfinger' || return 1
    expect_file_contains "$T/check-discovery.out" 'health +/health' || return 1
    expect_file_lacks "$T/check-discovery.out" 'web-assets|internal|/assets/' || return 1
    clean_run check-discovery
}
check "masd-discovery --check lists its listener, binds and routes, and only those" check_discovery
check_assets()
{
    cat "$T/check-assets.out"
    expect_eq "$(rc check-assets)" 0 || return 1
    expect_file_contains "$T/check-assets.out" 'listener web-assets' || return 1
    expect_file_contains "$T/check-assets.out" 'bind fd_name assets' || return 1
    expect_file_contains "$T/check-assets.out" 'assets +/assets/' || return 1
    expect_file_lacks "$T/check-assets.out" 'web-discovery|internal|well-known' || return 1
    clean_run check-assets
}
check "masd-assets --check lists its listener, binds and routes, and only those" check_assets
check "--check warns that the health-only listener 'internal' is served by no binary" \
    expect_file_contains "$T/check-discovery.err" "internal.*served by no"
check "--check does not open sockets" eval "[ ! -e '$T/run/discovery.sock' ]"

# --check touches no state: against a SQLite database that does not exist yet, the DB-backed
# binaries create no file (no database, no -wal, no -shm) and start no thread.
mkdir -p "$T/state"
cat >"$T/state.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: oauth
      resources:
        - name: oauth
        - name: compat
      binds:
        - address: 127.0.0.1:$(free_port)
database:
  uri: sqlite://$T/state/masd.db
$(secrets_yaml)
EOF
check_touches_nothing() # BIN
{
    local b
    b=$(basename "$1")
    # LeakSanitizer cannot run under ptrace; the --check runs below look for leaks.
    run "state-$b" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -qq -e trace=clone,clone3 -o "$T/state-$b.strace" "$1" --config "$T/state.yaml" --check
    cat "$T/state-$b.out" "$T/state-$b.err"
    expect_eq "$(rc "state-$b")" 0 || return 1
    expect_eq "$(ls -A "$T/state")" "" || return 1
    # strace's own fork is not in the log: any clone is the binary's.
    expect_eq "$(grep -c clone "$T/state-$b.strace")" 0 || { cat "$T/state-$b.strace"; return 1; }
    clean_run "state-$b"
}
if command -v strace >/dev/null; then
    check "masd-oauth --check creates no database file and starts no thread" check_touches_nothing "$OAUTH_BIN"
    check "masd-worker --check creates no database file and starts no thread" check_touches_nothing "$WORKER_BIN"
else
    fail_check "strace is installed (the --check state test counts threads with it)" "apt-get install strace"
fi

# A known MAS key masd does not implement yet: one warning naming it, not an error.
cat "$T/ok.yaml" >"$T/warn.yaml"
cat >>"$T/warn.yaml" <<'EOF'
telemetry:
  tracing:
    exporter: none
EOF
run warn "$DISCOVERY_BIN" --config "$T/warn.yaml" --check
check "a known but unimplemented key is accepted with a warning naming it" \
    eval 'expect_eq "$(rc warn)" 0 && expect_file_contains "$T/warn.err" "telemetry\.tracing"'

# ------------------------------------------------------------------------------------------
# Configuration errors: file:line:column, non-zero exit

# bad_config NAME EXPECTED-LINE:COLUMN EXPECTED-WORD: the config $T/NAME.yaml is refused with a
# message "$T/NAME.yaml:LINE:COLUMN: ..." that mentions WORD, and a non-zero exit.
bad_config()
{
    local name=$1 pos=$2 word=$3
    run "bad-$name" "$DISCOVERY_BIN" --config "$T/$name.yaml" --check
    cat "$T/bad-$name.err"
    [ "$(rc "bad-$name")" != 0 ] || { echo "exit status 0"; return 1; }
    expect_file_contains "$T/bad-$name.err" "$T/$name\.yaml:$pos: .*$word" || return 1
    clean_run "bad-$name"
}

cat >"$T/unknown-key.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  bogus_key: 1
EOF
check "an unknown key: file:line:column naming it" bad_config unknown-key 3:3 bogus_key

cat >"$T/unknown-section.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  listeners: []
no_such_section:
  a: 1
EOF
check "an unknown top-level section: file:line:column naming it" bad_config unknown-section 4:1 no_such_section

cat >"$T/bad-cidr.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  trusted_proxies:
    - 127.0.0.0/8
    - 10.0.0.0/33
EOF
check "a bad CIDR in trusted_proxies: file:line:column" bad_config bad-cidr 5:7 "10\.0\.0\.0/33"

cat >"$T/bad-port.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  listeners:
    - name: web
      resources:
        - name: discovery
      binds:
        - host: localhost
          port: 70000
EOF
check "a port out of range: file:line:column" bad_config bad-port 9:17 port

cat >"$T/bad-type.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  listeners:
    - name: web
      resources:
        - name: discovery
      proxy_protocol: maybe
      binds:
        - address: 127.0.0.1:1
EOF
check "a wrong type (proxy_protocol: maybe): file:line:column" bad_config bad-type 7:23 proxy_protocol

cat >"$T/bad-resource.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  listeners:
    - name: web
      resources:
        - name: discovery
        - name: teleport
      binds:
        - address: 127.0.0.1:1
EOF
check "an unknown resource name: file:line:column" bad_config bad-resource 7:17 teleport

cat >"$T/bad-yaml.yaml" <<'EOF'
http:
  public_base: https://auth.example.com/
  listeners: [ { name: web
EOF
check "a YAML syntax error: file:line:column" bad_config bad-yaml '[0-9]+:[0-9]+' ''

cat >"$T/no-base.yaml" <<'EOF'
http:
  listeners: []
EOF
no_public_base()
{
    run no-base "$DISCOVERY_BIN" --config "$T/no-base.yaml" --check
    cat "$T/no-base.err"
    [ "$(rc no-base)" != 0 ] && expect_file_contains "$T/no-base.err" "$T/no-base\.yaml:.*public_base"
}
check "http without public_base is refused, naming public_base" no_public_base

missing_file()
{
    run missing "$DISCOVERY_BIN" --config "$T/does-not-exist.yaml"
    cat "$T/missing.err"
    [ "$(rc missing)" != 0 ] &&
        expect_file_contains "$T/missing.err" "$T/does-not-exist\.yaml: no such file" &&
        expect_file_contains "$T/missing.err" "masctl config generate -o $T/does-not-exist\.yaml"
}
check "a missing config file is an error naming it and how to make one" missing_file

# --check prints the effective public_base; the placeholder of `masctl config generate` draws a
# warning (with its position) from every binary.
sed "s|public_base: https://auth.example.com/|public_base: http://[::]:8080/|" "$T/state.yaml" >"$T/placeholder.yaml"
placeholder_warned()
{
    local bin b
    for bin in "$DISCOVERY_BIN" "$ASSETS_BIN" "$OAUTH_BIN" "$WORKER_BIN"; do
        b=$(basename "$bin")
        run "ph-$b" "$bin" --config "$T/placeholder.yaml" --check
        expect_eq "$(rc "ph-$b")" 0 || { cat "$T/ph-$b.err"; return 1; }
        expect_file_contains "$T/ph-$b.out" '^public_base http://\[::\]:8080/$' || return 1
        expect_file_contains "$T/ph-$b.err" "placeholder.yaml:2:16: http.public_base: .*placeholder" || return 1
        run "nph-$b" "$bin" --config "$T/state.yaml" --check
        expect_file_contains "$T/nph-$b.out" '^public_base https://auth.example.com/$' || return 1
        expect_file_lacks "$T/nph-$b.err" placeholder || return 1
    done
}
check "--check of every binary prints public_base and warns about the generated placeholder" placeholder_warned

# Two listeners of two binaries on one address: refused by every binary, at --check too.
PX=$(free_port)
cat >"$T/clash.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: discovery
      resources: [{name: discovery}]
      binds: [{address: "127.0.0.1:$PX"}]
    - name: oauth
      resources: [{name: oauth}]
      binds:
        - address: "[::1]:$PX"
        - host: 127.0.0.1
          port: $PX
EOF
bind_clash()
{
    local bin b
    for bin in "$DISCOVERY_BIN" "$OAUTH_BIN"; do
        b=$(basename "$bin")
        run "clash-$b" "$bin" --config "$T/clash.yaml" --check
        [ "$(rc "clash-$b")" != 0 ] || { echo "$b accepted it"; return 1; }
        expect_file_contains "$T/clash-$b.err" \
            "clash.yaml:11:11: http.listeners\[1\]\.binds\[1\]: host 127\.0\.0\.1 port $PX takes the address of address 127\.0\.0\.1:$PX of listener 'discovery' \(.*clash\.yaml:6:15\)" ||
            return 1
    done
}
check "two listeners on one address: an error at --check with both positions" bind_clash

# ------------------------------------------------------------------------------------------
# MAS's stock listener cannot start: it names the listener and prints the split.

stock_refused() # NAME
{
    local name=$1 bin own
    for bin in "$DISCOVERY_BIN" "$ASSETS_BIN"; do
        run "$name" "$bin" --config "$T/$name.yaml"
        cat "$T/$name.err"
        [ "$(rc "$name")" != 0 ] || { echo "$bin started"; return 1; }
        expect_file_contains "$T/$name.err" "listener 'web'" || return 1
        expect_file_contains "$T/$name.err" '\[::\]:8080' || return 1
        local b
        for b in discovery oauth human assets; do
            expect_file_contains "$T/$name.err" "name: $b" || return 1
        done
        # Each binary knows its own routes, and prints their nginx locations.
        if [ "$bin" = "$DISCOVERY_BIN" ]; then
            expect_file_contains "$T/$name.err" 'location .*/\.well-known/openid-configuration.*discovery' || return 1
            own=discovery
        else
            expect_file_contains "$T/$name.err" 'location .*/assets/.*assets' || return 1
            own=assets
        fi
        expect_file_contains "$T/$name.err" "masd-$own's routes" || return 1
        clean_run "$name" || return 1
    done
}

# What `mas-cli config generate` writes, less the parts masd does not need here.
cat >"$T/stock-explicit.yaml" <<EOF
http:
  listeners:
    - name: web
      resources:
        - name: discovery
        - name: human
        - name: oauth
        - name: compat
        - name: graphql
        - name: assets
      binds:
        - address: '[::]:8080'
      proxy_protocol: false
    - name: internal
      resources:
        - name: health
      binds:
        - host: localhost
          port: 8081
      proxy_protocol: false
  trusted_proxies:
    - 192.168.0.0/16
    - 172.16.0.0/12
    - 10.0.0.0/10
    - 127.0.0.0/8
    - fd00::/8
    - ::1/128
  public_base: http://[::]:8080/
  issuer: http://[::]:8080/
$(secrets_yaml)
EOF
check "MAS's stock [::]:8080 listener with every resource is refused, with per-binary listeners and nginx locations" \
    stock_refused stock-explicit

secrets_yaml >"$T/stock-absent.yaml"
check "a config without an http section (MAS's default listener) is refused the same way" \
    stock_refused stock-absent

# ------------------------------------------------------------------------------------------
# Running: UNIX socket bind with mode, SIGTERM with an idle keep-alive connection.

# A stale socket file where the bind goes: masd must replace it.
node -e 'const s = require("net").createServer().listen(process.argv[1], () => process.exit(0))' "$T/run/discovery.sock"
masd_start run "$DISCOVERY_BIN" "$T/ok.yaml" 127.0.0.1:$PD "$T/run/discovery.sock" || finish

unix_socket()
{
    expect_eq "$(stat -c %a "$T/run/discovery.sock")" 600 || return 1
    http us --unix-socket "$T/run/discovery.sock" http://x/health || return 1
    expect_eq "$(status "$T/us.h")" 200 || return 1
    expect_eq "$(cat "$T/us.b")" ok
}
check "socket bind: replaces a stale socket file, mode 600, answers /health" unix_socket

sigterm_idle()
{
    # An idle HTTP/1.1 keep-alive connection: one request answered, then nothing.
    node "$NODE_DIR/rawsock.mjs" --timeout 8000 "127.0.0.1:$PD" 'text:GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/idle.json" &
    local client=$! t0 t1
    local i
    for i in $(seq 1 40); do
        [ "$(ss -Htn state established "( dport = :$PD )" | wc -l)" -ge 1 ] && break
        sleep 0.05
    done
    sleep 0.3
    t0=$(now_ms)
    kill -TERM "${PID_OF[run]}"
    if ! wait_exit "${PID_OF[run]}" 2; then
        echo "still running 2 s after SIGTERM"
        wait "$client"
        return 1
    fi
    t1=$(now_ms)
    wait "${PID_OF[run]}"
    local st=$?
    unset "PID_OF[run]"
    wait "$client"
    cat "$T/idle.json"
    echo "exit status $st after $((t1 - t0)) ms"
    expect_eq "$st" 0 || return 1
    [ $((t1 - t0)) -le 2000 ] || return 1
    json_expect "$T/idle.json" 'd.closed_by_peer && /^HTTP\/1\.1 200 /.test(d.text)'
}
check "SIGTERM with an idle keep-alive connection: connection closed, exit 0 within 2 s" sigterm_idle
check "no sanitizer report while running" sanitizer_clean "${LOG_OF[run]}"

# ------------------------------------------------------------------------------------------
# Socket activation: --exit-idle-time, fd_name, fd index

PS=$(free_port)
cat >"$T/activated.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: activated
      resources: [{name: discovery}, {name: health}]
      binds: [{fd_name: discovery}]
$(secrets_yaml)
EOF
sed -e 's|fd_name: discovery|fd: 0|' "$T/activated.yaml" >"$T/activated-fd.yaml"
sed -e 's|fd_name: discovery|fd_name: elsewhere|' "$T/activated.yaml" >"$T/activated-wrong.yaml"
activate() # NAME CONFIG FDNAME ARGS...
{
    local name=$1 cfg=$2 fdname=$3
    shift 3
    PS=$(free_port)
    spawn "$name" "$T/logs/$name.log" systemd-socket-activate -l "127.0.0.1:$PS" --fdname="$fdname" \
        -E ASAN_OPTIONS -E UBSAN_OPTIONS -E LSAN_OPTIONS "$DISCOVERY_BIN" --config "$cfg" "$@"
    wait_listen "127.0.0.1:$PS" "${PID_OF[$name]}"
}

exit_idle()
{
    # 2 s, not 1: the idle time is counted in whole seconds, so the exit comes 1 to 3 s after
    # the last connection closed.
    activate idle "$T/activated.yaml" discovery --exit-idle-time 2 || return 1
    http ei "http://127.0.0.1:$PS/.well-known/openid-configuration" || return 1
    expect_eq "$(status "$T/ei.h")" 200 || return 1
    local t0 t1 pid=${PID_OF[idle]}
    t0=$(now_ms)
    if ! wait_exit "$pid" 7; then
        echo "still running 7 s after the last connection closed"
        return 1
    fi
    t1=$(now_ms)
    wait "$pid"
    local st=$?
    unset "PID_OF[idle]"
    echo "exit status $st, $((t1 - t0)) ms after the request"
    cat "${LOG_OF[idle]}"
    expect_eq "$st" 0 || return 1
    [ $((t1 - t0)) -ge 1000 ] || { echo "exited too early"; return 1; }
    sanitizer_clean "${LOG_OF[idle]}"
}
check "--exit-idle-time 2 under systemd-socket-activate: answers, then exits 0 after idling" exit_idle

busy_not_idle()
{
    activate busy "$T/activated.yaml" discovery --exit-idle-time 1 || return 1
    # An open (idle) connection keeps the process up past the idle time.
    node "$NODE_DIR/rawsock.mjs" --hold 3500 "127.0.0.1:$PS" 'text:GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/busy.json" &
    local client=$!
    sleep 2.5
    if ! kill -0 "${PID_OF[busy]}" 2>/dev/null; then
        echo "exited while a connection was open"
        wait "$client"
        return 1
    fi
    wait "$client"
    cat "$T/busy.json"
    json_expect "$T/busy.json" '/^HTTP\/1\.1 200 /.test(d.text)' || return 1
    wait_exit "${PID_OF[busy]}" 6 || { echo "did not exit after the connection closed"; return 1; }
    wait "${PID_OF[busy]}"
    local st=$?
    unset "PID_OF[busy]"
    expect_eq "$st" 0
}
check "--exit-idle-time: an open connection keeps the service up; exit 0 after it closes" busy_not_idle

fd_index()
{
    activate fdindex "$T/activated-fd.yaml" whatever || return 1
    http fi "http://127.0.0.1:$PS/health" || return 1
    expect_eq "$(status "$T/fi.h")" 200 || return 1
    stop fdindex TERM 5
    expect_eq "$STOP_STATUS" 0 || return 1
    sanitizer_clean "${LOG_OF[fdindex]}"
}
check "fd: 0 with exactly one passed socket: answers, exits 0 on SIGTERM" fd_index

fd_name_missing()
{
    activate wrong "$T/activated-wrong.yaml" discovery || return 1
    curl -s --max-time 3 "http://127.0.0.1:$PS/health" >/dev/null
    wait_exit "${PID_OF[wrong]}" 5 || { echo "still running"; return 1; }
    wait "${PID_OF[wrong]}"
    local st=$?
    unset "PID_OF[wrong]"
    cat "${LOG_OF[wrong]}"
    [ "$st" != 0 ] || { echo "exit status 0"; return 1; }
    expect_file_contains "${LOG_OF[wrong]}" elsewhere || return 1
    sanitizer_clean "${LOG_OF[wrong]}"
}
check "fd_name not among the passed sockets: exits non-zero naming it" fd_name_missing

finish
