#!/bin/sh
# Screenshots of masd-human's pages, for a person to look at (not a test): every sample data set of
# tests/data/human/ rendered next to the stylesheet, shot by headless Chromium at 375x800 (a phone)
# and 1280x800, light and dark (prefers-color-scheme through --force-dark-mode). form_post's script
# is taken out first, so its shot shows what a browser without JavaScript shows (instead of leaving).
#
#   human_pages_shots.sh BUILD_DIR OUT_DIR [CASE ...]     (CASE: a sample's name, default all)
set -eu
build=$(cd "$1" && pwd)
out=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
mkdir -p "$out/pages"
cp "$src/services/human/static/masd.css" "$out/pages/masd.css"
(cd "$src/tests/unit" && "$build/tests/test_human_pages" "$src/tests/data/human" --out "$out/pages" --css masd.css >/dev/null 2>&1 || true)  # --css fails index-hostile's check
sed -i '/^<script nonce=/d' "$out"/pages/form-post*.html
if [ $# -eq 0 ]; then
    set -- $(cd "$out/pages" && ls *.html | sed 's/\.html$//')
fi
for name in "$@"; do
    for size in 375,800 1280,800; do
        for scheme in light dark; do
            flag=
            [ $scheme = dark ] && flag=--force-dark-mode
            "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars $flag \
                --window-size=$size --screenshot="$out/$name-${size%,*}-$scheme.png" \
                "file://$out/pages/$name.html" >/dev/null 2>&1
        done
    done
done
ls "$out"/*.png | wc -l
