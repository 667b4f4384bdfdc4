#!/usr/bin/env bash
# A Matrix client signs in through an upstream OpenID Provider, end to end (docs/upstream-oauth.md),
# through the shipped nginx configuration with a real OpenID Provider (tests/node/idp.mjs:
# oidc-provider), masd-human, masd-oauth, masd-discovery, masd-assets and the stand-in homeserver,
# on SQLite and, when MASD_TEST_PG_URI is set, on PostgreSQL (tests/node/upstream_client.mjs
# drives matrix-js-sdk 37 and headless Chromium):
#   - matrix-js-sdk registers a native client and sends the person to masd: the login page shows
#     the provider's button; the IdP's login and consent pages; masd's registration page with the
#     localpart and display name from the IdP; masd's consent page; the client exchanges the code
#     (completeAuthorizationCodeGrant). The homeserver's introspection sees alice; the stand-in
#     homeserver got provision_user with the IdP's display name. A second sign-in in a fresh
#     browser goes from the IdP straight to the consent page, as the same user;
#   - bob signs in through a second provider whose client authenticates with private_key_jwt (the
#     IdP reads masd's public keys from masd's own /oauth2/keys.json); alice's provider uses
#     client_secret_basic;
#   - a misbehaving provider, each an HTML page with our CSP, never a 500, screenshots at 375 and
#     1280 px: an ID token whose iss is not the configured issuer (discovery disabled, explicit
#     endpoints), 400 naming iss; an expired ID token (a second masd-human, behind its own nginx,
#     whose clock runs 2 hours ahead: the IdP's tokens live 1 hour), 400 naming exp; a code the
#     IdP issued to another of its clients that shares masd's redirect URI (the IdP refuses the
#     exchange, invalid_grant: 502). An ID token with a wrong aud cannot come from a real
#     oidc-provider: it signs every ID token for the client the code was issued to, and exchanges
#     a code only for that client; tests/unit/test_upstream_rp.c covers that check.
# Screenshots go to $OUT/upstream_client-<build>/ (tests/run sets OUT).
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
need_node_modules oidc-provider matrix-js-sdk
need_chromium
need_command sqlite3

OUT_BASE=${OUT:-$ROOT/build-output/manual}/upstream_client-$(basename "$BUILD")
rm -rf "$OUT_BASE"
HS_SECRET=shared-secret-for-the-homeserver
PB=01JAYS74TCG3BTWKADN5Q4518C # client_secret_basic
PK=01GFWR4BNFDCC4QDG6AMSP1VR1 # private_key_jwt
PI=01GFWR4BNFDCC4QDG6AMSP1VR2 # discovery disabled, an issuer that is not the IdP's
homeserver_start "$HS_SECRET" || finish
human_assets

# config FILE DB-URI PUBLIC-BASE HUMAN-SOCKET
config()
{
    cat >"$1" <<EOF
$(web_config_yaml "$3" "$2" "$4" "$T/run/oauth.sock" discovery)
$(secrets_yaml)
upstream_oauth2:
  providers:
$(provider_yaml "$PB" masd-basic 'human_name: Test IdP' 'claims_imports:' '  localpart: { action: suggest }' \
    '  displayname: { action: suggest }')
    - id: $PK
      issuer: "$ISSUER"
      discovery_mode: insecure
      human_name: Key IdP
      client_id: masd-pk
      token_endpoint_auth_method: private_key_jwt
      token_endpoint_auth_signing_alg: RS256
      scope: "openid profile"
      claims_imports:
        localpart: { action: suggest }
        displayname: { action: suggest }
    - id: $PI
      issuer: "$ISSUER/elsewhere"
      discovery_mode: disabled
      authorization_endpoint: "$ISSUER/auth"
      token_endpoint: "$ISSUER/token"
      jwks_uri: "$ISSUER/jwks"
      pkce_method: always
      human_name: Elsewhere
      client_id: masd-basic
      client_secret: masd-basic-secret
      token_endpoint_auth_method: client_secret_basic
      scope: "openid profile"
EOF
}

introspect()
{
    req "$1" -H "Authorization: Bearer $HS_SECRET" -H 'Accept: application/json' -H 'X-MAS-Supports-Device-Id: 1' \
        --data-urlencode "token=$2" --data-urlencode token_type_hint=access_token /oauth2/introspect
}

run_backend()
{
    local b=$1 uri=$2 dir ng ngl
    dir=$T/$b
    ng=$(free_port) ngl=$(free_port) IDP_PORT=$(free_port)
    BASE=https://127.0.0.1:$ng
    local LATE=https://127.0.0.1:$ngl S_LATE=$T/run/human-late-$b.sock
    ISSUER=http://127.0.0.1:$IDP_PORT
    mkdir -p "$dir"
    config "$dir/config.yaml" "$uri" "$BASE" "$T/run/human.sock"
    config "$dir/late.yaml" "$uri" "$LATE" "$S_LATE"
    sql_q() { if [ "$b" = sqlite ]; then sqlite3 "${uri#sqlite://}" "$1"; else psql -X -qAt "$uri" -c "$1"; fi; }
    # masd-pk's public keys: masd's own JWKS (secrets.keys), fetched by the IdP through nginx
    cat >"$T/idp.json" <<EOF
{"clients": [
  {"client_id": "masd-basic", "client_secret": "masd-basic-secret", "token_endpoint_auth_method": "client_secret_basic",
   "redirect_uris": ["$BASE/upstream/callback/$PB", "$BASE/upstream/callback/$PI", "$LATE/upstream/callback/$PB"]},
  {"client_id": "masd-pk", "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "RS256",
   "jwks_uri": "$BASE/oauth2/keys.json", "redirect_uris": ["$BASE/upstream/callback/$PK"]},
  {"client_id": "masd-other", "client_secret": "masd-other-secret", "token_endpoint_auth_method": "client_secret_basic",
   "redirect_uris": ["$BASE/upstream/callback/$PB"]}
]}
EOF
    start_idp "idp-$b" "$b: " --log "$dir/idp-requests.log" || return
    standin_reset "$b"
    masctl_sync "$b" "$dir/config.yaml" "$dir/masctl.log" || return
    web_start "$b" "$dir/config.yaml" "$T/run/human.sock" "$T/run/oauth.sock" || return
    masd_start discovery-$b "$DISCOVERY_BIN" "$dir/config.yaml" "$T/run/discovery.sock" || return
    # the IdP's ID tokens live an hour: 2 hours ahead, they have expired
    MASD_TEST_CLOCK_OFFSET_MS=7200000 masd_start human-late-$b "$HUMAN_BIN" "$dir/late.yaml" "$S_LATE" || return
    nginx_masd_start nginx-$b "$dir/nginx" "$ng" || return
    # the late masd-human behind its own nginx: the same shipped text, its socket and port
    nginx_masd_start nginx-late-$b "$dir/nginx-late" "$ngl" -e "s|$T/run/human.sock|$S_LATE|" || return

    # ---- Chromium and matrix-js-sdk ------------------------------------------------------------
    local out=$OUT_BASE/$b H0
    H0=$(wc -l <"$HS_RECORD")
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/upstream_client.mjs" "$(printf \
        '{"base":"%s","late_base":"%s","issuer":"%s","chromium":"%s","out":"%s","callback_port":%s,"result":"%s","basic":"%s","key":"%s","iss":"%s","other_client":"masd-other"}' \
        "$BASE" "$LATE" "$ISSUER" "$CHROMIUM" "$out" "$(free_port)" "$dir/result.json" "$PB" "$PK" "$PI")" \
        >"$dir/client.out" 2>"$dir/client.err"
    step_checks "$b" "$dir/client.out"
    check "$b: upstream_client.mjs ran to the end" eval "grep -q '^done$' $dir/client.out || { tail -n 30 $dir/client.err; false; }"
    cp "$dir/client.out" "$out/steps.jsonl" 2>/dev/null

    local REF
    REF=$(cat "$out/other-client-reference" 2>/dev/null)
    check "$b: ... the 502's reference is in masd-human's log with the IdP's refusal of the exchange (invalid_grant)" \
        eval "[ -n '$REF' ] && grep '$REF' $T/logs/human-$b.log | grep -q invalid_grant || { grep -i 'invalid_grant\|$REF' $T/logs/human-$b.log; false; }"
    local R=$dir/result.json ALICE
    ALICE=$(sql_q "SELECT user_id FROM users WHERE username = 'alice'")
    introspect in1 "$(js d.first_access_token <"$R")"
    check "$b: introspection as the homeserver does it: the first token is active for alice, with its device" \
        json_expect "$T/in1.b" "d.active === true && d.username === 'alice' && d.sub === '$(js d.first_sub <"$R")' &&
            d.scope.split(' ').includes('urn:matrix:client:device:$(js d.first_device <"$R")')"
    introspect in2 "$(js d.second_access_token <"$R")"
    check "$b: ... and the second sign-in's token: alice again (the same sub), another device" \
        json_expect "$T/in2.b" "d.active === true && d.username === 'alice' && d.sub === '$(js d.first_sub <"$R")' &&
            d.scope.split(' ').includes('urn:matrix:client:device:$(js d.second_device <"$R")') &&
            '$(js d.second_device <"$R")' !== '$(js d.first_device <"$R")'"
    check "$b: the stand-in homeserver got alice with the IdP's display name (provision_user)" \
        eval 'tail -n +$((H0 + 1)) "$HS_RECORD" | grep "/provision_user" | grep "\"localpart\": *\"alice\"" | grep -q "Alice Liddell"'
    check "$b: one link of alice at the client_secret_basic provider, one of bob at the private_key_jwt one" \
        eval "expect_eq \"\$(sql_q \"SELECT l.upstream_oauth_provider_id || ' ' || l.subject || ' ' || u.username FROM upstream_oauth_links l JOIN users u USING (user_id) ORDER BY u.username\")\" \"$PB alice alice
$PK bob bob\""
    check "$b: alice has one account, with two OAuth sessions of the client" \
        expect_eq "$(sql_q "SELECT count(*) FROM oauth2_sessions WHERE user_id = '$ALICE'")" 2
    check "$b: the IdP fetched masd's JWKS (masd-pk's private_key_jwt) and served its token endpoint" \
        eval "grep -q '^POST /token$' $dir/idp-requests.log && grep -q 'GET /oauth2/keys.json' $dir/nginx/access.log"

    stop nginx-$b
    stop nginx-late-$b
    for s in human-late human oauth discovery assets; do masd_stop "$s-$b"; done
    stop idp-$b
    check "$b: no 500 through either nginx, and no sanitizer report up to masd-human's exit" \
        eval "! grep -E '\" 500 ' $dir/nginx/access.log $dir/nginx-late/access.log &&
              sanitizer_clean $T/logs/human-$b.log $T/logs/human-late-$b.log"
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database upstream_client && run_backend pg "$PG_DB_URI"
finish
