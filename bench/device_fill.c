/* Fills a database with pending device-code grants of one client fast, for the polling benchmark
 * (bench/device.sh): COUNT grants as POST /oauth2/device leaves them (services/oauth/device.c: a
 * device code of 32 alphanumerics, a user code of 6 of A-Z0-9 drawn again when taken, the 5 s
 * interval), written through the storage layer in a few large transactions (BATCH grants each)
 * instead of one request each.
 *
 *   build/bench/device_fill URI CLIENT_ID COUNT LIFETIME_S CODES_FILE
 *
 * URI: sqlite:///path.db or postgresql://… (migrated here); the client must exist (`masctl
 * config sync` of a static client). The grants expire LIFETIME_S from now (the service's is
 * 1200). Every clear device code goes to CODES_FILE, one per line. */
#include "clock.h"
#include "random.h"
#include "storage.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH    20000
#define CODE_LEN 32

struct fill {
    const char *client_id;
    long count;
    int64_t lifetime_ms;
    char *out; /* this batch's device codes, written once it committed */
    size_t out_len;
};

static int fill_tx(struct storage_tx *tx, void *arg)
{
    struct fill *f = arg;
    int64_t now = masd_now();
    f->out_len = 0; /* storage_tx may run this again */
    struct storage_device_code_grant in = {.expires_at = now + f->lifetime_ms, .interval_ms = 5000};
    snprintf(in.client_id, sizeof(in.client_id), "%s", f->client_id);
    snprintf(in.scope, sizeof(in.scope), "openid urn:matrix:client:api:*");
    snprintf(in.user_agent, sizeof(in.user_agent), "device_fill");
    for (long i = 0; i < f->count; i++) {
        char code[CODE_LEN + 1];
        int r = -EEXIST;
        while (r == -EEXIST) {
            if ((r = random_upper_alnum(in.user_code, 6)) < 0 || (r = random_alnum(code, CODE_LEN)) < 0)
                return r;
            r = storage_device_code_grant_create(tx, &in, code, now, NULL);
        }
        if (r < 0)
            return r;
        memcpy(f->out + f->out_len, code, CODE_LEN);
        f->out[f->out_len + CODE_LEN] = '\n';
        f->out_len += CODE_LEN + 1;
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
    if (argc != 6) {
        fprintf(stderr, "usage: %s URI CLIENT_ID COUNT LIFETIME_S CODES_FILE\n", argv[0]);
        return 2;
    }
    long n = atol(argv[3]), life = atol(argv[4]);
    if (n <= 0 || life <= 0) {
        fprintf(stderr, "COUNT and LIFETIME_S must be positive\n");
        return 2;
    }
    struct fill f = {.client_id = argv[2], .lifetime_ms = life * 1000};
    struct storage *st;
    if (storage_open_uri(argv[1], &st) < 0 || storage_migrate(st, NULL) < 0) {
        fprintf(stderr, "%s\n", storage_last_error());
        return 1;
    }
    FILE *out = fopen(argv[5], "a");
    f.out = malloc((size_t)BATCH * (CODE_LEN + 1));
    if (!out || !f.out) {
        perror(argv[5]);
        return 1;
    }
    double t0 = now_s();
    for (long done = 0; done < n; done += f.count) {
        f.count = n - done < BATCH ? n - done : BATCH;
        if (storage_tx(st, STORAGE_TX_WRITE, fill_tx, &f) < 0) {
            fprintf(stderr, "batch at %ld: %s\n", done, storage_last_error());
            return 1;
        }
        fwrite(f.out, 1, f.out_len, out);
        if (storage_checkpoint(st) < 0) {
            fprintf(stderr, "checkpoint: %s\n", storage_last_error());
            return 1;
        }
    }
    fclose(out);
    free(f.out);
    printf("%s: %ld pending device-code grants of %s in %.1f s; device codes in %s\n", storage_describe(st),
           n, argv[2], now_s() - t0, argv[5]);
    storage_close(st);
    return 0;
}
