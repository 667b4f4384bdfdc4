#!/usr/bin/env bash
# openid-client 6 as confidential relying parties of masd, through the shipped nginx
# configuration (units/nginx) with masd-human, masd-oauth and masd-discovery on their UNIX
# sockets and masd-worker, on SQLite and on PostgreSQL (MASD_TEST_PG_URI, as tests/run sets it):
#   - static clients of the config: client_secret_basic and private_key_jwt (an ES256 key of the
#     client's `jwks`): the code flow (curl signs in and consents between openid-client's steps),
#     the ID token verified with npm jose against /oauth2/keys.json, userinfo, refresh,
#     revocation (the session ends, the homeserver gets sync_devices), client_credentials;
#   - registered clients (POST /oauth2/registration), one per algorithm masd offers, with
#     id_token_signed_response_alg: RS256/384/512, PS256/384/512 (RSA), ES256 (P-256), ES384
#     (P-384), ES256K (secp256k1): each ID token verified by jose with the kid of the key MAS
#     would pick (the last of secrets.keys that supports the alg); signed userinfo
#     (userinfo_signed_response_alg) for one per key type.
# (It proves what a client library sees, which the sanitizer build does not change; the C paths
# it drives run under ASan in token.sh, userinfo.sh and introspect.sh.)
# tests/run: once
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
WORKER_BIN=$BUILD/services/worker/masd-worker
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$WORKER_BIN" "$MASCTL_BIN" "$DISCOVERY_BIN"
if [ ! -d "$NODE_DIR/node_modules/openid-client" ] || [ ! -d "$NODE_DIR/node_modules/jose5" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node" "openid-client is not installed"; finish; }
fi
command -v sqlite3 >/dev/null || { fail_check "sqlite3 is installed" "tools/packages --install test"; finish; }

NG=$(free_port)
BASE=https://127.0.0.1:$NG
PW='correct horse battery staple'
CONF=01HQ8Z4ZQ0ABCDEFGHJKMNPCNF # client_secret_basic
CONF_SECRET='a-static-client-secret-42'
PKJ=01HQ8Z4ZQ0ABCDEFGHJKMNPPKJ  # private_key_jwt
RU=http://127.0.0.1:9/callback
HS_SECRET=shared-secret-for-the-homeserver
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com

# The signing keys: two RSA keys (RS* and PS* take the last), P-256, P-384, secp256k1.
mkdir -p "$T/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/rsa-a.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/keys/p256.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/keys/rsa-b.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/keys/p384.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$T/keys/k256.pem" 2>/dev/null
chmod 644 "$T/keys/"*.pem
# The private_key_jwt client's key: ES256; its public half goes into the config.
(cd "$NODE_DIR" && node --input-type=module -e '
import * as jose from "jose5";
import { writeFileSync } from "node:fs";
const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
const kid = "client-key-1";
writeFileSync(process.argv[1], JSON.stringify({ ...(await jose.exportJWK(privateKey)), kid, alg: "ES256" }));
writeFileSync(process.argv[2], JSON.stringify({ ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }));
' "$T/client-private.jwk" "$T/client-public.jwk") || { fail_check "the client key" "jose.generateKeyPair"; finish; }

# config FILE DATABASE-URI
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
      binds: [{socket: $T/run/oauth.sock, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery.sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
clients:
  - client_id: $CONF
    client_auth_method: client_secret_basic
    client_secret: "$CONF_SECRET"
    redirect_uris: [$RU]
  - client_id: $PKJ
    client_auth_method: private_key_jwt
    jwks:
      keys: [$(cat "$T/client-public.jwk")]
    redirect_uris: [$RU]
secrets:
  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff
  keys:
    - {kid: rsa-a, key_file: $T/keys/rsa-a.pem}
    - {kid: p256, key_file: $T/keys/p256.pem}
    - {kid: rsa-b, key_file: $T/keys/rsa-b.pem}
    - {kid: p384, key_file: $T/keys/p384.pem}
    - {kid: k256, key_file: $T/keys/k256.pem}
EOF
}

render_nginx_snippets "$T/nginx/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
    -e '/listen \[::\]:443/d'
nginx_main_conf "$T/nginx" "
    include $T/nginx/masd/masd-upstreams-unix.conf;
    include $T/nginx/masd/masd.conf;"
nginx_start nginx "$T/nginx" 127.0.0.1:$NG || finish

# ---------------------------------------------------------------------------------------------
# Helpers

req() { local name=$1; shift; local path=${*: -1}; http "$name" --cacert "$T/tls/cert.pem" "${@:1:$#-1}" "$BASE$path"; }
js() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]) ?? "")' "$1"; }
# oc CMD JSON-MEMBERS: openid_client.mjs with base added.
oc() { NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/openid_client.mjs" "$1" "{\"base\": \"$BASE\", $2}"; }
introspect()
{
    req "$1" -H "Authorization: Bearer $HS_SECRET" -H 'Accept: application/json' -H 'X-MAS-Supports-Device-Id: 1' \
        --data-urlencode "token=$2" --data-urlencode token_type_hint=access_token /oauth2/introspect
}
signin()
{
    req si -b "$1" -c "$1" /login >/dev/null || return 1
    req so -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of si)" --data-urlencode "username=$2" \
        --data-urlencode "password=$PW" /login
    [ "$(status "$T/so.h")" = 303 ] || { echo "login: $(status "$T/so.h")"; return 1; }
}
# consent JAR AUTHORIZE-URL: /authorize with the session, then Continue; prints the callback URL.
consent()
{
    req az -b "$1" -c "$1" "${2#$BASE}" || return 1
    local g
    g=$(header "$T/az.h" location)
    [[ $g == /consent/* ]] || { echo "authorize: $(status "$T/az.h") $g $(head -c 300 "$T/az.b")" >&2; return 1; }
    req cg -b "$1" -c "$1" "$g" || return 1
    req cp -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of cg)" "$g" || return 1
    header "$T/cp.h" location
}
# flow B NAME CLIENT AUTH SCOPE ALG KID: openid-client's code flow for CLIENT with curl's consent
# in between; leaves the token response (with the verified ID token) in $T/B-NAME.json.
flow()
{
    local b=$1 name=$2 cid=$3 auth=$4 scope=$5 alg=$6 kid=$7 au cb
    oc authurl "\"client_id\": \"$cid\", \"auth\": \"$auth\", \"redirect\": \"$RU\", \"scope\": \"$scope\"" >"$T/$b-$name-au.json" || {
        cat "$T/$b-$name-au.json"
        return 1
    }
    au=$(js d.url <"$T/$b-$name-au.json")
    cb=$(consent "$JAR" "$au") || return 1
    oc exchange "\"client_id\": \"$cid\", \"auth\": \"$auth\", \"callback\": \"$cb\", \"alg\": \"$alg\", \"kid\": \"$kid\",
        $(js '`"verifier": "${d.verifier}", "state": "${d.state}", "nonce": "${d.nonce}"`' <"$T/$b-$name-au.json")" >"$T/$b-$name.json"
    local rc=$?
    cat "$T/$b-$name.json"
    return $rc
}
# register NAME JSON-MEMBERS: a native public client with a loopback redirect URI; prints its ID.
register()
{
    req "reg-$1" -H 'Content-Type: application/json' --data-binary "{\"client_uri\": \"https://client.example.com/\",
        \"application_type\": \"native\", \"redirect_uris\": [\"$RU\"], \"token_endpoint_auth_method\": \"none\",
        \"grant_types\": [\"authorization_code\", \"refresh_token\"], \"response_types\": [\"code\"], $2}" /oauth2/registration
    [ "$(status "$T/reg-$1.h")" = 201 ] || { echo "registration: $(status "$T/reg-$1.h") $(cat "$T/reg-$1.b")" >&2; return 1; }
    js d.client_id <"$T/reg-$1.b"
}
kid_for() # ALG: the key MAS would pick
{
    case $1 in
    RS* | PS*) echo rsa-b ;;
    ES256) echo p256 ;;
    ES384) echo p384 ;;
    ES256K) echo k256 ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# One backend

run_backend()
{
    local b=$1 uri=$2
    CFG=$T/$b.yaml
    config "$CFG" "$uri"
    local M=("$MASCTL_BIN" -c "$CFG")
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity alice; } >"$T/$b-masctl.log" 2>&1; then
        fail_check "$b: masctl sets up the database" "$(tail -n 20 "$T/$b-masctl.log")"
        return
    fi
    masd_start human-$b "$HUMAN_BIN" "$CFG" "$T/run/human.sock" || return
    masd_start oauth-$b "$OAUTH_BIN" "$CFG" "$T/run/oauth.sock" || return
    masd_start discovery-$b "$DISCOVERY_BIN" "$CFG" "$T/run/discovery.sock" || return
    spawn worker-$b "$T/logs/worker-$b.log" "$WORKER_BIN" --config "$CFG" --threads 1
    JAR=$T/$b-jar
    check "$b: alice signs in (curl)" signin "$JAR" alice

    # The two confidential static clients.
    local n cid auth dev at rt sub
    for n in basic pkjwt; do
        if [ $n = basic ]; then cid=$CONF auth="basic:$CONF_SECRET"; else cid=$PKJ auth="pkjwt:$T/client-private.jwk"; fi
        dev=DEV${n^^}$b
        check "$b/$n: the code flow, ID token verified by jose (RS256, kid rsa-b, at_hash, c_hash, nonce)" \
            flow "$b" "$n" "$cid" "$auth" "openid urn:matrix:client:api:* urn:matrix:client:device:$dev" RS256 rsa-b
        at=$(js d.access_token <"$T/$b-$n.json")
        rt=$(js d.refresh_token <"$T/$b-$n.json")
        sub=$(js d.id_token_claims?.sub <"$T/$b-$n.json")
        check "$b/$n: the ID token's claims: iss, aud, auth_time, exp an hour after iat" \
            json_expect "$T/$b-$n.json" "const c = d.id_token_claims; c.iss === '$BASE/' && c.aud === '$cid' &&
                Math.abs(c.auth_time - Date.now() / 1000) < 300 && c.exp - c.iat === 3600 && /^[0-9A-Z]{26}\$/.test(c.sub)"
        check "$b/$n: the stand-in homeserver has the device $dev" \
            eval "grep '/upsert_device' '$HS_RECORD' | grep -q '\"device_id\":\"$dev\"'"
        oc userinfo "\"client_id\": \"$cid\", \"auth\": \"$auth\", \"access_token\": \"$at\", \"sub\": \"$sub\"" >"$T/$b-$n-ui.json"
        check "$b/$n: userinfo (openid-client fetchUserInfo): sub and username" \
            json_expect "$T/$b-$n-ui.json" "d.sub === '$sub' && d.username === 'alice'"
        oc refresh "\"client_id\": \"$cid\", \"auth\": \"$auth\", \"refresh_token\": \"$rt\"" >"$T/$b-$n-rf.json"
        check "$b/$n: refresh: a new pair, no ID token" \
            json_expect "$T/$b-$n-rf.json" "/^mat_/.test(d.access_token) && d.access_token !== '$at' && /^mar_/.test(d.refresh_token) && !d.id_token"
        at=$(js d.access_token <"$T/$b-$n-rf.json")
        rt=$(js d.refresh_token <"$T/$b-$n-rf.json")
        introspect "$b-$n-i1" "$at"
        check "$b/$n: introspection: active, the client, alice, the device" \
            json_expect "$T/$b-$n-i1.b" "d.active === true && d.client_id === '$cid' && d.username === 'alice' && d.sub === '$sub' &&
                d.scope.split(' ').includes('urn:matrix:client:device:$dev')"
        local h0
        h0=$(wc -l <"$HS_RECORD")
        oc revoke "\"client_id\": \"$cid\", \"auth\": \"$auth\", \"token\": \"$rt\", \"hint\": \"refresh_token\"" >"$T/$b-$n-rv.json"
        check "$b/$n: revocation of the refresh token (openid-client tokenRevocation)" json_expect "$T/$b-$n-rv.json" "d.revoked === true"
        introspect "$b-$n-i2" "$at"
        check "$b/$n: ... ends the session: its access token is inactive" json_expect "$T/$b-$n-i2.b" "d.active === false"
        check "$b/$n: ... and the homeserver gets sync_devices without $dev (masd-worker)" \
            eval "for i in \$(seq 1 100); do tail -n +$((h0 + 1)) '$HS_RECORD' | grep '/sync_devices' | grep -q '\"localpart\":\"alice\"' && break; sleep 0.1; done
                  tail -n +$((h0 + 1)) '$HS_RECORD' | grep '/sync_devices' | grep '\"localpart\":\"alice\"' | tail -n 1 > '$T/$b-$n-sync.json'
                  json_expect '$T/$b-$n-sync.json' \"d.status === 200 && !d.body.devices.includes('$dev')\""
        oc cc "\"client_id\": \"$cid\", \"auth\": \"$auth\"" >"$T/$b-$n-cc.json"
        check "$b/$n: client_credentials: an access token, no refresh token" \
            json_expect "$T/$b-$n-cc.json" "/^mat_/.test(d.access_token) && !d.refresh_token && d.expires_in === 300"
        introspect "$b-$n-i3" "$(js d.access_token <"$T/$b-$n-cc.json")"
        check "$b/$n: ... introspected: active, the client's, no user" \
            json_expect "$T/$b-$n-i3.b" "d.active === true && d.client_id === '$cid' && d.username === undefined && d.sub === undefined"
    done
    oc cc "\"client_id\": \"$PKJ\", \"auth\": \"basic:wrong\"" >"$T/$b-ccx.json"
    check "$b: the private_key_jwt client with a secret instead: 401 (openid-client: a WWW-Authenticate challenge)" \
        json_expect "$T/$b-ccx.json" "d.status === 401"

    # Every algorithm and key type, through registered clients.
    local alg
    for alg in RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES256K; do
        cid=$(register "$b-$alg" "\"client_name\": \"$alg client\", \"id_token_signed_response_alg\": \"$alg\"") ||
            { fail_check "$b/$alg: registration with id_token_signed_response_alg" "$(cat "$T/reg-$b-$alg.b")"; continue; }
        check "$b/$alg: an ID token signed $alg by the key $(kid_for $alg), verified by jose against keys.json" \
            flow "$b" "$alg" "$cid" none "openid urn:matrix:client:api:*" "$alg" "$(kid_for $alg)"
    done
    for alg in PS384 ES256 ES384 ES256K; do
        cid=$(register "$b-ui-$alg" "\"client_name\": \"userinfo $alg\", \"userinfo_signed_response_alg\": \"$alg\"") ||
            { fail_check "$b/userinfo $alg: registration with userinfo_signed_response_alg" "$(cat "$T/reg-$b-ui-$alg.b")"; continue; }
        if ! flow "$b" "ui-$alg" "$cid" none "openid urn:matrix:client:api:*" RS256 rsa-b >"$T/$b-ui-$alg.out"; then
            fail_check "$b/userinfo $alg: the code flow" "$(cat "$T/$b-ui-$alg.out")"
            continue
        fi
        at=$(js d.access_token <"$T/$b-ui-$alg.json")
        sub=$(js d.id_token_claims.sub <"$T/$b-ui-$alg.json")
        oc userinfo_jwt "\"client_id\": \"$cid\", \"access_token\": \"$at\", \"sub\": \"$sub\", \"alg\": \"$alg\", \"kid\": \"$(kid_for $alg)\"" >"$T/$b-uij-$alg.json"
        check "$b/userinfo $alg: application/jwt signed by $(kid_for $alg), verified by jose (iss, aud, sub, username)" \
            json_expect "$T/$b-uij-$alg.json" "d.claims && d.claims.username === 'alice'"
    done

    stop worker-$b
    check "$b: masd-worker exits 0 on SIGTERM" expect_eq "$STOP_STATUS" 0
    masd_stop human-$b
    masd_stop oauth-$b
    masd_stop discovery-$b
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database oidc && run_backend pg "$PG_DB_URI"
finish
