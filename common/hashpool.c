/* The password-hashing thread: a FIFO of waiting callers served one at a time. Each caller's
 * slot lives on its own stack (it waits for the result), so the queue needs no allocation. */
#include "hashpool.h"
#include "log.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HASH_NICE        10
#define HASH_ESTIMATE_MS 50 /* argon2id with MAS's parameters, with margin */

struct slot {
    void (*fn)(void *arg);
    void *arg;
    bool done;
    struct slot *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static struct slot *head, *tail;
static unsigned pending; /* queued + running */
static bool running;
static pthread_t thread;

static void *hash_main(void *unused)
{
    (void)unused;
    /* Linux applies nice per thread: lower only this one. Failure costs latency, not safety. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASH_NICE) < 0)
        log_warn("cannot lower the priority of the password-hashing thread: %m");
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!head)
            pthread_cond_wait(&wake, &lock);
        struct slot *s = head;
        head = s->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&lock);
        s->fn(s->arg);
        pthread_mutex_lock(&lock);
        s->done = true;
        pending--;
        pthread_cond_broadcast(&finished);
    }
    return NULL;
}

int hashpool_start(void)
{
    int r = 0;
    pthread_mutex_lock(&lock);
    if (!running) {
        r = -pthread_create(&thread, NULL, hash_main, NULL);
        if (r == 0) {
            pthread_detach(thread);
            running = true;
        }
    }
    pthread_mutex_unlock(&lock);
    if (r < 0)
        return log_errno(r, "cannot start the password-hashing thread: %m");
    return 0;
}

int hashpool_run(void (*fn)(void *arg), void *arg, long *retry_after_ms)
{
    struct slot s = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&lock);
    if (!running) {
        pthread_mutex_unlock(&lock);
        return -ESHUTDOWN;
    }
    if (pending >= HASHPOOL_CAPACITY) {
        if (retry_after_ms)
            *retry_after_ms = (long)pending * HASH_ESTIMATE_MS;
        pthread_mutex_unlock(&lock);
        return -EAGAIN;
    }
    pending++;
    if (tail)
        tail->next = &s;
    else
        head = &s;
    tail = &s;
    pthread_cond_signal(&wake);
    while (!s.done)
        pthread_cond_wait(&finished, &lock);
    pthread_mutex_unlock(&lock);
    return 0;
}
