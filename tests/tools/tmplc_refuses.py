#!/usr/bin/env python3
"""Every template of tests/data/templates-bad/ must be refused by tmplc.py with exit status 1 and
one line "NAME.html:LINE:COLUMN: why" (NAME.txt for a plain-text template) that says why (not a
crash)."""
import os
import re
import subprocess
import sys

TMPLC, BAD, CATALOGUE = sys.argv[1:4]
EXPECT = {
    "attrname": "inside a tag or attribute name",
    "badpath": "is not a name",
    "comment": "inside an HTML comment",
    "include_escape": "expected {% include",
    "include_html.txt": "expected {% include \"file.txt\" %}",
    "loop": "includes itself",
    "missing_string": "no string 'missing'",
    "onclick": "onclick attribute cannot be escaped",
    "safe_attr": "'| safe' only in text",
    "safe_text.txt": "'| safe' has no meaning in a text template",
    "script": "inside <script> cannot be escaped",
    "stray": "{% endfor %} without {% for %}",
    "style": "style attribute cannot be escaped",
    "stylevalue": "inside <style> cannot be escaped",
    "tagname": "write &lt;",
    "twoelse": "a second {% else %}",
    "unbalanced": "does not end where it began",
    "unclosed": "is never closed",
    "unquoted": "unquoted attribute",
}
failed = 0
names = sorted(f[:-5] if f.endswith(".html") else f for f in os.listdir(BAD))
if names != sorted(EXPECT):
    print("templates-bad/ and this table differ: %s vs %s" % (names, sorted(EXPECT)))
    failed += 1
for name, why in sorted(EXPECT.items()):
    p = subprocess.run([sys.executable, TMPLC, "--out-c", "/dev/null", "--out-h", "/dev/null",
                        "--prefix", "bad", "--strings", "en=" + CATALOGUE,
                        os.path.join(BAD, name if name.endswith(".txt") else name + ".html")],
                       capture_output=True, text=True)
    err = p.stderr.strip()
    ok = p.returncode == 1 and re.match(r"^%s:\d+:\d+: " % re.escape(name if name.endswith(".txt") else name + ".html"), err) and why in err \
        and "\n" not in err
    print("%s - %s: %s" % ("ok" if ok else "not ok", name, err or "(no message, status %d)" % p.returncode))
    failed += 0 if ok else 1
sys.exit(1 if failed else 0)
