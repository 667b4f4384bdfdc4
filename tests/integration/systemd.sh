#!/usr/bin/env bash
# masd's systemd units under a real systemd 252, booted as PID 1 of a throw-away container.
#
#   tests/integration/systemd.sh                          # as root; BUILD=<root>/build by default
#   BUILD=build-asan tests/integration/systemd.sh
#   STAGE=/tmp/destdir tests/integration/systemd.sh       # an installed tree (meson install --destdir)
#
# Installs the build (`meson install --destdir`, copied into the container's disposable root)
# with a test config and assets, then checks: `systemd-analyze verify` prints nothing; `systemctl
# start masd.target` leaves the sockets listening and the services inactive; the first request
# starts a service; the access log reaches the journal; `restart` and `kill -9` with a connection
# waiting in the backlog; `reload`; a clean `stop`; exit when idle; the shipped drop-in examples;
# stopping the target closes the sockets; teardown leaves nothing behind.
#
# Isolation as in shared/reference/systemd-testing.md §2: own cgroup, private mount namespace with
# tmpfs /run and /tmp, non-recursive bind of /, `systemd-nspawn --volatile=overlay
# --private-network`, empty /etc/systemd/system, sysv generator masked, the staged files
# bind-mounted read-only. Teardown runs from the EXIT trap and signals only PIDs this run started.
# Needs root and systemd-container (nspawn). Takes ~5 s.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
TOP=$(cd "$HERE/../.." && pwd)

# ---- Stages of the launched process (see start_container) --------------------------------------

# Stage 1, in the background: join the run's cgroups, then a private mount namespace.
if [ "${1:-}" = __launch ]; then
    work=$2
    shift 2
    for cg in "$@"; do echo $$ >"$cg/cgroup.procs" || exit 1; done
    exec unshare --mount --propagation private bash "$SELF" __ns "$work"
fi

# Stage 2, in the private mount namespace: the view nspawn gets, then nspawn itself.
if [ "${1:-}" = __ns ]; then
    work=$2
    set -e
    if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
        echo "mount namespace is not private; refusing to go on" >&2
        exit 1
    fi
    mount --make-rprivate /
    mount -t tmpfs -o mode=755 tmpfs /run
    mkdir -p /run/ct/rootfs /run/ct/share
    mount --bind / /run/ct/rootfs # not --rbind: leaves out the host's /dev, /proc, /sys, /tmp
    mount --bind "$work/share" /run/ct/share
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    exec systemd-nspawn -D /run/ct/rootfs --volatile=overlay --register=no --keep-unit \
        --link-journal=no --console=pipe --private-network -M "$(cat "$work/share/name")" \
        --tmpfs=/etc/systemd/system \
        --bind-ro=/run/ct/share/generators:/etc/systemd/system-generators \
        --bind-ro=/run/ct/share:/sdtest \
        -b systemd.unit=multi-user.target
fi

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
bail() { # a precondition failed: record it and stop (the EXIT trap cleans up)
    fail_check "$1" "$2"
    finish
}
failed_so_far() { [ "${_FAILED:-0}" -gt 0 ]; }

BUILD=${BUILD:-$TOP/build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
NAME=masd-sdtest-$$
WORK=     # this run's directory; $WORK/share is the container's /sdtest
N=        # systemd-nspawn, our child
L=        # the container's PID 1, as seen from here
BOOTED=0
TORN=0
CGROUPS=()
BG_PIDS=()
T0=$EPOCHREALTIME

ms_since() { # milliseconds since $1 (an $EPOCHREALTIME)
    local a=${1/./} b=${EPOCHREALTIME/./}
    echo $(((b - a) / 1000))
}

# systemctl, journalctl, ... inside the container (both -m and -p are needed).
ct() {
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_COLORS=0 SYSTEMD_PAGER= \
        nsenter -t "$L" -m -u -i -n -p -C -- "$@"
}
ctnet() { nsenter -t "$L" -n -- "$@"; }
prop() { ct systemctl show -P "$2" "$1"; } # UNIT PROPERTY
sock() { echo "/proc/$L/root/run/masd/$1.sock"; }

state_is() { # UNIT STATE
    local s
    s=$(prop "$1" ActiveState)
    [ "$s" = "$2" ] && return 0
    echo "$1 is $s, expected $2"
    return 1
}

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

# The listening unix socket of /run/masd/NAME.sock in the container: "Recv-Q inode", or nothing.
listener() { ctnet ss -xlH src "/run/masd/$1.sock" | awk '{print $3, $6}'; }
inode() { listener "$1" | awk '{print $2}'; }
queued() { [ "$(listener "$1" | awk '{print $1}')" -ge 1 ] 2>/dev/null; }
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

wait_for() { # TENTHS COMMAND...: polls every 0.1 s
    local n=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || { "$@"; return 1; }
        sleep 0.1
    done
}

# Host PID of a process in the container, from its PID there (systemd-testing.md §2.6).
host_pid() {
    local want=$1 ns f p
    ns=$(readlink "/proc/$L/ns/pid") || return 1
    while read -r f; do
        while read -r p; do
            [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
            if [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = "$want" ]; then
                echo "$p"
                return 0
            fi
        done <"$f"
    done < <(find "${CGROUPS[@]}" -name cgroup.procs 2>/dev/null)
    echo "no host pid for container pid $want"
    return 1
}

main_pid() { prop "masd-$1.service" MainPID; }

# fd_names SERVICE NAMES-REGEX: the LISTEN_FDNAMES the service's main process was started with.
fd_names() {
    local p names
    p=$(host_pid "$(main_pid "$1")") || { echo "$p"; return 1; }
    names=$(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^LISTEN_FDNAMES=//p')
    [[ $names =~ ^($2)$ ]] && return 0
    echo "LISTEN_FDNAMES=$names, expected $2"
    return 1
}

journal_has() { # UNIT TEXT: the text shows up in the unit's journal within 3 s
    local i
    for i in $(seq 30); do
        ct journalctl -q -u "$1" --no-pager -o cat | grep -qF -- "$2" && return 0
        sleep 0.1
    done
    echo "no '$2' in the journal of $1:"
    ct journalctl -q -u "$1" --no-pager -o cat | tail -n 20
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

# SERVICE: inactive, not failed, and its main process exited with status 0 (not by a signal).
stopped_clean() {
    local s
    s=$(ct systemctl show -p ActiveState -p Result -p ExecMainCode -p ExecMainStatus \
        "masd-$1.service" | sort | tr '\n' ' ')
    [ "$s" = "ActiveState=inactive ExecMainCode=1 ExecMainStatus=0 Result=success " ] && return 0
    echo "masd-$1.service: $s (ExecMainCode 1 = exited, 2 = killed by a signal)"
    ct journalctl -q -u "masd-$1.service" --no-pager -o cat | tail -n 15
    return 1
}

# systemd-analyze verify must print nothing at all: it exits 0 on most warnings.
verify_quiet() {
    local out
    out=$(ct systemd-analyze verify "$@" 2>&1)
    [ -z "$out" ] && return 0
    echo "$out"
    return 1
}

# ---- Container lifecycle -------------------------------------------------------------------------

cgroup_roots() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo /sys/fs/cgroup # pure cgroup2
    else                    # hybrid: cgroup2 and the name=systemd v1 hierarchy
        [ -d /sys/fs/cgroup/unified ] && echo /sys/fs/cgroup/unified
        [ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd
    fi
}

start_container() {
    local root
    for root in $(cgroup_roots); do
        mkdir "$root/$NAME" || return 1
        CGROUPS+=("$root/$NAME")
    done
    [ ${#CGROUPS[@]} -gt 0 ] || { echo "no cgroup hierarchy"; return 1; }
    echo "$NAME" >"$WORK/share/name"
    # setsid: no terminal or process-group signal reaches the container. Not a process-group
    # leader here, so setsid execs in place: $! is nspawn's PID once the stages have exec'd.
    setsid bash "$SELF" __launch "$WORK" "${CGROUPS[@]}" </dev/null >"$WORK/nspawn.log" 2>&1 &
    N=$!
}

find_container_pid1() { # the child of nspawn that runs systemd
    local c
    for c in $(cat /proc/"$N"/task/*/children 2>/dev/null); do
        [ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && L=$c && return 0
    done
    return 1
}

boot_state() {
    BOOT_STATE=$(ct systemctl is-system-running 2>/dev/null)
    case $BOOT_STATE in running | degraded) return 0 ;; *) return 1 ;; esac
}

# By PID only: nspawn (our child), the container's PID 1, whatever is left in our cgroups.
teardown() {
    local status=$? p f root deadline
    trap '' INT TERM
    [ "$TORN" = 1 ] && return $status
    TORN=1
    for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [ -n "$N" ] && kill -0 "$N" 2>/dev/null; then
        if [ "$BOOTED" = 1 ]; then
            kill -TERM "$N" # orderly halt, 0.1-0.2 s
            deadline=$((SECONDS + 15))
            while kill -0 "$N" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
        fi
        # Interrupted during boot, or the halt hangs: killing the namespace's init ends it all.
        if kill -0 "$N" 2>/dev/null; then
            [ -n "$L" ] || find_container_pid1
            [ -n "$L" ] && kill -KILL "$L" 2>/dev/null
            deadline=$((SECONDS + 5))
            while kill -0 "$N" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
            kill -KILL "$N" 2>/dev/null
        fi
    fi
    [ -n "$N" ] && wait "$N" 2>/dev/null
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    # Anything left in our cgroups, then the cgroups themselves, deepest first; exiting tasks
    # are released lazily (EBUSY for a moment).
    deadline=$((SECONDS + 10))
    for root in "${CGROUPS[@]}"; do
        while [ -d "$root" ]; do
            while read -r f; do
                while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$f"
            done < <(find "$root" -name cgroup.procs 2>/dev/null)
            find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
            [ -d "$root" ] || break
            [ $SECONDS -lt $deadline ] || break
            sleep 0.1
        done
    done
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if findmnt -rn -o TARGET | grep -qF "$WORK"; then
            echo "# mounts left under $WORK; not removing it" >&2
        else
            rm -rf --one-file-system "$WORK"
        fi
    fi
    return $status
}
# The trap may fire inside a check, whose output lib.sh redirects to a file: write to the
# script's own stdout and stderr.
exec {OUT}>&1 {ERR}>&2
trap 'teardown >&$OUT 2>&$ERR; _cleanup >&$OUT 2>&$ERR' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

no_leftovers() {
    local bad=0 root
    for root in "${CGROUPS[@]}"; do
        [ -e "$root" ] && echo "cgroup left: $root" && bad=1
    done
    kill -0 "$N" 2>/dev/null && echo "nspawn $N still running" && bad=1
    [ -n "$L" ] && kill -0 "$L" 2>/dev/null && echo "container init $L still running" && bad=1
    findmnt -rn -o TARGET | grep -E "^/run/ct/|$NAME|$WORK" && bad=1
    [ -e "$WORK" ] && echo "$WORK left" && bad=1
    return $bad
}

# ---- Preconditions, staging ----------------------------------------------------------------------

[ "$(id -u)" = 0 ] || bail "runs as root" "systemd-nspawn needs root"
for cmd in systemd-nspawn nsenter unshare setsid curl ss meson findmnt; do
    command -v $cmd >/dev/null || bail "$cmd is installed" "apt-get install systemd-container curl iproute2 meson"
done
[ -x /lib/systemd/systemd ] || bail "systemd is installed" "apt-get install systemd"
[ -n "${STAGE:-}" ] || [ -f "$BUILD/meson-private/coredata.dat" ] ||
    bail "a meson build in $BUILD" "meson setup $BUILD && ninja -C $BUILD (or set BUILD=)"

WORK=$(mktemp -d /tmp/masd-sdtest.XXXXXX) # not under /run: stage 2 hides /run
SHARE=$WORK/share
mkdir -p "$SHARE/generators" "$SHARE/stage" "$SHARE/dropins"
ln -s /dev/null "$SHARE/generators/systemd-sysv-generator" # masks the sysv generator

if [ -n "${STAGE:-}" ]; then
    cp -a "$STAGE/." "$SHARE/stage/"
elif ! meson install -C "$BUILD" --no-rebuild --destdir "$SHARE/stage" >"$WORK/install.log" 2>&1; then
    bail "meson install --destdir from $BUILD" "$(tail -n 5 "$WORK/install.log") (build it first: ninja -C $BUILD)"
fi
installed() { # PATTERN: the installed path of one staged file (find -path)
    local f
    f=$(cd "$SHARE/stage" && find . -path "$1" | head -n 1)
    echo "${f#.}"
}
UNITDIR=$(dirname "$(installed '*/systemd/system/masd-discovery.socket')")
DOCDIR=$(dirname "$(installed '*/doc/masd/systemd/README.md')")
SYSUSERS=$(installed '*/sysusers.d/masd.conf')
TMPFILES=$(installed '*/tmpfiles.d/masd.conf')
[ "$UNITDIR" != . ] && [ "$DOCDIR" != . ] && [ -n "$SYSUSERS" ] && [ -n "$TMPFILES" ] ||
    bail "the build installs units, sysusers.d, tmpfiles.d and examples" "see units/meson.build"
BINDIR=$(sed -n 's|^ExecStart=\(.*\)/masd-discovery .*|\1|p' "$SHARE/stage$UNITDIR/masd-discovery.service")

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

cat >"$SHARE/config.yaml" <<'EOF'
http:
  public_base: "http://localhost/"
  listeners:
    - name: discovery
      resources: [{name: discovery}, {name: health}]
      binds: [{fd_name: discovery}]
    - name: assets
      resources: [{name: assets, path: /usr/share/masd/assets}]
      binds: [{fd_name: assets}]
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

# A sanitizer build: LeakSanitizer stops the process's threads with ptrace at exit, which
# SystemCallFilter=@system-service refuses ("LeakSanitizer has encountered a fatal error", exit
# 1). Allow ptrace alone, and pass the suite's sanitizer options; everything else stays as shipped.
SANITIZER=0
if grep -qa __asan_init "$SHARE/stage$BINDIR/masd-discovery"; then
    SANITIZER=1
    cat >"$SHARE/dropins/sanitizer.conf" <<EOF
[Service]
SystemCallFilter=ptrace
Environment="ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}"
Environment="UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
Environment="LSAN_OPTIONS=suppressions=/usr/share/masd/lsan.supp"
EOF
    cp "$TOP/tests/lsan.supp" "$SHARE/dropins/lsan.supp"
fi

# ---- Boot ----------------------------------------------------------------------------------------

note "build $BUILD: units in $UNITDIR, binaries in $BINDIR; asset $ASSET"
start_container || bail "own cgroups under $(cgroup_roots | tr '\n' ' ')" "mkdir failed"
t_boot=$EPOCHREALTIME
wait_for 100 find_container_pid1 || bail "the container starts" "$(tail -n 20 "$WORK/nspawn.log")"
wait_for 600 boot_state || bail "the container boots" "$(tail -n 20 "$WORK/nspawn.log")"
BOOTED=1
check "container boots to '$BOOT_STATE' with systemd as PID 1 ($(ms_since "$t_boot") ms)" \
    test "$(ct cat /proc/1/comm)" = systemd
[ "$BOOT_STATE" = running ] || ct systemctl --failed --no-legend | sed 's/^/# failed: /'

# ---- Install into the container (its root is a disposable overlay) -------------------------------

install_into_container() {
    ct sh -ec '
        cd /sdtest/stage
        find . -type f | while read -r f; do install -D -m "$(stat -c %a "$f")" "$f" "/${f#./}"; done
        install -D -m 600 /sdtest/config.yaml /etc/masd/config.yaml
        mkdir -p /usr/share/masd
        cp -a /sdtest/assets /usr/share/masd/assets
        systemd-sysusers "$1"
        systemd-tmpfiles --create "$2"
        if [ -f /sdtest/dropins/sanitizer.conf ]; then
            install -m 644 /sdtest/dropins/lsan.supp /usr/share/masd/lsan.supp
            for s in masd-discovery masd-assets; do
                install -D -m 644 /sdtest/dropins/sanitizer.conf /etc/systemd/system/$s.service.d/sanitizer.conf
            done
        fi' sh "$SYSUSERS" "$TMPFILES"
}
install_into_container >"$WORK/ct-install.log" 2>&1 ||
    bail "install into the container" "$(cat "$WORK/ct-install.log")"
[ $SANITIZER = 0 ] ||
    note "sanitizer build: drop-in masd-{discovery,assets}.service.d/sanitizer.conf allows ptrace for LeakSanitizer"
check "sysusers.d creates the static masd user" ct getent passwd masd
check "tmpfiles.d creates /var/lib/masd 0750 masd:masd" \
    test "$(ct stat -c '%a %U %G' /var/lib/masd)" = "750 masd masd"
UNITS=(masd.target masd-discovery.socket masd-discovery.service masd-assets.socket masd-assets.service)
check "systemd-analyze verify prints nothing for ${UNITS[*]}" verify_quiet "${UNITS[@]/#/$UNITDIR/}"

ct systemctl daemon-reload
enabled_by_target() {
    ct systemctl enable -q masd.target || return 1
    [ "$(ct systemctl is-enabled masd-discovery.socket masd-assets.socket | tr '\n' ' ')" = "enabled enabled " ]
}
check "systemctl enable masd.target enables both sockets (Also=)" enabled_by_target

# ---- Socket activation ---------------------------------------------------------------------------

check "systemctl start masd.target" ct systemctl start masd.target
for s in discovery assets; do
    check "masd-$s.socket listens" listening $s
    check "masd-$s.service stays inactive" state_is "masd-$s.service" inactive
done
check "both sockets are srw-rw---- root:www-data" \
    test "$(ct stat -c '%A %U %G' /run/masd/discovery.sock /run/masd/assets.sock | tr '\n' ' ')" = \
    "srw-rw---- root www-data srw-rw---- root www-data "

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
for u in masd-discovery.service masd-assets.service masd-discovery.socket masd-assets.socket \
    masd-discovery-proxy.socket; do
    check "$u becomes inactive" wait_for 50 state_is "$u" inactive
done
note "all stopped $(ms_since "$t_op") ms after the stop began"
check "nothing listens on /run/masd/discovery.sock" not_listening discovery
check "nothing listens on /run/masd/assets.sock" not_listening assets
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
    for u in masd.target masd-discovery.service masd-assets.service masd-discovery.socket \
        masd-assets.socket masd-discovery-proxy.socket; do
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
