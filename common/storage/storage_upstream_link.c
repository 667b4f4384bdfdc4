/* What the link page (/upstream/link/{link_id}, services/human/upstream_link.c) needs of the
 * upstream tables, and the column migration 15 adds to browser_session_authentications and
 * user_registrations (storage_upstream.h, the part after "the link page"). */
#include "storage_internal.h"
#include "storage_upstream.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_COLS                                                                                            \
    "upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, human_account_name, created_at"

STORAGE_STMT(link_get, "SELECT " LINK_COLS " FROM upstream_oauth_links WHERE upstream_oauth_link_id = $1");
STORAGE_STMT(link_exists, "SELECT 1 FROM upstream_oauth_links WHERE upstream_oauth_link_id = $1");
STORAGE_STMT(link_associate, "UPDATE upstream_oauth_links SET user_id = $2"
                             " WHERE upstream_oauth_link_id = $1 AND user_id IS NULL");
STORAGE_STMT(link_count_user, "SELECT COUNT(*) FROM upstream_oauth_links"
                              " WHERE upstream_oauth_provider_id = $1 AND user_id = $2");
STORAGE_STMT(
    link_unlink_sessions,
    "UPDATE upstream_oauth_authorization_sessions SET upstream_oauth_link_id = NULL, unlinked_at = $3"
    " WHERE upstream_oauth_link_id IN (SELECT upstream_oauth_link_id FROM upstream_oauth_links"
    " WHERE upstream_oauth_provider_id = $1 AND user_id = $2)");
STORAGE_STMT(link_delete_user, "DELETE FROM upstream_oauth_links"
                               " WHERE upstream_oauth_provider_id = $1 AND user_id = $2");

static int read_link(struct sq *q, void *arg)
{
    struct storage_upstream_link *l = arg;
    sq_copy(q, 0, l->id, sizeof(l->id));
    sq_copy(q, 1, l->provider_id, sizeof(l->provider_id));
    sq_copy(q, 2, l->user_id, sizeof(l->user_id));
    sq_copy(q, 3, l->subject, sizeof(l->subject));
    sq_copy(q, 4, l->human_account_name, sizeof(l->human_account_name));
    l->created_at = sq_int(q, 5);
    return 0;
}

int storage_upstream_link_get(struct storage_tx *tx, const char *id, struct storage_upstream_link *out)
{
    memset(out, 0, sizeof(*out));
    return sq_one(tx, &link_get, SQ_ARGS(P_TEXT(id)), read_link, out);
}

int storage_upstream_link_associate(struct storage_tx *tx, const char *link_id, const char *user_id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &link_associate, SQ_ARGS(P_TEXT(link_id), P_TEXT(user_id)), &changes);
    if (r < 0)
        return r;
    if (changes)
        return 0;
    r = storage_changed_or_missing(tx, 0, &link_exists, link_id);
    return r < 0 ? r : -EALREADY;
}

static int read_count(struct sq *q, void *arg)
{
    *(int64_t *)arg = sq_int(q, 0);
    return 0;
}

int storage_upstream_link_count_for_user(struct storage_tx *tx, const char *provider_id, const char *user_id,
                                         int64_t *count)
{
    *count = 0;
    return sq_one(tx, &link_count_user, SQ_ARGS(P_TEXT(provider_id), P_TEXT(user_id)), read_count, count);
}

int storage_upstream_link_remove_for_user(struct storage_tx *tx, const char *provider_id, const char *user_id,
                                          int64_t now, int64_t *removed)
{
    int r =
        sq_exec(tx, &link_unlink_sessions, SQ_ARGS(P_TEXT(provider_id), P_TEXT(user_id), P_INT(now)), NULL);
    if (r >= 0)
        r = sq_exec(tx, &link_delete_user, SQ_ARGS(P_TEXT(provider_id), P_TEXT(user_id)), removed);
    return r < 0 ? r : 0;
}

/* ---- migration 15's columns ---------------------------------------------------------------- */

STORAGE_STMT(auth_insert, "INSERT INTO browser_session_authentications (browser_session_authentication_id,"
                          " browser_session_id, user_password_id, upstream_oauth_authorization_session_id,"
                          " created_at) VALUES ($1, $2, NULL, $3, $4)");
STORAGE_STMT(auth_upstream,
             "SELECT upstream_oauth_authorization_session_id FROM browser_session_authentications"
             " WHERE browser_session_authentication_id = $1");
STORAGE_STMT(reg_set_upstream, "UPDATE user_registrations SET upstream_oauth_authorization_session_id = $2"
                               " WHERE user_registration_id = $1 AND completed_at IS NULL");
STORAGE_STMT(reg_exists, "SELECT 1 FROM user_registrations WHERE user_registration_id = $1");
STORAGE_STMT(reg_upstream, "SELECT upstream_oauth_authorization_session_id FROM user_registrations"
                           " WHERE user_registration_id = $1");
STORAGE_STMT(email_auth_insert, "INSERT INTO user_email_authentications (user_email_authentication_id,"
                                " browser_session_id, email, created_at, completed_at)"
                                " VALUES ($1, NULL, $2, $3, $3)");

int storage_browser_session_authenticate_upstream(struct storage_tx *tx, const char *session_id,
                                                  const char *upstream_session_id, int64_t now,
                                                  char auth_id[STORAGE_ID_SIZE])
{
    storage_new_id(auth_id);
    return sq_exec(tx, &auth_insert,
                   SQ_ARGS(P_TEXT(auth_id), P_TEXT(session_id), P_TEXT(upstream_session_id), P_INT(now)),
                   NULL);
}

static int read_id(struct sq *q, void *arg)
{
    sq_copy(q, 0, arg, STORAGE_ID_SIZE);
    return 0;
}

int storage_browser_session_authentication_upstream(struct storage_tx *tx, const char *auth_id,
                                                    char upstream_session_id[STORAGE_ID_SIZE])
{
    upstream_session_id[0] = '\0';
    return sq_one(tx, &auth_upstream, SQ_ARGS(P_TEXT(auth_id)), read_id, upstream_session_id);
}

int storage_registration_set_upstream_session(struct storage_tx *tx, const char *id,
                                              const char *upstream_session_id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &reg_set_upstream, SQ_ARGS(P_TEXT(id), P_TEXT(upstream_session_id)), &changes);
    if (r < 0)
        return r;
    if (changes)
        return 0;
    r = storage_changed_or_missing(tx, 0, &reg_exists, id);
    return r < 0 ? r : -EALREADY;
}

int storage_registration_upstream_session(struct storage_tx *tx, const char *id,
                                          char upstream_session_id[STORAGE_ID_SIZE])
{
    upstream_session_id[0] = '\0';
    return sq_one(tx, &reg_upstream, SQ_ARGS(P_TEXT(id)), read_id, upstream_session_id);
}

int storage_email_authentication_create_completed(struct storage_tx *tx, const char *email, int64_t now,
                                                  char id[STORAGE_ID_SIZE])
{
    int r = storage_check_text("email", email, STORAGE_EMAIL_MAX, false);
    if (r < 0)
        return r;
    storage_new_id(id);
    return sq_exec(tx, &email_auth_insert, SQ_ARGS(P_TEXT(id), P_TEXT(email), P_INT(now)), NULL);
}

/* ---- the providers people see -------------------------------------------------------------- */

STORAGE_STMT(
    provider_buttons,
    "SELECT upstream_oauth_provider_id, human_name, issuer, brand_name, synapse_idp_id"
    " FROM upstream_oauth_providers WHERE disabled_at IS NULL ORDER BY ui_order, upstream_oauth_provider_id");

static int push_button(struct sq *q, void *arg)
{
    struct storage_upstream_button_list *l = arg;
    struct storage_upstream_button *b = storage_array_push((void **)&l->items, &l->n, &l->cap, sizeof(*b));
    if (!b)
        return storage_fail(-ENOMEM, "out of memory");
    memset(b, 0, sizeof(*b));
    sq_copy(q, 0, b->id, sizeof(b->id));
    sq_copy(q, 1, b->human_name, sizeof(b->human_name));
    sq_copy(q, 2, b->issuer, sizeof(b->issuer));
    sq_copy(q, 3, b->brand_name, sizeof(b->brand_name));
    sq_copy(q, 4, b->synapse_idp_id, sizeof(b->synapse_idp_id));
    return 0;
}

int storage_upstream_provider_buttons(struct storage_tx *tx, struct storage_upstream_button_list *out)
{
    *out = (struct storage_upstream_button_list){0};
    int r = sq_each(tx, &provider_buttons, NULL, 0, push_button, out);
    if (r < 0)
        storage_upstream_button_list_clear(out);
    return r < 0 ? r : 0;
}

void storage_upstream_button_list_clear(struct storage_upstream_button_list *l)
{
    free(l->items);
    *l = (struct storage_upstream_button_list){0};
}

const char *storage_upstream_button_label(const struct storage_upstream_button *b)
{
    if (b->human_name[0])
        return b->human_name;
    if (b->issuer[0]) {
        const char *s = strstr(b->issuer, "://");
        return s ? s + 3 : b->issuer;
    }
    return b->id;
}
