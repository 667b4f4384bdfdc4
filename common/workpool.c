#include "workpool.h"
#include "log.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER;
static struct workpool_job *head, *tail;
static unsigned queued, capacity_;
static bool stopping;
static pthread_t *threads_;
static unsigned n_threads;

static void *worker_main(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!head && !stopping)
            pthread_cond_wait(&nonempty, &lock);
        struct workpool_job *job = head;
        if (job) {
            head = job->next;
            if (!head)
                tail = NULL;
            queued--;
        }
        pthread_mutex_unlock(&lock);
        if (!job)
            return NULL;
        job->work(job);
        h2o_multithread_send_message(job->reply_to, &job->msg);
    }
}

int workpool_start(unsigned threads, unsigned capacity)
{
    capacity_ = capacity;
    threads_ = calloc(threads, sizeof(*threads_));
    if (!threads_)
        return -ENOMEM;
    for (n_threads = 0; n_threads < threads; n_threads++) {
        int r = pthread_create(&threads_[n_threads], NULL, worker_main, NULL);
        if (r != 0)
            return log_errno(-r, "cannot start a worker thread: %m");
    }
    return 0;
}

int workpool_submit(struct workpool_job *job)
{
    int r = 0;
    job->next = NULL;
    pthread_mutex_lock(&lock);
    if (stopping || n_threads == 0)
        r = -ESHUTDOWN;
    else if (queued >= capacity_)
        r = -EAGAIN;
    else {
        if (tail)
            tail->next = job;
        else
            head = job;
        tail = job;
        queued++;
        pthread_cond_signal(&nonempty);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

void workpool_stop(void)
{
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&nonempty);
    pthread_mutex_unlock(&lock);
    for (unsigned i = 0; i < n_threads; i++)
        pthread_join(threads_[i], NULL);
    free(threads_);
    threads_ = NULL;
    n_threads = 0;
}
