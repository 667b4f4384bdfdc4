#include "workpool.h"
#include "log.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct workpool {
    const char *name;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct workpool_job *head, *tail;
    unsigned queued, capacity;
    bool stopping;
    int nice;
    pthread_t *threads;
    unsigned n_threads;
};

static struct workpool_job *next_job(struct workpool *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->head && !p->stopping)
        pthread_cond_wait(&p->nonempty, &p->lock);
    struct workpool_job *job = p->head;
    if (job) {
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
    }
    pthread_mutex_unlock(&p->lock);
    return job;
}

static void *worker_main(void *arg)
{
    struct workpool *p = arg;
    /* Failure costs latency, not safety: the work still runs. */
    if (p->nice > 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice) < 0)
        log_warn("cannot lower the priority of the %s threads: %m", p->name);
    struct workpool_job *job;
    while ((job = next_job(p))) {
        job->work(job);
        h2o_multithread_send_message(job->reply_to, &job->msg);
    }
    return NULL;
}

int workpool_start(struct workpool **out, const char *name, unsigned threads, unsigned capacity, int nice)
{
    struct workpool *p = calloc(1, sizeof(*p));
    if (!p || !(p->threads = calloc(threads, sizeof(*p->threads)))) {
        free(p);
        return -ENOMEM;
    }
    p->name = name;
    p->capacity = capacity;
    p->nice = nice;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->nonempty, NULL);
    for (; p->n_threads < threads; p->n_threads++) {
        int r = pthread_create(&p->threads[p->n_threads], NULL, worker_main, p);
        if (r != 0) {
            workpool_stop(p);
            return log_errno(-r, "cannot start a %s thread: %m", name);
        }
    }
    *out = p;
    return 0;
}

int workpool_submit(struct workpool *p, struct workpool_job *job)
{
    int r = 0;
    job->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->n_threads == 0)
        r = -ESHUTDOWN;
    else if (p->queued >= p->capacity)
        r = -EAGAIN;
    else {
        if (p->tail)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        p->queued++;
        pthread_cond_signal(&p->nonempty);
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

void workpool_stop(struct workpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->nonempty);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->nonempty);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
