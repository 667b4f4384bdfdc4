/* Bounded pools of threads for slow work (docs/architecture.md §4). Results are posted back to the event
 * loop that asked, through h2o's multithread queue. */
#pragma once
#include <h2o.h>
#include <stdbool.h>

struct workpool;

struct workpool_job {
    h2o_multithread_message_t msg; /* first: the loop receives the job back through it */
    void (*work)(struct workpool_job *job);
    h2o_multithread_receiver_t *reply_to;
    struct workpool_job *next;
};

/* Starts `threads` threads with room for `capacity` queued jobs. nice > 0 lowers the threads'
 * priority (Linux applies nice per thread), for CPU-heavy work such as password hashing that
 * must not take the cores from the event loops. */
int workpool_start(struct workpool **out, const char *name, unsigned threads, unsigned capacity, int nice);
/* Queues job; returns -EAGAIN when the queue is full, -ESHUTDOWN after workpool_stop(). Once the
 * work is done, the job is sent to job->reply_to. */
int workpool_submit(struct workpool *pool, struct workpool_job *job);
/* Finishes queued jobs, joins the threads and frees the pool. */
void workpool_stop(struct workpool *pool);
