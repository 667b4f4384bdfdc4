/* Requests: dispatch through the route table, the response API services use, access logging,
 * and handing slow work to the worker pool. */
#include <h2o.h>
#include "client_ip.h"
#include "http1_head.h"
#include "log.h"
#include "server_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_XFF     16
#define MAX_DISPOSE 2

struct job;

/* Lives in the request's pool; its dispose hook runs when h2o frees the request. */
struct request_state {
    struct masd_request mreq;
    h2o_req_t *req;
    const struct server_listener *listener;
    struct job *job; /* outstanding worker-pool job, if any */
    void (*dispose_fn[MAX_DISPOSE])(void *);
    void *dispose_arg[MAX_DISPOSE];
};

struct job {
    struct workpool_job base;    /* first */
    struct request_state *state; /* NULL once the request is gone */
    void (*work)(void *);
    void (*done)(struct masd_request *, void *);
    void *arg;
};

struct listener_handler {
    h2o_handler_t super;
    struct server_listener *l;
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 411:
        return "Length Required";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

static h2o_req_t *H(const struct masd_request *r)
{
    return ((const struct request_state *)r)->req;
}

static void log_request(struct request_state *st)
{
    h2o_req_t *req = st->req;
    struct access_entry e;
    e.status = req->res.status ? req->res.status : 499;
    struct timeval now;
    gettimeofday(&now, NULL);
    long long us = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000000LL +
                   (now.tv_usec - req->timestamps.request_begin_at.tv_usec);
    e.duration_us = us < 0 ? 0 : (unsigned)us;
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    e.method_len = req->method.len < sizeof(e.method) ? req->method.len : sizeof(e.method);
    memcpy(e.method, req->method.base, e.method_len);
    e.path_len = plen < sizeof(e.path) ? plen : sizeof(e.path);
    memcpy(e.path, req->path.base, e.path_len);
    e.listener = st->listener->label;
    addr_format(&st->mreq.client, e.client);
    access_log_push(&e);
}

static void on_request_dispose(void *p)
{
    struct request_state *st = p;
    if (st->job)
        st->job->state = NULL;
    for (int i = 0; i < MAX_DISPOSE; i++)
        if (st->dispose_fn[i])
            st->dispose_fn[i](st->dispose_arg[i]);
    log_request(st);
}

size_t server_xff_last(const h2o_headers_t *headers, masd_str *out, size_t max)
{
    size_t n = 0;
    for (size_t i = headers->size; i-- > 0 && n < max;) {
        const h2o_header_t *h = &headers->entries[i];
        if (h->name == &H2O_TOKEN_X_FORWARDED_FOR->buf)
            out[max - ++n] = (masd_str){h->value.base, h->value.len};
    }
    memmove(out, out + (max - n), n * sizeof(*out));
    return n;
}

static void resolve_client(struct request_state *st)
{
    h2o_req_t *req = st->req;
    struct sockaddr_storage ss;
    struct masd_addr peer = {.family = AF_UNSPEC};
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (len > 0)
        addr_from_sockaddr((struct sockaddr *)&ss, len, &peer);
    else
        peer.family = AF_UNIX; /* h2o reports no name for UNIX-socket peers */
    masd_str xff[MAX_XFF];
    size_t n = server_xff_last(&req->headers, xff, MAX_XFF);
    struct client_ip_input in = {
        .proxy_source = server_conn_is_proxied(req->conn) ? &peer : NULL,
        .peer = &peer,
        .xff = xff,
        .n_xff = n,
        .trusted = server.cfg->trusted_proxies,
        .n_trusted = server.cfg->n_trusted_proxies,
    };
    client_ip_resolve(&in, &st->mreq.client);
}

/* Strips the listener prefix: "/prefix" and "/prefix/..." match, "/prefixx" does not. */
static bool strip_prefix(const struct config_listener *l, masd_str *path)
{
    if (!l->prefix)
        return true;
    size_t n = strlen(l->prefix);
    if (path->len < n || memcmp(path->ptr, l->prefix, n) != 0 || (path->len > n && path->ptr[n] != '/'))
        return false;
    path->ptr += n;
    path->len -= n;
    if (path->len == 0)
        *path = MASD_STR("/");
    return true;
}

static void respond_404(struct masd_request *r)
{
    if (server.svc->not_found)
        server.svc->not_found(r);
    else
        masd_respond_not_found(r);
}

static void respond_405(struct masd_request *r, const char *allow)
{
    masd_add_header(r, "allow", masd_str_from(allow));
    if (server.svc->method_not_allowed)
        server.svc->method_not_allowed(r);
    else
        masd_respond_text(r, 405, "Method Not Allowed");
}

/* HTTP/1: h2o's parser is lenient (http1_head.c). The head is still at the start of the
 * connection's input buffer: h2o consumes a request's bytes only once it has been answered. */
static enum http1_head_verdict check_http1_head(h2o_req_t *req)
{
    if (req->version >= 0x200 || !req->conn->callbacks->get_socket)
        return HTTP1_HEAD_OK;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (!sock || !sock->input)
        return HTTP1_HEAD_OK;
    return http1_head_check(sock->input->bytes, sock->input->size, NULL);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct server_listener *l = ((struct listener_handler *)self)->l;
    struct request_state *st = h2o_mem_alloc_shared(&req->pool, sizeof(*st), on_request_dispose);
    memset(st, 0, sizeof(*st));
    st->req = req;
    st->listener = l;
    struct masd_request *r = &st->mreq;
    r->priv = st;
    r->listener = l->config;
    r->method = (masd_str){req->method.base, req->method.len};
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    r->path = (masd_str){req->path.base, plen};
    r->query = req->query_at != SIZE_MAX ? (masd_str){req->path.base + plen + 1, req->path.len - plen - 1}
                                         : (masd_str){"", 0};
    r->body = (masd_str){req->entity.base ? req->entity.base : "", req->entity.base ? req->entity.len : 0};
    r->version = req->version;
    r->https = l->ssl_ctx != NULL;
    resolve_client(st);
    enum http1_head_verdict framing = check_http1_head(req);
    if (framing != HTTP1_HEAD_OK) {
        req->http1_is_persistent = 0; /* what follows on this connection is never read */
        if (framing == HTTP1_HEAD_LENGTH_REQUIRED)
            masd_respond_text(r, 411, "Length Required: send the body with a Content-Length");
        else
            masd_respond_text(r, 400, "Bad Request: ambiguous HTTP/1 framing");
        return 0;
    }
    if (!strip_prefix(l->config, &r->path)) {
        respond_404(r);
        return 0;
    }
    for (size_t i = 0; i < l->n_routes; i++) {
        const struct served_route *sr = &l->routes[i];
        if (!route_matches(sr->route, r->path))
            continue;
        r->route = sr->route;
        r->resource = sr->resource;
        if (!route_allows(sr->route, r->method)) {
            respond_405(r, sr->route->methods);
            return 0;
        }
        sr->route->handler(r);
        return 0;
    }
    respond_404(r);
    return 0;
}

int server_request_setup(h2o_hostconf_t *host, struct server_listener *l)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    struct listener_handler *h = (struct listener_handler *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->l = l;
    return 0;
}

masd_str masd_req_header(const struct masd_request *r, const char *name, int *cursor)
{
    h2o_req_t *req = H(r);
    size_t len = strlen(name);
    const h2o_token_t *token = h2o_lookup_token(name, len);
    ssize_t i = token ? h2o_find_header(&req->headers, token, *cursor)
                      : h2o_find_header_by_str(&req->headers, name, len, *cursor);
    if (i < 0) {
        *cursor = -1;
        return (masd_str){NULL, 0};
    }
    *cursor = (int)i;
    return (masd_str){req->headers.entries[i].value.base, req->headers.entries[i].value.len};
}

void *masd_req_alloc(struct masd_request *r, size_t size)
{
    return h2o_mem_alloc_pool(&H(r)->pool, size);
}

void masd_req_on_dispose(struct masd_request *r, void (*fn)(void *), void *arg)
{
    struct request_state *st = r->priv;
    for (int i = 0; i < MAX_DISPOSE; i++)
        if (!st->dispose_fn[i]) {
            st->dispose_fn[i] = fn;
            st->dispose_arg[i] = arg;
            return;
        }
    abort(); /* a programming error: more hooks than MAX_DISPOSE */
}

void masd_add_header(struct masd_request *r, const char *name, masd_str value)
{
    h2o_req_t *req = H(r);
    char *v = h2o_mem_alloc_pool(&req->pool, value.len + 1);
    memcpy(v, value.ptr, value.len);
    v[value.len] = '\0';
    size_t len = strlen(name);
    const h2o_token_t *token = h2o_lookup_token(name, len);
    if (token) { /* a known name is static: no copy */
        h2o_add_header(&req->pool, &req->res.headers, token, NULL, v, value.len);
        return;
    }
    char *n = h2o_strdup(&req->pool, name, len).base;
    h2o_add_header_by_str(&req->pool, &req->res.headers, n, len, 0, NULL, v, value.len);
}

void masd_respond(struct masd_request *r, int status, const char *content_type, masd_str body)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = H(r);
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    /* 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6). */
    bool bodiless = status == 204 || status == 304;
    req->res.content_length = bodiless ? SIZE_MAX : body.len;
    if (content_type)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                       strlen(content_type));
    h2o_start_response(req, &generator);
    bool head = req->method.len == 4 && memcmp(req->method.base, "HEAD", 4) == 0;
    h2o_iovec_t buf = h2o_iovec_init(body.ptr, body.len);
    h2o_send(req, &buf, head || bodiless || body.len == 0 ? 0 : 1, H2O_SEND_STATE_FINAL);
}

void masd_respond_text(struct masd_request *r, int status, const char *text)
{
    size_t n = strlen(text);
    char *copy = masd_req_alloc(r, n + 1);
    memcpy(copy, text, n);
    copy[n] = '\n';
    masd_respond(r, status, "text/plain; charset=utf-8", (masd_str){copy, n + 1});
}

bool masd_cors(struct masd_request *r, const char *allow_headers)
{
    masd_add_header(r, "access-control-allow-origin", MASD_STR("*"));
    if (!masd_str_eq(r->method, MASD_STR("OPTIONS")))
        return false;
    masd_add_header(r, "access-control-allow-methods", MASD_STR("*"));
    masd_add_header(r, "access-control-allow-headers", masd_str_from(allow_headers));
    masd_add_header(r, "access-control-max-age", MASD_STR("3600"));
    masd_respond(r, 204, NULL, MASD_STR(""));
    return true;
}

void masd_respond_not_found(struct masd_request *r)
{
    static const char page[] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<title>Not found</title></head><body><h1>Page not found</h1>"
                               "<p>The page you were looking for does not exist.</p></body></html>\n";
    masd_respond(r, 404, "text/html; charset=utf-8", MASD_STR(page));
}

static void job_work(struct workpool_job *base)
{
    struct job *job = (struct job *)base;
    job->work(job->arg);
}

void server_jobs_received(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
        struct job *job = (struct job *)msg;
        struct request_state *st = job->state;
        if (st)
            st->job = NULL;
        job->done(st ? &st->mreq : NULL, job->arg);
        free(job);
        atomic_fetch_sub(&server_jobs_outstanding, 1);
    }
}

static enum masd_defer_status defer_on(struct workpool *pool, struct masd_request *r, void (*work)(void *arg),
                                       void (*done)(struct masd_request *req, void *arg), void *arg)
{
    struct request_state *st = r->priv;
    struct job *job = calloc(1, sizeof(*job));
    if (!job)
        return MASD_DEFER_FULL;
    job->base.work = job_work;
    job->base.reply_to = server_job_receiver(st->req->conn->ctx);
    job->state = st;
    job->work = work;
    job->done = done;
    job->arg = arg;
    atomic_fetch_add(&server_jobs_outstanding, 1);
    if (workpool_submit(pool, &job->base) < 0) {
        atomic_fetch_sub(&server_jobs_outstanding, 1);
        free(job);
        return MASD_DEFER_FULL;
    }
    st->job = job;
    return MASD_DEFER_QUEUED;
}

enum masd_defer_status masd_defer(struct masd_request *r, void (*work)(void *arg),
                                  void (*done)(struct masd_request *req, void *arg), void *arg)
{
    return defer_on(server.pool, r, work, done, arg);
}

enum masd_defer_status masd_defer_cpu(struct masd_request *r, void (*work)(void *arg),
                                      void (*done)(struct masd_request *req, void *arg), void *arg)
{
    return defer_on(server.cpu_pool, r, work, done, arg);
}

enum masd_defer_status masd_defer_outbound(struct masd_request *r, void (*work)(void *arg),
                                           void (*done)(struct masd_request *req, void *arg), void *arg)
{
    return server.outbound_pool ? defer_on(server.outbound_pool, r, work, done, arg) : MASD_DEFER_FULL;
}
