/* What every domain of masd-human's GraphQL API shares (docs/graphql.md, "The endpoint"): MAS's
 * node IDs and cursors, the relay connection arguments and the page they give, the scalars'
 * forms, the UserAgent object. Pure functions over outside input, unit-tested
 * (tests/unit/test_gql_model.c) and fuzzed (tests/fuzz/fuzz_gql_model.c).
 *
 * MAS: crates/handlers/src/graphql/model/node.rs, cursor.rs; crates/storage/src/pagination.rs. */
#pragma once
#include "graphql.h"
#include "ulid.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kinds of node, in MAS's order (its NodeType). */
enum gql_node_type {
    GQL_NODE_AUTHENTICATION,
    GQL_NODE_BROWSER_SESSION,
    GQL_NODE_COMPAT_SESSION,
    GQL_NODE_COMPAT_SSO_LOGIN,
    GQL_NODE_OAUTH2_CLIENT,
    GQL_NODE_OAUTH2_SESSION,
    GQL_NODE_UPSTREAM_OAUTH2_PROVIDER,
    GQL_NODE_UPSTREAM_OAUTH2_LINK,
    GQL_NODE_USER,
    GQL_NODE_USER_EMAIL,
    GQL_NODE_USER_EMAIL_AUTHENTICATION,
    GQL_NODE_USER_RECOVERY_TICKET,
    GQL_NODE_COUNT,
};

/* A set of node types (for cursors a connection accepts). */
#define GQL_NODE_BIT(t) (1u << (t))

/* "user_email": the prefix of the type's IDs. */
const char *gql_node_prefix(enum gql_node_type t);
/* "UserEmail", "OAuth2Session": the name a cursor carries (MAS's Rust variant). */
const char *gql_node_variant(enum gql_node_type t);

/* A node ID, "<prefix>:<ULID>", is at most this long (with its NUL). */
#define GQL_ID_MAX 64

/* ---- IDs ---------------------------------------------------------------------------------- */

/* "user:01H…" into out. */
void gql_id_format(enum gql_node_type t, const char *ulid, char out[GQL_ID_MAX]);
/* The ID as a JSON string (NULL when out of memory). */
json_t *gql_id_json(enum gql_node_type t, const char *ulid);
/* Parses "<prefix>:<ULID>" (len bytes, need not be NUL-terminated): a known prefix and a
 * canonical ULID (upper case, 26 characters). 0, or -EINVAL. */
int gql_id_parse(const char *s, size_t len, enum gql_node_type *type, char ulid[ULID_LEN + 1]);
/* The argument `name` of the field as an ID of type t: 0, or -1 after the field error
 * "invalid id" (MAS's message for a malformed ID and for one of another type). */
int gql_arg_id(const gql_resolve_info *info, const char *name, enum gql_node_type t, char ulid[ULID_LEN + 1]);
/* The ULID of the parent object's "id" (a node of type t): "" when it has none. */
void gql_parent_ulid(const gql_resolve_info *info, enum gql_node_type t, char ulid[ULID_LEN + 1]);

/* ---- cursors ------------------------------------------------------------------------------ */

/* A cursor: base64url (unpadded) of the JSON ["<Variant>","<ULID>"], as async-graphql's
 * OpaqueCursor makes MAS's NodeCursor. Malloc'd, NULL when out of memory. */
char *gql_cursor_format(enum gql_node_type t, const char *ulid);
/* Parses a cursor whose type is in `accepted` (GQL_NODE_BIT()s). 0, or -EINVAL. */
int gql_cursor_parse(const char *s, size_t len, unsigned accepted, enum gql_node_type *type,
                     char ulid[ULID_LEN + 1]);

/* ---- relay connections -------------------------------------------------------------------- */

/* One page of a connection ordered by ULID (= creation time). Storage fetches limit + 1 rows:
 *   forward:  id > after AND id < before ORDER BY id ASC  LIMIT limit + 1
 *   backward: id > after AND id < before ORDER BY id DESC LIMIT limit + 1
 * and the extra row says whether there is more in that direction. */
struct gql_page {
    bool backward;                 /* `last` given and `first` not */
    unsigned limit;                /* first or last */
    char after[ULID_LEN + 1];      /* "" when none */
    char before[ULID_LEN + 1];     /* "" when none */
    enum gql_node_type after_type; /* the cursors' types, when given */
    enum gql_node_type before_type;
};

/* The arguments first/after/last/before of the field, cursors of the types in `accepted`:
 * 0, or -1 after a field error with MAS's message ("Either 'first' or 'last' must be
 * specified", "The \"first\" parameter must be a non-negative number", "invalid cursor").
 * Both first and last: first wins (MAS: Pagination::try_new). The engine's caps bound both. */
int gql_page_args(const gql_resolve_info *info, unsigned accepted, struct gql_page *p);

/* The connection being built from a page's rows, in the order storage returned them. */
struct gql_connection {
    const struct gql_page *page;
    json_t *edges; /* [{cursor, node}] */
    size_t n;
};

void gql_connection_init(struct gql_connection *c, const struct gql_page *page);
/* One row: its node (a new reference, taken) and the cursor's type and ULID. -ENOMEM. */
int gql_connection_add(struct gql_connection *c, enum gql_node_type t, const char *ulid, json_t *node);
/* {edges, nodes, pageInfo, totalCount (when total >= 0)}: the extra row dropped, a backward
 * page put back in ascending order, pageInfo as MAS says (forward: hasPreviousPage false;
 * backward: hasNextPage false). NULL when out of memory. Frees what c holds. */
json_t *gql_connection_finish(struct gql_connection *c, long long total);
void gql_connection_clear(struct gql_connection *c);

/* ---- scalars ------------------------------------------------------------------------------ */

/* DateTime: RFC 3339 in UTC, fractions only when not whole ("2026-12-07T17:21:46.123Z"), as
 * MAS's chrono AutoSi form. ms == 0 (unset): JSON null. */
json_t *gql_datetime(int64_t ms);
/* Parses an RFC 3339 date-time (any offset, fractions cut to the millisecond) into ms since the
 * epoch: 0, or -EINVAL. */
int gql_datetime_parse(const char *s, size_t len, int64_t *ms);
/* The schema's custom scalars: DateTime (input: an integer of ms since the epoch for the
 * resolvers), Url (a string). */
extern const gql_scalar gql_scalars[];

/* The UserAgent object of a stored User-Agent header (common/http/user_agent.h): NULL for an
 * empty one. */
json_t *gql_user_agent(const char *raw);
