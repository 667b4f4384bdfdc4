/* Listening sockets: opened from the config's binds, or taken from systemd (LISTEN_FDS). */
#pragma once
#include "config.h"

struct listen_socket {
    int fd;
    const struct config_listener *listener;
    const struct config_bind *bind;
    char description[160]; /* "127.0.0.1:8080", "unix:/run/masd/x.sock", "fd_name discovery" */
};

struct systemd_fds {
    int n;
    char **names; /* LISTEN_FDNAMES, one per fd */
};

/* Reads (and unsets) LISTEN_FDS/LISTEN_FDNAMES. */
int systemd_fds_take(struct systemd_fds *out);
void systemd_fds_release(struct systemd_fds *fds);

/* Opens or finds the sockets of every bind of the given listeners. On error nothing stays open
 * and a message naming the listener and bind has been logged. */
int listener_open_all(const struct config_listener *const *listeners, size_t n, const struct systemd_fds *fds,
                      struct listen_socket **out, size_t *n_out);
void listener_close_all(struct listen_socket *socks, size_t n);

/* A human description of a bind, for --check and messages. */
void bind_describe(const struct config_bind *b, char *buf, size_t size);
/* True when the process opens this bind itself (address, host+port, socket). */
bool bind_is_self_opened(const struct config_bind *b);
