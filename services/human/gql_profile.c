/* The profile domain of the GraphQL API (gql.h): the user on the homeserver (User.matrix), the
 * e-mail authentications (Query.userEmailAuthentication, their nodes), and the mutations on the
 * display name, e-mail addresses, password, deactivation and the cross-signing reset.
 * MAS: crates/handlers/src/graphql/mutations/{user_email,matrix,user}.rs, model/matrix.rs.
 *
 * Each mutation is the account_op the account pages run (account.h), here inside the request's
 * own transaction (account_op_run_tx): the same checks, limits, statuses and jobs. Its slow
 * stage, the password's check and hash or the homeserver's call, runs outside the transaction,
 * before it (gql_work_before), and the op is decided again once that is done. What MAS
 * answers with an error rather than a status (a switch off, a missing password, another's
 * object) is an error here too. */
#include "account.h"
#include "addr.h"
#include "gql.h"
#include "homeserver.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int internal(const gql_resolve_info *info, const char *why)
{
    log_error("graphql: %s.%s: %s", info->type_name, info->field_name, why);
    return gql_error(info, "Internal error");
}

/* ---- User.matrix (MAS: model/matrix.rs), live from the homeserver ---------------------------- */

/* The user's profile on the homeserver; in a mutation, asked before the transaction (gql.h). */
struct matrix_work {
    struct gql_work w;
    struct homeserver *hs;
    char username[STORAGE_USERNAME_MAX + 1];
    struct homeserver_user u;
    int r;
};

static void matrix_run(struct gql_work *w)
{
    struct matrix_work *m = (struct matrix_work *)w;
    struct homeserver_result res = {0};
    if ((m->r = homeserver_query_user(m->hs, m->username, &m->u, &res)) < 0)
        log_warn("graphql: User.matrix: %s", res.message);
}

static int user_matrix(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    const char *username = json_string_value(json_object_get(info->parent, "username"));
    if (!username)
        return internal(info, "the user has no username");
    struct matrix_work *m = (struct matrix_work *)gql_work_done(info), inline_work;
    if (!m) {
        m = c->mutation ? calloc(1, sizeof(*m)) : memset(&inline_work, 0, sizeof(inline_work));
        if (!m)
            return internal(info, "out of memory");
        m->w.run = matrix_run;
        m->hs = c->hs;
        snprintf(m->username, sizeof(m->username), "%s", username);
        if (c->mutation)
            return gql_work_before(info, &m->w);
        matrix_run(&m->w); /* a query's read transaction holds no lock */
    }
    if (m->r < 0)
        return gql_error(info, "The homeserver did not answer");
    char mxid[STORAGE_USERNAME_MAX + 300];
    snprintf(mxid, sizeof(mxid), "@%s:%s", username, c->cfg->matrix.homeserver);
    *out = json_pack("{s:s, s:s?, s:s?, s:b}", "mxid", mxid, "displayName",
                     m->u.has_displayname ? m->u.displayname : NULL, "avatarUrl",
                     m->u.has_avatar_url ? m->u.avatar_url : NULL, "deactivated", m->u.deactivated);
    return *out ? 0 : internal(info, "out of memory");
}

/* ---- e-mail authentications ------------------------------------------------------------------- */

static json_t *authentication_object(const struct storage_email_authentication *a)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:s}", "__typename", "UserEmailAuthentication", "id",
                     gql_id_json(GQL_NODE_USER_EMAIL_AUTHENTICATION, a->id), "createdAt",
                     gql_datetime(a->created_at), "completedAt", gql_datetime(a->completed_at), "email",
                     a->email);
}

/* MAS: only the browser session that started it sees it. */
static int authentication_load(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct storage_email_authentication a;
    *out = NULL;
    if (c->kind != GQL_REQUESTER_BROWSER)
        return 0;
    int r = storage_email_authentication_get(c->tx, ulid, &a);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    if (strcmp(a.browser_session_id, c->browser.id) == 0 && !(*out = authentication_object(&a)))
        return gql_storage_error(info, -ENOMEM);
    return 0;
}

static int query_user_email_authentication(const gql_resolve_info *info, json_t **out)
{
    char id[ULID_LEN + 1];
    if (gql_arg_id(info, "id", GQL_NODE_USER_EMAIL_AUTHENTICATION, id) < 0)
        return -1;
    return authentication_load(info, id, out);
}

/* ---- the mutations ---------------------------------------------------------------------------- */

static const json_t *input(const gql_resolve_info *info)
{
    return json_object_get(info->args, "input");
}

static const char *input_string(const gql_resolve_info *info, const char *key)
{
    return json_string_value(json_object_get(input(info), key));
}

/* The input's ID `key` of type t: 0, or -1 after "invalid id". */
static int input_id(const gql_resolve_info *info, const char *key, enum gql_node_type t,
                    char ulid[ULID_LEN + 1])
{
    const json_t *v = json_object_get(input(info), key);
    enum gql_node_type got;
    if (!json_is_string(v) || gql_id_parse(json_string_value(v), json_string_length(v), &got, ulid) < 0 ||
        got != t)
        return gql_error(info, "invalid id");
    return 0;
}

/* A string that fits a fixed field: false when too long (the field's error then). */
static bool copy(char *out, size_t size, const char *s)
{
    if (!s)
        s = "";
    if (strlen(s) >= size)
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

/* The op of the requester, for `user` (NULL: the requester's own). Browser-only mutations refuse
 * any other requester. 0, or -1 after an error. */
static int op_begin(const gql_resolve_info *info, struct account_op *op, enum account_op_kind kind,
                    const struct storage_user *user, bool browser_only)
{
    struct gql_ctx *c = gql_ctx(info);
    if (!c->user || (browser_only && c->kind != GQL_REQUESTER_BROWSER))
        return gql_error(info, "Unauthorized");
    struct masd_addr client = {0};
    if (c->ip && c->ip[0])
        addr_parse(masd_str_from(c->ip), &client);
    account_op_init(op, kind, c->cfg, human.st, c->hs, human.policy, user ? user : c->user,
                    c->kind == GQL_REQUESTER_BROWSER ? c->browser.id : "", &client);
    op->admin = c->admin;
    return 0;
}

/* An op's slow stage, handed to the endpoint to run before the transaction (gql.h). */
struct op_work {
    struct gql_work w;
    struct account_op op;
};

static void op_work_run(struct gql_work *w)
{
    account_op_run_outside(&((struct op_work *)w)->op);
}

static void op_work_free(struct gql_work *w)
{
    account_op_clear(&((struct op_work *)w)->op);
    free(w);
}

/* Runs the op in the request's transaction: 0 with op->status one of the payload's; 1 when the
 * op went to run its slow stage before the transaction (the resolver answers nothing: the
 * document runs again); -1 after the error MAS answers instead. The op is cleared unless 0. */
static int op_run(const gql_resolve_info *info, struct account_op *op)
{
    struct gql_ctx *c = gql_ctx(info);
    const struct gql_work *done = gql_work_done(info);
    int r = account_op_run_tx(op, c->tx, done ? &((const struct op_work *)done)->op : NULL);
    if (r == 1) {
        struct op_work *w = calloc(1, sizeof(*w));
        if (!w) {
            account_op_clear(op);
            return internal(info, "out of memory");
        }
        w->w.run = op_work_run, w->w.free = op_work_free;
        w->op = *op; /* what the op holds goes with it */
        memset(op, 0, sizeof(*op));
        return gql_work_before(info, &w->w) < 0 ? -1 : 1;
    }
    const char *error = NULL;
    if (r < 0) {
        account_op_clear(op);
        return gql_storage_error(info, r);
    }
    switch (op->status) {
    case ACCOUNT_FORBIDDEN:
        error = op->kind == ACCOUNT_SET_DISPLAY_NAME ? "Display name changes are not allowed on this server"
                : op->kind == ACCOUNT_DEACTIVATE     ? "Account deactivation is not allowed on this server"
                                                     : "Email changes are not allowed on this server";
        break;
    case ACCOUNT_PASSWORD_REQUIRED:
        error = op->kind == ACCOUNT_SET_PASSWORD ? "You must supply `currentPassword` to change your password"
                                                 : "You must supply `password` to confirm";
        break;
    case ACCOUNT_NOT_YOURS:
        error = "Unauthorized";
        break;
    case ACCOUNT_READ_ONLY:
        error = "The homeserver cannot be changed right now";
        break;
    case ACCOUNT_HOMESERVER:
        error = "The homeserver did not take the change";
        break;
    case ACCOUNT_RATE_LIMITED:
        /* the password check's limit, where the payload has no such status */
        if (op->kind == ACCOUNT_REMOVE_EMAIL || op->kind == ACCOUNT_SET_PASSWORD ||
            op->kind == ACCOUNT_DEACTIVATE)
            error = "Too many attempts, try again later";
        break;
    case ACCOUNT_INTERNAL:
    case ACCOUNT_BUSY:
    case ACCOUNT_PENDING:
        account_op_clear(op);
        return internal(info, "the change could not be made");
    default:
        break;
    }
    if (error) {
        account_op_clear(op);
        return gql_error(info, error);
    }
    return 0;
}

static json_t *status_payload(const struct account_op *op)
{
    return json_pack("{s:s}", "status", account_status_name(op->status));
}

static int start_email_authentication(const gql_resolve_info *info, json_t **out)
{
    struct account_op op;
    if (op_begin(info, &op, ACCOUNT_START_EMAIL, NULL, true) < 0)
        return -1;
    const char *password = input_string(info, "password");
    if (!copy(op.email, sizeof(op.email), input_string(info, "email")) ||
        !copy(op.language, sizeof(op.language), input_string(info, "language")) ||
        (password && account_op_set_password(&op, 0, password) < 0)) {
        account_op_clear(&op);
        return gql_error(info, "Invalid input");
    }
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    *out = status_payload(&op);
    if (op.status == ACCOUNT_STARTED) {
        struct storage_email_authentication a;
        if (storage_email_authentication_get(gql_ctx(info)->tx, op.authentication_id, &a) == 0)
            json_object_set_new(*out, "authentication", authentication_object(&a));
    }
    if (op.status == ACCOUNT_DENIED) {
        json_t *v = json_array(), *e;
        size_t i;
        json_array_foreach(op.violations, i, e) json_array_append(v, json_object_get(e, "msg"));
        json_object_set_new(*out, "violations", v);
    }
    account_op_clear(&op);
    return *out ? 0 : internal(info, "out of memory");
}

static int resend_email_authentication_code(const gql_resolve_info *info, json_t **out)
{
    struct account_op op;
    if (op_begin(info, &op, ACCOUNT_RESEND_EMAIL, NULL, true) < 0)
        return -1;
    if (input_id(info, "id", GQL_NODE_USER_EMAIL_AUTHENTICATION, op.id) < 0 ||
        !copy(op.language, sizeof(op.language), input_string(info, "language"))) {
        account_op_clear(&op);
        return -1;
    }
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    *out = status_payload(&op);
    account_op_clear(&op);
    return 0;
}

static int complete_email_authentication(const gql_resolve_info *info, json_t **out)
{
    struct account_op op;
    if (op_begin(info, &op, ACCOUNT_COMPLETE_EMAIL, NULL, true) < 0)
        return -1;
    if (input_id(info, "id", GQL_NODE_USER_EMAIL_AUTHENTICATION, op.id) < 0) {
        account_op_clear(&op);
        return -1;
    }
    copy(op.code, sizeof(op.code), input_string(info, "code")); /* too long: no such code */
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    *out = status_payload(&op);
    account_op_clear(&op);
    return 0;
}

static int remove_email(const gql_resolve_info *info, json_t **out)
{
    struct account_op op;
    struct gql_ctx *c = gql_ctx(info);
    if (op_begin(info, &op, ACCOUNT_REMOVE_EMAIL, NULL, false) < 0)
        return -1;
    const char *password = input_string(info, "password");
    if (input_id(info, "userEmailId", GQL_NODE_USER_EMAIL, op.id) < 0 ||
        (password && account_op_set_password(&op, 0, password) < 0)) {
        account_op_clear(&op);
        return -1;
    }
    /* the address before it goes, for the payload */
    struct storage_email e;
    bool found = storage_email_get(c->tx, op.id, &e) == 0;
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    *out = status_payload(&op);
    if (op.status == ACCOUNT_REMOVED && found) {
        json_object_set_new(*out, "email",
                            json_pack("{s:s, s:o, s:s, s:o}", "__typename", "UserEmail", "id",
                                      gql_id_json(GQL_NODE_USER_EMAIL, e.id), "email", e.email, "createdAt",
                                      gql_datetime(e.created_at)));
        json_object_set_new(*out, "user", gql_user_object(c->user));
    }
    account_op_clear(&op);
    return 0;
}

/* The user an admin-capable mutation is about: the requester's own, or (admins) another. 0 with
 * *found false when there is none the requester may act on; -1 after an error. */
static int target_user(const gql_resolve_info *info, struct storage_user *u, bool *found)
{
    struct gql_ctx *c = gql_ctx(info);
    char id[ULID_LEN + 1];
    *found = false;
    if (input_id(info, "userId", GQL_NODE_USER, id) < 0)
        return -1;
    if (!c->user && !c->admin)
        return gql_error(info, "Unauthorized");
    if (!gql_owner_or_admin(c, id))
        return gql_error(info, "Unauthorized");
    int r = storage_user_get(c->tx, id, u);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    *found = true;
    return 0;
}

static int set_display_name(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct storage_user u;
    bool found;
    struct account_op op;
    if (target_user(info, &u, &found) < 0)
        return -1;
    if (!found)
        return gql_error(info, "User not found");
    if (op_begin(info, &op, ACCOUNT_SET_DISPLAY_NAME, &u, false) < 0)
        return -1;
    const json_t *name = json_object_get(input(info), "displayName");
    op.unset = !json_is_string(name);
    if (!op.unset && !copy(op.display_name, sizeof(op.display_name), json_string_value(name)) &&
        (c->cfg->displayname_change_allowed || c->admin)) {
        op.status = ACCOUNT_INVALID; /* longer than any valid name */
    } else {
        int ran = op_run(info, &op);
        if (ran != 0)
            return ran < 0 ? -1 : 0;
    }
    *out = status_payload(&op);
    if (op.status == ACCOUNT_SET)
        json_object_set_new(*out, "user", gql_user_object(&u));
    account_op_clear(&op);
    return 0;
}

static int set_password(const gql_resolve_info *info, json_t **out)
{
    struct storage_user u;
    bool found;
    struct account_op op;
    if (target_user(info, &u, &found) < 0)
        return -1;
    if (!found) {
        *out = json_pack("{s:s}", "status", "NOT_FOUND");
        return 0;
    }
    if (op_begin(info, &op, ACCOUNT_SET_PASSWORD, &u, false) < 0)
        return -1;
    const char *current = input_string(info, "currentPassword"), *next = input_string(info, "newPassword");
    if ((current && account_op_set_password(&op, 0, current) < 0) ||
        (next && account_op_set_password(&op, 1, next) < 0)) {
        account_op_clear(&op);
        return internal(info, "out of memory");
    }
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    *out = status_payload(&op);
    account_op_clear(&op);
    return 0;
}

static int deactivate_user(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct account_op op;
    if (op_begin(info, &op, ACCOUNT_DEACTIVATE, NULL, true) < 0)
        return -1;
    const char *password = input_string(info, "password");
    op.erase = json_is_true(json_object_get(input(info), "hsErase"));
    if (password && account_op_set_password(&op, 0, password) < 0) {
        account_op_clear(&op);
        return internal(info, "out of memory");
    }
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    *out = status_payload(&op);
    if (op.status == ACCOUNT_DEACTIVATED) {
        struct storage_user u;
        if (storage_user_get(c->tx, c->user->id, &u) == 0)
            json_object_set_new(*out, "user", gql_user_object(&u));
        c->sign_out = true; /* this browser's session ended with every other */
    }
    account_op_clear(&op);
    return 0;
}

/* MAS: the owner (or an administrator) lets the homeserver accept a new cross-signing identity
 * without interactive authentication, for the "reset identity" flow. */
static int allow_user_cross_signing_reset(const gql_resolve_info *info, json_t **out)
{
    struct storage_user u;
    bool found;
    struct account_op op;
    if (target_user(info, &u, &found) < 0)
        return -1;
    if (!found) {
        *out = json_object();
        return *out ? 0 : internal(info, "out of memory");
    }
    /* the owner or an administrator (target_user), who may be no user (a client's admin token) */
    struct gql_ctx *c = gql_ctx(info);
    struct masd_addr client = {0};
    account_op_init(&op, ACCOUNT_ALLOW_CROSS_SIGNING_RESET, c->cfg, human.st, c->hs, human.policy, &u,
                    c->kind == GQL_REQUESTER_BROWSER ? c->browser.id : "", &client);
    op.admin = c->admin;
    int ran = op_run(info, &op);
    if (ran != 0)
        return ran < 0 ? -1 : 0;
    account_op_clear(&op);
    *out = json_pack("{s:o}", "user", gql_user_object(&u));
    return *out ? 0 : internal(info, "out of memory");
}

static const gql_resolver resolvers[] = {
    {"User.matrix", user_matrix, 5}, /* a call to the homeserver */
    {"Query.userEmailAuthentication", query_user_email_authentication, 0},
    {"Mutation.startEmailAuthentication", start_email_authentication, 0},
    {"Mutation.resendEmailAuthenticationCode", resend_email_authentication_code, 0},
    {"Mutation.completeEmailAuthentication", complete_email_authentication, 0},
    {"Mutation.removeEmail", remove_email, 0},
    {"Mutation.setDisplayName", set_display_name, 0},
    {"Mutation.setPassword", set_password, 0},
    {"Mutation.deactivateUser", deactivate_user, 0},
    {"Mutation.allowUserCrossSigningReset", allow_user_cross_signing_reset, 0},
    {NULL, NULL, 0},
};

const struct gql_domain gql_profile_domain = {
    .name = "profile",
    .resolvers = resolvers,
    .nodes = {{GQL_NODE_USER_EMAIL_AUTHENTICATION, authentication_load}},
};
