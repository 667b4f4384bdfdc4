/* Shared between the parts of the server module; nothing outside common/http/server*.c includes it. */
#pragma once
#include <h2o.h>
#include "listener.h"
#include "server.h"
#include "workpool.h"
#include <openssl/ssl.h>
#include <stdatomic.h>

/* What one listener serves: its routes bound to this binary's handlers. */
struct served_route {
    const struct masd_route *route;
    const struct config_resource *resource;
};

struct server_listener {
    const struct config_listener *config;
    struct served_route *routes;
    size_t n_routes;
    h2o_hostconf_t *hosts[2];
    SSL_CTX *ssl_ctx;  /* NULL for plain listeners */
    const char *label; /* listener name for logs */
};

struct server_options {
    unsigned threads;
    unsigned max_connections;
    unsigned exit_idle_seconds; /* 0 = never */
    unsigned worker_threads;
    unsigned worker_queue;
};

struct server {
    const struct masd_service *svc;
    const struct config *cfg;
    struct server_options opt;
    struct server_listener *listeners; /* one per served config listener */
    size_t n_listeners;
    struct listen_socket *socks;
    size_t n_socks;
    size_t *sock_listener; /* index into listeners[] for each socket */
    h2o_globalconf_t globalconf;
    struct workpool *pool;          /* storage round trips and other waiting: masd_defer() */
    struct workpool *cpu_pool;      /* one low-priority thread for hashing: masd_defer_cpu() */
    struct workpool *outbound_pool; /* calls to other servers: masd_defer_outbound(), when svc->outbound */
};

extern struct server server;
extern atomic_uint server_connections;      /* open connections, all threads */
extern atomic_llong server_last_activity;   /* monotonic ms of the last accept or close */
extern atomic_uint server_jobs_outstanding; /* deferred jobs not yet back on their loop */

/* server_request.c */
/* The last `max` X-Forwarded-For values of a request, in order, into out[]; returns how many.
 * The last ones are the nearest hops: a trusted proxy appends its line after any the client
 * sent, so a client's extra lines can only push its own ones out. */
size_t server_xff_last(const h2o_headers_t *headers, masd_str *out, size_t max);
int server_request_setup(h2o_hostconf_t *host, struct server_listener *l);
void server_jobs_received(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* tls.c */
int tls_context_create(const struct config_tls *tls, bool http2, SSL_CTX **out);

/* server.c */
int server_threads_start(void);
void server_threads_stop(void);
bool server_conn_is_proxied(h2o_conn_t *conn);
h2o_multithread_receiver_t *server_job_receiver(h2o_context_t *ctx);
