/* E-mail addresses and mailboxes: the one parser for every address masd is handed (email.from and
 * email.reply_to in the configuration, the address a person types) and the one place that says
 * which addresses masd will ever put on the wire (docs/architecture.md §5, "E-mail").
 *
 * An address is an RFC 5321 path without quoting: a local part of ASCII atext characters and
 * single dots (RFC 5322 dot-atom; MAS, through lettre, takes the WHATWG rule, which also allows
 * leading, trailing and doubled dots — addresses an SMTP server need not accept), "@", and a
 * domain: host-name labels (one label is enough: MAS's default sender is root@localhost), an
 * internationalised domain (UTF-8, converted to A-labels by libidn2 with IDNA2008/UTS #46 rules,
 * so the envelope and the headers stay ASCII), or an address literal ([192.0.2.1],
 * [IPv6:2001:db8::1]). No whitespace, no control character, no quoted local part, no comment:
 * whatever passes can stand in an SMTP command, a header and an argument vector as it is. */
#pragma once
#include "str.h"

#define MAIL_LOCAL_MAX   64  /* RFC 5321 §4.5.3.1.1 */
#define MAIL_DOMAIN_MAX  253 /* the ASCII form: RFC 1035 */
#define MAIL_ADDRESS_MAX 320 /* as written, UTF-8 bytes (STORAGE_EMAIL_MAX) */
#define MAIL_ASCII_MAX   (MAIL_LOCAL_MAX + 1 + MAIL_DOMAIN_MAX)
#define MAIL_NAME_MAX    256 /* a display name, UTF-8 bytes */

struct mail_address {
    char text[MAIL_ADDRESS_MAX + 1]; /* as written */
    char ascii[MAIL_ASCII_MAX + 1];  /* the domain in A-labels: for envelopes and headers */
    size_t local_len;                /* the local part is text[0 .. local_len) */
};

/* A display name and an address: `"Name" <user@example.com>`, `Name <user@example.com>`,
 * `<user@example.com>` or `user@example.com` (RFC 5322 §3.4 name-addr or addr-spec; the name a
 * quoted string or a phrase of words, UTF-8 allowed in both). */
struct mail_mailbox {
    char name[MAIL_NAME_MAX + 1]; /* unquoted; "" when none */
    struct mail_address addr;
};

/* Parses an address. Returns 0, or -EINVAL with *why (may be NULL) set to a static message that
 * says what is wrong, for the person or operator who wrote it. */
int mail_address_parse(masd_str s, struct mail_address *out, const char **why);

/* Parses a mailbox; surrounding spaces are ignored. Returns 0 or -EINVAL with *why (may be NULL). */
int mail_mailbox_parse(masd_str s, struct mail_mailbox *out, const char **why);

/* An SMTP server's host (email.hostname): ASCII host-name labels, or an IPv4 or IPv6 address
 * without brackets. Returns 0 or -EINVAL with *why (may be NULL). */
int mail_host_check(masd_str s, const char **why);
