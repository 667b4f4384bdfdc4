#!/usr/bin/env bash
# masd-discovery's document as real OIDC relying-party libraries see it: openid-client 6
# discovery() and oauth4webapi 3 processDiscoveryResponse() (tests/node/discovery.mjs), with a
# plain public_base, a public_base with a path, and an issuer that differs from public_base.
# (It proves what relying-party libraries see; masd-discovery runs under ASan in nginx.sh.)
# tests/run: once
. "$(dirname "$0")/lib.sh"
require_binaries "$DISCOVERY_BIN"
if [ ! -d "$NODE_DIR/node_modules/openid-client" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        { fail_check "npm ci in tests/node" "see tests/run"; finish; }
fi

PA=$(free_port)
PB=$(free_port)
PC=$(free_port)

# config FILE PUBLIC_BASE PORT [PREFIX] [ISSUER]
config()
{
    {
        echo "http:"
        echo "  public_base: $2"
        [ -n "${5:-}" ] && echo "  issuer: $5"
        echo "  listeners:"
        echo "    - name: discovery"
        echo "      resources: [{name: discovery}]"
        [ -n "${4:-}" ] && echo "      prefix: $4"
        echo "      binds: [{address: \"127.0.0.1:$3\"}]"
        secrets_yaml
    } >"$1"
}
config "$T/a.yaml" "http://127.0.0.1:$PA/" $PA
config "$T/b.yaml" "http://127.0.0.1:$PB/auth/" $PB /auth
config "$T/c.yaml" "http://127.0.0.1:$PC/" $PC "" "https://issuer.example.com/"

masd_start plain "$DISCOVERY_BIN" "$T/a.yaml" 127.0.0.1:$PA || finish
masd_start prefixed "$DISCOVERY_BIN" "$T/b.yaml" 127.0.0.1:$PB || finish
masd_start issuer "$DISCOVERY_BIN" "$T/c.yaml" 127.0.0.1:$PC || finish

# accepts LIB ISSUER BASE: the library accepts the document; issuer and endpoints as expected.
accepts()
{
    local out
    out=$(node "$NODE_DIR/discovery.mjs" "$1" "$2") || return 1
    echo "$out" >"$T/d.json"
    cat "$T/d.json"
    json_expect "$T/d.json" "
        const iss = '$2', base = '$3';
        d.ok === true && d.issuer === iss &&
        d.authorization_endpoint === base + 'authorize' &&
        d.token_endpoint === base + 'oauth2/token' &&
        d.jwks_uri === base + 'oauth2/keys.json' &&
        d.userinfo_endpoint === base + 'oauth2/userinfo' &&
        d.revocation_endpoint === base + 'oauth2/revoke' &&
        d.introspection_endpoint === base + 'oauth2/introspect' &&
        d.registration_endpoint === base + 'oauth2/registration' &&
        d.supportsPKCE_S256 !== false"
}

# rejects LIB URL: the library refuses the document because its issuer is not URL.
rejects()
{
    local out
    out=$(node "$NODE_DIR/discovery.mjs" "$1" "$2") || return 1
    echo "$out" >"$T/d.json"
    cat "$T/d.json"
    json_expect "$T/d.json" 'd.ok === false && d.code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED" && /issuer/i.test(d.message)'
}

A="http://127.0.0.1:$PA/"
B="http://127.0.0.1:$PB/auth/"
C="http://127.0.0.1:$PC/"
for lib in openid-client oauth4webapi; do
    check "$lib accepts the discovery document (issuer = public_base)" accepts $lib "$A" "$A"
    check "$lib accepts the discovery document of a public_base with a path (/auth/)" accepts $lib "$B" "$B"
    check "$lib rejects a document whose issuer is not the URL it asked (issuer set apart)" rejects $lib "$C"
done

issuer_apart()
{
    http c "${C}.well-known/openid-configuration" || return 1
    json_expect "$T/c.b" "d.issuer === 'https://issuer.example.com/' && d.token_endpoint === '${C}oauth2/token'"
}
check "http.issuer is the issuer; endpoints still come from public_base" issuer_apart
outside_prefix()
{
    http o "http://127.0.0.1:$PB/.well-known/openid-configuration" || return 1
    expect_eq "$(status "$T/o.h")" 404
}
check "a listener with prefix /auth answers nothing outside it" outside_prefix

masd_stop plain
masd_stop prefixed
masd_stop issuer
finish
