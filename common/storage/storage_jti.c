/* Replay protection for client assertions (RFC 7523 §3 item 7). A jti row is claimed by one INSERT … ON
 * CONFLICT: the database's uniqueness decides, so two processes presenting the same assertion cannot both
 * win. A row whose expiry has passed may be claimed again (the assertion itself is refused by then), which
 * keeps the table from needing a clean-up to stay correct. */
#include "storage_jti.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdlib.h>

#define JTI_MAX 255

STORAGE_STMT(jti_claim, "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)"
                        " ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = $3"
                        " WHERE client_assertion_jtis.expires_at <= $4");

int storage_jti_use(struct storage_tx *tx, const char *client_id, const char *jti, int64_t expires_at,
                    int64_t now)
{
    int r = storage_check_text("client id", client_id, STORAGE_SHORT_TEXT_MAX, false);
    if (r == 0)
        r = storage_check_text("assertion jti", jti, JTI_MAX, false);
    if (r < 0)
        return r;
    if (expires_at <= now) /* a row that reads as expired at once would let the jti be used again */
        return -EINVAL;
    int64_t changes = 0;
    r = sq_exec(tx, &jti_claim, SQ_ARGS(P_TEXT(client_id), P_TEXT(jti), P_INT(expires_at), P_INT(now)),
                &changes);
    if (r < 0)
        return r;
    return changes > 0 ? 0 : -EALREADY;
}
