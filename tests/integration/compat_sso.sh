#!/usr/bin/env bash
# The compat SSO login of a legacy Matrix client (m.login.sso, then m.login.token) through the
# shipped nginx configuration (units/nginx: the compat location sends /login/sso/redirect to
# masd-oauth, `location /` sends /complete-compat-sso/ to masd-human), on SQLite and, when
# MASD_TEST_PG_URI is set, on PostgreSQL:
#   - tests/node/compat_sso.mjs: matrix-js-sdk 37's loginFlows and getSsoLoginUrl, headless
#     Chromium signing in and confirming, the redirectUrl receiving loginToken (its own query
#     and fragment kept), loginRequest with m.login.token, the stand-in homeserver's
#     upsert_device, the token a second time, refresh_token and a chosen device, "Use another
#     account"; screenshots of the confirmation page (375 and 1280 px, light and dark);
#   - then over HTTP (curl): introspection of the token as the homeserver sees it, the session
#     linked to the browser session; every refused redirectUrl (400, Matrix JSON); the redirect
#     (absolute 303, MSC3824's action, the /redirect/ and /redirect/{idp} forms); the page's
#     errors (unknown 404, used 409, CSRF missing 400, a login older than 30 min 410 through a
#     second masd-human whose clock runs 31 min ahead); a token exchanged 31 s late (a second
#     masd-oauth whose clock runs ahead): "Login token expired"; a token whose browser session
#     ended, whose user is locked or deactivated; a banned user agent (policy): 403 page and 403
#     at the exchange; a native app's redirectUrl (a private-use scheme).
# Screenshots and the HTML go to $OUT/compat_sso-<build>/ (tests/run sets OUT).
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$ASSETS_BIN"
need_node_modules matrix-js-sdk playwright-core
need_chromium
need_command tidy

OUT_BASE=${OUT:-$ROOT/build-output/manual}/compat_sso-$(basename "$BUILD")
rm -rf "$OUT_BASE"
PW='correct horse battery staple'
HS_SECRET=shared-secret-for-the-homeserver
BANNED_UA='BannedAgent/1.0'
homeserver_start "$HS_SECRET" || finish
human_assets

# config FILE DB-URI HUMAN-SOCKET OAUTH-SOCKET: one configuration for every service.
config()
{
    cat >"$1" <<EOF
$(web_config_yaml "$BASE" "$2" "$3" "$4")
rate_limiting:
  login:
    per_ip: {burst: 100, per_second: 1}
policy:
  data:
    requester:
      banned_user_agents: {substrings: ["$BANNED_UA"]}
$(secrets_yaml)
EOF
}

# on SOCKET NAME curl-args... PATH: straight to one process, past nginx.
on() { local sock=$1 name=$2; shift 2; local path=${*: -1}; http "$name" --unix-socket "$sock" "${@:1:$#-1}" "http://x$path"; }
introspect()
{
    req "$1" -H "Authorization: Bearer $HS_SECRET" -H 'Accept: application/json' -H 'X-MAS-Supports-Device-Id: 1' \
        --data-urlencode "token=$2" /oauth2/introspect
}
# matrix_error NAME STATUS ERRCODE [ERROR-REGEX]
matrix_error()
{
    expect_eq "$(status "$T/$1.h")" "$2" || return 1
    expect_match "$(header "$T/$1.h" content-type)" '^application/json' || return 1
    json_expect "$T/$1.b" "d.errcode === '$3' && typeof d.error === 'string' && new RegExp(process.argv[3] || '').test(d.error)" || return 1
    [ -z "${4:-}" ] || expect_match "$(js d.error <"$T/$1.b")" "$4"
}
token_login() # NAME TOKEN [EXTRA-HEADER...]: POST /login with m.login.token through nginx
{
    local name=$1 tok=$2
    shift 2
    req "$name" -H 'content-type: application/json' "$@" --data-binary "{\"type\":\"m.login.token\",\"token\":\"$tok\"}" \
        /_matrix/client/v3/login
}

# sso_start NAME REDIRECT-URL: GET /login/sso/redirect; sets LOGIN (the new login's ID).
sso_start()
{
    req "$1" "/_matrix/client/v3/login/sso/redirect?redirectUrl=$(enc "$2")"
    LOGIN=$(loc "$1" | sed -n 's|.*/complete-compat-sso/\([0-9A-Z]\{26\}\).*|\1|p')
}
# browser_login JAR USER: a signed-in browser session in a curl cookie jar.
browser_login()
{
    req bl-form -b "$1" -c "$1" /login >/dev/null 2>&1
    req bl-post -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of bl-form)" --data-urlencode "username=$2" \
        --data-urlencode "password=$PW" /login
    [ "$(status "$T/bl-post.h")" = 303 ]
}
# confirm NAME JAR LOGIN: GET and POST the confirmation page with that browser; sets TOKEN from
# the redirect's loginToken (a check that there is one).
confirm()
{
    req "$1-get" -b "$2" -c "$2" "/complete-compat-sso/$3"
    req "$1" -b "$2" -c "$2" --data-urlencode "csrf=$(csrf_of "$1-get")" "/complete-compat-sso/$3"
    TOKEN=$(loc "$1" | sed -n 's/.*[?&]loginToken=\([A-Za-z0-9]*\).*/\1/p')
    check "$b: $(basename "$2" | sed 's/jar-//') confirms an SSO login in the browser: a loginToken" expect_match "$TOKEN" '^[A-Za-z0-9]{32}$'
}
# cookies JAR: the jar's cookies as a Cookie header's value (for a request past nginx).
cookies() { awk '$6 == "session" || $6 == "csrf" { printf "%s%s=%s", n++ ? "; " : "", $6, $7 }' "$1"; }

run_backend()
{
    local b=$1 uri=$2 dir ng cb
    dir=$T/$b
    ng=$(free_port) cb=$(free_port)
    BASE=https://127.0.0.1:$ng
    mkdir -p "$dir"
    local S_HUMAN=$T/run/human.sock S_OAUTH=$T/run/oauth.sock
    local S_HUMAN_LATE=$T/run/human-late-$b.sock S_OAUTH_LATE=$T/run/oauth-late-$b.sock
    config "$dir/config.yaml" "$uri" "$S_HUMAN" "$S_OAUTH"
    config "$dir/late.yaml" "$uri" "$S_HUMAN_LATE" "$S_OAUTH_LATE"
    local M=("$MASCTL_BIN" -c "$dir/config.yaml")
    if ! { "${M[@]}" database migrate && for u in alice bob carol dave; do
        "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity "$u" || exit 1
    done; } >"$dir/masctl.log" 2>&1; then
        fail_check "$b: masctl sets up the database" "$(tail -n 20 "$dir/masctl.log")"
        return
    fi
    web_start "$b" "$dir/config.yaml" "$S_HUMAN" "$S_OAUTH" || return
    # Late by the clock: a login 31 min old for this masd-human, a token 31 s old for this masd-oauth.
    MASD_TEST_CLOCK_OFFSET_MS=1860000 masd_start human-late-$b "$HUMAN_BIN" "$dir/late.yaml" "$S_HUMAN_LATE" || return
    MASD_TEST_CLOCK_OFFSET_MS=31000 masd_start oauth-late-$b "$OAUTH_BIN" "$dir/late.yaml" "$S_OAUTH_LATE" || return
    nginx_masd_start nginx-$b "$dir/nginx" "$ng" || return

    # ---- matrix-js-sdk and Chromium ----------------------------------------------------------
    local out=$OUT_BASE/$b R=$dir/result.json
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/compat_sso.mjs" "$(printf \
        '{"base":"%s","callback_port":%s,"user":"alice","other_user":"bob","password":"%s","chromium":"%s","hs_record":"%s","out":"%s","result":"%s"}' \
        "$BASE" "$cb" "$PW" "$CHROMIUM" "$HS_RECORD" "$out" "$R")" >"$dir/sdk.out" 2>"$dir/sdk.err"
    step_checks "$b" "$dir/sdk.out"
    check "$b: compat_sso.mjs ran to the end" eval "grep -q 'no Content-Security-Policy violation' $dir/sdk.out || { tail -n 30 $dir/sdk.err; false; }"
    local AT DEV SSO_ID
    AT=$(js d.access_token <"$R") DEV=$(js d.device_id <"$R") SSO_ID=$(js d.login_id <"$R")

    introspect in1 "$AT"
    check "$b: introspection: the token is active for alice on the device (as the homeserver asks)" \
        json_expect "$T/in1.b" "d.active === true && d.username === 'alice' && d.device_id === '$DEV'"
    sql_q() { if [ "$b" = sqlite ]; then sqlite3 "${uri#sqlite://}" "$1"; else psql -X -qAt "$uri" -c "$1"; fi; }
    check "$b: the compat session records the browser session that confirmed, and the login its session" \
        expect_eq "$(sql_q "SELECT count(*) FROM compat_sso_logins l JOIN compat_sessions s USING (compat_session_id)
            JOIN browser_sessions b ON b.browser_session_id = s.browser_session_id
            WHERE l.compat_sso_login_id = '$SSO_ID' AND l.browser_session_id = b.browser_session_id AND s.device_id = '$DEV'")" 1
    check "$b: the database holds the login token's SHA-256, not the token" \
        eval "T0=\$(js d.login_token <$R) && [ -n \"\$T0\" ] && expect_eq \"\$(sql_q \"SELECT count(*) FROM compat_sso_logins WHERE login_token_hash = '\$(printf %s \"\$T0\" | sha256sum | cut -c1-64)'\")\" 1 &&
              expect_eq \"\$(sql_q \"SELECT count(*) FROM compat_sso_logins WHERE login_token_hash = '\$T0'\")\" 0"

    # ---- the redirect: refused redirectUrls, the forms of the path -----------------------------
    req r0 /_matrix/client/v3/login/sso/redirect
    check "$b: redirect without redirectUrl: 400 M_MISSING_PARAM" matrix_error r0 400 M_MISSING_PARAM 'Missing redirectUrl'
    local bad i=0
    for bad in 'https://user:pw@app.example/' 'https:///cb' 'https:app.example' '/relative' 'javascript:alert(1)' \
        'https://app.example/?loginToken=planted' 'https://app.example\@evil.example/' ''; do
        i=$((i + 1))
        req r$i "/_matrix/client/r0/login/sso/redirect?redirectUrl=$(enc "$bad")"
        check "$b: redirect with redirectUrl '$bad': 400 M_INVALID_PARAM saying why" matrix_error r$i 400 M_INVALID_PARAM '^Invalid redirectUrl: '
    done
    req r9 "/_matrix/client/v3/login/sso/redirect?redirectUrl=x:&redirectUrl=y:"
    check "$b: redirect with redirectUrl twice: 400 M_INVALID_PARAM" matrix_error r9 400 M_INVALID_PARAM 'given twice'
    check "$b: no login was recorded for any refused redirect" \
        expect_eq "$(sql_q "SELECT count(*) FROM compat_sso_logins WHERE redirect_uri LIKE '%planted%' OR redirect_uri LIKE '%evil%'")" 0
    req ok1 "/_matrix/client/v3/login/sso/redirect/?redirectUrl=$(enc 'https://app.example/cb')&action=register"
    check "$b: /redirect/ with action=register: absolute 303 to the page with both action names" \
        eval "expect_eq \"\$(status $T/ok1.h)\" 303 && expect_match \"\$(loc ok1)\" '^$BASE/complete-compat-sso/[0-9A-Z]{26}\\?action=register&org\\.matrix\\.msc3824\\.action=register\$'"
    req ok2 "/_matrix/client/v1/login/sso/redirect/oidc-some-idp?redirectUrl=$(enc 'HTTPS://App.Example')&action=bogus"
    check "$b: /redirect/{idp} with an unknown action: 303 without action; the URL stored normalised" \
        eval "expect_match \"\$(loc ok2)\" '^$BASE/complete-compat-sso/[0-9A-Z]{26}\$' &&
              expect_eq \"\$(sql_q \"SELECT redirect_uri FROM compat_sso_logins WHERE compat_sso_login_id = '\$(loc ok2 | sed 's|.*/||')'\")\" https://app.example/"
    req ok3 -X POST "/_matrix/client/v3/login/sso/redirect?redirectUrl=x:"
    check "$b: POST to the redirect: 405 M_UNRECOGNIZED" matrix_error ok3 405 M_UNRECOGNIZED

    # ---- the page's errors -----------------------------------------------------------------
    local JA=$dir/jar-alice JC=$dir/jar-carol
    check "$b: curl signs alice in" browser_login "$JA" alice
    req p1 -b "$JA" /complete-compat-sso/01ARZ3NDEKTSV4RRFFQ69G5FAV
    check "$b: the page of an unknown login: 404 HTML" csp_page p1 404 'does not exist'
    req p2 -b "$JA" /complete-compat-sso/not-a-login
    check "$b: the page of something that is no ULID: 404 HTML" csp_page p2 404
    req p3 -b "$JA" "/complete-compat-sso/$SSO_ID"
    check "$b: the page of the login matrix-js-sdk used: 409 HTML" csp_page p3 409 'already used'
    sso_start s1 'io.element.app:/callback?x=1'
    req p4 "/complete-compat-sso/$LOGIN"
    check "$b: the page without a session: 303 to the login with the action" \
        eval "expect_eq \"\$(status $T/p4.h)\" 303 && expect_eq \"\$(loc p4)\" '/login?kind=continue_compat_sso_login&id=$LOGIN'"
    req p5 -b "$JA" -X POST "/complete-compat-sso/$LOGIN"
    check "$b: POST without the CSRF token: 400 HTML, the login still pending" \
        eval "csp_page p5 400 'could not be checked' && expect_eq \"\$(sql_q \"SELECT count(*) FROM compat_sso_logins WHERE compat_sso_login_id = '$LOGIN' AND fulfilled_at IS NOT NULL\")\" 0"
    on "$S_HUMAN_LATE" p6 -H "cookie: $(cookies "$JA")" "/complete-compat-sso/$LOGIN"
    check "$b: the page of a login 31 min old (masd-human's clock ahead): 410 HTML" csp_page p6 410 'has expired'
    on "$S_HUMAN_LATE" p7 "/complete-compat-sso/$LOGIN"
    check "$b: ... also without a session: 410, no sign-in asked for first" csp_page p7 410
    req p8-get -b "$JA" -c "$JA" "/complete-compat-sso/$LOGIN"
    on "$S_HUMAN_LATE" p8 -H "cookie: $(cookies "$JA")" --data-urlencode "csrf=$(csrf_of p8-get)" "/complete-compat-sso/$LOGIN"
    check "$b: ... and its POST: 410 HTML, nothing fulfilled" \
        eval "csp_page p8 410 && expect_eq \"\$(sql_q \"SELECT count(*) FROM compat_sso_logins WHERE compat_sso_login_id = '$LOGIN' AND fulfilled_at IS NOT NULL\")\" 0"
    check "$b: GET of the confirmation page: 200 HTML naming the app's scheme, form-action allows it" \
        eval "csp_page p8-get 200 'Continue to io\\.element\\.app:/callback\\?' && expect_match \"\$(header $T/p8-get.h content-security-policy)\" \"form-action 'self' io\\.element\\.app:;\""
    req p9 -b "$JA" --data-urlencode "csrf=$(csrf_of p8-get)" "/complete-compat-sso/$LOGIN"
    TOKEN=$(loc p9 | sed -n 's/.*[?&]loginToken=\([A-Za-z0-9]*\).*/\1/p')
    check "$b: POST: 303 to the native app's URL, loginToken after its own query, an empty fragment" \
        eval "expect_eq \"\$(status $T/p9.h)\" 303 && expect_match \"\$(loc p9)\" '^io\\.element\\.app:/callback\\?x=1&loginToken=[A-Za-z0-9]{32}#\$'"
    req p10 -b "$JA" --data-urlencode "csrf=$(csrf_of p8-get)" "/complete-compat-sso/$LOGIN"
    check "$b: the same POST again: 409 HTML" csp_page p10 409

    # ---- the exchange: too late, session ended, locked, deactivated ---------------------------
    on "$S_OAUTH_LATE" x1 -H 'content-type: application/json' --data-binary "{\"type\":\"m.login.token\",\"token\":\"$TOKEN\"}" \
        /_matrix/client/v3/login
    check "$b: the token 31 s after the confirmation (masd-oauth's clock ahead): 403 Login token expired" \
        matrix_error x1 403 M_FORBIDDEN '^Login token expired$'
    token_login x2 "$TOKEN"
    check "$b: ... while in time it is still good once: 200" eval "expect_eq \"\$(status $T/x2.h)\" 200 && json_expect $T/x2.b \"d.user_id === '@alice:example.com'\""
    local JB=$dir/jar-bob
    browser_login "$JB" bob
    sso_start s2 'https://app.example/cb'
    confirm c2 "$JB" "$LOGIN"
    "${M[@]}" manage lock-user bob >/dev/null 2>&1
    token_login x3 "$TOKEN"
    check "$b: a token whose user was locked since: 401 M_USER_LOCKED" matrix_error x3 401 M_USER_LOCKED
    "${M[@]}" manage unlock-user bob >/dev/null 2>&1
    token_login x4 "$TOKEN"
    check "$b: ... unlocked again, the same token works (nothing was consumed)" expect_eq "$(status "$T/x4.h")" 200
    browser_login "$JC" carol
    sso_start s3 'https://app.example/cb'
    confirm c3 "$JC" "$LOGIN"
    req lo -b "$JC" -c "$JC" --data-urlencode "csrf=$(csrf_of c3-get)" /logout
    token_login x5 "$TOKEN"
    check "$b: a token whose browser session signed out since: 403 Invalid login token" matrix_error x5 403 M_FORBIDDEN '^Invalid login token$'
    local JD=$dir/jar-dave
    browser_login "$JD" dave
    sso_start s4 'https://app.example/cb'
    confirm c4 "$JD" "$LOGIN"
    "${M[@]}" manage lock-user --deactivate dave >/dev/null 2>&1
    token_login x6 "$TOKEN"
    check "$b: a token whose user was deactivated since: 403 Invalid login token" matrix_error x6 403 M_FORBIDDEN '^Invalid login token$'

    # ---- the policy: a banned user agent -----------------------------------------------------
    sso_start s5 'https://app.example/cb'
    req pv -b "$JA" -A "$BANNED_UA" "/complete-compat-sso/$LOGIN"
    check "$b: the page for a banned user agent: 403 policy page" csp_page pv 403 "isn&#39;t allowed to do this action|isn't allowed"
    confirm c5 "$JA" "$LOGIN"
    token_login x7 "$TOKEN" -A "$BANNED_UA"
    check "$b: the exchange by a banned user agent: 403 Login denied by the policy" \
        matrix_error x7 403 M_FORBIDDEN '^Login denied by the policy enforced by this service$'
    token_login x8 "$TOKEN"
    check "$b: ... the refusal consumed nothing: another agent exchanges it" expect_eq "$(status "$T/x8.h")" 200

    # ---- what was looked at ----------------------------------------------------------------
    tidy_ok() { tidy -q -e "$1" >"$dir/tidy.out" 2>&1; local rc=$?; cat "$dir/tidy.out"; [ $rc -lt 2 ]; }
    check "$b: tidy finds no error in the confirmation page" tidy_ok "$out/html/sso.html"
    check "$b: screenshots written (375 and 1280 px, light and dark)" eval \
        "for s in light dark; do for w in 375 1280; do [ -s $out/screenshots/sso-\$s-\$w.png ] || { echo missing \$s-\$w; exit 1; }; done; done"

    stop nginx-$b
    check "$b: nginx logged no upstream error" expect_file_lacks "$dir/nginx/error.log" '\[(error|crit|alert|emerg)\]'
    for s in human oauth assets human-late oauth-late; do masd_stop $s-$b; done
}

command -v sqlite3 >/dev/null || { fail_check "sqlite3 is installed" "tools/packages --install test"; finish; }
backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database compat_sso && run_backend pg "$PG_DB_URI"
note "screenshots and HTML in $OUT_BASE"
finish
