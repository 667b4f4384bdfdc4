#!/usr/bin/env bash
# POST /oauth2/token through nginx (the shipped units/nginx/*.conf) with masd-human and
# masd-oauth on their UNIX sockets, on SQLite:
#   - the authorization-code flow with PKCE for a public client: openid-client 6
#     (tests/node/token.mjs) builds the authorization URL and exchanges the code; curl signs in
#     and consents in between (no browser); the stand-in homeserver got upsert_device before the
#     token answer; introspection (Bearer matrix.secret, as the homeserver sends it) sees the
#     session; refresh by openid-client; client_credentials for a confidential static client
#     (client_secret_basic);
#   - the negative cases: code reuse within 20 s (refused, session alive) and after (refused,
#     session ended: a second masd-oauth whose clock runs 30 s ahead), an expired code (11 min
#     ahead), a wrong verifier, a missing verifier, a redirect URI mismatch, another client's
#     code, refresh replay (successor unused → accepted once; used → refused), a locked user's
#     refresh (refused, session ended, device sync queued), duplicate parameters, an unknown grant,
#     bad client credentials; the headers of every answer.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$DISCOVERY_BIN"
if [ ! -d "$NODE_DIR/node_modules/openid-client" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node" "openid-client is not installed"; finish; }
fi
command -v sqlite3 >/dev/null || { fail_check "sqlite3 is installed" "tools/packages --install test"; finish; }

NG=$(free_port)
BASE=https://127.0.0.1:$NG
PW='correct horse battery staple'
CID=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS   # public, PKCE
OTHER=01HQ8Z4ZQ0ABCDEFGHJKMNPQTH # public, another client
CONF=01HQ8Z4ZQ0ABCDEFGHJKMNPCNF  # confidential, client_secret_basic
CONF_SECRET='a-static-client-secret-42'
RU=http://127.0.0.1:9/callback
HS_SECRET=shared-secret-for-the-homeserver
DB=$T/masd.db
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com
mkdir -p "$T/assets"

# config FILE OAUTH-SOCKET
config()
{
    cat >"$1" <<EOF
http:
  public_base: $BASE/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $T/run/human.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{socket: $2, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery.sock, mode: "666"}]
database:
  uri: "sqlite://$DB"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
clients:
  - client_id: $CID
    client_auth_method: none
    client_name: Token Test
    redirect_uris: [$RU]
  - client_id: $OTHER
    client_auth_method: none
    redirect_uris: [$RU]
  - client_id: $CONF
    client_auth_method: client_secret_basic
    client_secret: "$CONF_SECRET"
    redirect_uris: [$RU]
$(secrets_yaml)
EOF
}
config "$T/config.yaml" "$T/run/oauth.sock"
config "$T/later.yaml" "$T/run/oauth-later.sock"
config "$T/much-later.yaml" "$T/run/oauth-much-later.sock"
M=("$MASCTL_BIN" -c "$T/config.yaml")
if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
    for u in alice bob; do "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity "$u" || exit 1; done; } \
    >"$T/masctl.log" 2>&1; then
    fail_check "masctl sets up the database" "$(tail -n 20 "$T/masctl.log")"
    finish
fi
masd_start human "$HUMAN_BIN" "$T/config.yaml" "$T/run/human.sock" || finish
masd_start oauth "$OAUTH_BIN" "$T/config.yaml" "$T/run/oauth.sock" || finish
# The same service with its clock 30 s and 11 min ahead: a code's reuse after the grace period,
# a code past its 10 minutes.
MASD_TEST_CLOCK_OFFSET_MS=30000 masd_start oauth-later "$OAUTH_BIN" "$T/later.yaml" "$T/run/oauth-later.sock" || finish
MASD_TEST_CLOCK_OFFSET_MS=660000 masd_start oauth-much-later "$OAUTH_BIN" "$T/much-later.yaml" "$T/run/oauth-much-later.sock" || finish
masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" "$T/run/discovery.sock" || finish
render_nginx_snippets "$T/nginx/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
    -e '/listen \[::\]:443/d'
nginx_main_conf "$T/nginx" "
    include $T/nginx/masd/masd-upstreams-unix.conf;
    include $T/nginx/masd/masd.conf;"
nginx_start nginx "$T/nginx" 127.0.0.1:$NG || finish

# ---------------------------------------------------------------------------------------------
# Helpers

req() { local name=$1; shift; local path=${*: -1}; http "$name" --cacert "$T/tls/cert.pem" "${@:1:$#-1}" "$BASE$path"; }
sql() { sqlite3 "$DB" "$1"; }
enc() { node -e 'console.log(encodeURIComponent(process.argv[1]))' "$1"; }
tok() { NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/token.mjs" "$@"; }
js() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]) ?? "")' "$1"; }

# signin JAR USER: a browser session for USER in the cookie jar.
signin()
{
    req si-$2 -b "$1" -c "$1" /login >/dev/null || return 1
    req so-$2 -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of si-$2)" --data-urlencode "username=$2" \
        --data-urlencode "password=$PW" /login
    [ "$(status "$T/so-$2.h")" = 303 ]
}
# consent JAR AUTHORIZE-PATH: /authorize with the session, then Continue; prints the URL the
# client is sent to.
N=0
consent()
{
    N=$((N + 1))
    req az$N -b "$1" -c "$1" "$2" || return 1
    local g
    g=$(header "$T/az$N.h" location)
    [[ $g == /consent/* ]] || { echo "authorize: $(status "$T/az$N.h") $g" >&2; return 1; }
    req cg$N -b "$1" -c "$1" "$g" || return 1
    req cp$N -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of cg$N)" "$g" || return 1
    header "$T/cp$N.h" location
}
code_of() { sed -n 's/.*[?&]code=\([A-Za-z0-9]*\).*/\1/p' <<<"$1"; }
# post NAME [SOCKET] form-args...: POST /oauth2/token through nginx, or to a socket directly.
post()
{
    local name=$1
    shift
    if [ "${1:0:1}" = / ]; then
        local sock=$1
        shift
        http "$name" --unix-socket "$sock" "$@" http://x/oauth2/token
    else
        req "$name" "$@" /oauth2/token
    fi
}
# oauth_err NAME STATUS ERROR: an OAuth JSON error, never cached.
oauth_err()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; return 1; }
    json_expect "$T/$1.b" "d.error === '$3'" || return 1
    expect_eq "$(header "$T/$1.h" cache-control)" no-store
}
introspect()
{
    req "$1" -H "Authorization: Bearer $HS_SECRET" -H 'Accept: application/json' \
        --data-urlencode "token=$2" --data-urlencode token_type_hint=access_token /oauth2/introspect
}
hs_calls() { wc -l <"$HS_RECORD"; }

JA=$T/jar-alice
check "alice signs in on masd-human (curl)" signin "$JA" alice

# ---------------------------------------------------------------------------------------------
# The code flow with openid-client: PKCE S256, a device scope

DEV=TOKENDEV01
SCOPE="urn:matrix:client:api:* urn:matrix:client:device:$DEV"
tok authurl "$BASE" "$CID" "$RU" "$SCOPE" >"$T/au.json"
AU=$(js d.url <"$T/au.json")
VERIFIER=$(js d.verifier <"$T/au.json")
STATE=$(js d.state <"$T/au.json")
CB=$(consent "$JA" "${AU#$BASE}")
check "consent sends the code and the state to the client" \
    eval "expect_match \"\$CB\" '^$RU\\?' && expect_match \"\$CB\" '[?&]code=[A-Za-z0-9]{32}(&|#|\$)' && expect_match \"\$CB\" '[?&]state=$STATE(&|#|\$)'"
H0=$(hs_calls)
tok exchange "$BASE" "$CID" "$CB" "$VERIFIER" "$STATE" >"$T/t1.json"
check "openid-client exchanges the code (PKCE): Bearer mat_ + mar_, expires_in 300, the scope" \
    json_expect "$T/t1.json" "/^mat_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}\$/.test(d.access_token) && /^mar_/.test(d.refresh_token) &&
        d.token_type.toLowerCase() === 'bearer' && d.expires_in === 300 && d.scope === '$SCOPE' && !d.id_token"
AT1=$(js d.access_token <"$T/t1.json")
RT1=$(js d.refresh_token <"$T/t1.json")
check "the stand-in homeserver got upsert_device for alice's $DEV before the answer" \
    eval "tail -n +$((H0 + 1)) $HS_RECORD | grep -q '\"path\":\"/_synapse/mas/upsert_device\"' &&
          tail -n +$((H0 + 1)) $HS_RECORD | grep '/upsert_device' | grep -q '\"device_id\":\"$DEV\"'"
check "... named after the client and the token request's User-Agent (openid-client/6.x)" \
    eval "tail -n +$((H0 + 1)) $HS_RECORD | grep '/upsert_device' | grep -q '\"display_name\": *\"Token Test on openid-client\"'"
introspect in1 "$AT1"
check "introspection (Bearer matrix.secret) sees the session: active, scope with twins, client_id, username" \
    json_expect "$T/in1.b" "d.active === true && d.client_id === '$CID' && d.username === 'alice' &&
        d.scope.split(' ').includes('urn:matrix:client:device:$DEV') &&
        d.scope.split(' ').includes('urn:matrix:org.matrix.msc2967.client:device:$DEV') && d.exp > d.iat"
check "the grant is exchanged and its session holds the device" \
    eval "expect_eq \"\$(sql \"SELECT count(*) FROM oauth2_authorization_grants WHERE exchanged_at IS NOT NULL\")\" 1 &&
          expect_eq \"\$(sql \"SELECT device_id FROM session_devices WHERE oauth2_session_id IS NOT NULL\")\" $DEV"

# Reuse within 20 s: refused, the session lives on.
CODE1=$(code_of "$CB")
post r1 -d grant_type=authorization_code -d "code=$CODE1" --data-urlencode "redirect_uri=$RU" -d "client_id=$CID" -d "code_verifier=$VERIFIER"
check "the code again within 20 s: 400 invalid_grant" oauth_err r1 400 invalid_grant
introspect in2 "$AT1"
check "... and the session it made is still active" json_expect "$T/in2.b" "d.active === true"
# Reuse after 20 s (a masd-oauth 30 s ahead): refused, and the session ended.
post r2 "$T/run/oauth-later.sock" -d grant_type=authorization_code -d "code=$CODE1" --data-urlencode "redirect_uri=$RU" -d "client_id=$CID" -d "code_verifier=$VERIFIER"
check "the code again after 20 s: 400 invalid_grant" oauth_err r2 400 invalid_grant
introspect in3 "$AT1"
check "... and the session it made has ended (stolen-code defence)" json_expect "$T/in3.b" "d.active === false"
check "... and a device sync of alice is queued" \
    expect_match "$(sql "SELECT count(*) FROM queue_jobs WHERE queue_name = 'sync-devices'")" '^[1-9]'

# ---------------------------------------------------------------------------------------------
# What makes a code exchange fail (curl, plain PKCE values)

V=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
C=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
AZ="/authorize?response_type=code&client_id=$CID&redirect_uri=$(enc "$RU")&scope=$(enc 'urn:matrix:client:api:*')&state=S"
AZP="$AZ&code_challenge=$C&code_challenge_method=S256"
fresh() { code_of "$(consent "$JA" "$1")"; }
xchg() # NAME CODE [more curl args]
{
    local name=$1 code=$2
    shift 2
    post "$name" -d grant_type=authorization_code -d "code=$code" -d "client_id=$CID" "$@"
}
K=$(fresh "$AZP")
xchg w1 "$K" --data-urlencode "redirect_uri=$RU" -d "code_verifier=${V%?}A"
check "a wrong verifier: 400 invalid_grant 'PKCE verification failed: …'" \
    eval "oauth_err w1 400 invalid_grant && json_expect $T/w1.b \"d.error_description.startsWith('PKCE verification failed: ')\""
K=$(fresh "$AZP")
xchg w2 "$K" --data-urlencode "redirect_uri=$RU"
check "a challenge without a verifier: 400 invalid_request" oauth_err w2 400 invalid_request
K=$(fresh "$AZ")
xchg w3 "$K" --data-urlencode "redirect_uri=$RU" -d "code_verifier=$V"
check "a verifier without a challenge: 400 invalid_request" oauth_err w3 400 invalid_request
K=$(fresh "$AZP")
xchg w4 "$K" --data-urlencode "redirect_uri=http://127.0.0.1:9/other" -d "code_verifier=$V"
check "a redirect_uri other than the authorization request's: 400 invalid_grant (RFC 6749 §4.1.3)" oauth_err w4 400 invalid_grant
xchg w5 "$K" -d "code_verifier=$V"
check "no redirect_uri when the authorization request had one: 400 invalid_grant" oauth_err w5 400 invalid_grant
post w6 -d grant_type=authorization_code -d "code=$K" -d "client_id=$OTHER" --data-urlencode "redirect_uri=$RU" -d "code_verifier=$V"
check "another client's code: 401 unauthorized_client" oauth_err w6 401 unauthorized_client
post w7 "$T/run/oauth-much-later.sock" -d grant_type=authorization_code -d "code=$K" -d "client_id=$CID" --data-urlencode "redirect_uri=$RU" -d "code_verifier=$V"
check "a code 11 minutes after consent: 400 invalid_grant" oauth_err w7 400 invalid_grant
xchg w8 "$K" --data-urlencode "redirect_uri=$RU" -d "code_verifier=$V"
check "... while the same code in time, right verifier and URI: 200" \
    eval "expect_eq \"\$(status $T/w8.h)\" 200 && json_expect $T/w8.b \"/^mat_/.test(d.access_token) && d.scope === 'urn:matrix:client:api:*'\" &&
          expect_eq \"\$(header $T/w8.h cache-control)\" no-store && expect_eq \"\$(header $T/w8.h pragma)\" no-cache"
xchg w9 NOSUCHCODE0123456789012345678901 --data-urlencode "redirect_uri=$RU"
check "an unknown code: 400 invalid_grant" oauth_err w9 400 invalid_grant

# ---------------------------------------------------------------------------------------------
# Refresh: rotation and the lost-response rule

tok refresh "$BASE" "$CID" "$RT1" >"$T/rf0.json"
check "a refresh of the ended session: refused" json_expect "$T/rf0.json" "d.error === 'invalid_grant'"
RT=$(js d.refresh_token <"$T/w8.b")
AT=$(js d.access_token <"$T/w8.b")
tok refresh "$BASE" "$CID" "$RT" >"$T/rf1.json"
check "openid-client refreshes: a new pair, no ID token" \
    json_expect "$T/rf1.json" "/^mat_/.test(d.access_token) && d.access_token !== '$AT' && /^mar_/.test(d.refresh_token) && !d.id_token && d.expires_in === 300"
RT2=$(js d.refresh_token <"$T/rf1.json")
introspect rfi0 "$AT"
check "the old access token is revoked by the refresh" json_expect "$T/rfi0.b" "d.active === false"
refresh() { post "$1" -d grant_type=refresh_token -d "refresh_token=$2" -d "client_id=$CID"; }
refresh rp1 "$RT"
check "the old refresh token again, its successor unused (lost response): 200, a third pair" \
    eval "expect_eq \"\$(status $T/rp1.h)\" 200 && json_expect $T/rp1.b \"/^mar_/.test(d.refresh_token) && d.refresh_token !== '$RT2'\""
RT3=$(js d.refresh_token <"$T/rp1.b")
AT3=$(js d.access_token <"$T/rp1.b")
refresh rp2 "$RT2"
check "... and the unused successor is revoked: 400 invalid_grant" oauth_err rp2 400 invalid_grant
introspect rfi1 "$AT3"
check "the third access token is used (introspected)" json_expect "$T/rfi1.b" "d.active === true"
refresh rp3 "$RT"
check "the old refresh token once more, its successor used: 400 invalid_grant" oauth_err rp3 400 invalid_grant
refresh rp4 "$RT3"
check "the current refresh token still works: 200" expect_eq "$(status "$T/rp4.h")" 200

# The homeserver refuses the device: 500 server_error, the session ended, the code spent.
curl -sS -o /dev/null -X POST -d '{"status": 500, "count": 2}' "${HS_ENDPOINT}_standin/fail"
KF=$(fresh "/authorize?response_type=code&client_id=$CID&redirect_uri=$(enc "$RU")&scope=$(enc 'urn:matrix:client:api:* urn:matrix:client:device:FAILDEVICE')")
xchg hf "$KF" --data-urlencode "redirect_uri=$RU"
check "the homeserver fails upsert_device: 500 server_error" oauth_err hf 500 server_error
check "... and the session that was to hold FAILDEVICE has ended, its device freed" \
    eval "expect_eq \"\$(sql \"SELECT count(*) FROM oauth2_sessions WHERE scope LIKE '%FAILDEVICE%' AND finished_at IS NULL\")\" 0 &&
          expect_eq \"\$(sql \"SELECT count(*) FROM session_devices WHERE device_id = 'FAILDEVICE'\")\" 0"
curl -sS -o /dev/null -X POST -d '{"status": 0, "count": 0}' "${HS_ENDPOINT}_standin/fail"

# A locked user's refresh: refused, the session ended, the device sync queued.
JB=$T/jar-bob
check "bob signs in" signin "$JB" bob
KB=$(code_of "$(consent "$JB" "/authorize?response_type=code&client_id=$CID&redirect_uri=$(enc "$RU")&scope=$(enc 'urn:matrix:client:api:* urn:matrix:client:device:BOBDEVICE1')")")
post bx -d grant_type=authorization_code -d "code=$KB" -d "client_id=$CID" --data-urlencode "redirect_uri=$RU"
RTB=$(js d.refresh_token <"$T/bx.b")
ATB=$(js d.access_token <"$T/bx.b")
"${M[@]}" manage lock-user bob >"$T/lock.log" 2>&1
refresh lb "$RTB"
check "a locked user's refresh: 400 invalid_grant" oauth_err lb 400 invalid_grant
check "... and bob's session has ended (RFC 9700 §4.14)" \
    expect_eq "$(sql "SELECT count(*) FROM oauth2_sessions s JOIN users u USING (user_id) WHERE u.username = 'bob' AND s.finished_at IS NULL")" 0
"${M[@]}" manage unlock-user bob >>"$T/lock.log" 2>&1
introspect lbi "$ATB"
check "... so that unlocking does not bring it back" json_expect "$T/lbi.b" "d.active === false"

# masctl manage kill-sessions ends OAuth sessions too, and the homeserver is told (a queued sync).
KC=$(code_of "$(consent "$JB" "/authorize?response_type=code&client_id=$CID&redirect_uri=$(enc "$RU")&scope=$(enc 'urn:matrix:client:api:* urn:matrix:client:device:BOBDEVICE2')")")
post kx -d grant_type=authorization_code -d "code=$KC" -d "client_id=$CID" --data-urlencode "redirect_uri=$RU"
ATK=$(js d.access_token <"$T/kx.b")
introspect kxi "$ATK"
check "bob's new OAuth token is active" json_expect "$T/kxi.b" "d.active === true"
syncs_before=$(sql "SELECT count(*) FROM queue_jobs WHERE queue_name = 'sync-devices'")
check "masctl manage kill-sessions bob" "${M[@]}" manage kill-sessions bob
introspect kxa "$ATK"
check "... ends his OAuth session: the token is inactive" json_expect "$T/kxa.b" "d.active === false"
check "... and a device sync of bob is queued" \
    expect_eq "$(sql "SELECT count(*) > $syncs_before FROM queue_jobs WHERE queue_name = 'sync-devices'")" 1

# ---------------------------------------------------------------------------------------------
# client_credentials, a confidential static client (client_secret_basic)

tok cc "$BASE" "$CONF" "$CONF_SECRET" >"$T/cc1.json"
check "openid-client client_credentials (client_secret_basic), no scope: an access token, no refresh token, no scope" \
    json_expect "$T/cc1.json" "/^mat_/.test(d.access_token) && !d.refresh_token && d.scope === undefined && d.expires_in === 300"
tok cc "$BASE" "$CONF" "$CONF_SECRET" 'urn:mas:admin' >"$T/cc2.json"
check "client_credentials with urn:mas:admin for a client not in policy.data.admin_clients: 403 invalid_scope" \
    json_expect "$T/cc2.json" "d.error === 'invalid_scope' && /urn:mas:admin/.test(d.error_description)"
tok cc "$BASE" "$CONF" wrong-secret >"$T/cc3.json"
check "client_credentials with a wrong secret: 401 (invalid_client, with a Basic challenge)" json_expect "$T/cc3.json" "d.status === 401"
post cc4 -u "$CONF:$CONF_SECRET" -d grant_type=password -d username=alice -d password=x
check "grant_type=password: 400 unsupported_grant_type" oauth_err cc4 400 unsupported_grant_type
post cc5 -u "$CONF:$CONF_SECRET" -d "grant_type=urn:ietf:params:oauth:grant-type:device_code" -d device_code=x
check "the device_code grant with an unknown device code: 400 invalid_grant (tests/integration/device.sh has the rest)" oauth_err cc5 400 invalid_grant
post cc6 -u "$CONF:$CONF_SECRET" -d grant_type=client_credentials -d grant_type=client_credentials
check "a parameter twice: 400 invalid_request" oauth_err cc6 400 invalid_request
post cc7 -u "$CONF:$CONF_SECRET" -d scope=x
check "no grant_type: 400 invalid_request" oauth_err cc7 400 invalid_request
post cc8 -d grant_type=client_credentials
check "no client credentials: 400 invalid_request" oauth_err cc8 400 invalid_request
# Static clients list every grant: take them away from one (its config is synced already).
sql "UPDATE oauth2_clients SET grant_types = '[\"authorization_code\"]' WHERE oauth2_client_id = '$OTHER'"
post cc9 -d grant_type=client_credentials -d "client_id=$OTHER"
check "client_credentials for a client that does not list the grant: 401 unauthorized_client" oauth_err cc9 401 unauthorized_client
post cc11 -d grant_type=refresh_token -d "refresh_token=$RT3" -d "client_id=$OTHER"
check "refresh_token for a client that does not list the grant: 401 unauthorized_client" oauth_err cc11 401 unauthorized_client
sql "UPDATE oauth2_clients SET grant_types = '[\"refresh_token\"]' WHERE oauth2_client_id = '$OTHER'"
post cc12 -d grant_type=authorization_code -d "code=$K" -d "client_id=$OTHER"
check "authorization_code for a client that does not list the grant: 401 unauthorized_client" oauth_err cc12 401 unauthorized_client
post cc10 -u "$CONF:wrong" -d grant_type=client_credentials
check "a wrong Basic secret: 401 invalid_client with a Basic challenge" \
    eval "oauth_err cc10 401 invalid_client && expect_match \"\$(header $T/cc10.h www-authenticate)\" '^Basic realm='"

finish
