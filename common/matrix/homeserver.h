/* The homeserver connection (MAS: crates/matrix-synapse/src/modern.rs;
 * Synapse: synapse/rest/synapse/mas/): masd pushes users and devices to
 * Synapse through its `/_synapse/mas/` API ("modern" kind, Synapse >= 1.136), authenticated
 * with `Authorization: Bearer <matrix.secret>`, over libcurl.
 *
 * Every call blocks (total timeout 60 s, connect 30 s, as MAS): it runs on a worker pool or in
 * masd-worker, never on an event loop (docs/architecture.md §4). A struct homeserver is shared by every
 * thread of a process; each thread keeps its own curl handle (and its kept-alive connection).
 *
 * Success is a 2xx status only (MAS also took 1xx/3xx: reference §1 weakness). provision_user
 * takes exactly 201 (created) or 200 (existed). A 4xx/5xx body {"errcode", "error"} is kept in
 * the result, so logs and a job's last_error say what the homeserver said.
 *
 * matrix.kind synapse_read_only: every write returns -EROFS at once, without a request; callers
 * decide up front (homeserver_read_only()) and queue nothing that could only fail. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct config_matrix;
struct homeserver;

#define HOMESERVER_TIMEOUT_MS         60000
#define HOMESERVER_CONNECT_TIMEOUT_MS 30000
#define HOMESERVER_ERRCODE_MAX        63
#define HOMESERVER_MESSAGE_MAX        383

/* What one call did, for logs and a job's last_error. */
struct homeserver_result {
    long status;                              /* the HTTP status; 0 when no response came */
    char errcode[HOMESERVER_ERRCODE_MAX + 1]; /* from a 4xx/5xx Matrix error body, else "" */
    char message[HOMESERVER_MESSAGE_MAX + 1]; /* one line: the call, and what went wrong ("" on success) */
};

/* Return values of the calls below:
 *   >= 0        success (provision_user: 1 created, 0 existed; is_localpart_available: 1 yes, 0 no)
 *   -EROFS      read-only kind: nothing was sent
 *   -ENOENT     404 M_NOT_FOUND: the homeserver does not know the user (or device)
 *   -EACCES     401 or 403: the homeserver refused our secret (matrix.secret differs from Synapse's
 *               matrix_authentication_service.secret), or the API is not enabled there
 *   -EHOSTDOWN  no response: cannot connect, TLS failure, timeout, connection reset
 *   -EPROTO     any other status or an unusable body (3xx, 1xx, 4xx, 5xx, provision_user's other 2xx)
 *   -ENOMEM, -EINVAL (an argument that is not UTF-8) */

/* Checks cfg (kind, endpoint) and copies what it needs; curl_global_init() must have run (the
 * process's main() calls homeserver_global_init() before any thread starts). */
int homeserver_open(const struct config_matrix *cfg, struct homeserver **out);
void homeserver_close(struct homeserver *hs);
int homeserver_global_init(void);

bool homeserver_read_only(const struct homeserver *hs);
/* The server name of user IDs (matrix.homeserver). */
const char *homeserver_name(const struct homeserver *hs);

/* provision_user: a tri-state per profile field, as MAS's ProvisionRequest. */
enum homeserver_field { HOMESERVER_KEEP, HOMESERVER_SET, HOMESERVER_UNSET };

struct homeserver_provision {
    const char *localpart;
    bool locked; /* always sent */
    enum homeserver_field displayname;
    const char *displayname_value; /* with HOMESERVER_SET */
    enum homeserver_field emails;
    const char *const *emails_value; /* with HOMESERVER_SET; may be empty */
    size_t n_emails;
};

int homeserver_provision_user(struct homeserver *hs, const struct homeserver_provision *p,
                              struct homeserver_result *res);
/* The longest device display name the homeserver stores, in characters (Synapse:
 * MAX_DEVICE_DISPLAY_NAME_LEN; a longer one is 400 M_TOO_LARGE). */
#define HOMESERVER_DEVICE_NAME_MAX 100
/* display_name may be NULL (omitted). */
int homeserver_upsert_device(struct homeserver *hs, const char *localpart, const char *device_id,
                             const char *display_name, struct homeserver_result *res);
/* A session's rename (MAS: GraphQL setCompatSessionName / setOAuth2SessionName): the device's
 * display name, at most HOMESERVER_DEVICE_NAME_MAX characters (the caller cuts it). */
int homeserver_update_device_display_name(struct homeserver *hs, const char *localpart, const char *device_id,
                                          const char *display_name, struct homeserver_result *res);
/* The complete set of the user's device IDs; the homeserver deletes the others. */
int homeserver_sync_devices(struct homeserver *hs, const char *localpart, const char *const *device_ids,
                            size_t n, struct homeserver_result *res);
int homeserver_delete_user(struct homeserver *hs, const char *localpart, bool erase,
                           struct homeserver_result *res);
int homeserver_reactivate_user(struct homeserver *hs, const char *localpart, struct homeserver_result *res);
int homeserver_allow_cross_signing_reset(struct homeserver *hs, const char *localpart,
                                         struct homeserver_result *res);

/* The longest display name the homeserver stores, in characters (Synapse: MAX_DISPLAYNAME_LEN;
 * a longer one is 400 M_TOO_LARGE). MAS refuses more than 256 bytes before asking. */
#define HOMESERVER_DISPLAYNAME_MAX 256
/* The longest avatar URL, in characters (Synapse: MAX_AVATAR_URL_LEN). */
#define HOMESERVER_AVATAR_URL_MAX 1000
/* set_displayname: the user's display name on the homeserver (MAS: GraphQL setDisplayName, which
 * stores none itself). unset_displayname: removes it. */
int homeserver_set_displayname(struct homeserver *hs, const char *localpart, const char *displayname,
                               struct homeserver_result *res);
int homeserver_unset_displayname(struct homeserver *hs, const char *localpart, struct homeserver_result *res);

/* What query_user says of a user: its profile and state on the homeserver. Strings are UTF-8,
 * "" when the homeserver has none (has_* false). */
struct homeserver_user {
    char user_id[256]; /* "@alice:example.com" (Matrix: at most 255 bytes) */
    char displayname[4 * HOMESERVER_DISPLAYNAME_MAX + 1];
    char avatar_url[4 * HOMESERVER_AVATAR_URL_MAX + 1];
    bool has_displayname, has_avatar_url;
    bool suspended, deactivated;
};
/* GET query_user: the homeserver's view of the user (a read: also in read-only mode). -ENOENT
 * for a user it does not know; -EPROTO for a body that is not what Synapse sends. */
int homeserver_query_user(struct homeserver *hs, const char *localpart, struct homeserver_user *out,
                          struct homeserver_result *res);
/* Non-ASCII localparts are unavailable without a request (Synapse decodes query strings as
 * ASCII); M_INVALID_USERNAME, M_USER_IN_USE and M_EXCLUSIVE mean unavailable (0). */
int homeserver_is_localpart_available(struct homeserver *hs, const char *localpart,
                                      struct homeserver_result *res);

/* ---- pure helpers, exposed for unit tests and fuzzing -------------------------------------- */

/* RFC 3986 §5.2 resolution of a relative path (no leading '/', no dot segments, e.g.
 * "_synapse/mas/provision_user") against the endpoint URL, as MAS's Url::join: the base's query
 * and fragment are dropped; a base path ending in '/' gets rel appended, otherwise its last
 * segment is replaced ("http://hs/prefix" + rel = "http://hs/rel"; "http://hs" + rel =
 * "http://hs/rel"). -EINVAL for a base that is not an absolute http(s) URL; -ENOSPC when out
 * is too small. */
int homeserver_url_join(const char *endpoint, const char *rel, char *out, size_t size);

/* Percent-encodes every byte but ASCII alphanumerics and -_.~ (MAS's urlencoding::encode).
 * -ENOSPC when out is too small. */
int homeserver_url_encode(const char *in, char *out, size_t size);

/* Fills res->errcode from a response body (any bytes, not NUL-terminated) that is a JSON object
 * with string "errcode" and "error" members; leaves it "" otherwise. Never fails. */
void homeserver_parse_error(const char *body, size_t len, struct homeserver_result *res);
/* A query_user answer (any bytes, not NUL-terminated) into *out, as MAS reads it: a JSON object
 * with string user_id and booleans is_suspended, is_deactivated (required); display_name and
 * avatar_url strings, null or absent; other members ignored. 0, or -EPROTO (also for strings
 * longer than the homeserver's limits, or a user_id over 255 bytes). */
int homeserver_parse_user(const char *body, size_t len, struct homeserver_user *out);
