#!/usr/bin/env bash
# Long fuzzing runs (issue #6 §2): builds the clang libFuzzer build (ASan+UBSan, the options of
# tests/run's build-fuzz) and runs every target of tests/fuzz/ to N executions, one at a time
# under `nice -n 19`, each from a scratch copy of its seed corpus (tests/fuzz/corpus/ is only
# read). Prints one Markdown row per target for bench/RESULTS.md; exits non-zero when any
# target crashed or did not build, leaving the crashing input under $FUZZ_LOGS.
#
# Usage: bench/fuzz.sh [N]        N executions per target, default 10000000
# Environment: BUILD (default build-fuzz), ONLY (a regex of target names),
#              FUZZ_LOGS (logs and crash artifacts, default /tmp/masd-fuzz),
#              KEEP=1 (lib.sh: keep the scratch directory, and so the grown corpora).
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build-fuzz}
source "$(dirname "$0")/lib.sh"
RUNS=${1:-10000000}
ONLY=${ONLY:-.}
FUZZ_LOGS=${FUZZ_LOGS:-/tmp/masd-fuzz}
cd "$BENCH_ROOT"

# The parser each target covers, for the table.
declare -A COVERS=(
    [fuzz_accept_encoding]="Accept-Encoding negotiation"
    [fuzz_asset_http]="asset path, Range, If-Range, If-(None-)Match, HTTP-dates"
    [fuzz_client_assertion]="client assertion JWS (RFC 7523): parse, claims, signatures"
    [fuzz_client_credentials]="OAuth client credentials: Content-Type, Authorization Basic/Bearer + form; token, token_type_hint"
    [fuzz_client_ip]="IP literals, CIDR (trusted_proxies), X-Forwarded-For, client IP"
    [fuzz_compat_login]="compat /login JSON body, username"
    [fuzz_compat_request]="compat JSON body rules (Content-Type, empty), /refresh and /logout/all bodies, Bearer"
    [fuzz_config]="YAML config loader (all sections)"
    [fuzz_form]="form and query decoding"
    [fuzz_graphql]="GraphQL documents and variables: parse, validate, caps, execute"
    [fuzz_graphql_http]="GraphQL over HTTP: method, URL parameters, Content-Type, Accept, JSON body"
    [fuzz_graphql_schema]="GraphQL SDL: schema building, then introspection of it"
    [fuzz_homeserver_error]="homeserver error bodies, endpoint URL join, localpart encoding"
    [fuzz_password_hash]="stored password hashes (argon2id, PBKDF2, bcrypt)"
    [fuzz_proxy_protocol]="PROXY protocol v1/v2"
    [fuzz_secrets_open]="sealed secrets and cookies"
    [fuzz_token]="access/refresh token format, Synapse macaroons"
)

mkdir -p "$FUZZ_LOGS"
if ! { [ -d "$BUILD" ] || CC=clang meson setup "$BUILD" "$BENCH_ROOT" -Dbuildtype=debugoptimized -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false; } >"$FUZZ_LOGS/build.log" 2>&1 ||
    ! nice -n 19 ninja -C "$BUILD" >>"$FUZZ_LOGS/build.log" 2>&1; then
    tail -20 "$FUZZ_LOGS/build.log" >&2
    echo "bench/fuzz.sh: the fuzz build failed ($FUZZ_LOGS/build.log)" >&2
    exit 1
fi

bench_header
echo "# $(clang --version | head -1), $RUNS executions per target"
echo
echo "| target | parser covered | executions | exec/s | time | cov | ft | crashes |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
status=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    [[ $name =~ $ONLY ]] || continue
    bin=$BUILD/tests/$name
    if [ ! -x "$bin" ]; then
        echo "| $name | ${COVERS[$name]:-see $src} | not built | | | | | |"
        status=1
        continue
    fi
    rm -rf "$FUZZ_LOGS/artifacts-$name"
    mkdir -p "$WORK/corpus-$name" "$FUZZ_LOGS/artifacts-$name"
    log=$FUZZ_LOGS/$name.log
    start=$(date +%s)
    rc=0
    # New inputs go to the scratch corpus (the first directory); the seeds are only read.
    nice -n 19 "$bin" -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$FUZZ_LOGS/artifacts-$name/" "$WORK/corpus-$name" "tests/fuzz/corpus/$name" \
        >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - start))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(find "$FUZZ_LOGS/artifacts-$name" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        crashes="${crashes} (exit $rc, see $log)"
    fi
    printf '| %s | %s | %s | %s | %d min %02d s | %s | %s | %s |\n' "$name" "${COVERS[$name]:-see $src}" \
        "${execs:-?}" "${rate:-?}" $((secs / 60)) $((secs % 60)) "${cov:-?}" "${ft:-?}" "$crashes"
done
bench_footer
exit $status
