# A throw-away container that boots a real systemd as PID 1 with masd's build installed into it:
# the machinery shared by tests/integration/systemd.sh and reliability.sh. Sourced after lib.sh
# (check, fail_check, note, finish, $T, _cleanup); not a test of its own (tests/run skips it:
# it has no "check" lines and exits 0 when run alone).
#
#   CT_PREFIX=masd-sdtest     # names the run's cgroups (<prefix>-<pid>) and work dir; set it first
#   CT_NO_BUILD=1             # (optional) the script stages no build of its own (install.sh)
#   . "$HERE/container.sh"    # preconditions, helpers, EXIT trap
#   ct_stage                  # meson install --destdir into $SHARE/stage; sets UNITDIR, BINDIR, ...
#   ... write $SHARE/config.yaml, $SHARE/assets, $SHARE/dropins ...
#   ct_boot                   # start, wait for the boot, one check
#   ct_install masd-discovery masd-assets   # install into the container (sanitizer drop-ins for these)
#
# Isolation, so the host's systemd never sees the test's: own cgroup, private mount namespace with
# tmpfs /run and /tmp, non-recursive bind of /, `systemd-nspawn --volatile=overlay
# --private-network`, empty /etc/systemd/system, sysv generator masked, the staged files
# bind-mounted read-only at /sdtest. Teardown runs from the EXIT trap and signals only PIDs this
# run started. Needs root and systemd-container (nspawn).

# ---- Stages of the launched process (see start_container); this file run as a program -----------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Stage 1, in the background: join the run's cgroups, then a private mount namespace.
    if [ "${1:-}" = __launch ]; then
        work=$2
        shift 2
        for cg in "$@"; do echo $$ >"$cg/cgroup.procs" || exit 1; done
        exec unshare --mount --propagation private bash "${BASH_SOURCE[0]}" __ns "$work"
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
    exit 0
fi

CT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
CT_TOP=$(cd "$(dirname "$CT_LIB")/../.." && pwd)
CT_PREFIX=${CT_PREFIX:-masd-sdtest}

bail() { # a precondition failed: record it and stop (the EXIT trap cleans up)
    fail_check "$1" "$2"
    finish
}
failed_so_far() { [ "${_FAILED:-0}" -gt 0 ]; }

BUILD=${BUILD:-$CT_TOP/build}
case $BUILD in /*) ;; *) BUILD=$CT_TOP/$BUILD ;; esac
NAME=$CT_PREFIX-$$
WORK=     # this run's directory; $WORK/share is the container's /sdtest
SHARE=
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

# The listening unix socket of /run/masd/NAME.sock in the container: "Recv-Q inode", or nothing.
listener() { ctnet ss -xlH src "/run/masd/$1.sock" | awk '{print $3, $6}'; }
inode() { listener "$1" | awk '{print $2}'; }
queued() { [ "$(listener "$1" | awk '{print $1}')" -ge 1 ] 2>/dev/null; }

wait_for() { # TENTHS COMMAND...: polls every 0.1 s
    local n=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || { "$@"; return 1; }
        sleep 0.1
    done
}

# Host PID of a process in the container, from its PID there .
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
    setsid bash "$CT_LIB" __launch "$WORK" "${CGROUPS[@]}" </dev/null >"$WORK/nspawn.log" 2>&1 &
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
[ "${CT_NO_BUILD:-0}" = 1 ] || [ -n "${STAGE:-}" ] || [ -f "$BUILD/meson-private/coredata.dat" ] ||
    bail "a meson build in $BUILD" "meson setup $BUILD && ninja -C $BUILD (or set BUILD=)"

WORK=$(mktemp -d "/tmp/$CT_PREFIX.XXXXXX") # not under /run: stage 2 hides /run
SHARE=$WORK/share
mkdir -p "$SHARE/generators" "$SHARE/stage" "$SHARE/dropins"
# The tests' configs keep their secrets inline: the DB-backed units get the shipped example
# drop-in that loads config.yaml alone (ct_install).
cp "$CT_TOP/units/examples/inline-secrets/inline-secrets.conf" "$SHARE/dropins/inline-secrets.conf"
ln -s /dev/null "$SHARE/generators/systemd-sysv-generator" # masks the sysv generator

# ct_stage: the build (or $STAGE, an installed tree) into $SHARE/stage. Sets UNITDIR, DOCDIR,
# SYSUSERS, TMPFILES, BINDIR (paths inside the container) and SANITIZER (1 for an ASan build, with
# $SHARE/dropins/sanitizer.conf and lsan.supp written).
ct_stage() {
    if [ -n "${STAGE:-}" ]; then
        cp -a "$STAGE/." "$SHARE/stage/"
    elif ! meson install -C "$BUILD" --no-rebuild --destdir "$SHARE/stage" >"$WORK/install.log" 2>&1; then
        bail "meson install --destdir from $BUILD" "$(tail -n 5 "$WORK/install.log") (build it first: ninja -C $BUILD)"
    fi
    UNITDIR=$(dirname "$(installed '*/systemd/system/masd-discovery.socket')")
    DOCDIR=$(dirname "$(installed '*/doc/masd/systemd/README.md')")
    SYSUSERS=$(installed '*/sysusers.d/masd.conf')
    TMPFILES=$(installed '*/tmpfiles.d/masd.conf')
    [ "$UNITDIR" != . ] && [ "$DOCDIR" != . ] && [ -n "$SYSUSERS" ] && [ -n "$TMPFILES" ] ||
        bail "the build installs units, sysusers.d, tmpfiles.d and examples" "see units/meson.build"
    BINDIR=$(sed -n 's|^ExecStart=\(.*\)/masd-discovery .*|\1|p' "$SHARE/stage$UNITDIR/masd-discovery.service")

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
        cp "$CT_TOP/tests/lsan.supp" "$SHARE/dropins/lsan.supp"
    fi
}
installed() { # PATTERN: the installed path of one staged file (find -path)
    local f
    f=$(cd "$SHARE/stage" && find . -path "$1" | head -n 1)
    echo "${f#.}"
}

# ct_boot: starts the container and waits until systemd inside is up; one check.
ct_boot() {
    start_container || bail "own cgroups under $(cgroup_roots | tr '\n' ' ')" "mkdir failed"
    local t_boot=$EPOCHREALTIME
    wait_for 100 find_container_pid1 || bail "the container starts" "$(tail -n 20 "$WORK/nspawn.log")"
    wait_for 600 boot_state || bail "the container boots" "$(tail -n 20 "$WORK/nspawn.log")"
    BOOTED=1
    check "container boots to '$BOOT_STATE' with systemd as PID 1 ($(ms_since "$t_boot") ms)" \
        test "$(ct cat /proc/1/comm)" = systemd
    [ "$BOOT_STATE" = running ] || ct systemctl --failed --no-legend | sed 's/^/# failed: /'
}

# ct_install SERVICE...: the staged tree, /sdtest/config.yaml as /etc/masd/config.yaml, the assets
# in /sdtest/assets (if any) as /usr/share/masd/assets, the sysusers.d and tmpfiles.d snippets
# applied, units/examples/inline-secrets for masd-oauth, masd-human and masd-worker (the configs keep their
# secrets inline), and on a sanitizer build the drop-in for each SERVICE. Output to $WORK/ct-install.log.
ct_install() {
    ct sh -ec '
        cd /sdtest/stage
        find . -type f | while read -r f; do install -D -m "$(stat -c %a "$f")" "$f" "/${f#./}"; done
        install -D -m 600 /sdtest/config.yaml /etc/masd/config.yaml
        mkdir -p /usr/share/masd
        [ ! -d /sdtest/assets ] || cp -a /sdtest/assets /usr/share/masd/assets
        systemd-sysusers "$1"
        systemd-tmpfiles --create "$2"
        shift 2
        for s in "$@"; do
            case $s in masd-oauth | masd-human | masd-worker)
                install -D -m 644 /sdtest/dropins/inline-secrets.conf \
                    /etc/systemd/system/$s.service.d/inline-secrets.conf ;;
            esac
        done
        if [ -f /sdtest/dropins/sanitizer.conf ]; then
            install -m 644 /sdtest/dropins/lsan.supp /usr/share/masd/lsan.supp
            for s in "$@"; do
                install -D -m 644 /sdtest/dropins/sanitizer.conf /etc/systemd/system/$s.service.d/sanitizer.conf
            done
        fi' sh "$SYSUSERS" "$TMPFILES" "$@" >"$WORK/ct-install.log" 2>&1
}
