/* masctl database: migrate. */
#include "masctl.h"
#include "config.h"
#include "storage.h"
#include <errno.h>
#include <string.h>

/* Applies the pending migrations. As MAS's `database migrate`; concurrent runs wait for each
 * other inside storage_migrate(), and each migration is its own transaction, so an
 * interrupted run leaves the database at a version it knows and can resume from. */
static int cmd_migrate(struct masctl *m, int argc, char **argv)
{
    int status = masctl_parse_plain(m, argc, argv, 0, 0);
    if (status != MASCTL_GO_ON)
        return status;

    struct config *cfg;
    if (masctl_load_config(m, &cfg) < 0)
        return MASCTL_FAILED;
    struct storage *st;
    int r = masctl_open_storage(m, cfg, MASCTL_DB_CREATE_DIR, &st);
    config_free(cfg);
    if (r < 0)
        return MASCTL_FAILED;

    unsigned applied = 0, current = 0, latest = 0;
    r = storage_migrate(st, &applied);
    if (r < 0) {
        masctl_fail(m, "%s: %s", storage_describe(st),
                    *storage_last_error() ? storage_last_error() : strerror(-r));
        storage_close(st);
        return MASCTL_FAILED;
    }
    storage_schema_version(st, &current, &latest);
    if (applied)
        printf("%s: applied %u migration%s, now at schema version %u\n", storage_describe(st), applied,
               applied == 1 ? "" : "s", current);
    else
        printf("%s: up to date (schema version %u)\n", storage_describe(st), current);
    storage_close(st);
    return MASCTL_OK;
}

static const struct masctl_command DATABASE_COMMANDS[] = {
    {"migrate", "", "Apply the pending database migrations", NULL, cmd_migrate},
};

const struct masctl_group masctl_database_group = {"database", "Manage the database schema",
                                                   DATABASE_COMMANDS,
                                                   sizeof(DATABASE_COMMANDS) / sizeof(DATABASE_COMMANDS[0])};
