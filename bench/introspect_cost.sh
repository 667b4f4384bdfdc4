#!/usr/bin/env bash
# Instructions per introspection request (valgrind --tool=callgrind): the homeserver's request
# (Bearer matrix.secret, one active compat token, keep-alive) on SQLite, for BUILD and, when
# BASE names another build directory (for example of main), for that one in the same run. Each
# build runs masd-oauth twice, for 1 and for 1 + N requests; the difference over N is the cost
# of one request, start-up and exit cancelled out. Repeatable on a shared machine, unlike rates;
# valgrind does not emulate SHA-NI or AES-NI, so hashing counts more than on the host.
#   N=2000 BASE=/path/to/other/build bench/introspect_cost.sh
source "$(dirname "$0")/lib.sh"
N=${N:-2000}
release_build
bench_header
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
export SECRET=bench-shared-secret-0123456789ab
start_standin "$SECRET" bench

# instructions BUILD-DIR NAME REQUESTS: callgrind's total for masd-oauth serving REQUESTS.
instructions() {
    local b=$1 name=$2 n=$3 port cfg tok
    port=$(free_port)
    cfg=$WORK/$name-$n.yaml
    oauth_config "$cfg" "sqlite://$WORK/$name-$n.db" "$port"
    "$b/tools/masctl" -c "$cfg" database migrate >/dev/null 2>&1
    "$b/tools/masctl" -c "$cfg" manage register-user -y -p "correct horse battery staple" bench >/dev/null 2>&1
    tok=$("$b/tools/masctl" -c "$cfg" manage issue-compatibility-token bench DEV1 2>/dev/null | grep -oE '^mct_[A-Za-z0-9_]+')
    bg "$WORK/$name-$n.log" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$b/services/oauth/masd-oauth" --config "$cfg"
    local pid=$BG_PID
    for _ in $(seq 600); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    python3 - "$port" "$tok" "$SECRET" "$n" <<'PY'
import http.client, sys
port, tok, secret, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", int(port))
body = "token=%s&token_type_hint=access_token" % tok
headers = {"Authorization": "Bearer " + secret, "Content-Type": "application/x-www-form-urlencoded",
           "Accept": "application/json", "X-MAS-Supports-Device-Id": "1"}
for _ in range(n):
    c.request("POST", "/oauth2/introspect", body, headers)
    r = c.getresponse()
    d = r.read()
    assert r.status == 200 and b'"active":true' in d, (r.status, d)
PY
    stop_pid "$pid"
    grep -oE 'refs: *[0-9,]+' "$WORK/$name-$n.log" | tr -d ', ' | cut -d: -f2
}

per_request() { # BUILD-DIR NAME
    local one more
    one=$(instructions "$1" "$2" 1)
    more=$(instructions "$1" "$2" $((N + 1)))
    echo $(((more - one) / N))
}

new=$(per_request "$BUILD" build)
echo "$BUILD: $new instructions per introspection ($N requests)"
if [ -n "${BASE:-}" ]; then
    base=$(per_request "$BASE" base)
    echo "$BASE: $base instructions per introspection"
    echo "ratio build/base: $(ratio "$new" "$base")"
fi
bench_footer
