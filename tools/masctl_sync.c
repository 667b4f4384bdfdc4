/* masctl config sync [--prune] [--dry-run]: writes config.yaml's `clients` and
 * `upstream_oauth2.providers` to the database, as MAS's `mas-cli config sync` does; --prune deletes
 * static clients no longer configured and disabled upstream providers with their links. */
#include "clients_sync.h"
#include "upstream_sync.h"
#include "config.h"
#include "masctl.h"
#include "secrets.h"
#include "storage.h"
#include <errno.h>
#include <stdio.h>

enum { OPT_PRUNE = 1000, OPT_DRY_RUN };

int masctl_config_sync(struct masctl *m, int argc, char **argv);

int masctl_config_sync(struct masctl *m, int argc, char **argv)
{
    const struct option longopts[] = {{"prune", no_argument, NULL, OPT_PRUNE},
                                      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                      MASCTL_COMMON_OPTIONS,
                                      {NULL, 0, NULL, 0}};
    struct clients_sync sync = {0};
    struct upstream_sync up = {0};
    int c;
    masctl_getopt_reset();
    while ((c = masctl_getopt(m, argc, argv, "", longopts)) != -1) {
        if (c == MASCTL_HELP)
            return MASCTL_OK;
        if (c == OPT_PRUNE)
            sync.prune = up.prune = true;
        else if (c == OPT_DRY_RUN)
            sync.dry_run = up.dry_run = true;
        else
            return MASCTL_USAGE;
    }
    if (!masctl_operands(m, argc, argv, 0, 0))
        return MASCTL_USAGE;
    struct config *cfg;
    if (masctl_load_config(m, &cfg) < 0)
        return MASCTL_FAILED;
    struct secrets *s = NULL;
    struct storage *st = NULL;
    int r = secrets_from_config(cfg, &s);
    if (r < 0 && r != -ENOKEY) {
        config_free(cfg);
        return masctl_fail(m, "secrets: cannot set up encryption");
    }
    if (masctl_open_storage(m, cfg, MASCTL_DB_CHECK_SCHEMA, &st) < 0) {
        secrets_free(s);
        config_free(cfg);
        return MASCTL_FAILED;
    }
    r = clients_sync_run(cfg, st, s, &sync);
    if (r < 0)
        masctl_fail(m, "%s", sync.error);
    else
        printf("%s %u client%s%s, %s %u stale client%s%s\n", sync.dry_run ? "would write" : "wrote",
               sync.written, sync.written == 1 ? "" : "s", "", sync.dry_run ? "would delete" : "deleted",
               sync.pruned, sync.pruned == 1 ? "" : "s",
               sync.dry_run ? " (dry run: nothing was changed)" : "");
    if (r >= 0 && (r = upstream_sync_run(cfg, st, s, &up)) < 0)
        masctl_fail(m, "%s", up.error);
    else if (r >= 0 && (cfg->n_upstream_providers || up.written || up.disabled || up.pruned))
        /* A configuration without upstream providers, and none left in the database: nothing to
         * say about them (the clients' line stays the whole answer, as before they existed). */
        printf(
            "%s %u upstream provider%s, %s %u, %s %u%s\n", up.dry_run ? "would write" : "wrote", up.written,
            up.written == 1 ? "" : "s", up.dry_run ? "would disable" : "disabled", up.disabled,
            up.dry_run ? "would delete" : "deleted", up.pruned,
            up.dry_run
                ? " (dry run: nothing was changed)"
                : (!up.prune && up.disabled ? " (--prune deletes disabled providers with their links)" : ""));
    storage_close(st);
    secrets_free(s);
    config_free(cfg);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}
