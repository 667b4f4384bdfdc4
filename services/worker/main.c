/* masd-worker: runs the job queue (docs/architecture.md §5; MAS: crates/tasks/src/matrix.rs,
 * email.rs) and the database upkeep no request path may pay for.
 *
 * Each of --threads threads claims the next due job with a lease (HS_JOB_LEASE_MS), runs it
 * (the homeserver sync: hs_sync.c; e-mail: email_jobs.c) and completes it, or fails it with MAS's
 * backoff. A worker that dies leaves its jobs
 * leased; once the lease runs out any worker claims them again, the claim counting as an attempt.
 * Several workers, on one host or many, share a database safely: a claim is one transaction
 * (BEGIN IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL).
 *
 * The main thread does the upkeep: a WAL checkpoint every CHECKPOINT_EVERY_MS (services open
 * SQLite with wal_autocheckpoint=0): passive, and truncating once the WAL passes its soft bound
 * (storage_checkpoint), and every PURGE_EVERY_MS deletes expired rate-limit
 * rows, expired client-assertion jtis, jobs finished more than JOB_KEEP_MS ago, login
 * networks not logged in from for STORAGE_LOGIN_NETWORK_TTL_MS, compat SSO logins that can no
 * longer be exchanged (storage_compat_sso_login_purge), e-mail authentications older than
 * STORAGE_EMAIL_AUTHENTICATION_KEEP_MS and account recovery sessions older than
 * STORAGE_RECOVERY_SESSION_KEEP_MS.
 *
 * Long-running, Type=notify: READY=1 once the database and the homeserver connection are set
 * up; on SIGTERM it stops claiming, lets running jobs finish (each bounded by the homeserver
 * timeout) and exits 0. --once runs every due job, then exits (for tests and cron-style use). */
#include "clock.h"
#include "cmdline.h"
#include "config.h"
#include "email_jobs.h"
#include "homeserver.h"
#include "hs_sync.h"
#include "log.h"
#include "storage.h"
#include "storage_upstream.h"
#include "storage_jti.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS             1000 /* an idle thread looks for due jobs this often (MAS: ~1 s) */
#define CHECKPOINT_EVERY_MS 1000 /* cheap when idle; keeps the WAL near its soft bound under floods */
#define PURGE_EVERY_MS      60000
#define JOB_KEEP_MS         (7LL * 24 * 3600 * 1000) /* finished jobs stay a week, for masctl and people */
#define MAX_THREADS         64

/* An e-mail job sends within its lease: mail_send() gives up after MAIL_TIMEOUT_MS. */
_Static_assert(MAIL_TIMEOUT_MS + 30000 < HS_JOB_LEASE_MS, "an e-mail job must end within its lease");

static const struct config *cfg;
static struct storage *st;
static struct homeserver *hs;
static struct email_jobs email;
static atomic_bool stopping;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static char worker_base[48];
static bool once;
static atomic_uint once_idle; /* --once: threads that found nothing to do */

/* Sleeps up to ms, or until stop() is called. */
static void nap(int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&wake_lock);
    if (!atomic_load(&stopping))
        pthread_cond_timedwait(&wake, &wake_lock, &until);
    pthread_mutex_unlock(&wake_lock);
}

static void stop(void)
{
    pthread_mutex_lock(&wake_lock);
    atomic_store(&stopping, true);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&wake_lock);
}

struct fail {
    const struct storage_job *job;
    const char *worker_id, *why;
    bool retry;
    int retried;
};

static int fail_tx(struct storage_tx *tx, void *arg)
{
    struct fail *f = arg;
    f->retried = storage_job_fail(tx, f->job->id, f->worker_id, f->why, f->retry, masd_now());
    return f->retried;
}

static void record_failure(const struct storage_job *job, const char *worker_id, const char *why, bool retry)
{
    struct fail f = {job, worker_id, why, retry, 0};
    int r = storage_tx(st, STORAGE_TX_WRITE, fail_tx, &f);
    if (r == -ESTALE)
        log_warn("job %s (%s): lost its lease while failing: %s", job->id, job->queue, why);
    else if (r < 0)
        log_error("job %s (%s): cannot record the failure (%s): %s", job->id, job->queue, why,
                  storage_last_error());
    else if (r == 1)
        log_warn("job %s (%s), attempt %u of %u failed, will retry: %s", job->id, job->queue, job->attempts,
                 STORAGE_JOB_MAX_ATTEMPTS, why);
    else
        log_error("job %s (%s) failed for good after attempt %u: %s", job->id, job->queue, job->attempts,
                  why);
}

static void run_one(const struct storage_job *job, const char *worker_id)
{
    char msg[512];
    if (job->attempts > STORAGE_JOB_MAX_ATTEMPTS) {
        /* its leases kept running out: whatever it does kills or stalls its worker */
        record_failure(job, worker_id, "its lease ran out on every attempt", false);
        return;
    }
    enum hs_job_outcome o = email_job_handles(job->queue)
                                ? email_job_run(&email, job, worker_id, msg, sizeof(msg))
                                : hs_job_run(st, hs, &cfg->matrix, job, worker_id, msg, sizeof(msg));
    switch (o) {
    case HS_JOB_DONE:
        log_info("job %s (%s) done, attempt %u", job->id, job->queue, job->attempts);
        break;
    case HS_JOB_RETRY:
    case HS_JOB_FAILED:
        record_failure(job, worker_id, msg, o == HS_JOB_RETRY);
        break;
    case HS_JOB_LOST:
        log_warn("job %s (%s): lost its lease while running (another worker has it now): %s", job->id,
                 job->queue, msg);
        break;
    }
}

static void *job_thread(void *arg)
{
    char worker_id[STORAGE_QUEUE_MAX + 1];
    snprintf(worker_id, sizeof(worker_id), "%s/%u", worker_base, (unsigned)(uintptr_t)arg);
    bool idle_counted = false;
    while (!atomic_load(&stopping)) {
        struct storage_job job;
        int r = storage_job_claim(st, NULL, worker_id, HS_JOB_LEASE_MS, masd_now(), &job);
        if (r > 0) {
            run_one(&job, worker_id);
            storage_job_clear(&job);
            continue;
        }
        if (r < 0)
            log_error("cannot claim a job: %s", storage_last_error());
        if (once) {
            if (!idle_counted)
                atomic_fetch_add(&once_idle, 1);
            idle_counted = true;
            break;
        }
        /* jitter, as MAS: workers of several hosts do not poll in step */
        nap(POLL_MS * 9 / 10 + (int64_t)(masd_now() % (POLL_MS / 5)));
    }
    return NULL;
}

struct purge_counts {
    unsigned rate_limits, jtis, jobs, networks, sso_logins, email_auths, recoveries, device_grants;
    unsigned upstream_sessions, upstream_links;
};

static int purge_tx(struct storage_tx *tx, void *arg)
{
    struct purge_counts *p = arg;
    int64_t now = masd_now();
    int r = storage_rate_limit_purge(tx, now, &p->rate_limits);
    if (r >= 0)
        r = storage_jti_purge(tx, now, &p->jtis);
    if (r >= 0)
        r = storage_job_purge(tx, now - JOB_KEEP_MS, &p->jobs);
    if (r >= 0)
        r = storage_login_network_purge(tx, now - STORAGE_LOGIN_NETWORK_TTL_MS, &p->networks);
    if (r >= 0) /* past both windows a compat SSO login can no longer be exchanged */
        r = storage_compat_sso_login_purge(
            tx, now - STORAGE_COMPAT_SSO_LOGIN_TTL_MS - STORAGE_COMPAT_SSO_TOKEN_TTL_MS, &p->sso_logins);
    if (r >= 0)
        r = storage_email_authentication_purge(tx, now - STORAGE_EMAIL_AUTHENTICATION_KEEP_MS,
                                               &p->email_auths);
    if (r >= 0)
        r = storage_recovery_purge(tx, now - STORAGE_RECOVERY_SESSION_KEEP_MS, &p->recoveries);
    if (r >= 0)
        r = storage_device_code_grant_purge(tx, now - STORAGE_DEVICE_CODE_KEEP_MS, &p->device_grants);
    if (r >= 0)
        r = storage_upstream_purge(tx, now - STORAGE_UPSTREAM_KEEP_MS, &p->upstream_sessions,
                                   &p->upstream_links);
    return r;
}

static void upkeep(int64_t *next_checkpoint, int64_t *next_purge)
{
    int64_t now = masd_now();
    if (now >= *next_checkpoint) {
        *next_checkpoint = now + CHECKPOINT_EVERY_MS;
        if (storage_checkpoint(st) < 0)
            log_warn("WAL checkpoint: %s", storage_last_error());
    }
    if (now >= *next_purge) {
        *next_purge = now + PURGE_EVERY_MS;
        struct purge_counts p = {0};
        if (storage_tx(st, STORAGE_TX_WRITE, purge_tx, &p) < 0)
            log_warn("clean-up: %s", storage_last_error());
        else if (p.rate_limits || p.jtis || p.jobs || p.networks || p.sso_logins || p.email_auths ||
                 p.recoveries || p.device_grants || p.upstream_sessions || p.upstream_links)
            log_info(
                "clean-up: %u rate-limit rows, %u jtis, %u finished jobs, %u login networks, %u compat SSO "
                "logins, %u e-mail authentications, %u recovery sessions, %u device-code grants, %u upstream "
                "authorization sessions, %u upstream links",
                p.rate_limits, p.jtis, p.jobs, p.networks, p.sso_logins, p.email_auths, p.recoveries,
                p.device_grants, p.upstream_sessions, p.upstream_links);
    }
}

static void *signal_thread(void *arg)
{
    sigset_t *sigs = arg;
    int sig = 0;
    sigwait(sigs, &sig);
    log_info("%s: finishing running jobs", strsignal(sig));
    sd_notify(0, "STOPPING=1");
    stop();
    return NULL;
}

/* The transport as an operator would name it: "smtp starttls smtp.example.com:587". */
static void email_describe(char *buf, size_t size)
{
    static const char *const modes[] = {"plain", "starttls", "tls"};
    const struct config_email *e = &cfg->email;
    if (e->transport == CONFIG_EMAIL_SMTP)
        snprintf(buf, size, "smtp %s %s:%u%s", modes[e->mode], e->hostname, e->port,
                 e->username ? " with AUTH" : "");
    else if (e->transport == CONFIG_EMAIL_SENDMAIL)
        snprintf(buf, size, "sendmail %s", e->command);
    else
        snprintf(buf, size, "blackhole: nothing is sent");
}

static int run(unsigned threads)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_t sig_tid, tids[MAX_THREADS];
    if (pthread_create(&sig_tid, NULL, signal_thread, &sigs) != 0)
        return log_errno(-EAGAIN, "cannot start the signal thread");
    pthread_detach(sig_tid);
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, job_thread, (void *)(uintptr_t)started) != 0)
            break;
    if (started == 0) {
        stop();
        return log_errno(-EAGAIN, "cannot start a job thread");
    }
    sd_notify(0, "READY=1");
    char mail[320];
    email_describe(mail, sizeof(mail));
    log_info("running jobs with %u thread(s) on %s (homeserver %s%s; e-mail %s)", started,
             storage_describe(st), cfg->matrix.endpoint, homeserver_read_only(hs) ? ", read-only" : "", mail);
    int64_t next_checkpoint = 0, next_purge = 0;
    while (!atomic_load(&stopping)) {
        upkeep(&next_checkpoint, &next_purge);
        if (once && atomic_load(&once_idle) == started)
            break;
        nap(once ? 50 : 1000);
    }
    stop();
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (storage_checkpoint(st) < 0)
        log_warn("WAL checkpoint: %s", storage_last_error());
    log_info("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    unsigned threads = 4;
    const struct cmdline_option options[] = {
        {"threads", "N", "jobs run at once (default 4)", &threads, 1, MAX_THREADS, NULL},
        {"once", NULL, "run every due job, then exit", NULL, 0, 0, &once},
        {0},
    };
    struct cmdline cl = {
        .program = "masd-worker",
        .summary = "Runs masd's job queue (telling the homeserver about users and devices, sending\n"
                   "e-mail) and the database's upkeep (WAL checkpoints, clean-up of expired rows).",
        .check_help = "validate the configuration, then exit",
        .options = options};
    log_init("masd-worker");
    int rc = cmdline_parse(&cl, argc, argv);
    if (rc != CMDLINE_CONTINUE)
        return rc;
    const char *config_path = cl.config_path;
    bool check = cl.check;
    struct config *loaded;
    char *error = NULL;
    if (config_load(config_path, &loaded, &error) < 0) {
        fprintf(stderr, "masd-worker: %s\n", error ? error : "cannot load the configuration");
        free(error);
        return 1;
    }
    cfg = loaded;
    if (check) { /* touches no state: the database is neither opened nor created */
        char mail[320];
        email_describe(mail, sizeof(mail));
        printf("masd-worker: configuration %s is valid (the database is not opened by --check; "
               "`masctl database migrate` checks it)\npublic_base %s\ne-mail %s\n",
               cfg->path, cfg->public_base, mail);
        config_free(loaded);
        return 0;
    }
    int r = homeserver_global_init();
    if (r >= 0 && (r = mail_global_init()) >= 0 && (r = mail_transport_open(&cfg->email, &email.mail)) < 0)
        log_error("cannot set up the e-mail transport: %s", strerror(-r));
    if (r >= 0 && (r = storage_open(cfg, &st)) < 0)
        log_error("cannot open the database: %s", storage_last_error());
    if (r >= 0 && (r = storage_check_migrations(st)) < 0)
        log_error("%s", storage_last_error());
    if (r >= 0 && (r = homeserver_open(&cfg->matrix, &hs)) < 0)
        log_error("matrix: cannot set up the homeserver connection: %s", strerror(-r));
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    snprintf(worker_base, sizeof(worker_base), "%.24s:%ld", host, (long)getpid()); /* unique per process */
    email.st = st;
    email.cfg = cfg;
    if (r >= 0)
        r = run(threads);
    if (hs)
        homeserver_close(hs);
    mail_transport_close(email.mail);
    if (st)
        storage_close(st);
    config_free(loaded);
    return r < 0 ? 1 : 0;
}
