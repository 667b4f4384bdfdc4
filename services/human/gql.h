/* masd-human's GraphQL API at /graphql (resource `graphql`; docs/graphql.md, "The endpoint"):
 * what a domain of the schema (services/human/schema.graphql) needs to add its resolvers.
 *
 * Every resolver runs on the worker pool inside the request's one storage transaction (read-only
 * for a query, read-write for a mutation; slow work of a mutation goes outside it, below) and is
 * given the requester as info->context (struct gql_ctx). A domain is one file, gql_<domain>.c, exporting one
 * `struct gql_domain`: its NULL-terminated resolver table and the node types it loads for Query.node;
 * graphql.c lists the domains (adding one is one line there and one in meson.build). */
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

/* ---- slow work outside the transaction (docs/graphql.md "Slow work") ---------------------------
 *
 * A mutation runs in one write transaction, and on SQLite that holds the database's one write
 * lock: nothing slow may happen inside it, no password hash and no call to the homeserver. A
 * resolver hands such work to the endpoint as a gql_work, to run on the worker thread outside
 * any transaction, at one of two times:
 *
 *  - before the transaction (gql_work_before): the endpoint rolls the transaction back, runs the
 *    work, then runs the whole document again in a new transaction. On that run the resolver
 *    finds its work done (gql_work_done, by the field's response path) and decides against the
 *    database as it is now: what the work was based on may have changed meanwhile, and then it
 *    asks again. A document runs at most GQL_WORK_MAX_RUNS times and asks for at most
 *    GQL_WORK_MAX works in all.
 *  - after the commit (gql_work_after): the work runs before the answer is sent; when it fails
 *    (it sets error), the answer is {"data": null, "errors": [{message, path}]}, as for a
 *    non-null mutation field that failed.
 *
 * A query runs in a read transaction, which holds no lock: its resolvers do their work inline. */
#define GQL_WORK_MAX_RUNS 4
#define GQL_WORK_MAX      32

struct gql_work {
    struct gql_work *next;
    /* set by the resolver */
    void (*run)(struct gql_work *w);  /* outside any transaction, on the worker thread */
    void (*free)(struct gql_work *w); /* frees what it holds, and w (NULL: free(w)) */
    /* set by the endpoint */
    json_t *path; /* the field's response path */
    char *key;    /* the path as JSON text, for gql_work_done */
    bool done;
    char error[200]; /* an after-commit work's failure: the field's error message ("" none) */
};

/* The works of one request, kept across the document's runs (the endpoint's). */
struct gql_works {
    struct gql_work *before, *after; /* in the order asked */
    unsigned n;                      /* asked in all */
    bool rerun;                      /* this run asked for work before the transaction */
};

/* Hands w (allocated by the caller, taken in every case) to the endpoint to run before the
 * transaction. The resolver then returns 0 with *out NULL: the run's answer is thrown away. 0, or
 * -1 after an error (too many works, or out of memory). Only in a mutation. */
int gql_work_before(const gql_resolve_info *info, struct gql_work *w);
/* The work this field handed to gql_work_before on an earlier run, done; NULL when there is
 * none (the first run). */
struct gql_work *gql_work_done(const gql_resolve_info *info);
/* Hands w (taken in every case) to the endpoint to run after the commit. 0, or -1 after an
 * error. Only in a mutation. */
int gql_work_after(const gql_resolve_info *info, struct gql_work *w);
/* Frees a list of works. */
void gql_works_free(struct gql_work *list);

/* A resolver's info->context. */
struct gql_ctx {
    struct storage_tx *tx; /* the request's transaction */
    bool mutation;         /* the transaction may write */
    int64_t now;           /* the request's clock, ms */
    const struct config *cfg;
    struct homeserver *hs; /* the homeserver's API: a blocking call, which a mutation makes
                            * outside its transaction (gql_work) */
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
    bool sign_out;           /* the requester's own browser session was ended: the cookie forgets it */
    struct gql_works *works; /* work outside the transaction (above) */
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
