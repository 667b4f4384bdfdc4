/* The event loops: one thread per CPU, each with its own h2o context and a dup of every
 * listening socket. Connections go through our own front end (PROXY header, then TLS, then the
 * HTTP/1 or HTTP/2 layer of h2o) under one handshake deadline. */
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include "clock.h"
#include "log.h"
#include "proxy_protocol.h"
#include "server_internal.h"
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_BATCH     16
#define DRAIN_MS         1500 /* SIGTERM: in-flight requests get this long; exit within 2 s */
#define SHUTDOWN_IDLE_MS 100  /* SIGTERM: idle keep-alive connections close after this */

struct server server;
atomic_uint server_connections;
atomic_llong server_last_activity;
atomic_uint server_jobs_outstanding;

struct thread;

struct thread_listener {
    struct thread *t;
    const struct server_listener *l;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *sock;
};

struct thread {
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    struct thread_listener *listeners;
    size_t n_listeners;
    h2o_multithread_receiver_t wake_receiver;
    h2o_multithread_receiver_t job_receiver;
    h2o_timeout_t handshake_timeout;
    unsigned connections;
    unsigned max_connections;
    bool paused; /* not accepting: at the connection cap */
};

/* A connection until h2o's HTTP layer takes it over (and the counter entry until it closes). */
struct conn {
    struct thread_listener *tl;
    h2o_socket_t *sock;
    h2o_timeout_entry_t deadline;
    struct timeval connected_at;
    bool proxy_done; /* the PROXY header was read */
    bool proxied;    /* ... and it named the client: that address is the client, full stop */
};

static void on_accept(h2o_socket_t *listener, const char *err);

static struct thread *threads;
static atomic_bool stopping;
static pthread_barrier_t started;

static void set_accepting(struct thread *t, bool on)
{
    for (size_t i = 0; i < t->n_listeners; i++) {
        if (!t->listeners[i].sock)
            continue;
        if (on)
            h2o_socket_read_start(t->listeners[i].sock, on_accept);
        else
            h2o_socket_read_stop(t->listeners[i].sock);
    }
    t->paused = !on;
}

static void on_conn_close(void *data)
{
    struct conn *c = data;
    struct thread *t = c->tl->t;
    h2o_timeout_unlink(&c->deadline);
    free(c);
    t->connections--;
    atomic_fetch_sub(&server_connections, 1);
    atomic_store(&server_last_activity, masd_monotonic_ms());
    if (t->paused && t->connections < t->max_connections && !atomic_load(&stopping))
        set_accepting(t, true);
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    struct conn *c = H2O_STRUCT_FROM_MEMBER(struct conn, deadline, entry);
    h2o_socket_close(c->sock);
}

static void start_http(struct conn *c, h2o_socket_t *sock, bool http2)
{
    h2o_timeout_unlink(&c->deadline);
    if (http2)
        h2o_http2_accept(&c->tl->accept_ctx, sock, c->connected_at);
    else
        h2o_http1_accept(&c->tl->accept_ctx, sock, c->connected_at);
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct conn *c = sock->on_close.data;
    if (err) {
        h2o_socket_close(sock);
        return;
    }
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    start_http(c, sock, proto.len == 2 && memcmp(proto.base, "h2", 2) == 0);
}

/* After the PROXY header, if any. ALPN then chooses HTTP/2 or HTTP/1.1. */
static void start_tls(struct conn *c, h2o_socket_t *sock)
{
    h2o_socket_ssl_handshake(sock, c->tl->l->ssl_ctx, NULL, on_handshake);
}

static socklen_t to_sockaddr(const struct masd_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a->bytes, 4);
        return sizeof(*s4);
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a->bytes, 16);
    return sizeof(*s6);
}

/* What the first bytes of a plain connection ask for: HTTP/2 with prior knowledge starts with
 * "PRI * HTTP/2.0". h2o's HTTP/1 layer would take that only through the Upgrade switch we keep
 * off, so we route it here: to HTTP/2 where the listener opted in, else we close. */
enum first_bytes { FIRST_NEED_MORE, FIRST_HTTP1, FIRST_HTTP2, FIRST_REFUSE };

static enum first_bytes classify_first_bytes(const struct server_listener *l, h2o_socket_t *sock)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n";
    size_t n = sock->input->size < sizeof(preface) - 1 ? sock->input->size : sizeof(preface) - 1;
    if (n == 0)
        return FIRST_NEED_MORE;
    if (memcmp(sock->input->bytes, preface, n) != 0)
        return FIRST_HTTP1;
    if (n < sizeof(preface) - 1)
        return FIRST_NEED_MORE;
    return l->config->http2 ? FIRST_HTTP2 : FIRST_REFUSE;
}

static void on_first_bytes(h2o_socket_t *sock, const char *err)
{
    struct conn *c = sock->on_close.data;
    const struct server_listener *l = c->tl->l;
    if (err) {
        h2o_socket_close(sock);
        return;
    }
    if (l->config->proxy_protocol && !c->proxy_done) {
        struct proxy_header hdr;
        ssize_t n = proxy_protocol_parse((const uint8_t *)sock->input->bytes, sock->input->size, &hdr);
        if (n == 0)
            return;
        if (n < 0) {
            h2o_socket_close(sock);
            return;
        }
        h2o_buffer_consume(&sock->input, (size_t)n);
        if (hdr.has_source) {
            struct sockaddr_storage ss;
            socklen_t len = to_sockaddr(&hdr.source, hdr.source_port, &ss);
            h2o_socket_setpeername(sock, (struct sockaddr *)&ss, len);
            c->proxied = true;
        }
        c->proxy_done = true;
    }
    if (l->ssl_ctx) {
        start_tls(c, sock);
        return;
    }
    switch (classify_first_bytes(l, sock)) {
    case FIRST_NEED_MORE:
        return;
    case FIRST_REFUSE:
        h2o_socket_close(sock);
        return;
    case FIRST_HTTP1:
    case FIRST_HTTP2:
        h2o_socket_read_stop(sock);
        start_http(c, sock, classify_first_bytes(l, sock) == FIRST_HTTP2);
        return;
    }
}

bool server_conn_is_proxied(h2o_conn_t *conn)
{
    h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
    struct conn *c = sock && sock->on_close.cb == on_conn_close ? sock->on_close.data : NULL;
    return c && c->proxied;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct thread_listener *tl = listener->data;
    struct thread *t = tl->t;
    if (err)
        return;
    for (int i = 0; i < ACCEPT_BATCH && !t->paused; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (!sock)
            return;
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            h2o_socket_close(sock);
            continue;
        }
        c->tl = tl;
        c->sock = sock;
        c->deadline.cb = on_deadline;
        c->connected_at = *h2o_get_timestamp(&t->ctx, NULL, NULL);
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = c;
        atomic_fetch_add(&server_connections, 1);
        atomic_store(&server_last_activity, masd_monotonic_ms());
        if (++t->connections >= t->max_connections)
            set_accepting(t, false);
        h2o_timeout_link(t->ctx.loop, &t->handshake_timeout, &c->deadline);
        const struct server_listener *l = tl->l;
        if (l->config->proxy_protocol || !l->ssl_ctx)
            h2o_socket_read_start(sock, on_first_bytes);
        else
            start_tls(c, sock);
    }
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    /* Only wakes the loop so that it sees the stop flag. */
}

static int thread_listen(struct thread *t)
{
    t->n_listeners = server.n_socks;
    t->listeners = calloc(t->n_listeners ? t->n_listeners : 1, sizeof(*t->listeners));
    if (!t->listeners)
        return -ENOMEM;
    for (size_t i = 0; i < server.n_socks; i++) {
        struct thread_listener *tl = &t->listeners[i];
        tl->t = t;
        tl->l = &server.listeners[server.sock_listener[i]];
        tl->accept_ctx.ctx = &t->ctx;
        tl->accept_ctx.hosts = ((struct server_listener *)tl->l)->hosts;
        int fd = dup(server.socks[i].fd);
        if (fd < 0)
            return log_errno(-errno, "dup: %m");
        tl->sock = h2o_evloop_socket_create(t->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        tl->sock->data = tl;
        h2o_socket_read_start(tl->sock, on_accept);
    }
    return 0;
}

/* SIGTERM: stop accepting (the socket stays with systemd, so new connections wait in its
 * backlog), let in-flight requests finish, and close idle keep-alive connections ourselves:
 * h2o 2.2.5 only tells HTTP/2 connections (GOAWAY); an idle HTTP/1.1 connection would otherwise
 * stay until its 10 s request timeout. Shortening that timeout closes idle ones at the next
 * turn of the loop, while a request being uploaded keeps resetting it with every read. */
static void thread_drain(struct thread *t)
{
    for (size_t i = 0; i < t->n_listeners; i++)
        if (t->listeners[i].sock) {
            h2o_socket_read_stop(t->listeners[i].sock);
            h2o_socket_close(t->listeners[i].sock);
            t->listeners[i].sock = NULL;
        }
    h2o_context_request_shutdown(&t->ctx);
    t->ctx.http1.req_timeout.timeout = SHUTDOWN_IDLE_MS;
    /* A connection accepted just before the stop may not have its request in yet: it gets as
     * long as an idle keep-alive one (closing it at once lost that request). */
    t->handshake_timeout.timeout = SHUTDOWN_IDLE_MS;
    uint64_t deadline = h2o_now(t->ctx.loop) + DRAIN_MS;
    while (t->connections > 0 && h2o_now(t->ctx.loop) < deadline)
        h2o_evloop_run(t->ctx.loop, 50);
}

static bool timeouts_empty(h2o_timeout_t *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!h2o_linklist_is_empty(&list[i]->_entries))
            return false;
    return true;
}

/* h2o asserts that nothing is linked when a context is disposed. Closing a connection can leave
 * deferred work for the next turn of the loop, so run a few short turns first, and dispose only
 * once every timeout of the context is empty and no deferred job anywhere is still to come back
 * (its reply would land in this loop's queue; a request gone meanwhile still gets its job back). */
static bool loop_quiescent(struct thread *t)
{
    h2o_timeout_unlink(&t->ctx.http2._graceful_shutdown_timeout); /* armed by request_shutdown */
    h2o_timeout_t *const all[] = {&t->handshake_timeout,      &t->ctx.zero_timeout,
                                  &t->ctx.one_sec_timeout,    &t->ctx.hundred_ms_timeout,
                                  &t->ctx.handshake_timeout,  &t->ctx.http1.req_timeout,
                                  &t->ctx.http2.idle_timeout, &t->ctx.http2.graceful_shutdown_timeout};
    size_t n = sizeof(all) / sizeof(all[0]);
    for (int i = 0; i < 10; i++) {
        if (t->connections == 0 && timeouts_empty(all, n) && atomic_load(&server_jobs_outstanding) == 0)
            return true;
        h2o_evloop_run(t->ctx.loop, 10);
    }
    return false;
}

static void *thread_main(void *arg)
{
    struct thread *t = arg;
    t->loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, t->loop, &server.globalconf);
    h2o_timeout_init(t->ctx.loop, &t->handshake_timeout, PROXY_DEADLINE_MS);
    h2o_multithread_register_receiver(t->ctx.queue, &t->wake_receiver, on_wake);
    h2o_multithread_register_receiver(t->ctx.queue, &t->job_receiver, server_jobs_received);
    int r = thread_listen(t);
    pthread_barrier_wait(&started);
    if (r < 0)
        return NULL;
    while (!atomic_load(&stopping))
        h2o_evloop_run(t->ctx.loop, INT32_MAX);
    thread_drain(t);
    if (loop_quiescent(t)) { /* else the process exit frees what is still in use */
        h2o_multithread_unregister_receiver(t->ctx.queue, &t->wake_receiver);
        h2o_multithread_unregister_receiver(t->ctx.queue, &t->job_receiver);
        h2o_timeout_dispose(t->ctx.loop, &t->handshake_timeout);
        h2o_context_dispose(&t->ctx);
        h2o_evloop_destroy(t->loop);
    }
    free(t->listeners);
    return NULL;
}

h2o_multithread_receiver_t *server_job_receiver(h2o_context_t *ctx)
{
    struct thread *t = H2O_STRUCT_FROM_MEMBER(struct thread, ctx, ctx);
    return &t->job_receiver;
}

int server_threads_start(void)
{
    unsigned n = server.opt.threads;
    threads = calloc(n, sizeof(*threads));
    if (!threads)
        return -ENOMEM;
    pthread_barrier_init(&started, NULL, n + 1);
    unsigned per_thread = server.opt.max_connections / n;
    for (unsigned i = 0; i < n; i++) {
        threads[i].max_connections = per_thread ? per_thread : 1;
        int r = pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]);
        if (r != 0)
            return log_errno(-r, "cannot start an event loop thread: %m");
    }
    pthread_barrier_wait(&started);
    for (unsigned i = 0; i < n; i++)
        if (!threads[i].listeners || (server.n_socks && !threads[i].listeners[server.n_socks - 1].sock))
            return log_errno(-EIO, "an event loop thread could not take its listeners");
    return 0;
}

void server_threads_stop(void)
{
    atomic_store(&stopping, true);
    for (unsigned i = 0; i < server.opt.threads; i++)
        h2o_multithread_send_message(&threads[i].wake_receiver, NULL);
    for (unsigned i = 0; i < server.opt.threads; i++)
        pthread_join(threads[i].tid, NULL);
}
