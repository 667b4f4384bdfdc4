/* The e-mails masd sends, rendered from the compiled templates of services/worker/templates/
 * (common/html/template.h; every English string in strings/en.json, as masd-human's pages): for
 * each e-mail NAME, NAME.subject.txt, NAME.txt (the text/plain part) and NAME.html (the text/html
 * part), from one set of data:
 *
 *   verification  {username (may be absent), code, server_name}
 *                 MAS: templates/emails/verification.*, the send-email-authentication-code job
 *   recovery      {username, mxid, recovery_link, server_name}
 *                 MAS: templates/emails/recovery.*, the send-account-recovery-email job */
#pragma once
#include <jansson.h>

#define EMAIL_PART_MAX (64 * 1024) /* each rendered part */

struct email_content {
    char *subject; /* one line, surrounding whitespace trimmed */
    char *text, *html;
};

/* Renders e-mail `name` in `lang` (a BCP 47 tag; English when there is no such catalogue) with
 * data (lang is added to it). Returns 0, -ENOENT for an unknown e-mail, -E2BIG, -ENOMEM. */
int email_render(const char *name, const char *lang, json_t *data, struct email_content *out);
void email_content_free(struct email_content *c);
