#!/usr/bin/env bash
# The GraphQL engine against graphql-js 16 (tests/node's), in the same run: parse + validate +
# execute of an account page's query (tests/unit/graphql_account.h: the viewer, its e-mails, a
# page of six app sessions through fragments on a union) over the same schema, with resolvers
# that build the same values; both answers are checked byte for byte first. Rounds alternate the
# two; each prints operations per CPU second of the process (the machine is shared: what others
# run is not counted), the last line the median ratio.
# ROUNDS (default 5) and DURATION (seconds per measurement, default 3).
source "$(dirname "$0")/lib.sh"
release_build
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}
[ -d "$BENCH_ROOT/tests/node/node_modules/graphql" ] || (cd "$BENCH_ROOT/tests/node" && npm ci --no-audit --no-fund >/dev/null)
"$BUILD/tests/graphql_tool" sdl >"$WORK/account.graphql"
python3 - "$BENCH_ROOT/tests/unit/graphql_account.h" >"$WORK/page.graphql" <<'PY'
import json, re, sys
src = open(sys.argv[1]).read()
body = re.search(r'account_page_query\[\] =\n(.*?);\n', src, re.S).group(1)
sys.stdout.write(''.join(json.loads('"%s"' % s) for s in re.findall(r'"((?:[^"\\]|\\.)*)"', body)))
PY
c() { "$BUILD/bench/graphql_bench" "$@"; }
js() { node "$BENCH_ROOT/bench/graphql.mjs" "$WORK/account.graphql" "$WORK/page.graphql" "$@"; }
c 1 json >"$WORK/c.json"
js 1 json >"$WORK/js.json"
cmp -s "$WORK/c.json" "$WORK/js.json" || { echo "the two engines answer differently" >&2; exit 1; }
bench_header
echo "# the same response from both, $(wc -c <"$WORK/c.json") bytes; $ROUNDS rounds of ${DURATION} s each"
ratios=()
for round in $(seq "$ROUNDS"); do
    c "$DURATION" >"$WORK/c.txt"
    js "$DURATION" >"$WORK/js.txt"
    c_ops=$(awk '/^parse\+validate\+execute/ {print $2}' "$WORK/c.txt")
    js_ops=$(awk '/^parse\+validate\+execute/ {print $2}' "$WORK/js.txt")
    c_ser=$(awk '/^\.\.\. and serialize/ {print $4}' "$WORK/c.txt")
    js_ser=$(awk '/^\.\.\. and serialize/ {print $4}' "$WORK/js.txt")
    ratio=$(echo "scale=1; $c_ops / $js_ops" | bc)
    ratios+=("$ratio")
    echo "round $round: masd $c_ops ops/s ($c_ser serialized), graphql-js $js_ops ops/s ($js_ser serialized): $ratio x"
    [ "$round" = 1 ] && sed 's/^/#   masd: /' "$WORK/c.txt"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
echo "median ratio masd / graphql-js: $median"
bench_footer
