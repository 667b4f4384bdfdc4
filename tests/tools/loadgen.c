/* loadgen: a small HTTP/1.1 load generator for the reliability tests (tests/integration/
 * reliability.sh). It keeps N keep-alive connections and M connection-per-request workers busy
 * with one request against a UNIX or TCP socket, classifies every failure, and prints the counts
 * as one JSON document on stdout when it stops.
 *
 *   loadgen (-u PATH | -t HOST:PORT) [-m METHOD] [-p PATH] [-H 'Name: value']... [-d BODY]
 *           [-k N] [-f M] [--requests R] [--timeout-ms T] [--duration-ms D] [--think-ms MS]
 *           [--stop-file F] [--ready-file F] [--hold-file F] [--retry] [--save-bodies F]
 *
 * -k N          N keep-alive connections, each sending requests back to back (default 4)
 * -f M          M workers that open a fresh connection for every request (Connection: close)
 * --requests R  each worker stops after R requests (retries not counted); 0 = no limit
 * --think-ms MS a worker pauses between two requests, uniformly 0 to 2 MS (keep-alive
 *               connections then sit idle for a while, as in a client's connection pool)
 * --stop-file   stop (finish the request in flight, then exit) once this file exists
 * --duration-ms stop after this long in any case (default 60000)
 * --ready-file  created once every keep-alive connection has had one answer
 * --hold-file   after its first answer a worker waits for this file before going on
 * --retry       a request that failed before any byte of the response (reset or EOF on a
 *               connection the server had accepted) is sent once more on a new connection
 * --save-bodies appends the body of every 2xx response to this file, one per line
 *
 * Failure classes: connect_refused, connect_error, reset_before_response,
 * eof_before_response, reset_after_partial, eof_after_partial, timeout_before_response,
 * timeout_after_partial, non_2xx, bad_response. "*_reused" counts the before-response failures
 * that happened on a keep-alive connection which had already carried a request. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum fail {
    F_CONNECT_REFUSED,
    F_CONNECT_ERROR,
    F_RESET_BEFORE,
    F_EOF_BEFORE,
    F_RESET_AFTER,
    F_EOF_AFTER,
    F_TIMEOUT_BEFORE,
    F_TIMEOUT_AFTER,
    F_NON_2XX,
    F_BAD_RESPONSE,
    F_COUNT
};
static const char *const fail_names[F_COUNT] = {
    "connect_refused",         "connect_error",         "reset_before_response", "eof_before_response",
    "reset_after_partial",     "eof_after_partial",     "timeout_before_response",
    "timeout_after_partial",   "non_2xx",               "bad_response",
};

enum state { S_IDLE, S_CONNECTING, S_SENDING, S_RECEIVING, S_DONE };

struct worker {
    int id;
    bool keepalive;
    enum state state;
    int fd;
    unsigned on_conn;   /* answers received on the current connection */
    bool retrying;      /* the request in flight is a retry */
    unsigned done;      /* requests finished (retries not counted) */
    bool answered_once; /* for --ready-file / --hold-file */
    long long wake_at;  /* S_IDLE: when to start the next request */
    long long deadline; /* of the request in flight */
    long long started;
    const char *out;
    size_t out_len, out_off;
    char *in;
    size_t in_len, in_cap;
};

static struct {
    const char *unix_path, *tcp;
    const char *method, *path, *body;
    char *headers; /* "Name: value\r\n"... */
    int keepalive, fresh;
    unsigned requests;
    long long timeout_ms, duration_ms, think_ms;
    const char *stop_file, *ready_file, *hold_file, *save_bodies;
    bool retry;
} opt = {.method = "GET", .path = "/", .keepalive = 4, .timeout_ms = 10000, .duration_ms = 60000};

static struct {
    unsigned long long started, ok, fail[F_COUNT], reused[F_COUNT];
    unsigned long long retries, retry_ok, retry_fail[F_COUNT];
    unsigned long long server_closed; /* keep-alive connections the server ended between requests */
    unsigned long long connections;
    unsigned long long status[600];
    long long max_latency_ms;
    long long fail_at[64]; /* CLOCK_REALTIME ms of the first failures */
    int fail_kind[64];
    unsigned n_fail_at;
} st;

static int ep;
static char *req_keepalive, *req_close;
static size_t req_keepalive_len, req_close_len;
static struct sockaddr_storage addr;
static socklen_t addr_len;
static FILE *bodies;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool file_exists(const char *p)
{
    struct stat s;
    return p && stat(p, &s) == 0;
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static char *build_request(bool keepalive, size_t *len)
{
    size_t blen = opt.body ? strlen(opt.body) : 0;
    size_t cap = strlen(opt.method) + strlen(opt.path) + (opt.headers ? strlen(opt.headers) : 0) + blen + 256;
    char *r = malloc(cap);
    if (!r)
        die("malloc");
    int n = snprintf(r, cap, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: masd-loadgen\r\n%s%s", opt.method,
                     opt.path, opt.headers ? opt.headers : "", keepalive ? "" : "Connection: close\r\n");
    if (opt.body)
        n += snprintf(r + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
    n += snprintf(r + n, cap - (size_t)n, "\r\n");
    if (opt.body)
        memcpy(r + n, opt.body, blen), n += (int)blen;
    *len = (size_t)n;
    return r;
}

static void record_fail(struct worker *w, enum fail f)
{
    if (w->retrying) {
        st.retry_fail[f]++;
    } else {
        st.fail[f]++;
        if (w->on_conn > 0 && (f == F_RESET_BEFORE || f == F_EOF_BEFORE || f == F_TIMEOUT_BEFORE))
            st.reused[f]++;
    }
    if (st.n_fail_at < 64) {
        st.fail_at[st.n_fail_at] = wall_ms();
        st.fail_kind[st.n_fail_at++] = (int)f;
    }
}

static void close_conn(struct worker *w)
{
    if (w->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
        close(w->fd);
    }
    w->fd = -1;
    w->on_conn = 0;
    w->in_len = 0;
}

static bool should_stop(void)
{
    static long long end;
    static long long last_check;
    static bool stop;
    long long now = now_ms();
    if (!end)
        end = now + opt.duration_ms;
    if (stop)
        return true;
    if (now >= end)
        stop = true;
    if (now - last_check >= 20) {
        last_check = now;
        if (file_exists(opt.stop_file))
            stop = true;
    }
    return stop;
}

/* The worker is between requests: schedule the next one. */
static void next(struct worker *w)
{
    w->state = S_IDLE;
    w->wake_at = now_ms() + (opt.think_ms > 0 ? random() % (2 * opt.think_ms + 1) : 0);
}

static void start_request(struct worker *w);

/* A request ended in failure f. The connection is gone in every case. */
static void failed(struct worker *w, enum fail f)
{
    bool before = f == F_RESET_BEFORE || f == F_EOF_BEFORE;
    bool was_retry = w->retrying;
    record_fail(w, f);
    close_conn(w);
    if (opt.retry && before && !was_retry) {
        st.retries++;
        w->retrying = true;
        start_request(w); /* at once, on a new connection */
        return;
    }
    w->retrying = false;
    w->done++;
    next(w);
}

static void completed(struct worker *w, int status, const char *body, size_t body_len, bool server_closes)
{
    long long lat = now_ms() - w->started;
    if (lat > st.max_latency_ms)
        st.max_latency_ms = lat;
    if (status >= 0 && status < 600)
        st.status[status]++;
    if (status >= 200 && status < 300) {
        if (w->retrying)
            st.retry_ok++;
        else
            st.ok++;
        if (bodies) {
            fwrite(body, 1, body_len, bodies);
            fputc('\n', bodies);
            fflush(bodies);
        }
    } else {
        record_fail(w, F_NON_2XX);
    }
    w->retrying = false;
    w->done++;
    w->on_conn++;
    w->answered_once = true;
    size_t consumed = (size_t)(body + body_len - w->in);
    if (consumed < w->in_len) { /* bytes after the response: nothing was asked for */
        record_fail(w, F_BAD_RESPONSE);
        close_conn(w);
    } else if (server_closes || !w->keepalive) {
        close_conn(w);
    } else {
        w->in_len = 0; /* idle: watch for the server closing it */
        epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &(struct epoll_event){.events = EPOLLIN | EPOLLRDHUP, .data.ptr = w});
    }
    next(w);
}

static void start_request(struct worker *w)
{
    w->started = now_ms();
    w->deadline = w->started + opt.timeout_ms;
    w->in_len = 0;
    if (!w->retrying)
        st.started++;
    w->out = w->keepalive ? req_keepalive : req_close;
    w->out_len = w->keepalive ? req_keepalive_len : req_close_len;
    w->out_off = 0;
    if (w->fd < 0) {
        w->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (w->fd < 0)
            die("socket");
        st.connections++;
        if (connect(w->fd, (struct sockaddr *)&addr, addr_len) < 0 && errno != EINPROGRESS) {
            int e = errno;
            close(w->fd);
            w->fd = -1;
            failed(w, e == ECONNREFUSED ? F_CONNECT_REFUSED : F_CONNECT_ERROR);
            return;
        }
        w->state = S_CONNECTING;
        epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &(struct epoll_event){.events = EPOLLOUT, .data.ptr = w});
        return;
    }
    w->state = S_SENDING;
    epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &(struct epoll_event){.events = EPOLLOUT | EPOLLIN, .data.ptr = w});
}

/* Parses the response in w->in. Returns 1 when complete (fills the out parameters), 0 when more
 * is needed, -1 when it is not HTTP. eof: the server closed the connection. */
static int parse_response(struct worker *w, bool eof, int *status, const char **body, size_t *body_len,
                          bool *server_closes)
{
    char *end = memmem(w->in, w->in_len, "\r\n\r\n", 4);
    if (!end)
        return w->in_len > 65536 ? -1 : 0;
    size_t head_len = (size_t)(end - w->in) + 4;
    if (w->in_len < 12 || memcmp(w->in, "HTTP/1.", 7) != 0)
        return -1;
    char code[4] = {w->in[9], w->in[10], w->in[11], 0};
    char *cend;
    long s = strtol(code, &cend, 10);
    if (*cend || s < 100 || s > 599)
        return -1;
    *status = (int)s;
    *server_closes = w->in[7] == '0';
    long long clen = -1;
    bool chunked = false;
    for (char *line = memmem(w->in, head_len, "\r\n", 2) + 2; line < end;) {
        char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            size_t nlen = (size_t)(colon - line);
            char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vlen = (size_t)(eol - v);
            if (nlen == 14 && strncasecmp(line, "content-length", 14) == 0)
                clen = strtoll(v, NULL, 10);
            else if (nlen == 17 && strncasecmp(line, "transfer-encoding", 17) == 0 &&
                     memmem(v, vlen, "chunked", 7))
                chunked = true;
            else if (nlen == 10 && strncasecmp(line, "connection", 10) == 0) {
                if (vlen >= 5 && strncasecmp(v, "close", 5) == 0)
                    *server_closes = true;
                else if (vlen >= 10 && strncasecmp(v, "keep-alive", 10) == 0)
                    *server_closes = false;
            }
        }
        line = eol + 2;
    }
    *body = w->in + head_len;
    bool head = strcmp(opt.method, "HEAD") == 0;
    if (head || s == 204 || s == 304 || s < 200) {
        *body_len = 0;
        return 1;
    }
    if (chunked) { /* decode in place */
        char *p = w->in + head_len, *o = p, *lim = w->in + w->in_len;
        for (;;) {
            char *eol = memmem(p, (size_t)(lim - p), "\r\n", 2);
            if (!eol)
                return 0;
            unsigned long long n = strtoull(p, NULL, 16);
            if (n == 0) {
                char *fin = memmem(eol, (size_t)(lim - eol), "\r\n\r\n", 4);
                if (!fin)
                    return 0;
                if (fin + 4 != lim)
                    return -1; /* trailing bytes: treat as garbage */
                *body_len = (size_t)(o - (w->in + head_len));
                w->in_len = (size_t)(o - w->in); /* nothing left over */
                return 1;
            }
            if ((unsigned long long)(lim - (eol + 2)) < n + 2)
                return 0;
            memmove(o, eol + 2, n);
            o += n;
            p = eol + 2 + n + 2;
        }
    }
    if (clen >= 0) {
        if (w->in_len - head_len < (size_t)clen)
            return 0;
        *body_len = (size_t)clen;
        return 1;
    }
    if (!eof) /* delimited by the end of the connection */
        return 0;
    *body_len = w->in_len - head_len;
    *server_closes = true;
    return 1;
}

static void on_readable(struct worker *w)
{
    for (;;) {
        if (w->in_cap - w->in_len < 4096) {
            w->in_cap = w->in_cap ? w->in_cap * 2 : 16384;
            w->in = realloc(w->in, w->in_cap);
            if (!w->in)
                die("realloc");
        }
        ssize_t n = read(w->fd, w->in + w->in_len, w->in_cap - w->in_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0) {
            failed(w, w->in_len ? F_RESET_AFTER : F_RESET_BEFORE);
            return;
        }
        if (n > 0)
            w->in_len += (size_t)n;
        int status;
        const char *body;
        size_t body_len;
        bool closes;
        int r = parse_response(w, n == 0, &status, &body, &body_len, &closes);
        if (r < 0) {
            record_fail(w, F_BAD_RESPONSE);
            close_conn(w);
            w->retrying = false;
            w->done++;
            next(w);
            return;
        }
        if (r > 0) {
            completed(w, status, body, body_len, closes || n == 0);
            return;
        }
        if (n == 0) {
            failed(w, w->in_len ? F_EOF_AFTER : F_EOF_BEFORE);
            return;
        }
    }
}

static void on_event(struct worker *w, uint32_t ev)
{
    if (w->state == S_IDLE) { /* the server closed an idle keep-alive connection (or sent junk) */
        char c;
        ssize_t n = recv(w->fd, &c, 1, MSG_PEEK);
        if (n > 0) {
            record_fail(w, F_BAD_RESPONSE);
        } else if (n == 0 || (n < 0 && errno != EAGAIN)) {
            st.server_closed++;
        } else {
            return;
        }
        close_conn(w);
        return;
    }
    if (w->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            close_conn(w);
            failed(w, err == ECONNREFUSED ? F_CONNECT_REFUSED : F_CONNECT_ERROR);
            return;
        }
        w->state = S_SENDING;
        epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &(struct epoll_event){.events = EPOLLOUT | EPOLLIN, .data.ptr = w});
    }
    if (w->state == S_SENDING && (ev & EPOLLOUT)) {
        while (w->out_off < w->out_len) {
            ssize_t n = send(w->fd, w->out + w->out_off, w->out_len - w->out_off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n < 0) {
                /* The response may already be there (an early answer); read it first. */
                on_readable(w);
                if (w->state == S_SENDING)
                    failed(w, w->in_len ? F_RESET_AFTER : F_RESET_BEFORE);
                return;
            }
            w->out_off += (size_t)n;
        }
        if (w->out_off == w->out_len) {
            w->state = S_RECEIVING;
            epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = w});
        }
    }
    if ((w->state == S_RECEIVING || w->state == S_SENDING) && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        on_readable(w);
}

static void json_counts(const char *name, const unsigned long long *c)
{
    printf("\"%s\":{", name);
    for (int i = 0; i < F_COUNT; i++)
        printf("%s\"%s\":%llu", i ? "," : "", fail_names[i], c[i]);
    printf("}");
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen (-u PATH | -t HOST:PORT) [-m METHOD] [-p PATH] [-H HEADER]... [-d BODY]\n"
                    "  [-k N] [-f M] [--requests R] [--timeout-ms T] [--duration-ms D] [--think-ms MS]\n"
                    "  [--stop-file F] [--ready-file F] [--hold-file F] [--retry] [--save-bodies F]\n");
    exit(2);
}

static void add_header(const char *h)
{
    size_t old = opt.headers ? strlen(opt.headers) : 0;
    opt.headers = realloc(opt.headers, old + strlen(h) + 3);
    if (!opt.headers)
        die("realloc");
    sprintf(opt.headers + old, "%s\r\n", h);
}

static void parse_args(int argc, char **argv)
{
    enum { O_REQ = 256, O_TIMEOUT, O_DURATION, O_THINK, O_STOP, O_READY, O_HOLD, O_RETRY, O_SAVE };
    static const struct option lo[] = {
        {"requests", 1, 0, O_REQ},   {"timeout-ms", 1, 0, O_TIMEOUT}, {"duration-ms", 1, 0, O_DURATION},
        {"think-ms", 1, 0, O_THINK}, {"stop-file", 1, 0, O_STOP},     {"ready-file", 1, 0, O_READY},
        {"hold-file", 1, 0, O_HOLD}, {"retry", 0, 0, O_RETRY},        {"save-bodies", 1, 0, O_SAVE},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "u:t:m:p:H:d:k:f:", lo, NULL)) != -1) {
        switch (c) {
        case 'u': opt.unix_path = optarg; break;
        case 't': opt.tcp = optarg; break;
        case 'm': opt.method = optarg; break;
        case 'p': opt.path = optarg; break;
        case 'H': add_header(optarg); break;
        case 'd': opt.body = optarg; break;
        case 'k': opt.keepalive = atoi(optarg); break;
        case 'f': opt.fresh = atoi(optarg); break;
        case O_REQ: opt.requests = (unsigned)atoi(optarg); break;
        case O_TIMEOUT: opt.timeout_ms = atoll(optarg); break;
        case O_DURATION: opt.duration_ms = atoll(optarg); break;
        case O_THINK: opt.think_ms = atoll(optarg); break;
        case O_STOP: opt.stop_file = optarg; break;
        case O_READY: opt.ready_file = optarg; break;
        case O_HOLD: opt.hold_file = optarg; break;
        case O_RETRY: opt.retry = true; break;
        case O_SAVE: opt.save_bodies = optarg; break;
        default: usage();
        }
    }
    if (optind != argc || !!opt.unix_path == !!opt.tcp || opt.keepalive < 0 || opt.fresh < 0 ||
        opt.keepalive + opt.fresh == 0 || opt.keepalive + opt.fresh > 4096)
        usage();
}

static void resolve(void)
{
    memset(&addr, 0, sizeof(addr));
    if (opt.unix_path) {
        struct sockaddr_un *un = (struct sockaddr_un *)&addr;
        if (strlen(opt.unix_path) >= sizeof(un->sun_path))
            usage();
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, opt.unix_path);
        addr_len = sizeof(*un);
        return;
    }
    char host[256];
    const char *colon = strrchr(opt.tcp, ':');
    if (!colon || (size_t)(colon - opt.tcp) >= sizeof(host))
        usage();
    memcpy(host, opt.tcp, (size_t)(colon - opt.tcp));
    host[colon - opt.tcp] = 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        usage();
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    addr_len = res->ai_addrlen;
    freeaddrinfo(res);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    resolve();
    srandom((unsigned)getpid() ^ (unsigned)wall_ms());
    signal(SIGPIPE, SIG_IGN);
    if (opt.save_bodies && !(bodies = fopen(opt.save_bodies, "a")))
        die(opt.save_bodies);
    req_keepalive = build_request(true, &req_keepalive_len);
    req_close = build_request(false, &req_close_len);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    int n = opt.keepalive + opt.fresh;
    struct worker *ws = calloc((size_t)n, sizeof(*ws));
    if (!ws)
        die("calloc");
    long long t0 = now_ms(), w0 = wall_ms();
    for (int i = 0; i < n; i++) {
        ws[i] = (struct worker){.id = i, .keepalive = i < opt.keepalive, .fd = -1, .state = S_IDLE};
        ws[i].wake_at = t0;
    }
    bool ready = false;
    struct epoll_event evs[256];
    for (;;) {
        bool stop = should_stop();
        long long now = now_ms();
        bool held = opt.hold_file && !file_exists(opt.hold_file);
        for (int i = 0; i < n; i++) {
            struct worker *w = &ws[i];
            if (w->state == S_IDLE) {
                bool limit = opt.requests && w->done >= opt.requests;
                if (stop || limit) {
                    w->state = S_DONE;
                    close_conn(w);
                    continue;
                }
                if (held && w->answered_once)
                    continue;
                if (now >= w->wake_at)
                    start_request(w);
            } else if (w->state != S_DONE) {
                if (now >= w->deadline) {
                    record_fail(w, w->in_len > 0 ? F_TIMEOUT_AFTER : F_TIMEOUT_BEFORE);
                    close_conn(w);
                    w->retrying = false;
                    w->done++;
                    next(w);
                }
            }
        }
        if (!ready && opt.ready_file) {
            bool all = true;
            for (int i = 0; i < opt.keepalive; i++)
                all &= ws[i].answered_once;
            if (all && opt.keepalive > 0) {
                FILE *f = fopen(opt.ready_file, "w");
                if (f)
                    fclose(f);
                ready = true;
            }
        }
        bool any_left = false;
        for (int i = 0; i < n; i++)
            any_left |= ws[i].state != S_DONE;
        if (!any_left)
            break;
        int ne = epoll_wait(ep, evs, 256, 5);
        for (int i = 0; i < ne; i++)
            on_event(evs[i].data.ptr, evs[i].events);
    }
    long long elapsed = now_ms() - t0;
    unsigned long long failed_total = 0, retry_failed = 0;
    for (int i = 0; i < F_COUNT; i++)
        failed_total += st.fail[i], retry_failed += st.retry_fail[i];
    printf("{\"elapsed_ms\":%lld,\"started_at\":%lld,\"requests\":%llu,\"ok\":%llu,\"failed\":%llu,", elapsed, w0,
           st.started, st.ok, failed_total);
    json_counts("fail", st.fail);
    printf(",");
    json_counts("reused", st.reused);
    printf(",\"retries\":%llu,\"retry_ok\":%llu,\"retry_failed\":%llu,", st.retries, st.retry_ok, retry_failed);
    json_counts("retry_fail", st.retry_fail);
    printf(",\"server_closed_idle\":%llu,\"connections\":%llu,\"max_latency_ms\":%lld,\"status\":{",
           st.server_closed, st.connections, st.max_latency_ms);
    bool first = true;
    for (int s = 0; s < 600; s++)
        if (st.status[s]) {
            printf("%s\"%d\":%llu", first ? "" : ",", s, st.status[s]);
            first = false;
        }
    printf("},\"failures\":[");
    for (unsigned i = 0; i < st.n_fail_at; i++)
        printf("%s{\"at\":%lld,\"kind\":\"%s\"}", i ? "," : "", st.fail_at[i], fail_names[st.fail_kind[i]]);
    printf("]}\n");
    for (int i = 0; i < n; i++) {
        close_conn(&ws[i]);
        free(ws[i].in);
    }
    free(ws);
    free(req_keepalive);
    free(req_close);
    free(opt.headers);
    if (bodies)
        fclose(bodies);
    close(ep);
    return 0;
}
