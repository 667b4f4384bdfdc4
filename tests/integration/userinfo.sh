#!/usr/bin/env bash
# GET and POST /oauth2/userinfo of masd-oauth (OIDC Core §5.3): OAuth sessions and access tokens
# written straight into the database (the token endpoint is not part of this binary yet), then
# the token by header, form and query; 400 for both or neither; 401 invalid_token for every
# token that may not read userinfo; the first call marks the token used and a second writes
# nothing; the signed variant (userinfo_signed_response_alg in the client's metadata) verified
# with Node's `jose` against /oauth2/keys.json; no key for the alg: 500; CORS; the method list.
# On SQLite and, when MASD_TEST_PG_URI is set, on PostgreSQL.
. "$(dirname "$0")/lib.sh"
MASCTL_BIN=$BUILD/tools/masctl
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
require_binaries "$MASCTL_BIN" "$OAUTH_BIN"
command -v node >/dev/null || { fail_check "node is installed" "apt-get install nodejs"; finish; }
if [ ! -d "$NODE_DIR/node_modules/jose" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node (the jose package)" "run it by hand"; finish; }
fi

SECRET='homeserver-shared-secret-0123456789'
homeserver_start "$SECRET" example.org || finish
PASSWORD='correct-Horse-battery-staple-42'
PLAIN_ID=01J0000000000000000000PNN1  # no userinfo_signed_response_alg: JSON
K1_ID=01J0000000000000000000SGK1     # ES256K
PS_ID=01J0000000000000000000SGP1     # PS256
ES_ID=01J0000000000000000000SGE1     # ES384
HS_ID=01J0000000000000000000SGH1     # HS256: no key can sign it
mkdir -p "$T/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/keys/p384.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$T/keys/k1.pem" 2>/dev/null

# config URI PORT
config()
{
    cat <<YAML
http:
  public_base: http://127.0.0.1:$2/
  listeners:
    - name: oauth
      resources: [{name: oauth}]
      binds: [{address: "127.0.0.1:$2"}]
database:
  uri: "$1"
matrix:
  homeserver: example.org
  secret: "$SECRET"
  endpoint: "$HS_ENDPOINT"
clients:
  - client_id: $PLAIN_ID
    client_auth_method: none
secrets:
  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff
  keys:
    - {kid: rsa-key, key_file: $T/keys/rsa.pem}
    - {kid: p384-key, key_file: $T/keys/p384.pem}
    - {kid: k1-key, key_file: $T/keys/k1.pem}
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

# mas_token PREFIX: a token in MAS's format (random30, then the CRC-32 in base62).
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

# client ID METADATA: a client row written by hand (dynamic registration is still to come).
client()
{
    sql "INSERT INTO oauth2_clients (oauth2_client_id, token_endpoint_auth_method, redirect_uris, grant_types,
             metadata, is_static, created_at)
         VALUES ('$1', 'none', '[]', '[]', '$2', 0, $(now_ms))" >/dev/null
}

# session N CLIENT USER SCOPE [EXPIRES_IN_MS [REVOKED_AT [FINISHED_AT]]]: an OAuth session and one
# access token, whose clear text is printed. USER "" for a session without a user.
session()
{
    local n=$1 now tok user=NULL revoked=${6:-NULL} finished=${7:-NULL}
    now=$(now_ms)
    tok=$(mas_token mat)
    [ -n "$3" ] && user="'$3'"
    sql "INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, scope, created_at, finished_at)
         VALUES ('01J00000000000000000000SE$n', '$2', $user, '$4', $now, $finished);
         INSERT INTO oauth2_access_tokens (oauth2_access_token_id, oauth2_session_id, token_hash, created_at,
                 expires_at, revoked_at)
         VALUES ('01J00000000000000000000AC$n', '01J00000000000000000000SE$n', '$(sha256 "$tok")', $now,
                 $((now + ${5:-300000})), $revoked);" >/dev/null
    echo "$tok"
}

# ok_plain NAME: 200, the JSON answer for alice, never cached.
ok_plain()
{
    expect_eq "$(status "$T/$1.h")" 200 || { cat "$T/$1.b"; return 1; }
    expect_match "$(header "$T/$1.h" content-type)" '^application/json' || return 1
    expect_eq "$(header "$T/$1.h" cache-control)" no-store || return 1
    expect_eq "$(cat "$T/$1.b")" "{\"sub\":\"$USER_ID\",\"username\":\"alice\"}"
}

# refused NAME STATUS ERROR: an OAuth error with a Bearer challenge naming ERROR.
refused()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; return 1; }
    json_expect "$T/$1.b" "d.error === '$3' && typeof d.error_description === 'string'" || return 1
    expect_match "$(header "$T/$1.h" www-authenticate)" "^Bearer realm=\"http://127\\.0\\.0\\.1:[0-9]+/\", error=\"$3\"\$"
}

# signed NAME CLIENT ALG KID: 200, application/jwt, verified with the served JWKS: by `jose`,
# or for ES256K (which `jose` does not take: WebCrypto has no secp256k1) by node:crypto with the
# JWK and IEEE P1363 (r || s) signatures; then the header and every claim.
signed()
{
    expect_eq "$(status "$T/$1.h")" 200 || { cat "$T/$1.b"; return 1; }
    expect_eq "$(header "$T/$1.h" content-type)" application/jwt || return 1
    (cd "$NODE_DIR" && node --input-type=module -e '
        import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, decodeJwt } from "jose";
        import crypto from "crypto";
        import fs from "fs";
        const [file, jwksFile, iss, aud, alg, kid, sub] = process.argv.slice(1);
        const jwt = fs.readFileSync(file, "utf8"), jwks = JSON.parse(fs.readFileSync(jwksFile, "utf8"));
        let payload, protectedHeader;
        if (alg === "ES256K") {
            protectedHeader = decodeProtectedHeader(jwt);
            const jwk = jwks.keys.find((k) => k.kid === protectedHeader.kid);
            const [h, p, s] = jwt.split(".");
            const ok = protectedHeader.alg === alg && crypto.verify("sha256", Buffer.from(h + "." + p),
                { key: crypto.createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" },
                Buffer.from(s, "base64url"));
            if (!ok) { console.log("ES256K signature does not verify"); process.exit(1); }
            payload = decodeJwt(jwt);
        } else {
            ({ payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks),
                { issuer: iss, audience: aud, algorithms: [alg] }));
        }
        const want = { iss, aud, sub, username: "alice" };
        if (JSON.stringify(payload) !== JSON.stringify(want) || protectedHeader.kid !== kid
            || Object.keys(protectedHeader).join() !== "alg,kid") {
            console.log(JSON.stringify({ payload, protectedHeader }));
            process.exit(1);
        }' "$T/$1.b" "$T/keys.b" "$BASE/" "$2" "$3" "$4" "$USER_ID")
}

first_used() { sql "SELECT first_used_at FROM oauth2_access_tokens WHERE oauth2_access_token_id = '01J00000000000000000000AC$1'"; }

backend_tests()
{
    local B=$1
    BACKEND=$B
    DB_URI=$2
    note "backend: $B"
    PORT=$(free_port)
    BASE=http://127.0.0.1:$PORT
    U=$BASE/oauth2/userinfo
    CFG=$T/$B.yaml
    config "$2" "$PORT" >"$CFG"
    check "[$B] masctl database migrate" masctl database migrate
    check "[$B] masctl config sync" expect_match "$(masctl config sync 2>&1)" '^wrote 1 client'
    check "[$B] masctl register-user alice" masctl manage register-user alice -p "$PASSWORD" -y
    USER_ID=$(sql "SELECT user_id FROM users WHERE username = 'alice'")
    client "$K1_ID" '{"userinfo_signed_response_alg":"ES256K"}'
    client "$PS_ID" '{"userinfo_signed_response_alg":"PS256","client_name":"x"}'
    client "$HS_ID" '{"userinfo_signed_response_alg":"HS256"}'
    client "$ES_ID" '{"userinfo_signed_response_alg":"ES384"}'
    local A K P E H NO_OPENID EXPIRED REVOKED FINISHED NOUSER past
    past=$(($(now_ms) - 1000))
    A=$(session 1 "$PLAIN_ID" "$USER_ID" 'urn:matrix:client:api:* openid')
    K=$(session 2 "$K1_ID" "$USER_ID" 'openid')
    P=$(session 3 "$PS_ID" "$USER_ID" 'openid urn:matrix:client:api:*')
    H=$(session 4 "$HS_ID" "$USER_ID" 'openid')
    NO_OPENID=$(session 5 "$PLAIN_ID" "$USER_ID" 'urn:matrix:client:api:* openid2')
    EXPIRED=$(session 6 "$PLAIN_ID" "$USER_ID" 'openid' -1000)
    REVOKED=$(session 7 "$PLAIN_ID" "$USER_ID" 'openid' 300000 "$past")
    FINISHED=$(session 8 "$PLAIN_ID" "$USER_ID" 'openid' 300000 NULL "$past")
    NOUSER=$(session 9 "$PLAIN_ID" "" 'openid')
    E=$(session A "$ES_ID" "$USER_ID" 'openid')
    masd_start "oauth-$B" "$OAUTH_BIN" "$CFG" "127.0.0.1:$PORT" || return 0
    http keys "$BASE/oauth2/keys.json"

    check "[$B] no call yet: the token is unused" expect_eq "$(first_used 1)" ""
    http a "$U" -H "Authorization: Bearer $A"
    check "[$B] GET with a Bearer header: 200 {sub, username}" ok_plain a
    local used
    used=$(first_used 1)
    check "[$B] the first call marks the access token used" expect_match "$used" '^[0-9]+$'
    sleep 0.01
    http a "$U" -X POST -H "Authorization: Bearer $A"
    check "[$B] POST with a Bearer header: 200" ok_plain a
    check "[$B] a second call writes nothing (first_used_at unchanged)" expect_eq "$(first_used 1)" "$used"
    http a "$U" -X POST --data-urlencode "access_token=$A"
    check "[$B] POST with access_token in the form: 200" ok_plain a
    http a "$U?access_token=$A"
    check "[$B] GET with access_token in the query (RFC 6750 §2.3): 200" ok_plain a

    http b "$U" -X POST -H "Authorization: Bearer $A" --data-urlencode "access_token=$A"
    check "[$B] token in the header and the form: 400 invalid_request" refused b 400 invalid_request
    http b "$U"
    check "[$B] no token: 400 invalid_request" refused b 400 invalid_request
    http b "$U" -H "Authorization: Bearer $A" -H "Authorization: Bearer $A"
    check "[$B] two Authorization headers: 400 invalid_request" refused b 400 invalid_request
    http b "$U" -H "Authorization: Basic YTpi"
    check "[$B] Basic credentials: 400 invalid_request" refused b 400 invalid_request
    http b "$U" -X POST --data-urlencode "access_token=$A" --data-urlencode "access_token=$A"
    check "[$B] access_token twice: 400 invalid_request" refused b 400 invalid_request

    local name tok
    for name in NO_OPENID EXPIRED REVOKED FINISHED NOUSER; do
        tok=${!name}
        http c "$U" -H "Authorization: Bearer $tok"
        check "[$B] $name: 401 invalid_token" refused c 401 invalid_token
    done
    http c "$U" -H "Authorization: Bearer $(mas_token mat)"
    check "[$B] an unknown access token: 401 invalid_token" refused c 401 invalid_token
    http c "$U" -H "Authorization: Bearer $(mas_token mct)"
    check "[$B] a compat access token: 401 invalid_token" refused c 401 invalid_token
    http c "$U" -H "Authorization: Bearer garbage"
    check "[$B] garbage: 401 invalid_token" refused c 401 invalid_token
    check "[$B] refused tokens are not marked used" \
        expect_eq "$(sql "SELECT COUNT(*) FROM oauth2_access_tokens WHERE first_used_at IS NOT NULL")" 1
    sql "UPDATE users SET locked_at = $(now_ms) WHERE username = 'alice'" >/dev/null
    http c "$U" -H "Authorization: Bearer $A"
    check "[$B] a locked user: 401 invalid_token" refused c 401 invalid_token
    sql "UPDATE users SET locked_at = NULL WHERE username = 'alice'" >/dev/null
    http a "$U" -H "Authorization: Bearer $A"
    check "[$B] unlocked: 200 again" ok_plain a

    http s "$U" -H "Authorization: Bearer $K"
    check "[$B] userinfo_signed_response_alg ES256K: a JWT node:crypto verifies (iss, aud, sub, username; kid)" \
        signed s "$K1_ID" ES256K k1-key
    http s "$U" -X POST --data-urlencode "access_token=$P"
    check "[$B] userinfo_signed_response_alg PS256: a JWT jose verifies, signed by the RSA key" \
        signed s "$PS_ID" PS256 rsa-key
    http s "$U?access_token=$E"
    check "[$B] userinfo_signed_response_alg ES384: a JWT jose verifies, signed by the P-384 key" \
        signed s "$ES_ID" ES384 p384-key
    http s "$U" -H "Authorization: Bearer $H"
    check "[$B] an alg no key supports (HS256): 500 server_error" \
        eval "[ \"\$(status $T/s.h)\" = 500 ] && grep -q '\"error\":\"server_error\"' $T/s.b"

    http o "$U" -X OPTIONS -H 'origin: https://app.example' -H 'access-control-request-method: POST' \
        -H 'access-control-request-headers: authorization'
    check "[$B] CORS preflight: 204 with allow-origin *" \
        eval "[ \"\$(status $T/o.h)\" = 204 ] && [ \"\$(header $T/o.h access-control-allow-origin)\" = '*' ]"
    http o "$U" -H 'origin: https://app.example' -H "Authorization: Bearer $A"
    check "[$B] CORS on the answer: allow-origin *" expect_eq "$(header "$T/o.h" access-control-allow-origin)" '*'
    http m "$U" -X PUT -H "Authorization: Bearer $A"
    check "[$B] PUT: 405 with Allow" eval "[ \"\$(status $T/m.h)\" = 405 ] && [ -n \"\$(header $T/m.h allow)\" ]"
    masd_stop "oauth-$B"
}

backend_wanted sqlite && backend_tests sqlite "sqlite://$T/masd.db"

pg_database userinfo && backend_tests postgresql "$PG_DB_URI"

finish
