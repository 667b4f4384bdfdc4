/* What a person can do to their own sessions, one implementation for the account pages
 * (sessions.c) and GraphQL's mutations alike (MAS: crates/handlers/src/graphql/mutations/
 * browser_session.rs, compat_session.rs, oauth2_session.rs): end a browser session, end a compat
 * or OAuth session, rename a compat or OAuth session. Only the owner may: another user's session
 * is -ENOENT, as one that does not exist (no enumeration of other people's session IDs).
 *
 * And what both show of a session: its device, its parsed user agent, its client. */
#pragma once
#include "homeserver.h"
#include "storage.h"
#include <jansson.h>

/* In a write transaction: ends the user's session `id` of `kind` (browser, compat or OAuth). A
 * compat or OAuth session's end queues the user's sync-devices job in the same transaction (the
 * homeserver drops the device; hs_session_end). 1 ended now, 0 ended before, -ENOENT none of the
 * user's, < 0 a database error. */
int account_session_end(struct storage_tx *tx, const char *user_id, enum storage_session_kind kind,
                        const char *id, int64_t now);

/* A rename in three steps, so that a caller inside a transaction of its own (GraphQL's mutation)
 * and one that must not hold a transaction across the homeserver's call (the page) run the same
 * code: prepare (in a transaction: the session, the user's own, its devices, the name cut), push
 * (the homeserver), store (in a transaction). */
#define ACCOUNT_RENAME_DEVICES 8 /* device scopes of one OAuth session that are renamed */
struct account_rename {
    struct storage_app_session session; /* after store: with its new name */
    struct storage_user user;
    char name[STORAGE_SHORT_TEXT_MAX + 1];
    char devices[ACCOUNT_RENAME_DEVICES][STORAGE_DEVICE_ID_MAX + 1];
    size_t n_devices; /* an active session's devices */
};
/* 1 ready, 0 none of the user's (or a browser session), < 0. */
int account_rename_prepare(struct storage_tx *tx, const char *user_id, enum storage_session_kind kind,
                           const char *id, const char *name, struct account_rename *out);
/* The devices' new display name on the homeserver (blocking; nothing for a read-only one). 0, or
 * the homeserver's failure (res says which). */
int account_rename_push(struct homeserver *hs, const struct account_rename *rn,
                        struct homeserver_result *res);
/* Whether a rename prepared again (b) still pushes what a (pushed outside the transaction) did:
 * the same session, user, devices and name (GraphQL's recheck, gql_sessions.c). */
bool account_rename_same(const struct account_rename *a, const struct account_rename *b);
/* Stores the name: 1, -ENOENT, < 0. */
int account_rename_store(struct storage_tx *tx, struct account_rename *rn);

/* Blocking (the database and the homeserver: run it on the outbound pool): renames the user's
 * compat or OAuth session `id` to `name`, cut to HOMESERVER_DEVICE_NAME_MAX characters. The
 * device's display name goes to the homeserver first, for each device of an active session (a
 * compat session's device, an OAuth session's device scopes); only when the homeserver took it
 * is the name stored (MAS: a failed call leaves the name as it was). Read-only homeservers
 * (matrix.kind synapse_read_only) are not told; the name is stored. 1 renamed, -ENOENT none of
 * the user's, -EHOSTDOWN/-EPROTO/-EACCES… the homeserver's failure (res says which), < 0. */
int account_session_rename(const char *user_id, enum storage_session_kind kind, const char *id,
                           const char *name, struct homeserver_result *res);

/* {"name", "version", "os", "os_version", "model", "device_type", "raw"} of a User-Agent header
 * ("" fields left out; device_type "pc", "mobile", "tablet", "unknown"); NULL for none. */
json_t *account_user_agent_json(const char *header);
