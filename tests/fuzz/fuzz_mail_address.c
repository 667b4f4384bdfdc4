/* E-mail addresses and mailboxes (common/base/mail_address.c) on arbitrary bytes. What passes is
 * safe to put on the wire as it is: the ASCII form holds exactly one '@' and only printable ASCII
 * without space, '<', '>', ',', ';' or '"'; the text form no control character; a display name no
 * control character. */
#include "fuzz_input.h"
#include "mail_address.h"
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
    free(in);
    return 0;
}
