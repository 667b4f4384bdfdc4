/* E-mail addresses and mailboxes (common/base/mail_address.c) on arbitrary bytes, and messages
 * composed with them (common/mail/message.c). What passes is safe to put on the wire as it is:
 * the ASCII form holds exactly one '@' and only printable ASCII without space, '<', '>', ',', ';'
 * or '"'; the text form no control character; a display name no control character. A message
 * with that mailbox in From and To and the input as its subject and bodies has exactly its own
 * header lines (a continuation starts with a space), every line ends in CRLF, and none is longer
 * than 998 characters (RFC 5322 §2.1.1). */
#include "fuzz_input.h"
#include "mail_address.h"
#include "message.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_address(const struct mail_address *a)
{
    size_t ats = 0;
    for (const char *p = a->ascii; *p; p++) {
        unsigned char c = (unsigned char)*p;
        fuzz_require(c > 0x20 && c < 0x7f && !strchr("<>,;\"\\()", c));
        ats += c == '@';
    }
    fuzz_require(ats == 1);
    for (const char *p = a->text; *p; p++)
        fuzz_require((unsigned char)*p > 0x20 && *p != 0x7f);
    fuzz_require(a->local_len > 0 && a->local_len <= MAIL_LOCAL_MAX && a->text[a->local_len] == '@');
}

static void check_message(const struct mail_mailbox *m, const char *in, size_t size)
{
    char *text = strndup(in, size); /* up to a NUL, if any */
    struct mail_message msg = {m, m, m, text, text, text, 1700000000000LL};
    char *out = NULL;
    size_t len = 0;
    int r = mail_compose(&msg, &out, &len);
    fuzz_require(r == 0 || r == -EINVAL || r == -E2BIG);
    if (r < 0) {
        free(text);
        return;
    }
    static const char *const names[] = {"Date:",         "From:",         "Reply-To:",
                                        "To:",           "Subject:",      "Message-ID:",
                                        "MIME-Version:", "Content-Type:", "Content-Transfer-Encoding:"};
    size_t headers = 0, col = 0;
    bool in_headers = true, line_start = true;
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '\r') {
            fuzz_require(i + 1 < len && out[i + 1] == '\n');
            if (line_start)
                in_headers = false;
            i++, col = 0, line_start = true;
            continue;
        }
        fuzz_require(out[i] != '\n' && out[i] != '\0' && ++col <= 998);
        if (line_start && in_headers && out[i] != ' ') {
            size_t k = 0;
            while (k < sizeof(names) / sizeof(names[0]) && strncmp(out + i, names[k], strlen(names[k])) != 0)
                k++;
            fuzz_require(k < sizeof(names) / sizeof(names[0]));
            headers++;
        }
        line_start = false;
    }
    fuzz_require(headers == 8); /* Date From Reply-To To Subject Message-ID MIME-Version Content-Type */
    free(out);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy((masd_str){(const char *)data, size});
    struct mail_address a;
    const char *why = NULL;
    if (mail_address_parse((masd_str){in, size}, &a, &why) == 0) {
        fuzz_require(strlen(a.text) == size);
        check_address(&a);
    } else {
        fuzz_require(why != NULL);
    }
    struct mail_mailbox m;
    why = NULL;
    if (mail_mailbox_parse((masd_str){in, size}, &m, &why) == 0) {
        check_address(&m.addr);
        for (const char *p = m.name; *p; p++)
            fuzz_require((unsigned char)*p >= 0x20 && *p != 0x7f);
    } else {
        fuzz_require(why != NULL);
    }
    mail_host_check((masd_str){in, size}, NULL);
    if (mail_mailbox_parse((masd_str){in, size}, &m, NULL) == 0 ||
        mail_mailbox_parse(MASD_STR("a@b.c"), &m, NULL) == 0)
        check_message(&m, in, size);
    free(in);
    return 0;
}
