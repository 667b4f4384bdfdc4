#!/usr/bin/env bash
# Registration with a password (services/human/register.c) behind the shipped nginx config, on
# SQLite and, when MASD_TEST_PG_URI is set, PostgreSQL, with the homeserver stand-in:
#   - /register → /register/password (the post-auth action kept); the form's errors, each on its
#     field (taken here, refused by the homeserver, the policy's username rules, passwords that
#     differ or are weak, the terms), CSRF, the registration limit per client address;
#   - the steps: a registration token (wrong, right, used up by another registration meanwhile),
#     the e-mail's six-digit code — mailed by masd-worker to a real SMTP server (Debian's
#     python3-aiosmtpd) and read from the received message — (wrong, another one sent, right),
#     a display name; finish creates the user, its password, the accepted terms and a signed-in
#     browser session, counts the token's use, and the homeserver has the user with its display
#     name before the answer; the password works at /login afterwards;
#   - a registration is its browser's: another browser gets 403, an hour later it is 410 (a
#     second masd-human whose clock runs 2 h ahead), a completed one goes on to its action;
#   - prompt=create at /authorize lands on the registration and continues to the consent;
#   - a server without registration: 403 page, /register/password goes to the login.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
MASCTL_BIN=$BUILD/tools/masctl
WORKER_BIN=$BUILD/services/worker/masd-worker
require_binaries "$HUMAN_BIN" "$MASCTL_BIN" "$WORKER_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || { fail_check "python3-aiosmtpd is installed" "tools/packages --install test"; finish; }

HS_SECRET=shared-secret-for-the-homeserver
CB=$(free_port) # the client's redirect URI in the browser run (tests/node/register.mjs)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT_DIR=${OUT:-$ROOT/build-output/manual}/register-$(basename "$BUILD")
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
CID=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS
PW='correct horse battery staple 42'
homeserver_start "$HS_SECRET" || finish
# The mail server: every message it accepts is $MAIL/N.eml.
SMTP_PORT=$(free_port)
MAIL=$T/mail
mkdir -p "$MAIL"
spawn smtp "$T/logs/smtp.log" /usr/bin/python3 "$ROOT/tests/tools/smtp_server.py" --listen "127.0.0.1:$SMTP_PORT" \
    --dir "$MAIL" --mode plain
wait_listen "127.0.0.1:$SMTP_PORT" "${PID_OF[smtp]}" >"$T/wait.out" 2>&1 ||
    { fail_check "the SMTP server starts" "$(cat "$T/wait.out" "$T/logs/smtp.log")"; finish; }
# code_for ADDRESS: the code of the newest message to ADDRESS (waits up to 10 s for one newer
# than $MAIL_SEEN messages to it), from its subject "NNNNNN is your code for …".
code_for()
{
    local i f
    for i in $(seq 1 100); do
        f=$(grep -l "^To: .*$1" "$MAIL"/*.eml 2>/dev/null | sort -V | tail -n 1)
        if [ -n "$f" ] && [ "$(grep -l "^To: .*$1" "$MAIL"/*.eml | wc -l)" -gt "${MAIL_SEEN:-0}" ]; then
            sed -n 's/^Subject: \([0-9]\{6\}\) .*/\1/p' "$f" | head -n 1
            return 0
        fi
        sleep 0.1
    done
    return 1
}
human_assets

# config FILE DB-URI HUMAN-SOCKET BASE [REGISTRATION]: one configuration for every service.
config()
{
    cat >"$1" <<EOF
http:
  public_base: $4/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $3, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery-$(basename "$3" .sock).sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
account:
  password_registration_enabled: ${5:-true}
  password_registration_email_required: ${6:-true}
  registration_token_required: true
email:
  transport: smtp
  mode: plain
  hostname: 127.0.0.1
  port: $SMTP_PORT
  from: accounts@example.com
branding:
  tos_uri: https://example.com/tos
rate_limiting:
  registration: {burst: 8, per_second: 0.001}
  email_authentication:
    per_ip: {burst: 100, per_second: 1}
    emails_per_session: {burst: 2, per_second: 0.001}
clients:
  - client_id: $CID
    client_auth_method: none
    client_name: Test Client
    redirect_uris: [http://127.0.0.1/callback, http://127.0.0.1:$CB/callback]
$(secrets_yaml)
EOF
}

body_has() { expect_file_contains "$T/$1.b" "$2"; }
page() { expect_eq "$(status "$T/$1.h")" "$2" && expect_match "$(header "$T/$1.h" content-type)" '^text/html'; }

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
    config "$T/$B.yaml" "$uri" "$T/run/human-$B.sock" "$BASE"
    config "$T/$B-future.yaml" "$uri" "$T/run/human-$B-future.sock" "$BASE"
    local M=("$MASCTL_BIN" -c "$T/$B.yaml")
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        "${M[@]}" manage register-user -y -p "$PW" alice &&
        "${M[@]}" manage issue-user-registration-token --token once-$B &&
        "${M[@]}" manage issue-user-registration-token --token many-$B --unlimited &&
        "${M[@]}" manage issue-user-registration-token --token browser-$B; } >"$T/$B-masctl.log" 2>&1; then
        fail_check "[$B] masctl sets up the database" "$(tail -n 20 "$T/$B-masctl.log")"
        return
    fi
    masd_start "human-$B" "$HUMAN_BIN" "$T/$B.yaml" "$T/run/human-$B.sock" || return
    spawn "worker-$B" "$T/logs/worker-$B.log" "$WORKER_BIN" --config "$T/$B.yaml" --threads 2
    MASD_TEST_CLOCK_OFFSET_MS=7200000 masd_start "human-$B-future" "$HUMAN_BIN" "$T/$B-future.yaml" \
        "$T/run/human-$B-future.sock" || return
    masd_start "discovery-$B" "$DISCOVERY_BIN" "$T/$B.yaml" "$T/run/discovery-human-$B.sock" || return
    [ "$B" = sqlite ] && { masd_start assets "$ASSETS_BIN" "$T/$B.yaml" "$T/run/assets.sock" || return; }
    mkdir -p "$T/nginx-$B"
    render_nginx_snippets "$T/nginx-$B/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
        -e '/listen \[::\]:443/d'
    sed -i -e "s|unix:[^ ;]*/human\.sock|unix:$T/run/human-$B.sock|" \
        -e "s|unix:[^ ;]*/discovery\.sock|unix:$T/run/discovery-human-$B.sock|" "$T/nginx-$B/masd/masd-upstreams-unix.conf"
    nginx_main_conf "$T/nginx-$B" "
    include $T/nginx-$B/masd/masd-upstreams-unix.conf;
    include $T/nginx-$B/masd/masd.conf;"
    nginx_start "nginx-$B" "$T/nginx-$B" "127.0.0.1:$NG" || return

    req() { jar_req "$@"; }
    form() { jar_form "$@"; }
    local J=$B-jar BOB=bob.$B

    req r0 "$J" "/register?kind=continue_authorization_grant&id=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"
    check "[$B] /register: 303 to /register/password, the post-auth action kept" \
        redirects_to r0 '/register/password\?kind=continue_authorization_grant&id=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS$'
    req r1a "$J" "/register/password?kind=continue_authorization_grant&id=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"
    req r1b "$J" "/login?kind=manage_account"
    check "[$B] the form and the login link to each other, the post-auth action kept" \
        eval 'body_has r1a "href=\"/login\?kind=continue_authorization_grant&amp;id=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS\"" &&
              body_has r1b "href=\"/register\\?kind=manage_account\""'
    req r1 "$J" /register/password
    check "[$B] the form: 200, username, e-mail, password twice, the terms" \
        eval 'page r1 200 && body_has r1 "name=\"username\"" && body_has r1 "name=\"password_confirm\"" &&
              body_has r1 "name=\"accept_terms\"" && body_has r1 "https://example.com/tos" && body_has r1 "name=\"email\""'

    form r2 "$J" /register/password "username=Bob!" "password=abc" "password_confirm=abd"
    check "[$B] errors on their fields: invalid characters, no e-mail, weak password, passwords differ, terms not accepted (400)" \
        eval 'page r2 400 && body_has r2 "Use only lower-case letters" && body_has r2 "too easy to guess" && body_has r2 "Enter your email address" &&
              body_has r2 "are not the same" && body_has r2 "accept the terms" && body_has r2 "value=\"Bob!\""'
    form r3 "$J" /register/password "username=ALICE" "email=a.$B@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    check "[$B] a username taken here (case-insensitively): 'taken'" eval 'page r3 400 && body_has r3 "This username is taken"'
    form r4 "$J" /register/password "username=_svc" "email=s.$B@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    check "[$B] a username the homeserver refuses (is_localpart_available): 'taken'" \
        eval 'page r4 400 && body_has r4 "This username is taken" &&
              grep -q "\"query\":\"localpart=_svc\"" "$HS_RECORD"'
    form r5 "$J" /register/password "username=12345" "email=n.$B@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    check "[$B] an all-numeric username: refused by the policy" eval 'page r5 400 && body_has r5 "not a digit"'
    req r6 "$J" --data-urlencode "username=$BOB" --data-urlencode "password=$PW" /register/password
    check "[$B] no CSRF token: 400 page" eval 'page r6 400 && body_has r6 "[Ff]orm"'
    check "[$B] nothing registered by the refused forms" expect_eq "$(sql "SELECT COUNT(*) FROM user_registrations")" 0

    form r7 "$J" "/register/password?kind=continue_authorization_grant&id=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS" \
        "username=$BOB" "email=$BOB@Example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    local REG
    REG=$(loc r7 | sed -n 's|.*/register/steps/\([0-9A-Z]*\)/finish$|\1|p')
    check "[$B] a valid form: 303 to the steps, the user-registration-sessions cookie set" \
        eval 'redirects_to r7 "/register/steps/[0-9A-Z]{26}/finish$" &&
              expect_match "$(header "$T/r7.h" set-cookie)" "^user-registration-sessions=.*HttpOnly; SameSite=Lax; Secure"'
    check "[$B] the registration row: hashed password (never the clear one), the terms, the action" \
        eval 'expect_match "$(sql "SELECT hashed_password FROM user_registrations WHERE user_registration_id = '"'$REG'"'")" "^\\\$argon2id\\\$" &&
              expect_eq "$(sql "SELECT terms_url FROM user_registrations")" https://example.com/tos &&
              expect_eq "$(sql "SELECT post_auth_action FROM user_registrations")" "kind=continue_authorization_grant&id=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS" &&
              ! grep -rq "correct horse battery" "$T"/*.db 2>/dev/null'

    req s1 "$J" "/register/steps/$REG/finish"
    check "[$B] finish without a token (required): 303 to the token step" redirects_to s1 "/register/steps/$REG/token$"
    req s2 - "/register/steps/$REG/finish"
    check "[$B] another browser (no cookie): 403 page" eval 'page s2 403 && body_has s2 "another browser"'
    form s3 "$J" "/register/steps/$REG/token" "token=wrong"
    check "[$B] a wrong token: 400, the form again" eval 'page s3 400 && body_has s3 "not valid"'
    form s4 "$J" "/register/steps/$REG/token" "token=  once-$B  "
    check "[$B] the right token (trimmed): 303 to finish" redirects_to s4 "/register/steps/$REG/finish$"
    req s5 "$J" "/register/steps/$REG/finish"
    check "[$B] finish before the e-mail is verified: 303 to verify-email" redirects_to s5 "/register/steps/$REG/verify-email$"
    req v0 "$J" "/register/steps/$REG/verify-email"
    local CODE
    CODE=$(MAIL_SEEN=0 code_for "$BOB@Example.org")
    check "[$B] the code e-mail reached the SMTP server (masd-worker), and the page names the address" \
        eval 'expect_match "$CODE" "^[0-9]{6}$" && page v0 200 && body_has v0 "sent to $BOB@Example.org"'
    form v1 "$J" "/register/steps/$REG/verify-email" action=verify "code=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))"
    check "[$B] a wrong code: 400, the form again" eval 'page v1 400 && body_has v1 "not right"'
    form v2 "$J" "/register/steps/$REG/verify-email" action=resend
    local CODE2
    CODE2=$(MAIL_SEEN=1 code_for "$BOB@Example.org")
    check "[$B] another code: a second e-mail" eval 'page v2 200 && body_has v2 "on its way" && expect_match "$CODE2" "^[0-9]{6}$"'
    form v3 "$J" "/register/steps/$REG/verify-email" action=resend
    form v4 "$J" "/register/steps/$REG/verify-email" action=resend
    check "[$B] codes per registration are limited (emails_per_session, burst 2 here): 429" \
        eval 'page v4 429 && body_has v4 "Too many attempts"'
    form v5 "$J" "/register/steps/$REG/verify-email" action=verify "code=${CODE:0:3} ${CODE:3}"
    check "[$B] the first code (with a space, as people copy it) still works: 303 to finish" \
        redirects_to v5 "/register/steps/$REG/finish$"
    req s5b "$J" "/register/steps/$REG/finish"
    check "[$B] finish without a display name: 303 to that step" redirects_to s5b "/register/steps/$REG/display-name$"
    form s6 "$J" "/register/steps/$REG/display-name" action=set "display_name=  Bob Example "
    check "[$B] a display name: 303 to finish" redirects_to s6 "/register/steps/$REG/finish$"

    # Meanwhile another registration takes the single-use token first.
    local J2=$B-jar2
    form o1 "$J2" /register/password "username=olga.$B" "email=olga.$B@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    local REG2
    REG2=$(loc o1 | sed -n 's|.*/register/steps/\([0-9A-Z]*\)/finish$|\1|p')
    form o2 "$J2" "/register/steps/$REG2/token" "token=once-$B"
    form o2b "$J2" "/register/steps/$REG2/verify-email" action=verify "code=$(MAIL_SEEN=0 code_for "olga.$B@example.org")"
    form o3 "$J2" "/register/steps/$REG2/display-name" action=skip
    req o4 "$J2" "/register/steps/$REG2/finish"
    check "[$B] another registration (display name skipped) finishes first with the same token: signed in" \
        eval 'redirects_to o4 "/$" && expect_match "$(header "$T/o4.h" set-cookie)" "session="'
    check "[$B] ... its display name is its username" \
        expect_eq "$(sql "SELECT display_name FROM user_registrations WHERE user_registration_id = '$REG2'")" "olga.$B"
    req s7 "$J" "/register/steps/$REG/finish"
    check "[$B] bob's finish: the token was used up meanwhile, so the token step again" \
        redirects_to s7 "/register/steps/$REG/token$"
    form s8 "$J" "/register/steps/$REG/token" "token=once-$B"
    check "[$B] the used-up token again: not valid" eval 'page s8 400 && body_has s8 "not valid"'
    form s9 "$J" "/register/steps/$REG/token" "token=many-$B"
    local H0
    H0=$(wc -l <"$HS_RECORD")
    req s10 "$J" "/register/steps/$REG/finish"
    check "[$B] finish: the account exists, 303 on to the action, a new session cookie, the registration cookie emptied" \
        eval 'redirects_to s10 "/consent/01HQ8Z4ZQ0ABCDEFGHJKMNPQRS$" &&
              grep -qi "^set-cookie: session=" "$T/s10.h" && grep -qi "^set-cookie: user-registration-sessions=;" "$T/s10.h"'
    check "[$B] ... the verified address is the account's" \
        expect_eq "$(sql "SELECT e.email FROM user_emails e JOIN users u ON u.user_id = e.user_id WHERE u.username = '$BOB'")" "$BOB@Example.org"
    check "[$B] ... user, password, accepted terms, an authenticated browser session, the token counted" \
        eval 'expect_eq "$(sql "SELECT COUNT(*) FROM users u JOIN user_passwords p ON p.user_id = u.user_id JOIN user_terms t ON t.user_id = u.user_id WHERE u.username = '"'$BOB'"' AND t.terms_url = '"'https://example.com/tos'"'")" 1 &&
              expect_eq "$(sql "SELECT COUNT(*) FROM browser_sessions b JOIN users u ON u.user_id = b.user_id JOIN browser_session_authentications a ON a.browser_session_id = b.browser_session_id WHERE u.username = '"'$BOB'"'")" 1 &&
              expect_eq "$(sql "SELECT times_used FROM user_registration_tokens WHERE token = '"'many-$B'"'")" 1 &&
              expect_eq "$(sql "SELECT times_used FROM user_registration_tokens WHERE token = '"'once-$B'"'")" 1'
    check "[$B] ... and the homeserver had bob with his display name before the answer" \
        eval 'tail -n +$((H0 + 1)) "$HS_RECORD" | grep "/provision_user" | grep -q "\"localpart\": *\"$BOB\".*\"set_displayname\": *\"Bob Example\"\|\"set_displayname\": *\"Bob Example\".*\"localpart\": *\"$BOB\""'
    req s11 "$J" "/register/steps/$REG/finish"
    check "[$B] finish again: completed, on to the action" redirects_to s11 "/consent/01HQ8Z4ZQ0ABCDEFGHJKMNPQRS$"
    form l1 "$B-jar3" /login "username=$BOB" "password=$PW"
    check "[$B] the new password signs bob in at /login" redirects_to l1 "/$"
    req l2-get "$B-jar8" /login
    req l2 "$B-jar8" -A $'Bad\xff\xfe agent' --data-urlencode "csrf=$(csrf_of l2-get)" \
        --data-urlencode "username=$BOB" --data-urlencode "password=$PW" /login
    check "[$B] a User-Agent that is not UTF-8 is stored made safe: signed in, not a 500" \
        eval 'redirects_to l2 "/$" && expect_eq "$(sql "SELECT user_agent FROM browser_sessions WHERE user_agent LIKE '"'Bad%'"'")" "Bad?? agent"'

    # Someone registers with bob's address after him: verified, then refused at finish (409).
    form f1 "$B-jar7" /register/password "username=fred.$B" "email=$BOB@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    local REG4
    REG4=$(loc f1 | sed -n 's|.*/register/steps/\([0-9A-Z]*\)/finish$|\1|p')
    form f2 "$B-jar7" "/register/steps/$REG4/token" "token=many-$B"
    form f3 "$B-jar7" "/register/steps/$REG4/verify-email" action=verify "code=$(MAIL_SEEN=0 code_for "$BOB@example.org")"
    req f4 "$B-jar7" "/register/steps/$REG4/finish"
    check "[$B] an address another account has (case aside): 409 page at finish, no account" \
        eval 'page f4 409 && body_has f4 "Another account has this email address" &&
              expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = '"'fred.$B'"'")" 0'

    # An hour later the registration has expired (the second masd-human runs 2 h ahead).
    form e1 "$B-jar5" /register/password "username=eve.$B" "email=eve.$B@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    local REG3
    REG3=$(loc e1 | sed -n 's|.*/register/steps/\([0-9A-Z]*\)/finish$|\1|p')
    http e2 --unix-socket "$T/run/human-$B-future.sock" -b "$T/$B-jar5" "http://x/register/steps/$REG3/finish"
    check "[$B] a registration older than an hour: 410 page" eval 'page e2 410 && body_has e2 "within an hour"'
    req e3 - /register/steps/01HQ8Z4ZQ0ABCDEFGHJKMNPQRS/finish
    check "[$B] an unknown registration: 404 page" page e3 404
    req e4 - /register/steps/short/finish
    check "[$B] a malformed registration ID: 404 page" page e4 404

    # A legacy client's SSO login that asked for a new account (action=register) goes here too.
    local SSO=01HQ8Z4ZQ0SSSSSSSSSSSSSSS$([ "$B" = sqlite ] && echo 1 || echo 2)
    sql "INSERT INTO compat_sso_logins (compat_sso_login_id, login_token_hash, redirect_uri, created_at) VALUES ('$SSO', 'pending:$SSO', 'https://app.example/cb', $(($(date +%s) * 1000)))" >/dev/null
    req sso1 "$B-jar6" "/complete-compat-sso/$SSO?action=register"
    check "[$B] a compat SSO login with action=register: to the registration, continuing the login" \
        redirects_to sso1 "/register\?kind=continue_compat_sso_login&id=$SSO$"

    # The same in Chromium, from a client's prompt=create to its code (SQLite only: one run).
    if [ "$B" = sqlite ]; then
        NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/register.mjs" "$(printf \
            '{"base":"%s","client_id":"%s","callback_port":%s,"out":"%s","username":"dana","email":"dana@example.org","mail_dir":"%s","password":"%s","token":"browser-%s","chromium":"%s"}' \
            "$BASE" "$CID" "$CB" "$OUT_DIR" "$MAIL" "$PW" "$B" "$CHROMIUM")" >"$T/browser.out" 2>&1
        step_checks "chromium" "$T/browser.out"
        check "chromium: register.mjs ran to the end" \
            eval "grep -q 'no Content-Security-Policy' $T/browser.out || { tail -n 30 $T/browser.out; false; }"
        check "chromium: dana exists with her display name on the homeserver" \
            eval 'grep "/provision_user" "$HS_RECORD" | grep -q "Dana Example"'
        local p
        for p in register-form register-form-error register-token register-token-error register-verify-email register-display-name; do
            check "tidy finds no error in the $p page" eval 'tidy -q -e "$OUT_DIR/html/$p.html" >"$T/tidy.out" 2>&1; [ $? -lt 2 ] || { cat "$T/tidy.out"; false; }'
        done
    fi

    # The limit per client address (burst 8 here): every valid form of this address so far made
    # a registration; the ninth is refused.
    local i n
    n=$(sql "SELECT COUNT(*) FROM user_registrations")
    for i in $(seq $((n + 1)) 9); do
        form "rl$i" "$B-jar4" /register/password "username=user$i-$B" "email=user$i-$B@example.org" "password=$PW" "password_confirm=$PW" accept_terms=on
    done
    check "[$B] the registration limit per address: the 9th valid form is 429, the form again" \
        eval 'page rl9 429 && body_has rl9 "Too many accounts" && expect_eq "$(status "$T/rl8.h")" 303'
}

if backend_wanted sqlite; then
    backend sqlite "sqlite://$T/masd.db" sqlite3 "$T/masd.db"

    # prompt=create, and a server without registration (SQLite).
    NG=$(free_port)
    BASE=https://127.0.0.1:$NG
    config "$T/closed.yaml" "sqlite://$T/closed.db" "$T/run/human-closed.sock" "$BASE" false
    { "$MASCTL_BIN" -c "$T/closed.yaml" database migrate && "$MASCTL_BIN" -c "$T/closed.yaml" config sync; } >/dev/null 2>&1
    masd_start human-closed "$HUMAN_BIN" "$T/closed.yaml" "$T/run/human-closed.sock" || finish
    http c1 --unix-socket "$T/run/human-closed.sock" http://x/register
    check "registration disabled: /register is a 403 page" \
        eval 'expect_eq "$(status "$T/c1.h")" 403 && body_has c1 "does not let people create accounts"'
    http c2 --unix-socket "$T/run/human-closed.sock" "http://x/register/password?kind=manage_account"
    check "registration disabled: /register/password goes to the login, with the action" \
        eval 'redirects_to c2 "/login\\?kind=manage_account$"'
    http c2b --unix-socket "$T/run/human-closed.sock" -d username=x http://x/register/password
    check "registration disabled: a POST of the form is a 403 page" \
        eval 'expect_eq "$(status "$T/c2b.h")" 403 && body_has c2b "does not let people create accounts"'
    AUTHZ="/authorize?client_id=$CID&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&response_type=code&scope=openid&prompt=create"
    http c3 --unix-socket "$T/run/human-closed.sock" "http://x$AUTHZ"
    check "registration disabled: prompt=create goes to the login" \
        eval 'redirects_to c3 "/login\\?kind=continue_authorization_grant&id="'
    http c4 --unix-socket "$T/run/human-sqlite.sock" "http://x$AUTHZ"
    check "prompt=create: to /register, continuing the grant" \
        eval 'redirects_to c4 "/register\\?kind=continue_authorization_grant&id=[0-9A-Z]{26}$"'
fi
if pg_database register; then
    backend postgresql "$PG_DB_URI" psql -X -q -t -A "$PG_DB_URI" -c
fi

finish
