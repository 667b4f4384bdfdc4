#!/usr/bin/env bash
# The stand-in homeserver (tests/homeserver/standin.py) against its contract,
# Synapse 1.157's synapse/rest/synapse/mas/: the auth forms (401 M_MISSING_TOKEN,
# 403), 405/404 dispatch, body parsing and strict validation errors, every endpoint's effect and
# status, check_username, the query_user shape, state surviving a restart, the record file, and
# the latency/fail/reset control API. Needs no masd binary: the other scripts rely on this
# stand-in being right, so it is tested on its own.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || { fail_check "node is installed" "apt-get install nodejs"; finish; }

STANDIN=${STANDIN:-$ROOT/tests/homeserver/standin.py}
SECRET='hs-shared-secret-0123456789'
# The secret file carries surrounding whitespace: the stand-in strips it, like Synapse.
printf '  %s \n\n' "$SECRET" >"$T/secret"
P=$(free_port)
B=http://127.0.0.1:$P/_synapse/mas
C=http://127.0.0.1:$P/_standin
J='content-type: application/json'
STATE=$T/state.json
REC=$T/record.jsonl
PIDFILE=$T/standin.pid

# standin_start NAME ARGS...: starts the stand-in on $P with the state, record and pid files and
# waits for its "listening on" line.
standin_start()
{
    local name=$1
    shift
    spawn "$name" "$T/logs/$name.log" /usr/bin/python3 "$STANDIN" --port "$P" \
        --server-name example.com --secret-file "$T/secret" --state "$STATE" --record "$REC" \
        --pidfile "$PIDFILE" "$@"
    for _ in $(seq 1 200); do
        grep -q "^listening on 127\.0\.0\.1:$P\$" "${LOG_OF[$name]}" && return 0
        kill -0 "${PID_OF[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "no 'listening on 127.0.0.1:$P' line:"
    cat "${LOG_OF[$name]}"
    return 1
}

# mas NAME METHOD ENDPOINT[?QUERY] curl-args...: a request with the right bearer token.
mas() { local name=$1 method=$2 ep=$3; shift 3; http "$name" -X "$method" "$B/$ep" -H "Authorization: Bearer $SECRET" "$@"; }
# post NAME ENDPOINT BODY curl-args...
post() { local name=$1 ep=$2 body=$3; shift 3; mas "$name" POST "$ep" -H "$J" --data-binary "$body" "$@"; }
# ctl NAME METHOD WHAT [BODY]: the control API.
ctl()
{
    if [ $# -ge 4 ]; then
        http "$1" -X "$2" "$C/$3" -H "$J" --data-binary "$4"
    else
        http "$1" -X "$2" "$C/$3"
    fi
}

# matrix_error NAME STATUS ERRCODE [ERROR]: response NAME is that Matrix error.
matrix_error()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; return 1; }
    expect_match "$(header "$T/$1.h" content-type)" '^application/json' || return 1
    json_expect "$T/$1.b" "d.errcode === '$3' && typeof d.error === 'string' && Object.keys(d).length === 2" || return 1
    [ $# -lt 4 ] || json_arg "$T/$1.b" "d.error === A" "$4"
}
# empty_ok NAME STATUS: response NAME is STATUS with the body {}.
empty_ok()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; return 1; }
    expect_eq "$(cat "$T/$1.b")" '{}' || return 1
    expect_eq "$(header "$T/$1.h" content-length)" 2
}
# state_expect 'js over d' : the stand-in's state (GET /_standin/state) satisfies the expression.
state_expect()
{
    ctl st GET state || return 1
    json_expect "$T/st.b" "$1"
}
# json_arg FILE 'js over d and A' ARG: like json_expect, with A = ARG (no quoting trouble).
json_arg()
{
    node -e '
        const fs = require("fs");
        const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8")), A = process.argv[3];
        if (!eval(process.argv[2])) { console.log("false: " + process.argv[2] + " with A = " + A); console.log(JSON.stringify(d)); process.exit(1); }
    ' "$@"
}
# same_json A B: two files hold the same JSON document.
same_json()
{
    node -e '
        const fs = require("fs");
        const canon = v => Array.isArray(v) ? v.map(canon) : v && typeof v === "object"
            ? Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])])) : v;
        const [a, b] = process.argv.slice(1).map(f => JSON.stringify(canon(JSON.parse(fs.readFileSync(f, "utf8")))));
        if (a !== b) { console.log(a); console.log(b); process.exit(1); }
    ' "$1" "$2"
}

# ------------------------------------------------------------------------------------------
# Start

standin_start hs1 || { fail_check "the stand-in starts" "$(cat "$T/logs/hs1.log")"; finish; }
check "it writes its PID to --pidfile" eval 'expect_eq "$(cat "$PIDFILE")" "${PID_OF[hs1]}"'

# ------------------------------------------------------------------------------------------
# Authentication: Synapse's get_access_token_from_request, then the shared-secret comparison.

U='is_localpart_available?localpart=freename'
http a1 "$B/$U"
check "no token: 401 M_MISSING_TOKEN 'Missing access token.'" matrix_error a1 401 M_MISSING_TOKEN 'Missing access token.'
http a2 "$B/$U" -H "Authorization: bearer $SECRET"
check "lower-case 'bearer': 401 M_MISSING_TOKEN 'Invalid Authorization header.'" \
    matrix_error a2 401 M_MISSING_TOKEN 'Invalid Authorization header.'
http a3 "$B/$U" -H "Authorization: Bearer  $SECRET"
check "two spaces after Bearer: 401 M_MISSING_TOKEN 'Invalid Authorization header.'" \
    matrix_error a3 401 M_MISSING_TOKEN 'Invalid Authorization header.'
http a3b "$B/$U" -H "Authorization: Basic $SECRET"
check "another scheme: 401 M_MISSING_TOKEN" matrix_error a3b 401 M_MISSING_TOKEN 'Invalid Authorization header.'
http a4 "$B/$U" -H "Authorization: Bearer $SECRET" -H "Authorization: Bearer $SECRET"
check "two Authorization headers: 401 M_MISSING_TOKEN 'Too many Authorization headers.'" \
    matrix_error a4 401 M_MISSING_TOKEN 'Too many Authorization headers.'
http a5 "$B/$U&access_token=$SECRET" -H "Authorization: Bearer $SECRET"
check "header and ?access_token= together: 401 M_MISSING_TOKEN" matrix_error a5 401 M_MISSING_TOKEN
http a6 "$B/$U" -H "Authorization: Bearer wrong-$SECRET"
check "a wrong secret: 403 M_UNKNOWN 'This endpoint must only be called by MAS'" \
    matrix_error a6 403 M_UNKNOWN 'This endpoint must only be called by MAS'
http a7 "$B/$U" -H "Authorization: Bearer   $SECRET "
check "the secret with spaces around: 401 (the header must be exactly 'Bearer <token>')" \
    matrix_error a7 401 M_MISSING_TOKEN
http a8 "$B/$U&access_token=$SECRET"
check "?access_token=<secret> alone is accepted: 200 {} (and the --secret-file was stripped)" empty_ok a8 200
http a9 "$B/$U&access_token=nope"
check "?access_token=<wrong>: 403 M_UNKNOWN" matrix_error a9 403 M_UNKNOWN
mas a11 POST provision_user -H "$J" --data-binary '{"localpart":' -H 'x: y'
http a12 -X POST "$B/provision_user" -H "$J" --data-binary '{"localpart":'
check "auth comes before body parsing: bad JSON without a token is 401, with it 400 M_NOT_JSON" \
    eval 'matrix_error a12 401 M_MISSING_TOKEN && matrix_error a11 400 M_NOT_JSON'
http a13 "$B/is_localpart_available" -H "Authorization: Bearer wrong"
mas a14 GET is_localpart_available
check "the doctor probe: no localpart with a wrong secret 403, with the secret 400 M_UNKNOWN 'Missing localpart'" \
    eval 'matrix_error a13 403 M_UNKNOWN && matrix_error a14 400 M_UNKNOWN "Missing localpart"'

# ------------------------------------------------------------------------------------------
# Dispatch

mas d1 GET provision_user
check "GET on a POST endpoint: 405 M_UNRECOGNIZED" matrix_error d1 405 M_UNRECOGNIZED 'Unrecognized request'
mas d2 POST query_user?localpart=x -H "$J" --data-binary '{}'
check "POST on a GET endpoint: 405 M_UNRECOGNIZED" matrix_error d2 405 M_UNRECOGNIZED
mas d3 PUT sync_devices -H "$J" --data-binary '{}'
check "PUT: 405 M_UNRECOGNIZED" matrix_error d3 405 M_UNRECOGNIZED
mas d4 GET no_such_endpoint
check "an unknown /_synapse/mas/ path: 404 M_UNRECOGNIZED 'Unrecognized request'" \
    matrix_error d4 404 M_UNRECOGNIZED 'Unrecognized request'
http d5 "http://127.0.0.1:$P/_matrix/client/versions"
check "a path outside /_synapse/mas: 404 M_UNRECOGNIZED" matrix_error d5 404 M_UNRECOGNIZED
mas d6 GET query_user/extra?localpart=x
check "an endpoint with an extra segment: 404" matrix_error d6 404 M_UNRECOGNIZED
http d7 -X OPTIONS "$B/query_user"
check "OPTIONS anywhere: 204, CORS headers, no body" \
    eval 'expect_eq "$(status "$T/d7.h")" 204 && expect_eq "$(header "$T/d7.h" access-control-allow-origin)" "*" && [ ! -s "$T/d7.b" ]'

# ------------------------------------------------------------------------------------------
# Body parsing and validation

post v1 provision_user ''
check "an empty body: 400 M_NOT_JSON" matrix_error v1 400 M_NOT_JSON 'Content not JSON.'
post v2 provision_user '{"localpart":"x",}'
check "invalid JSON: 400 M_NOT_JSON" matrix_error v2 400 M_NOT_JSON
post v3 provision_user '{"localpart":"x","n":NaN}'
check "NaN (not JSON): 400 M_NOT_JSON" matrix_error v3 400 M_NOT_JSON
post v4 provision_user $'{"localpart":"\xff"}'
check "a body that is not UTF-8: 400 M_NOT_JSON" matrix_error v4 400 M_NOT_JSON
post v5 provision_user '["localpart"]'
check "a JSON array: 400 M_BAD_JSON 'Content must be a JSON object.'" \
    matrix_error v5 400 M_BAD_JSON 'Content must be a JSON object.'
post v6 provision_user '"alice"'
check "a JSON string: 400 M_BAD_JSON" matrix_error v6 400 M_BAD_JSON
post v7 provision_user '{"set_displayname":"A"}'
check "one missing field: 400 M_MISSING_PARAM" matrix_error v7 400 M_MISSING_PARAM
post v8 delete_user '{"erase":true}'
check "delete_user without localpart: 400 M_MISSING_PARAM" matrix_error v8 400 M_MISSING_PARAM
post v9 delete_user '{}'
check "two missing fields: 400 M_BAD_JSON" matrix_error v9 400 M_BAD_JSON
post v10 provision_user '{"localpart":"vu","set_displayname":"A","unset_displayname":false}'
check "set_displayname with unset_displayname (even false): 400 M_INVALID_PARAM" matrix_error v10 400 M_INVALID_PARAM
post v11 provision_user '{"localpart":"vu","set_avatar_url":null,"unset_avatar_url":true}'
check "set_avatar_url: null with unset_avatar_url: 400 M_INVALID_PARAM (key presence)" matrix_error v11 400 M_INVALID_PARAM
post v12 provision_user '{"localpart":"vu","set_emails":[],"unset_emails":false}'
check "set_emails with unset_emails: 400 M_INVALID_PARAM" matrix_error v12 400 M_INVALID_PARAM
post v13 provision_user '{"set_emails":[],"unset_emails":true}'
check "the exclusivity validator wins over a missing localpart: 400 M_INVALID_PARAM" matrix_error v13 400 M_INVALID_PARAM
post v14 provision_user '{"localpart":"vu","locked":1}'
check "strict bool: locked: 1 is 400 M_BAD_JSON" matrix_error v14 400 M_BAD_JSON
post v15 provision_user '{"localpart":"vu","unset_displayname":"true"}'
check "strict bool: unset_displayname: \"true\" is 400 M_BAD_JSON" matrix_error v15 400 M_BAD_JSON
post v16 delete_user '{"localpart":"vu","erase":0}'
check "strict bool: erase: 0 is 400 M_BAD_JSON" matrix_error v16 400 M_BAD_JSON
post v17 provision_user '{"localpart":5}'
check "strict str: localpart: 5 is 400 M_BAD_JSON" matrix_error v17 400 M_BAD_JSON
post v18 provision_user '{"localpart":true}'
check "strict str: localpart: true is 400 M_BAD_JSON" matrix_error v18 400 M_BAD_JSON
post v19 provision_user '{"localpart":"vu","set_emails":"a@example.com"}'
check "set_emails not an array: 400 M_BAD_JSON" matrix_error v19 400 M_BAD_JSON
post v20 sync_devices '{"localpart":"vu","devices":["A",1]}'
check "a non-string device: 400 M_BAD_JSON" matrix_error v20 400 M_BAD_JSON
post v21 provision_user '{"localpart":"vu","unset_displayname":null}'
check "unset_displayname: null is 400 M_BAD_JSON (a bool, not optional)" matrix_error v21 400 M_BAD_JSON
post v22 delete_user '{"erase":"yes"}'
check "one missing plus one wrong type: 400 M_BAD_JSON" matrix_error v22 400 M_BAD_JSON
post v23 unset_displayname '{"localpart":"nobody","unknown_key":[1,2,{}]}'
check "unknown keys are ignored (reaches the user lookup: 404)" matrix_error v23 404 M_NOT_FOUND 'User not found'
mas v24 GET 'is_localpart_available?localpart=%C3%A9'
check "a non-ASCII query parameter: 400" eval 'expect_eq "$(status "$T/v24.h")" 400'
check "no failed request created anything" state_expect 'Object.keys(d.users).length === 0'

# ------------------------------------------------------------------------------------------
# provision_user

post p1 provision_user '{"localpart":"alice","set_displayname":"Alice","set_emails":["alice@example.com"],"locked":false}'
check "provision_user of a new user: 201 {}" empty_ok p1 201
post p2 provision_user '{"localpart":"alice","set_displayname":"Alice","set_emails":["alice@example.com"],"locked":false}'
check "provision_user again: 200 {}" empty_ok p2 200
check "the user has its display name, e-mail, lock flag" state_expect \
    'const u = d.users.alice; u.display_name === "Alice" && JSON.stringify(u.emails) === "[\"alice@example.com\"]" && u.locked === false && u.deactivated === false && JSON.stringify(u.devices) === "{}"'
post p3 provision_user '{"localpart":"bob"}'
check "a new user without set_displayname: 201, display name = localpart" \
    eval 'empty_ok p3 201 && state_expect "d.users.bob.display_name === \"bob\" && d.users.bob.emails.length === 0"'
post p4 provision_user '{"localpart":"bob","unset_displayname":true,"set_avatar_url":"mxc://example.com/av","locked":true}'
check "unset_displayname, set_avatar_url, locked: true on an existing user" \
    eval 'empty_ok p4 200 && state_expect "const u = d.users.bob; u.display_name === null && u.avatar_url === \"mxc://example.com/av\" && u.locked === true"'
post p5 provision_user '{"localpart":"bob","set_emails":["a@example.com","b@example.com"]}'
post p6 provision_user '{"localpart":"bob","set_emails":["b@example.com","c@example.com"]}'
check "set_emails replaces the set: a,b then b,c leaves b,c; locked untouched when absent" \
    eval 'empty_ok p6 200 && state_expect "JSON.stringify(d.users.bob.emails.slice().sort()) === JSON.stringify([\"b@example.com\",\"c@example.com\"]) && d.users.bob.locked === true"'
post p7 provision_user '{"localpart":"bob","unset_emails":true,"unset_avatar_url":true,"locked":false}'
check "unset_emails, unset_avatar_url, locked: false" \
    eval 'empty_ok p7 200 && state_expect "const u = d.users.bob; u.emails.length === 0 && u.avatar_url === null && u.locked === false"'
post p8 provision_user '{"localpart":"Carol"}'
check "a new user with an invalid localpart: 400 M_INVALID_USERNAME, not created" \
    eval 'matrix_error p8 400 M_INVALID_USERNAME && state_expect "!(\"Carol\" in d.users)"'
post p9 provision_user "{\"localpart\":\"bob\",\"set_displayname\":\"$(printf 'x%.0s' $(seq 1 257))\"}"
check "a display name of 257 characters on an existing user: 400 M_UNKNOWN" matrix_error p9 400 M_UNKNOWN
post p10 provision_user '{"localpart":"bob","set_displayname":"  Bobby  "}'
check "set_displayname is stripped on an existing user" \
    eval 'empty_ok p10 200 && state_expect "d.users.bob.display_name === \"Bobby\""'

# ------------------------------------------------------------------------------------------
# query_user

mas q1 GET query_user?localpart=alice
check "query_user: 200 with exactly user_id @alice:example.com, display_name, avatar_url, is_suspended, is_deactivated" \
    json_expect "$T/q1.b" 'JSON.stringify(d) === JSON.stringify({user_id: "@alice:example.com", display_name: "Alice", avatar_url: null, is_suspended: false, is_deactivated: false})'
check "... with status 200 and Content-Length" \
    eval 'expect_eq "$(status "$T/q1.h")" 200 && expect_eq "$(header "$T/q1.h" content-length)" "$(stat -c %s "$T/q1.b")"'
mas q2 GET query_user?localpart=nobody
check "query_user of an unknown user: 404 M_NOT_FOUND 'User not found'" matrix_error q2 404 M_NOT_FOUND 'User not found'
mas q3 GET query_user
check "query_user without localpart: 400 M_MISSING_PARAM" matrix_error q3 400 M_MISSING_PARAM
head_request()
{
    node "$NODE_DIR/rawsock.mjs" --timeout 5000 "127.0.0.1:$P" \
        "text:HEAD /_synapse/mas/query_user?localpart=alice HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer $SECRET\\r\\nConnection: close\\r\\n\\r\\n" >"$T/q4.json" || return 1
    cat "$T/q4.json"
    json_arg "$T/q4.json" 'd.closed_by_peer && /^HTTP\/1\.1 200 /.test(d.text) && d.text.endsWith("\r\n\r\n") && new RegExp("\r\nContent-Length: " + A + "\r\n").test(d.text)' "$(stat -c %s "$T/q1.b")"
}
check "HEAD query_user: 200, the GET's Content-Length, no body (raw socket)" head_request

# ------------------------------------------------------------------------------------------
# Unknown users

for ep in delete_user reactivate_user set_displayname unset_displayname allow_cross_signing_reset \
    upsert_device delete_device update_device_display_name sync_devices; do
    post "nf-$ep" "$ep" '{"localpart":"ghost","erase":false,"displayname":"G","device_id":"D","display_name":"n","devices":[]}'
    check "$ep for an unknown user: 404 M_NOT_FOUND 'User not found'" matrix_error "nf-$ep" 404 M_NOT_FOUND 'User not found'
done

# ------------------------------------------------------------------------------------------
# Devices

post dv1 upsert_device '{"localpart":"alice","device_id":"DEV1","display_name":"Element on Firefox"}'
check "upsert_device of a new device: 201 {}" empty_ok dv1 201
post dv2 upsert_device '{"localpart":"alice","device_id":"DEV1"}'
check "upsert_device again without a name: 200 {}, the name kept" \
    eval 'empty_ok dv2 200 && state_expect "d.users.alice.devices.DEV1 === \"Element on Firefox\""'
post dv3 upsert_device '{"localpart":"alice","device_id":"DEV1","display_name":"Renamed"}'
check "upsert_device again with a name: 200 {}, the name replaced" \
    eval 'empty_ok dv3 200 && state_expect "d.users.alice.devices.DEV1 === \"Renamed\""'
post dv4 upsert_device "{\"localpart\":\"alice\",\"device_id\":\"DEV2\",\"display_name\":\"$(printf 'n%.0s' $(seq 1 101))\"}"
check "a device name of 101 characters: 400 M_TOO_LARGE, no device" \
    eval 'matrix_error dv4 400 M_TOO_LARGE && state_expect "!(\"DEV2\" in d.users.alice.devices)"'
post dv5 upsert_device "{\"localpart\":\"alice\",\"device_id\":\"DEV2\",\"display_name\":\"$(printf 'n%.0s' $(seq 1 100))\"}"
check "a device name of 100 characters: 201" empty_ok dv5 201
post dv6 update_device_display_name '{"localpart":"alice","device_id":"DEV2","display_name":"Phone"}'
check "update_device_display_name: 200 {}, renamed" \
    eval 'empty_ok dv6 200 && state_expect "d.users.alice.devices.DEV2 === \"Phone\""'
post dv7 update_device_display_name '{"localpart":"alice","device_id":"NOPE","display_name":"x"}'
check "update_device_display_name of an unknown device: 404 M_NOT_FOUND" matrix_error dv7 404 M_NOT_FOUND
post dv8 update_device_display_name '{"localpart":"alice","device_id":"DEV2"}'
check "update_device_display_name without display_name: 400 M_MISSING_PARAM" matrix_error dv8 400 M_MISSING_PARAM
post dv9 update_device_display_name "{\"localpart\":\"alice\",\"device_id\":\"DEV2\",\"display_name\":\"$(printf 'n%.0s' $(seq 1 101))\"}"
check "update_device_display_name with 101 characters: 400 M_TOO_LARGE" matrix_error dv9 400 M_TOO_LARGE
post dv10 sync_devices '{"localpart":"alice","devices":["DEV2","DEV3","DEV3"]}'
check "sync_devices {DEV1,DEV2} -> [DEV2,DEV3]: 200 {}, DEV1 deleted, DEV3 added unnamed, DEV2 kept" \
    eval 'empty_ok dv10 200 && state_expect "JSON.stringify(d.users.alice.devices) === JSON.stringify({DEV2: \"Phone\", DEV3: null})"'
post dv11 delete_device '{"localpart":"alice","device_id":"DEV3"}'
check "delete_device: 204 without a body, device gone" \
    eval 'expect_eq "$(status "$T/dv11.h")" 204 && [ ! -s "$T/dv11.b" ] && state_expect "!(\"DEV3\" in d.users.alice.devices)"'
post dv12 delete_device '{"localpart":"alice","device_id":"DEV3"}'
check "delete_device of a device already gone: 204" eval 'expect_eq "$(status "$T/dv12.h")" 204'
post dv13 sync_devices '{"localpart":"alice","devices":[]}'
check "sync_devices with []: every device deleted" \
    eval 'empty_ok dv13 200 && state_expect "Object.keys(d.users.alice.devices).length === 0"'

# ------------------------------------------------------------------------------------------
# Profile, cross-signing

post pr1 set_displayname '{"localpart":"alice","displayname":"Alice A."}'
check "set_displayname: 200 {}, query_user shows it" \
    eval 'empty_ok pr1 200 && mas pr1q GET query_user?localpart=alice && json_expect "$T/pr1q.b" "d.display_name === \"Alice A.\""'
post pr2 set_displayname '{"localpart":"alice"}'
check "set_displayname without displayname: 400 M_MISSING_PARAM" matrix_error pr2 400 M_MISSING_PARAM
post pr3 unset_displayname '{"localpart":"alice"}'
check "unset_displayname: 200 {}, display_name null" \
    eval 'empty_ok pr3 200 && mas pr3q GET query_user?localpart=alice && json_expect "$T/pr3q.b" "d.display_name === null"'
post pr4 allow_cross_signing_reset '{"localpart":"alice"}'
check "allow_cross_signing_reset: 200 {}" empty_ok pr4 200

# ------------------------------------------------------------------------------------------
# delete_user, reactivate_user

post du0 upsert_device '{"localpart":"bob","device_id":"BOBDEV"}'
post du00 provision_user '{"localpart":"bob","set_emails":["bob@example.com"]}'
post du1 delete_user '{"localpart":"bob","erase":false}'
check "delete_user (erase false): 200 {}, deactivated, devices and e-mails removed, profile kept" \
    eval 'empty_ok du1 200 && state_expect "const u = d.users.bob; u.deactivated === true && Object.keys(u.devices).length === 0 && u.emails.length === 0 && u.display_name === \"Bobby\""'
mas du2 GET query_user?localpart=bob
check "query_user of a deactivated user: is_deactivated true" json_expect "$T/du2.b" 'd.is_deactivated === true'
post du3 reactivate_user '{"localpart":"bob"}'
mas du4 GET query_user?localpart=bob
check "reactivate_user: 200 {}, is_deactivated false" \
    eval 'empty_ok du3 200 && json_expect "$T/du4.b" "d.is_deactivated === false"'
post du5 delete_user '{"localpart":"bob","erase":true}'
mas du6 GET query_user?localpart=bob
check "delete_user (erase true): display name and avatar cleared" \
    eval 'empty_ok du5 200 && json_expect "$T/du6.b" "d.is_deactivated === true && d.display_name === null && d.avatar_url === null"'
post du7 delete_user '{"localpart":"bob","erase":"false"}'
check "delete_user with erase as a string: 400 M_BAD_JSON" matrix_error du7 400 M_BAD_JSON

# ------------------------------------------------------------------------------------------
# is_localpart_available (check_username)

avail() # NAME LOCALPART-ENCODED
{
    mas "$1" GET "is_localpart_available?localpart=$2"
}
avail la1 carol
check "a free localpart: 200 {}" empty_ok la1 200
avail la2 alice
check "an existing user: 400 M_USER_IN_USE 'User ID already taken.'" matrix_error la2 400 M_USER_IN_USE 'User ID already taken.'
avail la3 bob
check "a deactivated user is still taken: M_USER_IN_USE" matrix_error la3 400 M_USER_IN_USE
avail la4 Alice
check "upper case: 400 M_INVALID_USERNAME" matrix_error la4 400 M_INVALID_USERNAME
avail la5 _hidden
check "a leading underscore: 400 M_INVALID_USERNAME" matrix_error la5 400 M_INVALID_USERNAME 'User ID may not begin with _'
avail la6 12345
check "all digits: 400 M_INVALID_USERNAME (guest pattern)" matrix_error la6 400 M_INVALID_USERNAME
avail la7 ''
check "empty: 400 M_INVALID_USERNAME 'User ID cannot be empty'" matrix_error la7 400 M_INVALID_USERNAME 'User ID cannot be empty'
avail la8 'a+b'
check "'+' in the query is a space: 400 M_INVALID_USERNAME" matrix_error la8 400 M_INVALID_USERNAME
avail la9 'a%3Db_c-d.e%2Ff%2Bg1'
check "every allowed character (a=b_c-d.e/f+g1): 200" empty_ok la9 200
avail la10 "$(printf 'l%.0s' $(seq 1 243))"
avail la11 "$(printf 'l%.0s' $(seq 1 242))"
check "an MXID over 255 characters is invalid, 255 is fine" \
    eval 'matrix_error la10 400 M_INVALID_USERNAME && empty_ok la11 200'
ctl seed POST state '{"users":{"alice":{"display_name":"Alice"},"Dave":{}}}'
avail la12 dave
check "a user seeded as 'Dave' makes 'dave' taken (case-insensitive)" \
    eval 'expect_eq "$(status "$T/seed.h")" 200 && matrix_error la12 400 M_USER_IN_USE'
post la13 provision_user '{"localpart":"dave"}'
check "provision_user of 'dave' then fails with M_USER_IN_USE" matrix_error la13 400 M_USER_IN_USE
check "seeded users get every field" \
    state_expect 'const u = d.users.Dave; u.display_name === null && u.locked === false && u.deactivated === false && JSON.stringify(u.devices) === "{}" && Array.isArray(u.emails)'

# ------------------------------------------------------------------------------------------
# Keep-alive: two requests, one connection

keepalive()
{
    curl -sS --max-time 10 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
        -H "Authorization: Bearer $SECRET" "$B/query_user?localpart=alice" "$B/query_user?localpart=alice" >"$T/ka.out" || return 1
    cat "$T/ka.out"
    expect_eq "$(tr '\n' ' ' <"$T/ka.out")" "200 1 200 0 "
}
check "HTTP/1.1 keep-alive: a second request reuses the connection" keepalive

# ------------------------------------------------------------------------------------------
# The record file

record_lines()
{
    local n
    n=$(wc -l <"$REC")
    echo "$n lines"
    [ "$n" -ge 80 ] || return 1
    node -e '
        const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
        for (const l of lines) {
            const r = JSON.parse(l);
            const keys = Object.keys(r).sort().join(",");
            if (keys !== "auth_ok,body,method,path,query,status,t") { console.log("keys: " + keys); process.exit(1); }
            if (typeof r.auth_ok !== "boolean" || !Number.isInteger(r.status) || !Number.isInteger(r.t)) { console.log(l); process.exit(1); }
        }' "$REC"
}
check "every request made one record line with method, path, query, auth_ok, body, status, t" record_lines
record_has() # js predicate over r: some record line satisfies it
{
    node -e '
        const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
        const f = eval("r => " + process.argv[2]);
        if (!lines.some(f)) { console.log("no record with " + process.argv[2]); process.exit(1); }' "$REC" "$1"
}
check "record: the first provision_user of alice, parsed body, status 201, auth_ok" \
    record_has 'r.method === "POST" && r.path === "/_synapse/mas/provision_user" && r.status === 201 && r.auth_ok === true && r.body.localpart === "alice" && r.body.set_emails[0] === "alice@example.com"'
check "record: the wrong-secret request has auth_ok false and status 403" \
    record_has 'r.status === 403 && r.auth_ok === false && r.query === "localpart=freename"'
check "record: invalid JSON is kept as a raw string" \
    record_has 'r.status === 400 && r.body === "{\"localpart\":\"x\",}"'
check "record: GET has body null and the raw query string" \
    record_has 'r.method === "GET" && r.body === null && r.query === "localpart=a%3Db_c-d.e%2Ff%2Bg1" && r.status === 200'
check "record: a POST has query \"\"" record_has 'r.method === "POST" && r.query === "" && r.status === 201'
check "record: delete_device answered 204" record_has 'r.path === "/_synapse/mas/delete_device" && r.status === 204'
check "record: the control API is not recorded" eval '! grep -q _standin "$REC"'

# ------------------------------------------------------------------------------------------
# Latency and failure injection

timed() # NAME: milliseconds taken by a query_user
{
    local t0 t1
    t0=$(now_ms)
    mas "$1" GET query_user?localpart=alice
    t1=$(now_ms)
    echo $((t1 - t0))
}
ctl lat1 POST latency '{"ms":600}'
ms=$(timed lat2)
check "latency 600 ms: a request takes >= 600 ms ($ms ms) and still answers 200" \
    eval '[ "$(status "$T/lat1.h")" = 200 ] && [ "$ms" -ge 600 ] && expect_eq "$(status "$T/lat2.h")" 200'
ctl lat3 GET latency
check "GET /_standin/latency reports it" json_expect "$T/lat3.b" 'd.ms === 600'
ctl lat4 POST latency '{"ms":0}'
ms=$(timed lat5)
check "latency back to 0: fast again ($ms ms)" eval '[ "$ms" -lt 400 ]'
ctl lat6 POST latency '{"ms":"fast"}'
check "a bad latency body: 400" eval 'expect_eq "$(status "$T/lat6.h")" 400'

ctl f1 POST fail '{"status":503,"count":2}'
post f2 provision_user '{"localpart":"failed"}'
post f3 provision_user '{"localpart":"failed"}'
post f4 provision_user '{"localpart":"failed"}'
check "fail {503, 2}: the next two calls answer 503 M_UNKNOWN, the third goes through (201)" \
    eval 'matrix_error f2 503 M_UNKNOWN && matrix_error f3 503 M_UNKNOWN && empty_ok f4 201'
check "record: injected failures are recorded with their status" \
    record_has 'r.status === 503 && r.body.localpart === "failed"'
ctl f5 POST fail '{"status":0,"count":1}'
curl -sS --max-time 5 -o /dev/null "$B/query_user?localpart=alice" -H "Authorization: Bearer $SECRET" 2>"$T/f6.err"
f6=$?
mas f7 GET query_user?localpart=alice
check "fail {status 0}: the connection closes without an answer (curl 52), then normal service" \
    eval 'expect_eq "$f6" 52 && expect_eq "$(status "$T/f7.h")" 200'
ctl f8 GET fail
check "GET /_standin/fail: nothing pending" json_expect "$T/f8.b" 'd.count === 0'

# ------------------------------------------------------------------------------------------
# State survives a restart; SIGTERM

post r1 upsert_device '{"localpart":"alice","device_id":"KEEPME","display_name":"Kept"}'
ctl r0 GET state
cp "$T/r0.b" "$T/before.json"
stop hs1 TERM 5
check "SIGTERM: exit status 0 (got $STOP_STATUS), pidfile removed" \
    eval 'expect_eq "$STOP_STATUS" 0 && [ ! -e "$PIDFILE" ]'
http down "$B/query_user?localpart=alice" -H "Authorization: Bearer $SECRET" 2>/dev/null
down=$?
check "while stopped the homeserver is down (curl exit 7, got $down)" eval 'expect_eq "$down" 7'
check "the state file holds the last state" \
    json_expect "$STATE" 'd.users.alice.devices.KEEPME === "Kept" && "failed" in d.users'
standin_start hs2 --fail-next 1 --fail-status 502 || fail_check "the stand-in restarts" "$(cat "$T/logs/hs2.log")"
mas rs1 GET query_user?localpart=alice
mas rs2 GET query_user?localpart=alice
check "--fail-next 1 --fail-status 502: the first call after the restart answers 502" matrix_error rs1 502 M_UNKNOWN
check "after the restart the state is the same" \
    eval 'ctl r2 GET state && same_json "$T/before.json" "$T/r2.b"'
check "query_user after the restart: the same user" json_expect "$T/rs2.b" 'd.user_id === "@alice:example.com" && d.display_name === "Alice"'
post rs3 provision_user '{"localpart":"alice"}'
check "provision_user after the restart: 200 (the user persisted)" empty_ok rs3 200

ctl rst POST reset
check "reset: empty state, in memory and in the state file" \
    eval 'expect_eq "$(status "$T/rst.h")" 200 && state_expect "Object.keys(d.users).length === 0" && json_expect "$STATE" "Object.keys(d.users).length === 0"'

# A stand-in started without --secret/--secret-file refuses to run.
timeout 10 /usr/bin/python3 "$STANDIN" --port "$(free_port)" >"$T/nosecret.out" 2>&1
nosecret=$?
check "no --secret or --secret-file: refuses to start (status $nosecret)" \
    eval '[ "$nosecret" != 0 ] && expect_file_contains "$T/nosecret.out" "secret"'

stop hs2 TERM 5
check "the restarted stand-in exits 0 on SIGTERM (got $STOP_STATUS)" expect_eq "$STOP_STATUS" 0

finish
