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
#include <unistd.h>

#define RING_SIZE 512 /* entries per thread; a power of two */

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

static void log_vmsg(int priority, const char *fmt, va_list ap)
{
    if (priority == LOG_DEBUG && !verbose)
        return;
    char buf[2048];
    vsnprintf(buf, sizeof(buf), fmt, ap);
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

static void access_write(const struct access_entry *e)
{
    char line[512];
    snprintf(line, sizeof(line), "%s %s \"%s %s\" %d %u.%03ums", e->listener, e->client, e->method, e->path,
             e->status, e->duration_us / 1000, e->duration_us % 1000);
    if (use_journal) {
        sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", e->status >= 500 ? LOG_ERR : LOG_INFO,
                        "SYSLOG_IDENTIFIER=%s", log_ident, "MASD_LISTENER=%s", e->listener,
                        "MASD_CLIENT_IP=%s", e->client, "MASD_METHOD=%s", e->method, "MASD_PATH=%s", e->path,
                        "MASD_STATUS=%d", e->status, "MASD_DURATION_US=%u", e->duration_us, NULL);
    } else {
        fprintf(stderr, "%s: access: %s\n", log_ident, line);
    }
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
    if (n && !use_journal)
        fflush(stderr);
    return n;
}

static void *logger_main(void *arg)
{
    for (;;) {
        if (drain() > 0)
            continue;
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
        access_write(e);
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
