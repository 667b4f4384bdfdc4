/* Account recovery sessions and tickets (storage.h; MAS: crates/storage-pg/src/user/recovery.rs),
 * and the job that mails the tickets, queued in the same transaction as the session. */
#include "storage_internal.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_COLS_P(p)                                                                                    \
    p "user_recovery_session_id, " p "email, " p "user_agent, " p "ip_address, " p "locale, " p              \
      "created_at, " p "consumed_at"
#define TICKET_COLS_P(p)                                                                                     \
    p "user_recovery_ticket_id, " p "user_recovery_session_id, " p "user_email_id, " p "created_at, " p      \
      "expires_at"

STORAGE_STMT(session_insert, "INSERT INTO user_recovery_sessions (" SESSION_COLS_P(
                                 "") ") VALUES ($1, $2, $3, $4, $5, $6, NULL)");
STORAGE_STMT(session_by_id, "SELECT " SESSION_COLS_P("") " FROM user_recovery_sessions"
                                                         " WHERE user_recovery_session_id = $1");
STORAGE_STMT(session_exists, "SELECT 1 FROM user_recovery_sessions WHERE user_recovery_session_id = $1");
STORAGE_STMT(session_consume, "UPDATE user_recovery_sessions SET consumed_at = $2"
                              " WHERE user_recovery_session_id = $1 AND consumed_at IS NULL");
/* the address's other tickets are spent with the one used */
STORAGE_STMT(tickets_spend, "UPDATE user_recovery_tickets SET expires_at = $2"
                            " WHERE user_email_id = $1 AND expires_at > $2");
STORAGE_STMT(ticket_insert, "INSERT INTO user_recovery_tickets (" TICKET_COLS_P(
                                "") ", ticket_hash)"
                                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING");
STORAGE_STMT(ticket_delete, "DELETE FROM user_recovery_tickets WHERE user_recovery_ticket_id = $1");
STORAGE_STMT(ticket_find, "SELECT " TICKET_COLS_P("t.") ", " SESSION_COLS_P(
                              "s.") ","
                                    " e.user_email_id, e.user_id, e.email, e.created_at, " USER_COLS_P(
                                        "u.") " FROM user_recovery_tickets t"
                                              " JOIN user_recovery_sessions s ON s.user_recovery_session_id "
                                              "= t.user_recovery_session_id"
                                              " JOIN user_emails e ON e.user_email_id = t.user_email_id"
                                              " JOIN users u ON u.user_id = e.user_id"
                                              " WHERE t.ticket_hash = $1");
/* the tickets go with their sessions (ON DELETE CASCADE) */
STORAGE_STMT(purge_sessions, "DELETE FROM user_recovery_sessions WHERE created_at < $1");

static void read_session_at(struct sq *q, int c, struct storage_recovery_session *s)
{
    sq_copy(q, c, s->id, sizeof(s->id));
    sq_copy(q, c + 1, s->email, sizeof(s->email));
    sq_copy(q, c + 2, s->user_agent, sizeof(s->user_agent));
    sq_copy(q, c + 3, s->ip_address, sizeof(s->ip_address));
    sq_copy(q, c + 4, s->locale, sizeof(s->locale));
    s->created_at = sq_int(q, c + 5);
    s->consumed_at = sq_int(q, c + 6);
}

static int read_session(struct sq *q, void *out)
{
    read_session_at(q, 0, out);
    return 0;
}

static int read_lookup(struct sq *q, void *out)
{
    struct storage_recovery_lookup *l = out;
    struct storage_recovery_ticket *t = &l->ticket;
    sq_copy(q, 0, t->id, sizeof(t->id));
    sq_copy(q, 1, t->session_id, sizeof(t->session_id));
    sq_copy(q, 2, t->user_email_id, sizeof(t->user_email_id));
    t->created_at = sq_int(q, 3);
    t->expires_at = sq_int(q, 4);
    read_session_at(q, 5, &l->session);
    sq_copy(q, 12, l->email.id, sizeof(l->email.id));
    sq_copy(q, 13, l->email.user_id, sizeof(l->email.user_id));
    sq_copy(q, 14, l->email.email, sizeof(l->email.email));
    l->email.created_at = sq_int(q, 15);
    return storage_read_user(q, 16, &l->user);
}

/* MAS's SendAccountRecoveryEmailsJob: {"user_recovery_session_id"}. */
static int queue_job(struct storage_tx *tx, const char *session_id, int64_t now)
{
    json_t *p = json_pack("{s:s}", "user_recovery_session_id", session_id);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text)
        return storage_fail(-ENOMEM, "out of memory");
    int r = storage_job_enqueue(tx, STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL, text, 0, now, NULL);
    free(text);
    return r;
}

int storage_recovery_session_start(struct storage_tx *tx, const char *email, const char *user_agent,
                                   const char *ip_address, const char *locale, int64_t now,
                                   struct storage_recovery_session *out)
{
    int r = storage_check_text("e-mail address", email, STORAGE_EMAIL_MAX, false);
    if (r >= 0 && ip_address && strlen(ip_address) >= STORAGE_IP_SIZE)
        r = storage_fail(-EINVAL, "not an IP address: '%.60s'", ip_address);
    if (r >= 0)
        r = storage_check_language(locale);
    if (r < 0)
        return r;
    struct storage_recovery_session s = {.created_at = now};
    storage_new_id(s.id);
    snprintf(s.email, sizeof(s.email), "%s", email);
    storage_copy_cut(s.user_agent, sizeof(s.user_agent), user_agent);
    snprintf(s.ip_address, sizeof(s.ip_address), "%s", ip_address ? ip_address : "");
    snprintf(s.locale, sizeof(s.locale), "%s", locale);
    r = sq_exec(tx, &session_insert,
                SQ_ARGS(P_TEXT(s.id), P_TEXT(s.email), P_TEXT(s.user_agent), P_OPT(s.ip_address),
                        P_TEXT(s.locale), P_INT(now)),
                NULL);
    if (r >= 0)
        r = queue_job(tx, s.id, now);
    if (r >= 0 && out)
        *out = s;
    return r;
}

int storage_recovery_session_get(struct storage_tx *tx, const char *id, struct storage_recovery_session *out)
{
    int r = sq_one(tx, &session_by_id, SQ_ARGS(P_TEXT(id)), read_session, out);
    return r == -ENOENT ? storage_fail(-ENOENT, "no such recovery session: %s", id) : r;
}

int storage_recovery_session_resend(struct storage_tx *tx, const char *id, int64_t now)
{
    struct storage_recovery_session s;
    int r = storage_recovery_session_get(tx, id, &s);
    if (r >= 0 && s.consumed_at)
        r = storage_fail(-EALREADY, "recovery session %s is consumed", id);
    if (r >= 0)
        r = queue_job(tx, id, now);
    return r;
}

static bool ticket_shape(const char *ticket)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return ticket && strlen(ticket) == STORAGE_RECOVERY_TICKET_LEN &&
           strspn(ticket, alnum) == STORAGE_RECOVERY_TICKET_LEN;
}

int storage_recovery_ticket_add(struct storage_tx *tx, const char *session_id, const char *user_email_id,
                                const char *ticket, int64_t now, struct storage_recovery_ticket *out)
{
    if (!ticket_shape(ticket))
        return storage_fail(-EINVAL, "a recovery ticket is %d letters and digits",
                            STORAGE_RECOVERY_TICKET_LEN);
    struct storage_recovery_ticket t = {.created_at = now,
                                        .expires_at = now + STORAGE_RECOVERY_TICKET_TTL_MS};
    storage_new_id(t.id);
    snprintf(t.session_id, sizeof(t.session_id), "%s", session_id);
    snprintf(t.user_email_id, sizeof(t.user_email_id), "%s", user_email_id);
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(ticket, hash);
    int64_t changes = 0;
    int r = sq_exec(tx, &ticket_insert,
                    SQ_ARGS(P_TEXT(t.id), P_TEXT(session_id), P_TEXT(user_email_id), P_INT(now),
                            P_INT(t.expires_at), P_TEXT(hash)),
                    &changes);
    if (r == -ENOENT)
        return storage_fail(-ENOENT, "no such recovery session or e-mail address: %s, %s", session_id,
                            user_email_id);
    if (r < 0)
        return r;
    if (!changes)
        return storage_fail(-EEXIST, "that recovery ticket exists already");
    if (out)
        *out = t;
    return 0;
}

int storage_recovery_ticket_remove(struct storage_tx *tx, const char *ticket_id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &ticket_delete, SQ_ARGS(P_TEXT(ticket_id)), &changes);
    return r < 0 ? r : changes ? 0 : storage_fail(-ENOENT, "no such recovery ticket: %s", ticket_id);
}

int storage_recovery_ticket_find(struct storage_tx *tx, const char *ticket,
                                 struct storage_recovery_lookup *out)
{
    if (!ticket_shape(ticket)) /* never issued: no need to ask */
        return storage_fail(-ENOENT, "no such recovery ticket");
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(ticket, hash);
    int r = sq_one(tx, &ticket_find, SQ_ARGS(P_TEXT(hash)), read_lookup, out);
    return r == -ENOENT ? storage_fail(-ENOENT, "no such recovery ticket") : r;
}

int storage_recovery_session_consume(struct storage_tx *tx, const char *session_id, const char *user_email_id,
                                     int64_t now)
{
    int r = storage_cas(tx, &session_consume, SQ_ARGS(P_TEXT(session_id), P_INT(now)), &session_exists,
                        session_id);
    if (r >= 0)
        r = sq_exec(tx, &tickets_spend, SQ_ARGS(P_TEXT(user_email_id), P_INT(now)), NULL);
    return r < 0 ? r : 0;
}

int storage_recovery_purge(struct storage_tx *tx, int64_t before, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &purge_sessions, SQ_ARGS(P_INT(before)), &changes);
    if (r >= 0 && n)
        *n = (unsigned)changes;
    return r;
}
