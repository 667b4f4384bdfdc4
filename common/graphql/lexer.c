/* GraphQL's lexical grammar (GraphQL §2.1, October 2021): tokens, ignored tokens, string and
 * block string values with their escapes, checked as the spec's static semantics say.
 *
 * Beyond the spec: the source must be valid UTF-8, and a string may not hold U+0000 (a C
 * service would see the string end there); both are syntax errors. Columns count code points. */
#include "internal.h"
#include <stdarg.h>
#include <stdio.h>

void gql_lexer_init(gql_lexer *lx, gql_arena *arena, const char *src, size_t len, size_t max_tokens)
{
    *lx = (gql_lexer){.pos = src, .end = src + len, .line = 1, .line_start = src, .col_pos = src, .col = 1};
    lx->max_tokens = max_tokens;
    lx->arena = arena;
}

static gql_loc loc_at(gql_lexer *lx, const char *p)
{
    if (lx->col_pos < lx->line_start || lx->col_pos > p) {
        lx->col_pos = lx->line_start;
        lx->col = 1;
    }
    for (; lx->col_pos < p; lx->col_pos++)
        if (((unsigned char)*lx->col_pos & 0xC0) != 0x80)
            lx->col++;
    return (gql_loc){lx->line, lx->col};
}

__attribute__((format(printf, 3, 4))) static int fail(gql_lexer *lx, const char *at, const char *fmt, ...)
{
    lx->error_loc = loc_at(lx, at);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->error, sizeof(lx->error), fmt, ap);
    va_end(ap);
    return -1;
}

/* Decodes one UTF-8 sequence at p (p < end): its code point and length, or -1 if invalid. */
static long utf8_decode(const char *p, const char *end, int *len)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);
    unsigned c = s[0];
    long cp;
    int n;
    if (c < 0x80)
        return *len = 1, (long)c;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return -1;
    if (avail < (size_t)n)
        return -1;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = n;
    return cp;
}

static size_t utf8_encode(long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static void newline(gql_lexer *lx, const char *after)
{
    lx->line++;
    lx->line_start = after;
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skips whitespace, line terminators, commas, comments and byte order marks (§2.1.2-2.1.7). */
static int skip_ignored(gql_lexer *lx)
{
    const char *p = lx->pos, *end = lx->end;
    while (p < end) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == ',') {
            p++;
        } else if (c == '\n') {
            newline(lx, ++p);
        } else if (c == '\r') {
            p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
            newline(lx, p);
        } else if (c == '#') {
            while (p < end && *p != '\n' && *p != '\r') {
                int n;
                if (utf8_decode(p, end, &n) < 0)
                    return fail(lx, p, "Invalid UTF-8 in a comment.");
                p += n;
            }
        } else if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
        } else {
            break;
        }
    }
    lx->pos = p;
    return 0;
}

static int lex_number(gql_lexer *lx, gql_token *tok)
{
    const char *p = lx->pos, *end = lx->end;
    bool is_float = false;
    if (*p == '-')
        p++;
    if (p == end || !is_digit(*p))
        return fail(lx, p, "Invalid number, expected digit.");
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return fail(lx, p, "Invalid number, unexpected digit after 0.");
    } else {
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && *p == '.') {
        is_float = true;
        if (++p == end || !is_digit(*p))
            return fail(lx, p, "Invalid number, expected digit after \".\".");
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_float = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return fail(lx, p, "Invalid number, expected digit in the exponent.");
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == '.' || is_name_start(*p)))
        return fail(lx, p, "Invalid number: a number may not be followed by \".\" or a name.");
    tok->kind = is_float ? GQL_TOK_FLOAT : GQL_TOK_INT;
    tok->text = (masd_str){lx->pos, (size_t)(p - lx->pos)};
    lx->pos = p;
    return 0;
}

static long hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = masd_hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* An escape after the backslash at *pp: its code point, *pp past it; -1 when invalid. */
static long lex_escape(gql_lexer *lx, const char **pp)
{
    const char *p = *pp + 1, *end = lx->end;
    if (p == end)
        return fail(lx, *pp, "Unterminated string.");
    const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
    for (const char *s = simple; *s; s += 2)
        if (*p == s[0]) {
            *pp = p + 1;
            return s[1];
        }
    if (*p != 'u')
        return fail(lx, *pp, "Invalid character escape sequence.");
    p++;
    long v;
    if (p < end && *p == '{') { /* \u{1F600}: any Unicode scalar value */
        v = 0;
        const char *q = p + 1;
        for (; q < end && *q != '}'; q++) {
            int h = masd_hexval(*q);
            if (h < 0 || (v = v << 4 | h) > 0x10FFFF)
                return fail(lx, *pp, "Invalid Unicode escape sequence.");
        }
        if (q == end || q == p + 1 || (v >= 0xD800 && v <= 0xDFFF))
            return fail(lx, *pp, "Invalid Unicode escape sequence.");
        p = q + 1;
    } else {
        v = hex4(p, end);
        if (v < 0)
            return fail(lx, *pp, "Invalid Unicode escape sequence.");
        p += 4;
        if (v >= 0xD800 && v <= 0xDBFF) { /* a leading surrogate: its trailing one must follow */
            long t = (end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2, end) : -1;
            if (t < 0xDC00 || t > 0xDFFF)
                return fail(lx, *pp, "Invalid Unicode escape sequence: a lone surrogate.");
            v = 0x10000 + ((v - 0xD800) << 10) + (t - 0xDC00);
            p += 6;
        } else if (v >= 0xDC00 && v <= 0xDFFF) {
            return fail(lx, *pp, "Invalid Unicode escape sequence: a lone surrogate.");
        }
    }
    if (v == 0)
        return fail(lx, *pp, "A string may not contain U+0000.");
    *pp = p;
    return v;
}

/* The length of the character at p in a string; -1 (error set) for invalid UTF-8 and U+0000. */
static int string_char(gql_lexer *lx, const char *p)
{
    int len;
    long cp = utf8_decode(p, lx->end, &len);
    if (cp <= 0)
        return fail(lx, p, "%s", cp == 0 ? "A string may not contain U+0000." : "Invalid UTF-8 in a string.");
    return len;
}

/* "…" (§2.9.4): decoded into the arena, or pointing into the source when it has no escape. */
static int lex_string(gql_lexer *lx, gql_token *tok)
{
    const char *start = lx->pos + 1, *p = start, *end = lx->end, *close = start;
    while (close < end && *close != '"' && *close != '\n' && *close != '\r')
        close += (*close == '\\' && close + 1 < end) ? 2 : 1;
    char *out = NULL;
    size_t n = 0;
    for (;;) {
        if (p == end || *p == '\n' || *p == '\r')
            return fail(lx, p, "Unterminated string.");
        if (*p == '"')
            break;
        if (*p == '\\') {
            if (!out) {
                if (!(out = gql_alloc(lx->arena, (size_t)(close - start))))
                    return fail(lx, p, "Out of memory.");
                memcpy(out, start, n = (size_t)(p - start));
            }
            long cp = lex_escape(lx, &p);
            if (cp < 0)
                return -1;
            n += utf8_encode(cp, out + n);
            continue;
        }
        int len = string_char(lx, p);
        if (len < 0)
            return -1;
        if (out)
            memcpy(out + n, p, (size_t)len);
        n += (size_t)len;
        p += len;
    }
    tok->kind = GQL_TOK_STRING;
    tok->text = (masd_str){out ? out : start, n};
    lx->pos = p + 1;
    return 0;
}

static bool blank(masd_str line)
{
    for (size_t i = 0; i < line.len; i++)
        if (line.ptr[i] != ' ' && line.ptr[i] != '\t')
            return false;
    return true;
}

/* Takes the next line of raw (split at \r\n, \n or \r); false when none is left. */
static bool next_line(masd_str *raw, masd_str *line, bool *more)
{
    if (!*more)
        return false;
    size_t i = 0;
    while (i < raw->len && raw->ptr[i] != '\n' && raw->ptr[i] != '\r')
        i++;
    *line = (masd_str){raw->ptr, i};
    *more = i < raw->len;
    if (*more)
        i += (raw->ptr[i] == '\r' && i + 1 < raw->len && raw->ptr[i + 1] == '\n') ? 2 : 1;
    raw->ptr += i;
    raw->len -= i;
    return true;
}

/* BlockStringValue (§2.9.4): the common indentation and the blank first and last lines go. */
static masd_str block_string_value(masd_str raw, char *out)
{
    size_t indent = SIZE_MAX, n = 0, first = 1, pending = 0;
    masd_str rest = raw, line;
    bool more = true;
    for (bool head = true; next_line(&rest, &line, &more); head = false) {
        size_t i = 0;
        while (i < line.len && (line.ptr[i] == ' ' || line.ptr[i] == '\t'))
            i++;
        if (!head && i < line.len && i < indent)
            indent = i;
    }
    rest = raw;
    more = true;
    /* lines are written as they come, blank ones only once a non-blank line follows them */
    for (bool head = true; next_line(&rest, &line, &more); head = false) {
        if (!head && indent != SIZE_MAX) {
            size_t cut = line.len < indent ? line.len : indent;
            line.ptr += cut, line.len -= cut;
        }
        if (blank(line)) {
            if (!first)
                pending++;
            continue;
        }
        for (; pending; pending--)
            out[n++] = '\n';
        if (!first)
            out[n++] = '\n';
        memcpy(out + n, line.ptr, line.len);
        n += line.len;
        first = 0;
    }
    return (masd_str){out, n};
}

/* """…""" (§2.9.4): \""" is the only escape. */
static int lex_block_string(gql_lexer *lx, gql_token *tok)
{
    const char *start = lx->pos + 3, *p = start, *end = lx->end, *close = start;
    while (end - close >= 3 && memcmp(close, "\"\"\"", 3) != 0)
        close += (end - close >= 4 && memcmp(close, "\\\"\"\"", 4) == 0) ? 4 : 1;
    char *raw = gql_alloc(lx->arena, (size_t)(close - start) * 2 + 1);
    if (!raw)
        return fail(lx, p, "Out of memory.");
    size_t n = 0;
    for (;;) {
        if (p == end)
            return fail(lx, p, "Unterminated string.");
        if (end - p >= 3 && memcmp(p, "\"\"\"", 3) == 0)
            break;
        if (end - p >= 4 && memcmp(p, "\\\"\"\"", 4) == 0) {
            memcpy(raw + n, "\"\"\"", 3);
            n += 3, p += 4;
            continue;
        }
        if (*p == '\n' || *p == '\r') {
            raw[n++] = *p;
            if (*p == '\r' && p + 1 < end && p[1] == '\n')
                raw[n++] = *++p;
            newline(lx, ++p);
            continue;
        }
        int len = string_char(lx, p);
        if (len < 0)
            return -1;
        memcpy(raw + n, p, (size_t)len);
        n += (size_t)len, p += len;
    }
    tok->kind = GQL_TOK_BLOCK_STRING;
    tok->text = block_string_value((masd_str){raw, n}, raw + n);
    lx->pos = p + 3;
    return 0;
}

int gql_lex(gql_lexer *lx, gql_token *tok)
{
    if (skip_ignored(lx) < 0)
        return -1;
    const char *p = lx->pos;
    tok->loc = loc_at(lx, p);
    tok->text = (masd_str){p, 0};
    if (p == lx->end) {
        tok->kind = GQL_TOK_EOF;
        return 0;
    }
    if (++lx->tokens > lx->max_tokens) {
        return fail(lx, p, "Document exceeds the limit of %zu tokens.", lx->max_tokens);
    }
    static const char punct[] = "!$&():=@[]{|}";
    static const gql_token_kind kinds[] = {GQL_TOK_BANG,     GQL_TOK_DOLLAR,   GQL_TOK_AMP,    GQL_TOK_LPAREN,
                                           GQL_TOK_RPAREN,   GQL_TOK_COLON,    GQL_TOK_EQUALS, GQL_TOK_AT,
                                           GQL_TOK_LBRACKET, GQL_TOK_RBRACKET, GQL_TOK_LBRACE, GQL_TOK_PIPE,
                                           GQL_TOK_RBRACE};
    const char *k = *p ? strchr(punct, *p) : NULL;
    if (k) {
        tok->kind = kinds[k - punct];
        tok->text.len = 1;
        lx->pos = p + 1;
        return 0;
    }
    if (*p == '.') {
        if (lx->end - p < 3 || p[1] != '.' || p[2] != '.')
            return fail(lx, p, "Unexpected \".\", expected \"...\".");
        tok->kind = GQL_TOK_SPREAD;
        tok->text.len = 3;
        lx->pos = p + 3;
        return 0;
    }
    if (is_name_start(*p)) {
        const char *q = p + 1;
        while (q < lx->end && (is_name_start(*q) || is_digit(*q)))
            q++;
        tok->kind = GQL_TOK_NAME;
        tok->text.len = (size_t)(q - p);
        lx->pos = q;
        return 0;
    }
    if (*p == '-' || is_digit(*p))
        return lex_number(lx, tok);
    if (*p == '"') {
        if (lx->end - p >= 3 && p[1] == '"' && p[2] == '"')
            return lex_block_string(lx, tok);
        return lex_string(lx, tok);
    }
    int len;
    long cp = utf8_decode(p, lx->end, &len);
    if (cp < 0)
        return fail(lx, p, "Invalid UTF-8.");
    if (cp >= 0x20 && cp < 0x7F)
        return fail(lx, p, "Unexpected character \"%c\".", (int)cp);
    return fail(lx, p, "Unexpected character U+%04lX.", cp);
}

const char *gql_token_describe(const gql_token *tok, char *buf, size_t size)
{
    static const char *names[] = {"<EOF>", "\"!\"", "\"$\"", "\"&\"", "\"(\"", "\")\"", "\"...\"", "\":\"",
                                  "\"=\"", "\"@\"", "\"[\"", "\"]\"", "\"{\"", "\"|\"", "\"}\""};
    if (tok->kind < GQL_TOK_NAME)
        return names[tok->kind];
    const char *what = tok->kind == GQL_TOK_NAME    ? "Name"
                       : tok->kind == GQL_TOK_INT   ? "Int"
                       : tok->kind == GQL_TOK_FLOAT ? "Float"
                                                    : "String";
    if (tok->kind >= GQL_TOK_STRING)
        return what;
    snprintf(buf, size, "%s \"%.*s\"", what, tok->text.len > 40 ? 40 : (int)tok->text.len, tok->text.ptr);
    return buf;
}
