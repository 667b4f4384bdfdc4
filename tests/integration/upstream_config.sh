#!/usr/bin/env bash
# upstream_oauth2.providers, as an operator meets them before the sign-in flow exists: masctl
# config check refuses a claims template that does not parse and a typo'd key, each at its
# file:line:column; masctl config sync writes the providers; masd-human writes them at start only
# when the section changed (one read otherwise); a removed provider is kept, marked disabled, with
# its link, until `masctl config sync --prune` deletes both. SQLite and, when MASD_TEST_PG_URI is
# set, PostgreSQL.
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$MASCTL_BIN"
command -v sqlite3 >/dev/null || { fail_check "sqlite3 is installed" "tools/packages --install test"; finish; }

P1=01JAYS74TCG3BTWKADN5Q4518C
P2=01GFWR4BNFDCC4QDG6AMSP1VRR
mkdir -p "$T/run"

# config FILE DB-URI [second provider: yes|no] [extra provider lines]
config()
{
    {
        cat <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $T/run/human.sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  endpoint: http://127.0.0.1:9/
  secret: s
EOF
        secrets_yaml
        cat <<EOF
upstream_oauth2:
  providers:
    - id: $P1
      issuer: "http://127.0.0.1:9000"
      discovery_mode: insecure
      human_name: Test IdP
      client_id: masd
      client_secret: "idp-secret"
      token_endpoint_auth_method: client_secret_basic
      scope: "openid profile email"
      claims_imports:
        localpart: { action: require, template: "{{ user.preferred_username | lower }}" }
        displayname: { action: suggest }
${4:-}
EOF
        [ "${3:-yes}" = yes ] && cat <<EOF
    - id: $P2
      issuer: "https://accounts.example.com"
      client_id: second
      token_endpoint_auth_method: none
EOF
    } >"$1"
}

# sql BACKEND URI QUERY: one value
sql()
{
    if [ "$1" = sqlite ]; then sqlite3 "${2#sqlite://}" "$3"; else psql -X -qAt "$2" -c "$3"; fi
}

run_backend()
{
    local b=$1 uri=$2
    local M=("$MASCTL_BIN" -c "$T/$b.yaml")
    config "$T/$b.yaml" "$uri"
    config "$T/$b-bad.yaml" "$uri" yes '        email: { action: suggest, template: "{{ user.email | lowercase }}" }'
    config "$T/$b-typo.yaml" "$uri" yes '      claim_imports: {}'
    check "[$b] config check accepts the providers" expect_match "$("${M[@]}" config check 2>&1)" ''
    check "[$b] config check: a template that does not parse, at its line and column" expect_match \
        "$("$MASCTL_BIN" -c "$T/$b-bad.yaml" config check 2>&1)" \
        "$b-bad.yaml:[0-9]+:[0-9]+: upstream_oauth2.providers\[0\].claims_imports.email.template: the template does not parse: line 1, column 17: unknown filter 'lowercase'"
    check "[$b] config check: a typo'd key is an error (MAS ignores it)" expect_match \
        "$("$MASCTL_BIN" -c "$T/$b-typo.yaml" config check 2>&1)" \
        "$b-typo.yaml:[0-9]+:7: unknown key 'upstream_oauth2.providers\[0\].claim_imports'"
    if ! "${M[@]}" database migrate >"$T/$b-migrate.log" 2>&1; then
        fail_check "[$b] masctl database migrate" "$(tail -n 5 "$T/$b-migrate.log")"
        return
    fi
    check "[$b] masctl config sync writes both providers" expect_match "$("${M[@]}" config sync 2>&1)" \
        'wrote 2 upstream providers, disabled 0, deleted 0'
    check "[$b] the row holds MAS's columns" expect_eq \
        "$(sql $b "$uri" "SELECT scope || '|' || discovery_mode || '|' || pkce_mode || '|' || ui_order || '|' || claims_imports FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = '$P1'")" \
        'email openid profile|insecure|auto|0|{"subject":{},"skip_confirmation":false,"localpart":{"action":"require","template":"{{ user.preferred_username | lower }}"},"displayname":{"action":"suggest"},"email":{},"account_name":{}}'
    check "[$b] the client secret is stored sealed" expect_eq \
        "$(sql $b "$uri" "SELECT encrypted_client_secret LIKE '%idp-secret%' FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = '$P1'")" \
        "$([ $b = sqlite ] && echo 0 || echo f)"
    sql $b "$uri" "INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, subject, created_at) VALUES ('01JAYS74TCG3BTWKADN5Q4519A', '$P2', 'sub', 1)" >/dev/null

    masd_start "human-$b" "$HUMAN_BIN" "$T/$b.yaml" "$T/run/human.sock" -- --verbose || return
    masd_stop "human-$b"
    check "[$b] masd-human at start: the section did not change, nothing written" \
        expect_file_lacks "${LOG_OF[human-$b]}" 'upstream_oauth2: the section changed'

    config "$T/$b.yaml" "$uri" no
    masd_start "human2-$b" "$HUMAN_BIN" "$T/$b.yaml" "$T/run/human.sock" -- --verbose || return
    masd_stop "human2-$b"
    check "[$b] masd-human at start: a removed provider is disabled" expect_file_contains "${LOG_OF[human2-$b]}" \
        'upstream_oauth2: the section changed since the last sync: 1 provider\(s\) written, 1 disabled'
    check "[$b] the disabled provider and its link are kept" expect_eq \
        "$(sql $b "$uri" "SELECT (p.disabled_at IS NOT NULL) || '|' || COUNT(l.upstream_oauth_link_id) FROM upstream_oauth_providers p LEFT JOIN upstream_oauth_links l USING (upstream_oauth_provider_id) WHERE p.upstream_oauth_provider_id = '$P2' GROUP BY p.disabled_at")" \
        "$([ $b = sqlite ] && echo '1|1' || echo 'true|1')"
    check "[$b] config sync --prune deletes it with its link" expect_match "$("${M[@]}" config sync --prune 2>&1)" \
        'wrote 1 upstream provider, disabled 0, deleted 1'
    check "[$b] nothing of it is left" expect_eq \
        "$(sql $b "$uri" "SELECT COUNT(*) FROM upstream_oauth_links") $(sql $b "$uri" "SELECT COUNT(*) FROM upstream_oauth_providers")" '0 1'
}

# The README's "Signing in with Keycloak, Google, GitHub…": every sample provider, its <…>
# filled in, passes masctl config check as it is written (Apple's with a P-256 key file).
readme_samples()
{
    local readme n=0 b
    readme=$(dirname "$0")/../../README.md
    mkdir -p "$T/samples"
    awk '/^## Signing in with Keycloak/ { s = 1; next } /^## / { s = 0 }
         s && /^```yaml$/ { f = 1; n++; next } f && /^```$/ { f = 0; next }
         s && f { print > (dir "/" n ".yaml") }' dir="$T/samples" "$readme"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/samples/apple.p8" 2>/dev/null || return 1
    for b in "$T/samples/"[0-9]*.yaml; do
        n=$((n + 1))
        config "$T/sample.yaml" "sqlite://$T/sample.db" no
        sed -i '/^upstream_oauth2:/,$d' "$T/sample.yaml"
        sed -e 's/<[^>]*>/x/g' -e "s|/etc/masd/apple-signin.p8|$T/samples/apple.p8|" "$b" >>"$T/sample.yaml"
        "$MASCTL_BIN" -c "$T/sample.yaml" config check >"$T/sample.out" 2>&1 ||
            { echo "sample $n:"; cat "$T/sample.out"; return 1; }
    done
    [ "$n" -ge 10 ] || { echo "only $n samples found"; return 1; }
    echo "$n samples"
}
# (backend-independent: with the SQLite half)
backend_wanted sqlite && check "README: every sample provider configuration passes masctl config check" readme_samples

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
if pg_database upstream; then
    run_backend pg "$PG_DB_URI"
fi
finish
