/* Composing an e-mail (docs/architecture.md §5, "E-mail"): RFC 5322 headers, MIME (RFC 2045,
 * 2046) multipart/alternative with a text/plain and a text/html part in UTF-8, each body
 * quoted-printable or base64 (whichever is shorter), RFC 2047 encoded words for a subject or a
 * display name that is not plain ASCII, Date and Message-ID. Lines end in CRLF and stay within
 * 78 characters, except a long ASCII display name (quoted, at most ~270).
 *
 * Header injection cannot happen: the mailboxes come from mail_mailbox_parse() (no control
 * character, an address that needs no quoting), a display name is quoted or encoded, the subject
 * is refused if it holds a control character and is otherwise written as it is (plain ASCII) or
 * as encoded words, and the bodies are encoded, so no byte of theirs can end the headers or a
 * part. */
#pragma once
#include "mail_address.h"
#include <stddef.h>
#include <stdint.h>

#define MAIL_MESSAGE_MAX (1u << 20) /* a composed message; a body is at most a third of it */

struct mail_message {
    const struct mail_mailbox *from, *reply_to, *to; /* reply_to may be NULL */
    const char *subject;                             /* UTF-8, no control character */
    const char *text;                                /* the text/plain part, UTF-8 */
    const char *html;                                /* the text/html part, UTF-8; NULL: text only */
    int64_t date_ms;                                 /* the Date header (masd_now()) */
};

/* The whole message in *out (malloc'd, NUL-terminated), its length in *len. Returns 0, -EINVAL
 * when the subject holds a control character or a text is not UTF-8, -E2BIG past
 * MAIL_MESSAGE_MAX, -ENOMEM. */
int mail_compose(const struct mail_message *m, char **out, size_t *len);

/* The pieces, for the tests: a mailbox as a header writes it (name quoted or encoded), and a
 * body as quoted-printable (RFC 2045 §6.7; CRLF line ends, lines of at most 76 characters, a
 * line's leading '.' or "From " encoded too). Both malloc'd; NULL when out of memory. */
char *mail_format_mailbox(const struct mail_mailbox *m);
char *mail_quoted_printable(const char *s, size_t len);
