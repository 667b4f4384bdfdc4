#!/usr/bin/env bash
# Back-channel logout from an upstream provider (docs/upstream-oauth.md, "Back-channel logout"),
# through the shipped nginx configuration, with a real OpenID Provider (tests/node/idp.mjs:
# oidc-provider, which posts its logout tokens to masd through nginx), masd-oauth, masd-worker and
# the stand-in homeserver, on SQLite and, when MASD_TEST_PG_URI is set, on PostgreSQL:
#   - alice signs in to a legacy Matrix client through the IdP (compat SSO: login/sso/redirect/
#     {idp}, the IdP's login, a new account from its claims, the confirmation, m.login.token);
#     she signs out at the IdP (RP-initiated logout): the IdP's logout token ends her browser
#     session and the compat session started from it (on_backchannel_logout: logout_all), and
#     masd-worker tells the homeserver (sync_devices without the device);
#   - bob the same through a provider with logout_browser_only: the IdP's logout ends his browser
#     session only; his compat session goes on, and nothing is queued;
#   - tokens crafted with the IdP's own keys, one defect each, are 400 invalid_request in JSON and
#     end nothing: wrong aud, wrong iss, a nonce, neither sub nor sid, no event, an event that is
#     not an object, expired, issued too long ago, no jti, ES256 where RS256 is configured, a
#     tampered payload, alg none; a good token is accepted once and its replay refused; a missing
#     token, a JSON body: 400; an unknown provider: 404; GET: 405.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
WORKER_BIN=$BUILD/services/worker/masd-worker
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$WORKER_BIN" "$MASCTL_BIN" "$ASSETS_BIN"
need_node_modules oidc-provider
need_command sqlite3

HS_SECRET=shared-secret-for-the-homeserver
PA=01JAYS74TCG3BTWKADN5Q4518C # logout_all
PB=01GFWR4BNFDCC4QDG6AMSP1VR1 # logout_browser_only
BCL=http://schemas.openid.net/event/backchannel-logout
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com
mkdir -p "$T/assets"

# provider ID CLIENT MODE
provider()
{
    provider_yaml "$1" "$2" "on_backchannel_logout: $3" 'claims_imports:' '  skip_confirmation: true' \
        '  localpart: { action: require, template: "{{ user.preferred_username }}" }' \
        '  displayname: { action: force, template: "{{ user.name }}" }'
}

# config FILE DB-URI
config()
{
    cat >"$1" <<EOF
$(web_config_yaml "$BASE" "$2" "$T/run/human.sock" "$T/run/oauth.sock")
$(secrets_yaml)
upstream_oauth2:
  providers:
$(provider "$PA" masd logout_all)
$(provider "$PB" masd-b logout_browser_only)
EOF
}

# compat_signin NAME JAR PROVIDER USER: a legacy client's SSO login through the IdP, from
# login/sso/redirect/{idp} to m.login.token; sets ACCESS (the client's access token).
compat_signin()
{
    local name=$1 jar=$2 p=$3 user=$4 sso url cb link reg tok
    ACCESS=
    req "$name-sso" "/_matrix/client/v3/login/sso/redirect/$p?redirectUrl=$(enc https://app.example/done)"
    sso=$(loc "$name-sso" | sed -n "s|^$BASE/upstream/authorize/$p?kind=continue_compat_sso_login&id=\([0-9A-Z]\{26\}\)$|\1|p")
    [ -n "$sso" ] || { echo "sso redirect: $(loc "$name-sso")"; return 1; }
    req "$name-a" -b "$T/$jar" -c "$T/$jar" "/upstream/authorize/$p?kind=continue_compat_sso_login&id=$sso"
    url=$(loc "$name-a")
    cb=$(node "$NODE_DIR/idp.mjs" login "$url" --user "$user" --jar "$T/idp-jar-$user.json" 2>"$T/$name-idp.err") ||
        { cat "$T/$name-idp.err"; return 1; }
    req "$name-c" -b "$T/$jar" -c "$T/$jar" "/${cb#"$BASE"/}"
    link=$(loc "$name-c")
    [[ $link == /upstream/link/* ]] || { echo "callback: $(status "$T/$name-c.h") $link"; return 1; }
    req "$name-l" -b "$T/$jar" -c "$T/$jar" "$link"
    reg=$(loc "$name-l")
    [[ $reg == /register/steps/*/finish ]] || { echo "link page: $(status "$T/$name-l.h") $reg"; return 1; }
    req "$name-f" -b "$T/$jar" -c "$T/$jar" "$reg"
    redirects_to "$name-f" "^/complete-compat-sso/$sso$" || { echo "finish: $(loc "$name-f")"; return 1; }
    req "$name-get" -b "$T/$jar" -c "$T/$jar" "/complete-compat-sso/$sso"
    req "$name-ok" -b "$T/$jar" -c "$T/$jar" --data-urlencode "csrf=$(csrf_of "$name-get")" "/complete-compat-sso/$sso"
    tok=$(loc "$name-ok" | sed -n 's/.*[?&]loginToken=\([A-Za-z0-9]*\).*/\1/p')
    [ -n "$tok" ] || { echo "confirmation: $(status "$T/$name-ok.h") $(loc "$name-ok")"; return 1; }
    req "$name-tok" -H 'content-type: application/json' \
        --data-binary "{\"type\":\"m.login.token\",\"token\":\"$tok\"}" /_matrix/client/v3/login
    ACCESS=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).access_token || "")' "$T/$name-tok.b" 2>/dev/null)
    expect_match "$ACCESS" '^mct_' || { cat "$T/$name-tok.b"; return 1; }
}

# token NAME ALG CLAIMS-JSON [HEADER-JSON]: a logout token signed with the IdP's key for ALG.
token() { node "$NODE_DIR/sign_jwt.mjs" "$T/idp-keys.json" "$2" "$3" "${4:-}" >"$T/$1.jwt"; }
# claims [JS object members overriding the good ones, as JS]: a logout token's claims as JSON.
claims()
{
    node -e 'const now = Math.floor(Date.now() / 1000);
        const c = { iss: process.argv[1], aud: "masd", iat: now, exp: now + 120, jti: require("crypto").randomUUID(),
                    sub: "nobody", events: { [process.argv[2]]: {} } };
        const o = eval("({" + (process.argv[3] || "") + "})");
        for (const [k, v] of Object.entries(o)) { if (v === undefined) delete c[k]; else c[k] = v; }
        console.log(JSON.stringify(c))' "$ISSUER" "$BCL" "${1:-}"
}
# logged NAME MARK REGEX: masd's log line after MARK (log_mark) matching REGEX, waited for (5 s).
logged()
{
    local i
    for i in $(seq 1 100); do
        tail -n +"$(($2 + 1))" "${LOG_OF[$1]}" | grep -Eq -- "$3" && return 0
        sleep 0.05
    done
    tail -n +"$(($2 + 1))" "${LOG_OF[$1]}" | tail -n 10
    return 1
}
# logout NAME PROVIDER TOKEN-FILE: the provider's POST to masd.
logout() { req "$1" --data-urlencode "logout_token=$(cat "$3")" "/upstream/backchannel-logout/$2"; }
# refused NAME STATUS [ERROR]: a JSON error answer.
refused()
{
    expect_eq "$(status "$T/$1.h")" "$2" || return 1
    expect_match "$(header "$T/$1.h" content-type)" '^application/json' || return 1
    expect_match "$(header "$T/$1.h" cache-control)" 'no-store' || return 1
    expect_eq "$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).error' "$T/$1.b")" "${3:-invalid_request}"
}

run_backend()
{
    local b=$1 uri=$2 dir ng
    dir=$T/$b
    ng=$(free_port) IDP_PORT=$(free_port)
    BASE=https://127.0.0.1:$ng
    ISSUER=http://127.0.0.1:$IDP_PORT
    mkdir -p "$dir"
    rm -f "$T"/jar* "$T"/idp-jar-*
    config "$dir/config.yaml" "$uri"
    sql_q() { if [ "$b" = sqlite ]; then sqlite3 "${uri#sqlite://}" "$1"; else psql -X -qAt "$uri" -c "$1"; fi; }
    cat >"$T/idp.json" <<EOF
{"clients": [
  {"client_id": "masd", "client_secret": "masd-secret", "token_endpoint_auth_method": "client_secret_basic",
   "redirect_uris": ["$BASE/upstream/callback/$PA"],
   "backchannel_logout_uri": "$BASE/upstream/backchannel-logout/$PA", "backchannel_logout_session_required": true},
  {"client_id": "masd-b", "client_secret": "masd-b-secret", "token_endpoint_auth_method": "client_secret_basic",
   "redirect_uris": ["$BASE/upstream/callback/$PB"],
   "backchannel_logout_uri": "$BASE/upstream/backchannel-logout/$PB", "backchannel_logout_session_required": true}
]}
EOF
    # the IdP posts its logout tokens to masd through nginx, over TLS with the test certificate
    start_idp "idp-$b" "$b: " || return
    standin_reset "$b"
    masctl_sync "$b" "$dir/config.yaml" "$dir/masctl.log" || return
    web_start "$b" "$dir/config.yaml" "$T/run/human.sock" "$T/run/oauth.sock" || return
    spawn worker-$b "$T/logs/worker-$b.log" "$WORKER_BIN" --config "$dir/config.yaml" --threads 1
    nginx_masd_start nginx-$b "$dir/nginx" "$ng" || return

    # ---- logout_all: alice -----------------------------------------------------------------------
    check "$b: alice signs in to a legacy client through the IdP (compat SSO, a new account, m.login.token)" \
        compat_signin a jarA "$PA" alice
    local ALICE
    ALICE=$(sql_q "SELECT user_id FROM users WHERE username = 'alice'")
    q_alice() { sql_q "SELECT (SELECT count(*) FROM browser_sessions WHERE user_id = '$ALICE' AND finished_at IS NULL) || ' ' ||
        (SELECT count(*) FROM compat_sessions WHERE user_id = '$ALICE' AND finished_at IS NULL AND browser_session_id IS NOT NULL)"; }
    req a-intro0 -H "authorization: Bearer $HS_SECRET" --data-urlencode "token=$ACCESS" /oauth2/introspect
    check "$b: ... her browser session, the compat session it started and its token are active" \
        eval "expect_eq \"\$(q_alice)\" '1 1' && expect_file_contains $T/a-intro0.b '\"active\":true'"
    local H0 M0
    H0=$(wc -l <"$HS_RECORD")
    M0=$(log_mark human-$b)
    node "$NODE_DIR/idp.mjs" end-session "$ISSUER" --jar "$T/idp-jar-alice.json" --client-id masd >"$T/end-a.out" 2>&1
    check "$b: alice signs out at the IdP: it sends masd its logout token, which masd accepts" \
        logged human-$b "$M0" 'back-channel logout \(logout_all\): ended 1 browser, 0 OAuth 2.0, 1 compat session'
    check "$b: ... her browser session and compat session are ended" expect_eq "$(q_alice)" "0 0"
    req a-intro -H "authorization: Bearer $HS_SECRET" --data-urlencode "token=$ACCESS" /oauth2/introspect
    check "$b: ... her client's token is no longer active, as the homeserver asks" \
        eval "expect_eq \"\$(status $T/a-intro.h)\" 200 && expect_file_contains $T/a-intro.b '\"active\":false'"
    hs_synced()
    {
        local i
        for i in $(seq 1 100); do
            tail -n +$((H0 + 1)) "$HS_RECORD" | grep '/sync_devices' | grep -q '"localpart": *"alice"' && return 0
            sleep 0.1
        done
        tail -n 5 "$HS_RECORD"
        return 1
    }
    check "$b: ... and masd-worker tells the homeserver: sync_devices for alice" hs_synced

    # ---- logout_browser_only: bob ----------------------------------------------------------------------
    check "$b: bob signs in to a legacy client through the second IdP client" compat_signin bb jarB "$PB" bob
    local BOB
    BOB=$(sql_q "SELECT user_id FROM users WHERE username = 'bob'")
    q_bob() { sql_q "SELECT (SELECT count(*) FROM browser_sessions WHERE user_id = '$BOB' AND finished_at IS NULL) || ' ' ||
        (SELECT count(*) FROM compat_sessions WHERE user_id = '$BOB' AND finished_at IS NULL)"; }
    M0=$(log_mark human-$b)
    local JOBS0
    q_bob_sync() { sql_q "SELECT count(*) FROM queue_jobs WHERE queue_name = 'sync-devices' AND payload LIKE '%$BOB%'"; }
    # masd-worker's provision-user job (queued at registration) queues a sync-devices of its own
    # when it runs: wait for the queue to settle, so that only the logout could add one
    local i
    for i in $(seq 1 100); do
        [ "$(q_bob_sync)" -ge 1 ] &&
            [ "$(sql_q "SELECT count(*) FROM queue_jobs WHERE status NOT IN ('completed', 'failed')")" = 0 ] && break
        sleep 0.1
    done
    JOBS0=$(q_bob_sync)
    node "$NODE_DIR/idp.mjs" end-session "$ISSUER" --jar "$T/idp-jar-bob.json" --client-id masd-b >"$T/end-b.out" 2>&1
    check "$b: bob signs out at the IdP: logout_browser_only ends his browser session only" \
        eval "logged human-$b '$M0' 'back-channel logout \\(logout_browser_only\\): ended 1 browser, 0 OAuth 2.0, 0 compat' &&
              expect_eq \"\$(q_bob)\" '0 1' && expect_eq \"\$(q_bob_sync)\" '$JOBS0'"

    # ---- crafted tokens ---------------------------------------------------------------------------------
    local c
    c=$(claims) && token good RS256 "$c"
    logout t-good "$PA" "$T/good.jwt"
    check "$b: a good token naming nobody: 200, an empty body, no-store" \
        eval "expect_eq \"\$(status $T/t-good.h)\" 200 && [ ! -s $T/t-good.b ] && expect_match \"\$(header $T/t-good.h cache-control)\" no-store"
    logout t-replay "$PA" "$T/good.jwt"
    check "$b: the same token again: 400, used already" \
        eval "refused t-replay 400 && expect_file_contains $T/t-replay.b 'used already'"
    local name defect
    while IFS='|' read -r name defect; do
        c=$(claims "$defect") && token "$name" RS256 "$c"
        logout "t-$name" "$PA" "$T/$name.jwt"
        check "$b: a token with $name: 400 invalid_request" refused "t-$name" 400
    done <<'EOF'
a wrong aud|aud: "someone-else"
a wrong iss|iss: "https://evil.example"
a nonce|nonce: "n-0S6_WzA2Mj"
neither sub nor sid|sub: undefined
no event|events: {}
an event that is not an object|events: { [process.argv[2]]: "yes" }
an expired exp|iat: now - 1000, exp: now - 400
an iat too long ago|iat: now - 3600, exp: now + 60
no jti|jti: undefined
EOF
    c=$(claims) && token es ES256 "$c"
    logout t-es "$PA" "$T/es.jwt"
    check "$b: a token signed ES256 where RS256 is configured: 400" refused t-es 400
    c=$(claims) && token tamper RS256 "$c"
    node -e 'const [h, p, s] = require("fs").readFileSync(process.argv[1], "utf8").trim().split(".");
        const c = JSON.parse(Buffer.from(p, "base64url")); c.sub = "alice";
        console.log([h, Buffer.from(JSON.stringify(c)).toString("base64url"), s].join("."))' "$T/tamper.jwt" >"$T/tampered.jwt"
    logout t-tamper "$PA" "$T/tampered.jwt"
    check "$b: a tampered payload: 400" refused t-tamper 400
    node -e 'const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
        console.log(b({ alg: "none" }) + "." + b(JSON.parse(process.argv[1])) + ".")' "$(claims)" >"$T/none.jwt"
    logout t-none "$PA" "$T/none.jwt"
    check "$b: alg none: 400" refused t-none 400
    req t-missing --data-urlencode "other=1" "/upstream/backchannel-logout/$PA"
    req t-json -H 'content-type: application/json' --data-binary "{\"logout_token\":\"$(cat "$T/good.jwt")\"}" \
        "/upstream/backchannel-logout/$PA"
    check "$b: no logout_token, a JSON body: 400" eval "refused t-missing 400 && refused t-json 400"
    c=$(claims) && token other RS256 "$c"
    logout t-unknown 01ZZZZZZZZZZZZZZZZZZZZZZZZ "$T/other.jwt"
    req t-get "/upstream/backchannel-logout/$PA"
    check "$b: an unknown provider: 404; GET: 405" \
        eval "refused t-unknown 404 && expect_eq \"\$(status $T/t-get.h)\" 405"
    check "$b: nothing the refused tokens named was ended (bob's compat session goes on)" expect_eq "$(q_bob)" "0 1"

    masd_stop human-$b
    check "$b: masd-human never answered 500" eval "! grep -q '\" 500 ' '${LOG_OF[human-$b]}'"
    masd_stop oauth-$b
    stop worker-$b TERM 5
    stop idp-$b TERM 5
    stop nginx-$b TERM 5
    stop assets-$b TERM 5
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database upstream_logout && run_backend pg "$PG_DB_URI"
finish
