/* Diagnostics and the access log. To journald with structured fields under systemd, to stderr
 * otherwise. The access log goes through a per-thread ring buffer drained by a logger thread,
 * so a loop thread never blocks on logging; entries that do not fit are counted as dropped. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

void log_init(const char *ident);
void log_set_verbose(int verbose);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Escapes in[0..len) for a log line, as nginx escapes its access log: a control character
 * (U+0000-U+001F, U+007F), '"', '\\' and every byte of invalid UTF-8 become \xHH, and so does
 * each byte of a valid character that would change how the line reads where it is shown: C1
 * controls (U+0080-U+009F), bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069) and the line and paragraph separators (U+2028, U+2029). Other UTF-8 passes.
 * Writes at most size - 1 bytes and a NUL (size > 0), never cutting an escape or a character;
 * returns the number of bytes written before the NUL. Every message and every access-log field
 * goes through it, to stderr and to journald alike: a client's value cannot forge a line. */
size_t log_escape(char *out, size_t size, const char *in, size_t len);

/* Logs and returns r (a negative errno): `return log_errno(r, "open %s: %m", p);` */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Raw values, escaped when written: method and path as the client sent them (cut to the array,
 * any bytes, NUL included), client NUL-terminated. */
struct access_entry {
    const char *listener; /* NUL-terminated; lives as long as the process */
    char client[48];
    char method[16];
    char path[256];
    unsigned char method_len;
    unsigned short path_len;
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
