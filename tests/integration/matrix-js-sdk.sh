#!/usr/bin/env bash
# An OIDC-native Matrix client logs in through masd end to end, as Element Web does: the shipped
# nginx configuration (units/nginx) in front of masd-human, masd-oauth, masd-discovery and
# masd-assets on their UNIX sockets, masd-worker and the stand-in homeserver, on SQLite.
#   - tests/node/matrix_js_sdk.mjs: matrix-js-sdk 37's discoverAndValidateOIDCIssuerWellKnown,
#     registerOidcClient (native, loopback redirect URI), generateOidcAuthorizationUrl, headless
#     Chromium through the login and consent pages, completeAuthorizationCodeGrant (it validates
#     the ID token), OidcTokenRefresher (refresh, then a replaced token refused); the stand-in
#     homeserver got upsert_device before the token answer;
#   - then the homeserver's introspection (reference: Bearer matrix.secret, X-MAS-Supports-Device-Id)
#     sees the user, the device and the scope; the replaced access token is inactive; the client
#     revokes its refresh token (POST /oauth2/revoke): the session ends and masd-worker sends
#     sync_devices without the device.
# This is the README's "Logging in with an OIDC-native Matrix client", run as written there.
# (It proves what a Matrix client library sees, which the sanitizer build does not change; the C
# paths it drives run under ASan in human.sh, token.sh, introspect.sh and homeserver.sh.)
# tests/run: once
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
WORKER_BIN=$BUILD/services/worker/masd-worker
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$WORKER_BIN" "$MASCTL_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
if [ ! -d "$NODE_DIR/node_modules/matrix-js-sdk" ] || [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node" "matrix-js-sdk is not installed"; finish; }
fi
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { fail_check "chromium is installed ($CHROMIUM)" "tools/packages --install test"; finish; }
command -v sqlite3 >/dev/null || { fail_check "sqlite3 is installed" "tools/packages --install test"; finish; }

NG=$(free_port) # nginx, https
CB=$(free_port) # the native client's loopback redirect URI
BASE=https://127.0.0.1:$NG
PW='correct horse battery staple'
HS_SECRET=shared-secret-for-the-homeserver
DB=$T/masd.db
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com
mkdir -p "$T/assets"
cp "$BUILD"/services/human/templates/masd-*.css* "$T/assets/" 2>/dev/null
chmod -R a+rX "$T/assets"

# What the README's section asks of the operator: public_base, the homeserver, the signing keys;
# no client is configured: the Matrix client registers itself.
cat >"$T/config.yaml" <<EOF
http:
  public_base: $BASE/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $T/run/human.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{socket: $T/run/oauth.sock, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery.sock, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
database:
  uri: "sqlite://$DB"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
$(secrets_yaml)
EOF
M=("$MASCTL_BIN" -c "$T/config.yaml")
if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
    "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity alice; } >"$T/masctl.log" 2>&1; then
    fail_check "masctl sets up the database" "$(tail -n 20 "$T/masctl.log")"
    finish
fi
masd_start human "$HUMAN_BIN" "$T/config.yaml" "$T/run/human.sock" || finish
masd_start oauth "$OAUTH_BIN" "$T/config.yaml" "$T/run/oauth.sock" || finish
masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" "$T/run/discovery.sock" || finish
masd_start assets "$ASSETS_BIN" "$T/config.yaml" "$T/run/assets.sock" || finish
spawn worker "$T/logs/worker.log" "$WORKER_BIN" --config "$T/config.yaml" --threads 1
render_nginx_snippets "$T/nginx/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
    -e '/listen \[::\]:443/d'
nginx_main_conf "$T/nginx" "
    include $T/nginx/masd/masd-upstreams-unix.conf;
    include $T/nginx/masd/masd.conf;"
nginx_start nginx "$T/nginx" 127.0.0.1:$NG || finish

js() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]) ?? "")' "$1"; }
req() { local name=$1; shift; local path=${*: -1}; http "$name" --cacert "$T/tls/cert.pem" "${@:1:$#-1}" "$BASE$path"; }
# introspect NAME TOKEN: as Synapse sends it (reference: the homeserver contract).
introspect()
{
    req "$1" -H "Authorization: Bearer $HS_SECRET" -H 'Accept: application/json' -H 'X-MAS-Supports-Device-Id: 1' \
        --data-urlencode "token=$2" --data-urlencode token_type_hint=access_token /oauth2/introspect
}

# ---------------------------------------------------------------------------------------------
# matrix-js-sdk and Chromium

NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/matrix_js_sdk.mjs" "$(printf \
    '{"base":"%s","callback_port":%s,"user":"alice","password":"%s","chromium":"%s","hs_record":"%s","hs_secret":"%s","result":"%s"}' \
    "$BASE" "$CB" "$PW" "$CHROMIUM" "$HS_RECORD" "$HS_SECRET" "$T/result.json")" >"$T/sdk.out" 2>"$T/sdk.err"
while IFS= read -r line; do
    case $line in
    '{"step"'*)
        name=$(js 'd.step' <<<"$line")
        if [ "$(js 'd.ok' <<<"$line")" = true ]; then
            check "matrix-js-sdk: $name" true
        else
            fail_check "matrix-js-sdk: $name" "$(js 'd.error' <<<"$line")"
        fi
        ;;
    esac
done <"$T/sdk.out"
grep -q '"step"' "$T/sdk.out" || fail_check "matrix-js-sdk: the script ran" "$(tail -n 30 "$T/sdk.err")"
[ -s "$T/result.json" ] || { fail_check "matrix-js-sdk: left its result" "$(tail -n 30 "$T/sdk.err")"; finish; }
R=$T/result.json
CID=$(js d.client_id <"$R")
DEV=$(js d.device_id <"$R")
AT=$(js d.access_token <"$R")
OLD_AT=$(js d.old_access_token <"$R")
RT=$(js d.refresh_token <"$R")
SUB=$(js d.sub <"$R")

# ---------------------------------------------------------------------------------------------
# The homeserver's view

introspect in1 "$AT"
# The device as Synapse reads it: device_id when given, else the one device of the scope (MAS
# gives no device_id for OAuth sessions: MAS: crates/handlers/src/oauth2/introspection.rs).
check "introspection: the refreshed token is active for alice, with her sub, the device and the client" \
    json_expect "$T/in1.b" "d.active === true && d.username === 'alice' && d.sub === '$SUB' && d.client_id === '$CID' &&
        new Set(d.scope.split(' ').filter((x) => /:device:/.test(x)).map((x) => x.replace(/.*:device:/, ''))).size === 1 &&
        (d.device_id ?? d.scope.match(/:device:(\\S+)/)[1]) === '$DEV' &&
        d.token_type === 'access_token' && Number.isInteger(d.expires_in) && d.expires_in > 0"
check "introspection: the scope, sorted, with openid, the API and the device (stable and unstable)" \
    json_expect "$T/in1.b" "const s = d.scope.split(' '); JSON.stringify(s) === JSON.stringify([...s].sort()) &&
        ['openid', 'urn:matrix:client:api:*', 'urn:matrix:org.matrix.msc2967.client:api:*',
         'urn:matrix:client:device:$DEV', 'urn:matrix:org.matrix.msc2967.client:device:$DEV'].every((x) => s.includes(x))"
introspect in0 "$OLD_AT"
check "introspection: the access token the refresh replaced is inactive" json_expect "$T/in0.b" "d.active === false"
check "the session's device is alice's in masd's database" \
    expect_eq "$(sqlite3 "$DB" "SELECT u.username FROM session_devices d JOIN oauth2_sessions s USING (oauth2_session_id) JOIN users u USING (user_id) WHERE d.device_id = '$DEV' AND s.finished_at IS NULL")" alice

# ---------------------------------------------------------------------------------------------
# Logging out: the client revokes its refresh token

H0=$(wc -l <"$HS_RECORD")
req rv -d "client_id=$CID" --data-urlencode "token=$RT" -d token_type_hint=refresh_token /oauth2/revoke
check "POST /oauth2/revoke of the refresh token (public client): 200" expect_eq "$(status "$T/rv.h")" 200
introspect in2 "$AT"
check "introspection: the session's access token is inactive after revocation" json_expect "$T/in2.b" "d.active === false"
check "the session has ended in the database" \
    expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM oauth2_sessions WHERE oauth2_client_id = '$CID' AND finished_at IS NULL")" 0
# masd-worker runs the queued sync; the homeserver's device list of alice no longer has the device.
sync_seen()
{
    local i
    for i in $(seq 1 100); do
        tail -n +"$((H0 + 1))" "$HS_RECORD" | grep '"/_synapse/mas/sync_devices"' | grep -q '"localpart":"alice"' && break
        sleep 0.1
    done
    local rec
    rec=$(tail -n +"$((H0 + 1))" "$HS_RECORD" | grep '"/_synapse/mas/sync_devices"' | grep '"localpart":"alice"' | tail -n 1)
    [ -n "$rec" ] || { echo "no sync_devices for alice within 10 s; calls since: $(tail -n +"$((H0 + 1))" "$HS_RECORD")"; return 1; }
    json_expect <(echo "$rec") "d.status === 200 && Array.isArray(d.body.devices) && !d.body.devices.includes('$DEV')"
}
check "the stand-in homeserver got sync_devices for alice without $DEV (masd-worker)" sync_seen

stop worker
check "masd-worker exits 0 on SIGTERM" expect_eq "$STOP_STATUS" 0
for s in human oauth discovery assets; do masd_stop "$s"; done
finish
