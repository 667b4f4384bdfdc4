#!/usr/bin/env bash
# masd-oauth's Matrix compat API behind nginx (the shipped units/nginx/*.conf), on SQLite and,
# when MASD_TEST_PG_URI is set, on PostgreSQL: matrix-js-sdk 37 end to end; every error in
# Matrix JSON with MAS's status and errcode; the login rate limits per client IP through nginx
# (X-Forwarded-For), against a forged X-Forwarded-For, and across two processes sharing the
# database, and through haproxy's PROXY v2; device replacement; a locked user; the password
# re-hash on login; introspection through a token's life (login, refresh, logout); refusing to
# start on pending migrations; health.
. "$(dirname "$0")/lib.sh"
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$OAUTH_BIN" "$MASCTL_BIN"
if [ ! -d "$NODE_DIR/node_modules/matrix-js-sdk" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node" "matrix-js-sdk is not installed"; finish; }
fi

ORIGIN=auth.example.com
PW='correct horse battery staple'
HS_SECRET=shared-secret-for-the-homeserver
homeserver_start "$HS_SECRET" || finish
make_cert "$ORIGIN"
J='content-type: application/json'

# config FILE DB-URI PORT SCHEMES [SOCKET]: a masd-oauth config. nginx is the only trusted proxy
# over TCP (127.0.0.1); test clients connect from other loopback addresses.
config()
{
    local file=$1 uri=$2 port=$3 schemes=$4 sock=${5:-} pp=${6:-} limits=${7:-}
    {
        printf 'http:\n  public_base: https://%s/\n  trusted_proxies: [127.0.0.1/32]\n' "$ORIGIN"
        printf '  listeners:\n    - name: oauth\n'
        printf '      resources: [{name: oauth}, {name: compat}, {name: health}]\n'
        printf '      binds:\n        - address: 127.0.0.1:%s\n' "$port"
        [ -n "$sock" ] && printf '        - socket: %s\n          mode: "666"\n' "$sock"
        [ -n "$pp" ] && printf '    - name: oauth-proxy\n      proxy_protocol: true\n      resources: [{name: compat}]\n      binds: [{address: "127.0.0.1:%s"}]\n' "$pp"
        printf 'database:\n  uri: "%s"\n' "$uri"
        printf 'matrix:\n  homeserver: example.com\n  secret: %s\n  endpoint: %s\n' "$HS_SECRET" "$HS_ENDPOINT"
        printf 'passwords:\n  schemes:\n%s\n' "$schemes"
        [ -n "$limits" ] && printf 'rate_limiting:\n%s\n' "$limits"
        secrets_yaml
    } >"$file"
}
ARGON_BCRYPT='    - {version: 2, algorithm: argon2id}
    - {version: 1, algorithm: bcrypt, cost: 4}'
ARGON_ONLY='    - {version: 2, algorithm: argon2id}'
BCRYPT_ONLY='    - {version: 1, algorithm: bcrypt, cost: 4}'

# call NAME FROM-IP curl-args...: a request from a given loopback source address.
call() { local name=$1 ip=$2; shift 2; http "$name" --interface "$ip" -k "$@"; }

# matrix_error NAME STATUS ERRCODE: the response NAME is that Matrix error, in JSON. A 401
# carries a Bearer challenge (RFC 9110 §15.5.2, RFC 6750 §3), error="invalid_token" when a
# token was refused (M_UNKNOWN_TOKEN), none otherwise; and is never cached.
matrix_error()
{
    expect_eq "$(status "$T/$1.h")" "$2" || return 1
    expect_match "$(header "$T/$1.h" content-type)" '^application/json' || return 1
    json_expect "$T/$1.b" "d.errcode === '$3' && typeof d.error === 'string'" || return 1
    local want='^Bearer realm="https://auth\.example\.com/"$'
    [ "$3" = M_UNKNOWN_TOKEN ] && want='^Bearer realm="https://auth\.example\.com/", error="invalid_token"$'
    if [ "$2" = 401 ]; then
        expect_match "$(header "$T/$1.h" www-authenticate)" "$want" || return 1
        no_store "$1"
    else
        expect_eq "$(header "$T/$1.h" www-authenticate)" ""
    fi
}

no_store() # NAME: an answer no cache may keep (RFC 6749 §5.1)
{
    expect_eq "$(header "$T/$1.h" cache-control)" no-store || return 1
    expect_eq "$(header "$T/$1.h" pragma)" no-cache
}

# login_body USER PASSWORD [EXTRA-JSON-MEMBERS]
login_body() { printf '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"%s"},"password":"%s"%s}' "$1" "$2" "${3:-}"; }

# login NAME FROM-IP URL USER PASSWORD [EXTRA]: POST /login.
login() { call "$1" "$2" -X POST "$3/_matrix/client/v3/login" -H "$J" --data-binary "$(login_body "$4" "$5" "${6:-}")"; }

# token NAME FIELD: a member of the JSON response NAME.
token() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]])' "$T/$1.b" "$2"; }

# A pending migration: masd-oauth refuses to start and says what to run.
refuses_unmigrated()
{
    local cfg=$1 log=$T/logs/unmigrated.log
    timeout 10 "$OAUTH_BIN" --config "$cfg" >"$log" 2>&1 && { echo "started"; return 1; }
    expect_file_contains "$log" 'masctl database migrate'
}

# Every compat endpoint, malformed: the right Matrix error, and the service stays up.
malformed()
{
    local b=$1 base=$2 ip=127.0.0.9 big=$T/big.json
    head -c 70000 /dev/zero | tr '\0' ' ' >"$big"
    printf '{}' >>"$big"
    local L=$base/_matrix/client/v3/login
    call m1 $ip -X POST "$L" -H 'content-type: text/plain' --data-binary '{}'
    check "$b: login with Content-Type text/plain: 400 M_NOT_JSON" matrix_error m1 400 M_NOT_JSON
    call m2 $ip -X POST "$L" -H "$J" --data-binary '{"type":'
    check "$b: login with invalid JSON: 400 M_NOT_JSON" matrix_error m2 400 M_NOT_JSON
    call m3 $ip -X POST "$L" -H "$J" --data-binary ''
    check "$b: login with an empty body: 400 M_NOT_JSON" matrix_error m3 400 M_NOT_JSON
    call m4 $ip -X POST "$L" -H "$J" --data-binary '{"type":"m.login.password","password":"x"}'
    check "$b: login without identifier: 400 M_BAD_JSON" matrix_error m4 400 M_BAD_JSON
    call m5 $ip -X POST "$L" -H "$J" --data-binary '{"type":"m.login.password","user":["a"],"password":"x"}'
    check "$b: login with a wrong shape: 400 M_BAD_JSON" matrix_error m5 400 M_BAD_JSON
    call m6 $ip -X POST "$L" -H "$J" --data-binary '{"type":"m.login.sso"}'
    check "$b: login with an unsupported type: 400 M_UNKNOWN" matrix_error m6 400 M_UNKNOWN
    call m7 $ip -X POST "$L" -H "$J" \
        --data-binary '{"type":"m.login.password","identifier":{"type":"m.id.thirdparty","medium":"email","address":"a@b.c"},"password":"x"}'
    check "$b: login with an unsupported identifier: 400 M_UNKNOWN" matrix_error m7 400 M_UNKNOWN
    call m8 $ip -X POST "$L" -H "$J" --data-binary "@$big"
    # Above masd-oauth's 64 KiB cap: the shipped nginx refuses it itself (client_max_body_size),
    # with its own 413 page; masd would answer h2o's plain 413 (tests/integration/http1.sh).
    check "$b: login with a 70 KB body: 413 from nginx, masd not reached" expect_eq "$(status "$T/m8.h")" 413
    call m9 $ip -X POST "$L" -H "$J" --data-binary '{"a":1,"a":2}'
    check "$b: login with duplicate keys: 400 M_NOT_JSON" matrix_error m9 400 M_NOT_JSON
    call m9d $ip -X POST "$L" -H "$J" --data-binary "$(login_body alice "$PW" ',"device_id":"two words"')"
    check "$b: login with a device_id no scope token can carry (space): 400 M_INVALID_PARAM" \
        matrix_error m9d 400 M_INVALID_PARAM
    call m9e $ip -X POST "$L" -H "$J" --data-binary "$(login_body alice "$PW" ',"device_id":"line\nbreak\u00e9"')"
    check "$b: login with a device_id with a newline and non-ASCII: 400 M_INVALID_PARAM" \
        matrix_error m9e 400 M_INVALID_PARAM
    call m9b $ip -X GET "$base/_matrix/client/v3/logout"
    check "$b: GET /logout: 405 M_UNRECOGNIZED with Allow" \
        eval "matrix_error m9b 405 M_UNRECOGNIZED && expect_match \"\$(header $T/m9b.h allow)\" POST"
    call m9c $ip -X PUT "$base/oauth2/introspect"
    check "$b: PUT /oauth2/introspect: 405 in OAuth JSON" \
        eval "expect_eq \"\$(status $T/m9c.h)\" 405 && json_expect $T/m9c.b \"d.error === 'invalid_request'\""
    call m10 $ip -X POST "$base/_matrix/client/v3/logout"
    check "$b: logout without a token: 401 M_MISSING_TOKEN" matrix_error m10 401 M_MISSING_TOKEN
    call m11 $ip -X POST "$base/_matrix/client/v3/logout" -H 'authorization: Bearer mat_nope'
    check "$b: logout with a malformed token: 401 M_UNKNOWN_TOKEN" matrix_error m11 401 M_UNKNOWN_TOKEN
    call m12 $ip -X POST "$base/_matrix/client/r0/logout/all" -H 'authorization: Bearer x' -H "$J" --data-binary '{'
    check "$b: logout/all with invalid JSON: 400 M_NOT_JSON" matrix_error m12 400 M_NOT_JSON
    call m13 $ip -X POST "$base/_matrix/client/v3/logout/all"
    check "$b: logout/all without a token: 401 M_MISSING_TOKEN" matrix_error m13 401 M_MISSING_TOKEN
    local R=$base/_matrix/client/v3/refresh
    call m14 $ip -X POST "$R" -H "$J" --data-binary 'nope'
    check "$b: refresh with invalid JSON: 400 M_NOT_JSON (Matrix JSON, unlike MAS)" matrix_error m14 400 M_NOT_JSON
    call m15 $ip -X POST "$R" -H "$J" --data-binary '{"refresh_token":5}'
    check "$b: refresh with a wrong shape: 400 M_BAD_JSON" matrix_error m15 400 M_BAD_JSON
    call m16 $ip -X POST "$R" -H "$J" --data-binary '{"refresh_token":"mcr_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43"}'
    check "$b: refresh with a bad token: 401 M_UNKNOWN_TOKEN" matrix_error m16 401 M_UNKNOWN_TOKEN
    call m17 $ip -X POST "$R" -H "$J" --data-binary "@$big"
    check "$b: refresh with a 70 KB body: 413 from nginx, masd not reached" expect_eq "$(status "$T/m17.h")" 413
    call m18 $ip -X POST "$R" -H 'content-type: application/x-www-form-urlencoded' --data-binary 'refresh_token=x'
    check "$b: refresh with a form body: 400 M_NOT_JSON" matrix_error m18 400 M_NOT_JSON
    call m19 $ip -X OPTIONS "$R" -H 'origin: https://app.example' -H 'access-control-request-method: POST'
    check "$b: CORS preflight on /refresh: 204 with allow-origin *" \
        eval "[ \"\$(status $T/m19.h)\" = 204 ] && [ \"\$(header $T/m19.h access-control-allow-origin)\" = '*' ]"
    call m20 $ip "$base/_matrix/client/v3/login"
    check "$b: GET /login lists m.login.password, m.login.sso (MAS's flags), m.login.token" json_expect "$T/m20.b" \
        "JSON.stringify(d) === JSON.stringify({flows: [{type: 'm.login.password'}, {type: 'm.login.sso',
            oauth_aware_preferred: true, 'org.matrix.msc3824.delegated_oidc_compatibility': true}, {type: 'm.login.token'}]})"
}

# The login limits: 3 per client IP (burst), keyed by what nginx forwards; a forged
# X-Forwarded-For from an untrusted peer counts against its real address; the buckets live in
# the database, so a second process sees the first one's attempts.
rate_limits()
{
    local b=$1 nginx=$2 p1=$3 p2=$4 i
    for i in 1 2 3; do login rl5-$i 127.0.0.5 "$nginx" nobody wrong; done
    login rl5-4 127.0.0.5 "$nginx" nobody wrong
    check "$b: 3 failed logins from 127.0.0.5 through nginx: 403 M_FORBIDDEN" matrix_error rl5-3 403 M_FORBIDDEN
    check "$b: the 4th from 127.0.0.5: 429 M_LIMIT_EXCEEDED with retry_after_ms" \
        eval "matrix_error rl5-4 429 M_LIMIT_EXCEEDED && json_expect $T/rl5-4.b 'd.retry_after_ms > 0'"
    login rl6 127.0.0.6 "$nginx" nobody wrong
    check "$b: 127.0.0.6 has its own bucket (403, not 429)" matrix_error rl6 403 M_FORBIDDEN
    login rl5-known 127.0.0.5 "$nginx" alice "$PW"
    check "$b: a limited IP is refused before the user lookup (429 for an existing user too)" \
        matrix_error rl5-known 429 M_LIMIT_EXCEEDED
    for i in 1 2 3 4; do
        call xff-$i 127.0.0.7 -X POST "http://127.0.0.1:$p1/_matrix/client/v3/login" -H "$J" \
            -H "X-Forwarded-For: 10.1.2.$i" --data-binary "$(login_body nobody wrong)"
    done
    check "$b: forged X-Forwarded-For from an untrusted peer: limited by its real address" \
        eval "matrix_error xff-3 403 M_FORBIDDEN && matrix_error xff-4 429 M_LIMIT_EXCEEDED"
    login pp-1 127.0.0.8 "http://127.0.0.1:$p1" nobody wrong
    login pp-2 127.0.0.8 "http://127.0.0.1:$p2" nobody wrong
    login pp-3 127.0.0.8 "http://127.0.0.1:$p1" nobody wrong
    login pp-4 127.0.0.8 "http://127.0.0.1:$p2" nobody wrong
    check "$b: the limit holds across two masd-oauth processes on one database" \
        eval "matrix_error pp-3 403 M_FORBIDDEN && matrix_error pp-4 429 M_LIMIT_EXCEEDED"
    # A UNIX-socket peer without X-Forwarded-For has no address: one shared bucket, one warning.
    for i in 1 2 3 4 5; do
        http ux-$i --unix-socket "$T/run/oauth.sock" -X POST "http://x/_matrix/client/v3/login" -H "$J" \
            --data-binary "$(login_body nobody wrong)"
    done
    check "$b: requests without a client address share one bucket" \
        eval "matrix_error ux-3 403 M_FORBIDDEN && matrix_error ux-4 429 M_LIMIT_EXCEEDED"
    check "$b: ... and draw one warning, not one per request" \
        eval "[ \$(grep -c 'without a client address' '${LOG_OF[oauth1-$b]}') = 1 ]"
}

# introspect NAME TOKEN PORT [HINT]: POST /oauth2/introspect exactly as Synapse sends it.
introspect()
{
    http "$1" -X POST "http://127.0.0.1:$3/oauth2/introspect" \
        -H 'content-type: application/x-www-form-urlencoded' -H 'accept: application/json' \
        -H 'x-mas-supports-device-id: 1' -H 'authorization: Bearer shared-secret-for-the-homeserver' \
        --data-binary "token=$2&token_type_hint=${4:-access_token}"
}
inactive() { json_expect "$T/$1.b" 'JSON.stringify(d) === "{\"active\":false}"'; }

# What the homeserver sees of a token through its life: login with and without a refresh
# token, refresh (the old access token dies), logout.
introspection_lifecycle()
{
    local b=$1 p1=$2 u1=http://127.0.0.1:$2 fields
    fields="d.active === true && d.sub && d.username === 'alice' && d.scope.split(' ').includes('urn:matrix:client:api:*')"
    login life-1 127.0.0.13 "$u1" alice "$PW" ',"device_id":"LIFEDEV1"'
    introspect in-1 "$(token life-1 access_token)" "$p1"
    check "$b: introspection of a compat token (no refresh): active, sub, username, device_id, api scope, no expiry" \
        json_expect "$T/in-1.b" "$fields && d.device_id === 'LIFEDEV1' && d.expires_in === undefined"
    check "$b: the login and introspection answers are not cached (no-store, no-cache)" \
        eval "no_store life-1 && no_store in-1"
    login life-2 127.0.0.14 "$u1" alice "$PW" ',"device_id":"LIFEDEV2","refresh_token":true'
    introspect in-2 "$(token life-2 access_token)" "$p1"
    check "$b: introspection of a compat token with refresh: active, integer expires_in <= 300" \
        json_expect "$T/in-2.b" "$fields && d.device_id === 'LIFEDEV2' && Number.isInteger(d.expires_in) && d.expires_in > 0 && d.expires_in <= 300"
    call life-3 127.0.0.14 -X POST "$u1/_matrix/client/v3/refresh" -H "$J" \
        --data-binary "{\"refresh_token\":\"$(token life-2 refresh_token)\"}"
    introspect in-3old "$(token life-2 access_token)" "$p1"
    introspect in-3new "$(token life-3 access_token)" "$p1"
    check "$b: after /refresh the old access token is inactive" inactive in-3old
    check "$b: the refresh answer is not cached (no-store, no-cache)" \
        eval "expect_eq \"\$(status $T/life-3.h)\" 200 && no_store life-3 && no_store in-3old"
    check "$b: ... and the new one is active on the same device" \
        json_expect "$T/in-3new.b" "$fields && d.device_id === 'LIFEDEV2'"
    introspect in-3oldr "$(token life-2 refresh_token)" "$p1" refresh_token
    introspect in-3newr "$(token life-3 refresh_token)" "$p1" refresh_token
    check "$b: ... the spent refresh token is inactive, the new one active" \
        eval 'inactive in-3oldr && json_expect "$T/in-3newr.b" "d.active === true && d.token_type === '"'refresh_token'"'"'
    call life-4 127.0.0.14 -X POST "$u1/_matrix/client/v3/logout" -H "authorization: Bearer $(token life-3 access_token)"
    introspect in-4 "$(token life-3 access_token)" "$p1"
    check "$b: after /logout the token is inactive" inactive in-4
}

# The login limits through haproxy's PROXY v2 (mode tcp): the client address comes from the
# header, so two clients behind one haproxy are limited independently.
haproxy_rate_limits()
{
    local b=$1 pp=$2 hp dir=$T/$b
    hp=$(free_port)
    printf 'defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\nfrontend fe\n    bind 127.0.0.1:%s\n    default_backend be\nbackend be\n    server masd 127.0.0.1:%s send-proxy-v2\n' \
        "$hp" "$pp" >"$dir/haproxy.cfg"
    haproxy_start haproxy-$b "$dir/haproxy.cfg" 127.0.0.1:$hp || return
    local i
    for i in 1 2 3 4; do login hp15-$i 127.0.0.15 "http://127.0.0.1:$hp" nobody wrong; done
    login hp16 127.0.0.16 "http://127.0.0.1:$hp" nobody wrong
    check "$b: through haproxy send-proxy-v2: the 4th failed login from 127.0.0.15 is 429" \
        eval "matrix_error hp15-3 403 M_FORBIDDEN && matrix_error hp15-4 429 M_LIMIT_EXCEEDED"
    check "$b: ... while 127.0.0.16 behind the same haproxy has its own bucket" matrix_error hp16 403 M_FORBIDDEN
    stop haproxy-$b
}

# Device replacement, a locked user, and the re-hash of an old-scheme password.
sessions()
{
    local b=$1 p1=$2 p2=$3 u1=http://127.0.0.1:$2
    login dev-1 127.0.0.11 "$u1" ALICE "$PW" ',"device_id":"DEVICE1"'
    login dev-2 127.0.0.11 "$u1" "@alice:example.com" "$PW" ',"device_id":"DEVICE1"'
    check "$b: case-insensitive login and MXID localpart; device_id kept" \
        json_expect "$T/dev-2.b" "d.device_id === 'DEVICE1' && d.user_id === '@alice:example.com'"
    call dev-old 127.0.0.11 -X POST "$u1/_matrix/client/v3/logout" -H "authorization: Bearer $(token dev-1 access_token)"
    check "$b: a login on the same device ends the previous session" matrix_error dev-old 401 M_UNKNOWN_TOKEN
    call dev-all 127.0.0.11 -X POST "$u1/_matrix/client/v3/logout/all" -H "authorization: Bearer $(token dev-2 access_token)" \
        -H "$J" --data-binary '{"io.element.only_compat_is_fine":true}'
    check "$b: logout/all with io.element.only_compat_is_fine: 200 {}" \
        eval "[ \"\$(status $T/dev-all.h)\" = 200 ] && json_expect $T/dev-all.b 'Object.keys(d).length === 0'"
    login other 127.0.0.11 "$u1" "@alice:elsewhere.example" "$PW"
    check "$b: a user ID on another server is not ours: 403 M_FORBIDDEN" matrix_error other 403 M_FORBIDDEN
    login locked 127.0.0.10 "$u1" carol "$PW"
    check "$b: a locked user: 401 M_USER_LOCKED" matrix_error locked 401 M_USER_LOCKED
    login gone 127.0.0.10 "$u1" dave "$PW"
    check "$b: a deactivated user: 403 M_FORBIDDEN" matrix_error gone 403 M_FORBIDDEN
    login up-0 127.0.0.12 "http://127.0.0.1:$p2" erin "$PW"
    check "$b: erin's bcrypt password is unknown to an argon2-only process" matrix_error up-0 403 M_FORBIDDEN
    login up-1 127.0.0.12 "$u1" erin "$PW"
    login up-2 127.0.0.12 "http://127.0.0.1:$p2" erin "$PW"
    check "$b: a login re-hashes an old-scheme password with the newest scheme" \
        eval "json_expect $T/up-1.b 'd.access_token' && json_expect $T/up-2.b 'd.user_id === \"@erin:example.com\"'"
}

# Login answers say nothing about which accounts exist (the timing included) or are locked:
# an unknown user's wrong password runs a dummy verification of the current scheme's cost, so
# it takes at least half as long as a known user's (median of 3 each, from fresh addresses);
# a locked user with a wrong password is answered as any wrong password.
no_account_oracle()
{
    local b=$1 u1=http://127.0.0.1:$2 i known=() unknown=()
    for i in 1 2 3; do
        known+=("$(curl -sS -o /dev/null -w '%{time_total}' --interface 127.0.0.2$i -X POST "$u1/_matrix/client/v3/login" \
            -H "$J" --data-binary "$(login_body alice wrong-password)")")
        unknown+=("$(curl -sS -o /dev/null -w '%{time_total}' --interface 127.0.0.3$i -X POST "$u1/_matrix/client/v3/login" \
            -H "$J" --data-binary "$(login_body nosuchuser$i wrong-password)")")
    done
    note "$b: wrong password: known user ${known[*]} s, unknown user ${unknown[*]} s"
    check "$b: an unknown user's wrong password takes >= 50% of a known user's (dummy verification)" \
        node -e 'const m = a => a.map(Number).sort((x, y) => x - y)[1];
                 const k = m(process.argv[1].split(" ")), u = m(process.argv[2].split(" "));
                 console.log("median known", k, "unknown", u); process.exit(u >= k / 2 ? 0 : 1)' "${known[*]}" "${unknown[*]}"
    login locked-wrong 127.0.0.18 "$u1" carol wrong-password
    check "$b: a locked user with a wrong password: 403 M_FORBIDDEN, as any wrong password" \
        matrix_error locked-wrong 403 M_FORBIDDEN
}

# The login limits of IPv6 clients and of one account (a process with per_account burst 3):
# every address of one /64 is one client; guessing one account's password from many networks
# is still limited, for an unknown name alike; the owner, on a network that logged in before,
# still gets in. Requests come from nginx's trusted address with X-Forwarded-For.
ipv6_and_account_limits()
{
    local b=$1 u=http://127.0.0.1:$2 i
    xlogin() { call "$1" 127.0.0.1 -X POST "$u/_matrix/client/v3/login" -H "$J" -H "X-Forwarded-For: $2" \
        --data-binary "$(login_body "$3" "$4")"; }
    for i in 1 2 3 4; do xlogin v6-$i "2001:db8:5:5::$i" "v6user$i" wrong; done
    xlogin v6-other "2001:db8:5:6::1" v6user5 wrong
    check "$b: 4 addresses of one IPv6 /64: the 4th is 429 (the /64 is one client)" \
        eval "matrix_error v6-3 403 M_FORBIDDEN && matrix_error v6-4 429 M_LIMIT_EXCEEDED"
    check "$b: ... while the next /64 has its own bucket" matrix_error v6-other 403 M_FORBIDDEN
    xlogin own-1 "2001:db8:0:1::5" grace "$PW"
    check "$b: the owner logs in from 2001:db8:0:1::/64" json_expect "$T/own-1.b" 'd.access_token'
    for i in 1 2 3 4; do xlogin atk-$i "2001:db8:1:$i::1" grace wrong; done
    check "$b: guessing grace's password from 4 networks: limited per account (429 by the 3rd)" \
        eval "matrix_error atk-2 403 M_FORBIDDEN && matrix_error atk-3 429 M_LIMIT_EXCEEDED && matrix_error atk-4 429 M_LIMIT_EXCEEDED"
    xlogin own-2 "2001:db8:0:1::99" grace "$PW"
    check "$b: ... the owner, on the /64 that logged in before, still gets in" json_expect "$T/own-2.b" 'd.access_token'
    xlogin own-3 "2001:db8:0:2::1" grace "$PW"
    check "$b: ... a network that never logged in stays limited, right password or not" \
        matrix_error own-3 429 M_LIMIT_EXCEEDED
    for i in 1 2 3 4; do xlogin ghost-$i "2001:db8:2:$i::1" ghost wrong; done
    check "$b: an unknown name is limited alike (a 429 does not tell that an account exists)" \
        eval "matrix_error ghost-3 403 M_FORBIDDEN && matrix_error ghost-4 429 M_LIMIT_EXCEEDED"
}

# A locked user's refresh is refused and changes nothing: after the unlock the same refresh
# token still works (it was not consumed).
locked_refresh()
{
    local b=$1 p1=$2 cfg=$3 u1=http://127.0.0.1:$2
    login lr-0 127.0.0.17 "$u1" frank "$PW" ',"refresh_token":true'
    local rt
    rt=$(token lr-0 refresh_token)
    "$MASCTL_BIN" -c "$cfg" manage lock-user frank >"$T/$b/lock-frank.log" 2>&1
    call lr-1 127.0.0.17 -X POST "$u1/_matrix/client/v3/refresh" -H "$J" --data-binary "{\"refresh_token\":\"$rt\"}"
    check "$b: a locked user's refresh: 401 M_USER_LOCKED" matrix_error lr-1 401 M_USER_LOCKED
    "$MASCTL_BIN" -c "$cfg" manage unlock-user frank >>"$T/$b/lock-frank.log" 2>&1
    call lr-2 127.0.0.17 -X POST "$u1/_matrix/client/v3/refresh" -H "$J" --data-binary "{\"refresh_token\":\"$rt\"}"
    check "$b: ... changed nothing: after the unlock the same refresh token works" \
        eval "expect_eq \"\$(status $T/lr-2.h)\" 200 && json_expect $T/lr-2.b 'd.access_token && d.refresh_token'"
}

# run_backend NAME DB-URI [DROP-SQL-URI DBNAME]: the whole scenario on one database.
run_backend()
{
    local b=$1 uri=$2 admin=${3:-} dbname=${4:-}
    local p1 p2 p3 ng pp dir=$T/$b
    p1=$(free_port) p2=$(free_port) p3=$(free_port) ng=$(free_port) pp=$(free_port)
    mkdir -p "$dir"
    config "$dir/oauth1.yaml" "$uri" "$p1" "$ARGON_BCRYPT" "$T/run/oauth.sock" "$pp"
    config "$dir/oauth2.yaml" "$uri" "$p2" "$ARGON_ONLY"
    config "$dir/bcrypt.yaml" "$uri" "$p2" "$BCRYPT_ONLY"
    config "$dir/oauth3.yaml" "$uri" "$p3" "$ARGON_ONLY" "" "" '  login:
    per_account: {burst: 3, per_second: 0.001}'

    check "$b: masd-oauth refuses to start before \`masctl database migrate\`" refuses_unmigrated "$dir/oauth1.yaml"
    local M=("$MASCTL_BIN" -c "$dir/oauth1.yaml")
    if ! { "${M[@]}" database migrate && for u in alice carol dave frank grace; do
        "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity "$u" || exit 1
    done && "$MASCTL_BIN" -c "$dir/bcrypt.yaml" manage register-user -y -p "$PW" --ignore-password-complexity erin &&
        "${M[@]}" manage lock-user carol && "${M[@]}" manage lock-user --deactivate dave; } >"$dir/masctl.log" 2>&1; then
        fail_check "$b: masctl sets up the database" "$(tail -n 20 "$dir/masctl.log")"
        return
    fi
    masd_start oauth1-$b "$OAUTH_BIN" "$dir/oauth1.yaml" 127.0.0.1:$p1 "$T/run/oauth.sock" 127.0.0.1:$pp || return
    masd_start oauth2-$b "$OAUTH_BIN" "$dir/oauth2.yaml" 127.0.0.1:$p2 || return
    masd_start oauth3-$b "$OAUTH_BIN" "$dir/oauth3.yaml" 127.0.0.1:$p3 || return
    render_nginx_snippets "$dir/nginx/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$ng ssl http2;|" \
        -e '/listen \[::\]:443/d'
    nginx_main_conf "$dir/nginx" "
    include $dir/nginx/masd/masd-upstreams-unix.conf;
    include $dir/nginx/masd/masd.conf;"
    nginx_start nginx-$b "$dir/nginx" 127.0.0.1:$ng || return
    local base=https://127.0.0.1:$ng

    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/compat.mjs" "$base" alice "$PW" example.com >"$dir/sdk.out" 2>&1
    local line
    while IFS= read -r line; do
        case $line in
        '{"step"'*'"ok":true'*) check "$b: matrix-js-sdk: $(node -e 'console.log(JSON.parse(process.argv[1]).step)' "$line")" true ;;
        '{"step"'*) check "$b: matrix-js-sdk: $line" false ;;
        esac
    done <"$dir/sdk.out"
    check "$b: matrix-js-sdk ran every step" eval "[ \$(grep -c '\"ok\":true' $dir/sdk.out) = 6 ] || { cat $dir/sdk.out; false; }"

    malformed "$b" "$base"
    rate_limits "$b" "$base" "$p1" "$p2"
    sessions "$b" "$p1" "$p2"
    introspection_lifecycle "$b" "$p1"
    locked_refresh "$b" "$p1" "$dir/oauth1.yaml"
    no_account_oracle "$b" "$p1"
    ipv6_and_account_limits "$b" "$p3"
    haproxy_rate_limits "$b" "$pp"
    http health "http://127.0.0.1:$p1/health"
    check "$b: health 200 with the database up" expect_eq "$(status "$T/health.h")" 200
    if [ -n "$admin" ]; then
        psql -q "$admin" -c "DROP DATABASE $dbname WITH (FORCE)" >"$dir/drop.log" 2>&1
        http health-down "http://127.0.0.1:$p1/health"
        check "$b: health 500 once the database is gone" expect_eq "$(status "$T/health-down.h")" 500
    fi
    http alive "http://127.0.0.1:$p1/_matrix/client/v3/login"
    check "$b: masd-oauth still serves after all of it" expect_eq "$(status "$T/alive.h")" 200
    stop nginx-$b
    # nginx logs its refusal of the two 70 KB bodies at [error]: a client's error, not an upstream one.
    grep -v 'client intended to send too large body' "$dir/nginx/error.log" >"$dir/nginx/error-upstream.log"
    check "$b: nginx logged no upstream error" expect_file_lacks "$dir/nginx/error-upstream.log" '\[(error|crit|alert|emerg)\]'
    masd_stop oauth1-$b
    masd_stop oauth2-$b
    masd_stop oauth3-$b
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database compat && run_backend pg "$PG_DB_URI" "$MASD_TEST_PG_URI" "$PG_DB"
finish
