#!/usr/bin/env bash
# masd-human's GraphQL API at /graphql (resource `graphql`, docs/graphql.md "The endpoint")
# through the shipped nginx configuration, on SQLite and on PostgreSQL (MASD_TEST_PG_URI):
#   - tests/node/graphql_endpoint.mjs, whose every document graphql-js 16 validates against the
#     schema masd introspects (tests/node/gql_client.mjs): who asks (anonymous; the session cookie
#     of a real login at /login; a signed-out session's cookie; Bearer tokens from the
#     client_credentials grant with urn:mas:graphql:*, with urn:mas:admin, without the scope,
#     revoked, unknown, on a listener without undocumented_oauth2_access); the CSRF rule for the
#     cookie (Origin missing, foreign, another port, null, twice; text/plain and form bodies;
#     GET with Origin or Sec-Fetch-Site); mutations over GET (405); the caps (depth, aliases,
#     page size, complexity, document size); introspection turned off on a listener; IDs and
#     cursors (invalid ones, another's objects null); paging over e-mail addresses forwards and
#     backwards; siteConfig from the configuration; Cache-Control: no-store; graphql-http's
#     auditServer against /graphql through nginx (every MUST; the SHOULDs counted);
#     createOauth2Session (an admin's tokens for alice: introspected at /oauth2/introspect as the
#     homeserver does, its device upserted on the stand-in homeserver first; permanent; refused
#     for a non-admin token, a cookie, a bad scope or ID, an unknown or locked user, too many
#     devices, and when the homeserver fails the device);
#   - Chromium on another origin of the same site (same host, another port: the session
#     cookie, SameSite=Lax, goes along) attacks with a form post and fetches: refused (403), and
#     nothing it sends reaches a resolver.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN"
[ -d "$NODE_DIR/node_modules/graphql-http" ] || { fail_check "graphql-http in tests/node" "npm ci in tests/node"; finish; }
for tool in sqlite3 psql; do
    command -v $tool >/dev/null || { fail_check "$tool is installed" "tools/packages --install test"; finish; }
done

NG=$(free_port)
BASE=https://127.0.0.1:$NG
PW='correct horse battery staple'
CC=01HQ8Z4ZQ0ABCDEFGHJKMNPGQ1  # confidential, client_credentials
ADMIN=01HQ8Z4ZQ0ABCDEFGHJKMNPADM # the same, listed in policy.data.admin_clients
SECRET=graphql-test-client-secret
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
HS_SECRET=graphql-test-homeserver-secret
make_cert auth.example.com
homeserver_start "$HS_SECRET" || finish

# config FILE DATABASE-URI
config()
{
    cat >"$1" <<EOF
http:
  public_base: $BASE/
  listeners:
    - name: human
      resources: [{name: human}, {name: graphql, undocumented_oauth2_access: true}]
      binds: [{socket: $T/run/human.sock, mode: "666"}]
    - name: strict
      resources: [{name: graphql, introspection: false}]
      binds: [{socket: $T/run/human-strict.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}]
      binds: [{socket: $T/run/oauth.sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
passwords:
  minimum_complexity: 2
account:
  email_change_allowed: false
  account_deactivation_allowed: false
  password_registration_enabled: true
  login_with_email_allowed: true
branding:
  tos_uri: https://example.com/tos
  imprint: Imprint
captcha:
  service: cloudflare_turnstile
  site_key: site-key-1
  secret_key: secret-key-1
experimental:
  plan_management_iframe_uri: https://plans.example.com/
  session_limit: {soft_limit: 5, hard_limit: 10}
policy:
  data:
    admin_clients: [$ADMIN]
clients:
  - client_id: $CC
    client_auth_method: client_secret_basic
    client_secret: "$SECRET"
    client_name: GraphQL tester
    redirect_uris: [https://app.example.com/cb]
  - client_id: $ADMIN
    client_auth_method: client_secret_basic
    client_secret: "$SECRET"
$(secrets_yaml)
EOF
}

render_nginx_snippets "$T/nginx/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
    -e '/listen \[::\]:443/d'
nginx_main_conf "$T/nginx" "
    include $T/nginx/masd/masd-upstreams-unix.conf;
    include $T/nginx/masd/masd.conf;"
nginx_start nginx "$T/nginx" 127.0.0.1:$NG || finish

req() { local name=$1; shift; local path=${*: -1}; http "$name" --cacert "$T/tls/cert.pem" "${@:1:$#-1}" "$BASE$path"; }
cookies() { awk -F'\t' 'NF >= 7 { printf "%s%s=%s", n++ ? "; " : "", $6, $7 }' "$1"; }
js() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]) ?? "")' "$1"; }
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
sql()
{
    if [ "$BACKEND" = sqlite ]; then sqlite3 "${DB_URI#sqlite://}" "$1"; else psql -X -q -t -A "$DB_URI" -c "$1"; fi
}
# signin JAR USER: a browser session in the cookie jar.
signin()
{
    req si-$2 -b "$1" -c "$1" /login >/dev/null || return 1
    req so-$2 -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of si-$2)" --data-urlencode "username=$2" \
        --data-urlencode "password=$PW" /login
    [ "$(status "$T/so-$2.h")" = 303 ]
}
# token NAME CLIENT SCOPE: an access token from the client_credentials grant.
token()
{
    req "$1" -u "$2:$SECRET" -d grant_type=client_credentials --data-urlencode "scope=$3" /oauth2/token
    js d.access_token <"$T/$1.b"
}
# The session's ID of an access token.
session_of() { sql "SELECT oauth2_session_id FROM oauth2_access_tokens WHERE token_hash = '$(sha256 "$1")'"; }

run_backend()
{
    BACKEND=$1 DB_URI=$2
    local b=$BACKEND
    config "$T/$b.yaml" "$DB_URI"
    local M=("$MASCTL_BIN" -c "$T/$b.yaml")
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity \
            -e alice1@example.com -e alice2@example.com -e alice3@example.com -e alice4@example.com \
            -e alice5@example.com alice &&
        "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity -e bob@example.com bob &&
        "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity carol; } \
        >"$T/$b-masctl.log" 2>&1; then
        fail_check "$b: masctl sets up the database" "$(tail -n 20 "$T/$b-masctl.log")"
        return
    fi
    masd_start "human-$b" "$HUMAN_BIN" "$T/$b.yaml" "$T/run/human.sock" "$T/run/human-strict.sock" || return
    masd_start "oauth-$b" "$OAUTH_BIN" "$T/$b.yaml" "$T/run/oauth.sock" || return

    local alice_id bob_id emails bob_email
    alice_id=$(sql "SELECT user_id FROM users WHERE username = 'alice'")
    bob_id=$(sql "SELECT user_id FROM users WHERE username = 'bob'")
    emails=$(sql "SELECT user_email_id || ' ' || email FROM user_emails WHERE user_id = '$alice_id' ORDER BY user_email_id" |
        awk '{ printf "%s{\"id\":\"%s\",\"email\":\"%s\"}", (NR > 1 ? "," : ""), $1, $2 }')
    bob_email=$(sql "SELECT user_email_id FROM user_emails WHERE user_id = '$bob_id'")
    # carol is locked: createOauth2Session refuses her
    local carol_id
    carol_id=$(sql "SELECT user_id FROM users WHERE username = 'carol'")
    sql "UPDATE users SET locked_at = created_at WHERE user_id = '$carol_id'"

    local JA=$T/$b-jar-alice JB=$T/$b-jar-bob
    check "$b: alice and bob sign in at /login" eval "signin '$JA' alice && signin '$JB' bob"
    # bob's browser session ends: his cookie names a finished session
    sql "UPDATE browser_sessions SET finished_at = created_at + 1 WHERE user_id = '$bob_id'"

    local tok adm mine noscope revoked unknown
    tok=$(token "$b-t1" $CC 'urn:mas:graphql:*')
    adm=$(token "$b-t2" $ADMIN 'urn:mas:graphql:* urn:mas:admin')
    mine=$(token "$b-t3" $CC 'urn:mas:graphql:*')
    noscope=$(token "$b-t4" $CC 'openid')
    revoked=$(token "$b-t5" $CC 'urn:mas:graphql:*')
    unknown=$(token "$b-t6" $CC 'urn:mas:graphql:*')
    check "$b: six access tokens from the client_credentials grant" \
        eval "expect_match '$tok $adm $mine $noscope $revoked $unknown' '^(mat_[A-Za-z0-9_]{37} ){5}mat_[A-Za-z0-9_]{37}\$'"
    # one session becomes alice's (the authorization code flow is token.sh's); one token is
    # revoked; one forgotten by the database
    sql "UPDATE oauth2_sessions SET user_id = '$alice_id' WHERE oauth2_session_id = '$(session_of "$mine")'"
    req "$b-rv" -u "$CC:$SECRET" --data-urlencode "token=$revoked" /oauth2/revoke
    sql "UPDATE oauth2_access_tokens SET token_hash = 'x' || token_hash WHERE token_hash = '$(sha256 "$unknown")'"

    local args line
    args=$(printf '{"url":"%s/graphql","origin":"%s","strictSocket":"%s","token":"%s","adminToken":"%s","aliceToken":"%s","noScopeToken":"%s","revokedToken":"%s","unknownToken":"%s","clientId":"%s","clientName":"GraphQL tester","alice":{"id":"%s","cookie":"%s","emails":[%s]},"bob":{"id":"%s","emailId":"%s"},"finishedCookie":"%s","lockedId":"%s","adminClientId":"%s","hsSecret":"%s","hsRecord":"%s","hsEndpoint":"%s"}' \
        "$BASE" "$BASE" "$T/run/human-strict.sock" "$tok" "$adm" "$mine" "$noscope" "$revoked" "$unknown" "$CC" \
        "$alice_id" "$(cookies "$JA")" "$emails" "$bob_id" "$bob_email" "$(cookies "$JB")" "$carol_id" "$ADMIN" \
        "$HS_SECRET" "$HS_RECORD" "$HS_ENDPOINT")
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/graphql_endpoint.mjs" "$args" >"$T/$b-node.out" 2>&1
    local rc=$?
    while IFS= read -r line; do
        case $line in
        'ok - '*) check "$b: ${line#ok - }" true ;;
        'not ok - '*) check "$b: ${line#not ok - }" eval "grep -A1 -F -- '${line//\'/}' '$T/$b-node.out' | tail -n 1; false" ;;
        '# graphql-http audit:'* | '# '*documents*) note "${line#\# } ($b)" ;;
        esac
    done <"$T/$b-node.out"
    check "$b: graphql_endpoint.mjs ran to the end" eval "[ $rc = 0 ] || grep -q '^not ok' '$T/$b-node.out' || { tail -n 30 '$T/$b-node.out'; false; }"

    # Chromium: the attacks of a page of another origin of the same site
    if [ -x "$CHROMIUM" ]; then
        local mark attack
        mark=$(log_mark "human-$b")
        NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/graphql_csrf.mjs" "$(printf \
            '{"base":"%s","cookie":"%s","chromium":"%s","cert":"%s","key":"%s"}' \
            "$BASE" "$(cookies "$JA")" "$CHROMIUM" "$T/tls/cert.pem" "$T/tls/key.pem")" >"$T/$b-csrf.out" 2>&1
        rc=$?
        while IFS= read -r line; do
            case $line in
            'ok - '*) check "$b: ${line#ok - }" true ;;
            'not ok - '*) check "$b: ${line#not ok - }" eval "grep -A1 -F -- '${line//\'/}' '$T/$b-csrf.out' | tail -n 1; false" ;;
            esac
        done <"$T/$b-csrf.out"
        check "$b: graphql_csrf.mjs ran to the end" eval "[ $rc = 0 ] || grep -q '^not ok' '$T/$b-csrf.out' || { tail -n 30 '$T/$b-csrf.out'; false; }"
        sleep 0.3 # the access log's thread
        attack=$(tail -n +"$((mark + 1))" "${LOG_OF[human-$b]}" | grep -F ': access: ' | grep -F '/graphql')
        check "$b: masd-human's log: the attack's requests with the cookie were refused (403: the form, the no-cors POST, the GETs), the credentialed JSON POST never sent (its preflight allows no credentials)" eval \
            "[ \$(grep -c '\"POST /graphql\" 403' <<<'$attack') = 2 ] && [ \$(grep -c '\"POST /graphql\" 200' <<<'$attack') = 2 ] && [ \$(grep -c '\"GET /graphql\" 403' <<<'$attack') = 2 ] && ! grep -q '\"GET /graphql\" 200' <<<'$attack' || { echo '$attack'; false; }"
    fi

    # nginx: a body over the location's 80 KiB is refused before masd-human
    head -c 90000 /dev/zero | tr '\0' ' ' >"$T/big.json"
    req "$b-big" -H 'Content-Type: application/json' --data-binary "@$T/big.json" /graphql
    check "$b: a body over 80 KiB: 413 from nginx" expect_eq "$(status "$T/$b-big.h")" 413

    masd_stop "human-$b"
    masd_stop "oauth-$b"
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database graphql && run_backend pg "$PG_DB_URI"

stop nginx
grep -v 'client intended to send too large body' "$T/nginx/error.log" >"$T/nginx-errors.log"
check "nginx logged no upstream error (but the 413s)" expect_file_lacks "$T/nginx-errors.log" '\[(error|crit|alert|emerg)\]'
finish
