/* Fills a database with many compat sessions fast, for the introspection benchmarks: users, one
 * active compat session per (user, device) with its device row and one access token each,
 * written through the storage layer (the same statements and hashing as a login) in a few large
 * transactions (BATCH sessions each) instead of one per login.
 *
 *   build/bench/sessions_fill URI SESSIONS TOKENS_FILE [SAMPLE [SESSIONS_PER_USER]]
 *
 * URI: sqlite:///path.db or postgresql://… (migrated here). Appends to what is there. The clear
 * access tokens of an even sample of the sessions (at most SAMPLE, default 100000: every k-th)
 * go to TOKENS_FILE, one per line, for random draws. SESSIONS_PER_USER defaults to 4. SQLite
 * gets a WAL checkpoint after each batch (services run with wal_autocheckpoint=0). */
#include "clock.h"
#include "storage.h"
#include "token.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 50000

struct fill {
    long first, count, total, stride, per_user;
    char *sample; /* this batch's sampled tokens, written out once it committed */
    size_t sample_len;
    char run[16];
    char user_id[STORAGE_ID_SIZE];
};

static int fill_tx(struct storage_tx *tx, void *arg)
{
    struct fill *f = arg;
    int64_t now = masd_now();
    f->sample_len = 0; /* storage_tx may run this again */
    for (long i = f->first; i < f->first + f->count; i++) {
        char name[64], device[32], token[TOKEN_LEN + 1];
        int r;
        if (i % f->per_user == 0 || i == f->first) {
            struct storage_user u;
            snprintf(name, sizeof(name), "fill-%s-%ld", f->run, i / f->per_user);
            r = i % f->per_user == 0 ? storage_user_create(tx, name, false, now, &u)
                                     : storage_user_find(tx, name, &u); /* made by the previous batch */
            if (r < 0)
                return r;
            memcpy(f->user_id, u.id, sizeof(f->user_id));
        }
        snprintf(device, sizeof(device), "FILL%ld", i % f->per_user);
        struct storage_compat_session s;
        if ((r = storage_compat_session_create(tx, f->user_id, device, false, NULL, NULL, "sessions_fill",
                                               now, &s)) < 0 ||
            (r = token_generate(TOKEN_COMPAT_ACCESS, token)) < 0 ||
            (r = storage_access_token_add(tx, STORAGE_SESSION_COMPAT, s.id, token, 0, now, NULL)) < 0)
            return r;
        if (i % f->stride == 0) {
            memcpy(f->sample + f->sample_len, token, TOKEN_LEN);
            f->sample[f->sample_len + TOKEN_LEN] = '\n';
            f->sample_len += TOKEN_LEN + 1;
        }
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s URI SESSIONS TOKENS_FILE [SAMPLE [SESSIONS_PER_USER]]\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    long sample = argc > 4 ? atol(argv[4]) : 100000;
    struct fill f = {.total = n, .per_user = argc > 5 ? atol(argv[5]) : 4};
    if (n <= 0 || sample <= 0 || f.per_user <= 0) {
        fprintf(stderr, "SESSIONS, SAMPLE and SESSIONS_PER_USER must be positive\n");
        return 2;
    }
    f.stride = n > sample ? (n + sample - 1) / sample : 1;
    snprintf(f.run, sizeof(f.run), "%lx", (long)time(NULL) ^ (long)getpid());
    struct storage *st;
    if (storage_open_uri(argv[1], &st) < 0 || storage_migrate(st, NULL) < 0) {
        fprintf(stderr, "%s\n", storage_last_error());
        return 1;
    }
    FILE *out = fopen(argv[3], "a");
    f.sample = malloc((BATCH / f.stride + 1) * (TOKEN_LEN + 1));
    if (!out || !f.sample) {
        perror(argv[3]);
        return 1;
    }
    double t0 = now_s();
    long written = 0;
    for (f.first = 0; f.first < n; f.first += BATCH) {
        f.count = n - f.first < BATCH ? n - f.first : BATCH;
        if (storage_tx(st, STORAGE_TX_WRITE, fill_tx, &f) < 0) {
            fprintf(stderr, "batch at %ld: %s\n", f.first, storage_last_error());
            return 1;
        }
        fwrite(f.sample, 1, f.sample_len, out);
        written += f.sample_len / (TOKEN_LEN + 1);
        if (storage_checkpoint(st) < 0) {
            fprintf(stderr, "checkpoint: %s\n", storage_last_error());
            return 1;
        }
    }
    fclose(out);
    free(f.sample);
    printf("%s: %ld sessions (%ld users, one device and one access token each) in %.1f s; %ld tokens in %s\n",
           storage_describe(st), n, (n + f.per_user - 1) / f.per_user, now_s() - t0, written, argv[3]);
    storage_close(st);
    return 0;
}
