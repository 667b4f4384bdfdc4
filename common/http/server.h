/* The HTTP server every masd binary runs (docs/architecture.md §4). All h2o calls live behind this header:
 * services see plain requests and answer through masd_respond(). */
#pragma once
#include "addr.h"
#include "config.h"
#include "route.h"
#include "str.h"

struct masd_request {
    masd_str method;
    masd_str path;  /* below the listener prefix, without the query; not percent-decoded */
    masd_str query; /* after '?', empty when none */
    masd_str body;
    int version; /* 0x100, 0x101, 0x200 */
    bool https;
    const struct config_listener *listener;
    const struct config_resource *resource; /* the resource of the matched route */
    const struct masd_route *route;
    struct masd_addr client; /* docs/architecture.md §3 */
    void *priv;              /* the server's own state; do not touch */
};

struct masd_service {
    const char *name;                /* "masd-discovery" */
    const char *summary;             /* one line for --help */
    const char *const *resources;    /* NULL-terminated: the resources this binary owns */
    const struct masd_route *routes; /* the route table, terminated by {0}; route.h */
    /* After the config is loaded, before listeners open. Not run by --check. */
    int (*setup)(const struct config *cfg);
    /* --check runs this instead of setup: it validates what setup would use, and touches no
     * state: no database opened or created, no thread started, no file written. May be NULL
     * (the config alone is checked); a stateless service may give its setup. */
    int (*check)(const struct config *cfg);
    /* SIGHUP (systemctl reload); may be NULL. Runs on the main thread while loops serve. */
    int (*reload)(const struct config *cfg);
    /* After the loops and the worker pool stopped, before exit (flush what is held in memory,
     * such as session activity); may be NULL. */
    void (*shutdown)(void);
    /* The health route's check (docs/architecture.md §1: DB-backed binaries answer 500 when the database
     * is unreachable); may be NULL (always healthy). Runs on the worker pool, never on a loop:
     * returns 0 when healthy, a negative errno otherwise. */
    int (*health)(void);
    /* Answers a method the matched route does not allow, in the route's own error format (the
     * Allow header is already set); may be NULL: plain text. */
    void (*method_not_allowed)(struct masd_request *req);
    /* Answers a path no route serves (masd-human: its HTML error page); may be NULL:
     * masd_respond_not_found(). */
    void (*not_found)(struct masd_request *req);
    /* The service uses no secret (masd-discovery, masd-assets): the config is loaded with
     * CONFIG_NO_SECRETS, so that the unit need not pass it the secret files (units/README.md). */
    bool no_secrets;
    /* The service calls other servers (the homeserver) while answering: it gets a pool for
     * those calls, masd_defer_outbound(). */
    bool outbound;
    /* The largest request body h2o reads for this service (0: MASD_MAX_REQUEST_BODY). h2o reads a
     * body whole before any handler runs, so this bounds what a flood of half-sent bodies costs;
     * a larger Content-Length is refused at once with h2o's plain 413. Routes with a lower limit
     * of their own answer it in their own format, so keep it above those. */
    size_t max_request_body;
};

#define MASD_MAX_REQUEST_BODY (1024 * 1024)

/* Parses the command line and runs the service. Returns the process exit status. */
int masd_main(int argc, char **argv, const struct masd_service *svc);

/* Request headers: `name` in lower case. Start with *cursor = -1; returns {NULL, 0} when there is
 * no further value. */
masd_str masd_req_header(const struct masd_request *req, const char *name, int *cursor);

/* Memory that lives as long as the request. */
void *masd_req_alloc(struct masd_request *req, size_t size);
/* Runs fn(arg) when the request is freed (finished, or reset by the client). */
void masd_req_on_dispose(struct masd_request *req, void (*fn)(void *), void *arg);

/* Adds a response header; `name` in lower case; both copied. */
void masd_add_header(struct masd_request *req, const char *name, masd_str value);

/* Sends the response with a Content-Length. `body` must outlive the request (static, request
 * memory, or kept alive through masd_req_on_dispose). For HEAD the body is not sent.
 * content_type may be NULL. */
void masd_respond(struct masd_request *req, int status, const char *content_type, masd_str body);
/* A short text/plain response (copied). */
void masd_respond_text(struct masd_request *req, int status, const char *text);
/* CORS as MAS does it: any origin; an OPTIONS preflight is answered here (204, any method, the
 * given request headers, max-age one hour) and then true is returned: the handler is done. */
bool masd_cors(struct masd_request *req, const char *allow_headers);

/* The HTML "not found" page. */
void masd_respond_not_found(struct masd_request *req);

/* Runs work(arg) on the process's bounded worker pool, then done(req, arg) back on the request's
 * loop thread. If the request was freed in between (client gone, HTTP/2 reset), done runs with
 * req == NULL and must only free arg. MASD_DEFER_FULL: the queue is full, nothing was queued and
 * done will not run; answer 429/503 in the route's error format. One job per request at a time. */
enum masd_defer_status { MASD_DEFER_QUEUED, MASD_DEFER_FULL };
enum masd_defer_status masd_defer(struct masd_request *req, void (*work)(void *arg),
                                  void (*done)(struct masd_request *req, void *arg), void *arg);

/* The same for CPU-heavy work (password hashing): one low-priority thread behind a queue of
 * MASD_CPU_QUEUE, so a login storm queues here instead of taking the cores from the event loops
 * or the worker pool from introspection. MASD_DEFER_FULL: answer 429; a slot frees up within
 * about MASD_CPU_RETRY_AFTER_MS. */
#define MASD_CPU_QUEUE          4
#define MASD_CPU_RETRY_AFTER_MS (MASD_CPU_QUEUE * 50) /* argon2id with MAS's parameters, with margin */
enum masd_defer_status masd_defer_cpu(struct masd_request *req, void (*work)(void *arg),
                                      void (*done)(struct masd_request *req, void *arg), void *arg);

/* The same for calls to other servers (svc->outbound): a pool of its own, so a slow homeserver
 * holds up the logins that wait for it, never introspection or the database work of others.
 * Each call is bounded by its own timeout (HOMESERVER_TIMEOUT_MS). */
#define MASD_OUTBOUND_THREADS 16
#define MASD_OUTBOUND_QUEUE   256
enum masd_defer_status masd_defer_outbound(struct masd_request *req, void (*work)(void *arg),
                                           void (*done)(struct masd_request *req, void *arg), void *arg);
