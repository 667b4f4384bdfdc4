/* Account recovery's shared steps (recovery.h). */
#include "recovery.h"
#include "hs_sync.h"
#include "human.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ASCII A-Z lowered, as the database folds addresses (user_emails.email_folded) */
static void fold(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

int recovery_ticket_judge(struct storage_tx *tx, const char *ticket, int64_t now,
                          struct storage_recovery_lookup *l, enum recovery_ticket_state *state)
{
    int r = storage_recovery_ticket_find(tx, ticket, l);
    if (r == -ENOENT || r == -EINVAL) {
        *state = RECOVERY_TICKET_NOT_FOUND;
        return 0;
    }
    if (r < 0)
        return r;
    /* a ticket is for its session's address: the row it points at must still be that address */
    char a[STORAGE_EMAIL_MAX + 1], b[STORAGE_EMAIL_MAX + 1];
    fold(l->email.email, a, sizeof(a));
    fold(l->session.email, b, sizeof(b));
    if (l->session.consumed_at)
        *state = RECOVERY_TICKET_CONSUMED;
    else if (strcmp(a, b) != 0)
        *state = RECOVERY_TICKET_NOT_FOUND;
    else if (l->ticket.expires_at <= now)
        *state = RECOVERY_TICKET_EXPIRED;
    else if (l->user.locked_at || l->user.deactivated_at)
        *state = RECOVERY_TICKET_LOCKED;
    else
        *state = RECOVERY_TICKET_VALID;
    return 0;
}

int recovery_rate_limit(struct storage_tx *tx, const struct masd_addr *client, const char *email, int64_t now,
                        int64_t *retry_ms)
{
    const struct config_rate_limiting *rl = &human.cfg->rate_limiting;
    char key[48 + STORAGE_EMAIL_MAX], net[MASD_NETWORK_STRLEN];
    snprintf(key, sizeof(key), "account_recovery.per_ip:%s",
             addr_network(client, rl->ipv6_prefix_length, net) ? net : "-");
    int r = storage_rate_limit_check(tx, key, rl->account_recovery_per_ip.burst,
                                     rl->account_recovery_per_ip.per_second, now, retry_ms);
    if (r != 1)
        return r;
    /* MAS lower-cases the address so that its case variants share one bucket */
    int n = snprintf(key, sizeof(key), "account_recovery.per_address:");
    fold(email, key + n, sizeof(key) - (size_t)n);
    return storage_rate_limit_check(tx, key, rl->account_recovery_per_address.burst,
                                    rl->account_recovery_per_address.per_second, now, retry_ms);
}

int recovery_set_password(struct storage_tx *tx, const struct storage_recovery_lookup *l, const char *hash,
                          unsigned version, int64_t now)
{
    int r = storage_recovery_session_consume(tx, l->session.id, l->email.id, now);
    if (r < 0)
        return r;
    if ((r = storage_password_add(tx, l->user.id, hash, version, NULL, now, NULL)) < 0)
        return r;
    /* whoever knew the old password is signed out everywhere, and the homeserver's devices go */
    if ((r = storage_user_finish_all_sessions(tx, l->user.id, now, NULL)) < 0)
        return r;
    return hs_queue_sync_devices(tx, &human.cfg->matrix, l->user.id, now);
}
