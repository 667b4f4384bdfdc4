/* Fills a database with OAuth 2.0 sessions of one client fast, for the refresh_token benchmark
 * (bench/token.sh): one user, SESSIONS sessions of CLIENT_ID for that user, each with an access
 * token and a refresh token issued with it, as a code exchange leaves them (services/oauth/token.c
 * issue_pair), written through the storage layer in a few large transactions (BATCH sessions
 * each) instead of one per flow.
 *
 *   build/bench/oauth_fill URI CLIENT_ID USERNAME SESSIONS TOKENS_FILE
 *
 * URI: sqlite:///path.db or postgresql://… (migrated here); the client must exist (`masctl
 * config sync` of a static client). The user is made when absent. Every clear refresh token goes
 * to TOKENS_FILE, one per line: each can be used once (rotation, RFC 9700 §4.14.2). */
#include "clock.h"
#include "storage.h"
#include "token.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 20000
#define SCOPE "urn:matrix:org.matrix.msc2967.client:api:*"

struct fill {
    const char *client_id, *username;
    long count;
    char *out; /* this batch's refresh tokens, written once it committed */
    size_t out_len;
};

static int fill_tx(struct storage_tx *tx, void *arg)
{
    struct fill *f = arg;
    int64_t now = masd_now();
    f->out_len = 0; /* storage_tx may run this again */
    struct storage_user u;
    int r = storage_user_find(tx, f->username, &u);
    if (r == -ENOENT)
        r = storage_user_create(tx, f->username, false, now, &u);
    if (r < 0)
        return r;
    for (long i = 0; i < f->count; i++) {
        struct storage_oauth_session s;
        struct storage_access_token at;
        char access[TOKEN_LEN + 1], refresh[TOKEN_LEN + 1];
        if ((r = storage_oauth_session_create(tx, f->client_id, u.id, NULL, SCOPE, "oauth_fill", now, &s)) <
                0 ||
            (r = token_generate(TOKEN_ACCESS, access)) < 0 ||
            (r = storage_access_token_add(tx, STORAGE_SESSION_OAUTH, s.id, access, now + 300000, now, &at)) <
                0 ||
            (r = token_generate(TOKEN_REFRESH, refresh)) < 0 ||
            (r = storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, s.id, at.id, refresh, now, NULL)) < 0)
            return r;
        memcpy(f->out + f->out_len, refresh, TOKEN_LEN);
        f->out[f->out_len + TOKEN_LEN] = '\n';
        f->out_len += TOKEN_LEN + 1;
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
        fprintf(stderr, "usage: %s URI CLIENT_ID USERNAME SESSIONS TOKENS_FILE\n", argv[0]);
        return 2;
    }
    long n = atol(argv[4]);
    if (n <= 0) {
        fprintf(stderr, "SESSIONS must be positive\n");
        return 2;
    }
    struct fill f = {.client_id = argv[2], .username = argv[3]};
    struct storage *st;
    if (storage_open_uri(argv[1], &st) < 0 || storage_migrate(st, NULL) < 0) {
        fprintf(stderr, "%s\n", storage_last_error());
        return 1;
    }
    FILE *out = fopen(argv[5], "a");
    f.out = malloc((size_t)BATCH * (TOKEN_LEN + 1));
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
    printf(
        "%s: %ld OAuth sessions of %s (an access and a refresh token each) in %.1f s; refresh tokens in %s\n",
        storage_describe(st), n, argv[2], now_s() - t0, argv[5]);
    storage_close(st);
    return 0;
}
