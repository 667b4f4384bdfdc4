/* What the account's session pages read from outside (sessions.c): a session in the path (a ULID,
 * or a node ID such as "compat_session:01H…", as MAS's SPA puts either in /account/sessions/…), a
 * device ID in the path (percent-encoded: device IDs are any text), and where an MSC4191 deep
 * link goes. And two helpers on stored text: a name cut to a number of characters, the device IDs
 * of an OAuth scope. Pure functions: unit-tested and fuzzed. */
#pragma once
#include "action.h"
#include "storage.h"
#include "str.h"
#include <stdbool.h>
#include <stddef.h>

/* A path segment percent-decoded into out (NUL-terminated): false when it is empty, does not fit,
 * has a bad escape or decodes to a control character (NUL included). */
bool account_path_segment(masd_str in, char *out, size_t size);

/* A session reference: "ULID", "compat_session:ULID", "oauth2_session:ULID" or
 * "browser_session:ULID" (MAS's node IDs, Crockford base32 in upper case). *kind_known is false
 * for a plain ULID. false for anything else. */
bool account_session_ref(const char *in, char id[STORAGE_ID_SIZE], enum storage_session_kind *kind,
                         bool *kind_known);

/* A 26-character ULID of upper-case Crockford base32 whose first character is at most '7'. */
bool account_is_ulid(const char *s);

/* Where MSC4191's deep link of a signed-in browser goes, below root (MAS:
 * crates/handlers/src/views/app.rs, frontend/src/routes/_account.index.tsx): the session list
 * for org.matrix.sessions_list, org.matrix.devices_list, sessions_list, devices_list; the
 * device's session (/account/devices/<encoded device_id>) for org.matrix.session_view,
 * device_view, session_end, device_delete and their unprefixed names — or the list without a
 * device_id; the identity reset page (/account/reset-cross-signing) for
 * org.matrix.cross_signing_reset, which has no unprefixed name. 1 with the path in out, 0 when
 * the action is none of these, -ENOSPC. */
int account_deep_link(const struct action *a, const char *root, char *out, size_t size);

/* name cut in place to at most max characters (UTF-8 code points), never inside one. */
void account_cut_chars(char *name, size_t max);

/* The device IDs in an OAuth scope (both MAS prefixes), up to max, into ids; returns how many. */
size_t account_scope_devices(const char *scope, char ids[][STORAGE_DEVICE_ID_MAX + 1], size_t max);
