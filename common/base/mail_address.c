/* E-mail addresses and mailboxes (mail_address.h). */
#include "mail_address.h"
#include "addr.h"
#include <errno.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

static int refuse(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -EINVAL;
}

/* RFC 5322 §3.2.3 atext, ASCII only. */
static bool is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int check_local(masd_str l, const char **why)
{
    if (l.len == 0)
        return refuse(why, "the part before the @ is empty");
    if (l.len > MAIL_LOCAL_MAX)
        return refuse(why, "the part before the @ is longer than 64 characters");
    for (size_t i = 0; i < l.len; i++) {
        unsigned char c = (unsigned char)l.ptr[i];
        if (c == '.' && (i == 0 || i + 1 == l.len || l.ptr[i - 1] == '.'))
            return refuse(why, "a dot at the start or end of the part before the @, or two in a row");
        if (c != '.' && !is_atext(c))
            return refuse(why, "a character that is not allowed before the @ (letters, digits and "
                               "!#$%&'*+-/=?^_`{|}~. are)");
    }
    return 0;
}

/* Host-name labels (RFC 1123 §2.1): letters, digits, hyphens inside, 1 to 63 each. */
static int check_hostname(const char *d, size_t len, const char **why)
{
    if (len == 0)
        return refuse(why, "the domain is empty");
    if (len > MAIL_DOMAIN_MAX)
        return refuse(why, "the domain is longer than 253 characters");
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? d[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63)
                return refuse(why, "an empty domain label, or one longer than 63 characters");
            if (d[i - 1] == '-' || d[i - label] == '-')
                return refuse(why, "a domain label that starts or ends with a hyphen");
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
            label++;
        } else {
            return refuse(why, "a character that is not allowed in a domain");
        }
    }
    return 0;
}

/* [192.0.2.1] or [IPv6:2001:db8::1] (RFC 5321 §4.1.3). */
static int check_literal(masd_str d, const char **why)
{
    masd_str in = {d.ptr + 1, d.len - 2};
    struct masd_addr a;
    int family = AF_INET;
    if (in.len > 5 && strncasecmp(in.ptr, "IPv6:", 5) == 0)
        in.ptr += 5, in.len -= 5, family = AF_INET6;
    if (d.ptr[d.len - 1] != ']' || addr_parse(in, &a) < 0 ||
        (family == AF_INET6) != (memchr(in.ptr, ':', in.len) != NULL))
        return refuse(why, "an address literal that is not [IPv4] or [IPv6:address]");
    return 0;
}

int mail_address_parse(masd_str s, struct mail_address *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (s.len == 0)
        return refuse(why, "the address is empty");
    if (s.len > MAIL_ADDRESS_MAX)
        return refuse(why, "the address is longer than 320 characters");
    if (memchr(s.ptr, '\0', s.len) || u8_check((const uint8_t *)s.ptr, s.len))
        return refuse(why, "the address is not UTF-8 text");
    const char *at = NULL;
    for (size_t i = s.len; i-- > 0 && !at;)
        if (s.ptr[i] == '@')
            at = s.ptr + i;
    if (!at)
        return refuse(why, "an address needs an @");
    masd_str local = {s.ptr, (size_t)(at - s.ptr)}, domain = {at + 1, s.len - local.len - 1};
    int r = check_local(local, why);
    if (r < 0)
        return r;
    char dom[MAIL_ADDRESS_MAX + 1], *ascii = NULL;
    memcpy(dom, domain.ptr, domain.len);
    dom[domain.len] = '\0';
    bool plain = true;
    for (size_t i = 0; i < domain.len; i++)
        plain = plain && (unsigned char)dom[i] < 0x80;
    if (domain.len > 1 && dom[0] == '[') {
        r = check_literal(domain, why);
    } else if (plain) {
        r = check_hostname(dom, domain.len, why);
    } else if (idn2_to_ascii_8z(dom, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
        r = refuse(why, "the domain is not a valid internationalised domain name");
    } else {
        r = check_hostname(ascii, strlen(ascii), why);
    }
    if (r >= 0 && snprintf(out->ascii, sizeof(out->ascii), "%.*s@%s", (int)local.len, local.ptr,
                           ascii ? ascii : dom) >= (int)sizeof(out->ascii))
        r = refuse(why, "the domain is longer than 253 characters"); /* a literal of that length */
    if (r >= 0) {
        memcpy(out->text, s.ptr, s.len);
        out->local_len = local.len;
    } else {
        out->ascii[0] = '\0';
    }
    idn2_free(ascii);
    return r;
}

/* A quoted string (RFC 5322 §3.2.4) without its quotes and escapes; UTF-8 allowed (RFC 6532). */
static int unquote(masd_str q, char *out, const char **why)
{
    size_t o = 0;
    for (size_t i = 1; i + 1 < q.len; i++) {
        char c = q.ptr[i];
        if (c == '"')
            return refuse(why, "a quote inside the display name: escape it as \\\"");
        if (c == '\\' && (++i + 1 >= q.len))
            return refuse(why, "a backslash at the end of the display name");
        out[o++] = q.ptr[i];
    }
    out[o] = '\0';
    return 0;
}

/* A phrase: words of atext, dots and UTF-8, separated by spaces (RFC 5322 §3.2.5, obs-phrase's
 * dots as in "J. Doe"). Kept as written. */
static int check_phrase(masd_str p, char *out, const char **why)
{
    for (size_t i = 0; i < p.len; i++) {
        unsigned char c = (unsigned char)p.ptr[i];
        if (c < 0x80 && c != ' ' && c != '.' && !is_atext(c))
            return refuse(why, "a character in the display name that needs quoting: write it as "
                               "\"Name\" <user@example.com>");
    }
    memcpy(out, p.ptr, p.len);
    out[p.len] = '\0';
    return 0;
}

int mail_mailbox_parse(masd_str s, struct mail_mailbox *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    s = masd_str_trim(s);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == 0x7f)
            return refuse(why, "a control character (a line break, a tab) in the address");
    }
    if (u8_check((const uint8_t *)s.ptr, s.len))
        return refuse(why, "the address is not UTF-8 text");
    if (s.len == 0 || s.ptr[s.len - 1] != '>')
        return mail_address_parse(s, &out->addr, why);
    /* name-addr: the '<' that opens the address is the last one outside a quoted string */
    const char *open = NULL;
    bool quoted = false;
    for (size_t i = 0; i < s.len; i++) {
        if (quoted && s.ptr[i] == '\\')
            i++;
        else if (s.ptr[i] == '"')
            quoted = !quoted;
        else if (!quoted && s.ptr[i] == '<')
            open = s.ptr + i;
    }
    if (!open)
        return refuse(why, "a '>' without its '<'");
    masd_str name = masd_str_trim((masd_str){s.ptr, (size_t)(open - s.ptr)});
    masd_str addr = {open + 1, (size_t)(s.ptr + s.len - 1 - (open + 1))};
    if (name.len > MAIL_NAME_MAX)
        return refuse(why, "the display name is longer than 256 characters");
    int r = 0;
    if (name.len >= 2 && name.ptr[0] == '"' && name.ptr[name.len - 1] == '"')
        r = unquote(name, out->name, why);
    else if (name.len && (name.ptr[0] == '"' || name.ptr[name.len - 1] == '"'))
        r = refuse(why, "an unterminated quote in the display name");
    else
        r = check_phrase(name, out->name, why);
    if (r >= 0)
        r = mail_address_parse(addr, &out->addr, why);
    return r;
}

int mail_host_check(masd_str s, const char **why)
{
    struct masd_addr a;
    if (addr_parse(s, &a) == 0)
        return 0;
    char host[MAIL_DOMAIN_MAX + 1];
    if (s.len > MAIL_DOMAIN_MAX)
        return refuse(why, "the host name is longer than 253 characters");
    memcpy(host, s.ptr, s.len);
    host[s.len] = '\0';
    return check_hostname(host, s.len, why);
}
