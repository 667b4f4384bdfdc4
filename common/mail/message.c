/* Composing an e-mail (message.h). */
#include "message.h"
#include "base64.h"
#include "random.h"
#include "ulid.h"
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#define LINE_MAX_COLS 78 /* RFC 5322 §2.1.1 */
#define QP_COLS       76 /* RFC 2045 §6.7 (5): the "=" of a soft break included */
#define WORD_BYTES    39 /* UTF-8 bytes per encoded word: 52 base64 characters, 64 in all */
#define B64_COLS      76 /* RFC 2045 §6.8 */
#define BODY_MAX      (MAIL_MESSAGE_MAX / 3)

/* A growing buffer; a failure (memory, the ceiling) sticks and is reported once at the end. */
struct mbuf {
    char *p;
    size_t len, cap, col; /* col: characters on the current line */
    int error;
};

static void put(struct mbuf *b, const char *s, size_t n)
{
    if (b->error || n == 0)
        return;
    if (n > MAIL_MESSAGE_MAX - b->len) {
        b->error = -E2BIG;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->error = -ENOMEM;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    for (size_t i = 0; i < n; i++)
        b->col = s[i] == '\n' ? 0 : b->col + 1;
}

static void puts_(struct mbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct mbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        b->error = b->error ? b->error : -EINVAL;
    else
        put(b, tmp, (size_t)n);
}

/* ---- headers ------------------------------------------------------------------------------- */

/* Folds before a token of n characters that would not fit on the line (RFC 5322 §2.2.3). */
static void fold_for(struct mbuf *b, size_t n)
{
    if (b->col + 1 + n > LINE_MAX_COLS && b->col > 1)
        puts_(b, "\r\n ");
    else
        puts_(b, " ");
}

/* RFC 2047 encoded words ("B" encoding, UTF-8), cut only between characters; the whitespace
 * between two encoded words is not part of the text (RFC 2047 §6.2). */
static void put_encoded_words(struct mbuf *b, const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < len;) {
        size_t n = 0;
        while (i + n < len) {
            ucs4_t uc;
            int m = u8_mbtouc(&uc, u + i + n, len - i - n);
            if (n + (size_t)m > WORD_BYTES)
                break;
            n += (size_t)m;
        }
        char *b64 = base64_encode(u + i, n);
        if (!b64) {
            b->error = -ENOMEM;
            return;
        }
        fold_for(b, strlen(b64) + 12);
        putf(b, "=?UTF-8?B?%s?=", b64);
        free(b64);
        i += n;
    }
}

static bool needs_encoding(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0x7f || *p < 0x20)
            return true;
    return false;
}

/* An RFC 5322 phrase of atoms: atext words separated by single spaces. */
static bool is_atom_phrase(const char *s)
{
    if (!*s || *s == ' ')
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool atext = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     strchr("!#$%&'*+-/=?^_`{|}~", c);
        if (c == ' ' ? (p[1] == ' ' || !p[1]) : !atext)
            return false;
    }
    return true;
}

static void put_mailbox(struct mbuf *b, const struct mail_mailbox *m)
{
    const char *addr = m->addr.ascii;
    if (!m->name[0]) {
        fold_for(b, strlen(addr));
        puts_(b, addr);
        return;
    }
    if (needs_encoding(m->name)) {
        put_encoded_words(b, m->name, strlen(m->name));
    } else if (is_atom_phrase(m->name)) {
        fold_for(b, strlen(m->name));
        puts_(b, m->name);
    } else { /* a quoted string, '"' and '\' escaped */
        char q[2 * MAIL_NAME_MAX + 3];
        size_t o = 0;
        q[o++] = '"';
        for (const char *p = m->name; *p; p++) {
            if (*p == '"' || *p == '\\')
                q[o++] = '\\';
            q[o++] = *p;
        }
        q[o++] = '"';
        fold_for(b, o);
        put(b, q, o);
    }
    fold_for(b, strlen(addr) + 2);
    putf(b, "<%s>", addr);
}

static void put_header_mailbox(struct mbuf *b, const char *name, const struct mail_mailbox *m)
{
    putf(b, "%s:", name);
    put_mailbox(b, m);
    puts_(b, "\r\n");
}

static void put_date(struct mbuf *b, int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        b->error = -EINVAL;
        return;
    }
    putf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_subject(struct mbuf *b, const char *subject)
{
    puts_(b, "Subject:");
    size_t len = strlen(subject);
    if (!needs_encoding(subject) && len + 9 <= LINE_MAX_COLS && subject[0] != ' ' && !strstr(subject, "=?")) {
        puts_(b, " ");
        put(b, subject, len);
    } else {
        put_encoded_words(b, subject, len);
    }
    puts_(b, "\r\n");
}

/* ---- bodies -------------------------------------------------------------------------------- */

static void put_qp_line(struct mbuf *b, const char *line, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)line[k];
        bool plain = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && k + 1 < n);
        /* at the start of an encoded line: a '.' (SMTP) and "From " (mbox) are encoded too */
        bool start = plain && (c == '.' || (c == 'F' && n - k >= 5 && memcmp(line + k, "From ", 5) == 0));
        bool lit = plain && !(start && col == 0);
        if (col + (lit ? 1 : 3) > QP_COLS - 1) { /* a soft line break: room for its "=" */
            puts_(b, "=\r\n");
            col = 0;
            lit = plain && !start;
        }
        if (lit) {
            put(b, (const char *)&c, 1);
            col++;
        } else {
            char e[3] = {'=', hex[c >> 4], hex[c & 15]};
            put(b, e, 3);
            col += 3;
        }
    }
}

/* Line by line (a line ends at CRLF, LF or a lone CR), each encoded line ending in CRLF. */
static void put_qp(struct mbuf *b, const char *s, size_t len)
{
    for (size_t i = 0;;) {
        size_t start = i;
        while (i < len && s[i] != '\r' && s[i] != '\n')
            i++;
        put_qp_line(b, s + start, i - start);
        if (i == len)
            break;
        i += s[i] == '\r' && i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
        puts_(b, "\r\n");
    }
}

char *mail_quoted_printable(const char *s, size_t len)
{
    struct mbuf b = {0};
    put_qp(&b, s, len);
    if (b.error) {
        free(b.p);
        return NULL;
    }
    return b.p ? b.p : strdup("");
}

static void put_base64(struct mbuf *b, const char *s, size_t len)
{
    char *enc = base64_encode((const unsigned char *)s, len);
    if (!enc) {
        b->error = -ENOMEM;
        return;
    }
    size_t n = strlen(enc);
    for (size_t i = 0; i < n; i += B64_COLS) {
        if (i)
            puts_(b, "\r\n");
        put(b, enc + i, n - i < B64_COLS ? n - i : B64_COLS);
    }
    free(enc);
}

/* One part's headers and body: quoted-printable unless most of the text would be escaped
 * (scripts other than Latin), then base64. */
static void put_part(struct mbuf *b, const char *type, const char *s)
{
    size_t len = strlen(s), escaped = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        escaped += c >= 0x7f || c == '=' || (c < 0x20 && c != '\r' && c != '\n' && c != '\t');
    }
    bool qp = escaped * 2 <= len / 3;
    putf(b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n\r\n", type,
         qp ? "quoted-printable" : "base64");
    if (qp)
        put_qp(b, s, len);
    else
        put_base64(b, s, len);
}

/* ---- the message --------------------------------------------------------------------------- */

static int check_text(const char *s, bool header)
{
    if (!s)
        return -EINVAL;
    size_t len = strlen(s);
    if (len > BODY_MAX)
        return -E2BIG;
    if (u8_check((const uint8_t *)s, len))
        return -EINVAL;
    for (size_t i = 0; header && i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -EINVAL;
    return 0;
}

char *mail_format_mailbox(const struct mail_mailbox *m)
{
    struct mbuf b = {.col = 0};
    put_mailbox(&b, m);
    if (b.error) {
        free(b.p);
        return NULL;
    }
    char *out = b.p ? strdup(b.p + 1) : NULL; /* without the separating space */
    free(b.p);
    return out;
}

int mail_compose(const struct mail_message *m, char **out, size_t *len)
{
    *out = NULL, *len = 0;
    int r = check_text(m->subject, true);
    if (r >= 0)
        r = check_text(m->text, false);
    if (r >= 0 && m->html)
        r = check_text(m->html, false);
    if (r < 0)
        return r;
    char boundary[7 + 24 + 1] = "=_masd_", id[ULID_LEN + 1];
    if (random_hex(boundary + 7, 12) < 0)
        return -EIO;
    ulid_generate(id);
    const char *domain = strrchr(m->from->addr.ascii, '@') + 1;

    struct mbuf b = {0};
    put_date(&b, m->date_ms);
    put_header_mailbox(&b, "From", m->from);
    if (m->reply_to)
        put_header_mailbox(&b, "Reply-To", m->reply_to);
    put_header_mailbox(&b, "To", m->to);
    put_subject(&b, m->subject);
    putf(&b, "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n", id, domain);
    if (!m->html) {
        put_part(&b, "text/plain", m->text);
        puts_(&b, "\r\n");
    } else {
        putf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n", boundary);
        putf(&b, "--%s\r\n", boundary);
        put_part(&b, "text/plain", m->text);
        putf(&b, "\r\n--%s\r\n", boundary);
        put_part(&b, "text/html", m->html);
        putf(&b, "\r\n--%s--\r\n", boundary);
    }
    if (b.error) {
        free(b.p);
        return b.error;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
