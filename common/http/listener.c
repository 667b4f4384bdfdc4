#include "listener.h"
#include "log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define BACKLOG 4096

int systemd_fds_take(struct systemd_fds *out)
{
    out->names = NULL;
    out->n = sd_listen_fds_with_names(1, &out->names);
    if (out->n < 0)
        return log_errno(out->n, "cannot read LISTEN_FDS: %m");
    for (int i = 0; i < out->n; i++)
        fcntl(SD_LISTEN_FDS_START + i, F_SETFD, FD_CLOEXEC);
    return 0;
}

void systemd_fds_release(struct systemd_fds *fds)
{
    for (int i = 0; i < fds->n && fds->names; i++)
        free(fds->names[i]);
    free(fds->names);
    fds->names = NULL;
    fds->n = 0;
}

bool bind_is_self_opened(const struct config_bind *b)
{
    return b->kind == BIND_ADDRESS || b->kind == BIND_HOST_PORT || b->kind == BIND_SOCKET;
}

void bind_describe(const struct config_bind *b, char *buf, size_t size)
{
    switch (b->kind) {
    case BIND_ADDRESS:
        snprintf(buf, size, "%s", b->address);
        break;
    case BIND_HOST_PORT:
        snprintf(buf, size, "%s:%u", b->host ? b->host : "*", b->port);
        break;
    case BIND_SOCKET:
        snprintf(buf, size, "unix:%s", b->socket);
        break;
    case BIND_FD:
        snprintf(buf, size, "fd %u (%s)", b->fd, b->socket_kind == BIND_SOCKET_UNIX ? "unix" : "tcp");
        break;
    case BIND_FD_NAME:
        snprintf(buf, size, "fd_name %s", b->fd_name);
        break;
    }
}

static int listen_on(int fd, const char *what)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails harmlessly on UNIX */
    if (listen(fd, BACKLOG) < 0) {
        int r = log_errno(-errno, "listen on %s: %m", what);
        close(fd);
        return r;
    }
    return fd;
}

static int open_tcp(const struct sockaddr *sa, socklen_t len, const char *what)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return log_errno(-errno, "socket for %s: %m", what);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, sa, len) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return listen_on(fd, what);
}

/* "1.2.3.4:80" or "[::1]:80": the config loader validated the syntax. */
static int open_address(const struct config_bind *b, const char *what)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    const char *colon = strrchr(b->address, ':');
    char host[64];
    size_t hl = (size_t)(colon - b->address);
    if (b->address[0] == '[') {
        memcpy(host, b->address + 1, hl - 2);
        host[hl - 2] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return log_errno(-EINVAL, "bad address %s", what);
        len = sizeof(*s6);
    } else {
        memcpy(host, b->address, hl);
        host[hl] = '\0';
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return log_errno(-EINVAL, "bad address %s", what);
        len = sizeof(*s4);
    }
    int fd = open_tcp((struct sockaddr *)&ss, len, what);
    return fd < 0 ? log_errno(fd, "bind %s: %m", what) : fd;
}

/* As MAS (std bind semantics): try each resolved address, keep the first that binds. */
static int open_host_port(const struct config_bind *b, const char *what)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char port[8];
    snprintf(port, sizeof(port), "%u", b->port);
    int e = getaddrinfo(b->host, port, &hints, &res);
    if (e != 0)
        return log_errno(-EADDRNOTAVAIL, "cannot resolve %s: %s", what, gai_strerror(e));
    int fd = -EADDRNOTAVAIL;
    /* Without a host, prefer [::] (dual stack) like MAS, then 0.0.0.0. */
    for (int pass = 0; pass < 2 && fd < 0; pass++)
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
            if ((ai->ai_family == AF_INET6) == (pass == 0))
                fd = open_tcp(ai->ai_addr, ai->ai_addrlen, what);
    freeaddrinfo(res);
    return fd < 0 ? log_errno(fd, "bind %s: %m", what) : fd;
}

/* Binds <path>.<pid>.tmp, applies the mode, then renames over <path>: a stale socket from a
 * previous run is replaced atomically and clients never see a socket with the wrong mode. */
static int open_unix(const struct config_bind *b, const char *what)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char tmp[sizeof(sun.sun_path)];
    if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", b->socket, (int)getpid()) >= (int)sizeof(tmp))
        return log_errno(-ENAMETOOLONG, "socket path too long: %s", b->socket);
    memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return log_errno(-errno, "socket for %s: %m", what);
    unlink(tmp);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int r = log_errno(-errno, "bind %s: %m", tmp);
        close(fd);
        return r;
    }
    if ((b->mode >= 0 && chmod(tmp, (mode_t)b->mode) < 0) || rename(tmp, b->socket) < 0) {
        int r = log_errno(-errno, "cannot install %s: %m", what);
        unlink(tmp);
        close(fd);
        return r;
    }
    return listen_on(fd, what);
}

static int check_kind(int fd, const struct config_bind *b, const char *what)
{
    int family = b->socket_kind == BIND_SOCKET_UNIX ? AF_UNIX : AF_UNSPEC;
    if (sd_is_socket(fd, family, SOCK_STREAM, 1) <= 0)
        return log_errno(-ENOTSOCK, "%s: the passed fd is not a listening %s stream socket", what,
                         b->socket_kind == BIND_SOCKET_UNIX ? "UNIX" : "stream");
    if (b->socket_kind == BIND_SOCKET_TCP && sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0)
        return log_errno(-ENOTSOCK, "%s: the passed fd is not a TCP socket (kind: tcp)", what);
    return fd;
}

/* fd: N indexes LISTEN_FDS only when one socket unit passed them: across several units the
 * order is not stable. We cannot see unit boundaries, so we require that every
 * passed fd has the same name. */
static int find_systemd_fd(const struct config_bind *b, const struct systemd_fds *fds, const char *what)
{
    if (b->kind == BIND_FD_NAME) {
        for (int i = 0; i < fds->n; i++)
            if (fds->names && strcmp(fds->names[i], b->fd_name) == 0)
                return check_kind(SD_LISTEN_FDS_START + i, b, what);
        return log_errno(-ENOENT, "%s: no socket named '%s' was passed by systemd (%d fds passed)", what,
                         b->fd_name, fds->n);
    }
    if ((int)b->fd >= fds->n)
        return log_errno(-ENOENT, "%s: only %d sockets were passed by systemd", what, fds->n);
    for (int i = 1; i < fds->n; i++)
        if (!fds->names || strcmp(fds->names[i], fds->names[0]) != 0)
            return log_errno(-EINVAL,
                             "%s: sockets of several units were passed (their order is not stable); "
                             "use fd_name with the FileDescriptorName= of the socket",
                             what);
    return check_kind(SD_LISTEN_FDS_START + (int)b->fd, b, what);
}

static int open_one(const struct config_bind *b, const struct systemd_fds *fds, const char *what)
{
    switch (b->kind) {
    case BIND_ADDRESS:
        return open_address(b, what);
    case BIND_HOST_PORT:
        return open_host_port(b, what);
    case BIND_SOCKET:
        return open_unix(b, what);
    case BIND_FD:
    case BIND_FD_NAME:
        return find_systemd_fd(b, fds, what);
    }
    return -EINVAL;
}

int listener_open_all(const struct config_listener *const *listeners, size_t n, const struct systemd_fds *fds,
                      struct listen_socket **out, size_t *n_out)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        total += listeners[i]->n_binds;
    struct listen_socket *socks = calloc(total ? total : 1, sizeof(*socks));
    if (!socks)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < listeners[i]->n_binds; j++, k++) {
            struct listen_socket *s = &socks[k];
            s->listener = listeners[i];
            s->bind = &listeners[i]->binds[j];
            char d[128];
            bind_describe(s->bind, d, sizeof(d));
            snprintf(s->description, sizeof(s->description), "listener '%s' bind %s",
                     listeners[i]->name ? listeners[i]->name : "(unnamed)", d);
            s->fd = open_one(s->bind, fds, s->description);
            if (s->fd < 0) {
                int r = s->fd;
                listener_close_all(socks, k);
                return r;
            }
        }
    }
    *out = socks;
    *n_out = total;
    return 0;
}

void listener_close_all(struct listen_socket *socks, size_t n)
{
    /* Closing our copy of a systemd socket is harmless: systemd keeps its own. */
    for (size_t i = 0; i < n; i++)
        if (socks[i].fd >= 0)
            close(socks[i].fd);
    free(socks);
}
