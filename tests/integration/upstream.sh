#!/usr/bin/env bash
# The sign-in at an upstream provider up to the link page (docs/upstream-oauth.md, "The sign-in
# flow"), through the shipped nginx configuration (units/nginx: `location /` sends /upstream/ to
# masd-human) with a real OpenID Provider (tests/node/idp.mjs: node oidc-provider), on SQLite and,
# when MASD_TEST_PG_URI is set, on PostgreSQL:
#   - authorize: a 307 to the IdP with response_type, client_id, redirect_uri, scope, state (16
#     alphanumerics), nonce, S256 PKCE (the stored verifier's SHA-256 is the challenge), the
#     additional parameters rendered (login_hint from the waiting OAuth authorization, prompt from
#     logged_out, a static one; an empty one left out); the sealed sessions cookie; the pending row;
#     an unknown or malformed provider 404;
#   - callback by GET: the IdP's redirect with code, state and iss leads to a 303 to
#     /upstream/link/{id}; the row completed (link, ID token, claims, sub and sid, iss among the
#     extra parameters); the link made once and found again by a second sign-in;
#   - refused, each with its page: a nonce swapped on the way to the IdP (400), the same callback again (the cookie's entry has its link: 400),
#     replayed with the cookie from before (the row is completed: 400), a foreign state (another
#     browser's: 400), no parameters (400), a duplicate parameter (400), a session older than 10
#     minutes (a masd-human whose clock runs 11 minutes ahead: 400, though its cookie entry is
#     still there), the IdP's error=access_denied (400, with the error returned to the waiting
#     OAuth client), the IdP down at authorize and at the code exchange (502), a wrong method for
#     the response mode (400); never a 500;
#   - form_post: the IdP's cross-site POST without our cookie gets the re-post page (every
#     parameter and did_mas_repost_to_itself, the script allowed by the CSP's nonce); the re-post
#     with the cookie completes the session;
#   - Chromium (tests/node/upstream_pages.mjs): the whole form_post sign-in in a real browser
#     (SameSite=Lax holds the cookie back from the IdP's post; the re-post page carries it on), and
#     screenshots of the error pages and the re-post page at 375 and 1280 px.
# Screenshots go to $OUT/upstream-<build>/ (tests/run sets OUT).
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$ASSETS_BIN"
need_node_modules oidc-provider playwright-core
need_chromium
need_command sqlite3

OUT_BASE=${OUT:-$ROOT/build-output/manual}/upstream-$(basename "$BUILD")
rm -rf "$OUT_BASE"
HS_SECRET=shared-secret-for-the-homeserver
PQ=01JAYS74TCG3BTWKADN5Q4518C   # response_mode unset (the IdP answers by GET)
PF=01GFWR4BNFDCC4QDG6AMSP1VRR   # response_mode: form_post
PD=01GFWR4BNFDCC4QDG6AMSP1VRS   # an IdP nobody answers for
PE=01GFWR4BNFDCC4QDG6AMSP1VRV   # the IdP signs its ID tokens with ES256, masd expects RS256
PS=01GFWR4BNFDCC4QDG6AMSP1VRW   # a subject template that renders empty
CID=01GFWR4BNFDCC4QDG6AMSP1VRT
RU=https://client.example.com/cb
homeserver_start "$HS_SECRET" || finish
human_assets

# config FILE DB-URI HUMAN-SOCKET OAUTH-SOCKET
config()
{
    cat >"$1" <<EOF
$(web_config_yaml "$BASE" "$2" "$3" "$4")
clients:
  - client_id: $CID
    client_auth_method: none
    redirect_uris: [$RU]
$(secrets_yaml)
upstream_oauth2:
  providers:
    - id: $PQ
      issuer: "$ISSUER"
      discovery_mode: insecure
      human_name: Test IdP
      client_id: masd
      client_secret: masd-secret
      token_endpoint_auth_method: client_secret_basic
      scope: "openid profile email"
      forward_login_hint: true
      additional_authorization_parameters:
        prompt: "{% if logged_out %}login{% endif %}"
        ui_locales: "  en  "
        acr_values: "{{ params.no_such_parameter }}"
      claims_imports:
        account_name: { template: "@{{ user.preferred_username }}" }
    - id: $PF
      issuer: "$ISSUER"
      discovery_mode: insecure
      client_id: masd-fp
      client_secret: masd-fp-secret
      token_endpoint_auth_method: client_secret_post
      scope: "openid profile"
      response_mode: form_post
      fetch_userinfo: true
    - id: $PE
      issuer: "$ISSUER"
      discovery_mode: insecure
      client_id: masd-es
      client_secret: masd-es-secret
      token_endpoint_auth_method: client_secret_basic
      scope: "openid"
    - id: $PS
      issuer: "$ISSUER"
      discovery_mode: insecure
      client_id: masd
      client_secret: masd-secret
      token_endpoint_auth_method: client_secret_basic
      claims_imports:
        subject: { template: "{{ user.no_such_claim }}" }
    - id: $PD
      issuer: "http://127.0.0.1:$DEAD_PORT"
      discovery_mode: insecure
      client_id: masd
      client_secret: masd-secret
      token_endpoint_auth_method: client_secret_basic
EOF
}

# authorize NAME JAR PROVIDER [QUERY]: GET /upstream/authorize/...; sets URL (the Location) and STATE.
authorize()
{
    req "$1" -b "$T/$2" -c "$T/$2" "/upstream/authorize/$3${4:+?$4}"
    URL=$(loc "$1")
    STATE=$(qp "$URL" state)
}
# idp_login URL [USER]: signs in at the IdP (its own jar per user); sets CB (the callback URL, or
# "POST url form" for form_post).
idp_login() { CB=$(node "$NODE_DIR/idp.mjs" login "$1" --user "${2:-alice}" --jar "$T/idp-jar-${2:-alice}.json" 2>"$T/idp-login.err"); }
# callback path of a full callback URL
cbpath() { echo "/${1#"$BASE"/}"; }
link_of() { loc "$1" | sed -n 's|^/upstream/link/\([0-9A-Z]\{26\}\)$|\1|p'; }

run_backend()
{
    local b=$1 uri=$2 dir ng
    dir=$T/$b
    ng=$(free_port) IDP_PORT=$(free_port) DEAD_PORT=$(free_port)
    BASE=https://127.0.0.1:$ng
    ISSUER=http://127.0.0.1:$IDP_PORT
    mkdir -p "$dir"
    local S_HUMAN=$T/run/human.sock S_OAUTH=$T/run/oauth.sock S_LATE=$T/run/human-late-$b.sock
    config "$dir/config.yaml" "$uri" "$S_HUMAN" "$S_OAUTH"
    config "$dir/late.yaml" "$uri" "$S_LATE" "$T/run/oauth-late-$b.sock"
    sql_q() { if [ "$b" = sqlite ]; then sqlite3 "${uri#sqlite://}" "$1"; else psql -X -qAt "$uri" -c "$1"; fi; }
    cat >"$T/idp.json" <<EOF
{"clients": [
  {"client_id": "masd", "client_secret": "masd-secret", "token_endpoint_auth_method": "client_secret_basic",
   "redirect_uris": ["$BASE/upstream/callback/$PQ", "$BASE/upstream/callback/$PS"],
   "backchannel_logout_uri": "$ISSUER/_test/bcl-sink", "backchannel_logout_session_required": true},
  {"client_id": "masd-es", "client_secret": "masd-es-secret", "token_endpoint_auth_method": "client_secret_basic",
   "id_token_signed_response_alg": "ES256", "redirect_uris": ["$BASE/upstream/callback/$PE"]},
  {"client_id": "masd-fp", "client_secret": "masd-fp-secret", "token_endpoint_auth_method": "client_secret_post",
   "redirect_uris": ["$BASE/upstream/callback/$PF"]}
]}
EOF
    start_idp || return
    masctl_sync "$b" "$dir/config.yaml" "$dir/masctl.log" || return
    web_start "$b" "$dir/config.yaml" "$S_HUMAN" "$S_OAUTH" || return
    MASD_TEST_CLOCK_OFFSET_MS=660000 masd_start human-late-$b "$HUMAN_BIN" "$dir/late.yaml" "$S_LATE" || return
    nginx_masd_start nginx-$b "$dir/nginx" "$ng" || return

    # ---- authorize --------------------------------------------------------------------------
    # an OAuth authorization waits for the sign-in (its login_hint goes on to the IdP)
    req grant "/authorize?client_id=$CID&redirect_uri=$(enc "$RU")&response_type=code&scope=openid&state=client-state&login_hint=alice%40example.com"
    local GRANT
    GRANT=$(loc grant | sed -n 's/.*kind=continue_authorization_grant&id=\([0-9A-Z]\{26\}\).*/\1/p')
    check "$b: an OAuth authorization waits at the login (its grant: $GRANT)" expect_match "$GRANT" '^[0-9A-Z]{26}$'

    authorize a1 jarA "$PQ" "kind=continue_authorization_grant&id=$GRANT"
    check "$b: authorize: 307 to the IdP's authorization endpoint" \
        eval "expect_eq \"\$(status $T/a1.h)\" 307 && expect_match '$URL' '^$ISSUER/auth\\?'"
    check "$b: authorize: response_type, client_id, redirect_uri (absolute, the callback), scope" \
        eval "expect_eq \"\$(qp '$URL' response_type)\" code && expect_eq \"\$(qp '$URL' client_id)\" masd &&
              expect_eq \"\$(qp '$URL' redirect_uri)\" '$BASE/upstream/callback/$PQ' &&
              expect_eq \"\$(qp '$URL' scope)\" 'email openid profile'"
    local NONCE CHALLENGE
    NONCE=$(qp "$URL" nonce) CHALLENGE=$(qp "$URL" code_challenge)
    check "$b: authorize: state and nonce are 16 alphanumerics, different" \
        eval "expect_match '$STATE' '^[A-Za-z0-9]{16}$' && expect_match '$NONCE' '^[A-Za-z0-9]{16}$' && [ '$STATE' != '$NONCE' ]"
    check "$b: authorize: PKCE S256 (the IdP lists it): a 43-character challenge" \
        eval "expect_eq \"\$(qp '$URL' code_challenge_method)\" S256 && expect_match '$CHALLENGE' '^[A-Za-z0-9_-]{43}$'"
    check "$b: authorize: additional parameters: login_hint from the waiting authorization, a trimmed static one; empty ones left out" \
        eval "expect_eq \"\$(qp '$URL' login_hint)\" alice@example.com && expect_eq \"\$(qp '$URL' ui_locales)\" en &&
              expect_eq \"\$(qp '$URL' prompt)\" '' && ! expect_match '$URL' '[?&](prompt|acr_values)='"
    check "$b: authorize: the sessions cookie, sealed, HttpOnly, SameSite=Lax, Secure, a browser-session cookie" \
        eval "grep -i '^set-cookie: upstream-oauth2-sessions=' $T/a1.h | grep -i 'HttpOnly' | grep -i 'SameSite=Lax' | grep -i 'Secure' | grep -vqi 'max-age' &&
              ! grep -qi \"upstream-oauth2-sessions=.*$STATE\" $T/a1.h"
    local VERIFIER
    VERIFIER=$(sql_q "SELECT code_challenge_verifier FROM upstream_oauth_authorization_sessions WHERE state = '$STATE' AND nonce = '$NONCE' AND completed_at IS NULL")
    check "$b: authorize: the pending row holds state, nonce and the verifier whose SHA-256 is the challenge" \
        expect_eq "$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')" "$CHALLENGE"
    req nf1 "/upstream/authorize/01ZZZZZZZZZZZZZZZZZZZZZZZZ"
    req nf2 "/upstream/authorize/nope"
    check "$b: authorize: an unknown or malformed provider: 404 page" \
        eval "csp_page nf1 404 'No such identity provider' && csp_page nf2 404"

    # ---- callback by GET ----------------------------------------------------------------------
    cp "$T/jarA" "$T/jarA-before"
    idp_login "$URL" alice
    check "$b: the IdP signs alice in and sends her back with code, state, iss" \
        eval "expect_match '$CB' '^$BASE/upstream/callback/$PQ\\?' && expect_eq \"\$(qp '$CB' state)\" '$STATE' && expect_eq \"\$(qp '$CB' iss)\" '$ISSUER' || cat $T/idp-login.err"
    local CBP LINK
    CBP=$(cbpath "$CB")
    req c1 -b "$T/jarA" -c "$T/jarA" "$CBP"
    LINK=$(link_of c1)
    check "$b: callback: 303 to /upstream/link/{link}" eval "expect_eq \"\$(status $T/c1.h)\" 303 && expect_match '$LINK' '^[0-9A-Z]{26}$'"
    check "$b: callback: the row completed: link, ID token, claims, sub and sid, iss among the extra parameters" \
        expect_eq "$(sql_q "SELECT count(*) FROM upstream_oauth_authorization_sessions WHERE state = '$STATE'
            AND upstream_oauth_link_id = '$LINK' AND completed_at IS NOT NULL AND consumed_at IS NULL AND id_token LIKE 'eyJ%'
            AND id_token_sub = 'alice' AND id_token_sid <> '' AND id_token_claims LIKE '%\"sid\":\"' || id_token_sid || '\"%' AND id_token_claims LIKE '%\"nonce\":\"$NONCE\"%'
            AND extra_callback_parameters = '{\"iss\":\"$ISSUER\"}' AND userinfo IS NULL")" 1
    check "$b: callback: the link (provider, subject alice, account name from its template), no user yet" \
        expect_eq "$(sql_q "SELECT subject || '|' || human_account_name || '|' || coalesce(user_id, '') FROM upstream_oauth_links WHERE upstream_oauth_link_id = '$LINK'")" "alice|@alice|"

    # ---- replays and foreign states -------------------------------------------------------------
    req c2 -b "$T/jarA" "$CBP"
    check "$b: the same callback again (the cookie's entry has its link): 400 page" \
        csp_page c2 400 'This sign-in was not started here'
    req c3 -b "$T/jarA-before" "$CBP"
    check "$b: the callback replayed with the cookie from before: 400 'already used' (the row is completed)" \
        csp_page c3 400 'This sign-in was already used'
    authorize b1 jarB "$PQ"
    req c4 -b "$T/jarB" "$CBP"
    check "$b: a foreign state (another browser's sign-in): 400 page, with a way back" \
        eval "csp_page c4 400 'this browser started no sign-in with that state' && expect_file_contains $T/c4.b 'href=\"/login\"'"
    req c5 -b "$T/jarB" "/upstream/callback/$PQ"
    req c6 -b "$T/jarB" "/upstream/callback/$PQ?state=a&state=b"
    req c7 -b "$T/jarB" "/upstream/callback/$PQ?iss=x"
    check "$b: no parameters, a duplicate, none of the known ones: 400 pages" \
        eval "csp_page c5 400 \"answer is incomplete\" && csp_page c6 400 'more than once' && csp_page c7 400"
    req c8 "/upstream/callback/01ZZZZZZZZZZZZZZZZZZZZZZZZ?code=x&state=y"
    check "$b: callback of an unknown provider: 404 page" csp_page c8 404 'No such identity provider'

    # a second sign-in of alice finds the same link
    authorize a2 jarC "$PQ"
    idp_login "$URL" alice
    req c9 -b "$T/jarC" -c "$T/jarC" "$(cbpath "$CB")"
    check "$b: alice's second sign-in finds the same link" eval "expect_match '$LINK' '^[0-9A-Z]{26}$' && expect_eq \"\$(link_of c9)\" '$LINK'"
    check "$b: one link for (provider, alice)" \
        expect_eq "$(sql_q "SELECT count(*) FROM upstream_oauth_links WHERE upstream_oauth_provider_id = '$PQ' AND subject = 'alice'")" 1

    # ---- expired ----------------------------------------------------------------------------
    authorize a3 jarD "$PQ"
    idp_login "$URL" alice
    http late --unix-socket "$S_LATE" -H "cookie: $(awk '$6 == "upstream-oauth2-sessions" { print $6 "=" $7 }' "$T/jarD")" \
        "http://x$(cbpath "$CB")"
    check "$b: a session created more than 10 minutes ago (its cookie entry still there): 400 page" \
        csp_page late 400 'This sign-in took too long'
    check "$b: ... and the row stays pending" \
        expect_eq "$(sql_q "SELECT count(*) FROM upstream_oauth_authorization_sessions WHERE state = '$STATE' AND completed_at IS NULL")" 1

    # ---- the IdP's error, with an OAuth authorization waiting --------------------------------------
    authorize a4 jarE "$PQ" "kind=continue_authorization_grant&id=$GRANT"
    req e1 -b "$T/jarE" "/upstream/callback/$PQ?error=access_denied&error_description=The+user+said+no&state=$STATE"
    check "$b: the IdP's error=access_denied: 400 page naming it" \
        eval "csp_page e1 400 'The identity provider did not sign you in' && expect_file_contains $T/e1.b 'access_denied: The user said no'"
    check "$b: ... offering to return access_denied to the waiting client (its state), and to try again" \
        eval "expect_file_contains $T/e1.b 'href=\"https://client.example.com/cb\\?state=client-state&amp;error=access_denied&amp;error_description=' &&
              expect_file_contains $T/e1.b 'href=\"/login\\?kind=continue_authorization_grant&amp;id=$GRANT\"'"
    req e2 "/upstream/callback/$PQ?error=access_denied&state=nothing-of-ours"
    check "$b: the IdP's error with no sign-in of this browser: 400 page, no return to a client" \
        eval "csp_page e2 400 'did not sign you in' && ! grep -q 'client.example.com' $T/e2.b"

    # ---- logged_out: just signed out, the prompt template asks the IdP for a new login -------------
    req lo1 -b "$T/jarH" -c "$T/jarH" /login
    req lo2 -b "$T/jarH" -c "$T/jarH" --data-urlencode "csrf=$(csrf_of lo1)" /logout
    authorize a6 jarH "$PQ"
    check "$b: authorize right after a sign-out: logged_out renders prompt=login" \
        eval "expect_eq \"\$(status $T/lo2.h)\" 303 && expect_eq \"\$(qp '$URL' prompt)\" login"

    # ---- a token that fails its checks; a subject that renders empty ------------------------------
    authorize a7 jarI "$PE" "kind=continue_authorization_grant&id=$GRANT"
    idp_login "$URL" alice
    req v1 -b "$T/jarI" "$(cbpath "$CB")"
    check "$b: an ID token signed with another alg than configured: 400 page, access_denied for the waiting client" \
        eval "csp_page v1 400 'could not be verified' && expect_file_contains $T/v1.b 'class=\"detail\"' &&
              expect_file_contains $T/v1.b 'error=access_denied'"
    # the nonce swapped on the way to the IdP (a tampered authorization request): the ID token
    # carries the IdP's copy, not the one masd stored
    authorize a9 jarK "$PQ"
    idp_login "$(node -p 'const u = new URL(process.argv[1]); u.searchParams.set("nonce", "tampered000000XY"); u.href' "$URL")" alice
    req v3 -b "$T/jarK" "$(cbpath "$CB")"
    check "$b: the nonce swapped on the way to the IdP: 400 page, the detail names the nonce" \
        eval "html_page v3 400 'could not be verified' && expect_file_contains $T/v3.b 'nonce'"
    authorize a8 jarJ "$PS"
    idp_login "$URL" alice
    req v2 -b "$T/jarJ" "$(cbpath "$CB")"
    check "$b: a subject template that renders empty: 502 page, the session left pending" \
        eval "csp_page v2 502 'did not say who you are' &&
              expect_eq \"\$(sql_q \"SELECT count(*) FROM upstream_oauth_authorization_sessions WHERE state = '$STATE' AND completed_at IS NULL\")\" 1"

    # ---- form_post -----------------------------------------------------------------------------
    authorize f1 jarF "$PF"
    check "$b: form_post provider: response_mode=form_post sent" expect_eq "$(qp "$URL" response_mode)" form_post
    idp_login "$URL" alice
    local FURL FFORM
    FURL=$(awk '{print $2}' <<<"$CB") FFORM=$(awk '{print $3}' <<<"$CB")
    check "$b: the IdP answers with its auto-posting form to our callback" \
        eval "expect_match '$CB' '^POST $BASE/upstream/callback/$PF ' && expect_match '$FFORM' 'code=' || cat $T/idp-login.err"
    req p1 --data "$FFORM" "$(cbpath "$FURL")"
    check "$b: form_post without our cookie (cross-site): 200, the re-post page" csp_page p1 200 'Finishing your sign-in'
    check "$b: ... which posts every parameter and did_mas_repost_to_itself to the same URL, its script allowed by nonce" \
        eval "expect_file_contains $T/p1.b '<form method=\"post\" action=\"$BASE/upstream/callback/$PF\"' &&
              expect_file_contains $T/p1.b 'name=\"did_mas_repost_to_itself\" value=\"true\"' &&
              expect_file_contains $T/p1.b 'name=\"state\" value=\"$STATE\"' && expect_file_contains $T/p1.b 'name=\"code\" value=\"' &&
              expect_file_contains $T/p1.b 'name=\"iss\" value=\"$ISSUER\"' &&
              expect_match \"\$(header $T/p1.h content-security-policy)\" \"script-src 'nonce-\""
    req p2 -b "$T/jarF" -c "$T/jarF" --data "$FFORM&did_mas_repost_to_itself=true" "$(cbpath "$FURL")"
    check "$b: ... the userinfo answer (fetch_userinfo) stored with the session" \
        expect_eq "$(sql_q "SELECT userinfo FROM upstream_oauth_authorization_sessions WHERE state = '$STATE'")" \
        '{"sub":"alice","name":"Alice Liddell","preferred_username":"alice"}'
    check "$b: the re-post, same-site with our cookie: 303 to the link; iss kept, the flag not" \
        eval "expect_eq \"\$(status $T/p2.h)\" 303 && expect_eq \"\$(sql_q \"SELECT extra_callback_parameters FROM upstream_oauth_authorization_sessions WHERE state = '$STATE' AND upstream_oauth_link_id = '\$(link_of p2)'\")\" '{\"iss\":\"$ISSUER\"}'"
    req p3 --data "state=x&code=y&did_mas_repost_to_itself=true" "/upstream/callback/$PF"
    check "$b: a re-post that still has no cookie: 400, not a loop" csp_page p3 400 'not started here'
    req p4 -b "$T/jarF" "/upstream/callback/$PF?state=x&code=y"
    check "$b: GET where the provider answers by form_post: 400 page" csp_page p4 400 'answered the wrong way'

    # ---- the IdP down -------------------------------------------------------------------------
    req d1 "/upstream/authorize/$PD?kind=continue_authorization_grant&id=$GRANT"
    check "$b: authorize at a provider nobody answers for: 502 page with a reference, returning temporarily_unavailable offered, no 500" \
        eval "csp_page d1 502 'did not answer' && expect_file_contains $T/d1.b 'class=\"reference\"' &&
              expect_file_contains $T/d1.b 'state=client-state&amp;error=temporarily_unavailable'"
    authorize a5 jarG "$PQ" "kind=continue_authorization_grant&id=$GRANT"
    idp_login "$URL" alice
    stop idp
    req d2 -b "$T/jarG" "$(cbpath "$CB")"
    check "$b: the IdP down at the code exchange: 502 page, returning temporarily_unavailable offered" \
        eval "csp_page d2 502 'did not answer' && expect_file_contains $T/d2.b 'error=temporarily_unavailable'"
    check "$b: ... the row stays pending" \
        expect_eq "$(sql_q "SELECT count(*) FROM upstream_oauth_authorization_sessions WHERE state = '$STATE' AND completed_at IS NULL")" 1
    start_idp || return

    # ---- Chromium: the form_post sign-in in a real browser; the pages at 375 and 1280 px -------
    local out=$OUT_BASE/$b
    local AUTHZ="/authorize?client_id=$CID&redirect_uri=$(enc "$RU")&response_type=code&scope=openid&state=s2"
    node "$NODE_DIR/upstream_pages.mjs" "$(printf '{"base":"%s","provider":"%s","query_provider":"%s","authorize_path":"%s","issuer":"%s","chromium":"%s","out":"%s","pages":{"no-session":"%s","unreachable":"%s","not-found":"%s"}}' \
        "$BASE" "$PF" "$PQ" "$AUTHZ" "$ISSUER" "$CHROMIUM" "$out" "/upstream/callback/$PQ?code=x&state=nothing" \
        "/upstream/authorize/$PD" "/upstream/authorize/01ZZZZZZZZZZZZZZZZZZZZZZZZ")" >"$dir/pages.out" 2>"$dir/pages.err"
    step_checks "$b" "$dir/pages.out"
    check "$b: upstream_pages.mjs ran to the end" eval "grep -q '^done$' $dir/pages.out || { tail -n 30 $dir/pages.err; false; }"

    stop nginx-$b
    stop human-late-$b
    stop assets-$b
    stop oauth-$b
    stop human-$b
    stop idp
    check "$b: masd-human never answered 500, and logged no sanitizer report up to its exit" \
        eval "! grep -E '\" 500 ' $dir/nginx/access.log && sanitizer_clean $T/logs/human-$b.log $T/logs/human-late-$b.log"
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/sqlite.db"
if pg_database upstream; then
    run_backend pg "$PG_DB_URI"
fi
finish
