#!/usr/bin/env bash
# tests/run: once
# tests/run: alone
# The README's installation, followed as a new operator follows it. The code blocks of README.md
# marked `<!-- install.sh: NAME -->` are extracted (never retyped here) and run as they stand, as
# root, from the root of a copy of this source tree, in a throw-away container booted with
# systemd as PID 1 (container.bash):
#
#   build             apt-get install (tools/packages.txt), meson setup, ninja, meson install
#   config            masctl config generate
#                     ... then the operator's edit: http.public_base (the rest stays generated)
#   start             masctl config check, database migrate, systemctl enable --now masd.target
#   nginx             the shipped nginx snippets into /etc/nginx
#   homeserver-nginx  inside the homeserver's server {} (here one whose /_matrix goes to the
#                     stand-in homeserver)
#   nginx-reload      nginx -t, reload-or-restart
#
# then checks that the masd user and directories exist, that every service runs under its unit,
# and that alice (registered with masctl) logs in through nginx on masd's origin and on the
# homeserver's, with the stand-in homeserver playing Synapse with the generated matrix.secret, and
# signs in on masd-human's login page (styled by the stylesheet meson installed).
# Around it: every library the README's build links comes from a package its apt-get line
# installs, and tests/run and tools/run-local install from the same list (tools/packages.txt).
#
# Does not use $BUILD: the README builds its own tree inside the container (most of the run,
# about a minute), so tests/run runs this script once, not per build (the `tests/run: once` line).
# Needs root, systemd-container (nspawn) and the packages of tools/packages.txt installed (the
# container has no network: apt-get must find nothing to install).
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
LABEL=install
CT_PREFIX=masd-insttest
CT_NO_BUILD=1
# shellcheck source=container.bash
. "$HERE/container.bash"

README=$TOP/README.md
PW='correct horse battery staple'
ORIGIN=auth.example.com
HS_ORIGIN=matrix.example.com

# readme_block NAME: the code block that follows `<!-- install.sh: NAME -->` in README.md.
readme_block() {
    awk -v want="<!-- install.sh: $1 -->" '
        $0 == want { armed = 1; next }
        armed && !inside && /^```/ { inside = 1; next }
        inside && /^```/ { exit }
        inside { print }
        armed && !inside && NF { exit }' "$README"
}

# ---- On the host, before the container -----------------------------------------------------------

BLOCKS=(build config start nginx homeserver-nginx nginx-reload)
mkdir -p "$SHARE/blocks"
have_blocks() {
    local b bad=0
    for b in "${BLOCKS[@]}"; do
        readme_block "$b" >"$SHARE/blocks/$b"
        [ -s "$SHARE/blocks/$b" ] || { echo "README.md has no code block after <!-- install.sh: $b -->"; bad=1; }
    done
    return $bad
}
check "README.md marks every install step (${BLOCKS[*]})" have_blocks
failed_so_far && finish

# The README's apt-get line, its arguments expanded as a shell run in the clone expands them.
readme_packages() {
    local line
    line=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$SHARE/blocks/build" | grep -m1 '^apt-get install') ||
        { echo "no apt-get install line"; return 1; }
    (cd "$TOP" && eval "set -- ${line#apt-get install}" && for a in "$@"; do
        case $a in -*) ;; *) echo "$a" ;; esac
    done)
}
readme_packages >"$WORK/readme-packages" 2>&1
check "the README's apt-get line names the build packages of tools/packages.txt" \
    expect_file_contains "$WORK/readme-packages" '^libcurl4-openssl-dev$'

# tests/run and tools/run-local keep no package list of their own.
one_list() {
    local f bad=0
    for f in tests/run tools/run-local; do
        grep -n 'apt-get' "$TOP/$f" && { echo "$f calls apt-get itself"; bad=1; }
        grep -q 'tools/packages" --install' "$TOP/$f" || { echo "$f does not install through tools/packages"; bad=1; }
    done
    return $bad
}
check "tests/run and tools/run-local install from tools/packages.txt, with no list of their own" one_list

# A copy of the source tree, as a clone has it (no build directories, no node_modules).
tar -C "$TOP" --exclude='./build*' --exclude=./.git --exclude=./.run --exclude=node_modules \
    -cf - . | (mkdir -p "$SHARE/src" && tar -C "$SHARE/src" -xf -) ||
    bail "copy the source tree" "tar failed"

# ---- In the container ----------------------------------------------------------------------------

ct_boot

# run_block NAME: the README's block NAME, in /root/masd (the clone), as root, stopping at the
# first command that fails. The output goes to $WORK/NAME.log, shown on failure.
run_block() {
    ct env HOME=/root bash -c 'cd /root/masd && exec bash -e -o pipefail -x "/sdtest/blocks/$1"' \
        sh "$1" </dev/null >"$WORK/$1.log" 2>&1 && return 0
    echo "README block '$1' failed:"
    tail -n 40 "$WORK/$1.log"
    return 1
}
ct cp -a /sdtest/src /root/masd
t_build=$EPOCHREALTIME
check "README 'build': apt-get finds nothing missing, meson builds and installs" run_block build
note "README 'build' took $(ms_since "$t_build") ms"
failed_so_far && finish

# Every library the build links comes from a package that the README's apt-get line installs (or
# one that it pulls in): the link arguments of the tree the README just built, each library's
# owning package, against the Depends closure of the README's packages. (apt-get in the container
# cannot tell: every package is installed there already.)
closure() {
    # shellcheck disable=SC2046
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances $(cat "$WORK/readme-packages") 2>/dev/null |
        grep -E '^[a-z0-9]' | sed 's/:.*//' | sort -u
}
link_libraries() { # the libraries of the README's build: absolute .so paths, and -lNAME as the linker finds it
    local ninja=/proc/$L/root/root/masd/build/build.ninja n f
    tr ' ' '\n' <"$ninja" | grep -E '^/usr/lib[^ ]*\.so$' | sort -u
    for n in $(tr ' ' '\n' <"$ninja" | sed -n 's/^-l\([a-z0-9_]*\)$/\1/p' | sort -u); do
        f=$(gcc -print-file-name="lib$n.so")
        [ "$f" != "lib$n.so" ] || f=$(gcc -print-file-name="lib$n.a")
        realpath -s -m "$f"
    done
    echo /usr/bin/meson /usr/bin/ninja /usr/bin/pkg-config /usr/bin/gcc | tr ' ' '\n' # and the tools
}
packages_cover_build() {
    local lib pkg bad=0
    closure >"$WORK/closure"
    [ -s "$WORK/closure" ] || { echo "apt-cache depends printed nothing"; return 1; }
    for lib in $(link_libraries | sort -u); do
        pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | sed 's/[:,].*//')
        [ -n "$pkg" ] || { echo "$lib: no package owns it"; bad=1; continue; }
        grep -qx "$pkg" "$WORK/closure" || { echo "$lib comes from $pkg, which the README's apt-get line does not install"; bad=1; }
    done
    return $bad
}
check "every library the README's build links (and meson, ninja, pkg-config, gcc) comes from a package its apt-get line installs" \
    packages_cover_build

# What `meson install` made, beyond the files: the user and directories (sysusers.d, tmpfiles.d).
expect_stat() { # PATH "MODE USER GROUP"
    local got
    got=$(ct stat -c '%a %U %G' "$1" 2>&1)
    [ "$got" = "$2" ] && return 0
    echo "$1: $got, expected $2"
    return 1
}
check "meson install created the masd user" ct getent passwd masd
check "meson install created /var/lib/masd (0750 masd)" expect_stat /var/lib/masd "750 masd masd"
check "meson install created /etc/masd (0700 root)" expect_stat /etc/masd "700 root root"
check "meson install created /usr/share/masd/assets/" ct test -d /usr/share/masd/assets

check "README 'config': masctl writes /etc/masd/config.yaml" run_block config
check "the generated config is private (0600 root)" expect_stat /etc/masd/config.yaml "600 root root"

# The operator's edit: public_base. matrix.* stays as generated; the stand-in homeserver takes the
# generated values, as Synapse would take matrix.secret into its homeserver.yaml.
ct sed -i "s|^\(\s*public_base:\).*|\1 https://$ORIGIN/|" /etc/masd/config.yaml
matrix_key() { # KEY: its value in the generated config's matrix section
    ct cat /etc/masd/config.yaml | awk -v k="$1" '
        /^[^ #]/ { in_m = ($0 ~ /^matrix:/) }
        in_m && $1 == k ":" { v = $2; gsub(/^"|"$/, "", v); print v; exit }'
}
HS_NAME=$(matrix_key homeserver)
HS_ENDPOINT=$(matrix_key endpoint)
HS_SECRET=$(matrix_key secret)
# secret_file: a relative name is taken from the config file's folder.
[ -n "$HS_SECRET" ] || { f=$(matrix_key secret_file) && [ -n "$f" ] && { [[ $f == /* ]] || f=/etc/masd/$f; } &&
    HS_SECRET=$(ct cat "$f" | tr -d '\n'); }
HS_PORT=$(echo "$HS_ENDPOINT" | sed -n 's|^http://[^/]*:\([0-9]*\)/\?.*|\1|p')
standin_up() { ct curl -sf -o /dev/null "http://127.0.0.1:$HS_PORT/_standin/state"; }
standin() {
    [ -n "$HS_NAME" ] && [ -n "$HS_SECRET" ] && [ -n "$HS_PORT" ] ||
        { echo "matrix section: homeserver '$HS_NAME' endpoint '$HS_ENDPOINT' secret ${HS_SECRET:+set}"; return 1; }
    ct systemd-run --quiet --unit=standin-homeserver /usr/bin/python3 /root/masd/tests/homeserver/standin.py \
        --listen "127.0.0.1:$HS_PORT" --server-name "$HS_NAME" --secret "$HS_SECRET" || return 1
    wait_for 100 standin_up || { ct journalctl -u standin-homeserver --no-pager | tail -n 20; return 1; }
}
check "the stand-in homeserver runs with the generated matrix section ($HS_NAME at $HS_ENDPOINT)" standin

check "README 'start': config check, database migrate, masd.target enabled and started" run_block start
check "masd.target is active" state_is masd.target active
listening() { [ -n "$(inode "$1")" ] || { echo "nothing listens on /run/masd/$1.sock"; return 1; }; }
for s in discovery assets oauth human; do
    check "masd-$s.socket listens on /run/masd/$s.sock" wait_for 50 listening "$s"
done
check "masd-worker.service runs (migrations applied)" wait_for 50 state_is masd-worker.service active

# nginx: the certificate where the shipped masd.conf expects it (the operator's edit), the
# homeserver's server {} around the README's snippet, then the README's blocks.
make_cert() {
    ct openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$ORIGIN" \
        -addext "subjectAltName=DNS:$ORIGIN" -keyout "/etc/ssl/private/$ORIGIN.key" \
        -out "/etc/ssl/certs/$ORIGIN.pem" 2>&1 && ct cp "/etc/ssl/certs/$ORIGIN.pem" /root/ca.pem
}
check "a certificate for $ORIGIN at the paths masd.conf names" make_cert
check "README 'nginx': the shipped snippets into /etc/nginx" run_block nginx
homeserver_site() {
    {
        echo "server {"
        echo "    listen 127.0.0.1:80;"
        echo "    server_name $HS_ORIGIN;"
        sed 's/^/    /' "$SHARE/blocks/homeserver-nginx"
        echo "    location /_matrix { proxy_pass http://127.0.0.1:$HS_PORT; }"
        echo "}"
    } >"$WORK/homeserver.conf"
    ct tee /etc/nginx/conf.d/homeserver.conf <"$WORK/homeserver.conf" >/dev/null
}
check "the homeserver's server {} with the README's snippet" homeserver_site
check "README 'nginx-reload': nginx -t, nginx running" run_block nginx-reload

# ---- Through nginx -------------------------------------------------------------------------------

check "masctl registers alice" ct masctl manage register-user alice -p "$PW" -y

# via URL curl-args...: a request through nginx in the container; the body goes to $WORK/body,
# the status code to stdout.
via() {
    local url=$1
    shift
    ctnet curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 \
        --resolve "$ORIGIN:443:127.0.0.1" --resolve "$HS_ORIGIN:80:127.0.0.1" \
        --cacert "/proc/$L/root/root/ca.pem" "$@" "$url"
}
expect_via() { # CODE URL curl-args...
    local want=$1 code
    shift
    code=$(via "$@" 2>&1)
    [ "$code" = "$want" ] && return 0
    echo "$*: $code, expected $want"
    head -c 400 "$WORK/body" 2>/dev/null
    return 1
}
LOGIN_BODY=$(printf '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"},"password":"%s"}' "$PW")
login() { # ORIGIN-URL
    expect_via 200 "$1/_matrix/client/v3/login" -X POST -H 'content-type: application/json' \
        --data-binary "$LOGIN_BODY" || return 1
    grep -q '"access_token":"mct_' "$WORK/body" || { head -c 400 "$WORK/body"; return 1; }
}
check "discovery through nginx: 200, issuer https://$ORIGIN/" eval \
    'expect_via 200 "https://$ORIGIN/.well-known/openid-configuration" && grep -qF "\"issuer\":\"https://$ORIGIN/\"" "$WORK/body"'
ct cp /root/masd/tests/data/assets/logo.svg /usr/share/masd/assets/
check "an asset in /usr/share/masd/assets/ through nginx: 200 (masd-assets started)" \
    expect_via 200 "https://$ORIGIN/assets/logo.svg"
check "alice logs in through nginx on masd's origin (compat password login): 200, a token" \
    login "https://$ORIGIN"
check "alice logs in through nginx on the homeserver's origin (masd-compat.conf): 200, a token" \
    login "http://$HS_ORIGIN"
# masd-human through nginx's `location /`: the login page links the stylesheet `meson install`
# put in /usr/share/masd/assets/; the form signs alice in (a 303 to the index, which greets her).
login_page() {
    expect_via 200 "https://$ORIGIN/login" -c "$WORK/jar" || return 1
    CSS=$(grep -o '/assets/masd-[0-9a-f]*\.css' "$WORK/body" | head -n 1)
    CSRF=$(grep -o 'name="csrf" value="[^"]*"' "$WORK/body" | sed 's/.*value="//; s/"$//')
    [ -n "$CSS" ] && [ -n "$CSRF" ] || { echo "no stylesheet or csrf field:"; head -c 600 "$WORK/body"; return 1; }
}
check "the login page through nginx (masd-human started): 200, a form" login_page
check "its stylesheet, installed in /usr/share/masd/assets/, through nginx: 200" \
    expect_via 200 "https://$ORIGIN$CSS"
# From 127.0.0.2: every password check counts against the client's login.per_ip bucket (burst 3,
# MAS's default), and the compat logins before and after this one come from 127.0.0.1.
browser_login() {
    expect_via 303 "https://$ORIGIN/login" --interface 127.0.0.2 -b "$WORK/jar" -c "$WORK/jar" \
        --data-urlencode "csrf=$CSRF" \
        --data-urlencode username=alice --data-urlencode "password=$PW" || return 1
    expect_via 200 "https://$ORIGIN/" -b "$WORK/jar" || return 1
    grep -qF '@alice:' "$WORK/body" || { echo "the index does not name alice:"; head -c 600 "$WORK/body"; return 1; }
}
check "alice signs in on the login page: 303, then the index names her" browser_login
check "an unknown path through nginx: masd-human's 404" expect_via 404 "https://$ORIGIN/no/such/page"
for s in discovery assets oauth human worker; do
    check "masd-$s.service is active under its unit" state_is "masd-$s.service" active
done

# The oauth TCP example drop-in, applied as its header says, from where meson installed it.
ct mkdir -p /etc/systemd/system/masd-oauth.socket.d
ct cp /usr/share/doc/masd/systemd/examples/masd-oauth.socket.d/tcp.conf /etc/systemd/system/masd-oauth.socket.d/
check "systemd-analyze verify with the oauth TCP example prints nothing" \
    verify_quiet /lib/systemd/system/masd-oauth.socket
check "oauth TCP example: daemon-reload, restart masd-oauth.socket" \
    ct sh -c 'systemctl daemon-reload && systemctl restart masd-oauth.socket'
check "oauth TCP example: alice logs in on 127.0.0.1:8092 (the port masd-upstreams-tcp.conf names)" \
    login http://127.0.0.1:8092
check "oauth TCP example: /run/masd/oauth.sock is gone" wait_for 30 eval '! listening oauth'
check "no unit failed" test -z "$(ct systemctl list-units --failed --plain --no-legend)"

if failed_so_far; then
    echo "# ---- container journal (masd, nginx, stand-in) ----"
    ct journalctl -b --no-pager -o short-monotonic -u 'masd*' -u nginx -u standin-homeserver |
        tail -n 80 | sed 's/^/# /'
fi

t_op=$EPOCHREALTIME
teardown
check "teardown: halt and clean-up ($(ms_since "$t_op") ms)" true
check "teardown leaves no process, cgroup, mount or directory behind" no_leftovers
note "whole run $(ms_since "$T0") ms"
finish
