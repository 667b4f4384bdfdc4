/* For tests/integration/email.sh: starts an e-mail authentication as a page of masd-human will
 * (storage_email_authentication_start, which queues the job that mails the code), for a browser
 * session of USERNAME (made if needed; "-" for none), and prints its ID.
 *
 *     email_queue CONFIG USERNAME ADDRESS [LANGUAGE] */
#include "clock.h"
#include "config.h"
#include "storage.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct start {
    const char *username, *address, *language;
    struct storage_email_authentication auth;
};

static int start_tx(struct storage_tx *tx, void *arg)
{
    struct start *s = arg;
    int64_t now = masd_now();
    struct storage_user u;
    struct storage_browser_session bs = {.id = ""};
    int r = 0;
    if (strcmp(s->username, "-") != 0) {
        r = storage_user_find(tx, s->username, &u);
        if (r == -ENOENT)
            r = storage_user_create(tx, s->username, false, now, &u);
        if (r >= 0)
            r = storage_browser_session_create(tx, u.id, "email_queue", now, &bs);
    }
    if (r >= 0)
        r = storage_email_authentication_start(tx, s->address, bs.id[0] ? bs.id : NULL, s->language, now,
                                               &s->auth);
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: email_queue CONFIG USERNAME ADDRESS [LANGUAGE]\n");
        return 2;
    }
    struct config *cfg;
    char *error = NULL;
    if (config_load(argv[1], &cfg, &error) < 0) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    struct storage *st;
    struct start s = {.username = argv[2], .address = argv[3], .language = argc > 4 ? argv[4] : "en"};
    int r = storage_open(cfg, &st);
    if (r >= 0) {
        r = storage_tx(st, STORAGE_TX_WRITE, start_tx, &s);
        storage_close(st);
    }
    config_free(cfg);
    if (r < 0) {
        fprintf(stderr, "email_queue: %s\n", storage_last_error());
        return 1;
    }
    printf("%s\n", s.auth.id);
    return 0;
}
