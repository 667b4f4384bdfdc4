#!/bin/sh
# Validates masd-human's pages with HTML Tidy: test_human_pages renders every sample data set of
# tests/data/human/ to a file, and `tidy -e` must report nothing on any of them, neither error nor
# warning, but four attributes the HTML Living Standard has and Debian 12's tidy 5.6 does not
# know yet ("proprietary attribute"): referrerpolicy (a, img), nonce (script: the CSP's, on the
# form_post page), autocapitalize and inputmode (input).
#
#   human_pages_tidy.sh TEST_HUMAN_PAGES DATA_DIR
set -eu
command -v tidy >/dev/null || { echo "tidy not installed: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$1" "$2" --out "$dir" >/dev/null
n=0 bad=0
for f in "$dir"/*.html; do
    n=$((n + 1))
    # tidy: exit 1 on warnings, 2 on errors; the messages are what counts.
    out=$(tidy -q -e "$f" 2>&1 || true)
    left=$(printf '%s\n' "$out" | grep -v -E 'Warning: <(a|img)> proprietary attribute "referrerpolicy"$|Warning: <script> proprietary attribute "nonce"$|Warning: <input> proprietary attribute "(autocapitalize|inputmode)"$' | grep . || true)
    if [ -n "$left" ]; then
        bad=$((bad + 1))
        echo "$(basename "$f"):"
        printf '%s\n' "$left" | sed 's/^/  /'
    fi
done
echo "tidy: $n pages, $bad with findings"
[ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
