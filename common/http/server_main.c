/* masd_main(): the command line, the choice of listeners a binary serves, --check, and the
 * process lifecycle (readiness, signals, idle exit). */
#include <h2o.h>
#include "clock.h"
#include "cmdline.h"
#include "log.h"
#include "server_internal.h"
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define CPU_POOL_NICE 10 /* password hashing yields the CPU to the event loops */

static void health_check(void *arg)
{
    *(int *)arg = server.svc->health();
}

static void health_done(struct masd_request *r, void *arg)
{
    int rc = *(int *)arg;
    free(arg);
    if (!r)
        return;
    if (rc < 0)
        masd_respond_text(r, 500, "unhealthy");
    else
        masd_respond(r, 200, "text/plain; charset=utf-8", MASD_STR("ok"));
}

/* The service's own check (a database round trip) is slow work: it goes to the worker pool. */
static void health(struct masd_request *r)
{
    if (!server.svc->health) {
        masd_respond(r, 200, "text/plain; charset=utf-8", MASD_STR("ok"));
        return;
    }
    int *rc = malloc(sizeof(*rc));
    if (!rc || masd_defer(r, health_check, health_done, rc) != MASD_DEFER_QUEUED) {
        free(rc);
        masd_respond_text(r, 500, "unhealthy: the worker pool is full");
    }
}

static bool owns(const struct masd_service *svc, const char *resource)
{
    for (const char *const *p = svc->resources; *p; p++)
        if (strcmp(*p, resource) == 0)
            return true;
    return false;
}

/* A listener is ours when it names one of our resources; health and prometheus then attach to
 * it too, but never make us take a listener by themselves (docs/architecture.md §1). */
static bool serves(const struct masd_service *svc, const struct config_listener *l)
{
    for (size_t i = 0; i < l->n_resources; i++)
        if (owns(svc, l->resources[i].name))
            return true;
    return false;
}

/* Every binary answers the health resource the same way. */
static const struct masd_route health_route = {"health", "/health", ROUTE_EXACT, "GET, HEAD", health};

static int add_route(const struct masd_service *svc, struct server_listener *sl, const struct masd_route *r)
{
    const struct config_resource *res = config_listener_resource(sl->config, r->resource);
    if (!res)
        return 0;
    if (r != &health_route && !owns(svc, r->resource)) /* a bug in the table, not a config error */
        return log_errno(-EINVAL, "internal error: route %s is of resource %s, not one of %s's", r->path,
                         r->resource, svc->name);
    sl->routes[sl->n_routes++] = (struct served_route){r, res};
    return 0;
}

static int build_routes(const struct masd_service *svc, struct server_listener *sl)
{
    size_t n = 1;
    for (const struct masd_route *r = svc->routes; r->path; r++)
        n++;
    sl->routes = calloc(n, sizeof(*sl->routes));
    if (!sl->routes)
        return -ENOMEM;
    int rc = add_route(svc, sl, &health_route);
    for (const struct masd_route *r = svc->routes; rc >= 0 && r->path; r++)
        rc = add_route(svc, sl, r);
    return rc;
}

/* Binaries that would serve listener l (distinct, in route-table order). */
static size_t listener_binaries(const struct config_listener *l, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_resources; i++) {
        const char *b = resource_binary(l->resources[i].name);
        if (!b || !*b)
            continue;
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen |= strcmp(out[j], b) == 0;
        if (!seen && n < max)
            out[n++] = b;
    }
    return n;
}

static void print_split_advice(const struct masd_service *svc, const struct config_listener *l,
                               const char *const *bins, size_t nb)
{
    fprintf(stderr, "Split it into one listener per binary, for example:\n\n  listeners:\n");
    for (size_t b = 0; b < nb; b++) {
        const char *shortname = bins[b] + strlen("masd-");
        fprintf(stderr, "    - name: %s\n      resources: [", shortname);
        bool first = true;
        for (size_t i = 0; i < l->n_resources; i++) {
            const char *owner = resource_binary(l->resources[i].name);
            if (owner && (strcmp(owner, bins[b]) == 0 || !*owner)) {
                fprintf(stderr, "%s{name: %s}", first ? "" : ", ", l->resources[i].name);
                first = false;
            }
        }
        fprintf(stderr, "]\n      binds: [{socket: /run/masd/%s.sock}]   # under systemd: {fd_name: %s}\n",
                shortname, shortname);
    }
    /* Each binary knows its own routes only: it prints their nginx locations. */
    fprintf(stderr, "\nand route them from nginx; %s's routes:\n\n", svc->name);
    for (const struct masd_route *r = svc->routes; r->path; r++) {
        if (!config_listener_resource(l, r->resource))
            continue;
        char loc[256];
        route_nginx_location(r, l->prefix, loc, sizeof(loc));
        fprintf(stderr, "  location %s { proxy_pass http://unix:/run/masd/%s.sock; }\n", loc,
                svc->name + strlen("masd-"));
    }
    fprintf(stderr, "\n(units/nginx/masd.conf routes the paths of every binary)\n\n");
}

/* A socket the process opens itself can serve one binary only: MAS's stock listener ([::]:8080
 * with every resource) cannot start as is. Every binary refuses such a config, so that an
 * operator learns it from whichever one starts first. */
/* "file:line:column", or "file (default listeners)" for MAS's defaults (no http section). */
static const char *listener_where(const struct config *cfg, const struct config_listener *l, char *buf,
                                  size_t size)
{
    if (l->pos.line == 0)
        snprintf(buf, size, "%s (MAS's default listeners: the file has no http section)", cfg->path);
    else
        snprintf(buf, size, "%s:%u:%u", cfg->path, l->pos.line, l->pos.column);
    return buf;
}

static int check_listeners(const struct masd_service *svc, const struct config *cfg)
{
    int r = 0;
    char where[512];
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *l = &cfg->listeners[i];
        const char *bins[8];
        size_t nb = listener_binaries(l, bins, 8);
        if (nb == 0) {
            log_warn("%s: listener '%s' is served by no masd binary (none of its resources is served "
                     "by a binary of its own)",
                     listener_where(cfg, l, where, sizeof(where)), l->name ? l->name : "(unnamed)");
            continue;
        }
        for (size_t j = 0; j < l->n_binds && nb > 1; j++) {
            if (!bind_is_self_opened(&l->binds[j]))
                continue;
            char d[128];
            bind_describe(&l->binds[j], d, sizeof(d));
            fprintf(stderr,
                    "%s: listener '%s' opens %s itself, but its resources are served by %zu binaries (",
                    listener_where(cfg, l, where, sizeof(where)), l->name ? l->name : "(unnamed)", d, nb);
            for (size_t b = 0; b < nb; b++)
                fprintf(stderr, "%s%s", b ? ", " : "", bins[b]);
            fprintf(stderr, "); a socket a process opens itself can serve only one of them.\n");
            print_split_advice(svc, l, bins, nb);
            r = -EINVAL;
            break;
        }
    }
    return r;
}

static void print_check(const struct masd_service *svc)
{
    printf("%s: configuration %s is valid\n", svc->name, server.cfg->path);
    printf("public_base %s\n", server.cfg->public_base);
    if (strcmp(server.cfg->issuer, server.cfg->public_base) != 0)
        printf("issuer %s\n", server.cfg->issuer);
    if (server.n_listeners == 0)
        printf("no listener serves %s's resources\n", svc->name);
    for (size_t i = 0; i < server.n_listeners; i++) {
        const struct server_listener *sl = &server.listeners[i];
        const struct config_listener *l = sl->config;
        printf("listener %s%s%s%s%s\n", sl->label, l->prefix ? " prefix " : "", l->prefix ? l->prefix : "",
               l->tls ? (l->http2 ? " tls+h2" : " tls") : (l->http2 ? " h2c" : ""),
               l->proxy_protocol ? " proxy_protocol" : "");
        for (size_t j = 0; j < l->n_binds; j++) {
            char d[128];
            bind_describe(&l->binds[j], d, sizeof(d));
            printf("  bind %s\n", d);
        }
        for (size_t j = 0; j < sl->n_routes; j++) {
            const struct masd_route *r = sl->routes[j].route;
            char loc[256];
            route_nginx_location(r, l->prefix, loc, sizeof(loc));
            printf("  route %-8s %-40s %s\n", r->resource, r->path, r->methods);
            printf("    nginx: location %s\n", loc);
        }
    }
}

static int setup_listeners(const struct masd_service *svc, const struct config *cfg)
{
    server.listeners = calloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(*server.listeners));
    if (!server.listeners)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (!serves(svc, &cfg->listeners[i]))
            continue;
        struct server_listener *sl = &server.listeners[server.n_listeners++];
        sl->config = &cfg->listeners[i];
        sl->label = sl->config->name ? sl->config->name : "(unnamed)";
        int r = build_routes(svc, sl);
        if (r < 0)
            return r;
    }
    return 0;
}

static int setup_http(const struct masd_service *svc)
{
    h2o_config_init(&server.globalconf);
    server.globalconf.server_name = h2o_iovec_init(H2O_STRLIT("masd"));
    server.globalconf.max_request_entity_size =
        svc->max_request_body ? svc->max_request_body : MASD_MAX_REQUEST_BODY;
    server.globalconf.http1.upgrade_to_http2 = 0;
    for (size_t i = 0; i < server.n_listeners; i++) {
        struct server_listener *sl = &server.listeners[i];
        char name[32];
        snprintf(name, sizeof(name), "listener-%zu", i);
        sl->hosts[0] =
            h2o_config_register_host(&server.globalconf, h2o_iovec_init(name, strlen(name)), 65535);
        sl->hosts[1] = NULL;
        server_request_setup(sl->hosts[0], sl);
        if (sl->config->tls) {
            int r = tls_context_create(sl->config->tls, sl->config->http2, &sl->ssl_ctx);
            if (r < 0)
                return log_errno(r, "listener '%s': TLS setup failed", sl->label);
        }
    }
    return 0;
}

static int open_sockets(void)
{
    const struct config_listener **ls = calloc(server.n_listeners ? server.n_listeners : 1, sizeof(*ls));
    if (!ls)
        return -ENOMEM;
    for (size_t i = 0; i < server.n_listeners; i++)
        ls[i] = server.listeners[i].config;
    struct systemd_fds fds;
    int r = systemd_fds_take(&fds);
    if (r == 0)
        r = listener_open_all(ls, server.n_listeners, &fds, &server.socks, &server.n_socks);
    systemd_fds_release(&fds);
    free(ls);
    if (r < 0)
        return r;
    server.sock_listener = calloc(server.n_socks ? server.n_socks : 1, sizeof(*server.sock_listener));
    if (!server.sock_listener)
        return -ENOMEM;
    for (size_t i = 0; i < server.n_socks; i++)
        for (size_t j = 0; j < server.n_listeners; j++)
            if (server.socks[i].listener == server.listeners[j].config)
                server.sock_listener[i] = j;
    return 0;
}

static unsigned cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Connections need file descriptors: raise the soft limit to the hard one and cap connections
 * below it, so that accept() never meets EMFILE (we stop reading the listener instead). */
static unsigned connection_cap(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)wanted + 64)
            wanted = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
    }
    return wanted;
}

/* The main thread only waits for signals (never in a handler: sigwait is safe where a signal
 * handler calling h2o would not be) and watches for idleness. */
static void wait_for_stop(const struct masd_service *svc, const sigset_t *sigs)
{
    for (;;) {
        struct timespec tick = {0, 200 * 1000000};
        int sig = sigtimedwait(sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return;
        if (sig == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            int r = svc->reload ? svc->reload(server.cfg) : 0;
            if (r < 0)
                log_errno(r, "reload failed; still serving the previous state: %m");
            sd_notify(0, "READY=1");
            continue;
        }
        unsigned idle = server.opt.exit_idle_seconds;
        if (idle && atomic_load(&server_connections) == 0 &&
            masd_monotonic_ms() - atomic_load(&server_last_activity) >= idle * 1000LL) {
            log_info("no connection for %u s, exiting (the socket starts us again)", idle);
            return;
        }
    }
}

static int serve(const struct masd_service *svc)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits the mask */
    signal(SIGPIPE, SIG_IGN);                /* h2o writes with writev(), without MSG_NOSIGNAL */
    atomic_store(&server_last_activity, masd_monotonic_ms());
    int r = access_log_start();
    if (r == 0)
        r = workpool_start(&server.pool, "worker pool", server.opt.worker_threads, server.opt.worker_queue,
                           0);
    if (r == 0)
        r = workpool_start(&server.cpu_pool, "password hashing", 1, MASD_CPU_QUEUE, CPU_POOL_NICE);
    if (r == 0 && svc->outbound)
        r = workpool_start(&server.outbound_pool, "outbound calls", MASD_OUTBOUND_THREADS,
                           MASD_OUTBOUND_QUEUE, 0);
    if (r == 0)
        r = server_threads_start();
    if (r < 0)
        return r;
    sd_notify(0, "READY=1");
    log_info("serving %zu listener(s) on %zu socket(s) with %u thread(s)", server.n_listeners, server.n_socks,
             server.opt.threads);
    wait_for_stop(svc, &sigs);
    sd_notify(0, "STOPPING=1");
    server_threads_stop();
    workpool_stop(server.pool);
    workpool_stop(server.cpu_pool);
    if (server.outbound_pool)
        workpool_stop(server.outbound_pool);
    if (svc->shutdown)
        svc->shutdown();
    access_log_stop();
    return 0;
}

int masd_main(int argc, char **argv, const struct masd_service *svc)
{
    server.opt = (struct server_options){
        .threads = cpu_count(), .max_connections = 4096, .worker_threads = 2, .worker_queue = 256};
    const struct cmdline_option options[] = {
        {"exit-idle-time", "SECS", "exit after SECS without connections (socket activation)",
         &server.opt.exit_idle_seconds, 0, 1000000, NULL},
        {"threads", "N", "event loop threads (default: one per CPU)", &server.opt.threads, 1, 1024, NULL},
        {"max-connections", "N",
         "open connections per process (default 4096); above it,\nnew connections wait in the listen backlog",
         &server.opt.max_connections, 1, 1000000, NULL},
        {0},
    };
    struct cmdline cl = {.program = svc->name,
                         .summary = svc->summary,
                         .check_help = "validate the configuration, show what this binary serves, exit",
                         .options = options};
    log_init(svc->name);
    /* Request bodies (up to max_request_body) are malloc'd whole. glibc raises its mmap threshold
     * each time such a block is freed, after which large blocks come from the heap and are never
     * returned: a burst of big bodies would leave the process that large for good. A fixed
     * threshold keeps every block of 128 KiB and more in its own mapping, unmapped on free. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_ARENA_MAX, 2);
    int rc = cmdline_parse(&cl, argc, argv);
    if (rc != CMDLINE_CONTINUE)
        return rc;
    const char *config_path = cl.config_path;
    bool check = cl.check;
    server.svc = svc;
    struct config *cfg;
    char *error = NULL;
    if (config_load_flags(config_path, svc->no_secrets ? CONFIG_NO_SECRETS : 0, &cfg, &error) < 0) {
        fprintf(stderr, "%s: %s\n", svc->name, error ? error : "cannot load the configuration");
        free(error);
        return 1;
    }
    server.cfg = cfg;
    server.opt.max_connections = connection_cap(server.opt.max_connections);
    if (check_listeners(svc, cfg) < 0 || setup_listeners(svc, cfg) < 0)
        return 1;
    if (check) {
        if (svc->check && svc->check(cfg) < 0)
            return 1;
        print_check(svc);
        return 0;
    }
    if (svc->setup && svc->setup(cfg) < 0)
        return 1;
    if (server.n_listeners == 0) {
        log_error("no listener in %s names a resource of %s; nothing to serve", cfg->path, svc->name);
        return 1;
    }
    if (setup_http(svc) < 0 || open_sockets() < 0 || serve(svc) < 0)
        return 1;
    listener_close_all(server.socks, server.n_socks);
    return 0;
}
