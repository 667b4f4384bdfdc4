/* The upstream providers' buttons on /login and /register (upstream_buttons.c). */
#pragma once
#include "action.h"
#include "storage_upstream.h"
#include <jansson.h>
#include <stdbool.h>

struct browser;

/* MAS: a sign-out less than five minutes ago keeps the single provider from signing the person
 * straight back in (the `logged_out` of reference §2.1; docs/upstream-oauth.md). */
#define UPSTREAM_LOGGED_OUT_MS (5 * 60 * 1000LL)

/* The enabled providers (none when the configuration has none). */
int upstream_buttons_load(struct storage_tx *tx, struct storage_upstream_button_list *l);
/* [{"id", "label", "href", "brand", "initial"}] for the templates' `providers`. */
json_t *upstream_buttons_json(const struct storage_upstream_button_list *l, const struct action *a);
/* Exactly one provider: its authorize URL with the action into out. */
bool upstream_buttons_single(const struct storage_upstream_button_list *l, const struct action *a, char *out,
                             size_t size);
/* The browser signed out less than UPSTREAM_LOGGED_OUT_MS ago. */
bool upstream_recently_logged_out(const struct browser *b, int64_t now);
