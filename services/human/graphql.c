/* GET and POST /graphql (resource `graphql`): MAS's GraphQL API for its account pages, on masd's
 * engine (common/graphql/, docs/graphql.md "The endpoint").
 *
 * On the loop: CORS (any origin, no credentials, as MAS), who asks (a Bearer token, only when the
 * listener's graphql resource sets undocumented_oauth2_access, else the `session` cookie), the
 * CSRF rule for a request that carries the cookie, then gql_http_handle(): the HTTP request read,
 * the document parsed, validated and held to the caps, without touching storage. On the worker
 * pool, in one transaction (read-only for a query, read-write for a mutation): the requester
 * loaded, then the operation executed by the domains' resolvers.
 *
 * The CSRF rule (MAS has none: it trusts SameSite=Lax and CORS): a request that carries the
 * `session` cookie is answered only when it provably comes from our own pages: a POST must say
 * Content-Type application/json (a type no HTML form can send without a CORS preflight) and send
 * an Origin equal to public_base's; a GET (queries only: the engine refuses a mutation over GET
 * with 405) must send that Origin or Sec-Fetch-Site: same-origin (browsers send no Origin on a
 * same-origin GET). Anything else is 403 with a GraphQL error, before any document is read. */
#include "activity.h"
#include "clock.h"
#include "gql.h"
#include "graphql_http.h"
#include "hs_sync.h"
#include "human_schema.h"
#include "log.h"
#include "token.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The domains of the schema; a new one is one line here. */
static const struct gql_domain *const domains[] = {
    &gql_core_domain, &gql_sessions_domain, &gql_profile_domain, &gql_recovery_domain, &gql_admin_domain,
};
#define N_DOMAINS (sizeof(domains) / sizeof(domains[0]))

static gql_schema *schema;
static gql_resolver *resolvers; /* every domain's, one table (the schema keeps pointers into it) */

int human_graphql_init(void)
{
    size_t n = 0;
    for (size_t d = 0; d < N_DOMAINS; d++)
        for (const gql_resolver *r = domains[d]->resolvers; r && r->field; r++)
            n++;
    if (!(resolvers = calloc(n + 1, sizeof(*resolvers))))
        return log_errno(-ENOMEM, "out of memory");
    n = 0;
    for (size_t d = 0; d < N_DOMAINS; d++)
        for (const gql_resolver *r = domains[d]->resolvers; r && r->field; r++)
            resolvers[n++] = *r;
    gql_node_domains(domains, N_DOMAINS);
    char *error = NULL;
    int r = gql_schema_build(
        &(gql_schema_def){human_schema_graphql, human_schema_graphql_len, resolvers, gql_scalars}, &schema,
        &error);
    if (r < 0) {
        log_error("graphql: services/human/schema.graphql: %s", error ? error : "out of memory");
        free(error);
        return r;
    }
    return 0;
}

/* ---- answers ---------------------------------------------------------------------------------- */

static void send_json(struct masd_request *r, int status, gql_media media, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    masd_add_header(r, "cache-control", MASD_STR("no-store"));
    if (!text) {
        masd_respond(r, 500, gql_http_content_type(GQL_MEDIA_JSON),
                     MASD_STR("{\"errors\":[{\"message\":\"Internal error\"}]}"));
        return;
    }
    size_t len = strlen(text);
    char *copy = masd_req_alloc(r, len);
    memcpy(copy, text, len);
    free(text);
    masd_respond(r, status, gql_http_content_type(media), (masd_str){copy, len});
}

/* A refusal before any GraphQL runs: {"errors": [{"message"}]} as application/json. */
static void send_error(struct masd_request *r, int status, const char *message)
{
    if (status == 401) /* a Bearer token refused (RFC 6750 §3.1; MAS sends no challenge) */
        masd_add_header(r, "www-authenticate", MASD_STR("Bearer error=\"invalid_token\""));
    send_json(r, status, GQL_MEDIA_JSON, json_pack("{s:[{s:s}]}", "errors", "message", message));
}

void human_graphql_method_not_allowed(struct masd_request *r)
{
    send_error(r, 405, "GraphQL is served over GET (queries) and POST only");
}

/* ---- the request ------------------------------------------------------------------------------ */

struct gql_job {
    gql_http_answer answer;
    struct browser browser;
    char *token; /* the Bearer token, or NULL */
    struct gql_ctx ctx;
    struct gql_works works; /* kept across the document's runs */
    char ip[MASD_ADDR_STRLEN];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    /* outcome */
    json_t *response;
    int status;          /* 0: 200 with the response */
    const char *refusal; /* with status: why */
};

static void job_free(struct gql_job *j)
{
    gql_http_answer_free(&j->answer);
    json_decref(j->response);
    gql_works_free(j->works.before);
    gql_works_free(j->works.after);
    free(j->token);
    free(j);
}

/* The Bearer token's OAuth session (MAS: graphql/mod.rs get_requester): 0, or 1 with
 * j->status/refusal set. */
static int load_bearer(struct storage_tx *tx, struct gql_job *j)
{
    struct storage_oauth_access_lookup l;
    struct gql_ctx *c = &j->ctx;
    int r = storage_oauth_access_token_lookup(tx, j->token, &l);
    if (r < 0 && r != -ENOENT)
        return r;
    if (r == -ENOENT || l.token.revoked_at || (l.token.expires_at && l.token.expires_at <= c->now) ||
        l.session.finished_at || (l.has_user && (l.user.locked_at || l.user.deactivated_at))) {
        j->status = 401, j->refusal = "Invalid token";
        return 1;
    }
    if (!masd_words_contain(l.session.scope, "urn:mas:graphql:*")) {
        j->status = 401, j->refusal = "Missing urn:mas:graphql:* scope";
        return 1;
    }
    c->kind = GQL_REQUESTER_OAUTH;
    c->oauth = l.session;
    c->admin = masd_words_contain(l.session.scope, "urn:mas:admin");
    if (l.has_user) {
        c->user_row = l.user;
        c->user = &c->user_row;
    }
    return 0;
}

/* run_tx's answer when the document must run again (gql.h, gql_work_before): not an errno
 * storage_tx would retry. */
#define RUN_AGAIN (-ECANCELED)

static int run_tx(struct storage_tx *tx, void *arg)
{
    struct gql_job *j = arg;
    struct gql_ctx *c = &j->ctx;
    /* storage_tx may run this again, and so may run_work: start afresh (but for the work done
     * before the transaction, which the resolvers look for) */
    json_decref(j->response);
    j->response = NULL;
    j->status = 0, j->refusal = NULL;
    gql_works_free(j->works.after);
    j->works.after = NULL;
    j->works.rerun = false;
    *c = (struct gql_ctx){.tx = tx,
                          .works = &j->works,
                          .mutation = j->answer.operation == GQL_MUTATION,
                          .now = masd_now(),
                          .cfg = human.cfg,
                          .hs = human.hs,
                          .ip = j->ip,
                          .user_agent = j->user_agent};
    int r;
    if (j->token) {
        if ((r = load_bearer(tx, j)) != 0)
            return r < 0 ? r : 0;
    } else {
        if ((r = browser_load(tx, &j->browser)) < 0)
            return r;
        if (j->browser.state == BROWSER_ACTIVE) {
            c->kind = GQL_REQUESTER_BROWSER;
            c->browser = j->browser.session;
            c->user_row = j->browser.user;
            c->user = &c->user_row;
        }
    }
    if (!(j->response = gql_run(j->answer.prepared, c)))
        return -ENOMEM;
    /* a resolver asked for work before the transaction: roll back, and run_work goes on */
    return j->works.rerun ? RUN_AGAIN : 0;
}

/* The works asked for before the transaction and not run yet. */
static void run_before(struct gql_job *j)
{
    for (struct gql_work *w = j->works.before; w; w = w->next)
        if (!w->done) {
            w->run(w);
            w->done = true;
        }
}

/* The works asked for after the commit; a failed one turns the answer into its error (gql.h). */
static void run_after(struct gql_job *j)
{
    json_t *errors = NULL;
    for (struct gql_work *w = j->works.after; w; w = w->next) {
        w->error[0] = '\0';
        w->run(w);
        w->done = true;
        if (w->error[0] && (errors || (errors = json_array())))
            json_array_append_new(errors, json_pack("{s:s, s:O}", "message", w->error, "path", w->path));
    }
    if (!errors)
        return;
    json_decref(j->response);
    j->response = json_pack("{s:n, s:o}", "data", "errors", errors);
    if (!j->response)
        j->status = 500, j->refusal = "Internal error";
}

static void run_work(void *arg)
{
    struct gql_job *j = arg;
    unsigned flags =
        j->answer.operation == GQL_MUTATION ? STORAGE_TX_WRITE | STORAGE_TX_DURABLE : STORAGE_TX_READ;
    int r;
    for (unsigned run = 1;; run++) {
        r = storage_tx(human.st, flags, run_tx, j);
        if (r != RUN_AGAIN)
            break;
        if (run == GQL_WORK_MAX_RUNS) { /* changes that keep undoing each other's checks */
            log_warn("graphql: the mutation still asked for work after %u runs", run);
            json_decref(j->response);
            j->response =
                json_pack("{s:n, s:[{s:s}]}", "data", "errors", "message",
                          "The changes in this request depend on each other; send them one at a time");
            if (!j->response)
                j->status = 500, j->refusal = "Internal error";
            return;
        }
        run_before(j); /* outside any transaction: no lock is held */
    }
    if (r < 0) {
        log_error("graphql: %s", storage_last_error());
        json_decref(j->response);
        j->response = NULL;
        j->status = 500, j->refusal = "Internal error";
        return;
    }
    run_after(j);
}

static void run_done(struct masd_request *r, void *arg)
{
    struct gql_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    if (j->status) {
        send_error(r, j->status, j->refusal);
    } else {
        const struct gql_ctx *c = &j->ctx;
        if (c->kind == GQL_REQUESTER_BROWSER)
            activity_note(STORAGE_SESSION_BROWSER, c->browser.id, c->now, c->ip);
        else if (c->kind == GQL_REQUESTER_OAUTH)
            activity_note(STORAGE_SESSION_OAUTH, c->oauth.id, c->now, c->ip);
        if (c->sign_out)
            browser_set_session(r, NULL);
        send_json(r, 200, j->answer.media, j->response);
        j->response = NULL;
    }
    job_free(j);
}

/* The Authorization header's Bearer token: 1 (*token malloc'd), 0 without the header, -EINVAL
 * for another scheme, a malformed or repeated header, or a token not in MAS's format. */
static int bearer_token(struct masd_request *r, char **token)
{
    int cursor = -1;
    masd_str v = masd_req_header(r, "authorization", &cursor);
    if (!v.ptr)
        return 0;
    if (masd_req_header(r, "authorization", &cursor).ptr)
        return -EINVAL;
    masd_str scheme, rest = masd_str_trim(v);
    masd_str_next(&rest, ' ', &scheme);
    rest = masd_str_trim(rest);
    if (!masd_str_caseeq(scheme, MASD_STR("Bearer")) || !rest.ptr ||
        token_check(rest.ptr, rest.len, NULL) < 0)
        return -EINVAL;
    return (*token = strndup(rest.ptr, rest.len)) ? 1 : -ENOMEM;
}

/* The one value of header `name`, or {NULL, 0} when absent or repeated. */
static masd_str single_header(struct masd_request *r, const char *name)
{
    int cursor = -1;
    masd_str v = masd_req_header(r, name, &cursor);
    if (v.ptr && masd_req_header(r, name, &cursor).ptr)
        return (masd_str){NULL, 0};
    return v;
}

/* The CSRF rule for a request carrying the session cookie (top of this file): NULL when it may
 * go on, else why not. */
static const char *csrf_refusal(struct masd_request *r)
{
    masd_str origin = single_header(r, "origin");
    bool same_origin = origin.ptr && masd_str_eq(origin, masd_str_from(human.origin));
    if (masd_str_eq(r->method, MASD_STR("POST"))) {
        int cursor = -1;
        if (!masd_media_type_is(masd_req_header(r, "content-type", &cursor), MASD_STR("application/json")))
            return "A request with the session cookie must have Content-Type application/json";
        return same_origin ? NULL
                           : "A request with the session cookie must come from this server's own origin";
    }
    if (same_origin)
        return NULL;
    masd_str site = single_header(r, "sec-fetch-site");
    if (!origin.ptr && site.ptr && masd_str_eq(site, MASD_STR("same-origin")))
        return NULL;
    return "A request with the session cookie must come from this server's own origin";
}

void human_graphql(struct masd_request *r)
{
    if (masd_cors(r, "authorization, accept, content-type"))
        return;
    const struct config_resource *res = r->resource;
    struct gql_job *j = calloc(1, sizeof(*j));
    if (!j) {
        send_error(r, 500, "Internal error");
        return;
    }
    int b = bearer_token(r, &j->token);
    if (b < 0 || (b > 0 && !(res && res->undocumented_oauth2_access))) {
        job_free(j);
        send_error(r, b == -ENOMEM ? 500 : 401,
                   b == -ENOMEM ? "Internal error"
                   : b < 0      ? "Invalid token"
                                : "Bearer tokens are not accepted here: the listener's graphql resource does "
                                  "not set undocumented_oauth2_access");
        return;
    }
    if (!j->token) {
        browser_read_cookie(r, &j->browser);
        const char *why = j->browser.cookie.current[0] ? csrf_refusal(r) : NULL;
        if (why) {
            job_free(j);
            send_error(r, 403, why);
            return;
        }
    }
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));

    masd_str accept[16];
    size_t naccept = 0;
    int cursor = -1, ct_cursor = -1;
    for (masd_str v; naccept < 16 && (v = masd_req_header(r, "accept", &cursor)).ptr;)
        accept[naccept++] = v;
    masd_str ct = masd_req_header(r, "content-type", &ct_cursor);
    gql_http_in in = {
        .method = r->method,
        .query_string = r->query,
        .content_type = ct.ptr ? ct : MASD_STR(""),
        .accept = accept,
        .naccept = naccept,
        .body = r->body,
    };
    gql_limits limits = {.no_introspection = res && !res->introspection};
    if (gql_http_handle(schema, &limits, &in, &j->answer) < 0) {
        job_free(j);
        send_error(r, 500, "Internal error");
        return;
    }
    if (!j->answer.prepared) {
        if (j->answer.allow)
            masd_add_header(r, "allow", masd_str_from(j->answer.allow));
        send_json(r, j->answer.status, j->answer.media, json_incref(j->answer.body));
        job_free(j);
        return;
    }
    if (masd_defer(r, run_work, run_done, j) == MASD_DEFER_FULL) {
        job_free(j);
        masd_add_header(r, "retry-after", MASD_STR("1"));
        send_error(r, 503, "The server is busy; try again");
    }
}
