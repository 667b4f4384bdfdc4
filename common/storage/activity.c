/* The bounded activity map: open addressing with linear probing, keyed by (kind, session id).
 * Slots are only ever added between sweeps; a sweep (activity_take_due) drops the stale ones by
 * rebuilding the table, so deletion needs no tombstones. The table starts small and doubles while
 * the sessions it holds need it, up to twice the capacity: an idle process that saw few sessions
 * holds a few pages, not the whole bound. */
#include "activity.h"
#include "clock.h"
#include "log.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
    bool used, dirty;
    uint8_t kind;
    char id[STORAGE_ID_SIZE];
    int64_t at;               /* latest activity noted */
    char ip[STORAGE_IP_SIZE]; /* its client address, "" unknown */
    int64_t written_at;       /* when it was last taken for writing; 0: never */
};

#define INITIAL_SLOTS 1024

struct activity_map {
    pthread_mutex_t lock;
    struct slot *slots, *scratch;
    size_t mask;     /* table size - 1 */
    size_t max_size; /* the table's size at capacity */
    size_t capacity; /* most sessions held: half the table keeps probes short */
    size_t n;
    unsigned long dropped;
};

int activity_map_new(size_t capacity, struct activity_map **out)
{
    if (capacity == 0 || capacity > (1u << 24))
        return -EINVAL;
    size_t size = 2;
    while (size < capacity * 2)
        size <<= 1;
    struct activity_map *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->max_size = size;
    if (size > INITIAL_SLOTS)
        size = INITIAL_SLOTS;
    m->slots = calloc(size, sizeof(*m->slots));
    m->scratch = calloc(size, sizeof(*m->scratch));
    if (!m->slots || !m->scratch) {
        activity_map_free(m);
        return -ENOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->mask = size - 1;
    m->capacity = capacity;
    *out = m;
    return 0;
}

void activity_map_free(struct activity_map *m)
{
    if (!m)
        return;
    if (m->slots)
        pthread_mutex_destroy(&m->lock);
    free(m->slots);
    free(m->scratch);
    free(m);
}

/* FNV-1a: the ids are random ULIDs already, any cheap mix spreads them. */
static size_t slot_hash(uint8_t kind, const char *id)
{
    uint64_t h = 1469598103934665603ull ^ kind;
    for (size_t i = 0; id[i]; i++)
        h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
    return (size_t)h;
}

/* The slot holding the key, or the free slot where it would go. The table is never more than
 * half full, so the probe always ends. */
static struct slot *slot_find(struct slot *slots, size_t mask, uint8_t kind, const char *id)
{
    size_t i = slot_hash(kind, id) & mask;
    while (slots[i].used && (slots[i].kind != kind || strcmp(slots[i].id, id) != 0))
        i = (i + 1) & mask;
    return &slots[i];
}

/* Doubles the table (and its scratch twin), keeping every slot. */
static int grow(struct activity_map *m)
{
    size_t size = (m->mask + 1) * 2;
    struct slot *slots = calloc(size, sizeof(*slots)), *scratch = calloc(size, sizeof(*scratch));
    if (!slots || !scratch) {
        free(slots);
        free(scratch);
        return -ENOMEM;
    }
    for (size_t i = 0; i <= m->mask; i++)
        if (m->slots[i].used)
            *slot_find(slots, size - 1, m->slots[i].kind, m->slots[i].id) = m->slots[i];
    free(m->slots);
    free(m->scratch);
    m->slots = slots, m->scratch = scratch, m->mask = size - 1;
    return 0;
}

int activity_record(struct activity_map *m, enum storage_session_kind kind, const char *id, int64_t at,
                    const char *ip)
{
    if (!id || strlen(id) != STORAGE_ID_SIZE - 1)
        return -EINVAL;
    int r = 0;
    pthread_mutex_lock(&m->lock);
    struct slot *s = slot_find(m->slots, m->mask, (uint8_t)kind, id);
    if (!s->used && m->n < m->capacity && (m->n + 1) * 2 > m->mask + 1) {
        if ((r = grow(m)) == 0)
            s = slot_find(m->slots, m->mask, (uint8_t)kind, id);
    }
    if (r < 0 || (!s->used && m->n >= m->capacity)) {
        m->dropped++;
        r = r < 0 ? r : -ENOSPC;
    } else {
        if (!s->used) {
            *s = (struct slot){.used = true, .kind = (uint8_t)kind};
            memcpy(s->id, id, STORAGE_ID_SIZE);
            m->n++;
        }
        if (at >= s->at && ip && ip[0])
            snprintf(s->ip, sizeof(s->ip), "%s", ip);
        if (at > s->at)
            s->at = at;
        if (!s->written_at || s->at > s->written_at)
            s->dirty = true;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* Keeps only the slots still worth remembering: dirty, or written within the interval (their
 * next write must wait). */
static void sweep(struct activity_map *m, int64_t now)
{
    size_t size = m->mask + 1, n = 0;
    memcpy(m->scratch, m->slots, size * sizeof(*m->slots));
    memset(m->slots, 0, size * sizeof(*m->slots));
    for (size_t i = 0; i < size; i++) {
        const struct slot *s = &m->scratch[i];
        if (!s->used || (!s->dirty && now - s->written_at >= ACTIVITY_INTERVAL_MS))
            continue;
        *slot_find(m->slots, m->mask, s->kind, s->id) = *s;
        n++;
    }
    m->n = n;
}

size_t activity_take_due(struct activity_map *m, int64_t now, bool all, struct activity_entry *out,
                         size_t max)
{
    size_t taken = 0, stale = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i <= m->mask; i++) {
        struct slot *s = &m->slots[i];
        if (!s->used)
            continue;
        bool waiting = s->written_at && now - s->written_at < ACTIVITY_INTERVAL_MS;
        if (s->dirty && (all || !waiting) && taken < max) {
            out[taken].kind = (enum storage_session_kind)s->kind;
            memcpy(out[taken].id, s->id, STORAGE_ID_SIZE);
            out[taken].at = s->at;
            memcpy(out[taken].ip, s->ip, sizeof(s->ip));
            taken++;
            s->dirty = false;
            s->written_at = now;
        } else if (!s->dirty && !waiting) {
            stale++;
        }
    }
    if (stale)
        sweep(m, now);
    pthread_mutex_unlock(&m->lock);
    return taken;
}

size_t activity_map_size(struct activity_map *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->n;
    pthread_mutex_unlock(&m->lock);
    return n;
}

unsigned long activity_dropped(struct activity_map *m)
{
    pthread_mutex_lock(&m->lock);
    unsigned long n = m->dropped;
    pthread_mutex_unlock(&m->lock);
    return n;
}

struct batch {
    const struct activity_entry *e;
    size_t n;
};

static int batch_tx(struct storage_tx *tx, void *arg)
{
    const struct batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        int r = storage_session_activity_record(tx, b->e[i].kind, b->e[i].id, b->e[i].at,
                                                b->e[i].ip[0] ? b->e[i].ip : NULL);
        if (r < 0 && r != -ENOENT) /* a session deleted meanwhile is no reason to lose the batch */
            return r;
    }
    return 0;
}

long activity_flush(struct activity_map *m, struct storage *st, int64_t now, bool all)
{
    struct activity_entry *e = malloc(ACTIVITY_BATCH * sizeof(*e));
    if (!e)
        return -ENOMEM;
    long written = 0;
    int last = 0;
    size_t n;
    while ((n = activity_take_due(m, now, all, e, ACTIVITY_BATCH)) > 0) {
        struct batch b = {e, n};
        int r = storage_tx(st, STORAGE_TX_WRITE, batch_tx, &b);
        if (r < 0) {
            log_warn("session activity: %zu entries lost: %s", n, storage_last_error());
            last = r;
        } else {
            written += (long)n;
        }
        if (n < ACTIVITY_BATCH)
            break;
    }
    free(e);
    return last < 0 ? last : written;
}

/* ---- the process's map and its flusher ------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stopping;
    struct activity_map *map;
    struct storage *st;
} flusher = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&flusher.lock);
    while (!flusher.stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ACTIVITY_TICK_MS / 1000;
        pthread_cond_timedwait(&flusher.wake, &flusher.lock, &ts);
        if (flusher.stopping)
            break;
        pthread_mutex_unlock(&flusher.lock);
        activity_flush(flusher.map, flusher.st, masd_now(), false);
        pthread_mutex_lock(&flusher.lock);
    }
    pthread_mutex_unlock(&flusher.lock);
    return NULL;
}

int activity_start(struct storage *st, size_t capacity)
{
    struct activity_map *m;
    int r = activity_map_new(capacity, &m);
    if (r < 0)
        return r;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_cond_init(&flusher.wake, &attr);
    pthread_condattr_destroy(&attr);
    flusher.st = st;
    flusher.stopping = false;
    __atomic_store_n(&flusher.map, m, __ATOMIC_RELEASE);
    /* The flusher takes no signal. It starts before the server blocks SIGTERM, SIGINT and SIGHUP
     * for its threads (they reach the main thread's sigtimedwait only); were they open here, a
     * SIGTERM that arrives while the main thread is not in sigtimedwait (the process stopped, or
     * between two waits) would kill the process by its default action, requests in flight and
     * the exit flush with it. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = -pthread_create(&flusher.thread, NULL, flusher_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        __atomic_store_n(&flusher.map, NULL, __ATOMIC_RELEASE);
        activity_map_free(m);
        return r;
    }
    flusher.running = true;
    /* the exit flush, also when the service has no shutdown hook wired (activity_stop is
     * idempotent; the storage is never closed before exit) */
    static bool registered;
    if (!registered)
        registered = atexit(activity_stop) == 0;
    return 0;
}

void activity_note(enum storage_session_kind kind, const char *id, int64_t at, const char *ip)
{
    /* map is set once before the loops start and cleared only after they stopped */
    struct activity_map *m = __atomic_load_n(&flusher.map, __ATOMIC_ACQUIRE);
    if (m && activity_record(m, kind, id, at, ip) == -ENOSPC && activity_dropped(m) % 1000 == 1)
        log_warn("session activity map full (%zu sessions): %lu notes lost so far", m->capacity,
                 activity_dropped(m));
}

void activity_stop(void)
{
    pthread_mutex_lock(&flusher.lock);
    if (!flusher.running) {
        pthread_mutex_unlock(&flusher.lock);
        return;
    }
    flusher.stopping = true;
    pthread_cond_signal(&flusher.wake);
    pthread_mutex_unlock(&flusher.lock);
    pthread_join(flusher.thread, NULL);
    struct activity_map *m = flusher.map;
    __atomic_store_n(&flusher.map, NULL, __ATOMIC_RELEASE);
    long n = activity_flush(m, flusher.st, masd_now(), true);
    if (n > 0)
        log_debug("session activity: %ld sessions written on exit", n);
    activity_map_free(m);
    flusher.running = false;
    pthread_cond_destroy(&flusher.wake);
}
