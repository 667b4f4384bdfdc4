/* E-mail addresses and mailboxes (common/base/mail_address.c): what passes, its ASCII form for the
 * wire, and every way an address could smuggle a header, an SMTP command or an option. */
#include "check.h"
#include "mail_address.h"
#include <errno.h>
#include <stdlib.h>

static int parse(const char *s, struct mail_address *a)
{
    const char *why = NULL;
    int r = mail_address_parse(masd_str_from(s), a, &why);
    CHECK(r == 0 || why != NULL);
    return r;
}

static void good(const char *s, const char *ascii)
{
    struct mail_address a;
    int r = parse(s, &a);
    if (r < 0)
        fprintf(stderr, "refused: %s\n", s);
    CHECK_INT(r, 0);
    CHECK_STR(a.text, s);
    CHECK_STR(a.ascii, ascii);
}

static void bad(const char *s)
{
    struct mail_address a;
    int r = parse(s, &a);
    if (r != -EINVAL)
        fprintf(stderr, "accepted: %s\n", s);
    CHECK_INT(r, -EINVAL);
}

static void test_addresses(void)
{
    good("alice@example.com", "alice@example.com");
    good("root@localhost", "root@localhost"); /* MAS's default sender: one label */
    good("Alice.Smith+tag@Mail.Example.COM", "Alice.Smith+tag@Mail.Example.COM");
    good("!#$%&'*+-/=?^_`{|}~@x.org", "!#$%&'*+-/=?^_`{|}~@x.org");
    good("a@b-c.d", "a@b-c.d");
    good("a@[192.0.2.1]", "a@[192.0.2.1]");
    good("a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]");
    /* internationalised domains go on the wire as A-labels */
    good("anna@bücher.example", "anna@xn--bcher-kva.example");
    good("x@ПРИМЕР.рф", "x@xn--e1afmkfd.xn--p1ai");
    good("x@faß.de", "x@xn--fa-hia.de"); /* IDNA2008, not the transitional ss */
    struct mail_address a;
    CHECK_INT(parse("first.last@example.com", &a), 0);
    CHECK_INT(a.local_len, 10);

    char local[80], domain[300];
    memset(local, 'a', 64);
    local[64] = '\0';
    char s[400];
    snprintf(s, sizeof(s), "%s@x.org", local);
    good(s, s);
    snprintf(s, sizeof(s), "a%s@x.org", local); /* 65 */
    bad(s);
    memset(domain, 0, sizeof(domain));
    for (int i = 0; i < 4; i++)
        memset(domain + i * 64, 'd', 63), domain[i * 64 + 63] = '.';
    domain[4 * 64 - 1] = '\0'; /* 255 characters */
    snprintf(s, sizeof(s), "a@%s", domain);
    bad(s);
    domain[4 * 64 - 3] = '\0'; /* 253 */
    snprintf(s, sizeof(s), "a@%s", domain);
    good(s, s);
    memset(domain, 'd', 64);
    domain[64] = '\0';
    snprintf(s, sizeof(s), "a@%s.org", domain); /* a label of 64 */
    bad(s);
}

static void test_refused(void)
{
    bad("");
    bad("alice");
    bad("@example.com");
    bad("alice@");
    bad("alice@@example.com");
    bad("alice@exa mple.com");
    bad(" alice@example.com");
    bad("alice@example.com ");
    bad(".alice@example.com");
    bad("alice.@example.com");
    bad("al..ice@example.com");
    bad("\"al ice\"@example.com"); /* quoted local parts are not taken */
    bad("al(comment)ice@example.com");
    bad("alice@-example.com");
    bad("alice@example-.com");
    bad("alice@example..com");
    bad("alice@example.com.");
    bad("alice@.example.com");
    bad("alice@exa_mple.com");
    bad("alice@[300.1.1.1]");
    bad("alice@[2001:db8::1]"); /* IPv6 needs its tag */
    bad("alice@[IPv6:192.0.2.1]");
    bad("alice@[192.0.2.1");
    bad("alice@::1");
    bad("ålice@example.com"); /* a UTF-8 local part needs SMTPUTF8: not taken */
    bad("alice@exa\xffmple.com");
    bad("alice@xn--.com");
    bad("alice@\xe2\x80\x8b.com"); /* a zero-width space is no domain */
    /* header and SMTP injection */
    bad("alice@example.com\r\nBcc: eve@evil.example");
    bad("alice@example.com\nRCPT TO:<eve@evil.example>");
    bad("alice\r@example.com");
    bad("alice@example.com>\r\nDATA");
    bad("alice@example.com,eve@evil.example");
    bad("alice@example.com;eve@evil.example");
    bad("<alice@example.com>");
    bad("alice@exa\tmple.com");
    struct mail_address a;
    CHECK_INT(mail_address_parse((masd_str){"a\0@b.c", 6}, &a, NULL), -EINVAL);
    /* an option for sendmail: it stands after "--", but it is a valid address */
    good("-oQ/tmp@example.com", "-oQ/tmp@example.com");
}

static void mailbox(const char *s, int want, const char *name, const char *ascii)
{
    struct mail_mailbox m;
    const char *why = NULL;
    int r = mail_mailbox_parse(masd_str_from(s), &m, &why);
    if (r != want)
        fprintf(stderr, "mailbox %s: %d (%s)\n", s, r, why ? why : "");
    CHECK_INT(r, want);
    if (r == 0 && want == 0) {
        CHECK_STR(m.name, name);
        CHECK_STR(m.addr.ascii, ascii);
    }
}

static void test_mailboxes(void)
{
    mailbox("\"Authentication Service\" <root@localhost>", 0, "Authentication Service", "root@localhost");
    mailbox("The almighty auth service <auth@example.com>", 0, "The almighty auth service",
            "auth@example.com");
    mailbox("  <auth@example.com>  ", 0, "", "auth@example.com");
    mailbox("auth@example.com", 0, "", "auth@example.com");
    mailbox("J. Doe <j@example.com>", 0, "J. Doe", "j@example.com");
    mailbox("\"Doe, J. \\\"the one\\\"\" <j@example.com>", 0, "Doe, J. \"the one\"", "j@example.com");
    mailbox("\"a <b> c\" <j@example.com>", 0, "a <b> c", "j@example.com");
    mailbox("Jürgen Müller <jm@bücher.example>", 0, "Jürgen Müller", "jm@xn--bcher-kva.example");
    mailbox("Doe, J. <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("\"unterminated <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("\"a\"b\" <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("\"a\\\" <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("Name j@example.com>", -EINVAL, NULL, NULL);
    mailbox("Name <j@example.com", -EINVAL, NULL, NULL);
    mailbox("Name <j@example.com> x", -EINVAL, NULL, NULL);
    mailbox("Name <>", -EINVAL, NULL, NULL);
    mailbox("", -EINVAL, NULL, NULL);
    mailbox("\"Evil\r\nBcc: eve@evil.example\" <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("Evil\nBcc: eve@evil.example <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("Name <j@example.com>\r\n", -EINVAL, NULL, NULL);
    mailbox("Name <j@example.com\r\n>", -EINVAL, NULL, NULL);
    mailbox("<a@b.c> <j@example.com>", -EINVAL, NULL, NULL);
    mailbox("Bad \xc3 <j@example.com>", -EINVAL, NULL, NULL);
    char long_name[300];
    memset(long_name, 'n', 257);
    snprintf(long_name + 257, sizeof(long_name) - 257, " <j@x.org>");
    mailbox(long_name, -EINVAL, NULL, NULL);
}

int main(void)
{
    test_addresses();
    test_refused();
    test_mailboxes();
    return check_report("test_mail_address");
}
