#!/usr/bin/env bash
# Account recovery (services/human/recover.c, recovery_password.c; masd-worker's
# send-account-recovery-email) behind the shipped nginx config, on SQLite and, when
# MASD_TEST_PG_URI is set, PostgreSQL, with a real SMTP server (Debian's python3-aiosmtpd,
# tests/tools/smtp_server.py) receiving every message:
#   - Chromium (tests/node/recovery.mjs, SQLite): "Forgot password?", the address, the link read
#     from the received e-mail, a weak password refused, a good one set, a sign-in with it; the
#     link again is 410; then the old password fails, another browser session of the user is
#     signed out and a compat token of the user introspects inactive;
#   - an address nobody has: the same 303 and the same page, and no e-mail (the job ran);
#   - the ticket is stored only hashed; a used link is 410, an unknown one 404, an expired one
#     (a second masd-human 11 minutes ahead) 410 with "send a new link"; a locked account 403;
#   - the limits per address (429 on /recover, 429 and a banner on "Resend"); CSRF; a POST of
#     /recover without User-Agent is 400; a signed-in browser is sent to the index;
#   - the same through /graphql (tests/node/gql_recovery.mjs, its documents validated against
#     masd's introspected schema): userRecoveryTicket, resendRecoveryEmail, setPasswordByRecovery
#     with MAS's statuses, refused to a signed-in requester, once;
#   - recovery switched off (the default): the "not available" page, and no link on the login.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
WORKER_BIN=$BUILD/services/worker/masd-worker
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$WORKER_BIN" "$ASSETS_BIN"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || { fail_check "python3-aiosmtpd is installed" "tools/packages --install test"; finish; }

HS_SECRET=shared-secret-for-the-homeserver
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT_DIR=${OUT:-$ROOT/build-output/manual}/recovery-$(basename "$BUILD")
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
OLD_PW='an old password nobody remembers 17'
NEW_PW='correct horse battery staple 42'
homeserver_start "$HS_SECRET" || finish
SMTP_PORT=$(free_port)
MAIL=$T/mail
mkdir -p "$MAIL"
spawn smtp "$T/logs/smtp.log" /usr/bin/python3 "$ROOT/tests/tools/smtp_server.py" --listen "127.0.0.1:$SMTP_PORT" \
    --dir "$MAIL" --mode plain
wait_listen "127.0.0.1:$SMTP_PORT" "${PID_OF[smtp]}" >"$T/wait.out" 2>&1 ||
    { fail_check "the SMTP server starts" "$(cat "$T/wait.out" "$T/logs/smtp.log")"; finish; }
human_assets

# mails_to ADDRESS: how many messages to ADDRESS arrived.
mails_to() { grep -li "^To: .*<$1>" "$MAIL"/*.eml 2>/dev/null | wc -l; }
# link_for ADDRESS N: the link of the newest message to ADDRESS, once N messages to it arrived
# (waits up to 10 s); quoted-printable undone by Python's e-mail parser.
link_for()
{
    local i f
    for i in $(seq 1 100); do
        if [ "$(mails_to "$1")" -ge "$2" ]; then
            f=$(grep -li "^To: .*<$1>" "$MAIL"/*.eml | sort -V | tail -n 1)
            /usr/bin/python3 -c 'import email, email.policy, re, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(re.search(r"https://\S*/account/password/recovery\?ticket=[A-Za-z0-9]{32}", m.get_body(("plain",)).get_content()).group(0))' "$f"
            return
        fi
        sleep 0.1
    done
    return 1
}

# config FILE DB-URI HUMAN-SOCKET BASE [RECOVERY [PER-IP-BURST]]: one configuration for every
# service.
config()
{
    cat >"$1" <<EOF
http:
  public_base: $4/
  listeners:
    - name: human
      resources: [{name: human}, {name: graphql}]
      binds: [{socket: $3, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}, {name: compat}]
      binds: [{socket: $T/run/oauth-$(basename "$3" .sock).sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
account:
  password_recovery_enabled: ${5:-true}
email:
  transport: smtp
  mode: plain
  hostname: 127.0.0.1
  port: $SMTP_PORT
  from: accounts@example.com
rate_limiting:
  login:
    per_ip: {burst: 30, per_second: 1}
  account_recovery:
    per_ip: {burst: ${6:-40}, per_second: 0.001}
    per_address: {burst: 3, per_second: 0.001}
$(secrets_yaml)
EOF
}

# jobs_done DB-SQL...: waits (up to 10 s) until no send-account-recovery-email job is pending.
jobs_done()
{
    local i
    for i in $(seq 1 100); do
        [ "$("$@" "SELECT COUNT(*) FROM queue_jobs WHERE queue_name = 'send-account-recovery-email' AND status <> 'completed'")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}
body_has() { expect_file_contains "$T/$1.b" "$2"; }
page() { expect_eq "$(status "$T/$1.h")" "$2" && expect_match "$(header "$T/$1.h" content-type)" '^text/html'; }

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
    local M=("$MASCTL_BIN" -c "$T/$B.yaml") A=alice$B Bo=bob$B
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        "${M[@]}" manage register-user -y -p "$OLD_PW" -e "$A@example.org" "$A" &&
        "${M[@]}" manage register-user -y -p "$OLD_PW" -e "$Bo@example.org" "$Bo" &&
        "${M[@]}" manage register-user -y -p "$OLD_PW" -e "carol$B@example.org" "carol$B"; } >"$T/$B-masctl.log" 2>&1; then
        fail_check "[$B] masctl sets up the database" "$(tail -n 20 "$T/$B-masctl.log")"
        return
    fi
    local COMPAT
    COMPAT=$("${M[@]}" manage issue-compatibility-token "$A" 2>>"$T/$B-masctl.log" | tail -n 1)
    masd_start "human-$B" "$HUMAN_BIN" "$T/$B.yaml" "$T/run/human-$B.sock" || return
    masd_start "oauth-$B" "$OAUTH_BIN" "$T/$B.yaml" "$T/run/oauth-human-$B.sock" || return
    spawn "worker-$B" "$T/logs/worker-$B.log" "$WORKER_BIN" --config "$T/$B.yaml" --threads 2
    MASD_TEST_CLOCK_OFFSET_MS=660000 masd_start "human-$B-future" "$HUMAN_BIN" "$T/$B-future.yaml" \
        "$T/run/human-$B-future.sock" || return
    [ "$B" = sqlite ] && { masd_start assets "$ASSETS_BIN" "$T/$B.yaml" "$T/run/assets.sock" || return; }
    mkdir -p "$T/nginx-$B"
    render_nginx_snippets "$T/nginx-$B/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
        -e '/listen \[::\]:443/d'
    sed -i -e "s|unix:[^ ;]*/human\.sock|unix:$T/run/human-$B.sock|" "$T/nginx-$B/masd/masd-upstreams-unix.conf"
    nginx_main_conf "$T/nginx-$B" "
    include $T/nginx-$B/masd/masd-upstreams-unix.conf;
    include $T/nginx-$B/masd/masd.conf;"
    nginx_start "nginx-$B" "$T/nginx-$B" "127.0.0.1:$NG" || return

    req() { jar_req "$@"; }
    form() { jar_form "$@"; }
    introspect()
    {
        http "$1" --unix-socket "$T/run/oauth-human-$B.sock" -X POST http://x/oauth2/introspect \
            -H "authorization: Bearer $HS_SECRET" --data-binary "token=$2"
    }

    # alice is signed in elsewhere: a browser session and a compat token
    form s0 "$B-elsewhere" /login "username=$A" "password=$OLD_PW"
    introspect i0 "$COMPAT"
    check "[$B] before: alice signed in elsewhere (browser), her compat token active" \
        eval 'redirects_to s0 "/$" && body_has i0 "\"active\":true"'

    req r1 "$B-j1" /recover
    check "[$B] GET /recover: 200, the form" eval 'page r1 200 && body_has r1 "name=\"email\""'
    req r2 "$B-j1" -H 'User-Agent:' --data-urlencode "csrf=$(csrf_of r1)" --data-urlencode "email=$A@example.org" /recover
    check "[$B] POST /recover without a User-Agent: 400 page, nothing stored" \
        eval 'page r2 400 && expect_eq "$(sql "SELECT COUNT(*) FROM user_recovery_sessions")" 0'
    req r3 "$B-j1" --data-urlencode "email=$A@example.org" /recover
    check "[$B] POST /recover without its CSRF token: 400 page" eval 'page r3 400 && body_has r3 "[Ff]orm"'
    form r4 "$B-j1" /recover "email=not-an-address"
    check "[$B] not an address: 400, the error on the field" eval 'page r4 400 && body_has r4 "This is not an email address"'

    # an address nobody has and alice's: the same answer, the same work; a mail only for alice
    local before
    before=$(ls "$MAIL" | grep -c '\.eml$')
    form n1 "$B-j2" /recover "email=nobody-$B@example.org"
    form a1 "$B-j1" /recover "email=$A@Example.ORG"
    local LINK
    LINK=$(link_for "$A@example.org" 1)
    jobs_done "${sqlcmd[@]}"
    req n2 "$B-j2" "$(loc n1)"
    req a2 "$B-j1" "$(loc a1)"
    check "[$B] an unknown address and a known one: both 303 to a progress page, the same page but for the address" \
        eval 'redirects_to n1 "/recover/progress/[0-9A-Z]{26}$" && redirects_to a1 "/recover/progress/[0-9A-Z]{26}$" &&
              page n2 200 && page a2 200 &&
              expect_eq "$(sed -e "s/nobody-$B@example.org/X/" -e "s/name=\"csrf\" value=\"[^\"]*\"//" "$T/n2.b" | md5sum)" \
                        "$(sed -e "s/$A@Example.ORG/X/" -e "s/name=\"csrf\" value=\"[^\"]*\"//" "$T/a2.b" | md5sum)"'
    check "[$B] both made a session and a job; the worker ran both, alice's link arrived, nobody's did not" \
        eval 'expect_eq "$(sql "SELECT COUNT(*) FROM user_recovery_sessions")" 2 &&
              expect_match "$LINK" "^$BASE/account/password/recovery\\?ticket=[A-Za-z0-9]{32}$" &&
              expect_eq "$(mails_to "nobody-$B@example.org")" 0 &&
              expect_eq "$(($(ls "$MAIL" | grep -c "\\.eml$") - before))" 1 && jobs_done "${sqlcmd[@]}"'
    local TICKET=${LINK##*ticket=}
    check "[$B] the ticket is stored only as its SHA-256" \
        eval 'expect_eq "$(sql "SELECT COUNT(*) FROM user_recovery_tickets WHERE ticket_hash = '"'$(printf %s "$TICKET" | sha256sum | cut -d" " -f1)'"'")" 1 &&
              ! grep -rqa "$TICKET" "$T"/*.db 2>/dev/null'

    req p1 "$B-j3" "/account/password/recovery?ticket=$TICKET"
    check "[$B] the link, anonymous: 200, the form for alice" \
        eval 'page p1 200 && body_has p1 "For the account $A" && body_has p1 "name=\"password_confirm\""'
    req p1b "$B-elsewhere" "/account/password/recovery?ticket=$TICKET"
    check "[$B] the link in a signed-in browser: 409, asked to sign out" eval 'page p1b 409 && body_has p1b "You are signed in"'
    req p1c "$B-elsewhere" /recover
    check "[$B] /recover in a signed-in browser: 303 to the index" redirects_to p1c "/$"
    form p2 "$B-j3" "/account/password/recovery?ticket=$TICKET" "password=abc" "password_confirm=abc"
    check "[$B] a weak password: 400, the form again" eval 'page p2 400 && body_has p2 "too easy to guess"'
    req p3 "$B-j3" --data-urlencode "password=$NEW_PW" --data-urlencode "password_confirm=$NEW_PW" \
        "/account/password/recovery?ticket=$TICKET"
    check "[$B] no CSRF token: 400" page p3 400
    form p4 "$B-j3" "/account/password/recovery?ticket=$TICKET" "password=$NEW_PW" "password_confirm=$NEW_PW"
    check "[$B] the new password: 200, the done page" eval 'page p4 200 && body_has p4 "Your password has been changed"'
    req p5 "$B-j3" --data-urlencode "csrf=$(csrf_of p4-get)" --data-urlencode "password=$NEW_PW x" \
        --data-urlencode "password_confirm=$NEW_PW x" "/account/password/recovery?ticket=$TICKET"
    check "[$B] the link replayed: 410, nothing changed" \
        eval 'page p5 410 && body_has p5 "This link was used already" &&
              expect_eq "$(sql "SELECT COUNT(*) FROM user_passwords p JOIN users u ON u.user_id = p.user_id WHERE u.username = '"'$A'"'")" 2'
    form l1 "$B-l1" /login "username=$A" "password=$OLD_PW"
    form l2 "$B-l2" /login "username=$A" "password=$NEW_PW"
    check "[$B] the old password fails, the new one signs in" \
        eval 'page l1 403 && body_has l1 "not correct" && redirects_to l2 "/$"'
    req e1 "$B-elsewhere" /
    introspect i1 "$COMPAT"
    check "[$B] alice's other sessions ended: the other browser is signed out, the compat token inactive" \
        eval 'page e1 200 && body_has e1 "You were signed out" && body_has i1 "\"active\":false"'
    check "[$B] ... and the homeserver's device sync is queued" \
        expect_match "$(sql "SELECT COUNT(*) FROM queue_jobs WHERE queue_name = 'sync-devices' AND payload LIKE '%$(sql "SELECT user_id FROM users WHERE username = '$A'")%'")" '^[1-9]'
    req u1 - "/account/password/recovery?ticket=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
    req u2 - "/account/password/recovery"
    check "[$B] an unknown ticket, and none: 404 pages" eval 'page u1 404 && page u2 404 && body_has u1 "not valid"'

    # expired: the second masd-human runs 11 minutes ahead; from there, a new link
    form b1 "$B-j5" /recover "email=$Bo@example.org"
    local BLINK BT
    BLINK=$(link_for "$Bo@example.org" 1)
    BT=${BLINK##*ticket=}
    http x1 --unix-socket "$T/run/human-$B-future.sock" "http://x/account/password/recovery?ticket=$BT"
    check "[$B] a link older than 10 minutes: 410, with 'send a new link'" \
        eval 'page x1 410 && body_has x1 "This link has expired" && body_has x1 "value=\"resend\""'
    # (the cookie is Secure: curl keeps it from http://x, so it goes by hand)
    http x2 --unix-socket "$T/run/human-$B-future.sock" \
        -H "cookie: $(tr -d '\r' <"$T/x1.h" | sed -n 's/^set-cookie: \(csrf=[^;]*\).*/\1/Ip' | tail -n 1)" \
        --data-urlencode "csrf=$(csrf_of x1)" --data-urlencode action=resend "http://x/account/password/recovery?ticket=$BT"
    # (its job is due on that instance's clock, 11 minutes ahead: queued, not sent during this test)
    check "[$B] ... 'send a new link': 303 to the session's progress page, its job queued again" \
        eval 'redirects_to x2 "/recover/progress/[0-9A-Z]{26}$" &&
              expect_eq "$(sql "SELECT COUNT(*) FROM queue_jobs WHERE payload LIKE '"'%$(loc x2 | sed "s|.*/||")%'"'")" 2'
    # the limit per address (burst 3): the /recover, the resend; the progress page's resend is
    # the third, the next one is refused
    req b2 "$B-j5" "$(loc b1)"
    form b3 "$B-j5" "$(loc b1)"
    form b4 "$B-j5" "$(loc b1)"
    check "[$B] 'Resend' on the progress page: 200 and a banner, then 429 and a banner (per address)" \
        eval 'page b3 200 && body_has b3 "Another email is on its way" && page b4 429 && body_has b4 "Too many recovery emails" &&
              expect_match "$(header "$T/b4.h" retry-after)" "^[0-9]+$"'
    form b5 "$B-j6" /recover "email=$Bo@EXAMPLE.org"
    check "[$B] /recover for the same address in another case: 429, the form again" \
        eval 'page b5 429 && body_has b5 "Too many recovery emails"'
    # a locked account: its link is refused
    local CLINK
    CLINK=$(link_for "$Bo@example.org" 2)
    "${M[@]}" manage lock-user "$Bo" >>"$T/$B-masctl.log" 2>&1
    req k1 - "/account/password/recovery?ticket=${CLINK##*ticket=}"
    check "[$B] a locked account's link: 403 page" eval 'page k1 403 && body_has k1 "cannot be recovered"'

    # The same through /graphql, as MAS's account frontend does it (tests/node/gql_recovery.mjs)
    local C=carol$B CLINK2
    form g0 "$B-carol" /login "username=$C" "password=$OLD_PW"
    check "[$B] graphql: carol is signed in in a browser" redirects_to g0 "/$"
    form g1 "$B-j7" /recover "email=$C@example.org"
    CLINK2=$(link_for "$C@example.org" 1)
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/gql_recovery.mjs" "$(printf \
        '{"base":"%s","ticket":"%s","username":"%s","email":"%s","password":"%s","cookie":"session=%s"}' \
        "$BASE" "${CLINK2##*ticket=}" "$C" "$C@example.org" "$NEW_PW" \
        "$(awk '$6 == "session" { print $7 }' "$T/$B-carol")")" >"$T/$B-gql.out" 2>&1
    step_checks "[$B] graphql" "$T/$B-gql.out"
    check "[$B] graphql: gql_recovery.mjs ran to the end" \
        eval "grep -q 'every document was validated' '$T/$B-gql.out' || { tail -n 20 '$T/$B-gql.out'; false; }"
    form g2 "$B-g2" /login "username=$C" "password=$NEW_PW"
    req g3 "$B-carol" /
    check "[$B] graphql: the new password signs carol in; her other browser session was ended" \
        eval 'redirects_to g2 "/$" && body_has g3 "You were signed out"'

    # Chromium, from the login page to a sign-in with the new password (SQLite only: one run)
    if [ "$B" = sqlite ]; then
        "${M[@]}" manage register-user -y -p "$OLD_PW" -e dana@example.org dana >>"$T/$B-masctl.log" 2>&1
        NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/recovery.mjs" "$(printf \
            '{"base":"%s","out":"%s","username":"dana","email":"dana@example.org","mail_dir":"%s","password":"%s","chromium":"%s"}' \
            "$BASE" "$OUT_DIR" "$MAIL" "$NEW_PW" "$CHROMIUM")" >"$T/browser.out" 2>&1
        step_checks "chromium" "$T/browser.out"
        check "chromium: recovery.mjs ran to the end" \
            eval "grep -q 'no Content-Security-Policy' $T/browser.out || { tail -n 30 $T/browser.out; false; }"
        local p
        for p in recovery-start recovery-start-error recovery-progress recovery-progress-sent recovery-password \
            recovery-password-error recovery-done recovery-signed-in recovery-consumed; do
            check "tidy finds no error in the $p page" eval 'tidy -q -e "$OUT_DIR/html/$p.html" >"$T/tidy.out" 2>&1; [ $? -lt 2 ] || { cat "$T/tidy.out"; false; }'
        done
    fi
    check "[$B] no sanitizer report" sanitizer_clean "$T/logs/human-$B.log" "$T/logs/worker-$B.log"
}

if backend_wanted sqlite; then
    backend sqlite "sqlite://$T/masd.db" sqlite3 "$T/masd.db"

    # Recovery off (MAS's default): the "not available" page everywhere, no link on the login.
    config "$T/off.yaml" "sqlite://$T/off.db" "$T/run/human-off.sock" https://auth.example.com false
    sed -i '/password_recovery_enabled/d' "$T/off.yaml"
    { "$MASCTL_BIN" -c "$T/off.yaml" database migrate && "$MASCTL_BIN" -c "$T/off.yaml" config sync; } >/dev/null 2>&1
    masd_start human-off "$HUMAN_BIN" "$T/off.yaml" "$T/run/human-off.sock" || finish
    http o1 --unix-socket "$T/run/human-off.sock" http://x/recover
    http o2 --unix-socket "$T/run/human-off.sock" -A test -d email=a@example.org http://x/recover
    http o3 --unix-socket "$T/run/human-off.sock" "http://x/account/password/recovery?ticket=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
    http o4 --unix-socket "$T/run/human-off.sock" http://x/login
    check "recovery off: /recover (GET and POST) and the link are the 403 'not available' page; the login has no link" \
        eval 'page o1 403 && body_has o1 "Password recovery is not available" && page o2 403 && page o3 403 &&
              page o4 200 && ! grep -q "/recover" "$T/o4.b" &&
              expect_eq "$(sqlite3 "$T/off.db" "SELECT COUNT(*) FROM user_recovery_sessions")" 0'

    # The limit per client network (burst 2 here), whatever the addresses: the third is 429.
    config "$T/ip.yaml" "sqlite://$T/ip.db" "$T/run/human-ip.sock" https://auth.example.com true 2
    { "$MASCTL_BIN" -c "$T/ip.yaml" database migrate && "$MASCTL_BIN" -c "$T/ip.yaml" config sync; } >/dev/null 2>&1
    masd_start human-ip "$HUMAN_BIN" "$T/ip.yaml" "$T/run/human-ip.sock" || finish
    for i in 1 2 3; do
        http ip$i-get --unix-socket "$T/run/human-ip.sock" http://x/recover
        # (the csrf cookie is Secure: curl keeps it from http://x, so it goes by hand)
        http ip$i --unix-socket "$T/run/human-ip.sock" -A test \
            -H "cookie: $(tr -d '\r' <"$T/ip$i-get.h" | sed -n 's/^set-cookie: \(csrf=[^;]*\).*/\1/Ip' | tail -n 1)" \
            --data-urlencode "csrf=$(csrf_of ip$i-get)" --data-urlencode "email=someone$i@example.org" http://x/recover
    done
    check "the limit per client network: two addresses pass, the third is 429 with the form and Retry-After" \
        eval 'expect_eq "$(status "$T/ip1.h") $(status "$T/ip2.h")" "303 303" && page ip3 429 &&
              body_has ip3 "Too many recovery emails" && expect_match "$(header "$T/ip3.h" retry-after)" "^[0-9]+$" &&
              expect_eq "$(sqlite3 "$T/ip.db" "SELECT COUNT(*) FROM user_recovery_sessions")" 2'
fi
if pg_database recovery; then
    backend postgresql "$PG_DB_URI" psql -X -q -t -A "$PG_DB_URI" -c
fi

finish
