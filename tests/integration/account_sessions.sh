#!/usr/bin/env bash
# The account's session pages (services/human/sessions.c, account_sessions.c) behind the shipped
# nginx config, with masd-oauth, masd-worker and the homeserver stand-in, on SQLite and, when
# MASD_TEST_PG_URI is set, PostgreSQL:
#   - a compat login (curl, a native client's User-Agent) makes the first session; then
#     tests/node/account_sessions.mjs in headless Chromium: an MSC4191 deep link from a
#     signed-out browser lands after the login on that device's session; an OAuth client signs
#     in from the same browser; the list shows both; the compat session is renamed, the OAuth
#     session ended; the other deep links; ending this browser's own session signs it out;
#   - the homeserver stand-in got the new device name, and the device list synced by
#     masd-worker's job drops the ended session's device; introspection says the ended
#     session's token is inactive;
#   - with curl: a POST without the CSRF token, with another's, with an unknown action (400);
#     another user (bob) gets the same 404 page for alice's session as for none, and cannot end
#     or rename it; bad cursors are a 400 page; signed out, every page goes to the login;
#   - GraphQL (tests/node/gql_sessions.mjs, every document validated against masd's introspected
#     schema): the same sessions through /graphql, paged both ways, filtered, by device and by
#     node; renamed and ended by the mutations (the stand-in sees both), another user's null or
#     NOT_FOUND; ending the current browser session rewrites the cookie.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
WORKER_BIN=$BUILD/services/worker/masd-worker
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$WORKER_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
NODE_DIR=$ROOT/tests/node
[ -d "$NODE_DIR/node_modules/playwright-core" ] || { fail_check "npm ci in tests/node" "playwright-core is not installed"; finish; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { fail_check "chromium is installed ($CHROMIUM)" "tools/packages --install test"; finish; }

HS_SECRET=shared-secret-for-the-homeserver
CID=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS
PW='correct horse battery staple 42'
ANDROID_UA='Element/1.6.10 (Google Pixel 7; Android 14; TQ3A.230901.001; Flavour GooglePlay; MatrixAndroidSdk2 1.6.10)'
OUT_DIR=${OUT:-$ROOT/build-output/manual}/account-sessions-$(basename "$BUILD")
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com
mkdir -p "$T/assets"
cp "$BUILD"/services/human/templates/masd-*.css* "$T/assets/" 2>/dev/null
chmod -R a+rX "$T/assets"

# config FILE DB-URI SUFFIX BASE CALLBACK-PORT
config()
{
    cat >"$1" <<EOF
http:
  public_base: $4/
  trusted_proxies: [127.0.0.1/32]
  listeners:
    - name: human
      resources: [{name: human}, {name: graphql}]
      binds: [{socket: $T/run/human$3.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{socket: $T/run/oauth$3.sock, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery$3.sock, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
passwords:
  minimum_complexity: 0
rate_limiting:
  login:
    per_ip: {burst: 100, per_second: 10}
    per_account: {burst: 100, per_second: 10}
clients:
  - client_id: $CID
    client_auth_method: none
    client_name: Test Client
    redirect_uris: [http://127.0.0.1:$5/callback]
$(secrets_yaml)
EOF
}

body_has() { expect_file_contains "$T/$1.b" "$2"; }
page() { expect_eq "$(status "$T/$1.h")" "$2" && expect_match "$(header "$T/$1.h" content-type)" '^text/html'; }
redirects_to() { expect_eq "$(status "$T/$1.h")" 303 && expect_match "$(header "$T/$1.h" location)" "$2"; }
# hs_devices USER: the stand-in's device IDs of the user, sorted, one line.
hs_devices() { /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["users"][sys.argv[2]]["devices"])))' "$T/hs/state.json" "$1" 2>/dev/null; }
hs_device_name() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"][sys.argv[2]]["devices"][sys.argv[3]])' "$T/hs/state.json" "$1" "$2" 2>/dev/null; }

backend()
{
    local B=$1 uri=$2
    shift 2
    local sqlcmd=("$@")
    sql() { "${sqlcmd[@]}" "$1"; }
    local NG CB BASE S=-$B
    NG=$(free_port)
    CB=$(free_port)
    BASE=https://127.0.0.1:$NG
    config "$T/$B.yaml" "$uri" "$S" "$BASE" "$CB"
    local M=("$MASCTL_BIN" -c "$T/$B.yaml")
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        "${M[@]}" manage register-user -y -p "$PW" "alice-$B" && "${M[@]}" manage register-user -y -p "$PW" "bob-$B"; } \
        >"$T/$B-masctl.log" 2>&1; then
        fail_check "[$B] masctl sets up the database" "$(tail -n 20 "$T/$B-masctl.log")"
        return
    fi
    masd_start "human$S" "$HUMAN_BIN" "$T/$B.yaml" "$T/run/human$S.sock" || return
    masd_start "oauth$S" "$OAUTH_BIN" "$T/$B.yaml" "$T/run/oauth$S.sock" || return
    masd_start "discovery$S" "$DISCOVERY_BIN" "$T/$B.yaml" "$T/run/discovery$S.sock" || return
    [ "$B" = sqlite ] && { masd_start assets "$ASSETS_BIN" "$T/$B.yaml" "$T/run/assets.sock" || return; }
    spawn "worker$S" "$T/logs/worker$S.log" "$WORKER_BIN" --config "$T/$B.yaml" --threads 2
    mkdir -p "$T/nginx$S"
    render_nginx_snippets "$T/nginx$S/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
        -e '/listen \[::\]:443/d'
    sed -i -e "s|unix:[^ ;]*/human\.sock|unix:$T/run/human$S.sock|" -e "s|unix:[^ ;]*/oauth\.sock|unix:$T/run/oauth$S.sock|" \
        -e "s|unix:[^ ;]*/discovery\.sock|unix:$T/run/discovery$S.sock|" "$T/nginx$S/masd/masd-upstreams-unix.conf"
    nginx_main_conf "$T/nginx$S" "
    include $T/nginx$S/masd/masd-upstreams-unix.conf;
    include $T/nginx$S/masd/masd.conf;"
    nginx_start "nginx$S" "$T/nginx$S" "127.0.0.1:$NG" || return

    req() { jar_req "$@"; }
    # signin JAR USER [CURL-ARGS...]: a browser session for USER in the cookie jar.
    signin()
    {
        local jar=$1 user=$2
        shift 2
        req "si-$jar" "$jar" "$@" /login
        req "si2-$jar" "$jar" "$@" --data-urlencode "csrf=$(csrf_of "si-$jar")" --data-urlencode "username=$user" \
            --data-urlencode "password=$PW" /login
    }
    # gql NAME JAR JSON [CURL-ARGS...]: a GraphQL request with the jar's session cookie, as the
    # account frontend sends it.
    gql()
    {
        local name=$1 jar=$2 body=$3
        shift 3
        req "$name" "$jar" -H 'Content-Type: application/json' -H "Origin: $BASE" "$@" --data-binary "$body" /graphql
    }
    local A=alice-$B DEV=COMPAT$(echo "$B" | tr a-z A-Z | cut -c1-4)

    # The compat session: a native client's password login.
    req c1 - -H 'Content-Type: application/json' -H "User-Agent: $ANDROID_UA" --data-binary \
        "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$A\"},\"password\":\"$PW\",\"device_id\":\"$DEV\",\"initial_device_display_name\":\"Old phone\"}" \
        /_matrix/client/v3/login
    check "[$B] a compat login makes the first session (device $DEV on the homeserver)" \
        eval 'expect_eq "$(status "$T/c1.h")" 200 && expect_eq "$(hs_devices "$A")" "$DEV"'

    # The browser: deep link, OAuth login, list, rename, end, sign out.
    local line lines=0 oauth_token=""
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/account_sessions.mjs" "$(printf \
        '{"base":"%s","client_id":"%s","callback_port":%s,"out":"%s","user":"%s","password":"%s","compat_device":"%s","chromium":"%s","shots":%s}' \
        "$BASE" "$CID" "$CB" "$OUT_DIR/$B" "$A" "$PW" "$DEV" "$CHROMIUM" "$([ "$B" = sqlite ] && echo true || echo false)")" >"$T/mjs-$B.out" 2>"$T/mjs-$B.err"
    while IFS= read -r line; do
        lines=$((lines + 1))
        local name ok
        name=$(jq -r .step <<<"$line")
        ok=$(jq -r .ok <<<"$line")
        [ "$(jq -r '.access_token // empty' <<<"$line")" ] && oauth_token=$(jq -r .access_token <<<"$line")
        if [ "$ok" = true ]; then check "[$B] browser: $name" true; else fail_check "[$B] browser: $name" "$(jq -r .error <<<"$line")"; fi
    done <"$T/mjs-$B.out"
    [ "$lines" -ge 9 ] || fail_check "[$B] the browser run went to its end" "$(tail -n 20 "$T/mjs-$B.err")"

    check "[$B] the homeserver has the compat device's new name (update_device_display_name)" \
        eval 'expect_eq "$(hs_device_name "$A" "$DEV")" "Alice’s phone" &&
              grep -q "\"path\": *\"/_synapse/mas/update_device_display_name\"" "$HS_RECORD"'
    check "[$B] the name is stored trimmed" \
        expect_eq "$(sql "SELECT human_name FROM compat_sessions WHERE device_id = '$DEV'")" "Alice’s phone"
    local i
    for i in $(seq 1 100); do [ "$(hs_devices "$A")" = "$DEV" ] && grep -q OAUTHDEV01 "$HS_RECORD" && break; sleep 0.1; done
    check "[$B] masd-worker synced the device list: the ended OAuth session's device is gone" \
        eval 'expect_eq "$(hs_devices "$A")" "$DEV" && grep -q "\"path\":\"/_synapse/mas/sync_devices\"" "$HS_RECORD"'
    req in1 - -H "Authorization: Bearer $HS_SECRET" --data-urlencode "token=$oauth_token" /oauth2/introspect
    check "[$B] introspection: the ended OAuth session's token is inactive" \
        eval '[ -n "$oauth_token" ] && expect_eq "$(jq -c . "$T/in1.b")" "{\"active\":false}"'

    # Another user: nothing of alice's.
    local CS BS
    CS=$(sql "SELECT compat_session_id FROM compat_sessions WHERE device_id = '$DEV'")
    BS=$(sql "SELECT browser_session_id FROM browser_sessions b JOIN users u ON u.user_id = b.user_id WHERE u.username = '$A' LIMIT 1")
    signin bob "bob-$B"
    req o1 bob "/account/sessions/$CS"
    req o2 bob "/account/sessions/compat_session:$CS"
    req o3 bob "/account/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV"
    req o4 bob "/account/devices/$DEV"
    req o5 bob "/account/sessions/browser_session:$BS"
    check "[$B] bob: alice's sessions, by ULID, node ID or device, are the same 404 page as none" \
        eval 'page o1 404 && page o2 404 && page o3 404 && page o4 404 && page o5 404 &&
              body_has o1 "No such session" && cmp -s "$T/o1.b" "$T/o3.b" || diff <(sed "s/Reference.*//" "$T/o1.b") <(sed "s/Reference.*//" "$T/o3.b")'
    req o6 bob /account/sessions
    check "[$B] bob's list: none of alice's sessions" eval 'page o6 200 && expect_file_lacks "$T/o6.b" "$CS|Old phone|Alice"'
    local TOK BBS
    BBS=$(sql "SELECT browser_session_id FROM browser_sessions b JOIN users u ON u.user_id = b.user_id WHERE u.username = 'bob-$B'")
    req o7g bob "/account/sessions/$BBS" # bob's own page: a form, and his csrf token
    TOK=$(csrf_of o7g)
    req o7 bob --data-urlencode "csrf=$TOK" --data-urlencode action=end "/account/sessions/$CS"
    req o8 bob --data-urlencode "csrf=$TOK" --data-urlencode action=rename --data-urlencode name=pwned "/account/sessions/$CS"
    check "[$B] bob cannot end or rename alice's session (404), and it stays as it was" \
        eval 'page o7 404 && page o8 404 &&
              expect_eq "$(sql "SELECT COALESCE(finished_at, 0) || human_name FROM compat_sessions WHERE compat_session_id = '"'$CS'"'")" "0Alice’s phone"'

    # CSRF and bad forms (bob's own compat session).
    req b1 - -H 'Content-Type: application/json' --data-binary \
        "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"bob-$B\"},\"password\":\"$PW\",\"device_id\":\"BOBDEV\"}" \
        /_matrix/client/v3/login
    local BCS
    BCS=$(sql "SELECT compat_session_id FROM compat_sessions WHERE device_id = 'BOBDEV'")
    req x1 bob --data-urlencode action=end "/account/sessions/$BCS"
    req x2 bob --data-urlencode "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" --data-urlencode action=end "/account/sessions/$BCS"
    req x3 - --data-urlencode "csrf=$TOK" --data-urlencode action=end "/account/sessions/$BCS"
    req x4 bob --data-urlencode "csrf=$TOK" --data-urlencode action=explode "/account/sessions/$BCS"
    req x5 bob --data-urlencode "csrf=$TOK" --data-urlencode action=rename --data-urlencode "name=   " "/account/sessions/$BCS"
    check "[$B] POST without the CSRF token, with another, without the cookie; an unknown action, an empty name: 400, the session untouched" \
        eval 'page x1 400 && page x2 400 && page x3 400 && page x4 400 && page x5 400 &&
              expect_eq "$(sql "SELECT COALESCE(finished_at, 0) FROM compat_sessions WHERE compat_session_id = '"'$BCS'"'")" 0'
    req x6 bob --data-urlencode "csrf=$TOK" --data-urlencode action=end "/account/sessions/compat_session:$BCS"
    check "[$B] bob ends his own session by its node ID: 303 to the list, finished, a sync-devices job" \
        eval 'redirects_to x6 "/account/sessions$" &&
              [ "$(sql "SELECT COALESCE(finished_at, 0) FROM compat_sessions WHERE compat_session_id = '"'$BCS'"'")" != 0 ]'
    req y1 bob "/account/sessions?before=nonsense"
    req y2 bob "/account/sessions?before=$CS&after=$CS"
    req y3 bob "/account/sessions/not-a-session"
    req y4 bob "/account/sessions/oauth2_session:$CS"
    check "[$B] bad cursors: 400 page; a malformed ID or one of the wrong kind: 404 page" \
        eval 'page y1 400 && page y2 400 && page y3 404 && page y4 404'
    req z1 - /account/sessions/browsers
    req z2 - "/account/sessions/$CS"
    req z3 - "/account/devices/$DEV"
    check "[$B] signed out: every session page goes to the login, keeping the deep link" \
        eval 'redirects_to z1 "^/login\\?kind=manage_account&action=org.matrix.sessions_list$" &&
              redirects_to z2 "^/login\\?kind=manage_account" &&
              redirects_to z3 "^/login\\?kind=manage_account&action=org.matrix.session_view&device_id=$DEV$"'
    # The last-active address of a browser session: the client nginx names in X-Forwarded-For
    # when the peer that sent it to nginx is a trusted proxy (http.trusted_proxies: 127.0.0.1 in
    # this config); from another peer (127.0.0.2) the header is ignored and the peer is the client.
    local XFF=203.0.113.7 SPOOF=198.51.100.66 ABS MBS ip_a ip_m
    signin alice "$A" -H "X-Forwarded-For: $XFF"
    signin mallory "bob-$B" --interface 127.0.0.2 -H "X-Forwarded-For: $SPOOF"
    ABS=$(sql "SELECT browser_session_id FROM browser_sessions b JOIN users u ON u.user_id = b.user_id WHERE u.username = '$A' ORDER BY browser_session_id DESC LIMIT 1")
    MBS=$(sql "SELECT browser_session_id FROM browser_sessions b JOIN users u ON u.user_id = b.user_id WHERE u.username = 'bob-$B' ORDER BY browser_session_id DESC LIMIT 1")
    for i in $(seq 1 150); do # the activity flusher writes every 5 s (common/storage/activity.h)
        ip_a=$(sql "SELECT COALESCE(last_active_ip, '') FROM browser_sessions WHERE browser_session_id = '$ABS'")
        ip_m=$(sql "SELECT COALESCE(last_active_ip, '') FROM browser_sessions WHERE browser_session_id = '$MBS'")
        [ -n "$ip_a" ] && [ -n "$ip_m" ] && break
        sleep 0.1
    done
    check "[$B] browser sessions store the last-active address: the trusted proxy's X-Forwarded-For, else the peer" \
        eval 'expect_eq "$ip_a" "$XFF" && expect_eq "$ip_m" 127.0.0.2'
    req ip1 alice -H "X-Forwarded-For: $XFF" /account/sessions/browsers
    req ip2 alice -H "X-Forwarded-For: $XFF" "/account/sessions/$ABS"
    req ip3 mallory --interface 127.0.0.2 /account/sessions/browsers
    req ip4 mallory --interface 127.0.0.2 "/account/sessions/browser_session:$MBS"
    check "[$B] /account/sessions/browsers and the session's page show the address from X-Forwarded-For" \
        eval 'page ip1 200 && page ip2 200 && body_has ip1 "203\.0\.113\.7" && body_has ip2 "203\.0\.113\.7"'
    check "[$B] an X-Forwarded-For from an untrusted peer is ignored: the pages show the peer" \
        eval 'page ip3 200 && page ip4 200 && body_has ip3 "127\.0\.0\.2" && body_has ip4 "127\.0\.0\.2" &&
              expect_file_lacks "$T/ip3.b" "198\.51\.100\.66" && expect_file_lacks "$T/ip4.b" "198\.51\.100\.66"'
    local VS='{"query":"query { viewerSession { __typename ... on BrowserSession { id lastActiveIp } } }"}'
    gql ip5 alice "$VS" -H "X-Forwarded-For: $XFF"
    gql ip6 mallory "$VS" --interface 127.0.0.2
    check "[$B] graphql: BrowserSession.lastActiveIp is the same address" \
        eval 'json_expect "$T/ip5.b" "d.data.viewerSession.lastActiveIp === \"$XFF\" && d.data.viewerSession.id === \"browser_session:$ABS\"" &&
              json_expect "$T/ip6.b" "d.data.viewerSession.lastActiveIp === \"127.0.0.2\""'

    # GraphQL (tests/node/gql_sessions.mjs): the same sessions through /graphql, each document
    # validated against masd's introspected schema.
    req e1 - -H 'Content-Type: application/json' --data-binary \
        "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$A\"},\"password\":\"$PW\",\"device_id\":\"ENDME\"}" \
        /_matrix/client/v3/login
    local cookie_a cookie_b
    cookie_a="session=$(awk '$6 == "session" {print $7}' "$T/alice")"
    cookie_b="session=$(awk '$6 == "session" {print $7}' "$T/bob")"
    : >"$T/gql-$B.out"
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/gql_sessions.mjs" "$(printf \
        '{"base":"%s","cookie":"%s","other_cookie":"%s","renamed_device":"%s","end_device":"ENDME"}' \
        "$BASE" "$cookie_a" "$cookie_b" "$DEV")" >"$T/gql-$B.out" 2>"$T/gql-$B.err"
    lines=0
    while IFS= read -r line; do
        lines=$((lines + 1))
        if [ "$(jq -r .ok <<<"$line")" = true ]; then check "[$B] graphql: $(jq -r .step <<<"$line")" true
        else fail_check "[$B] graphql: $(jq -r .step <<<"$line")" "$(jq -r .error <<<"$line")"; fi
    done <"$T/gql-$B.out"
    [ "$lines" -ge 10 ] || fail_check "[$B] the GraphQL run went to its end" "$(tail -n 20 "$T/gql-$B.err")"
    check "[$B] graphql: the homeserver has the name setCompatSessionName gave" \
        expect_eq "$(hs_device_name "$A" "$DEV")" "Renamed by GraphQL"
    for i in $(seq 1 100); do [ "$(hs_devices "$A")" = "$DEV" ] && break; sleep 0.1; done
    check "[$B] graphql: endCompatSession's sync-devices job ran: ENDME is gone from the homeserver" \
        expect_eq "$(hs_devices "$A")" "$DEV"

    # Slow work outside the transaction (docs/graphql.md): the homeserver stand-in answers after
    # 4 s; a rename through GraphQL waits for it while another person signs in (a write), who
    # must not wait for the rename: the write lock is not held across the homeserver's call.
    local RENAME='{"query":"mutation R($id: ID!, $name: String!) { setCompatSessionName(input: {compatSessionId: $id, humanName: $name}) { status } }","variables":{"id":"compat_session:'"$CS"'","name":"%s"}}'
    signin alice2 "$A"
    curl -sS -o /dev/null -X POST --data-binary '{"ms":4000}' "http://127.0.0.1:$HS_PORT/_standin/latency"
    gql sl1 alice2 "$(printf "$RENAME" "Slow phone")" --max-time 20 &
    local slow=$! t0 t1 during=no
    sleep 0.5
    t0=$(now_ms)
    signin carol "bob-$B"
    t1=$(now_ms)
    kill -0 "$slow" 2>/dev/null && during=yes
    wait "$slow"
    curl -sS -o /dev/null -X POST --data-binary '{"ms":0}' "http://127.0.0.1:$HS_PORT/_standin/latency"
    check "[$B] graphql: a login completes while a rename waits for the homeserver ($((t1 - t0)) ms)" \
        eval 'redirects_to si2-carol . && expect_eq "$during" yes && [ $((t1 - t0)) -lt 2000 ]'
    check "[$B] graphql: then the rename completes: UPDATED, the homeserver has the name" \
        eval 'json_expect "$T/sl1.b" "d.data.setCompatSessionName.status === \"UPDATED\"" &&
              expect_eq "$(hs_device_name "$A" "$DEV")" "Slow phone" &&
              expect_eq "$(sql "SELECT human_name FROM compat_sessions WHERE compat_session_id = '"'$CS'"'")" "Slow phone"'
    # A homeserver failure: an error, and the name stays as it was (MAS).
    curl -sS -o /dev/null -X POST --data-binary '{"count":1}' "http://127.0.0.1:$HS_PORT/_standin/fail"
    gql sf1 alice2 "$(printf "$RENAME" "Never")"
    check "[$B] graphql: a rename the homeserver refuses is an error and changes nothing" \
        eval 'json_expect "$T/sf1.b" "d.data === null && d.errors.length === 1 && d.errors[0].message === \"Failed to update the device name on the homeserver\" && d.errors[0].path.join() === \"setCompatSessionName\"" &&
              expect_eq "$(hs_device_name "$A" "$DEV")" "Slow phone" &&
              expect_eq "$(sql "SELECT human_name FROM compat_sessions WHERE compat_session_id = '"'$CS'"'")" "Slow phone"'
    check "[$B] no sanitizer report" sanitizer_clean "$T/logs/human$S.log" "$T/logs/oauth$S.log" "$T/logs/worker$S.log"
}

backend_wanted sqlite && backend sqlite "sqlite://$T/masd.db" sqlite3 "$T/masd.db"
if pg_database account_sessions; then
    backend postgresql "$PG_DB_URI" psql -X -q -t -A "$PG_DB_URI" -c
fi
note "screenshots and HTML in $OUT_DIR"
finish
