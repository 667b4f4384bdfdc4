/* Helpers shared by the config tests: load a YAML text that must be valid, or check the exact
 * one-line error ("config.yaml:line:column: …") of one that must not. */
#pragma once
#include "check.h"
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline struct config *load(const char *yaml)
{
    struct config *cfg = NULL;
    char *err = NULL;
    int r = config_load_buffer("config.yaml", yaml, strlen(yaml), &cfg, &err);
    if (r < 0)
        fprintf(stderr, "unexpected error: %s\n", err ? err : "(none)");
    CHECK_INT(r, 0);
    CHECK(err == NULL);
    free(err);
    return cfg;
}

#define CHECK_ERROR(yaml, expected) check_error(__LINE__, yaml, expected)
static inline void check_error(int line, const char *yaml, const char *expected)
{
    struct config *cfg = NULL;
    char *err = NULL;
    int r = config_load_buffer("config.yaml", yaml, strlen(yaml), &cfg, &err);
    CHECK(r < 0);
    CHECK(cfg == NULL);
    if (!err || strcmp(err, expected) != 0)
        fprintf(stderr, "  (the error case at line %d)\n", line);
    CHECK_STR(err, expected);
    free(err);
    config_free(cfg);
}
