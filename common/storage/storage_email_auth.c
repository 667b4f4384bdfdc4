/* E-mail authentications and their codes (storage.h; MAS: crates/storage-pg/src/user/email.rs),
 * and the job that mails a code, queued in the same transaction as the change that needs it. */
#include "mail_address.h"
#include "storage_internal.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_COLS "user_email_authentication_id, browser_session_id, email, created_at, completed_at"
#define CODE_COLS                                                                                            \
    "user_email_authentication_code_id, user_email_authentication_id, code, created_at, expires_at"

STORAGE_STMT(auth_insert,
             "INSERT INTO user_email_authentications (" AUTH_COLS ") VALUES ($1, $2, $3, $4, NULL)");
STORAGE_STMT(auth_by_id, "SELECT " AUTH_COLS " FROM user_email_authentications"
                         " WHERE user_email_authentication_id = $1");
STORAGE_STMT(auth_exists, "SELECT 1 FROM user_email_authentications WHERE user_email_authentication_id = $1");
STORAGE_STMT(auth_complete, "UPDATE user_email_authentications SET completed_at = $2"
                            " WHERE user_email_authentication_id = $1 AND completed_at IS NULL");
/* a second code equal to one the authentication has: nothing, and the caller draws again */
STORAGE_STMT(code_insert, "INSERT INTO user_email_authentication_codes (" CODE_COLS ")"
                          " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING");
STORAGE_STMT(code_find, "SELECT " CODE_COLS " FROM user_email_authentication_codes"
                        " WHERE user_email_authentication_id = $1 AND code = $2");
STORAGE_STMT(code_delete,
             "DELETE FROM user_email_authentication_codes WHERE user_email_authentication_code_id = $1");
STORAGE_STMT(purge_codes, "DELETE FROM user_email_authentication_codes WHERE user_email_authentication_id IN"
                          " (SELECT user_email_authentication_id FROM user_email_authentications"
                          " WHERE created_at < $1)");
STORAGE_STMT(purge_auths, "DELETE FROM user_email_authentications WHERE created_at < $1");

static int read_auth(struct sq *q, void *out)
{
    struct storage_email_authentication *a = out;
    sq_copy(q, 0, a->id, sizeof(a->id));
    sq_copy(q, 1, a->browser_session_id, sizeof(a->browser_session_id));
    sq_copy(q, 2, a->email, sizeof(a->email));
    a->created_at = sq_int(q, 3);
    a->completed_at = sq_int(q, 4);
    return 0;
}

static int read_code(struct sq *q, void *out)
{
    struct storage_email_authentication_code *c = out;
    sq_copy(q, 0, c->id, sizeof(c->id));
    sq_copy(q, 1, c->authentication_id, sizeof(c->authentication_id));
    sq_copy(q, 2, c->code, sizeof(c->code));
    c->created_at = sq_int(q, 3);
    c->expires_at = sq_int(q, 4);
    return 0;
}

/* MAS's SendEmailAuthenticationCodeJob: {"user_email_authentication_id", "language"}. */
static int queue_code(struct storage_tx *tx, const char *id, const char *language, int64_t now)
{
    json_t *p = json_pack("{s:s, s:s}", "user_email_authentication_id", id, "language", language);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text)
        return storage_fail(-ENOMEM, "out of memory");
    int r = storage_job_enqueue(tx, STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, text, 0, now, NULL);
    free(text);
    return r;
}

int storage_email_authentication_start(struct storage_tx *tx, const char *email,
                                       const char *browser_session_id, const char *language, int64_t now,
                                       struct storage_email_authentication *out)
{
    struct mail_address addr;
    const char *why = NULL;
    int r = storage_check_text("e-mail address", email, STORAGE_EMAIL_MAX, false);
    if (r >= 0 && mail_address_parse(masd_str_from(email), &addr, &why) < 0)
        r = storage_fail(-EINVAL, "not an e-mail address masd can send to: %s", why);
    if (r >= 0)
        r = storage_check_language(language);
    if (r < 0)
        return r;
    struct storage_email_authentication a = {.created_at = now};
    storage_new_id(a.id);
    snprintf(a.browser_session_id, sizeof(a.browser_session_id), "%s",
             browser_session_id ? browser_session_id : "");
    snprintf(a.email, sizeof(a.email), "%s", email);
    r = sq_exec(tx, &auth_insert, SQ_ARGS(P_TEXT(a.id), P_OPT(browser_session_id), P_TEXT(email), P_INT(now)),
                NULL);
    if (r == -ENOENT)
        return storage_fail(-ENOENT, "no such browser session: %s", browser_session_id);
    if (r >= 0)
        r = queue_code(tx, a.id, language, now);
    if (r >= 0 && out)
        *out = a;
    return r;
}

int storage_email_authentication_resend(struct storage_tx *tx, const char *id, const char *language,
                                        int64_t now)
{
    struct storage_email_authentication a;
    int r = storage_check_language(language);
    if (r >= 0)
        r = storage_email_authentication_get(tx, id, &a);
    if (r >= 0 && a.completed_at)
        r = storage_fail(-EALREADY, "e-mail authentication %s is completed", id);
    if (r >= 0)
        r = queue_code(tx, id, language, now);
    return r;
}

int storage_email_authentication_get(struct storage_tx *tx, const char *id,
                                     struct storage_email_authentication *out)
{
    int r = sq_one(tx, &auth_by_id, SQ_ARGS(P_TEXT(id)), read_auth, out);
    return r == -ENOENT ? storage_fail(-ENOENT, "no such e-mail authentication: %s", id) : r;
}

int storage_email_authentication_complete(struct storage_tx *tx, const char *id, int64_t now)
{
    return storage_cas(tx, &auth_complete, SQ_ARGS(P_TEXT(id), P_INT(now)), &auth_exists, id);
}

static bool six_digits(const char *code)
{
    return code && strlen(code) == 6 && strspn(code, "0123456789") == 6;
}

int storage_email_authentication_code_add(struct storage_tx *tx, const char *authentication_id,
                                          const char *code, int64_t now,
                                          struct storage_email_authentication_code *out)
{
    if (!six_digits(code))
        return storage_fail(-EINVAL, "an e-mail authentication code is six digits");
    struct storage_email_authentication_code c = {.created_at = now,
                                                  .expires_at = now + STORAGE_EMAIL_CODE_TTL_MS};
    storage_new_id(c.id);
    snprintf(c.authentication_id, sizeof(c.authentication_id), "%s", authentication_id);
    snprintf(c.code, sizeof(c.code), "%s", code);
    int64_t changes = 0;
    int r = sq_exec(
        tx, &code_insert,
        SQ_ARGS(P_TEXT(c.id), P_TEXT(authentication_id), P_TEXT(code), P_INT(now), P_INT(c.expires_at)),
        &changes);
    if (r == -ENOENT)
        return storage_fail(-ENOENT, "no such e-mail authentication: %s", authentication_id);
    if (r < 0)
        return r;
    if (!changes)
        return storage_fail(-EEXIST, "e-mail authentication %s has that code already", authentication_id);
    if (out)
        *out = c;
    return 0;
}

int storage_email_authentication_code_find(struct storage_tx *tx, const char *authentication_id,
                                           const char *code, struct storage_email_authentication_code *out)
{
    if (!six_digits(code))
        return storage_fail(-ENOENT, "no such code");
    int r = sq_one(tx, &code_find, SQ_ARGS(P_TEXT(authentication_id), P_TEXT(code)), read_code, out);
    return r == -ENOENT ? storage_fail(-ENOENT, "no such code") : r;
}

int storage_email_authentication_code_remove(struct storage_tx *tx, const char *code_id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &code_delete, SQ_ARGS(P_TEXT(code_id)), &changes);
    return r < 0 ? r : changes ? 0 : storage_fail(-ENOENT, "no such code: %s", code_id);
}

int storage_email_authentication_purge(struct storage_tx *tx, int64_t before, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &purge_codes, SQ_ARGS(P_INT(before)), NULL);
    if (r >= 0)
        r = sq_exec(tx, &purge_auths, SQ_ARGS(P_INT(before)), &changes);
    if (r >= 0 && n)
        *n = (unsigned)changes;
    return r;
}
