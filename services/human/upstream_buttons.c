/* The upstream providers on the login and registration pages (MAS: views/login.rs,
 * views/register/mod.rs; docs/upstream-oauth.md "Buttons"): one "Continue with …" button per
 * enabled provider, by ui_order then ID, to /upstream/authorize/{id} with the post-auth action;
 * and the one provider to go straight to when it is the only way in. */
#include "human.h"
#include "log.h"
#include "upstream_buttons.h"
#include <stdio.h>
#include <string.h>

/* The brands MAS has logos for (templates/components/idp_brand.html); masd shows the brand's
 * initial in its place. */
static const char *const brands[] = {"google", "gitlab", "twitter", "github", "facebook", "apple", "discord"};

static int href(const char *id, const struct action *a, char *out, size_t size)
{
    char q[1024] = "";
    action_query(a, q, sizeof(q));
    int n = snprintf(out, size, "%s/upstream/authorize/%s%s%s", human.root, id, q[0] ? "?" : "", q);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

json_t *upstream_buttons_json(const struct storage_upstream_button_list *l, const struct action *a)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < l->n; i++) {
        const struct storage_upstream_button *b = &l->items[i];
        char url[1400];
        if (href(b->id, a, url, sizeof(url)) < 0)
            continue;
        const char *brand = NULL;
        for (size_t k = 0; k < sizeof(brands) / sizeof(brands[0]); k++)
            if (strcmp(b->brand_name, brands[k]) == 0)
                brand = brands[k];
        char initial[2] = {brand ? (char)(brand[0] - 'a' + 'A') : 0, 0};
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "id", b->id, "label",
                                              storage_upstream_button_label(b), "href", url, "brand", brand,
                                              "initial", brand ? initial : NULL));
    }
    return list;
}

bool upstream_buttons_single(const struct storage_upstream_button_list *l, const struct action *a, char *out,
                             size_t size)
{
    return l->n == 1 && href(l->items[0].id, a, out, size) == 0;
}

bool upstream_recently_logged_out(const struct browser *b, int64_t now)
{
    return b->cookie.logged_out_at && now - b->cookie.logged_out_at < UPSTREAM_LOGGED_OUT_MS;
}

int upstream_buttons_load(struct storage_tx *tx, struct storage_upstream_button_list *l)
{
    if (!human.cfg->n_upstream_providers) { /* the sync disabled any the database still has */
        *l = (struct storage_upstream_button_list){0};
        return 0;
    }
    return storage_upstream_provider_buttons(tx, l);
}
