#!/usr/bin/env python3
"""masd-human's and masd-worker's templates say nothing themselves: all their text is in
strings/en.json.

    human_strings.py TEMPLATE_DIR CATALOGUE.json

Fails when a template (.html, or .txt: plain text, where everything outside template tags is
text) holds a letter outside markup, template tags and comments (English that a translation could
not reach), when an attribute a person reads (alt, title, placeholder,
aria-label, value of a button) holds literal text, or when a catalogue key is used by no template.
(That every key a template uses exists, tmplc.py checks at build time.)
"""
import json
import os
import re
import sys

TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
KEY = re.compile(r'\{%\s*t\s+"([^"]+)"\s*%\}')
READ_ATTRS = re.compile(r'\b(alt|title|placeholder|aria-label)="([^"]*)"')


def main():
    tdir, cat_path = sys.argv[1], sys.argv[2]
    with open(cat_path, encoding="utf-8") as f:
        cat = json.load(f)
    used = set()
    bad = []
    names = sorted(n for n in os.listdir(tdir) if n.endswith(".html") or n.endswith(".txt"))
    for name in names:
        with open(os.path.join(tdir, name), encoding="utf-8") as f:
            src = f.read()
        used.update(KEY.findall(src))
        for m in READ_ATTRS.finditer(src):
            if re.search(r"[A-Za-z]", TAG.sub("", m.group(2))):
                bad.append("%s: literal text in %s=\"%s\"" % (name, m.group(1), m.group(2)))
        bare = TAG.sub(" ", src)
        if name.endswith(".html"):
            bare = re.sub(r"<script\b[^>]*>.*?</script>", " ", bare, flags=re.S)  # code, not text
            bare = re.sub(r"<!DOCTYPE html>|<[^>]*>", " ", bare)
        for word in re.findall(r"[^\s]*[A-Za-z][^\s]*", bare):
            bad.append("%s: literal text %r" % (name, word))
    for key in sorted(set(cat) - used - {"lang"}):
        bad.append("%s: %s is used by no template" % (cat_path, key))
    for b in bad:
        print(b)
    print("%d templates checked, %d findings" % (len(names), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
