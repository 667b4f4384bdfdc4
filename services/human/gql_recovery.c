/* Account recovery in the GraphQL API (gql.h; MAS: crates/handlers/src/graphql/model/users.rs
 * UserRecoveryTicket, mutations/user.rs set_password_by_recovery, resend_recovery_email): what
 * MAS's account frontend asks at /account/password/recovery, through the same steps as masd's
 * own page (recovery.h):
 *
 *   Query.userRecoveryTicket(ticket)         the ticket, for anyone who has it (MAS: no
 *                                            authentication): status VALID, EXPIRED or CONSUMED,
 *                                            username, email; null for an unknown ticket
 *   Mutation.setPasswordByRecovery(input)    anonymous requesters only (else an error, as MAS);
 *                                            ALLOWED ends every session of the user, as the page
 *   Mutation.resendRecoveryEmail(input)      the ticket's session's e-mail again, under the
 *                                            recovery limits; progressUrl is absolute
 *
 * The new password is hashed outside the mutation's transaction, before it (gql_work_before: the
 * ticket is judged, the hash made, then the ticket judged again and the password set), so the
 * hash never holds the database's write lock. */
#include "gql.h"
#include "log.h"
#include "passwords.h"
#include "recovery.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The string member `name` of the argument `input` (or of the arguments when input is NULL). */
static const char *arg_string(const gql_resolve_info *info, const char *input, const char *name)
{
    const json_t *o = input ? json_object_get(info->args, input) : info->args;
    return json_string_value(json_object_get(o, name));
}

/* ---- Query.userRecoveryTicket ------------------------------------------------------------------ */

static int query_ticket(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    const char *ticket = arg_string(info, NULL, "ticket");
    struct storage_recovery_lookup l;
    enum recovery_ticket_state st;
    *out = NULL;
    int r = recovery_ticket_judge(c->tx, ticket ? ticket : "", c->now, &l, &st);
    if (r < 0)
        return gql_storage_error(info, r);
    if (st == RECOVERY_TICKET_NOT_FOUND)
        return 0;
    /* MAS knows three states: a locked account's ticket is VALID here, refused when used */
    const char *status = st == RECOVERY_TICKET_CONSUMED  ? "CONSUMED"
                         : st == RECOVERY_TICKET_EXPIRED ? "EXPIRED"
                                                         : "VALID";
    *out = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s}", "__typename", "UserRecoveryTicket", "id",
                     gql_id_json(GQL_NODE_USER_RECOVERY_TICKET, l.ticket.id), "createdAt",
                     gql_datetime(l.ticket.created_at), "status", status, "username", l.user.username,
                     "email", l.email.email);
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* ---- Mutation.setPasswordByRecovery ------------------------------------------------------------ */

static int set_status(json_t **out, const char *status)
{
    *out = json_pack("{s:s}", "status", status);
    return 0;
}

/* The new password's hash, made before the transaction. */
struct hash_work {
    struct gql_work w;
    const struct config_passwords *cfg;
    char *password; /* wiped once hashed */
    char *hash;     /* NULL: it failed */
    unsigned version;
};

static void wipe(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

static void hash_run(struct gql_work *w)
{
    struct hash_work *h = (struct hash_work *)w;
    if (password_hash(h->cfg, h->password, strlen(h->password), &h->hash, &h->version) < 0 ||
        strlen(h->hash) > STORAGE_PASSWORD_MAX)
        wipe(&h->hash);
    wipe(&h->password);
}

static void hash_free(struct gql_work *w)
{
    struct hash_work *h = (struct hash_work *)w;
    wipe(&h->password);
    wipe(&h->hash);
    free(h);
}

/* The hash of `password` made before the transaction: 0 with *done (NULL: asked for now, the
 * resolver answers nothing), or -1 after an error. */
static int hash_before(const gql_resolve_info *info, const char *password, const struct hash_work **done)
{
    *done = (const struct hash_work *)gql_work_done(info);
    if (*done)
        return 0;
    struct hash_work *h = calloc(1, sizeof(*h));
    if (!h || !(h->password = strdup(password))) {
        free(h);
        return gql_storage_error(info, -ENOMEM);
    }
    h->w.run = hash_run, h->w.free = hash_free;
    h->cfg = &gql_ctx(info)->cfg->passwords;
    return gql_work_before(info, &h->w);
}

static int set_password(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    if (c->kind != GQL_REQUESTER_ANONYMOUS)
        return gql_error(info, "Account recovery is only for anonymous users.");
    if (!recovery_enabled())
        return set_status(out, "PASSWORD_CHANGES_DISABLED");
    const char *ticket = arg_string(info, "input", "ticket");
    const char *password = arg_string(info, "input", "newPassword");
    if (!password || !password[0] || password_check_complexity(&c->cfg->passwords, password) < 0)
        return set_status(out, "INVALID_NEW_PASSWORD");
    struct storage_recovery_lookup l;
    enum recovery_ticket_state st;
    int r = recovery_ticket_judge(c->tx, ticket ? ticket : "", c->now, &l, &st);
    if (r < 0)
        return gql_storage_error(info, r);
    switch (st) {
    case RECOVERY_TICKET_NOT_FOUND:
        return set_status(out, "NO_SUCH_RECOVERY_TICKET");
    case RECOVERY_TICKET_CONSUMED:
        return set_status(out, "RECOVERY_TICKET_ALREADY_USED");
    case RECOVERY_TICKET_EXPIRED:
        return set_status(out, "EXPIRED_RECOVERY_TICKET");
    case RECOVERY_TICKET_LOCKED:
        return set_status(out, "ACCOUNT_LOCKED");
    case RECOVERY_TICKET_VALID:
        break;
    }
    const struct hash_work *h;
    if (hash_before(info, password, &h) < 0)
        return -1;
    if (!h)
        return 0;
    if (!h->hash) {
        log_error("graphql: setPasswordByRecovery: cannot hash the password");
        return gql_error(info, "Internal error");
    }
    r = recovery_set_password(c->tx, &l, h->hash, h->version, c->now);
    if (r == -EALREADY) /* another use of the session won the race */
        return set_status(out, "RECOVERY_TICKET_ALREADY_USED");
    if (r < 0)
        return gql_storage_error(info, r);
    log_info("graphql: user %s set a new password with a recovery ticket; their sessions ended", l.user.id);
    return set_status(out, "ALLOWED");
}

/* ---- Mutation.resendRecoveryEmail -------------------------------------------------------------- */

static int resend(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    const char *ticket = arg_string(info, "input", "ticket");
    struct storage_recovery_lookup l;
    enum recovery_ticket_state st;
    int r = recovery_ticket_judge(c->tx, ticket ? ticket : "", c->now, &l, &st);
    if (r < 0)
        return gql_storage_error(info, r);
    if (st == RECOVERY_TICKET_NOT_FOUND) {
        *out = json_pack("{s:s, s:n}", "status", "NO_SUCH_RECOVERY_TICKET", "progressUrl");
        return 0;
    }
    struct masd_addr client = {.family = AF_UNSPEC};
    if (addr_parse(masd_str_from(c->ip ? c->ip : ""), &client) < 0)
        client.family = AF_UNSPEC;
    int64_t retry;
    if ((r = recovery_rate_limit(c->tx, &client, l.session.email, c->now, &retry)) < 0)
        return gql_storage_error(info, r);
    if (r == 0) {
        *out = json_pack("{s:s, s:n}", "status", "RATE_LIMITED", "progressUrl");
        return 0;
    }
    /* a consumed session gets nothing more (its job would send nothing either) */
    if ((r = storage_recovery_session_resend(c->tx, l.session.id, c->now)) < 0 && r != -EALREADY)
        return gql_storage_error(info, r);
    char url[1024];
    snprintf(url, sizeof(url), "%srecover/progress/%s", c->cfg->public_base, l.session.id);
    *out = json_pack("{s:s, s:s}", "status", "SENT", "progressUrl", url);
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

static const gql_resolver resolvers[] = {
    {"Query.userRecoveryTicket", query_ticket, 0},
    {"Mutation.setPasswordByRecovery", set_password, 0},
    {"Mutation.resendRecoveryEmail", resend, 0},
    {NULL, NULL, 0},
};

const struct gql_domain gql_recovery_domain = {
    .name = "recovery",
    .resolvers = resolvers,
};
