#!/usr/bin/env bash
# The account pages (services/human/account_page.c, account.c) behind the shipped nginx config, on
# SQLite and, when MASD_TEST_PG_URI is set, PostgreSQL, with the homeserver stand-in, masd-oauth
# (compat login, introspection), masd-worker and a real SMTP server (Debian's python3-aiosmtpd):
#   - signed out, each page goes through the login and back; /.well-known/change-password;
#   - the display name: changed and removed on the homeserver, shown live from it;
#   - an e-mail address: added with the code read from the received mail (the homeserver's
#     provision_user then has it), removed (and the homeserver's list without it); the password
#     re-check; the code only for the browser session that asked, its guesses limited;
#   - the password: wrong current one, weak or mismatched new one; then the old one no longer
#     signs in (at /login and the compat /login), and ending the other sessions makes another
#     session's token inactive at introspection and signs the other browser out;
#   - deactivation: confirmation, password, erase; signed out; the homeserver's delete_user;
#   - CSRF refused; every account.* switch off: 403 pages, links hidden.
# Headless Chromium does the same as a person (SQLite run), with screenshots of every page.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
WORKER_BIN=$BUILD/services/worker/masd-worker
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$WORKER_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || { fail_check "python3-aiosmtpd is installed" "tools/packages --install test"; finish; }

HS_SECRET=shared-secret-for-the-homeserver
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT_DIR=${OUT:-$ROOT/build-output/manual}/account-$(basename "$BUILD")
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
PW='correct horse battery staple 42'
NEWPW='violet tangerine microscope 77'
homeserver_start "$HS_SECRET" || finish
SMTP_PORT=$(free_port)
MAIL=$T/mail
mkdir -p "$MAIL"
spawn smtp "$T/logs/smtp.log" /usr/bin/python3 "$ROOT/tests/tools/smtp_server.py" --listen "127.0.0.1:$SMTP_PORT" \
    --dir "$MAIL" --mode plain
wait_listen "127.0.0.1:$SMTP_PORT" "${PID_OF[smtp]}" >"$T/wait.out" 2>&1 ||
    { fail_check "the SMTP server starts" "$(cat "$T/wait.out" "$T/logs/smtp.log")"; finish; }
# code_for ADDRESS N: the code of the Nth message to ADDRESS (waits up to 10 s for it).
code_for()
{
    local i f
    for i in $(seq 1 100); do
        f=$(grep -l "^To: .*$1" "$MAIL"/*.eml 2>/dev/null | sort -V | sed -n "${2}p")
        if [ -n "$f" ]; then
            sed -n 's/^Subject: \([0-9]\{6\}\) .*/\1/p' "$f" | head -n 1
            return 0
        fi
        sleep 0.1
    done
    return 1
}
human_assets

# config FILE DB-URI B BASE [ACCOUNT-SWITCHES]: one configuration for every service.
config()
{
    cat >"$1" <<EOF
http:
  public_base: $4/
  listeners:
    - name: human
      resources: [{name: human}, {name: graphql}]
      binds: [{socket: $T/run/human-$3.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{socket: $T/run/oauth-$3.sock, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery-$3.sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
account:
${5:-  email_change_allowed: true}
email:
  transport: smtp
  mode: plain
  hostname: 127.0.0.1
  port: $SMTP_PORT
  from: accounts@example.com
rate_limiting:
  login:
    per_ip: {burst: 100, per_second: 1}
    per_account: {burst: 100, per_second: 1}
  email_authentication:
    per_ip: {burst: 100, per_second: 1}
    attempt_per_session: {burst: 3, per_second: 0.001}
$(secrets_yaml)
EOF
}

body_has() { expect_file_contains "$T/$1.b" "$2"; }
body_lacks() { expect_file_lacks "$T/$1.b" "$2"; }
page() { expect_eq "$(status "$T/$1.h")" "$2" && expect_match "$(header "$T/$1.h" content-type)" '^text/html'; }
# hs_wait LOCALPART PYTHON-EXPRESSION-OVER-u: waits up to 10 s for the stand-in's record of the
# user (a dict: display_name, emails, deactivated, ...) to satisfy it; says what it was otherwise.
hs_wait()
{
    /usr/bin/python3 - "${HS_ENDPOINT}_standin/state" "$1" "$2" <<'PY'
import json, sys, time, urllib.request
url, lp, cond = sys.argv[1:4]
for _ in range(200):
    u = json.load(urllib.request.urlopen(url))["users"].get(lp)
    if u is not None and eval(cond, {}, {"u": u}):
        sys.exit(0)
    time.sleep(0.05)
print("the homeserver's %s: %s" % (lp, json.dumps(u)))
sys.exit(1)
PY
}
# hs_edit LOCALPART KEY JSON-VALUE: changes the stand-in's record of the user, as if done elsewhere.
hs_edit()
{
    /usr/bin/python3 - "${HS_ENDPOINT}_standin/state" "$@" <<'PY'
import json, sys, urllib.request
url, lp, key, value = sys.argv[1:5]
state = json.load(urllib.request.urlopen(url))
state["users"][lp][key] = json.loads(value)
urllib.request.urlopen(urllib.request.Request(url, json.dumps(state).encode(), {"Content-Type": "application/json"}))
PY
}

# backend NAME DB-URI SQL-CMD...: the whole story on one database.
backend()
{
    local B=$1 uri=$2
    shift 2
    local sqlcmd=("$@")
    sql() { "${sqlcmd[@]}" "$1"; }
    local NG BASE
    NG=$(free_port)
    BASE=https://127.0.0.1:$NG
    config "$T/$B.yaml" "$uri" "$B" "$BASE"
    local M=("$MASCTL_BIN" -c "$T/$B.yaml")
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        "${M[@]}" manage register-user -y -p "$PW" "alice-$B" &&
        "${M[@]}" manage register-user -y -p "$PW" "carol-$B" &&
        "${M[@]}" manage register-user -y -p "$PW" "dana-$B" &&
        "${M[@]}" manage register-user -y -p "$PW" "erin-$B"; } >"$T/$B-masctl.log" 2>&1; then
        fail_check "[$B] masctl sets up the database" "$(tail -n 20 "$T/$B-masctl.log")"
        return
    fi
    masd_start "human-$B" "$HUMAN_BIN" "$T/$B.yaml" "$T/run/human-$B.sock" || return
    masd_start "oauth-$B" "$OAUTH_BIN" "$T/$B.yaml" "$T/run/oauth-$B.sock" || return
    spawn "worker-$B" "$T/logs/worker-$B.log" "$WORKER_BIN" --config "$T/$B.yaml" --threads 2
    masd_start "discovery-$B" "$DISCOVERY_BIN" "$T/$B.yaml" "$T/run/discovery-$B.sock" || return
    [ "$B" = sqlite ] && { masd_start assets "$ASSETS_BIN" "$T/$B.yaml" "$T/run/assets.sock" || return; }
    mkdir -p "$T/nginx-$B"
    render_nginx_snippets "$T/nginx-$B/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
        -e '/listen \[::\]:443/d'
    sed -i -e "s|unix:[^ ;]*/human\.sock|unix:$T/run/human-$B.sock|" \
        -e "s|unix:[^ ;]*/oauth\.sock|unix:$T/run/oauth-$B.sock|" \
        -e "s|unix:[^ ;]*/discovery\.sock|unix:$T/run/discovery-$B.sock|" "$T/nginx-$B/masd/masd-upstreams-unix.conf"
    nginx_main_conf "$T/nginx-$B" "
    include $T/nginx-$B/masd/masd-upstreams-unix.conf;
    include $T/nginx-$B/masd/masd.conf;"
    nginx_start "nginx-$B" "$T/nginx-$B" "127.0.0.1:$NG" || return

    req() { jar_req "$@"; }
    form() { jar_form "$@"; }
    compat_login() # NAME USER PASSWORD
    {
        req "$1" - -H 'Content-Type: application/json' --data-binary \
            "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$2\"},\"password\":\"$3\"}" \
            /_matrix/client/v3/login
    }
    introspect() # NAME TOKEN
    {
        req "$1" - -X POST -H "Authorization: Bearer $HS_SECRET" -H 'Content-Type: application/x-www-form-urlencoded' \
            --data-urlencode "token=$2" /oauth2/introspect
    }
    local A=alice-$B J=$B-jar J2=$B-jar2
    check "[$B] masd-worker provisions the users on the homeserver" hs_wait "$A" True

    # Signed out: through the login and back.
    req a0 - /account/
    check "[$B] /account/ signed out: 303 to the login, manage_account after it" redirects_to a0 '/login\?kind=manage_account$'
    req a1 - /account/password/change
    check "[$B] /account/password/change signed out: the login, then change_password" redirects_to a1 '/login\?kind=change_password$'
    req a2 - /account/deactivate
    check "[$B] /account/deactivate signed out: the login" redirects_to a2 '/login\?kind=manage_account$'
    req a3 - /.well-known/change-password
    check "[$B] /.well-known/change-password: 303 to the password page" redirects_to a3 '^/account/password/change$'
    form l1 "$J" "/login?kind=manage_account" "username=$A" "password=$PW"
    check "[$B] the login goes on to the account" redirects_to l1 '^/account/$'
    form l2 "$J2" /login "username=$A" "password=$PW"
    req l4 "$J" /account
    check "[$B] /account signed in: 303 to the profile" redirects_to l4 '^/account/$'

    # The display name, on the homeserver.
    req p0 "$J" /account/
    check "[$B] the profile: the user, the forms, the links" \
        eval 'page p0 200 && body_has p0 "@$A:example.com" && body_has p0 "name=\"display_name\"" &&
              body_has p0 "href=\"/account/password/change\"" && body_has p0 "href=\"/account/sessions\"" &&
              body_has p0 "href=\"/account/deactivate\"" && body_has p0 "value=\"add_email\""'
    form p1 "$J" /account/ action=set_display_name "display_name=  Alice <Liddell> "
    check "[$B] a display name: 303 back with a notice; the homeserver has it (trimmed)" \
        eval 'redirects_to p1 "^/account/\\?done=display_name_set$" && hs_wait "$A" "u[\"display_name\"] == \"Alice <Liddell>\""'
    req p2 "$J" "/account/?done=display_name_set"
    check "[$B] the profile shows it, from the homeserver, escaped" \
        eval 'body_has p2 "<p class=\"name\">Alice &lt;Liddell&gt;</p>" && body_has p2 "display name was changed"'
    hs_edit "$A" display_name '"Changed Elsewhere"'
    req p3 "$J" /account/
    check "[$B] ... live: a name changed on the homeserver shows at once" body_has p3 "Changed Elsewhere"
    form p4 "$J" /account/ action=set_display_name "display_name=$(printf 'x%.0s' $(seq 1 257))"
    check "[$B] a display name over 256 bytes: 400, the form again, the homeserver unchanged" \
        eval 'page p4 400 && body_has p4 "1 to 256 bytes" && hs_wait "$A" "u[\"display_name\"] == \"Changed Elsewhere\""'
    form p5 "$J" /account/ action=unset_display_name display_name=
    check "[$B] remove it: unset on the homeserver" \
        eval 'redirects_to p5 "done=display_name_removed" && hs_wait "$A" "u[\"display_name\"] is None"'
    req p6 "$J" --data-urlencode action=set_display_name --data-urlencode display_name=evil /account/
    check "[$B] a form without its CSRF token: 400, nothing changed" \
        eval 'page p6 400 && hs_wait "$A" "u[\"display_name\"] is None"'
    req p7-get "$J2" /account/
    req p7 "$J" --data-urlencode "csrf=$(csrf_of p7-get)" --data-urlencode action=set_display_name \
        --data-urlencode display_name=evil /account/
    check "[$B] another browser's CSRF token: 400" eval 'page p7 400 && body_has p7 "[Ff]orm"'

    # An e-mail address.
    form e1 "$J" /account/ action=add_email "email=$A@example.org"
    check "[$B] add an address without the password: 400, asked for it" eval 'page e1 400 && body_has e1 "Enter your password"'
    form e2 "$J" /account/ action=add_email "email=$A@example.org" "password=wrong"
    check "[$B] ... with a wrong password: 400" eval 'page e2 400 && body_has e2 "password is not correct"'
    form e3 "$J" /account/ action=add_email "email=not-an-address" "password=$PW"
    check "[$B] ... not an address: 400" eval 'page e3 400 && body_has e3 "not an email address"'
    form e4 "$J" /account/ action=add_email "email=$A@Example.org" "password=$PW"
    local AUTH
    AUTH=$(loc e4 | sed -n 's|^/account/emails/\([0-9A-Z]*\)/verify$|\1|p')
    check "[$B] ... right: 303 to the code page" expect_match "$AUTH" '^[0-9A-Z]{26}$'
    req v0 "$J" "/account/emails/$AUTH/verify"
    local CODE
    CODE=$(code_for "$A@Example.org" 1)
    check "[$B] the code page names the address; the code arrived by e-mail" \
        eval 'page v0 200 && body_has v0 "$A@Example.org" && expect_match "$CODE" "^[0-9]{6}$"'
    req v1 "$J2" "/account/emails/$AUTH/verify"
    req v2-get "$J2" /account/
    req v2 "$J2" --data-urlencode "csrf=$(csrf_of v2-get)" -d action=verify -d "code=$CODE" "/account/emails/$AUTH/verify"
    check "[$B] another browser session (same user) cannot see or use it: 404" \
        eval 'page v1 404 && expect_eq "$(status "$T/v2.h")" 404 && expect_eq "$(sql "SELECT COUNT(*) FROM user_emails")" 0'
    req v3 - "/account/emails/nonsense/verify"
    check "[$B] a malformed ID: 404" page v3 404
    form v4 "$J" "/account/emails/$AUTH/verify" action=verify "code=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))"
    check "[$B] a wrong code: 400" eval 'page v4 400 && body_has v4 "not right"'
    form v5 "$J" "/account/emails/$AUTH/verify" action=verify "code=${CODE:0:3} ${CODE:3}"
    check "[$B] the right code: 303 to the profile, the address listed" \
        eval 'redirects_to v5 "done=email_added" && expect_eq "$(sql "SELECT email FROM user_emails")" "$A@Example.org"'
    check "[$B] ... and the homeserver has it (provision_user queued with the address)" \
        hs_wait "$A" '"'"$A"'@Example.org" in u["emails"]'
    req v6 "$J" /account/
    local EID
    EID=$(sed -n 's/.*name="id" value="\([0-9A-Z]\{26\}\)".*/\1/p' "$T/v6.b" | head -n 1)
    check "[$B] the profile lists it with a remove form" eval 'body_has v6 "$A@Example.org" && expect_match "$EID" "^[0-9A-Z]{26}$"'
    # Guessing: another authentication, four wrong codes; the limit is 3.
    form g1 "$J" /account/ action=add_email "email=guess-$B@example.org" "password=$PW"
    local AUTH2 i
    AUTH2=$(loc g1 | sed -n 's|^/account/emails/\([0-9A-Z]*\)/verify$|\1|p')
    for i in 1 2 3 4; do form "g2-$i" "$J" "/account/emails/$AUTH2/verify" action=verify code=000000; done
    check "[$B] guessing the code: the 4th try is 429 (attempt_per_session)" \
        eval 'page g2-3 400 && page g2-4 429 && body_has g2-4 "Too many attempts"'
    form g3 "$J" "/account/emails/$AUTH2/verify" action=verify "code=$(code_for "guess-$B@example.org" 1)"
    check "[$B] ... the right code is refused too while limited" eval 'page g3 429 && expect_eq "$(sql "SELECT COUNT(*) FROM user_emails")" 1'
    form r1 "$J" /account/ action=remove_email "id=$EID" "password=wrong"
    check "[$B] remove with a wrong password: 400, still there" eval 'page r1 400 && expect_eq "$(sql "SELECT COUNT(*) FROM user_emails")" 1'
    form r2 "$J" /account/ action=remove_email "id=$EID" "password=$PW"
    check "[$B] remove with the password: 303, gone here and on the homeserver" \
        eval 'redirects_to r2 "done=email_removed" && expect_eq "$(sql "SELECT COUNT(*) FROM user_emails")" 0 &&
              hs_wait "$A" "u[\"emails\"] == []"'

    # The password.
    compat_login c1 "$A" "$PW"
    local TOKEN
    TOKEN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).access_token)' "$T/c1.b" 2>/dev/null)
    introspect i1 "$TOKEN"
    check "[$B] a compat session elsewhere: its token is active" json_expect "$T/i1.b" 'd.active === true'
    form w1 "$J" /account/password/change action=change "password=wrong" "new_password=$NEWPW" "new_password_confirm=$NEWPW"
    check "[$B] a wrong current password: 400" eval 'page w1 400 && body_has w1 "password is not correct"'
    form w2 "$J" /account/password/change action=change "password=$PW" "new_password=abc" "new_password_confirm=abc"
    check "[$B] a weak new password: 400" eval 'page w2 400 && body_has w2 "too easy to guess"'
    form w3 "$J" /account/password/change action=change "password=$PW" "new_password=$NEWPW" "new_password_confirm=${NEWPW}x"
    check "[$B] the new passwords differ: 400" eval 'page w3 400 && body_has w3 "are not the same"'
    form w4 "$J" /account/password/change action=change "password=$PW" "new_password=$NEWPW" "new_password_confirm=$NEWPW"
    check "[$B] the right one: 303, then the offer to sign out everywhere else" \
        eval 'redirects_to w4 "^/account/password/change\\?done=password_changed$"'
    req w5 "$J" "/account/password/change?done=password_changed"
    check "[$B] ... the page offers it" eval 'page w5 200 && body_has w5 "value=\"end_sessions\""'
    form o1 "$B-jar4" /login "username=$A" "password=$PW"
    compat_login o2 "$A" "$PW"
    form o3 "$B-jar3" /login "username=$A" "password=$NEWPW"
    check "[$B] the old password no longer signs in (/login, compat /login); the new one does" \
        eval 'page o1 403 && body_has o1 "not correct" && expect_eq "$(status "$T/o2.h")" 403 && redirects_to o3 "^/$"'
    form w6 "$J" /account/password/change action=end_sessions
    check "[$B] sign out everywhere else: 303 with a notice" redirects_to w6 "done=sessions_ended"
    introspect i2 "$TOKEN"
    req w7 "$J2" /account/
    req w8 "$J" /account/
    check "[$B] ... the other session's token is inactive, the other browser is signed out, this one is not" \
        eval 'expect_eq "$(cat "$T/i2.b")" "{\"active\":false}" && page w7 200 && body_has w7 "signed out" && page w8 200 && body_has w8 "@$A:example.com"'

    # The identity reset (MSC4191 org.matrix.cross_signing_reset): the homeserver's
    # allow_cross_signing_reset, after a confirmation with the CSRF token.
    xs_count() { grep "/allow_cross_signing_reset" "$HS_RECORD" | grep -c "\"$A\""; }
    req x0 - "/account/?action=org.matrix.cross_signing_reset"
    check "[$B] the deep link signed out: the login, the action kept" \
        redirects_to x0 '/login\?kind=manage_account&action=org\.matrix\.cross_signing_reset$'
    form x1 "$B-jarx" "$(loc x0)" "username=$A" "password=$NEWPW"
    [ "$(status "$T/x1.h")" = 303 ] && req x2 "$B-jarx" "$(loc x1)"
    [ "$(status "$T/x2.h")" = 303 ] && req x2b "$B-jarx" "$(loc x2)"
    check "[$B] ... after the login, on to the reset page" \
        eval 'redirects_to x1 "^/account/\?action=org\.matrix\.cross_signing_reset$" &&
              redirects_to x2 "^/account/reset-cross-signing$" && page x2b 200 && body_has x2b "Allow the reset"'
    req x3 "$J" "/account/?action=org.matrix.cross_signing_reset"
    check "[$B] the deep link signed in: 303 to the reset page" redirects_to x3 '^/account/reset-cross-signing$'
    req x4 - /account/reset-cross-signing
    check "[$B] the reset page signed out: the login" redirects_to x4 '/login\?kind=manage_account$'
    local xs0
    xs0=$(xs_count)
    req x5 "$J" -X POST /account/reset-cross-signing
    req x6-get "$J2" /account/
    req x6 "$J" --data-urlencode "csrf=$(csrf_of x6-get)" /account/reset-cross-signing
    check "[$B] a reset without its CSRF token, or with another browser's: 400, the homeserver not asked" \
        eval 'page x5 400 && page x6 400 && expect_eq "$(xs_count)" "$xs0"'
    form x7 "$J" /account/reset-cross-signing
    check "[$B] the reset allowed: the page says so, the homeserver got allow_cross_signing_reset for $A" \
        eval 'page x7 200 && body_has x7 "Reset allowed" && body_lacks x7 "<form method=\"post\" class" &&
              expect_eq "$(xs_count)" "$((xs0 + 1))"'
    curl -sS -o /dev/null -X POST -d '{"status": 404, "count": 5, "errcode": "M_NOT_FOUND"}' "${HS_ENDPOINT}_standin/fail"
    form x8 "$J" /account/reset-cross-signing
    curl -sS -o /dev/null -X POST -d '{"status": 0, "count": 0}' "${HS_ENDPOINT}_standin/fail"
    check "[$B] ... the homeserver refuses: the 502 page" \
        eval 'page x8 502 && body_has x8 "The homeserver did not answer" && body_lacks x8 "Reset allowed"'

    # Deactivation (carol).
    local C=carol-$B JC=$B-jarc
    form l3 "$JC" /login "username=$C" "password=$PW"
    form d1 "$JC" /account/deactivate "password=$PW"
    check "[$B] deactivate without the confirmation: 400" eval 'page d1 400 && body_has d1 "Tick the box"'
    form d2 "$JC" /account/deactivate "password=wrong" confirm=on erase=on
    check "[$B] ... a wrong password: 400, still active" \
        eval 'page d2 400 && expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = '"'$C'"' AND deactivated_at IS NULL")" 1'
    form d3 "$JC" /account/deactivate "password=$PW" confirm=on erase=on
    check "[$B] ... right: the signed-out page, the session cookie cleared, the account deactivated" \
        eval 'page d3 200 && body_has d3 "Account deactivated" && grep -qi "^set-cookie: session=" "$T/d3.h" &&
              expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = '"'$C'"' AND deactivated_at IS NOT NULL")" 1'
    check "[$B] ... the homeserver's delete_user, with erase" \
        eval 'for i in $(seq 1 100); do grep "/delete_user" "$HS_RECORD" | grep -q "\"localpart\": *\"$C\".*\"erase\": *true" && break; sleep 0.1; done;
              grep "/delete_user" "$HS_RECORD" | grep -q "\"localpart\": *\"$C\".*\"erase\": *true"'
    req d4 "$JC" /account/
    form d5 - /login "username=$C" "password=$PW"
    check "[$B] ... that browser is signed out, and carol cannot sign in" \
        eval 'redirects_to d4 "/login" && ! redirects_to d5 "^/$" >/dev/null'

    # The same through GraphQL, as MAS's account frontend asks (erin): every document validated
    # against masd's introspected schema (tests/node/gql_client.mjs).
    form l5 "$B-jare" /login "username=erin-$B" "password=$PW"
    local cookie alice_id
    cookie=session=$(awk '$6 == "session" { print $7 }' "$T/$B-jare")
    alice_id=user:$(sql "SELECT user_id FROM users WHERE username = '$A'")
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/account_graphql.mjs" "$(printf \
        '{"base":"%s","cookie":"%s","other_cookie":"session=%s","other_user_id":"%s","username":"erin-%s","password":"%s","new_password":"%s","mail_dir":"%s","hs":"%s"}' \
        "$BASE" "$cookie" "$(awk '$6 == "session" { print $7 }' "$T/$J")" "$alice_id" "$B" "$PW" "$NEWPW" "$MAIL" "$HS_ENDPOINT")" >"$T/graphql-$B.out" 2>&1
    step_checks "[$B] graphql" "$T/graphql-$B.out"
    check "[$B] graphql: account_graphql.mjs ran to the end" \
        eval "grep -q '\"documents\"' $T/graphql-$B.out || { tail -n 30 $T/graphql-$B.out; false; }"
    check "[$B] graphql: the homeserver got allow_cross_signing_reset for erin, and never alice's 'pwned' name" \
        eval 'grep "/allow_cross_signing_reset" "$HS_RECORD" | grep -q "\"erin-$B\"" && ! grep -q pwned "$HS_RECORD"'

    # Chromium, as a person (SQLite: one run), in the background while PostgreSQL's run goes on.
    if [ "$B" = sqlite ]; then
        NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/account.mjs" "$(printf \
            '{"base":"%s","out":"%s","username":"dana-%s","mxid":"@dana-%s:example.com","mail_dir":"%s","password":"%s","new_password":"%s","chromium":"%s","hs":"%s"}' \
            "$BASE" "$OUT_DIR" "$B" "$B" "$MAIL" "$PW" "$NEWPW" "$CHROMIUM" "$HS_ENDPOINT")" >"$T/browser.out" 2>&1 &
        BROWSER_PID=$!
        _PIDS+=("$BROWSER_PID")
    fi
}

# The browser's steps, once it is done.
browser_results()
{
    wait "$BROWSER_PID"
    step_checks "chromium" "$T/browser.out"
    check "chromium: account.mjs ran to the end" \
        eval "grep -q 'no Content-Security-Policy' $T/browser.out || { tail -n 30 $T/browser.out; false; }"
    local p
    for p in account account-verify-email account-password account-password-changed account-reset-cross-signing \
        account-reset-cross-signing-done account-deactivate account-deactivated; do
        check "tidy finds no error in the $p page" eval 'tidy -q -e "$OUT_DIR/html/$p.html" >"$T/tidy.out" 2>&1; [ $? -lt 2 ] || { cat "$T/tidy.out"; false; }'
    done
}

# Every account.* switch off (SQLite, the socket directly).
switches_off()
{
    config "$T/off.yaml" "sqlite://$T/off.db" off "http://x" "  email_change_allowed: false
  displayname_change_allowed: false
  password_change_allowed: false
  account_deactivation_allowed: false"
    { "$MASCTL_BIN" -c "$T/off.yaml" database migrate && "$MASCTL_BIN" -c "$T/off.yaml" config sync &&
        "$MASCTL_BIN" -c "$T/off.yaml" manage register-user -y -p "$PW" erin; } >/dev/null 2>&1
    masd_start human-off "$HUMAN_BIN" "$T/off.yaml" "$T/run/human-off.sock" || finish
    sreq() # NAME JAR curl-args... PATH
    {
        local name=$1 jar=$2
        shift 2
        local path=${*: -1}
        http "$name" --unix-socket "$T/run/human-off.sock" -b "$T/$jar" -c "$T/$jar" "${@:1:$#-1}" "http://x$path"
    }
    sreq f0-get off-jar /login
    sreq f0 off-jar --data-urlencode "csrf=$(csrf_of f0-get)" --data-urlencode username=erin --data-urlencode "password=$PW" /login
    sreq f1 off-jar /account/
    check "switches off: the profile has no forms and no links to what is off" \
        eval 'page f1 200 && body_lacks f1 "name=\"display_name\"" && body_lacks f1 "add_email" &&
              body_lacks f1 "/account/password/change" && body_lacks f1 "/account/deactivate" && body_has f1 "/account/sessions"'
    sreq f2 off-jar /account/password/change
    sreq f3 off-jar /account/deactivate
    check "switches off: the password and deactivation pages are 403" eval 'page f2 403 && page f3 403'
    sreq f4 off-jar --data-urlencode "csrf=$(csrf_of f1)" -d action=add_email -d email=e@example.org --data-urlencode "password=$PW" /account/
    sreq f5 off-jar --data-urlencode "csrf=$(csrf_of f1)" -d action=set_display_name -d display_name=E /account/
    check "switches off: adding an address, setting the display name: 403" eval 'page f4 403 && page f5 403'
    sreq f6 off-jar /account/emails/01HQ8Z4ZQ0ABCDEFGHJKMNPQRS/verify
    check "switches off: the code page is 403" page f6 403
}

if backend_wanted sqlite; then
    backend sqlite "sqlite://$T/masd.db" sqlite3 "$T/masd.db"
    browser_results
    switches_off
fi
if pg_database account; then
    backend postgresql "$PG_DB_URI" psql -X -q -t -A "$PG_DB_URI" -c
fi

# Every masd process of the run exits cleanly, without a sanitizer report.
for p in human-sqlite oauth-sqlite worker-sqlite human-postgresql oauth-postgresql worker-postgresql human-off; do
    [ -n "${PID_OF[$p]:-}" ] && masd_stop "$p"
done

finish
