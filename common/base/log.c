/* Diagnostics go out synchronously (they are rare); the access log goes through per-thread
 * single-producer rings drained by one logger thread, so an event loop never waits on a pipe or
 * on journald. */
#include "log.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>
#include <unistr.h>

#define RING_SIZE       512     /* entries per thread; a power of two */
#define LOGGER_PAUSE_NS 1000000 /* 1 ms: at 100k requests/s a loop fills 100 slots of its ring */

struct ring {
    struct access_entry entries[RING_SIZE];
    _Atomic unsigned head; /* written by the producer */
    _Atomic unsigned tail; /* written by the logger */
    struct ring *next;
};

static const char *log_ident = "masd";
static bool use_journal;
static int verbose;

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ring *rings;
static _Thread_local struct ring *my_ring;
static _Atomic unsigned long dropped;
static _Atomic bool logger_sleeping;
static atomic_bool logger_stop;
static int wake_fd = -1;
static pthread_t logger_thread;
static bool logger_running;

/* journald is used when stderr is the journal stream systemd gave us (JOURNAL_STREAM names the
 * device and inode of that stream), as sd_journal_stream_fd documents. */
static bool stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident)
{
    log_ident = ident;
    use_journal = stderr_is_journal();
}

void log_set_verbose(int v)
{
    verbose = v;
}

/* Characters that are valid but would change how a line reads where it is shown. */
static bool utf8_escaped(uint32_t cp)
{
    return cp <= 0x9f || cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

static bool plain_ascii(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

size_t log_escape(char *out, size_t size, const char *in, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0, room = size - 1;
    while (i < len) {
        size_t run = i;
        while (run < len && plain_ascii(p[run]))
            run++;
        if (run > i) { /* a run of printable ASCII, copied at once */
            size_t n = run - i < room - o ? run - i : room - o;
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
            if (i < run)
                break; /* out is full */
            continue;
        }
        size_t n = 1;
        bool esc = true;
        if (p[i] >= 0x80) {
            /* libunistring's decoder is strict (RFC 3629: no overlong forms, no surrogates,
             * nothing above U+10FFFF); one bad byte at a time: what follows may be valid again. */
            ucs4_t cp;
            int m = u8_mbtoucr(&cp, p + i, len - i);
            esc = m < 0 || utf8_escaped(cp);
            n = m < 0 ? 1 : (size_t)m;
        }
        if (!esc) {
            if (n > room - o)
                break;
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
            continue;
        }
        if (4 * n > room - o)
            break;
        for (size_t k = 0; k < n; k++, i++) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 0xf];
        }
    }
    out[o] = '\0';
    return o;
}

static void log_vmsg(int priority, const char *fmt, va_list ap)
{
    if (priority == LOG_DEBUG && !verbose)
        return;
    char raw[2048], buf[4 * sizeof(raw)];
    int n = vsnprintf(raw, sizeof(raw), fmt, ap);
    log_escape(buf, sizeof(buf), raw, n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1);
    if (use_journal) {
        sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=%s", log_ident, NULL);
        return;
    }
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    fprintf(stderr, "%s: %s: %s\n", log_ident, names[priority & 7], buf);
}

void log_msg(int priority, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(priority, fmt, ap);
    va_end(ap);
    errno = saved;
}

int log_errno(int r, const char *fmt, ...)
{
    errno = r < 0 ? -r : r;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_ERR, fmt, ap);
    va_end(ap);
    return r;
}

#define LISTENER_MAX    48   /* bytes of a listener label logged */
#define ACCESS_LINE_MAX 2048 /* an access line: escaped fields at most 4 times their bytes */
#define BATCH_SIZE      (64 * 1024)

static size_t put_uint(char *p, unsigned v, size_t min_digits)
{
    char tmp[10];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0 || n < min_digits);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static size_t method_len(const struct access_entry *e)
{
    return e->method_len < sizeof(e->method) ? e->method_len : sizeof(e->method);
}

static size_t path_len(const struct access_entry *e)
{
    return e->path_len < sizeof(e->path) ? e->path_len : sizeof(e->path);
}

/* The text of an access line, without the "ident: access: " prefix and the newline:
 * `listener client "METHOD PATH" status ms`, every field escaped. At most ACCESS_LINE_MAX - 128
 * bytes and a NUL. */
static size_t access_text(const struct access_entry *e, char *line)
{
    char *p = line;
    const char *listener = e->listener ? e->listener : "-";
    p += log_escape(p, 4 * LISTENER_MAX + 1, listener, strnlen(listener, LISTENER_MAX));
    *p++ = ' ';
    p += log_escape(p, 4 * sizeof(e->client) + 1, e->client, strnlen(e->client, sizeof(e->client)));
    *p++ = ' ';
    *p++ = '"';
    p += log_escape(p, 4 * sizeof(e->method) + 1, e->method, method_len(e));
    *p++ = ' ';
    p += log_escape(p, 4 * sizeof(e->path) + 1, e->path, path_len(e));
    *p++ = '"';
    *p++ = ' ';
    p += put_uint(p, e->status < 0 ? 0 : (unsigned)e->status, 1);
    *p++ = ' ';
    p += put_uint(p, e->duration_us / 1000, 1);
    *p++ = '.';
    p += put_uint(p, e->duration_us % 1000, 3);
    *p++ = 'm';
    *p++ = 's';
    *p = '\0';
    return (size_t)(p - line);
}

/* The whole stderr line, newline included; at most ACCESS_LINE_MAX bytes. */
static size_t access_line(const struct access_entry *e, char *line)
{
    size_t n = strnlen(log_ident, 64);
    memcpy(line, log_ident, n);
    memcpy(line + n, ": access: ", 10);
    n += 10;
    n += access_text(e, line + n);
    line[n++] = '\n';
    return n;
}

static void journal_write(const struct access_entry *e)
{
    char line[ACCESS_LINE_MAX], listener[4 * LISTENER_MAX + 1], client[4 * sizeof(e->client) + 1],
        method[4 * sizeof(e->method) + 1], path[4 * sizeof(e->path) + 1];
    const char *l = e->listener ? e->listener : "-";
    access_text(e, line);
    log_escape(listener, sizeof(listener), l, strnlen(l, LISTENER_MAX));
    log_escape(client, sizeof(client), e->client, strnlen(e->client, sizeof(e->client)));
    log_escape(method, sizeof(method), e->method, method_len(e));
    log_escape(path, sizeof(path), e->path, path_len(e));
    sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", e->status >= 500 ? LOG_ERR : LOG_INFO,
                    "SYSLOG_IDENTIFIER=%s", log_ident, "MASD_LISTENER=%s", listener, "MASD_CLIENT_IP=%s",
                    client, "MASD_METHOD=%s", method, "MASD_PATH=%s", path, "MASD_STATUS=%d", e->status,
                    "MASD_DURATION_US=%u", e->duration_us, NULL);
}

static void write_all(const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to log to */
        buf += w;
        n -= (size_t)w;
    }
}

/* The logger thread's lines for stderr: whole lines, written together. */
static char batch[BATCH_SIZE];
static size_t batch_len;

static void batch_flush(void)
{
    write_all(batch, batch_len);
    batch_len = 0;
}

/* Runs on the logger thread: the escaping costs the event loops nothing. */
static void access_write(const struct access_entry *e)
{
    if (use_journal) {
        journal_write(e);
        return;
    }
    if (batch_len + ACCESS_LINE_MAX > sizeof(batch))
        batch_flush();
    batch_len += access_line(e, batch + batch_len);
}

/* Drains every ring once; returns how many entries were written. */
static unsigned drain(void)
{
    unsigned n = 0;
    pthread_mutex_lock(&rings_lock);
    struct ring *list = rings;
    pthread_mutex_unlock(&rings_lock);
    for (struct ring *r = list; r; r = r->next) {
        unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        unsigned head = atomic_load_explicit(&r->head, memory_order_acquire);
        for (; tail != head; tail++, n++)
            access_write(&r->entries[tail % RING_SIZE]);
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
    if (batch_len)
        batch_flush();
    return n;
}

static void *logger_main(void *arg)
{
    for (;;) {
        if (drain() > 0) {
            /* Busy: let entries gather for a moment, so that one write carries many lines and
             * the loops seldom have to wake us (a wake-up is a syscall on the loop thread). */
            struct timespec pause = {0, LOGGER_PAUSE_NS};
            nanosleep(&pause, NULL);
            continue;
        }
        atomic_store(&logger_sleeping, true);
        /* An entry pushed between the drain and the flag would wait for the next push: drain
         * once more before sleeping. */
        if (drain() > 0) {
            atomic_store(&logger_sleeping, false);
            continue;
        }
        if (atomic_load(&logger_stop))
            break;
        uint64_t v;
        if (read(wake_fd, &v, sizeof(v)) < 0 && errno != EINTR)
            break;
        atomic_store(&logger_sleeping, false);
    }
    return NULL;
}

int access_log_start(void)
{
    wake_fd = eventfd(0, EFD_CLOEXEC);
    if (wake_fd < 0)
        return log_errno(-errno, "eventfd: %m");
    int r = pthread_create(&logger_thread, NULL, logger_main, NULL);
    if (r != 0)
        return log_errno(-r, "cannot start the logger thread: %m");
    logger_running = true;
    return 0;
}

static void wake_logger(void)
{
    if (wake_fd >= 0 && atomic_exchange(&logger_sleeping, false)) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
}

void access_log_push(const struct access_entry *e)
{
    if (!logger_running) {
        if (use_journal) {
            journal_write(e);
        } else {
            char line[ACCESS_LINE_MAX];
            write_all(line, access_line(e, line));
        }
        return;
    }
    if (!my_ring) {
        my_ring = calloc(1, sizeof(*my_ring));
        if (!my_ring) {
            atomic_fetch_add(&dropped, 1);
            return;
        }
        pthread_mutex_lock(&rings_lock);
        my_ring->next = rings;
        rings = my_ring;
        pthread_mutex_unlock(&rings_lock);
    }
    unsigned head = atomic_load_explicit(&my_ring->head, memory_order_relaxed);
    unsigned tail = atomic_load_explicit(&my_ring->tail, memory_order_acquire);
    if (head - tail >= RING_SIZE) {
        atomic_fetch_add(&dropped, 1);
        return;
    }
    my_ring->entries[head % RING_SIZE] = *e;
    atomic_store_explicit(&my_ring->head, head + 1, memory_order_release);
    wake_logger();
}

void access_log_stop(void)
{
    if (!logger_running)
        return;
    atomic_store(&logger_stop, true);
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof(one));
    pthread_join(logger_thread, NULL);
    logger_running = false;
    drain();
    if (atomic_load(&dropped))
        log_warn("%lu access log entries were dropped (logger could not keep up)", access_log_dropped());
}

unsigned long access_log_dropped(void)
{
    return atomic_load(&dropped);
}
