#!/usr/bin/env bash
# masd-human behind nginx (the shipped units/nginx/*.conf, with masd-discovery and masd-assets
# on their UNIX sockets), on SQLite:
#   - headless Chromium (playwright-core, tests/node/human.mjs) through the authorization-code
#     flow that openid-client 6 starts: login, consent, the code and state at the client for
#     response_mode query, fragment, form_post and form_post without JavaScript; a second
#     authorization without a login; Cancel; "Use another account"; a locked user; the grant's
#     stage and hashed code in the database; screenshots (375 and 1280 px) and `tidy` on the HTML;
#   - over HTTP (curl): CSRF missing, expired (a second masd-human whose clock runs 2 h behind),
#     mismatched; a tampered session cookie; a session cookie sealed by tests/node/mas_cookie.mjs
#     (MAS's format, built apart from masd); every /authorize error rule; the security headers
#     of every page; the login rate limit per client address through nginx's X-Forwarded-For.
# Screenshots and the HTML go to $OUT/human-<build>/ (tests/run sets OUT).
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$MASCTL_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ] || [ ! -d "$NODE_DIR/node_modules/openid-client" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node" "playwright-core is not installed"; finish; }
fi
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { fail_check "chromium is installed ($CHROMIUM)" "tools/packages --install test"; finish; }
command -v tidy >/dev/null || { fail_check "tidy is installed" "tools/packages --install test"; finish; }
command -v sqlite3 >/dev/null || { fail_check "sqlite3 is installed" "tools/packages --install test"; finish; }

OUT_DIR=${OUT:-$ROOT/build-output/manual}/human-$(basename "$BUILD")
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"

NG=$(free_port) # nginx, https
CB=$(free_port) # the client's redirect URI (tests/node/human.mjs listens there)
BASE=https://127.0.0.1:$NG
PW='correct horse battery staple'
CID=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS
RU=http://127.0.0.1:$CB/callback
HS_SECRET=shared-secret-for-the-homeserver
ENC=0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff # secrets_yaml's
DB=$T/masd.db
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com

# The stylesheet of the build, where masd-assets serves it.
mkdir -p "$T/assets"
cp "$BUILD"/services/human/templates/masd-*.css* "$T/assets/" 2>/dev/null
chmod -R a+rX "$T/assets"

# config FILE HUMAN-SOCKET: one configuration for every service.
# The login bucket per client address: every password login through nginx takes from it, and
# Chromium signs in from 127.0.0.1 four times (human.mjs: query, "Use another account", form_post
# without JavaScript, the locked user) within a few seconds, so the burst must hold those four;
# at one token per 50 s nothing comes back while the script runs, so the 6th curl attempt from
# one address below is refused however slow the build is.
config()
{
    cat >"$1" <<EOF
http:
  public_base: $BASE/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $2, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery.sock, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
database:
  uri: "sqlite://$DB"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
rate_limiting:
  login:
    per_ip: {burst: 5, per_second: 0.02}
clients:
  - client_id: $CID
    client_auth_method: none
    client_name: Test Client
    client_uri: https://client.example.com/
    redirect_uris:
      - $RU
      - http://127.0.0.1/callback
$(secrets_yaml)
EOF
}
config "$T/config.yaml" "$T/run/human.sock"
config "$T/past.yaml" "$T/run/human-past.sock"
M=("$MASCTL_BIN" -c "$T/config.yaml")
if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
    for u in alice carol; do "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity "$u" || exit 1; done &&
    "${M[@]}" manage lock-user carol; } >"$T/masctl.log" 2>&1; then
    fail_check "masctl sets up the database" "$(tail -n 20 "$T/masctl.log")"
    finish
fi

masd_start human "$HUMAN_BIN" "$T/config.yaml" "$T/run/human.sock" || finish
# The same service, its clock 2 hours behind: the CSRF cookies it issues have expired already.
MASD_TEST_CLOCK_OFFSET_MS=-7200000 masd_start human-past "$HUMAN_BIN" "$T/past.yaml" "$T/run/human-past.sock" || finish
masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" "$T/run/discovery.sock" || finish
masd_start assets "$ASSETS_BIN" "$T/config.yaml" "$T/run/assets.sock" || finish

# The shipped nginx configuration (units/nginx: `location /` goes to masd-human).
render_nginx_snippets "$T/nginx/masd" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NG ssl http2;|" \
    -e '/listen \[::\]:443/d'
nginx_main_conf "$T/nginx" "
    include $T/nginx/masd/masd-upstreams-unix.conf;
    include $T/nginx/masd/masd.conf;"
nginx_start nginx "$T/nginx" 127.0.0.1:$NG || finish

# ---------------------------------------------------------------------------------------------
# Helpers

# get NAME [FROM-IP] curl-args... URL-PATH: a request through nginx.
req()
{
    local name=$1 ip=$2
    shift 2
    local path=${*: -1}
    http "$name" --interface "$ip" --cacert "$T/tls/cert.pem" "${@:1:$#-1}" "$BASE$path"
}
body_has() { expect_file_contains "$T/$1.b" "$2"; }
sql() { sqlite3 "$DB" "$1"; }

# html_page NAME STATUS: an HTML answer with this status and every security header.
html_page()
{
    expect_eq "$(status "$T/$1.h")" "$2" || return 1
    expect_match "$(header "$T/$1.h" content-type)" '^text/html; charset=utf-8$' || return 1
    sec_headers "$1"
}
sec_headers()
{
    local csp
    csp=$(header "$T/$1.h" content-security-policy)
    expect_match "$csp" "default-src 'none'" || return 1
    expect_match "$csp" "frame-ancestors 'none'" || return 1
    expect_match "$csp" "base-uri 'none'" || return 1
    expect_match "$csp" "form-action 'self'" || return 1
    [[ $csp == *"'unsafe-inline'"* ]] && { echo "unsafe-inline in $csp"; return 1; }
    expect_eq "$(header "$T/$1.h" x-frame-options)" DENY || return 1
    expect_eq "$(header "$T/$1.h" referrer-policy)" no-referrer || return 1
    expect_eq "$(header "$T/$1.h" x-content-type-options)" nosniff || return 1
    expect_eq "$(header "$T/$1.h" cache-control)" no-store
}

# csrf_of NAME: the csrf hidden input of page NAME.

# login_form JAR IP: GET /login with a cookie jar; prints the form's csrf token.
login_form()
{
    req lf-$2 "$2" -b "$1" -c "$1" /login >/dev/null 2>&1 || return 1
    csrf_of lf-$2
}

# ---------------------------------------------------------------------------------------------
# The browser

NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/human.mjs" "$(printf \
    '{"base":"%s","client_id":"%s","callback_port":%s,"db":"%s","out":"%s","user":"alice","password":"%s","locked_user":"carol","chromium":"%s"}' \
    "$BASE" "$CID" "$CB" "$DB" "$OUT_DIR" "$PW" "$CHROMIUM")" >"$T/browser.out" 2>&1
while IFS= read -r line; do
    case $line in
    '{"step"'*'"ok":true'*) check "chromium: $(node -e 'console.log(JSON.parse(process.argv[1]).step)' "$line")" true ;;
    '{"step"'*)
        check "chromium: $(node -e 'console.log(JSON.parse(process.argv[1]).step)' "$line")" \
            eval "node -e 'console.log(JSON.parse(process.argv[1]).error)' '${line//\'/\'\\\'\'}'; false"
        ;;
    esac
done <"$T/browser.out"
check "chromium: human.mjs ran to the end" eval "grep -q 'Chromium reported no Content-Security-Policy' $T/browser.out || { tail -n 30 $T/browser.out; false; }"

# HTML validity of the pages as served (tidy's errors; its warnings are shown, not counted).
for p in login consent error form_post; do
    f=$OUT_DIR/html/$p.html
    tidy_ok()
    {
        [ -s "$1" ] || { echo "no $1"; return 1; }
        tidy -q -e "$1" >"$T/tidy.out" 2>&1
        local rc=$?
        cat "$T/tidy.out"
        [ $rc -lt 2 ]
    }
    check "tidy finds no error in the $p page" tidy_ok "$f"
    [ -s "$T/tidy.out" ] && note "tidy on $p: $(tr '\n' ';' <"$T/tidy.out")"
done
check "screenshots written (login, consent, error at 375 and 1280 px)" eval \
    "for n in login consent error; do for w in 375 1280; do [ -s $OUT_DIR/screenshots/\$n-\$w.png ] || { echo missing \$n-\$w; exit 1; }; done; done"

# ---------------------------------------------------------------------------------------------
# Security headers of every page

IP=127.0.0.9
req idx $IP /
check "GET /: 200 HTML with the security headers" html_page idx 200
req lg $IP /login
check "GET /login: 200 HTML with the security headers" html_page lg 200
req cx $IP /consent/x
check "GET /consent/x: 404 HTML with the security headers" html_page cx 404
req cu $IP /consent/01ARZ3NDEKTSV4RRFFQ69G5FAV
check "GET /consent/<unknown grant>: 404 HTML with the security headers" html_page cu 404
req nf $IP /no/such/page
check "GET /no/such/page: 404 HTML with the security headers" html_page nf 404
req ma $IP -X DELETE /login
check "DELETE /login: 405 HTML with the security headers and Allow" \
    eval "html_page ma 405 && expect_match \"\$(header $T/ma.h allow)\" POST"
req lo $IP -X GET /logout
check "GET /logout: 405 HTML" html_page lo 405

# ---------------------------------------------------------------------------------------------
# CSRF

J=$T/jar-csrf
TOK=$(login_form "$J" $IP)
check "the login form carries a csrf token (43 base64url characters)" expect_match "$TOK" '^[A-Za-z0-9_-]{43}$'
check "... and sets the csrf cookie HttpOnly, SameSite=Lax, Secure, Path=/" \
    expect_match "$(grep -i '^set-cookie: csrf=' "$T/lf-$IP.h" | tr -d '\r')" '; Path=/; HttpOnly; SameSite=Lax; Secure$'
req c1 $IP --data-urlencode "csrf=$TOK" --data-urlencode username=alice --data-urlencode password=x /login
check "POST /login without the csrf cookie: 400 HTML" \
    eval "html_page c1 400 && body_has c1 'could not be checked|without its security token'"
req c2 $IP -b "$J" --data-urlencode username=alice --data-urlencode password=x /login
check "POST /login without the csrf field: 400 HTML" html_page c2 400
OTHER=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
req c3 $IP -b "$J" --data-urlencode "csrf=$OTHER" --data-urlencode username=alice --data-urlencode password=x /login
check "POST /login with another token than the cookie's: 400 HTML (mismatch)" \
    eval "html_page c3 400 && body_has c3 'does not belong to this browser'"
req c3b $IP -b "$J" --data-urlencode "csrf=$TOK" --data-urlencode "csrf=$TOK" --data-urlencode username=alice --data-urlencode password=x /login
check "POST /login with the csrf field twice: 400 HTML" html_page c3b 400
# A token from the process whose clock runs 2 h behind: its cookie expired an hour ago.
http past-form --unix-socket "$T/run/human-past.sock" http://x/login
PTOK=$(csrf_of past-form)
PCOOKIE=$(tr -d '\r' <"$T/past-form.h" | sed -n 's/^[Ss]et-[Cc]ookie: csrf=\([^;]*\);.*/\1/p')
req c4 $IP -b "csrf=$PCOOKIE" --data-urlencode "csrf=$PTOK" --data-urlencode username=alice --data-urlencode password=x /login
check "POST /login with an expired csrf cookie (issued 2 h ago): 400 HTML (expired)" \
    eval "html_page c4 400 && body_has c4 'The form has expired'"
req c5 $IP -b "$J" -H 'content-type: application/x-www-form-urlencoded' --data-binary "csrf=$TOK" /logout
check "POST /logout with a good token and no session: 303 to /login" \
    eval "expect_eq \"\$(status $T/c5.h)\" 303 && expect_eq \"\$(header $T/c5.h location)\" /login"
req c6 $IP -b "$J" -X POST /logout
check "POST /logout without a token: 400 HTML" html_page c6 400
req c7 $IP -b "$J" --data-urlencode "csrf=$OTHER" /consent/01ARZ3NDEKTSV4RRFFQ69G5FAV
check "POST /consent/<id> with a mismatched token: 400 HTML" html_page c7 400

# ---------------------------------------------------------------------------------------------
# Session cookies: a password login over HTTP, a tampered cookie, one sealed apart from masd

JS=$T/jar-session
TOK=$(login_form "$JS" 127.0.0.10)
req li 127.0.0.10 -b "$JS" -c "$JS" --data-urlencode "csrf=$TOK" --data-urlencode username=alice --data-urlencode "password=$PW" /login
check "POST /login with the right password: 303 to / and a session cookie (20 years, HttpOnly, Secure)" \
    eval "expect_eq \"\$(status $T/li.h)\" 303 && expect_eq \"\$(header $T/li.h location)\" / &&
          expect_match \"\$(grep -i '^set-cookie: session=' $T/li.h | tr -d '\r')\" '; Path=/; HttpOnly; SameSite=Lax; Max-Age=630720000; Expires=[^;]+; Secure\$'"
req si 127.0.0.10 -b "$JS" /
check "GET / with that session: signed in as alice" eval "html_page si 200 && body_has si 'Signed in as alice'"
SESSION=$(awk '$6 == "session" { print $7 }' "$JS")
check "the session cookie opens with MAS's key derivation (tests/node/mas_cookie.mjs)" \
    eval "node $NODE_DIR/mas_cookie.mjs open $ENC session '$SESSION' | tee $T/opened.json && json_expect $T/opened.json \"/^[0-9A-Z]{26}\$/.test(d.current)\""
# Flip one base64 character in the middle of the ciphertext.
TAMPERED=$(node -e 'const s = process.argv[1], i = s.length >> 1; console.log(s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1))' "$SESSION")
req tp 127.0.0.10 -b "session=$TAMPERED" /
check "GET / with a tampered session cookie: 200, signed out (no 500)" \
    eval "html_page tp 200 && expect_file_lacks $T/tp.b 'Signed in as' && body_has tp 'href=\"/login\"'"
req tpl 127.0.0.10 -b "session=$TAMPERED" /login
check "GET /login with a tampered session cookie: the login form" eval "html_page tpl 200 && body_has tpl 'name=\"password\"'"
req tpg 127.0.0.10 -b "session=%%%garbage" /
check "GET / with a session cookie that is not base64: 200, signed out" eval "html_page tpg 200 && expect_file_lacks $T/tpg.b 'Signed in as'"

# A browser session inserted by hand, its cookie sealed by Node's crypto: masd must accept it.
ULID=$(node -e '
    const A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; let t = Date.now(), s = "";
    for (let i = 0; i < 10; i++) { s = A[t % 32] + s; t = Math.floor(t / 32); }
    for (let i = 0; i < 16; i++) s += A[require("crypto").randomInt(32)];
    console.log(s)')
NOW=$(now_ms)
sql "INSERT INTO browser_sessions (browser_session_id, user_id, created_at) SELECT '$ULID', user_id, $NOW FROM users WHERE username = 'alice'"
MAS=$(node "$NODE_DIR/mas_cookie.mjs" seal "$ENC" session "{\"current\":\"$ULID\"}")
req mc 127.0.0.10 -b "session=$MAS" /
check "GET / with a MAS-format session cookie sealed by Node's crypto: signed in as alice" \
    eval "html_page mc 200 && body_has mc 'Signed in as alice'"
sql "UPDATE browser_sessions SET finished_at = $NOW WHERE browser_session_id = '$ULID'"
req mcf 127.0.0.10 -b "session=$MAS" /login
check "GET /login with that cookie once its session is finished elsewhere: the signed-out interstitial" \
    eval "html_page mcf 200 && body_has mcf 'You were signed out'"

# ---------------------------------------------------------------------------------------------
# /authorize: what is refused to the person (HTML 400) and what to the client (a redirect)

enc() { node -e 'console.log(encodeURIComponent(process.argv[1]))' "$1"; }
Q="response_type=code&client_id=$CID&redirect_uri=$(enc "$RU")&scope=openid&state=S1"
az() { req "$1" 127.0.0.11 "/authorize?$2"; }
loc() { header "$T/$1.h" location; }
# to_client NAME ERROR: 303 to the redirect URI with error and state=S1 in the query, and '#'.
to_client()
{
    expect_eq "$(status "$T/$1.h")" 303 || return 1
    local l
    l=$(loc "$1")
    expect_match "$l" "^$RU\\?" || return 1
    expect_match "$l" "[?&]error=$2(&|#|\$)" || return 1
    expect_match "$l" '[?&]state=S1(&|#|$)' || return 1
    expect_match "$l" '[?&]error_description=[^&#]+' || return 1
    expect_match "$l" '#$'
}
# to_login NAME: 303 to the login page of a new grant; prints nothing, sets GRANT.
to_login()
{
    expect_eq "$(status "$T/$1.h")" 303 || return 1
    expect_match "$(loc "$1")" '^/login\?kind=continue_authorization_grant&id=[0-9A-Z]{26}$'
}
grant_of() { loc "$1" | sed -n 's/.*id=\([0-9A-Z]\{26\}\).*/\1/p'; }

az a-ok "$Q"
check "/authorize, a good request without a session: 303 to /login of the new grant" to_login a-ok
az a-uc "response_type=code&client_id=01ARZ3NDEKTSV4RRFFQ69G5FAV&redirect_uri=$(enc "$RU")&scope=openid&state=S1"
check "/authorize, unknown client: 400 HTML, nothing sent to the redirect URI" \
    eval "html_page a-uc 400 && expect_eq \"\$(loc a-uc)\" ''"
az a-ucx "response_type=code&client_id=not-a-ulid&redirect_uri=$(enc "$RU")&scope=openid"
check "/authorize, a client_id that is not a ULID: 400 HTML" html_page a-ucx 400
az a-ru "${Q/callback/other}"
check "/authorize, unregistered redirect_uri: 400 HTML" html_page a-ru 400
az a-ruq "${Q/callback/callback%3Fx%3D1}"
check "/authorize, registered redirect_uri with a query added: 400 HTML" html_page a-ruq 400
OTHER_PORT=$(free_port)
az a-lb "response_type=code&client_id=$CID&redirect_uri=$(enc "http://127.0.0.1:$OTHER_PORT/callback")&scope=openid&state=S1"
check "/authorize, a loopback redirect_uri on another port (registered without port): accepted" \
    eval "to_login a-lb && expect_eq \"\$(sql \"SELECT redirect_uri FROM oauth2_authorization_grants WHERE oauth2_authorization_grant_id = '\$(grant_of a-lb)'\")\" 'http://127.0.0.1:$OTHER_PORT/callback'"
az a-lbh "response_type=code&client_id=$CID&redirect_uri=$(enc "http://localhost:$OTHER_PORT/callback")&scope=openid&state=S1"
check "/authorize, localhost instead of the registered 127.0.0.1: 400 HTML" html_page a-lbh 400
az a-tok "${Q/response_type=code/response_type=token}"
# A token response type defaults to the fragment (OAuth 2.0 Multiple Response Type Encoding
# Practices §2.1; MAS: oauth2/authorization/mod.rs), and may never use the query.
check "/authorize, response_type=token: unsupported_response_type to the client, in the fragment" \
    eval "expect_eq \"\$(status $T/a-tok.h)\" 303 && expect_match \"\$(loc a-tok)\" '^$RU#state=S1&error=unsupported_response_type&error_description=[^&]+\$'"
az a-tokq "${Q/response_type=code/response_type=token}&response_mode=query"
check "/authorize, response_type=token with response_mode=query: 400 HTML" html_page a-tokq 400
az a-pn "$Q&prompt=none"
check "/authorize, prompt=none: login_required to the client with state and the empty fragment" to_client a-pn login_required
az a-pl "$Q&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
check "/authorize, code_challenge without a method: recorded as plain (RFC 7636 §4.3)" \
    eval "to_login a-pl && expect_eq \"\$(sql \"SELECT code_challenge_method || ' ' || code_challenge FROM oauth2_authorization_grants WHERE oauth2_authorization_grant_id = '\$(grant_of a-pl)'\")\" 'plain E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'"
az a-um "$Q&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S512"
check "/authorize, an unknown code_challenge_method: invalid_request to the client" to_client a-um invalid_request
az a-dup "$Q&state=S2"
check "/authorize, a parameter twice: 400 HTML" html_page a-dup 400
az a-ns "response_type=code&client_id=$CID&redirect_uri=$(enc "$RU")&state=S1"
check "/authorize, no scope: 400 HTML" html_page a-ns 400
az a-nrt "client_id=$CID&redirect_uri=$(enc "$RU")&scope=openid&state=S1"
check "/authorize, no response_type: 400 HTML" html_page a-nrt 400
az a-fq "$Q&response_mode=fragment&prompt=none"
check "/authorize, prompt=none with response_mode=fragment: the error in the fragment" \
    eval "expect_eq \"\$(status $T/a-fq.h)\" 303 && expect_match \"\$(loc a-fq)\" '^$RU#state=S1&error=login_required&error_description='"
az a-fp "$Q&response_mode=form_post&prompt=none"
check "/authorize, prompt=none with form_post: 200 form page POSTing error + state, with a script nonce" \
    eval "html_page a-fp 200 && body_has a-fp 'name=\"error\" value=\"login_required\"' && body_has a-fp 'name=\"state\" value=\"S1\"' &&
          expect_match \"\$(header $T/a-fp.h content-security-policy)\" \"script-src 'nonce-\$(sed -n 's/.*<script nonce=\"\\([^\"]*\\)\".*/\\1/p' $T/a-fp.b)'\""
az a-hd "$Q&login_hint=$(enc 'mxid:@alice:example.com')"
check "/authorize with login_hint: carried to the login page" \
    eval "expect_eq \"\$(status $T/a-hd.h)\" 303 && expect_match \"\$(loc a-hd)\" 'login_hint=mxid%3A%40alice%3Aexample\\.com'"

# Consent over HTTP, with the session of the curl login above: a form_post grant.
az fp-1 "${Q}&response_mode=form_post"
G=$(grant_of fp-1)
req fp-2 127.0.0.10 -b "$JS" "/authorize?${Q}&response_mode=form_post"
check "/authorize with a session: 303 straight to /consent/<grant>" \
    eval "expect_eq \"\$(status $T/fp-2.h)\" 303 && expect_match \"\$(loc fp-2)\" '^/consent/[0-9A-Z]{26}\$'"
G=$(loc fp-2 | sed 's|^/consent/||')
req fp-3 127.0.0.10 -b "$JS" -c "$JS" "/consent/$G"
check "GET /consent/<grant>: 200 HTML with security headers; form-action allows the redirect URI" \
    eval "html_page fp-3 200 && expect_match \"\$(header $T/fp-3.h content-security-policy)\" \"form-action 'self' http://127.0.0.1:$CB\""
req fp-4 127.0.0.10 -b "$JS" --data-urlencode "csrf=$(csrf_of fp-3)" "/consent/$G"
check "POST /consent/<grant> (form_post): 200 page whose CSP nonce is its <script nonce>, posting code and state" \
    eval "html_page fp-4 200 && body_has fp-4 'name=\"code\" value=\"[A-Za-z0-9]{32}\"' && body_has fp-4 'name=\"state\" value=\"S1\"' &&
          N=\$(sed -n 's/.*<script nonce=\"\\([^\"]*\\)\".*/\\1/p' $T/fp-4.b) && [ -n \"\$N\" ] &&
          expect_match \"\$(header $T/fp-4.h content-security-policy)\" \"script-src 'nonce-\$N'\" &&
          expect_eq \"\$(grep -c '<script' $T/fp-4.b)\" 1"
req fp-5 127.0.0.10 -b "$JS" --data-urlencode "csrf=$(csrf_of fp-3)" "/consent/$G"
check "POST /consent/<grant> a second time: 409 HTML" html_page fp-5 409

# Odd requests: an open redirect through the logout's action, an oversized form.
J2=$T/jar-odd
TOK=$(login_form "$J2" 127.0.0.12)
req or 127.0.0.12 -b "$J2" --data-urlencode "csrf=$TOK" --data-urlencode kind=continue_authorization_grant \
    --data-urlencode 'id=//evil.example/x' /logout
check "POST /logout with an action id that is a URL: 303 to /login, never off-site" \
    eval "expect_eq \"\$(status $T/or.h)\" 303 && expect_eq \"\$(loc or)\" /login"
head -c 20000 /dev/zero | tr '\0' a >"$T/big.txt"
req big 127.0.0.12 -b "$J2" --data-urlencode "csrf=$TOK" --data-urlencode username=alice --data-urlencode "password@$T/big.txt" /login
check "POST /login with a 20 KB form through nginx: 413 (nginx client_max_body_size), not a 502" expect_eq "$(status "$T/big.h")" 413
az a-frag "response_type=code&client_id=$CID&redirect_uri=$(enc "$RU#frag")&scope=openid&state=S1"
check "/authorize, a redirect_uri with a fragment: 400 HTML" html_page a-frag 400

# ---------------------------------------------------------------------------------------------
# The login rate limit per client address, through nginx (X-Forwarded-For)

for ip in 127.0.0.2 127.0.0.3; do
    JR=$T/jar-rl-$ip
    TOK=$(login_form "$JR" $ip)
    n=6
    [ $ip = 127.0.0.3 ] && n=1
    for i in $(seq 1 $n); do
        req rl-$ip-$i $ip -b "$JR" --data-urlencode "csrf=$TOK" --data-urlencode username=alice \
            --data-urlencode password=wrong /login
    done
done
check "5 wrong passwords from 127.0.0.2: 403 with the login form again" \
    eval "html_page rl-127.0.0.2-1 403 && html_page rl-127.0.0.2-5 403 && body_has rl-127.0.0.2-5 'not correct'"
check "the 6th from 127.0.0.2: 429 with Retry-After" \
    eval "html_page rl-127.0.0.2-6 429 && expect_match \"\$(header $T/rl-127.0.0.2-6.h retry-after)\" '^[1-9][0-9]*\$' && body_has rl-127.0.0.2-6 'Too many attempts'"
check "... while 127.0.0.3 still gets 403" html_page rl-127.0.0.3-1 403

# ---------------------------------------------------------------------------------------------

stop nginx
# nginx logs its refusal of the 20 KB form at [error]: a client's error, not an upstream one.
grep -v 'client intended to send too large body' "$T/nginx/error.log" >"$T/nginx/error-upstream.log"
check "nginx logged no upstream error" expect_file_lacks "$T/nginx/error-upstream.log" '\[(error|crit|alert|emerg)\]'
masd_stop human
masd_stop human-past
masd_stop discovery
masd_stop assets
note "screenshots and HTML in $OUT_DIR"
finish
