#!/usr/bin/env bash
# Token introspection exactly as the homeserver sends it (Synapse: synapse/api/auth/mas.py):
# form body token=…&token_type_hint=access_token, Content-Type form, Accept JSON,
# X-MAS-Supports-Device-Id: 1 and Authorization: Bearer <matrix.secret>. Every field Synapse
# reads is asserted for a compat token issued by masctl, then the token after kill-sessions and
# for a locked user (inactive), a garbage token, a missing or wrong secret; keys.json; revoke.
# On SQLite and, when MASD_TEST_PG_URI is set, on PostgreSQL.
. "$(dirname "$0")/lib.sh"
MASCTL_BIN=$BUILD/tools/masctl
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
require_binaries "$MASCTL_BIN" "$OAUTH_BIN"
command -v node >/dev/null || { fail_check "node is installed" "apt-get install nodejs"; finish; }

SECRET='homeserver-shared-secret-0123456789'
homeserver_start "$SECRET" example.org || finish
PASSWORD='correct-Horse-battery-staple-42'
CLIENT_SECRET='a-static-client-secret-42'
BASIC_ID=01J0000000000000000000BAS1
POST_ID=01J0000000000000000000P0ST
JWT_ID=01J0000000000000000000JWT1
PUBLIC_ID=01J0000000000000000000PB01
PKJ_ID=01J0000000000000000000PKJ1
TLS_ID=01J0000000000000000000TLS1
# The private_key_jwt client's key: an EC P-256 pair; its public JWK goes into the config.
node -e '
    const c = require("crypto"), fs = require("fs");
    const { privateKey, publicKey } = c.generateKeyPairSync("ec", { namedCurve: "P-256" });
    fs.writeFileSync(process.argv[1], privateKey.export({ type: "pkcs8", format: "pem" }));
    const j = publicKey.export({ format: "jwk" });
    fs.writeFileSync(process.argv[2], `{kty: EC, crv: P-256, kid: pk1, x: "${j.x}", y: "${j.y}"}`);
' "$T/client-key.pem" "$T/client-jwk.yaml"

# config URI PORT: a configuration for masd-oauth on 127.0.0.1:PORT with database URI.
config()
{
    cat <<YAML
http:
  public_base: http://127.0.0.1:$2/
  listeners:
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{address: "127.0.0.1:$2"}]
database:
  uri: "$1"
matrix:
  homeserver: example.org
  secret: "$SECRET"
  endpoint: "$HS_ENDPOINT"
clients:
  - client_id: $BASIC_ID
    client_auth_method: client_secret_basic
    client_secret: "$CLIENT_SECRET"
  - client_id: $POST_ID
    client_auth_method: client_secret_post
    client_secret: "$CLIENT_SECRET"
  - client_id: $JWT_ID
    client_auth_method: client_secret_jwt
    client_secret: "$CLIENT_SECRET"
  - client_id: $PUBLIC_ID
    client_auth_method: none
  - client_id: $PKJ_ID
    client_auth_method: private_key_jwt
    jwks:
      keys: [$(cat "$T/client-jwk.yaml")]
$(secrets_yaml)
YAML
}

sql() # QUERY: on the current backend's database
{
    if [ "$BACKEND" = sqlite ]; then
        sqlite3 "${DB_URI#sqlite://}" "$1"
    else
        psql -X -q -t -A "$DB_URI" -c "$1"
    fi
}

masctl() { timeout 60 "$MASCTL_BIN" -c "$CFG" "$@" </dev/null; }

# introspect NAME TOKEN [AUTHORIZATION [HINT]]: the homeserver's request (Bearer shared secret,
# hint access_token unless given; AUTHORIZATION "-" sends none).
introspect()
{
    local name=$1 token=$2 auth=${3:-Bearer $SECRET} hint=${4:-access_token}
    shift $(($# < 4 ? $# : 4))
    local h=(-H "Authorization: $auth")
    [ "$auth" = - ] && h=()
    http "$name" -X POST "$BASE/oauth2/introspect" \
        -H 'Content-Type: application/x-www-form-urlencoded' -H 'Accept: application/json' \
        -H 'X-MAS-Supports-Device-Id: 1' "${h[@]}" \
        --data-urlencode "token=$token" --data-urlencode "token_type_hint=$hint" "$@"
}

inactive() # NAME
{
    expect_eq "$(status "$T/$1.h")" 200 || return 1
    expect_eq "$(cat "$T/$1.b")" '{"active":false}'
}

# oauth_error NAME STATUS ERROR [CHALLENGE-REGEX]: never cached; a 401 carries a challenge
# (RFC 9110 §15.5.2), Basic unless CHALLENGE-REGEX says otherwise (RFC 6749 §5.2).
oauth_error()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; echo; return 1; }
    json_expect "$T/$1.b" "d.error === '$3' && typeof d.error_description === 'string'" || return 1
    expect_eq "$(header "$T/$1.h" cache-control)" no-store || return 1
    if [ "$2" = 401 ]; then
        expect_match "$(header "$T/$1.h" www-authenticate)" "${4:-^Basic realm=\"http://127\.0\.0\.1:[0-9]+/\"\$}"
    else
        expect_eq "$(header "$T/$1.h" www-authenticate)" ""
    fi
}

no_store() # NAME: a token answer no cache may keep (RFC 6749 §5.1)
{
    expect_eq "$(header "$T/$1.h" cache-control)" no-store || return 1
    expect_eq "$(header "$T/$1.h" pragma)" no-cache
}

active_compat()
{
    expect_eq "$(status "$T/a.h")" 200 || return 1
    expect_match "$(header "$T/a.h" content-type)" '^application/json' || return 1
    json_expect "$T/a.b" "d.active === true && d.token_type === 'access_token' && d.client_id === 'legacy'
        && d.username === 'alice' && d.sub === '$USER_ID' && d.device_id === 'DEVICEONE'
        && d.scope === 'urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*'
        && d.exp === undefined && d.expires_in === undefined && d.jti === undefined
        && Number.isInteger(d.iat) && d.iat === d.nbf && Math.abs(d.iat - Date.now() / 1000) < 120
        && d.aud === undefined && d.iss === undefined"
}

# Without X-MAS-Supports-Device-Id the device comes as scopes too, sorted, and the admin scope.
active_scopes()
{
    json_expect "$T/b.b" "d.active === true && d.device_id === 'DEVICETWO' && d.scope === [
        'urn:matrix:client:api:*', 'urn:matrix:client:device:DEVICETWO',
        'urn:matrix:org.matrix.msc2967.client:api:*', 'urn:matrix:org.matrix.msc2967.client:device:DEVICETWO',
        'urn:synapse:admin:*'].join(' ')"
}

keys_ok()
{
    expect_eq "$(status "$T/keys.h")" 200 || return 1
    json_expect "$T/keys.b" "d.keys.length === 2 && d.keys[0].kid === 'rsa-key' && d.keys[0].kty === 'RSA'
        && d.keys[0].use === 'sig' && d.keys[0].d === undefined && d.keys[1].kid === 'ec-key'
        && d.keys[1].kty === 'EC' && d.keys[1].crv === 'P-256' && d.keys[1].d === undefined"
}

revoke_compat()
{
    expect_eq "$(status "$T/rv.h")" "$1" || { cat "$T/rv.b"; return 1; }
    [ "$1" != 401 ] || expect_match "$(header "$T/rv.h" www-authenticate)" '^Basic realm="'
}

# An HS256 client assertion (RFC 7523) for client_secret_jwt, made with node's crypto.
assertion() # CLIENT_ID AUD JTI [EXP: seconds from now, 60 unless given]
{
    node -e '
        const c = require("crypto");
        const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000);
        const input = b({alg: "HS256"}) + "." + b({iss: process.argv[1], sub: process.argv[1],
            aud: process.argv[2], exp: now + Number(process.argv[5]), iat: now, jti: process.argv[3]});
        const sig = c.createHmac("sha256", process.argv[4]).update(input).digest("base64url");
        console.log(input + "." + sig);
    ' "$1" "$2" "$3" "$CLIENT_SECRET" "${4:-60}"
}

# An ES256 assertion for the private_key_jwt client, signed with its key (kid pk1).
es256_assertion() # AUD JTI
{
    node -e '
        const c = require("crypto"), fs = require("fs");
        const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000), id = process.argv[1];
        const input = b({alg: "ES256", kid: "pk1"}) + "." + b({iss: id, sub: id, aud: process.argv[2],
            exp: now + 60, iat: now, jti: process.argv[3]});
        const key = c.createPrivateKey(fs.readFileSync(process.argv[4]));
        const sig = c.sign("sha256", Buffer.from(input), {key, dsaEncoding: "ieee-p1363"});
        console.log(input + "." + sig.toString("base64url"));
    ' "$PKJ_ID" "$1" "$2" "$T/client-key.pem"
}

client_auth_tests()
{
    local B=$1
    introspect ca "$TOKEN" "Basic $(printf '%s:%s' "$BASIC_ID" "$CLIENT_SECRET" | base64 -w0)"
    check "[$B] client_secret_basic: a configured client may introspect" active_compat_in ca
    introspect cb "$TOKEN" "Basic $(printf '%s:%s' "$BASIC_ID" wrong | base64 -w0)"
    check "[$B] client_secret_basic with a wrong secret: 401 invalid_client" oauth_error cb 401 invalid_client
    introspect cc "$TOKEN" - access_token --data-urlencode "client_id=$POST_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
    check "[$B] client_secret_post" active_compat_in cc
    introspect cd "$TOKEN" "Basic $(printf '%s:%s' "$POST_ID" "$CLIENT_SECRET" | base64 -w0)"
    check "[$B] a method other than the registered one: 401 invalid_client" oauth_error cd 401 invalid_client
    introspect ce "$TOKEN" - access_token --data-urlencode "client_id=$PUBLIC_ID"
    check "[$B] a public client may not introspect: 401 access_denied" oauth_error ce 401 access_denied
    # a row whose method masd does not implement (here written by hand) was read as `none`, and
    # being not "none" by name could introspect with its client_id alone
    sql "INSERT INTO oauth2_clients (oauth2_client_id, token_endpoint_auth_method, redirect_uris, grant_types,
             metadata, is_static, created_at)
         VALUES ('$TLS_ID', 'tls_client_auth', '[]', '[]', '{}', 0, $(now_ms))" >/dev/null
    introspect ct "$TOKEN" - access_token --data-urlencode "client_id=$TLS_ID"
    check "[$B] a tls_client_auth client row (unsupported): 401 invalid_client" oauth_error ct 401 invalid_client
    introspect ct "$TOKEN" - access_token --data-urlencode "client_id=$TLS_ID" --data-urlencode "client_secret=x"
    check "[$B] ... with a client_secret too: 401 invalid_client" oauth_error ct 401 invalid_client
    local jwt
    jwt=$(assertion "$JWT_ID" "$BASE/oauth2/introspect" "jti-$B-1")
    introspect cf "$TOKEN" - access_token --data-urlencode "client_assertion=$jwt" \
        --data-urlencode 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    check "[$B] client_secret_jwt" active_compat_in cf
    introspect cg "$TOKEN" - access_token --data-urlencode "client_assertion=$jwt" \
        --data-urlencode 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    check "[$B] a replayed client assertion: 401 invalid_client" oauth_error cg 401 invalid_client
    jwt=$(assertion "$JWT_ID" "https://elsewhere.example.com/" "jti-$B-2")
    introspect ch "$TOKEN" - access_token --data-urlencode "client_assertion=$jwt" \
        --data-urlencode 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    check "[$B] an assertion for another audience: 401 invalid_client" oauth_error ch 401 invalid_client
    # exp more than an hour ahead (RFC 7523 §3): refused, and so never recorded to expire late
    jwt=$(assertion "$JWT_ID" "$BASE/oauth2/introspect" "jti-$B-5" 7200)
    introspect ck "$TOKEN" - access_token --data-urlencode "client_assertion=$jwt" \
        --data-urlencode 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    check "[$B] an assertion expiring in two hours: 401 invalid_client" oauth_error ck 401 invalid_client
    jwt=$(es256_assertion "$BASE/oauth2/introspect" "jti-$B-3")
    introspect ci "$TOKEN" - access_token --data-urlencode "client_assertion=$jwt" \
        --data-urlencode 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    check "[$B] private_key_jwt (ES256, the client's jwks)" active_compat_in ci
    jwt=$(assertion "$PKJ_ID" "$BASE/oauth2/introspect" "jti-$B-4")
    introspect cj "$TOKEN" - access_token --data-urlencode "client_assertion=$jwt" \
        --data-urlencode 'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    check "[$B] private_key_jwt refuses an HMAC assertion: 401 invalid_client" oauth_error cj 401 invalid_client
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$TOKEN" -u "$BASIC_ID:$CLIENT_SECRET"
    check "[$B] revoke of a compat token: 200, empty" revoke_empty
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=garbage" -u "$BASIC_ID:$CLIENT_SECRET"
    check "[$B] revoke of an unknown token: 200, empty" revoke_empty
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=garbage" -u "$BASIC_ID:wrong"
    check "[$B] revoke with a wrong secret: 401 invalid_client, a Basic challenge" oauth_error rv 401 invalid_client
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=garbage" -H "Authorization: Bearer $SECRET"
    check "[$B] revoke with the shared secret: 401 invalid_client, a Basic challenge" oauth_error rv 401 invalid_client
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$TOKEN" --data-urlencode 'token_type_hint=x' \
        -u "$BASIC_ID:$CLIENT_SECRET"
    check "[$B] revoke with an unknown hint: 400 unsupported_token_type" oauth_error rv 400 unsupported_token_type
}

# masd-oauth writes the clients section at start only when it changed since the last sync;
# masctl config sync --prune deletes a client the section no longer has.
restart_sync_tests()
{
    local B=$1 extra=01J0000000000000000000EXT1 tok
    cp "$CFG" "$CFG.orig"
    awk -v id="$extra" -v sec="$CLIENT_SECRET" '{ print } /^clients:/ {
        print "  - client_id: " id; print "    client_auth_method: client_secret_basic";
        print "    client_secret: \"" sec "\"" }' "$CFG.orig" >"$CFG"
    tok=$(masctl manage issue-compatibility-token alice DEVICETHREE 2>/dev/null | grep -oE 'mct_[A-Za-z0-9_]{37}')
    masd_start "oauth2-$B" "$OAUTH_BIN" "$CFG" "127.0.0.1:$PORT" -- --verbose || return 0
    introspect sa "$tok" "Basic $(printf '%s:%s' "$extra" "$CLIENT_SECRET" | base64 -w0)"
    check "[$B] a client added to the config works after a restart, without masctl" \
        json_expect "$T/sa.b" "d.active === true && d.device_id === 'DEVICETHREE'"
    check "[$B] masd-oauth said it wrote the changed clients" expect_file_contains "${LOG_OF[oauth2-$B]}" \
        'clients: the section changed since the last sync: 6 static client'
    masd_stop "oauth2-$B"
    masd_start "oauth3-$B" "$OAUTH_BIN" "$CFG" "127.0.0.1:$PORT" -- --verbose || return 0
    introspect sb "$tok" "Basic $(printf '%s:%s' "$extra" "$CLIENT_SECRET" | base64 -w0)"
    check "[$B] unchanged clients: nothing written at start" expect_file_lacks "${LOG_OF[oauth3-$B]}" 'clients: the section changed'
    masd_stop "oauth3-$B"
    cp "$CFG.orig" "$CFG"
    check "[$B] masctl config sync --prune deletes the removed client" \
        expect_match "$(masctl config sync --prune 2>&1)" '^wrote 5 clients, deleted 1 stale client$'
}

# mas_token PREFIX: a token in MAS's format (random30, then the CRC-32 in base62, least
# significant digit first, left-padded), as masd issues them.
mas_token()
{
    python3 -c '
import random, string, sys, zlib
a = string.digits + string.ascii_uppercase + string.ascii_lowercase
body = sys.argv[1] + "_" + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(30))
n, d = zlib.crc32(body.encode()), ""
while n:
    d += a[n % 62]; n //= 62
print(body + "_" + d.rjust(6, "0"))' "$1"
}

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# An OAuth session of the basic client for alice with an access and a refresh token, written
# straight into the database (the token endpoint is not part of this binary yet).
oauth_session()
{
    local now
    now=$(now_ms)
    MAT=$(mas_token mat)
    MAR=$(mas_token mar)
    sql "INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, scope, created_at)
         VALUES ('01J0000000000000000000SES1', '$BASIC_ID', '$USER_ID',
                 'urn:matrix:client:device:OAUTHDEV openid urn:matrix:client:api:*', $now);
         INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, token_hash, created_at, expires_at)
         VALUES ('01J0000000000000000000ACC1', '01J0000000000000000000SES1', '$(sha256 "$MAT")', $now, $((now + 300000)));
         INSERT INTO oauth2_refresh_tokens (oauth2_refresh_token_id, oauth2_session_id, oauth2_access_token_id,
                 token_hash, created_at)
         VALUES ('01J0000000000000000000REF1', '01J0000000000000000000SES1', '01J0000000000000000000ACC1',
                 '$(sha256 "$MAR")', $now);" >/dev/null
}

active_oauth()
{
    expect_eq "$(status "$T/oa.h")" 200 || return 1
    json_expect "$T/oa.b" "d.active === true && d.token_type === 'access_token' && d.client_id === '$BASIC_ID'
        && d.username === 'alice' && d.sub === '$USER_ID' && d.jti === '01J0000000000000000000ACC1'
        && d.device_id === undefined && d.scope === ['openid', 'urn:matrix:client:api:*',
        'urn:matrix:client:device:OAUTHDEV', 'urn:matrix:org.matrix.msc2967.client:api:*',
        'urn:matrix:org.matrix.msc2967.client:device:OAUTHDEV'].join(' ')
        && Number.isInteger(d.exp) && Number.isInteger(d.expires_in) && d.expires_in > 250 && d.expires_in <= 300
        && d.exp - d.iat === 300"
}

oauth_tests()
{
    local B=$1 jobs
    oauth_session
    jobs=$(sql "SELECT COUNT(*) FROM queue_jobs WHERE queue_name = 'sync-devices' AND payload LIKE '%$USER_ID%'")
    introspect oa "$MAT"
    check "[$B] an OAuth access token: scope with its twins, sorted; jti, exp, expires_in" active_oauth
    check "[$B] the first introspection marks the access token used" \
        expect_match "$(sql "SELECT first_used_at FROM oauth2_access_tokens WHERE oauth2_access_token_id = '01J0000000000000000000ACC1'")" '^[0-9]+$'
    introspect ob "$MAR" "Bearer $SECRET" refresh_token
    check "[$B] an OAuth refresh token: active, no expiry" json_expect "$T/ob.b" \
        "d.active === true && d.token_type === 'refresh_token' && d.exp === undefined && d.expires_in === undefined"
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$MAT" \
        --data-urlencode "client_id=$POST_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
    check "[$B] revoke of another client's token: 401 unauthorized_client" oauth_error rv 401 unauthorized_client
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$MAR" -u "$BASIC_ID:$CLIENT_SECRET" \
        --data-urlencode 'token_type_hint=refresh_token'
    check "[$B] revoke of its own refresh token: 200, empty" revoke_empty
    introspect oc "$MAT"
    check "[$B] the whole session ended: the access token is inactive too" inactive oc
    check "[$B] the session is finished and a device sync is queued" expect_eq \
        "$(sql "SELECT (SELECT COUNT(*) FROM oauth2_sessions WHERE finished_at IS NOT NULL) || ' ' || (SELECT COUNT(*) FROM queue_jobs WHERE queue_name = 'sync-devices' AND payload LIKE '%$USER_ID%')")" "1 $((jobs + 1))"
}

revoke_empty()
{
    expect_eq "$(status "$T/rv.h")" 200 || { cat "$T/rv.b"; return 1; }
    expect_eq "$(wc -c <"$T/rv.b")" 0 || return 1
    no_store rv
}

active_compat_in() # NAME
{
    expect_eq "$(status "$T/$1.h")" 200 || { cat "$T/$1.b"; return 1; }
    json_expect "$T/$1.b" "d.active === true && d.username === 'alice' && d.device_id === 'DEVICEONE'"
}

backend_tests()
{
    local B=$1
    BACKEND=$B
    DB_URI=$2
    note "backend: $B"
    PORT=$(free_port)
    BASE=http://127.0.0.1:$PORT
    CFG=$T/$B.yaml
    config "$2" "$PORT" >"$CFG"
    check "[$B] masctl database migrate" masctl database migrate
    check "[$B] masctl config sync --dry-run" expect_match "$(masctl config sync --dry-run 2>&1)" 'would write 5 clients'
    check "[$B] masctl config sync" expect_match "$(masctl config sync 2>&1)" '^wrote 5 clients'
    check "[$B] masctl register-user alice" masctl manage register-user alice -p "$PASSWORD" -y
    check "[$B] masctl register-user bob" masctl manage register-user bob -p "$PASSWORD" -y
    TOKEN=$(masctl manage issue-compatibility-token alice DEVICEONE 2>/dev/null | grep -oE 'mct_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}')
    TOKEN2=$(masctl manage issue-compatibility-token --yes-i-want-to-grant-synapse-admin-privileges alice DEVICETWO 2>/dev/null |
        grep -oE 'mct_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}')
    BOB=$(masctl manage issue-compatibility-token bob 2>/dev/null | grep -oE 'mct_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}')
    check "[$B] masctl issued three compat tokens" expect_match "$TOKEN $TOKEN2 $BOB" '^mct_.* mct_.* mct_'
    if [ "$B" = sqlite ]; then
        USER_ID=$(sqlite3 "${2#sqlite://}" "SELECT user_id FROM users WHERE username = 'alice'")
    else
        USER_ID=$(psql -X -q -t -A "$2" -c "SELECT user_id FROM users WHERE username = 'alice'")
    fi
    masd_start "oauth-$B" "$OAUTH_BIN" "$CFG" "127.0.0.1:$PORT" || return 0

    introspect a "$TOKEN"
    check "[$B] introspection of a compat token: every field the homeserver reads" active_compat
    http b -X POST "$BASE/oauth2/introspect" -H "Authorization: Bearer $SECRET" \
        --data-urlencode "token=$TOKEN2"
    check "[$B] without X-MAS-Supports-Device-Id: device and admin scopes, sorted" active_scopes
    introspect c "${TOKEN%??????}000000"
    check "[$B] a token with a wrong CRC is inactive" inactive c
    introspect d 'garbage'
    check "[$B] a garbage token is inactive" inactive d
    introspect e "$TOKEN" 'Bearer wrong-secret'
    check "[$B] a wrong shared secret: 401 access_denied, a Bearer challenge (RFC 6750 §3)" oauth_error e 401 \
        access_denied '^Bearer realm="http://127\.0\.0\.1:[0-9]+/", error="invalid_token"$'
    check "[$B] an active answer is not cached (Cache-Control: no-store, Pragma: no-cache)" no_store a
    check "[$B] an inactive answer neither" no_store d
    introspect f "$TOKEN" -
    check "[$B] no credentials: 400 invalid_request" oauth_error f 400 invalid_request
    introspect g "$TOKEN" 'Basic bm9ib2R5Om5vdGhpbmc='
    check "[$B] an unknown client: 401 invalid_client" oauth_error g 401 invalid_client
    introspect h "$TOKEN" "Bearer $SECRET" refresh_token
    check "[$B] a hint that does not match the token: inactive" inactive h
    # RFC 6749 §3.1: no parameter more than once; "the first one wins" is gone
    introspect dup "$TOKEN" "Bearer $SECRET" access_token --data-urlencode "token=$TOKEN"
    check "[$B] token twice: 400 invalid_request" oauth_error dup 400 invalid_request
    introspect dup "$TOKEN" - access_token --data-urlencode "client_id=$PUBLIC_ID" \
        --data-urlencode "client_id=$POST_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
    check "[$B] client_id=A&client_id=B: 400 invalid_request" oauth_error dup 400 invalid_request
    introspect dup "$TOKEN" "Bearer $SECRET" access_token --data-urlencode "unknown=1" --data-urlencode "unknown=1"
    check "[$B] any parameter twice: 400 invalid_request" oauth_error dup 400 invalid_request
    http dup -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$TOKEN" --data-urlencode "token=garbage" \
        -u "$BASIC_ID:$CLIENT_SECRET"
    check "[$B] revoke with token twice: 400 invalid_request" oauth_error dup 400 invalid_request

    introspect i "$BOB"
    check "[$B] bob's token is active" json_expect "$T/i.b" "d.active === true && d.username === 'bob'"
    check "[$B] masctl manage lock-user bob" masctl manage lock-user bob
    introspect i "$BOB"
    check "[$B] a locked user's token is inactive" inactive i
    check "[$B] masctl manage unlock-user bob" masctl manage unlock-user bob
    introspect i "$BOB"
    check "[$B] unlocked, the token is active again at once" json_expect "$T/i.b" "d.active === true"
    # an operator's own SQL, masd running: the answer follows in the same instant
    sql "UPDATE users SET locked_at = $(now_ms) WHERE username = 'bob'" >/dev/null
    introspect i "$BOB"
    check "[$B] locked by hand in SQL: inactive at once" inactive i
    sql "UPDATE users SET locked_at = NULL WHERE username = 'bob'" >/dev/null
    introspect i "$BOB"
    check "[$B] unlocked by hand in SQL: active at once" json_expect "$T/i.b" "d.active === true"
    sql "UPDATE compat_sessions SET finished_at = $(now_ms) WHERE user_id = (SELECT user_id FROM users WHERE username = 'bob')" >/dev/null
    introspect i "$BOB"
    check "[$B] session ended by hand in SQL: inactive at once" inactive i

    http keys "$BASE/oauth2/keys.json"
    check "[$B] keys.json: the public JWKS of secrets.keys" keys_ok

    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$TOKEN"
    check "[$B] revoke without client credentials: 400" revoke_compat 400
    http rv -X POST "$BASE/oauth2/revoke" --data-urlencode "token=$TOKEN" --data-urlencode 'token_type_hint=x' \
        -u 'nobody:nothing'
    check "[$B] revoke with an unknown client: 401" revoke_compat 401
    introspect a "$TOKEN"
    check "[$B] the compat token is still active" active_compat

    client_auth_tests "$B"
    oauth_tests "$B"

    check "[$B] masctl manage kill-sessions alice" masctl manage kill-sessions alice
    introspect a "$TOKEN"
    check "[$B] after kill-sessions the token is inactive" inactive a
    masd_stop "oauth-$B"
    restart_sync_tests "$B"
    # the activity map is written on exit at the latest (no write per introspection)
    local q="SELECT COUNT(*) FROM compat_sessions WHERE device_id IN ('DEVICEONE', 'DEVICETWO') AND last_active_at > 0"
    if [ "$B" = sqlite ]; then
        check "[$B] session activity written on exit" expect_eq "$(sqlite3 "${2#sqlite://}" "$q")" 2
    else
        check "[$B] session activity written on exit" expect_eq "$(psql -X -q -t -A "$2" -c "$q")" 2
    fi
}

backend_wanted sqlite && backend_tests sqlite "sqlite://$T/masd.db"

pg_database introspect && backend_tests postgresql "$PG_DB_URI"

finish
