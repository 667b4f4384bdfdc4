#!/usr/bin/env bash
# The link page and the entry points of upstream providers (docs/upstream-oauth.md, "The link
# page", "Buttons", "Compat SSO"), through the shipped nginx configuration with a real OpenID
# Provider (tests/node/idp.mjs: oidc-provider; accounts alice and bob) and the stand-in
# homeserver, on SQLite and, when MASD_TEST_PG_URI is set, on PostgreSQL:
#   - /login and /register: one button per provider in the configuration's order, labelled by
#     human_name, else the issuer without its scheme; the post-auth action carried on;
#   - a new person (alice at "Test IdP", suggest everywhere): the registration page with the
#     imported name offered; the POST makes a registration that `finish` turns into an account
#     with the display name and e-mail address from the IdP, the link and the upstream
#     authentication, provisioned on the homeserver before the answer, then the waiting OAuth
#     authorization's consent page; the page again is refused (the sign-in is used);
#   - alice's second sign-in goes straight in (a new session, the authentication naming the
#     session), to the action or the index;
#   - bob, signed in with his password, signs in at the IdP: the suggestion to link; linked;
#   - alice, signed in, signs in at the IdP as bob: the mismatch page; its forms cannot link;
#   - skip_confirmation with forced imports and terms to accept: the page with the fixed values
#     and the terms only (MAS would skip it and record no terms), then the account (after the
#     registration token the provider's registration_token_required asks for);
#   - on_conflict add: the forced localpart is bob's, so bob's account gets the link and is
#     signed in; on_conflict fail: an error page naming the name; a localpart with an upper-case
#     letter ("Alice") is refused, though alice exists (no take-over);
#   - compat SSO: GET /_matrix/client/v3/login lists identity_providers (synapse_idp_id as the
#     id when set); login/sso/redirect/{idp} goes to that provider with the compat login as the
#     action (by synapse_idp_id and by ULID), an unknown one is 404 M_NOT_FOUND; the sign-in
#     ends on the compat confirmation page;
#   - a second masd-human with password login disabled and one provider: /login is a 303 to it,
#     except right after a sign-out;
#   - Chromium (tests/node/upstream_link_pages.mjs): each new page at 375 and 1280 px.
# Screenshots go to $OUT/upstream_link-<build>/ (tests/run sets OUT).
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$ASSETS_BIN"
need_node_modules oidc-provider playwright-core
need_chromium
need_command sqlite3

OUT_BASE=${OUT:-$ROOT/build-output/manual}/upstream_link-$(basename "$BUILD")
rm -rf "$OUT_BASE"
HS_SECRET=shared-secret-for-the-homeserver
PR=01JAYS74TCG3BTWKADN5Q4518C # register: suggest everything
PS=01GFWR4BNFDCC4QDG6AMSP1VR1 # skip_confirmation, forced imports
PC=01GFWR4BNFDCC4QDG6AMSP1VR2 # force, on_conflict add
PF=01GFWR4BNFDCC4QDG6AMSP1VR3 # force, on_conflict fail
PU=01GFWR4BNFDCC4QDG6AMSP1VR4 # require, an upper-case localpart
PV=01GFWR4BNFDCC4QDG6AMSP1VR5 # for Chromium: suggests "<name>2", prompt=login at the IdP
CID=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS
RU=https://client.example.com/cb
PW='correct horse battery staple 42'
homeserver_start "$HS_SECRET" || finish
human_assets

# config FILE DB-URI HUMAN-SOCKET OAUTH-SOCKET [single]
config()
{
    cat >"$1" <<EOF
$(web_config_yaml "$BASE" "$2" "$3" "$4")
clients:
  - client_id: $CID
    client_auth_method: none
    redirect_uris: [$RU]
$(secrets_yaml)
EOF
    if [ "${5:-}" = single ]; then
        printf 'passwords:\n  enabled: false\nupstream_oauth2:\n  providers:\n' >>"$1"
        provider_yaml "$PR" masd 'human_name: Test IdP' >>"$1"
        return
    fi
    printf 'account:\n  password_registration_enabled: true\nbranding:\n  tos_uri: https://example.com/tos\n' >>"$1"
    printf 'upstream_oauth2:\n  providers:\n' >>"$1"
    provider_yaml "$PR" masd 'human_name: Test IdP' 'brand_name: github' 'synapse_idp_id: oidc-test' \
        'claims_imports:' '  localpart: {action: suggest}' '  displayname: {action: suggest}' \
        '  email: {action: suggest}' '  account_name: {template: "@{{ user.preferred_username }}"}' >>"$1"
    provider_yaml "$PS" masd-s 'registration_token_required: true' 'claims_imports:' '  skip_confirmation: true' \
        '  localpart: {action: require, template: "{{ user.preferred_username }}-s"}' \
        '  displayname: {action: force}' '  email: {action: force, template: "{{ user.preferred_username }}+s@example.org"}' >>"$1"
    provider_yaml "$PC" masd-c 'human_name: Conflict Add' 'claims_imports:' \
        '  localpart: {action: force, on_conflict: add}' >>"$1"
    provider_yaml "$PF" masd-f 'human_name: Conflict Fail' 'claims_imports:' '  localpart: {action: force}' >>"$1"
    provider_yaml "$PU" masd-u 'human_name: Upper' 'claims_imports:' \
        '  localpart: {action: require, template: "{{ user.preferred_username | capitalize }}", on_conflict: add}' >>"$1"
    provider_yaml "$PV" masd-v 'human_name: Example Login' 'additional_authorization_parameters: {prompt: login}' \
        'claims_imports:' '  localpart: {action: suggest, template: "{{ user.preferred_username }}2"}' \
        '  displayname: {action: suggest}' '  email: {action: suggest}' >>"$1"
}

# signin NAME JAR PROVIDER USER [QUERY]: authorize, the IdP's login, the callback; sets LINK
# (the link page's path, "" when the callback did not send there).
signin()
{
    req "$1-a" -b "$T/$2" -c "$T/$2" "/upstream/authorize/$3${5:+?$5}"
    local url cb
    url=$(loc "$1-a")
    cb=$(node "$NODE_DIR/idp.mjs" login "$url" --user "$4" --jar "$T/idp-jar-$1.json" 2>"$T/$1-idp.err")
    req "$1-c" -b "$T/$2" -c "$T/$2" "/${cb#"$BASE"/}"
    LINK=$(loc "$1-c" | sed -n 's|^\(/upstream/link/[0-9A-Z]\{26\}\)$|\1|p')
}
# post NAME PAGE JAR PATH fields...: POST with the csrf of the page $T/PAGE.b (any page this
# jar got: the token is the csrf cookie's).
post()
{
    local name=$1 page=$2 jar=$3 path=$4
    shift 4
    local args=(--data-urlencode "csrf=$(csrf_of "$page")") f
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    req "$name" -b "$T/$jar" -c "$T/$jar" "${args[@]}" "$path"
}

run_backend()
{
    local b=$1 uri=$2 dir ng
    dir=$T/$b
    ng=$(free_port) IDP_PORT=$(free_port)
    BASE=https://127.0.0.1:$ng
    ISSUER=http://127.0.0.1:$IDP_PORT
    mkdir -p "$dir"
    rm -f "$T"/jar* "$T"/idp-jar-* # each backend's browsers start afresh
    local S_HUMAN=$T/run/human.sock S_OAUTH=$T/run/oauth.sock S_ONE=$T/run/human-one-$b.sock
    config "$dir/config.yaml" "$uri" "$S_HUMAN" "$S_OAUTH"
    # its own database: masd-human's start-up sync makes the database's providers the config's
    config "$dir/one.yaml" "sqlite://$dir/one.db" "$S_ONE" "$T/run/oauth-one-$b.sock" single
    sql_q() { if [ "$b" = sqlite ]; then sqlite3 "${uri#sqlite://}" "$1"; else psql -X -qAt "$uri" -c "$1"; fi; }
    local c clients=""
    for c in "masd:$PR" "masd-s:$PS" "masd-c:$PC" "masd-f:$PF" "masd-u:$PU" "masd-v:$PV"; do
        clients+="${clients:+,}{\"client_id\": \"${c%%:*}\", \"client_secret\": \"${c%%:*}-secret\", \"token_endpoint_auth_method\": \"client_secret_basic\", \"redirect_uris\": [\"$BASE/upstream/callback/${c#*:}\"]}"
    done
    echo "{\"clients\": [$clients]}" >"$T/idp.json"
    start_idp || return
    # the homeserver forgets the other backend's users (alice would be taken there)
    standin_reset "$b"
    local M=("$MASCTL_BIN" -c "$dir/config.yaml")
    if ! "${M[@]}" database migrate >"$dir/masctl.log" 2>&1 || ! "${M[@]}" config sync >>"$dir/masctl.log" 2>&1 ||
        ! "${M[@]}" manage register-user -y -p "$PW" bob >>"$dir/masctl.log" 2>&1 ||
        ! "${M[@]}" manage issue-user-registration-token --token "invite-$b" >>"$dir/masctl.log" 2>&1; then
        fail_check "$b: masctl sets up the database and bob" "$(tail -n 20 "$dir/masctl.log")"
        return
    fi
    web_start "$b" "$dir/config.yaml" "$S_HUMAN" "$S_OAUTH" || return
    nginx_masd_start nginx-$b "$dir/nginx" "$ng" || return

    # ---- the buttons --------------------------------------------------------------------------
    req grant "/authorize?client_id=$CID&redirect_uri=$(enc "$RU")&response_type=code&scope=openid&state=client-state"
    local GRANT ACT
    GRANT=$(loc grant | sed -n 's/.*kind=continue_authorization_grant&id=\([0-9A-Z]\{26\}\).*/\1/p')
    ACT="kind=continue_authorization_grant&id=$GRANT"
    check "$b: an OAuth authorization waits at the login" expect_match "$GRANT" '^[0-9A-Z]{26}$'
    req l1 "/login?$ACT"
    check "$b: /login: the password form, then one button per provider in the configuration's order, the action kept" \
        eval "html_page l1 200 'name=\"password\"' &&
              expect_eq \"\$(grep -o 'href=\"/upstream/authorize/[0-9A-Z]*' $T/l1.b | cut -d/ -f4 | tr '\n' ' ')\" '$PR $PS $PC $PF $PU $PV ' &&
              expect_file_contains $T/l1.b 'href=\"/upstream/authorize/$PR\\?kind=continue_authorization_grant&amp;id=$GRANT\"'"
    check "$b: /login: labels: human_name, else the issuer without its scheme; the brand's mark" \
        eval "expect_file_contains $T/l1.b 'brand-github\" aria-hidden=\"true\">G</span>Continue with Test IdP</a>' &&
              expect_file_contains $T/l1.b '>Continue with 127.0.0.1:$IDP_PORT</a>' &&
              expect_file_contains $T/l1.b '>Continue with Conflict Add</a>' && expect_file_contains $T/l1.b 'class=\"separator\"'"
    req r1 "/register?$ACT"
    check "$b: /register: the providers and the password form's link, with the action" \
        eval "html_page r1 200 '>Continue with Test IdP</a>' &&
              expect_file_contains $T/r1.b 'href=\"/register/password\\?kind=continue_authorization_grant&amp;id=$GRANT\"'"

    # ---- a new person registers from the IdP's claims ---------------------------------------------
    signin s1 jarA "$PR" alice "$ACT"
    check "$b: alice at the IdP: the callback sends her to the link page" expect_match "$LINK" '^/upstream/link/'
    local ALINK=$LINK
    req s1-page -b "$T/jarA" -c "$T/jarA" "$LINK"
    check "$b: the registration page: the imported name offered, display name and e-mail to tick" \
        eval "html_page s1-page 200 'name=\"username\" value=\"alice\"' &&
              expect_file_contains $T/s1-page.b 'id=\"import_display_name\" name=\"import_display_name\" checked' &&
              expect_file_contains $T/s1-page.b '<strong>Alice Liddell</strong>' &&
              expect_file_contains $T/s1-page.b '<strong>alice@example.com</strong>' &&
              expect_file_contains $T/s1-page.b 'as @alice'"
    cp "$T/jarA" "$T/jarA-copy"
    post s1-bad s1-page jarA "$LINK" action=register username=bob import_display_name=on
    check "$b: a name that is taken: the form again with the error (409)" \
        html_page s1-bad 409 'This username is taken'
    post s1-link s1-page jarA "$LINK" action=link
    check "$b: action=link while signed out: 400" html_page s1-link 400
    post s1-terms s1-page jarA "$LINK" action=register username=alice import_display_name=on import_email=on
    check "$b: the terms not accepted: the form again with the error (400)" \
        html_page s1-terms 400 'field-error'
    post s1-post s1-page jarA "$LINK" action=register username=alice import_display_name=on import_email=on accept_terms=on
    local REG
    REG=$(loc s1-post | sed -n 's|^/register/steps/\([0-9A-Z]\{26\}\)/finish$|\1|p')
    check "$b: the POST: a registration naming the authorization session; 303 to finish" \
        eval "expect_match '$REG' '^[0-9A-Z]{26}$' &&
              expect_eq \"\$(sql_q \"SELECT r.username || '|' || r.display_name FROM user_registrations r JOIN upstream_oauth_authorization_sessions s ON s.upstream_oauth_authorization_session_id = r.upstream_oauth_authorization_session_id WHERE r.user_registration_id = '$REG' AND s.upstream_oauth_link_id = '${ALINK##*/}'\")\" 'alice|Alice Liddell'"
    local H0
    H0=$(wc -l <"$HS_RECORD")
    req s1-fin -b "$T/jarA" -c "$T/jarA" "/register/steps/$REG/finish"
    check "$b: finish: signed in, on to the waiting authorization's consent" \
        eval "redirects_to s1-fin '^/consent/$GRANT$' && expect_match \"\$(header $T/s1-fin.h set-cookie)\" 'session='"
    check "$b: ... the terms she accepted recorded" \
        expect_eq "$(sql_q "SELECT t.terms_url FROM user_terms t JOIN users u ON u.user_id = t.user_id WHERE u.username = 'alice'")" https://example.com/tos
    local ALICE
    ALICE=$(sql_q "SELECT user_id FROM users WHERE username = 'alice'")
    check "$b: the account: linked, the e-mail from the IdP, the session consumed by the new browser session" \
        eval "expect_match '$ALICE' '^[0-9A-Z]{26}$' &&
              expect_eq \"\$(sql_q \"SELECT user_id FROM upstream_oauth_links WHERE upstream_oauth_link_id = '${ALINK##*/}'\")\" '$ALICE' &&
              expect_eq \"\$(sql_q \"SELECT email FROM user_emails WHERE user_id = '$ALICE'\")\" alice@example.com &&
              expect_eq \"\$(sql_q \"SELECT count(*) FROM upstream_oauth_authorization_sessions s JOIN browser_sessions b ON b.browser_session_id = s.browser_session_id JOIN browser_session_authentications a ON a.upstream_oauth_authorization_session_id = s.upstream_oauth_authorization_session_id AND a.browser_session_id = b.browser_session_id WHERE s.upstream_oauth_link_id = '${ALINK##*/}' AND s.consumed_at IS NOT NULL AND b.user_id = '$ALICE'\")\" 1 &&
              expect_eq \"\$(sql_q \"SELECT count(*) FROM user_passwords WHERE user_id = '$ALICE'\")\" 0"
    check "$b: the homeserver had alice, with the IdP's display name, before the answer" \
        eval 'tail -n +$((H0 + 1)) "$HS_RECORD" | grep "/provision_user" | grep -q "Alice Liddell"'
    req s1-again -b "$T/jarA-copy" "$LINK"
    check "$b: the link page again with the cookie from before: 400, the sign-in is used" html_page s1-again 400 'already used'
    check "$b: ... and the POST removed the sign-in from the sessions cookie (the only entry: the cookie goes)" \
        expect_match "$(grep -i '^set-cookie: upstream-oauth2-sessions=' "$T/s1-post.h")" 'upstream-oauth2-sessions=;.*Max-Age=0'

    # ---- alice again: straight in ---------------------------------------------------------------
    signin s2 jarB "$PR" alice
    req s2-go -b "$T/jarB" -c "$T/jarB" "$LINK"
    check "$b: alice's second sign-in: a new session, on to the index" \
        eval "redirects_to s2-go '^/$' && expect_match \"\$(header $T/s2-go.h set-cookie)\" 'session=' &&
              expect_eq \"\$(sql_q \"SELECT count(*) FROM browser_session_authentications a JOIN browser_sessions b ON a.browser_session_id = b.browser_session_id WHERE b.user_id = '$ALICE' AND a.upstream_oauth_authorization_session_id IS NOT NULL\")\" 2"
    req s2-idx -b "$T/jarB" "/"
    check "$b: ... signed in as alice" html_page s2-idx 200 '@alice:example.com'

    # ---- bob, signed in with his password, links his IdP account --------------------------------------
    req s3-login-page -c "$T/jarC" "/login"
    post s3-login s3-login-page jarC "/login" username=bob "password=$PW"
    check "$b: bob signs in with his password" redirects_to s3-login '^/$'
    signin s3 jarC "$PR" bob
    req s3-page -b "$T/jarC" -c "$T/jarC" "$LINK"
    check "$b: signed in, an unlinked IdP account: the suggestion to link it" \
        eval "html_page s3-page 200 'Link this account' && expect_file_contains $T/s3-page.b '@bob:example.com' &&
              expect_file_contains $T/s3-page.b 'name=\"action\" value=\"link\"'"
    post s3-reg s3-page jarC "$LINK" action=register username=bobby
    check "$b: action=register while signed in: 400" html_page s3-reg 400
    post s3-post s3-page jarC "$LINK" action=link
    local BOB
    BOB=$(sql_q "SELECT user_id FROM users WHERE username = 'bob'")
    check "$b: linked to bob, on to the index, the session authenticated through the IdP" \
        eval "redirects_to s3-post '^/$' &&
              expect_eq \"\$(sql_q \"SELECT user_id FROM upstream_oauth_links WHERE upstream_oauth_link_id = '${LINK##*/}'\")\" '$BOB'"

    # ---- mismatch: alice signed in, the IdP says bob -------------------------------------------------
    signin s4 jarB "$PR" bob
    req s4-page -b "$T/jarB" -c "$T/jarB" "$LINK"
    check "$b: signed in as alice, bob's linked IdP account: the mismatch page naming bob" \
        eval "html_page s4-page 200 'linked to someone else' && expect_file_contains $T/s4-page.b 'linked to @bob:example.com' &&
              expect_file_contains $T/s4-page.b '@alice:example.com' && expect_file_contains $T/s4-page.b 'value=\"link_upstream\"'"
    post s4-post s4-page jarB "$LINK" action=link
    check "$b: ... whose link cannot be taken by a POST: 400, still bob's" \
        eval "html_page s4-post 400 && expect_eq \"\$(sql_q \"SELECT user_id FROM upstream_oauth_links WHERE upstream_oauth_link_id = '${LINK##*/}'\")\" '$BOB'"
    # the mismatch page's sign-out continues to the link page: then bob is signed in
    post s4-out s4-page jarB "/logout" kind=link_upstream "id=${LINK##*/}"
    req s4-in -b "$T/jarB" -c "$T/jarB" "$(loc s4-out)"
    check "$b: signing out there leads back, and bob is signed in" \
        eval "redirects_to s4-out '^$LINK$' && redirects_to s4-in '^/$'"

    # ---- skip_confirmation -----------------------------------------------------------------------
    signin s5 jarD "$PS" alice
    req s5-page -b "$T/jarD" -c "$T/jarD" "$LINK"
    check "$b: skip_confirmation with terms to accept: the page, every value fixed, the terms' checkbox (MAS skips and records no terms)" \
        eval "html_page s5-page 200 'id=\"username\" value=\"alice-s\" readonly' &&
              expect_file_contains $T/s5-page.b '<p class=\"value\">alice\\+s@example.org</p>' &&
              expect_file_contains $T/s5-page.b 'name=\"accept_terms\" required' && expect_file_lacks $T/s5-page.b 'name=\"username\"'"
    post s5-go s5-page jarD "$LINK" action=register accept_terms=on username=mallory
    REG=$(loc s5-go | sed -n 's|^/register/steps/\([0-9A-Z]\{26\}\)/finish$|\1|p')
    check "$b: ... accepted: the registration under the fixed name (a typed one is ignored)" \
        eval "expect_match '$REG' '^[0-9A-Z]{26}$' &&
              expect_eq \"\$(sql_q \"SELECT username || '|' || terms_url FROM user_registrations WHERE user_registration_id = '$REG'\")\" 'alice-s|https://example.com/tos'"
    req s5-fin0 -b "$T/jarD" -c "$T/jarD" "/register/steps/$REG/finish"
    check "$b: ... the provider's registration_token_required: the token step first" \
        redirects_to s5-fin0 "^/register/steps/$REG/token$"
    req s5-tok-page -b "$T/jarD" -c "$T/jarD" "/register/steps/$REG/token"
    post s5-tok s5-tok-page jarD "/register/steps/$REG/token" "token=invite-$b"
    req s5-fin -b "$T/jarD" -c "$T/jarD" "/register/steps/$REG/finish"
    check "$b: ... then the account alice-s with the forced display name and address" \
        eval "redirects_to s5-tok '/finish$' && redirects_to s5-fin '^/$' &&
              expect_eq \"\$(sql_q \"SELECT e.email FROM users u JOIN user_emails e ON e.user_id = u.user_id WHERE u.username = 'alice-s'\")\" 'alice+s@example.org' &&
              grep /provision_user $HS_RECORD | grep -q 'alice-s'"

    # ---- conflicts --------------------------------------------------------------------------------
    signin s6 jarE "$PC" bob
    req s6-go -b "$T/jarE" -c "$T/jarE" "$LINK"
    check "$b: on_conflict add: the forced name is bob's: his account gets the link and is signed in" \
        eval "redirects_to s6-go '^/$' &&
              expect_eq \"\$(sql_q \"SELECT user_id FROM upstream_oauth_links WHERE upstream_oauth_link_id = '${LINK##*/}'\")\" '$BOB'"
    signin s7 jarF "$PF" bob
    req s7-go -b "$T/jarF" -c "$T/jarF" "$LINK"
    check "$b: on_conflict fail: 409 page naming the name; the link stays without a user" \
        eval "html_page s7-go 409 'The username is taken' && expect_file_contains $T/s7-go.b '&quot;bob&quot;' &&
              expect_eq \"\$(sql_q \"SELECT coalesce(user_id, '-') FROM upstream_oauth_links WHERE upstream_oauth_link_id = '${LINK##*/}'\")\" -"
    signin s8 jarG "$PU" alice
    req s8-go -b "$T/jarG" -c "$T/jarG" "$LINK"
    check "$b: a required localpart 'Alice' (alice exists, on_conflict add): refused, not folded into alice" \
        eval "html_page s8-go 400 'did not say enough' && expect_file_contains $T/s8-go.b '&quot;Alice&quot; is not a Matrix localpart' &&
              expect_eq \"\$(sql_q \"SELECT coalesce(user_id, '-') FROM upstream_oauth_links WHERE upstream_oauth_link_id = '${LINK##*/}'\")\" -"

    # ---- compat SSO ----------------------------------------------------------------------------
    req m1 "/_matrix/client/v3/login"
    check "$b: GET /login: identity_providers in the SSO flow (synapse_idp_id as the id, name, brand)" \
        eval "expect_eq \"\$(js 'JSON.stringify(d.flows.find(f => f.type == \"m.login.sso\").identity_providers.slice(0, 2))' <$T/m1.b)\" \
              '[{\"id\":\"oidc-test\",\"name\":\"Test IdP\",\"brand\":\"github\"},{\"id\":\"$PS\",\"name\":\"127.0.0.1:$IDP_PORT\"}]' &&
              expect_eq \"\$(js 'd.flows.find(f => f.type == \"m.login.sso\").identity_providers.length' <$T/m1.b)\" 6"
    local RURL=http%3A%2F%2F127.0.0.1%3A9%2Fcb
    req m2 "/_matrix/client/v3/login/sso/redirect/oidc-test?redirectUrl=$RURL"
    local SSO
    SSO=$(loc m2 | sed -n "s|^$BASE/upstream/authorize/$PR?kind=continue_compat_sso_login&id=\([0-9A-Z]\{26\}\)$|\1|p")
    check "$b: login/sso/redirect/oidc-test: 303 to that provider, the compat login as the action" expect_match "$SSO" '^[0-9A-Z]{26}$'
    req m3 "/_matrix/client/r0/login/sso/redirect/$PC?redirectUrl=$RURL"
    check "$b: ... by the provider's ULID too" expect_match "$(loc m3)" "^$BASE/upstream/authorize/$PC\\?kind=continue_compat_sso_login&id="
    req m4 "/_matrix/client/v3/login/sso/redirect/oidc-nope?redirectUrl=$RURL"
    req m5 "/_matrix/client/v3/login/sso/redirect/a%2Fb?redirectUrl=$RURL"
    check "$b: an unknown or impossible idp: 404 M_NOT_FOUND, no login recorded" \
        eval "expect_eq \"\$(status $T/m4.h)\" 404 && json_expect $T/m4.b 'd.errcode == \"M_NOT_FOUND\"' && expect_eq \"\$(status $T/m5.h)\" 404 &&
              expect_eq \"\$(sql_q 'SELECT count(*) FROM compat_sso_logins')\" 2"
    signin s9 jarH "$PR" alice "kind=continue_compat_sso_login&id=$SSO"
    req s9-go -b "$T/jarH" -c "$T/jarH" "$LINK"
    check "$b: alice through the IdP: on to the compat login's confirmation" redirects_to s9-go "^/complete-compat-sso/$SSO$"

    # ---- one provider, no password login ---------------------------------------------------------
    "$MASCTL_BIN" -c "$dir/one.yaml" database migrate >>"$dir/masctl.log" 2>&1 || fail_check "$b: the second database" "$(tail -n 5 "$dir/masctl.log")"
    masd_start human-one-$b "$HUMAN_BIN" "$dir/one.yaml" "$S_ONE" || return
    local DACT=kind=continue_device_code_grant\&id=01M99000000000000000000000
    http one1 --unix-socket "$S_ONE" "http://x/login?$DACT"
    check "$b: password login off and one provider: /login is a 303 to it, with the action" \
        eval "expect_eq \"\$(status $T/one1.h)\" 303 && expect_eq \"\$(loc one1)\" '/upstream/authorize/$PR?$DACT'"
    # a browser that signed out a moment ago (its session cookie says when): the page instead
    req one-out-page -b "$T/jarB" -c "$T/jarB" "/"
    req one-out -b "$T/jarB" -c "$T/jarB" --data-urlencode "csrf=$(csrf_of one-out-page)" "/logout"
    http one4 --unix-socket "$S_ONE" -b "session=$(awk '$6 == "session" {print $7}' "$T/jarB")" "http://x/login"
    check "$b: ... but not right after a sign-out: the page with the one button" \
        eval "expect_eq \"\$(status $T/one4.h)\" 200 && expect_file_contains $T/one4.b '>Continue with Test IdP</a>' &&
              expect_file_lacks $T/one4.b 'name=\"password\"'"
    http one5 --unix-socket "$S_ONE" "http://x/register"
    check "$b: /register with password registration off and one provider: a 303 to it" \
        eval "expect_eq \"\$(status $T/one5.h)\" 303 && expect_eq \"\$(loc one5)\" '/upstream/authorize/$PR'"
    stop human-one-$b

    # ---- Chromium: each page at 375 and 1280 px ------------------------------------------------------
    local out=$OUT_BASE/$b
    node "$NODE_DIR/upstream_link_pages.mjs" "$(printf '{"base":"%s","issuer":"%s","chromium":"%s","out":"%s","view":"%s","fail":"%s","upper":"%s","password":"%s"}' \
        "$BASE" "$ISSUER" "$CHROMIUM" "$out" "$PV" "$PF" "$PU" "$PW")" >"$dir/pages.out" 2>"$dir/pages.err"
    step_checks "$b" "$dir/pages.out"
    check "$b: upstream_link_pages.mjs ran to the end" eval "grep -q '^done$' $dir/pages.out || { tail -n 30 $dir/pages.err; false; }"

    stop nginx-$b
    stop assets-$b
    stop oauth-$b
    stop human-$b
    stop idp
    # after the exits, so that LeakSanitizer's report counts
    check "$b: no 500 and no sanitizer report (leaks included)" \
        eval "! grep -E '\" 500 ' $dir/nginx/access.log && sanitizer_clean $T/logs/human-$b.log &&
              sanitizer_clean $T/logs/oauth-$b.log && sanitizer_clean $T/logs/human-one-$b.log"
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/sqlite.db"
if pg_database upstream_link; then
    run_backend pg "$PG_DB_URI"
fi
finish
