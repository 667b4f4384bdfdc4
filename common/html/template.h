/* HTML templates, compiled into the binary at build time (tmplc.py), rendered from JSON data.
 *
 * The language, in full:
 *
 *   {{ a.b }}          the value at a.b of the data (an object), escaped for where it stands
 *   {{ a.b | safe }}   the value as it is, for HTML that was built and escaped already (text only)
 *   {% t "key" %}      a string of the language's catalogue; "{a.b}" in it is a value, escaped
 *   {% if a %}, {% if not a %}, {% elif b %}, {% else %}, {% endif %}
 *   {% for x in a %} … {% endfor %}     x is each element of the array a; inside, x.y reads it
 *   {% include "f.html" %}, {# a comment #}
 *
 * Escaping is decided by the compiler from the HTML around each value, never by the caller:
 *   TEXT      element text (and <title>, <textarea>): & < > " ' as character references
 *   ATTR      a quoted attribute value: the same
 *   URL       a whole URL attribute (href, src, action, …): a relative URL or an http, https or
 *             mailto one, otherwise "about:invalid#masd"; then as ATTR
 *   URL_PART  a value inside a URL attribute after other text: percent-encoded (RFC 3986
 *             unreserved characters kept), so it cannot end the path or add a parameter
 *   SAFE      `| safe`: no escaping
 *   PLAIN     every value of a plain-text template (.txt: an e-mail's text part, its subject) as
 *             it is, but control characters, line breaks included, written as U+FFFD: a value
 *             cannot add a line
 * A value in a script or style, an unquoted attribute, an event-handler or style attribute, a
 * comment or a tag name does not compile. Invalid UTF-8 in a value is written as U+FFFD.
 *
 * Truth: a missing value, null, false, 0, "" and [] are false. A missing value renders as "".
 * Numbers render in decimal, true and false as words. Objects and arrays render as "". */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tmpl_op_kind {
    TMPL_TEXT,   /* write s (len bytes) */
    TMPL_VAR,    /* write the value at path s, escaped for ctx */
    TMPL_IF,     /* when the value at s is false (true when negate), go to target */
    TMPL_JUMP,   /* go to target */
    TMPL_NOP,    /* the end of an if */
    TMPL_FOR,    /* loop over the array at s as `name`; when empty or done, go past target */
    TMPL_ENDFOR, /* back to the FOR at target */
};

enum tmpl_ctx {
    TMPL_CTX_TEXT,
    TMPL_CTX_ATTR,
    TMPL_CTX_URL,
    TMPL_CTX_URL_PART,
    TMPL_CTX_SAFE,
    TMPL_CTX_PLAIN
};

struct tmpl_op {
    uint8_t kind;
    uint8_t arg;     /* VAR: enum tmpl_ctx; IF: negate */
    uint32_t target; /* IF, JUMP, FOR, ENDFOR */
    const char *s;   /* TEXT: the text; VAR, IF, FOR: the path */
    size_t len;
    const char *name; /* FOR: the loop variable */
};

struct template
{
    const char *name; /* "login.html" */
    const char *lang; /* "en" */
    const struct tmpl_op *ops;
    size_t n_ops;
};

/* A growing output buffer with a ceiling: a render never takes more than `max` bytes. */
struct html_buf {
    char *ptr;
    size_t len, cap, max;
    bool overflow; /* something did not fit under max (or memory ran out) */
};

void html_buf_init(struct html_buf *b, size_t max);
void html_buf_free(struct html_buf *b);
void html_buf_put(struct html_buf *b, const char *s, size_t len);

/* The escapes, one per context (see above). */
void html_put_text(struct html_buf *b, const char *s, size_t len); /* TEXT and ATTR alike */
void html_put_url(struct html_buf *b, const char *s, size_t len);
void html_put_url_part(struct html_buf *b, const char *s, size_t len);
void text_put_plain(struct html_buf *b, const char *s, size_t len); /* PLAIN */

/* The template of that name and language in a NULL-terminated table (the compiler's
 * <prefix>_templates), or the same name in "en", or NULL. */
const struct template *template_find(const struct template *table, const char *name, const char *lang);

/* Renders t with `data` (a JSON object, may be NULL) into b. Returns 0, or -E2BIG when the
 * output would pass b->max or memory ran out (b then holds a truncated page: do not send it),
 * -ELOOP when loops nest deeper than TEMPLATE_MAX_DEPTH. */
#define TEMPLATE_MAX_DEPTH 16
int template_render(const struct template *t, json_t *data, struct html_buf *b);
