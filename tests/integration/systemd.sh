#!/usr/bin/env bash
# tests/run: alone
# masd's systemd units under a real systemd 252, booted as PID 1 of a throw-away container.
#
#   tests/integration/systemd.sh                          # as root; BUILD=<root>/build by default
#   BUILD=build-asan tests/integration/systemd.sh
#   STAGE=/tmp/destdir tests/integration/systemd.sh       # an installed tree (meson install --destdir)
#
# Installs the build (`meson install --destdir`, copied into the container's disposable root)
# with a test config and assets, then checks: `systemd-analyze verify` prints nothing; `systemctl
# start masd.target` leaves the sockets listening and the services inactive; the first request
# starts a service (the DB-backed masd-human too, as the static masd user, after `masctl database
# migrate`); the access log reaches the journal; `restart` and `kill -9` with a connection
# waiting in the backlog; `reload`; a clean `stop`; exit when idle; the shipped drop-in examples;
# stopping the target closes the sockets; teardown leaves nothing behind.
#
# Isolation, so the host's systemd never sees the test's: own cgroup, private mount namespace with
# tmpfs /run and /tmp, non-recursive bind of /, `systemd-nspawn --volatile=overlay
# --private-network`, empty /etc/systemd/system, sysv generator masked, the staged files
# bind-mounted read-only. Teardown runs from the EXIT trap and signals only PIDs this run started.
# The container machinery lives in container.bash (shared with reliability.sh). Needs root and
# systemd-container (nspawn). Takes ~5 s.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

# ---- Check helpers -------------------------------------------------------------------------------

# lib.sh (shared by the integration tests) gives check, fail_check, note, finish, $T and an EXIT
# trap (_cleanup); without it, a minimal equivalent.
# shellcheck source=lib.sh
[ -f "$HERE/lib.sh" ] && . "$HERE/lib.sh"
if ! declare -F check >/dev/null; then
    T=$(mktemp -d /tmp/masd-systemd.XXXXXX)
    _FAILED=0
    # check "description" command...: prints "ok - ..." or "not ok - ..." with the command's
    # output, and counts the result.
    check() {
        local desc=$1
        shift
        if "$@" >"$T/check.out" 2>&1; then
            echo "ok - systemd: $desc"
        else
            echo "not ok - systemd: $desc"
            sed -e 's/^/#   /' "$T/check.out" | head -n 60
            _FAILED=$((_FAILED + 1))
        fi
        return 0
    }
    fail_check() {
        echo "not ok - systemd: $1"
        echo "#   $2"
        _FAILED=$((_FAILED + 1))
    }
    note() { echo "# $*"; }
    finish() { exit $((_FAILED > 0)); }
    _cleanup() {
        local rc=$?
        rm -rf "$T"
        exit $rc
    }
fi
# The container machinery (stages, ct/ctnet, host_pid, teardown from the EXIT trap, staging,
# boot): container.bash, shared with reliability.sh.
CT_PREFIX=masd-sdtest
# shellcheck source=container.bash
. "$HERE/container.bash"

# get SOCKET PATH [curl options]: prints the status code; the body goes to $WORK/body.
get() {
    local s=$1 p=$2
    shift 2
    curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 10 --unix-socket "$(sock "$s")" \
        "$@" "http://localhost$p" 2>"$WORK/curl.err"
}
expect_200() { # SOCKET PATH
    local code
    code=$(get "$1" "$2")
    [ "$code" = 200 ] && return 0
    echo "GET $2 on $1.sock: ${code:-no answer} $(head -c 300 "$WORK/curl.err")"
    head -c 300 "$WORK/body" 2>/dev/null
    return 1
}
tcp_200() { # curl arguments, run in the container's network namespace
    local code
    code=$(ctnet curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$@" 2>&1)
    [ "$code" = 200 ] && return 0
    echo "curl $*: ${code:-no answer}"
    return 1
}

listening() { # NAME
    [ -n "$(inode "$1")" ] && return 0
    echo "nothing listens on /run/masd/$1.sock"
    return 1
}
not_listening() { # NAME
    [ -z "$(inode "$1")" ] && return 0
    echo "still listening: $(ctnet ss -xlH src "/run/masd/$1.sock")"
    return 1
}

# fd_names SERVICE NAMES-REGEX: the LISTEN_FDNAMES the service's main process was started with.
fd_names() {
    local p names
    p=$(host_pid "$(main_pid "$1")") || { echo "$p"; return 1; }
    names=$(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^LISTEN_FDNAMES=//p')
    [[ $names =~ ^($2)$ ]] && return 0
    echo "LISTEN_FDNAMES=$names, expected $2"
    return 1
}

# A request that has to wait: freeze the service, connect, and wait until the connection sits in
# the socket's backlog (Recv-Q of the LISTEN socket). Sets BG (that curl) and INODE.
queue_request() { # SOCKET PATH
    ct systemctl kill -s SIGSTOP "masd-$1.service" || return 1
    INODE=$(inode "$1")
    curl -sS -o "$WORK/queued.body" -w '%{http_code}' --max-time 15 --unix-socket "$(sock "$1")" \
        "http://localhost$2" >"$WORK/queued.code" 2>"$WORK/queued.err" </dev/null &
    BG=$!
    BG_PIDS+=("$BG")
    wait_for 50 queued "$1" || { echo "no connection in the backlog"; return 1; }
}
queued_answered() { # waits for that request; true when it got 200
    wait "$BG"
    [ "$(cat "$WORK/queued.code")" = 200 ] && return 0
    echo "queued request: $(cat "$WORK/queued.code") $(cat "$WORK/queued.err")"
    return 1
}
new_process_same_socket() { # SERVICE OLD-PID OLD-INODE
    local p i
    p=$(main_pid "$1")
    i=$(inode "$1")
    [ "$p" != 0 ] && [ "$p" != "$2" ] && [ "$i" = "$3" ] && return 0
    echo "MainPID $2 -> $p, listener inode $3 -> $i"
    return 1
}

# ---- Staging ------------------------------------------------------------------------------------

ct_stage

# Assets: the shared test set, or a minimal one while there is none.
if [ -d "$TOP/tests/data/assets" ]; then
    cp -a "$TOP/tests/data/assets" "$SHARE/assets"
else
    mkdir -p "$SHARE/assets"
    printf 'body { color: #123456; }\n' >"$SHARE/assets/style.css"
fi
chmod -R a+rX "$SHARE/assets"
ASSET=$(cd "$SHARE/assets" && find . -type f ! -name '.*' ! -name '*.gz' ! -name '*.br' | sort | head -n 1)
ASSET=/assets/${ASSET#./}

# The secrets first: the PROXY variant below appends a listener. masd-human seals its cookies
# with the encryption secret; the database is the default, /var/lib/masd/masd.db.
cat >"$SHARE/config.yaml" <<'EOF'
secrets:
  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff
http:
  public_base: "http://localhost/"
  listeners:
    - name: discovery
      resources: [{name: discovery}, {name: health}]
      binds: [{fd_name: discovery}]
    - name: assets
      resources: [{name: assets, path: /usr/share/masd/assets}]
      binds: [{fd_name: assets}]
    - name: human
      resources: [{name: human}, {name: health}]
      binds: [{fd_name: human}]
EOF
# The same plus the listener of the PROXY-protocol example (examples/masd-discovery-proxy.socket).
cat "$SHARE/config.yaml" - >"$SHARE/config-proxy.yaml" <<'EOF'
    - name: discovery-haproxy
      resources: [{name: discovery}, {name: health}]
      proxy_protocol: true
      binds: [{fd_name: discovery-proxy}]
EOF
# The shipped exit-idle example, with one second.
sed 's/--exit-idle-time 60$/--exit-idle-time 1/' \
    "$SHARE/stage$DOCDIR/examples/masd-discovery.service.d/exit-idle.conf" >"$SHARE/dropins/exit-idle.conf"
grep -q -- '--exit-idle-time 1$' "$SHARE/dropins/exit-idle.conf" ||
    bail "the exit-idle example sets --exit-idle-time 60" "units/examples changed; adapt this test"

# ---- Boot ----------------------------------------------------------------------------------------

note "build $BUILD: units in $UNITDIR, binaries in $BINDIR; asset $ASSET"
ct_boot

# ---- Install into the container (its root is a disposable overlay) -------------------------------

ct_install masd-discovery masd-assets masd-human ||
    bail "install into the container" "$(cat "$WORK/ct-install.log")"
[ $SANITIZER = 0 ] ||
    note "sanitizer build: drop-in masd-{discovery,assets,human}.service.d/sanitizer.conf allows ptrace for LeakSanitizer"
check "sysusers.d creates the static masd user" ct getent passwd masd
check "tmpfiles.d creates /var/lib/masd 0750 masd:masd" \
    test "$(ct stat -c '%a %U %G' /var/lib/masd)" = "750 masd masd"
UNITS=(masd.target masd-discovery.socket masd-discovery.service masd-assets.socket masd-assets.service
    masd-human.socket masd-human.service)
check "systemd-analyze verify prints nothing for ${UNITS[*]}" verify_quiet "${UNITS[@]/#/$UNITDIR/}"

ct systemctl daemon-reload
enabled_by_target() {
    ct systemctl enable -q masd.target || return 1
    [ "$(ct systemctl is-enabled masd-discovery.socket masd-assets.socket masd-human.socket | tr '\n' ' ')" = \
        "enabled enabled enabled " ]
}
check "systemctl enable masd.target enables the three sockets (Also=)" enabled_by_target
# masd-human refuses to start while migrations are pending (the README's step 3). masctl, as root,
# runs as the owner of /var/lib/masd.
check "masctl database migrate (the database of masd-human)" \
    ct "$BINDIR/masctl" -c /etc/masd/config.yaml database migrate

# ---- Socket activation ---------------------------------------------------------------------------

check "systemctl start masd.target" ct systemctl start masd.target
for s in discovery assets human; do
    check "masd-$s.socket listens" listening $s
    check "masd-$s.service stays inactive" state_is "masd-$s.service" inactive
done
check "the sockets are srw-rw---- root:www-data" \
    test "$(ct stat -c '%A %U %G' /run/masd/discovery.sock /run/masd/assets.sock /run/masd/human.sock | tr '\n' ' ')" = \
    "srw-rw---- root www-data srw-rw---- root www-data srw-rw---- root www-data "

t_op=$EPOCHREALTIME
check "the first request, /.well-known/openid-configuration, starts masd-discovery: 200" \
    expect_200 discovery /.well-known/openid-configuration
note "cold start answered in $(ms_since "$t_op") ms"
check "the discovery document names the issuer" grep -q '"issuer" *: *"http://localhost/"' "$WORK/body"
check "masd-discovery.service is active" state_is masd-discovery.service active
check "GET /health on the discovery listener: 200" expect_200 discovery /health
check "the first request for $ASSET starts masd-assets: 200" expect_200 assets "$ASSET"
check "masd-assets.service is active" state_is masd-assets.service active
check "masd-discovery got one fd, named 'discovery'" fd_names discovery discovery
check "masd-assets got one fd, named 'assets'" fd_names assets assets
check "the first request for /login starts masd-human (the static masd user, the database): 200" \
    expect_200 human /login
check "masd-human.service is active" state_is masd-human.service active
check "masd-human got one fd, named 'human'" fd_names human human
check "masd-human runs as the static user masd" \
    test "$(ct systemctl show -P User masd-human.service)/$(ct ps -o user= -p "$(main_pid human)")" = masd/masd
check "GET /health on the human listener (the database answers): 200" expect_200 human /health
check "the journal has the access log line of the login page" journal_has masd-human.service '"GET /login"'
check "the journal has the access log line of the discovery request" \
    journal_has masd-discovery.service /.well-known/openid-configuration
check "the journal has the access log line of the asset request" journal_has masd-assets.service "$ASSET"
structured() { # the access line's journal fields (README: MASD_PATH, MASD_STATUS, ...)
    local out
    out=$(ct journalctl -q -u masd-discovery.service --no-pager -o cat \
        MASD_PATH=/.well-known/openid-configuration MASD_STATUS=200 MASD_LISTENER=discovery)
    [ -n "$out" ] && return 0
    echo "no entry with MASD_PATH=/.well-known/openid-configuration MASD_STATUS=200 MASD_LISTENER=discovery"
    return 1
}
check "the access log entry has the fields MASD_PATH, MASD_STATUS, MASD_LISTENER" structured
escaped_fields() { # a client's quote and backslash reach the journal escaped, as on stderr
    local code out
    code=$(get discovery / --request-target '/esc"x\y')
    [ "$code" = 404 ] || { echo "GET /esc\"x\\y: ${code:-no answer}"; return 1; }
    sleep 0.5
    out=$(ct journalctl -q -u masd-discovery.service --no-pager -o cat 'MASD_PATH=/esc\x22x\x5cy' MASD_STATUS=404)
    [ -n "$out" ] && { echo "$out"; return 0; }
    echo "no entry with MASD_PATH=/esc\x22x\x5cy; the last entries:"
    ct journalctl -q -u masd-discovery.service --no-pager -o verbose -n 3 | grep MASD_PATH
    return 1
}
check "a quote and a backslash in the path are escaped in the journal fields (MASD_PATH=/esc\\x22x\\x5cy)" escaped_fields

# ---- Restart and kill -9 with a connection waiting in the backlog --------------------------------

# Every phase starts the service again: reset the start limit (5 starts in 10 s by default).
reset() { ct systemctl reset-failed "$@"; }

reset masd-discovery.service
pid=$(main_pid discovery)
check "service frozen (SIGSTOP): a new connection waits in the backlog" \
    queue_request discovery /.well-known/openid-configuration
t_op=$EPOCHREALTIME
check "systemctl restart masd-discovery with a connection in the backlog" \
    ct systemctl restart masd-discovery.service
note "restart took $(ms_since "$t_op") ms"
check "the waiting connection is answered 200" queued_answered
check "a new process serves on the same listening socket" new_process_same_socket discovery "$pid" "$INODE"
answered_by=$(ct journalctl -q -u masd-discovery.service -o short --no-pager |
    grep -F '"GET /.well-known/openid-configuration"' | tail -n 1 | sed -n 's/.*masd-discovery\[\([0-9]*\)\].*/\1/p')
if [ "$answered_by" = "$pid" ]; then
    note "the old process answered it: resumed by systemd's SIGCONT, it accepted before handling SIGTERM"
else
    note "the new process answered it"
fi

reset masd-discovery.service
pid=$(main_pid discovery)
check "frozen again: a new connection waits in the backlog" queue_request discovery /.well-known/openid-configuration
kill_from_host() {
    local p
    p=$(host_pid "$1") || { echo "$p"; return 1; }
    kill -KILL "$p"
}
check "kill -9 of the MainPID from the host, by PID" kill_from_host "$pid"
check "the waiting connection is answered 200 after kill -9" queued_answered
check "the journal shows status=9/KILL" journal_has masd-discovery.service status=9/KILL
check "a new process serves on the same listening socket" new_process_same_socket discovery "$pid" "$INODE"

# ---- Reload --------------------------------------------------------------------------------------

pid=$(main_pid assets)
ct sh -c 'echo reloaded >/usr/share/masd/assets/masd-reload-test.txt'
before=$(get assets /assets/masd-reload-test.txt)
check "systemctl reload masd-assets" ct systemctl reload masd-assets.service
check "after the reload $ASSET is still served: 200" expect_200 assets "$ASSET"
check "the same process serves after the reload" test "$(main_pid assets)" = "$pid"
check "after the reload a file added before it is served: 200" expect_200 assets /assets/masd-reload-test.txt
note "before the reload that file got $before"

# ---- Stop, re-activation -------------------------------------------------------------------------

reset masd-discovery.service
t_op=$EPOCHREALTIME
check "systemctl stop masd-discovery.service" ct systemctl stop -q masd-discovery.service
stop_ms=$(ms_since "$t_op")
check "it stopped cleanly: inactive, exit status 0" stopped_clean discovery
check "it stopped within 2 s ($stop_ms ms)" test "$stop_ms" -lt 2000
check "the socket keeps listening (same inode)" test "$(inode discovery)" = "$INODE"
check "the next request activates masd-discovery again: 200" \
    expect_200 discovery /.well-known/openid-configuration

# ---- Exit when idle ------------------------------------------------------------------------------

ct mkdir -p /etc/systemd/system/masd-discovery.service.d
ct cp /sdtest/dropins/exit-idle.conf /etc/systemd/system/masd-discovery.service.d/
ct systemctl daemon-reload
check "systemd-analyze verify with the exit-idle example drop-in prints nothing" \
    verify_quiet "$UNITDIR/masd-discovery.service"
ct systemctl stop -q masd-discovery.service
reset masd-discovery.service
check "with --exit-idle-time 1 (drop-in) a request starts masd-discovery: 200" \
    expect_200 discovery /.well-known/openid-configuration
pid=$(main_pid discovery)
t_op=$EPOCHREALTIME
check "idle, the service exits by itself" wait_for 50 state_is masd-discovery.service inactive
note "it exited $(ms_since "$t_op") ms after the request"
check "it exited cleanly: inactive, exit status 0" stopped_clean discovery
check "the next request starts it again: 200" expect_200 discovery /.well-known/openid-configuration
check "... in a new process" test "$(main_pid discovery)" != "$pid"
ct rm /etc/systemd/system/masd-discovery.service.d/exit-idle.conf
ct systemctl daemon-reload
# The process just started still has --exit-idle-time 1: stop it now, or it exits by itself while
# the socket restarts below, and systemd refuses to start a socket whose service is still
# stopping ("Socket service ... already active, refusing"; an ASan build's exit takes ~0.5 s).
ct systemctl stop -q masd-discovery.service

# ---- The shipped drop-in examples ----------------------------------------------------------------

ct mkdir -p /etc/systemd/system/masd-discovery.socket.d
ct cp "$DOCDIR/examples/masd-discovery.socket.d/tcp.conf" /etc/systemd/system/masd-discovery.socket.d/
ct systemctl daemon-reload
reset masd-discovery.service masd-discovery.socket
check "systemd-analyze verify with the TCP example drop-in prints nothing" \
    verify_quiet "$UNITDIR/masd-discovery.socket"
check "TCP example: systemctl restart masd-discovery.socket" ct systemctl restart masd-discovery.socket
check "TCP example: 127.0.0.1:8091 answers 200 (PrivateNetwork=yes, the fd is passed in)" \
    tcp_200 http://127.0.0.1:8091/.well-known/openid-configuration
check "TCP example: the UNIX socket is gone" not_listening discovery
ct rm -r /etc/systemd/system/masd-discovery.socket.d
ct systemctl daemon-reload
check "TCP example removed: systemctl restart masd-discovery.socket" ct systemctl restart masd-discovery.socket
check "TCP example removed: the UNIX socket answers 200 again" expect_200 discovery /health

# The PROXY example, applied as its header says: config, units, enable, restart the service.
ct install -m 600 /sdtest/config-proxy.yaml /etc/masd/config.yaml
ct cp "$DOCDIR/examples/masd-discovery-proxy.socket" /etc/systemd/system/
ct mkdir -p /etc/systemd/system/masd-discovery.service.d
ct cp "$DOCDIR/examples/masd-discovery.service.d/proxy.conf" /etc/systemd/system/masd-discovery.service.d/
ct systemctl daemon-reload
reset masd-discovery.service masd-discovery.socket
check "systemd-analyze verify of the PROXY example prints nothing" \
    verify_quiet /etc/systemd/system/masd-discovery-proxy.socket "$UNITDIR/masd-discovery.service"
check "PROXY example: enable masd-discovery-proxy.socket, restart masd-discovery.service" \
    ct sh -c 'systemctl enable -q masd-discovery-proxy.socket && systemctl restart masd-discovery.service'
check "PROXY example: masd-discovery-proxy.socket listens on 127.0.0.1:8191" \
    test -n "$(ctnet ss -ltnH 'sport = :8191')"
check "PROXY example: 127.0.0.1:8191 with a PROXY header answers 200" \
    tcp_200 --haproxy-protocol http://127.0.0.1:8191/.well-known/openid-configuration
check "PROXY example: the UNIX socket still answers 200" \
    expect_200 discovery /.well-known/openid-configuration
check "PROXY example: masd-discovery got two fds, 'discovery' and 'discovery-proxy'" \
    fd_names discovery 'discovery:discovery-proxy|discovery-proxy:discovery'
no_answer() { # curl arguments: the connection is closed without an HTTP response
    local code
    code=$(ctnet curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@")
    [ "$code" = 000 ] && return 0
    echo "curl $*: $code"
    return 1
}
check "PROXY example: 127.0.0.1:8191 without a PROXY header gets no HTTP answer" \
    no_answer http://127.0.0.1:8191/health

# ---- Stop the target -----------------------------------------------------------------------------

# systemctl returns when the target's own job is done; the sockets and services it propagates
# the stop to (PartOf=) finish a moment later, the services after draining.
inode_before_stop=$(inode discovery)
t_op=$EPOCHREALTIME
check "systemctl stop masd.target" ct systemctl stop masd.target
for u in masd-discovery.service masd-assets.service masd-human.service masd-discovery.socket \
    masd-assets.socket masd-human.socket masd-discovery-proxy.socket; do
    check "$u becomes inactive" wait_for 50 state_is "$u" inactive
done
note "all stopped $(ms_since "$t_op") ms after the stop began"
check "nothing listens on /run/masd/discovery.sock" not_listening discovery
check "nothing listens on /run/masd/assets.sock" not_listening assets
check "nothing listens on /run/masd/human.sock" not_listening human
check "nothing listens on 127.0.0.1:8191" test -z "$(ctnet ss -ltnH 'sport = :8191')"
refused() { # SOCKET: curl's status 7, "Failed to connect"
    local rc
    curl -sS -o /dev/null --max-time 5 --unix-socket "$(sock "$1")" http://localhost/
    rc=$?
    [ $rc = 7 ] && return 0
    echo "curl exit status $rc"
    return 1
}
check "a connection to /run/masd/discovery.sock is refused" refused discovery
# Started again, the sockets are new (new inode) and activation works; `systemctl stop 'masd*'`
# (the README's way to stop and wait) returns with everything stopped.
new_listener() { # NAME OLD-INODE
    local i
    i=$(inode "$1")
    [ -n "$i" ] && [ "$i" != "$2" ] && return 0
    echo "listener inode $2 -> ${i:-none}"
    return 1
}
check "systemctl start masd.target again" ct systemctl start masd.target
check "masd-discovery.socket listens on a new socket" new_listener discovery "$inode_before_stop"
check "a request activates masd-discovery: 200" expect_200 discovery /.well-known/openid-configuration
check "systemctl stop 'masd*'" ct systemctl stop 'masd*'
all_inactive() {
    local u bad=0
    for u in masd.target masd-discovery.service masd-assets.service masd-human.service \
        masd-discovery.socket masd-assets.socket masd-human.socket masd-discovery-proxy.socket; do
        state_is "$u" inactive || bad=1
    done
    return $bad
}
check "... returns with every masd unit inactive" all_inactive
check "no masd unit failed during the run" \
    test -z "$(ct systemctl list-units --failed --plain --no-legend 'masd*')"

no_sanitizer_report() {
    local re=${SANITIZER_RE:-'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|LeakSanitizer has encountered'}
    ! ct journalctl -q -u 'masd*' --no-pager -o cat | grep -E -A 30 -- "$re"
}
check "no sanitizer report in the journal of the masd units" no_sanitizer_report

if failed_so_far; then
    echo "# ---- container journal (journalctl -b) ----"
    ct journalctl -b --no-pager -o short-monotonic | sed 's/^/# /'
fi

# ---- Teardown ------------------------------------------------------------------------------------

t_op=$EPOCHREALTIME
teardown
check "teardown: halt and clean-up ($(ms_since "$t_op") ms)" true
check "teardown leaves no process, cgroup, mount or directory behind" no_leftovers
note "whole run $(ms_since "$T0") ms"
finish
