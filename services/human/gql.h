/* masd-human's GraphQL API at /graphql (resource `graphql`; docs/graphql.md, "The endpoint"):
 * what a domain of the schema (services/human/schema.graphql) needs to add its resolvers.
 *
 * Every resolver runs on the worker pool inside the request's one storage transaction (read-only
 * for a query, read-write for a mutation) and is given the requester as info->context (struct
 * gql_ctx). A domain is one file, gql_<domain>.c, exporting one `struct gql_domain`: its
 * NULL-terminated resolver table and the node types it loads for Query.node; graphql.c lists
 * the domains (adding one is one line there and one in meson.build). */
#pragma once
#include "gql_model.h"
#include "human.h"
#include "storage.h"

enum gql_requester {
    GQL_REQUESTER_ANONYMOUS, /* no session cookie, or one naming no active session */
    GQL_REQUESTER_BROWSER,   /* the `session` cookie's active browser session */
    GQL_REQUESTER_OAUTH,     /* a Bearer token (listener option undocumented_oauth2_access) */
};

/* The devices one createOauth2Session may bring (the rest of its scope's are refused). */
#define GQL_MAX_NEW_DEVICES 8

/* A resolver's info->context. */
struct gql_ctx {
    struct storage_tx *tx; /* the request's transaction */
    bool mutation;         /* the transaction may write */
    int64_t now;           /* the request's clock, ms */
    const struct config *cfg;
    struct homeserver *hs; /* the homeserver's API (a blocking call: keep it short) */
    enum gql_requester kind;
    bool admin;                      /* an OAuth session with urn:mas:admin; never a browser */
    const struct storage_user *user; /* the requester's user, or NULL (anonymous, or an OAuth
                                      * session without a user) */
    struct storage_user user_row;
    struct storage_browser_session browser; /* GQL_REQUESTER_BROWSER */
    struct storage_oauth_session oauth;     /* GQL_REQUESTER_OAUTH */
    const char *ip;                         /* the client's address as text, "" when unknown */
    const char *user_agent;                 /* the request's User-Agent, "" without one */
    /* What a mutation asks the endpoint to do once the transaction has committed: */
    bool sign_out; /* the requester's own browser session was ended: the cookie forgets it */
    /* createOauth2Session (gql_admin.c): the devices of the session it made, created on the
     * homeserver (hs_device_create) before the answer; a failure ends the session and the answer
     * is the error "Failed to provision device" */
    struct gql_new_devices {
        struct storage_user user;
        char session_id[STORAGE_ID_SIZE];
        char ids[GQL_MAX_NEW_DEVICES][STORAGE_DEVICE_ID_MAX + 1];
        size_t n;
    } new_devices;
};

static inline struct gql_ctx *gql_ctx(const gql_resolve_info *info)
{
    return info->context;
}

/* A failure of storage (or of memory: r == -ENOMEM) inside a resolver: logged with
 * storage_last_error(), and the field's error says only "Internal error". Returns -1. */
int gql_storage_error(const gql_resolve_info *info, int r);

/* Whether the requester may see what belongs to user_id: its owner, or an admin (MAS:
 * Requester::is_owner_or_admin). Read access to another's object is a null, not an error. */
bool gql_owner_or_admin(const struct gql_ctx *c, const char *user_id);

/* A loader of Query.node for one type: 0 with *out the node (NULL when it does not exist or the
 * requester may not see it), or -1 after gql_error(). */
typedef int (*gql_node_loader)(const gql_resolve_info *info, const char *ulid, json_t **out);

struct gql_domain {
    const char *name;              /* "core", "sessions": for start-up messages */
    const gql_resolver *resolvers; /* NULL-terminated; may be NULL */
    struct {
        enum gql_node_type type;
        gql_node_loader load;
    } nodes[8]; /* the types it loads; ends at the first entry with load NULL */
};

/* The domains (gql_<domain>.c). gql_core.c binds Query.viewer, viewerSession, siteConfig,
 * oauth2Client, node; User.hasPassword, User.emails; BrowserSession.user, Oauth2Session.user,
 * Oauth2Session.client; and loads user, user_email and oauth2_client nodes. */
extern const struct gql_domain gql_core_domain;
/* gql_sessions.c binds User.browserSessions, User.appSessions, Query.session, the session objects'
 * looked-up fields and the five session mutations, and loads browser_session, compat_session and
 * oauth2_session nodes. */
extern const struct gql_domain gql_sessions_domain;
/* gql_profile.c: User.matrix, Query.userEmailAuthentication (and its nodes), and the mutations on
 * the display name, e-mail addresses, password, deactivation and the cross-signing reset, through
 * the account's changes (account.h). */
extern const struct gql_domain gql_profile_domain;
/* gql_recovery.c: Query.userRecoveryTicket, Mutation.setPasswordByRecovery and
 * resendRecoveryEmail (account recovery, recovery.h). */
extern const struct gql_domain gql_recovery_domain;
/* gql_admin.c: Mutation.createOauth2Session (an admin's OAuth client makes a session, and its
 * tokens, for a user). */
extern const struct gql_domain gql_admin_domain;

/* ---- objects shared between domains (gql_core.c) -------------------------------------------- */

/* The User object: {__typename, id, username, createdAt, lockedAt, canRequestAdmin}; its other
 * fields have resolvers. NULL when out of memory. */
json_t *gql_user_object(const struct storage_user *u);
/* The User object of user_id, if the requester may see it: 0 (*out NULL when not), or < 0. */
int gql_user_load(struct gql_ctx *c, const char *user_id, json_t **out);

/* The objects of the requester's own sessions, from their rows: {__typename, id, createdAt,
 * finishedAt, state, userAgent, lastActiveIp, lastActiveAt, (Oauth2Session:) scope, humanName}
 * and the hidden "_userId" ("_clientId") that BrowserSession.user, Oauth2Session.user and
 * Oauth2Session.client (bound in gql_core.c) read. NULL when out of memory. */
json_t *gql_browser_session_object(const struct storage_browser_session *s);
json_t *gql_oauth2_session_object(const struct storage_oauth_session *s);

/* Query.node's loaders come from these domains (graphql.c, at start-up). */
void gql_node_domains(const struct gql_domain *const *domains, size_t n);

/* ---- graphql.c: the endpoint ------------------------------------------------------------------ */

/* Builds the schema from schema.graphql and every domain's resolvers (start-up, --check). */
int human_graphql_init(void);
void human_graphql(struct masd_request *r); /* GET, POST, OPTIONS /graphql */
/* Another method on /graphql: 405 with a GraphQL error (JSON). */
void human_graphql_method_not_allowed(struct masd_request *r);
