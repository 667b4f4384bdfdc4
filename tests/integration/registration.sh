#!/usr/bin/env bash
# POST /oauth2/registration (RFC 7591, MSC2966) through masd-oauth on loopback: every rule of
# MAS's (the JSON body, the field shapes, the coherence rules, the public suffixes, the default
# client_registration policy and its policy.data flags), the secrets, the deduplication of
# secret-less clients, CORS, and a registered native client then used at /authorize through
# masd-human (a 303 to the login). On SQLite and, when MASD_TEST_PG_URI is set, on PostgreSQL.
. "$(dirname "$0")/lib.sh"
MASCTL_BIN=$BUILD/tools/masctl
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
HUMAN_BIN=$BUILD/services/human/masd-human
require_binaries "$MASCTL_BIN" "$OAUTH_BIN" "$HUMAN_BIN"
command -v node >/dev/null || { fail_check "node is installed" "apt-get install nodejs"; finish; }

SECRET='homeserver-shared-secret-0123456789'
homeserver_start "$SECRET" example.org || finish

# config URI OAUTH-PORT HUMAN-PORT [POLICY-DATA-YAML]
config()
{
    cat <<YAML
http:
  public_base: http://127.0.0.1:$2/
  listeners:
    - name: oauth
      resources: [{name: oauth}]
      binds: [{address: "127.0.0.1:$2"}]
    - name: human
      resources: [{name: human}]
      binds: [{address: "127.0.0.1:$3"}]
database:
  uri: "$1"
matrix:
  homeserver: example.org
  secret: "$SECRET"
  endpoint: "$HS_ENDPOINT"
${4:-}
$(secrets_yaml)
YAML
}

masctl() { timeout 60 "$MASCTL_BIN" -c "$CFG" "$@" </dev/null; }

sql() # QUERY
{
    if [ "$BACKEND" = sqlite ]; then sqlite3 "${DB_URI#sqlite://}" "$1"; else psql -X -q -t -A "$DB_URI" -c "$1"; fi
}

# register NAME JSON [curl args]: POST the JSON body
register()
{
    local name=$1 body=$2
    shift 2
    http "$name" -X POST "$BASE/oauth2/registration" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# refused NAME STATUS ERROR DESCRIPTION-REGEX
refused()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; echo; return 1; }
    json_expect "$T/$1.b" "d.error === '$3'" || return 1
    expect_match "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).error_description)' "$T/$1.b")" "$4"
}

created() # NAME JS-EXPRESSION
{
    expect_eq "$(status "$T/$1.h")" 201 || { cat "$T/$1.b"; echo; return 1; }
    expect_eq "$(header "$T/$1.h" cache-control)" no-store || return 1
    json_expect "$T/$1.b" "${2:-true}"
}

field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]])' "$T/$1.b" "$2"; }

C='"client_uri": "https://example.com/"'
NATIVE='{"application_type": "native", "client_uri": "https://example.com/", "token_endpoint_auth_method": "none", "client_name": "Native", "client_name#fr": "Natif", "redirect_uris": ["http://127.0.0.1/callback", "com.example.app:/cb"]}'

backend_tests()
{
    local B=$1
    BACKEND=$B
    DB_URI=$2
    note "backend: $B"
    PORT=$(free_port)
    HPORT=$(free_port)
    BASE=http://127.0.0.1:$PORT
    CFG=$T/$B.yaml
    config "$2" "$PORT" "$HPORT" >"$CFG"
    check "[$B] masctl database migrate" masctl database migrate
    masd_start "oauth-$B" "$OAUTH_BIN" "$CFG" "127.0.0.1:$PORT" || return 0
    masd_start "human-$B" "$HUMAN_BIN" "$CFG" "127.0.0.1:$HPORT" || return 0

    # the body
    register b1 'this is not a json'
    check "[$B] not JSON: 400 invalid_request" refused b1 400 invalid_request 'JSON object'
    register b2 '{"client_uri": "https://a.com/", "client_uri": "https://b.com/"}'
    check "[$B] a duplicate key: 400 invalid_request" refused b2 400 invalid_request 'duplicate'
    http b3 -X POST "$BASE/oauth2/registration" -H 'Content-Type: text/plain' --data-binary '{}'
    check "[$B] Content-Type text/plain: 400 invalid_request" refused b3 400 invalid_request 'Content-Type'
    register b4 '[1]'
    check "[$B] not an object: 400 invalid_client_metadata" refused b4 400 invalid_client_metadata 'JSON object'
    # the fields
    register f1 '{"client_uri": "this is not a uri"}'
    check "[$B] client_uri not a URL: invalid_client_metadata" refused f1 400 invalid_client_metadata 'client_uri must be an absolute URL'
    register f2 "{$C, \"contacts\": \"x\"}"
    check "[$B] contacts not an array" refused f2 400 invalid_client_metadata 'contacts must be an array'
    register f3 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"token_endpoint_auth_method\": \"tls_client_auth\"}"
    check "[$B] an unknown auth method" refused f3 400 invalid_client_metadata 'token_endpoint_auth_method must be one of'
    register f4 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"client_name#fr\": \"x\"}"
    check "[$B] a localized name without the plain one" refused f4 400 invalid_client_metadata "needs the field 'client_name'"
    # MAS's validate
    register v1 "{$C}"
    check "[$B] no redirect_uris for authorization_code: invalid_redirect_uri" refused v1 400 invalid_redirect_uri 'redirect_uris is missing'
    register v2 "{$C, \"redirect_uris\": [\"https://example.com/#x\"]}"
    check "[$B] a fragment: invalid_redirect_uri" refused v2 400 invalid_redirect_uri 'fragment'
    register v3 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"response_types\": [\"id_token\"], \"grant_types\": [\"authorization_code\"]}"
    check "[$B] incoherent response types" refused v3 400 invalid_client_metadata 'does not go with the grant_types'
    register v4 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"jwks\": {\"keys\": []}, \"jwks_uri\": \"https://example.com/j\"}"
    check "[$B] jwks and jwks_uri" refused v4 400 invalid_client_metadata 'mutually exclusive'
    register v5 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"token_endpoint_auth_method\": \"private_key_jwt\", \"token_endpoint_auth_signing_alg\": \"ES256\"}"
    check "[$B] private_key_jwt without keys" refused v5 400 invalid_client_metadata 'send jwks or jwks_uri'
    register v6 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"token_endpoint_auth_method\": \"client_secret_jwt\"}"
    check "[$B] client_secret_jwt without an algorithm" refused v6 400 invalid_client_metadata 'needs token_endpoint_auth_signing_alg'
    register v7 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"id_token_signed_response_alg\": \"HS256\"}"
    check "[$B] an ID token algorithm masd cannot sign with" refused v7 400 invalid_client_metadata 'id_token_signed_response_alg must be one of'
    register v8 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"grant_types\": [\"implicit\"], \"response_types\": [\"id_token\"], \"id_token_signed_response_alg\": \"none\"}"
    check "[$B] unsigned ID tokens with an id_token response type" refused v8 400 invalid_client_metadata 'may not be none'
    register v9 "{$C, \"redirect_uris\": [\"https://example.com/\"], \"initiate_login_uri\": \"http://example.com/\"}"
    check "[$B] initiate_login_uri over http" refused v9 400 invalid_client_metadata 'initiate_login_uri must use https'
    # public suffixes
    register p1 '{"client_uri": "https://github.io/", "redirect_uris": ["https://github.io/"], "token_endpoint_auth_method": "client_secret_basic"}'
    check "[$B] a public suffix as client_uri" refused p1 400 invalid_client_metadata 'client_uri is not using a valid domain'
    register p2 "{$C, \"client_uri#fr-FR\": \"https://github.io/\", \"redirect_uris\": [\"https://example.com/\"]}"
    check "[$B] ... in a localized client_uri" refused p2 400 invalid_client_metadata 'client_uri is not using a valid domain'
    register p3 '{"application_type": "native", "client_uri": "https://example.com/", "redirect_uris": ["https://co.uk/cb"]}'
    check "[$B] a redirect URI on a public suffix: invalid_redirect_uri" refused p3 400 invalid_redirect_uri 'redirect_uri is not using a valid domain'
    # the policy
    register q1 '{"grant_types": ["client_credentials"]}'
    check "[$B] policy: missing client_uri" refused q1 400 invalid_client_metadata 'missing client_uri'
    register q2 '{"application_type": "web", "client_uri": "https://example.com/", "redirect_uris": ["http://this-is-insecure.com/"]}'
    check "[$B] policy: an insecure web redirect URI, named" refused q2 400 invalid_redirect_uri "invalid redirect_uri 'http://this-is-insecure.com/'"
    register q3 "{$C, \"tos_uri\": \"http://example.com/tos\", \"logo_uri\": \"https://example.org/l.png\", \"grant_types\": [\"client_credentials\"]}"
    check "[$B] policy: every violation at once" refused q3 400 invalid_client_metadata 'invalid tos_uri; logo_uri not on the same host as the client_uri'
    register q4 "{$C, \"grant_types\": [\"client_credentials\"], \"token_endpoint_auth_method\": \"none\"}"
    check "[$B] policy: client_credentials needs authentication" refused q4 400 invalid_client_metadata 'requires some form of client authentication'
    register q5 '{"application_type": "native", "client_uri": "https://example.com/", "redirect_uris": ["org.example.app:/cb"]}'
    check "[$B] policy: a native scheme not under the client_uri" refused q5 400 invalid_redirect_uri 'invalid redirect_uri'

    # successes: secrets
    register s1 "{$C, \"redirect_uris\": [\"https://example.com/cb\"], \"token_endpoint_auth_method\": \"client_secret_post\"}"
    check "[$B] client_secret_post: 201 with a 20-character secret that never expires" created s1 \
        "/^[A-Za-z0-9]{20}\$/.test(d.client_secret) && d.client_secret_expires_at === 0 && /^[0-9A-Z]{26}\$/.test(d.client_id) && d.client_id_issued_at > 1700000000 && d.token_endpoint_auth_method === 'client_secret_post' && d.grant_types.join() === 'authorization_code' && d.redirect_uris.join() === 'https://example.com/cb' && d.client_uri === 'https://example.com/'"
    local S1_ID S1_SECRET
    S1_ID=$(field s1 client_id)
    S1_SECRET=$(field s1 client_secret)
    local SEALED
    SEALED=$(sql "SELECT encrypted_client_secret FROM oauth2_clients WHERE oauth2_client_id = '$S1_ID'")
    check "[$B] the secret is stored sealed, never in clear" expect_match "$([ "$SEALED" != "$S1_SECRET" ] && echo "$SEALED")" '^[A-Za-z0-9_-]{40,}$' 
    register s2 "{$C, \"redirect_uris\": [\"https://example.com/cb\"], \"token_endpoint_auth_method\": \"client_secret_post\"}"
    check "[$B] the same request with a secret: another client" created s2 "d.client_id !== '$S1_ID' && d.client_secret !== '$S1_SECRET'"
    register s3 "{$C, \"redirect_uris\": [\"https://example.com/cb\"]}"
    check "[$B] no method: client_secret_basic (RFC 7591 §2), with a secret" created s3 \
        "d.token_endpoint_auth_method === 'client_secret_basic' && d.client_secret.length === 20"
    # the secret authenticates the client (revocation of an unknown token: 200)
    http s4 -X POST "$BASE/oauth2/revoke" --data-urlencode "token=garbage" --data-urlencode "client_id=$S1_ID" --data-urlencode "client_secret=$S1_SECRET"
    check "[$B] the registered secret authenticates at /oauth2/revoke" expect_eq "$(status "$T/s4.h")" 200
    http s5 -X POST "$BASE/oauth2/revoke" --data-urlencode "token=garbage" --data-urlencode "client_id=$S1_ID" --data-urlencode "client_secret=wrong"
    check "[$B] a wrong one does not" expect_eq "$(status "$T/s5.h")" 401

    # deduplication
    register d1 "$NATIVE"
    check "[$B] a native public client: 201 without a secret, localized name kept" created d1 \
        "d.client_secret === undefined && d.client_secret_expires_at === undefined && d.client_name === 'Native' && d['client_name#fr'] === 'Natif' && d.application_type === 'native'"
    local NATIVE_ID
    NATIVE_ID=$(field d1 client_id)
    register d2 '{"redirect_uris": ["com.example.app:/cb", "http://127.0.0.1/callback"], "client_name#fr": "Natif", "client_name": "Native", "token_endpoint_auth_method": "none", "client_uri": "https://example.com/", "application_type": "native"}'
    check "[$B] the same metadata in another order: the same client_id" created d2 "d.client_id === '$NATIVE_ID'"
    register d3 '{"application_type": "native", "client_uri": "https://example.com/", "token_endpoint_auth_method": "none", "client_name": "Other", "redirect_uris": ["http://127.0.0.1/callback"]}'
    check "[$B] other metadata: another client_id" created d3 "d.client_id !== '$NATIVE_ID'"
    check "[$B] one row for the deduplicated client" expect_eq "$(sql "SELECT COUNT(*) FROM oauth2_clients WHERE metadata LIKE '%\"client_name\":\"Native\"%'")" 1

    # device code: kept while enabled (the default)
    register dc "{$C, \"token_endpoint_auth_method\": \"none\", \"grant_types\": [\"urn:ietf:params:oauth:grant-type:device_code\"], \"response_types\": []}"
    check "[$B] the device code grant is kept when enabled" created dc "d.grant_types.join() === 'urn:ietf:params:oauth:grant-type:device_code' && d.redirect_uris.length === 0"

    # CORS like the other OAuth endpoints
    http o1 -X OPTIONS "$BASE/oauth2/registration" -H 'Origin: https://app.example.net' -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type'
    check "[$B] CORS preflight" expect_match "$(status "$T/o1.h") $(header "$T/o1.h" access-control-allow-origin)" '^(200|204) '
    register o2 "$NATIVE" -H 'Origin: https://app.example.net'
    check "[$B] CORS on the answer" expect_match "$(header "$T/o2.h" access-control-allow-origin)" '.'
    http o3 "$BASE/oauth2/registration"
    check "[$B] GET: 405" expect_eq "$(status "$T/o3.h")" 405

    # the registered native client at /authorize (masd-human): a loopback redirect URI on any port
    http a1 "http://127.0.0.1:$HPORT/authorize?client_id=$NATIVE_ID&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A43210%2Fcallback&scope=openid&state=xyz"
    check "[$B] /authorize with the registered client: 303 to the login" expect_match "$(status "$T/a1.h") $(header "$T/a1.h" location)" '^30[23] .*/login\?'
    http a2 "http://127.0.0.1:$HPORT/authorize?client_id=$NATIVE_ID&response_type=code&redirect_uri=com.example.app%3A%2Fcb&scope=openid"
    check "[$B] ... and its private-use scheme" expect_match "$(status "$T/a2.h")" '^30[23]$'
    http a3 "http://127.0.0.1:$HPORT/authorize?client_id=$NATIVE_ID&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=openid"
    check "[$B] ... but not an unregistered redirect URI" expect_eq "$(status "$T/a3.h")" 400
    masd_stop "human-$B"
    masd_stop "oauth-$B"

    # policy.data's flags, and the device code disabled
    config "$2" "$PORT" "$HPORT" "policy:
  data:
    client_registration: {allow_insecure_uris: true, allow_host_mismatch: true, allow_missing_client_uri: true}
oauth:
  device_code_grant_enabled: false" >"$CFG"
    masd_start "oauth2-$B" "$OAUTH_BIN" "$CFG" "127.0.0.1:$PORT" || return 0
    register g1 '{"client_uri": "http://localhost:8080/", "redirect_uris": ["http://example.org/cb"], "tos_uri": "http://other.net/tos"}'
    check "[$B] allow_insecure_uris and allow_host_mismatch" created g1
    register g2 '{"grant_types": ["client_credentials"]}'
    check "[$B] allow_missing_client_uri" created g2
    register g3 "{$C, \"token_endpoint_auth_method\": \"none\", \"grant_types\": [\"urn:ietf:params:oauth:grant-type:device_code\"], \"response_types\": []}"
    check "[$B] device code disabled: dropped silently (MAS's snapshot)" created g3 "d.grant_types.length === 0 && d.redirect_uris.length === 0 && d.token_endpoint_auth_method === 'none'"
    masd_stop "oauth2-$B"
}

backend_wanted sqlite && backend_tests sqlite "sqlite://$T/masd.db"

pg_database registration && backend_tests postgresql "$PG_DB_URI"

finish
