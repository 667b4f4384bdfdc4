/* Diagnostics and the access log. To journald with structured fields under systemd, to stderr
 * otherwise. The access log goes through a per-thread ring buffer drained by a logger thread,
 * so a loop thread never blocks on logging; entries that do not fit are counted as dropped. */
#pragma once
#include <stdarg.h>
#include <syslog.h>

void log_init(const char *ident);
void log_set_verbose(int verbose);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Logs and returns r (a negative errno): `return log_errno(r, "open %s: %m", p);` */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct access_entry {
    char method[16];
    char path[256];
    char listener[48];
    char client[48];
    int status;
    unsigned duration_us;
};

/* Starts the logger thread. */
int access_log_start(void);
/* Queues one entry from the calling thread's ring (never blocks). */
void access_log_push(const struct access_entry *e);
/* Drains everything queued and stops the logger thread. */
void access_log_stop(void);
unsigned long access_log_dropped(void);
