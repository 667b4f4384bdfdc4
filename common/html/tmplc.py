#!/usr/bin/env python3
"""Compiles masd's HTML templates into C, at build time.

    tmplc.py --out-c FILE.c --out-h FILE.h --prefix NAME --strings LANG=CATALOGUE.json ... TEMPLATE.html ...

A template is HTML with a few tags (common/html/template.h has the whole language):

    {{ a.b }}            a value from the render data, escaped for where it stands
    {{ a.b | safe }}     the value as it is: HTML that was escaped already
    {% t "key" %}        a string of the catalogue; "{name}" in it is a value, escaped
    {% if a %} {% elif b %} {% else %} {% endif %}     (and "if not a")
    {% for x in a %} ... {% endfor %}
    {% include "file.html" %}

The compiler knows where each {{ }} stands in the HTML and picks its escaping then, so a handler
cannot forget it: text, a quoted attribute value, a whole URL attribute (href, src, action, ...)
whose scheme is checked at render time, or a part of one (percent-encoded). Anything it cannot
escape correctly is a build error: a value inside <script> or <style>, in an unquoted attribute,
in an event-handler or style attribute, in a tag or attribute name, or in a comment. Literal
text from the catalogue is escaped here, for the place it is put.

A template whose name ends in .txt is plain text (an e-mail's text/plain part, its subject):
nothing is parsed as HTML, catalogue text stays as written, and every value is written as it is
except that control characters (line breaks included) become U+FFFD, so that a value can never add
a line; it may include only .txt templates, and "| safe" has no meaning there.

Each template is compiled once per catalogue (language), so adding a translation touches no
handler. Errors name file:line:column and exit 1.
"""
import argparse
import json
import os
import re
import sys

URL_ATTRS = {"href", "src", "action", "formaction", "poster", "cite", "background", "srcset",
             "manifest", "data", "codebase", "ping", "xmlns"}
RAWTEXT = {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
           "noscript"}
# Raw-text elements whose content masd may fill with escaped values: a value in <title> or
# <textarea> is text, escaped as text (the browser decodes entities there).
ESCAPABLE_RAWTEXT = {"title", "textarea"}
TAG_RE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.S)
PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class CompileError(Exception):
    pass


def where(src, name, pos):
    line = src.count("\n", 0, pos) + 1
    col = pos - (src.rfind("\n", 0, pos) + 1) + 1
    return "%s:%d:%d" % (name, line, col)


class Html:
    """Just enough of the HTML tokenizer (WHATWG §13.2.5) to know where a value would land."""

    def __init__(self):
        self.state = "data"
        self.tag = ""         # the tag being read, lower case
        self.attr = ""        # the attribute being read, lower case
        self.value_start = False  # nothing written yet in the current attribute value
        self.rawtext = None   # the element whose raw text we are in
        self.closing = False

    def key(self):
        """What decides the meaning of what follows: between tags, only the raw-text element."""
        if self.state == "data":
            return ("data", "", "", False, self.rawtext, False)
        if self.state in ("intag", "attrname", "afterattr"):
            # Between attributes, or right after a name (a conditional boolean attribute such as
            # `{% if x %} disabled{% endif %}`): what follows starts a new attribute either way.
            return ("intag", self.tag, "", False, self.rawtext, self.closing)
        return (self.state, self.tag, self.attr, self.value_start, self.rawtext, self.closing)

    def restore(self, key):
        (self.state, self.tag, self.attr, self.value_start, self.rawtext, self.closing) = key

    def feed(self, text):
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            s = self.state
            if s == "data":
                if self.rawtext:
                    end = "</" + self.rawtext
                    j = text.lower().find(end, i)
                    if j < 0:
                        return
                    i = j + 2
                    self.state, self.tag, self.closing = "tagname", "", True
                    self.rawtext = None
                    continue
                if text.startswith("<!--", i):
                    self.state = "comment"
                    i += 4
                    continue
                if c == "<" and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] in "/!"):
                    self.state, self.tag, self.closing = "tagname", "", False
                    if text[i + 1] == "/":
                        self.closing = True
                        i += 1
                    elif text[i + 1] == "!":
                        self.state = "decl"
                elif c == "<" and i + 1 >= n:
                    raise CompileError("a '<' right before a tag: write &lt;")
            elif s == "decl":
                if c == ">":
                    self.state = "data"
            elif s == "comment":
                if text.startswith("-->", i):
                    self.state = "data"
                    i += 3
                    continue
            elif s == "tagname":
                if c.isspace():
                    self.state = "intag"
                elif c == ">":
                    self.end_tag()
                elif c == "/":
                    self.state = "intag"
                else:
                    self.tag += c.lower()
            elif s == "intag":
                if c == ">":
                    self.end_tag()
                elif c.isspace() or c == "/":
                    pass
                else:
                    self.state, self.attr = "attrname", c.lower()
            elif s == "attrname":
                if c == "=":
                    self.state = "beforevalue"
                elif c == ">":
                    self.end_tag()
                elif c.isspace():
                    self.state = "afterattr"
                else:
                    self.attr += c.lower()
            elif s == "afterattr":
                if c == "=":
                    self.state = "beforevalue"
                elif c == ">":
                    self.end_tag()
                elif not c.isspace():
                    self.state, self.attr = "attrname", c.lower()
            elif s == "beforevalue":
                if c == '"':
                    self.state, self.value_start = "dq", True
                elif c == "'":
                    self.state, self.value_start = "sq", True
                elif c == ">":
                    self.end_tag()
                elif not c.isspace():
                    self.state = "unquoted"
            elif s in ("dq", "sq"):
                if c == ('"' if s == "dq" else "'"):
                    self.state = "intag"
                else:
                    self.value_start = False
            elif s == "unquoted":
                if c.isspace():
                    self.state = "intag"
                elif c == ">":
                    self.end_tag()
            i += 1

    def end_tag(self):
        self.state = "data"
        if not self.closing and self.tag in RAWTEXT:
            self.rawtext = self.tag

    def context(self):
        """The escaping for a value here, or raise."""
        s = self.state
        if s == "data":
            if self.rawtext and self.rawtext not in ESCAPABLE_RAWTEXT:
                raise CompileError("a value inside <%s> cannot be escaped" % self.rawtext)
            return "TEXT"
        if s in ("dq", "sq"):
            a = self.attr
            if a.startswith("on") or a == "style":
                raise CompileError("a value in the %s attribute cannot be escaped" % a)
            if a in URL_ATTRS:
                return "URL" if self.value_start else "URL_PART"
            return "ATTR"
        if s == "unquoted" or s == "beforevalue":
            raise CompileError("a value in an unquoted attribute: quote it with \"")
        if s == "comment":
            raise CompileError("a value inside an HTML comment")
        raise CompileError("a value inside a tag or attribute name")

    def literal_context(self):
        """Where catalogue text may go: text or a quoted attribute value."""
        s = self.state
        if s == "data" and (not self.rawtext or self.rawtext in ESCAPABLE_RAWTEXT):
            return "TEXT"
        if s in ("dq", "sq") and not (self.attr.startswith("on") or self.attr == "style"):
            return "ATTR"
        raise CompileError("a catalogue string can stand in text or a quoted attribute only")


def escape_literal(text, ctx):
    if ctx == "PLAIN":
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if ctx == "ATTR":
        text = text.replace('"', "&quot;").replace("'", "&#39;")
    return text


class Compiler:
    def __init__(self, directory, strings, lang, plain=False):
        self.plain = plain
        self.directory = directory
        self.strings = strings
        self.lang = lang
        self.ops = []
        self.html = Html()
        self.stack = []  # open blocks: [kind, op index, html state at the opening, name, pos, else seen, jumps]
        self.names = []  # loop variables in scope
        self.including = []

    def text(self, s):
        if not self.plain:
            self.html.feed(s)
        self.literal(s)

    def literal(self, s):
        """Output as it is, merged with the text before it."""
        if not s:
            return
        if self.ops and self.ops[-1][0] == "TEXT":
            self.ops[-1][1] += s
        else:
            self.ops.append(["TEXT", s])

    def compile_file(self, fname):
        if fname in self.including:
            raise CompileError("%s includes itself" % fname)
        path = os.path.join(self.directory, fname)
        try:
            with open(path, encoding="utf-8") as f:
                src = f.read()
        except OSError as e:
            raise CompileError("cannot read %s: %s" % (fname, e.strerror))
        self.including.append(fname)
        depth = len(self.stack)
        pos = 0
        for m in TAG_RE.finditer(src):
            try:
                self.text(src[pos:m.start()])
            except CompileError as e:
                raise CompileError("%s: %s" % (where(src, fname, pos), e))
            pos = m.end()
            try:
                if m.group(1) is not None:
                    self.value(m.group(1).strip())
                elif m.group(2) is not None:
                    self.statement(m.group(2).strip(), src, fname, m.start())
            except CompileError as e:
                raise CompileError("%s: %s" % (where(src, fname, m.start()), e))
        try:
            self.text(src[pos:])
        except CompileError as e:
            raise CompileError("%s: %s" % (where(src, fname, pos), e))
        if len(self.stack) > depth:
            raise CompileError("%s: {%% %s %%} is never closed" % (where(src, fname, len(src)), self.stack[-1][0]))
        self.including.pop()

    def check_path(self, path):
        if not PATH_RE.match(path):
            raise CompileError("'%s' is not a name (letters, digits, _ and dots)" % path)

    def value(self, expr):
        parts = [p.strip() for p in expr.split("|")]
        path = parts[0]
        self.check_path(path)
        if len(parts) > 2 or (len(parts) == 2 and parts[1] != "safe"):
            raise CompileError("the only filter is '| safe'")
        if self.plain:
            if len(parts) == 2:
                raise CompileError("'| safe' has no meaning in a text template")
            self.ops.append(["VAR", path, "PLAIN"])
            return
        ctx = self.html.context()
        if len(parts) == 2:
            if ctx != "TEXT":
                raise CompileError("'| safe' only in text, never in an attribute")
            ctx = "SAFE"
        self.ops.append(["VAR", path, ctx])

    def catalogue(self, key):
        if key not in self.strings:
            raise CompileError("no string '%s' in the %s catalogue" % (key, self.lang))
        ctx = "PLAIN" if self.plain else self.html.literal_context()
        text = self.strings[key]
        pos = 0
        for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}", text):
            self.literal(escape_literal(text[pos:m.start()], ctx))
            self.ops.append(["VAR", m.group(1), ctx])
            pos = m.end()
        self.literal(escape_literal(text[pos:], ctx))
        # Catalogue text never changes the HTML state: it is escaped, so it holds no markup.

    def statement(self, stmt, src, fname, pos):
        words = stmt.split()
        if not words:
            raise CompileError("an empty {% %}")
        w = words[0]
        if w == "t":
            m = re.fullmatch(r't\s+"([A-Za-z0-9_.]+)"', stmt)
            if not m:
                raise CompileError('expected {% t "key" %}')
            self.catalogue(m.group(1))
        elif w == "include":
            ext = "txt" if self.plain else "html"
            m = re.fullmatch(r'include\s+"([A-Za-z0-9_./-]+\.%s)"' % ext, stmt)
            if not m or ".." in m.group(1):
                raise CompileError('expected {%% include "file.%s" %%}' % ext)
            self.compile_file(m.group(1))
        elif w in ("if", "elif"):
            neg = len(words) == 3 and words[1] == "not"
            if len(words) != (3 if neg else 2):
                raise CompileError("expected {%% %s name %%} or {%% %s not name %%}" % (w, w))
            self.check_path(words[-1])
            if w == "if":
                self.stack.append(["if", None, self.html.key(), None, pos, False, []])
            else:
                b = self.block("if", "elif")
                if b[5]:
                    raise CompileError("{% elif %} after {% else %}")
                self.branch_end(b)
            self.stack[-1][1] = len(self.ops)
            self.ops.append(["IF", words[-1], neg, None])
        elif w == "else":
            b = self.block("if", "else")
            if b[5]:
                raise CompileError("a second {% else %}")
            self.branch_end(b)
            b[5] = True
        elif w == "endif":
            b = self.block("if", "endif")
            self.same_state(b)
            self.stack.pop()
            end = len(self.ops)
            if b[1] is not None:
                self.ops[b[1]][3] = end
            for j in b[6]:
                self.ops[j][1] = end
            self.ops.append(["ENDIF"])
        elif w == "for":
            if len(words) != 4 or words[2] != "in" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", words[1]):
                raise CompileError("expected {% for name in list %}")
            self.check_path(words[3])
            self.stack.append(["for", len(self.ops), self.html.key(), words[1], pos, False, []])
            self.ops.append(["FOR", words[3], words[1], None])
        elif w == "endfor":
            b = self.block("for", "endfor")
            self.same_state(b)
            self.stack.pop()
            self.ops.append(["ENDFOR", b[1]])
            self.ops[b[1]][3] = len(self.ops) - 1
        else:
            raise CompileError("unknown {%% %s %%}" % w)

    def block(self, kind, word):
        if not self.stack or self.stack[-1][0] != kind:
            raise CompileError("{%% %s %%} without {%% %s %%}" % (word, kind))
        return self.stack[-1]

    def same_state(self, b):
        if self.html.key() != b[2]:
            raise CompileError("the HTML around this block does not end where it began (a tag or "
                               "attribute opened in one branch and closed outside it)")

    def branch_end(self, b):
        """Ends a branch of an if: a jump to the end of the whole if (patched at endif), the
        condition's false branch starts after it, from the HTML state the if began in."""
        self.same_state(b)
        b[6].append(len(self.ops))
        self.ops.append(["ELSE", None])
        if b[1] is not None:
            self.ops[b[1]][3] = len(self.ops)
            b[1] = None
        self.html.restore(b[2])


def c_string(s):
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif 32 <= ch < 127 and c != "?":
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def emit_ops(name, ops):
    rows = []
    for i, op in enumerate(ops):
        k = op[0]
        if k == "TEXT":
            rows.append("{TMPL_TEXT, 0, 0, %s, %d, NULL}" % (c_string(op[1]), len(op[1].encode("utf-8"))))
        elif k == "VAR":
            rows.append("{TMPL_VAR, TMPL_CTX_%s, 0, %s, %d, NULL}" % (op[2], c_string(op[1]), len(op[1])))
        elif k == "IF":
            rows.append("{TMPL_IF, %d, %d, %s, %d, NULL}" % (1 if op[2] else 0, op[3], c_string(op[1]), len(op[1])))
        elif k == "ELSE":
            rows.append("{TMPL_JUMP, 0, %d, NULL, 0, NULL}" % op[1])
        elif k == "ENDIF":
            rows.append("{TMPL_NOP, 0, 0, NULL, 0, NULL}")
        elif k == "FOR":
            rows.append("{TMPL_FOR, 0, %d, %s, %d, %s}" % (op[3], c_string(op[1]), len(op[1]), c_string(op[2])))
        elif k == "ENDFOR":
            rows.append("{TMPL_ENDFOR, 0, %d, NULL, 0, NULL}" % op[1])
    return "static const struct tmpl_op %s[] = {\n    %s,\n};\n" % (name, ",\n    ".join(rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-c", required=True)
    ap.add_argument("--out-h", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--strings", action="append", default=[], help="LANG=catalogue.json")
    ap.add_argument("templates", nargs="+")
    a = ap.parse_args()
    langs = []
    for spec in a.strings:
        lang, _, path = spec.partition("=")
        try:
            with open(path, encoding="utf-8") as f:
                cat = json.load(f)
        except (OSError, ValueError) as e:
            print("%s: %s" % (path, e), file=sys.stderr)
            return 1
        if not isinstance(cat, dict) or not all(isinstance(v, str) for v in cat.values()):
            print("%s: expected an object of strings" % path, file=sys.stderr)
            return 1
        langs.append((lang, cat))
    if not langs:
        langs = [("en", {})]
    out = ["/* Generated by common/html/tmplc.py: do not edit. */",
           '#include "%s"' % os.path.basename(a.out_h), ""]
    table = []
    for path in a.templates:
        directory, fname = os.path.split(path)
        base = re.sub(r"[^A-Za-z0-9]", "_", fname[:-5] if fname.endswith(".html") else fname)
        for lang, cat in langs:
            c = Compiler(directory, cat, lang, plain=fname.endswith(".txt"))
            try:
                c.compile_file(fname)
            except CompileError as e:
                print("%s" % e, file=sys.stderr)
                return 1
            sym = "ops_%s_%s" % (base, re.sub(r"[^A-Za-z0-9]", "_", lang))
            out.append(emit_ops(sym, c.ops))
            table.append("{%s, %s, %s, sizeof(%s) / sizeof(%s[0])}" % (c_string(fname), c_string(lang), sym, sym, sym))
    out.append("const struct template %s_templates[] = {\n    %s,\n    {NULL, NULL, NULL, 0},\n};\n"
               % (a.prefix, ",\n    ".join(table)))
    with open(a.out_c, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    with open(a.out_h, "w", encoding="utf-8") as f:
        f.write("/* Generated by common/html/tmplc.py: do not edit. */\n#pragma once\n"
                '#include "template.h"\n\nextern const struct template %s_templates[];\n' % a.prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
