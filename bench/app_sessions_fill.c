/* Gives one user many app sessions, for bench/graphql_sessions.sh: COUNT sessions, compat and
 * OAuth in turn (each with its own device, as a login makes them), written through the storage
 * layer in one transaction. The OAuth sessions belong to a client made here.
 *
 *   build/bench/app_sessions_fill URI USERNAME COUNT
 *
 * URI: sqlite:///path.db or postgresql://… (migrated already); USERNAME must exist. */
#include "clock.h"
#include "storage.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fill {
    const char *username;
    long count;
};

static int fill_tx(struct storage_tx *tx, void *arg)
{
    struct fill *f = arg;
    struct storage_user u;
    int64_t now = masd_now();
    int r = storage_user_find(tx, f->username, &u);
    if (r < 0)
        return r;
    struct storage_oauth_client c = {.token_endpoint_auth_method = "none"};
    if ((r = storage_oauth_client_create(tx, &c, now, &c)) < 0)
        return r;
    storage_oauth_client_clear(&c);
    for (long i = 0; i < f->count && r >= 0; i++) {
        char device[32], scope[128];
        snprintf(device, sizeof(device), "BENCH%06ld", i);
        if (i % 2 == 0) {
            r = storage_compat_session_create(tx, u.id, device, false, NULL, "Bench phone",
                                              "Element/1.6.10 (Google Pixel 7; Android 14; x)", now - i,
                                              NULL);
        } else {
            struct storage_oauth_session s;
            snprintf(scope, sizeof(scope), "openid urn:matrix:client:api:* urn:matrix:client:device:%s",
                     device);
            r = storage_oauth_session_create(
                tx, c.id, u.id, NULL, scope,
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", now - i, &s);
            if (r >= 0)
                r = storage_oauth_session_add_device(tx, s.id, device);
        }
    }
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s URI USERNAME COUNT\n", argv[0]);
        return 2;
    }
    struct storage *st;
    struct fill f = {.username = argv[2], .count = atol(argv[3])};
    if (storage_open_uri(argv[1], &st) < 0 || storage_tx(st, STORAGE_TX_WRITE, fill_tx, &f) < 0) {
        fprintf(stderr, "%s\n", storage_last_error());
        return 1;
    }
    storage_close(st);
    return 0;
}
