/* The worker pool: jobs run off the loop and come back to the loop that asked; a full queue
 * says so instead of blocking. */
#include <h2o.h>
#include "check.h"
#include "workpool.h"
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdatomic.h>
#include <unistd.h>

struct test_job {
    struct workpool_job base;
    pthread_t ran_on;
    int value;
    int nice;
};

static pthread_t loop_thread;
static int received, wrong_thread;
static atomic_int gate_open;

static void work(struct workpool_job *j)
{
    struct test_job *t = (struct test_job *)j;
    t->ran_on = pthread_self();
    t->value *= 2;
    t->nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

static void blocking_work(struct workpool_job *j)
{
    while (!atomic_load(&gate_open))
        usleep(1000);
    work(j);
}

static void on_done(h2o_multithread_receiver_t *r, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        struct test_job *t = (struct test_job *)m;
        if (pthread_equal(t->ran_on, loop_thread) || !pthread_equal(pthread_self(), loop_thread))
            wrong_thread++;
        received += t->value;
    }
}

int main(void)
{
    loop_thread = pthread_self();
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_multithread_queue_t *queue = h2o_multithread_create_queue(loop);
    h2o_multithread_receiver_t receiver;
    h2o_multithread_register_receiver(queue, &receiver, on_done);
    struct workpool *pool;
    CHECK_INT(workpool_start(&pool, "test pool", 2, 4, 0), 0);

    static struct test_job jobs[8];
    int expected = 0;
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct test_job){.base = {.work = work, .reply_to = &receiver}, .value = i + 1};
        expected += 2 * (i + 1);
        CHECK_INT(workpool_submit(pool, &jobs[i].base), 0);
    }
    for (int spins = 0; received < expected && spins < 1000; spins++)
        h2o_evloop_run(loop, 10);
    CHECK_INT(received, expected);
    CHECK_INT(wrong_thread, 0);

    /* Two blocked workers plus a queue of 4: the seventh job is refused, not queued. */
    received = 0;
    int accepted = 0;
    for (int i = 0; i < 7; i++) {
        jobs[i] = (struct test_job){.base = {.work = blocking_work, .reply_to = &receiver}, .value = 1};
        int r = workpool_submit(pool, &jobs[i].base);
        if (r == 0)
            accepted++;
        else
            CHECK_INT(r, -EAGAIN);
        if (i < 2)
            usleep(20000); /* let a worker take it */
    }
    CHECK_INT(accepted, 6);
    atomic_store(&gate_open, 1);
    for (int spins = 0; received < 2 * accepted && spins < 1000; spins++)
        h2o_evloop_run(loop, 10);
    CHECK_INT(received, 2 * accepted);

    CHECK_INT(jobs[0].nice, 0);
    workpool_stop(pool);

    /* A pool for CPU-heavy work runs below the event loops' priority. */
    struct workpool *low;
    CHECK_INT(workpool_start(&low, "low pool", 1, 1, 10), 0);
    received = 0;
    jobs[0] = (struct test_job){.base = {.work = work, .reply_to = &receiver}, .value = 1};
    CHECK_INT(workpool_submit(low, &jobs[0].base), 0);
    for (int spins = 0; received < 2 && spins < 1000; spins++)
        h2o_evloop_run(loop, 10);
    CHECK_INT(received, 2);
    CHECK_INT(jobs[0].nice, 10);
    workpool_stop(low);
    h2o_multithread_unregister_receiver(queue, &receiver);
    h2o_multithread_destroy_queue(queue);
    return check_report(__FILE__);
}
