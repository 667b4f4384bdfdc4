/* A small account schema in the shape of MAS's (frontend/schema.graphql: a viewer, its sessions
 * as relay connections, node IDs, a union of session kinds, payloads with a status), with
 * resolvers over data in memory. The GraphQL tests, the fuzz target, bench/graphql and the
 * graphql-js cross-checks (tests/node/graphql.mjs) all run against it. */
#pragma once
#include "graphql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char account_sdl[] =
    "\"\"\"\n"
    "An instant in UTC, as an RFC 3339 string.\n"
    "\"\"\"\n"
    "scalar DateTime @specifiedBy(url: \"https://datatracker.ietf.org/doc/html/rfc3339\")\n"
    "\"An absolute http(s) URL.\" scalar Url\n"
    "\"An object with an ID.\" interface Node { \"Its ID.\" id: ID! }\n"
    "interface CreationEvent { createdAt: DateTime! }\n"
    "enum SessionState { ACTIVE FINISHED }\n"
    "enum DeviceType { PC MOBILE TABLET UNKNOWN }\n"
    "enum ApplicationType { WEB NATIVE }\n"
    "type UserAgent { raw: String! name: String os: String model: String deviceType: DeviceType! }\n"
    "type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String "
    "}\n"
    "input DateFilter { after: DateTime before: DateTime }\n"
    "type MatrixUser { mxid: String! displayName: String }\n"
    "type User implements Node {\n"
    "  id: ID!\n"
    "  username: String!\n"
    "  hasPassword: Boolean!\n"
    "  matrix: MatrixUser!\n"
    "  emails(first: Int, after: String, last: Int, before: String): UserEmailConnection!\n"
    "  browserSessions(first: Int, after: String, last: Int, before: String, state: SessionState,\n"
    "                  lastActive: DateFilter): BrowserSessionConnection!\n"
    "  appSessions(first: Int, after: String, last: Int, before: String, state: SessionState,\n"
    "              device: String, browserSession: ID): AppSessionConnection!\n"
    "}\n"
    "type UserEmail implements Node & CreationEvent { id: ID! email: String! createdAt: DateTime! }\n"
    "type UserEmailEdge { cursor: String! node: UserEmail! }\n"
    "type UserEmailConnection { edges: [UserEmailEdge!]! totalCount: Int! pageInfo: PageInfo! }\n"
    "type BrowserSession implements Node & CreationEvent {\n"
    "  id: ID! createdAt: DateTime! finishedAt: DateTime lastActiveIp: String lastActiveAt: DateTime\n"
    "  userAgent: UserAgent user: User!\n"
    "}\n"
    "type BrowserSessionEdge { cursor: String! node: BrowserSession! }\n"
    "type BrowserSessionConnection { edges: [BrowserSessionEdge!]! totalCount: Int! pageInfo: PageInfo! }\n"
    "type CompatSession implements Node & CreationEvent {\n"
    "  id: ID! createdAt: DateTime! deviceId: String finishedAt: DateTime lastActiveIp: String\n"
    "  lastActiveAt: DateTime humanName: String userAgent: UserAgent\n"
    "}\n"
    "type Oauth2Client implements Node {\n"
    "  id: ID! clientId: String! clientName: String clientUri: Url logoUri: Url redirectUris: [Url!]!\n"
    "  applicationType: ApplicationType\n"
    "}\n"
    "type Oauth2Session implements Node & CreationEvent {\n"
    "  id: ID! scope: String! createdAt: DateTime! finishedAt: DateTime lastActiveIp: String\n"
    "  lastActiveAt: DateTime humanName: String userAgent: UserAgent client: Oauth2Client!\n"
    "}\n"
    "\"A session in an application.\" union AppSession = CompatSession | Oauth2Session\n"
    "type AppSessionEdge { cursor: String! node: AppSession! }\n"
    "type AppSessionConnection { edges: [AppSessionEdge!]! totalCount: Int! pageInfo: PageInfo! }\n"
    "type Anonymous implements Node { id: ID! }\n"
    "union Viewer = User | Anonymous\n"
    "type SiteConfig { id: ID! serverName: String! emailChangeAllowed: Boolean! minimumPasswordComplexity: "
    "Int! }\n"
    "type Query {\n"
    "  viewer: Viewer!\n"
    "  siteConfig: SiteConfig!\n"
    "  node(id: ID!): Node\n"
    "  currentUser: User @deprecated(reason: \"Use `viewer` instead.\")\n"
    "}\n"
    "input SetDisplayNameInput { userId: ID! displayName: String }\n"
    "enum SetDisplayNameStatus { SET INVALID }\n"
    "type SetDisplayNamePayload { status: SetDisplayNameStatus! user: User }\n"
    "input EndSessionInput { sessionId: ID! }\n"
    "enum EndSessionStatus { ENDED NOT_FOUND }\n"
    "type EndSessionPayload { status: EndSessionStatus! }\n"
    "type Mutation {\n"
    "  setDisplayName(input: SetDisplayNameInput!): SetDisplayNamePayload!\n"
    "  endSession(input: EndSessionInput!): EndSessionPayload!\n"
    "}\n";

/* The data: one user, its e-mails and sessions (a few browser sessions; app sessions alternate
 * compat and OAuth, sessions % 3 == 2 finished). */
typedef struct {
    char display_name[64];
    int emails, browser_sessions, app_sessions;
    int ended[8];
    int nended;
    int resolver_calls;
} account_data;

static json_t *account_session(const account_data *d, int i)
{
    char id[48], created[32], ua[96];
    bool compat = i % 2 == 0;
    snprintf(id, sizeof(id), "%s:01JB%022d", compat ? "compat_session" : "oauth2_session", i);
    snprintf(created, sizeof(created), "2024-%02d-%02dT10:%02d:00Z", 1 + i / 28 % 12, 1 + i % 28, i % 60);
    snprintf(ua, sizeof(ua), "Mozilla/5.0 (X11; Linux x86_64) Element/1.%d", i);
    bool finished = i % 3 == 2;
    for (int k = 0; k < d->nended; k++)
        finished |= d->ended[k] == i;
    json_t *s =
        json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:n,s:s}}", "__typename",
                  compat ? "CompatSession" : "Oauth2Session", "id", id, "createdAt", created, "finishedAt",
                  finished ? json_string(created) : json_null(), "lastActiveIp", "192.0.2.7", "lastActiveAt",
                  created, "humanName", compat ? "Element on Linux" : "Element X", "userAgent", "raw", ua,
                  "name", "Element", "os", "Linux", "model", "deviceType", "PC");
    if (compat) {
        char device[16];
        snprintf(device, sizeof(device), "DEV%06d", i);
        json_object_set_new(s, "deviceId", json_string(device));
    } else {
        json_object_set_new(s, "scope", json_string("openid urn:matrix:org.matrix.msc2967.client:api:*"));
        json_object_set_new(s, "client",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s],s:s}", "id",
                                      "oauth2_client:01JB0000000000000000000001", "clientId",
                                      "01JB0000000000000000000001", "clientName", "Element X", "clientUri",
                                      "https://element.io", "logoUri", "https://element.io/logo.png",
                                      "redirectUris", "io.element:/callback", "applicationType", "NATIVE"));
    }
    return s;
}

static json_t *account_email(const account_data *d, int i)
{
    char id[48], email[48];
    snprintf(id, sizeof(id), "user_email:01JB%022d", i);
    snprintf(email, sizeof(email), "alice%d@example.com", i);
    return json_pack("{s:s,s:s,s:s}", "id", id, "email", email, "createdAt", "2024-01-01T00:00:00Z");
}

static json_t *account_browser_session(const account_data *d, int i)
{
    char id[48];
    snprintf(id, sizeof(id), "browser_session:01JB%022d", i);
    return json_pack("{s:s,s:s,s:n,s:s,s:s,s:{s:s,s:s,s:s,s:n,s:s},s:{s:s}}", "id", id, "createdAt",
                     "2024-02-01T00:00:00Z", "finishedAt", "lastActiveIp", "198.51.100.1", "lastActiveAt",
                     "2024-02-02T00:00:00Z", "userAgent", "raw", "Mozilla/5.0 Firefox/130.0", "name",
                     "Firefox", "os", "Linux", "model", "deviceType", "PC", "user", "__ref", "user");
}

static json_t *account_user(const account_data *d)
{
    return json_pack("{s:s,s:s,s:s,s:b}", "__typename", "User", "id", "user:01JB0000000000000000000000",
                     "username", "alice", "hasPassword", 1);
}

/* A relay connection over items 0..total-1 (cursors are their indexes), first/after or
 * last/before; totalCount only when selected, as MAS does. */
static int account_connection(const gql_resolve_info *info, int total,
                              json_t *(*item)(const account_data *, int), json_t **out)
{
    account_data *d = info->context;
    json_t *first = json_object_get(info->args, "first"), *last = json_object_get(info->args, "last");
    const char *after = json_string_value(json_object_get(info->args, "after"));
    const char *before = json_string_value(json_object_get(info->args, "before"));
    if (!json_is_integer(first) && !json_is_integer(last))
        return gql_error(info, "Either 'first' or 'last' must be specified");
    bool forward = json_is_integer(first);
    json_int_t n = json_integer_value(forward ? first : last);
    if (n < 0)
        return gql_error(info, "The \"%s\" parameter must be a non-negative number",
                         forward ? "first" : "last");
    int lo = after ? atoi(after) + 1 : 0, hi = before ? atoi(before) : total;
    if (lo < 0)
        lo = 0;
    if (hi > total)
        hi = total;
    int from = forward ? lo : (hi - n > lo ? hi - (int)n : lo);
    int to = forward ? (lo + n < hi ? lo + (int)n : hi) : hi;
    json_t *edges = json_array();
    for (int i = from; i < to; i++) {
        char cursor[16];
        snprintf(cursor, sizeof(cursor), "%d", i);
        json_array_append_new(edges, json_pack("{s:s,s:o}", "cursor", cursor, "node", item(d, i)));
    }
    char start[16], end[16];
    snprintf(start, sizeof(start), "%d", from);
    snprintf(end, sizeof(end), "%d", to - 1);
    *out = json_pack("{s:o,s:{s:b,s:b,s:o,s:o}}", "edges", edges, "pageInfo", "hasNextPage",
                     forward && to < hi, "hasPreviousPage", !forward && from > lo, "startCursor",
                     to > from ? json_string(start) : json_null(), "endCursor",
                     to > from ? json_string(end) : json_null());
    if (gql_selects(info, "totalCount"))
        json_object_set_new(*out, "totalCount", json_integer(total));
    return 0;
}

static int account_viewer(const gql_resolve_info *info, json_t **out)
{
    ((account_data *)info->context)->resolver_calls++;
    *out = account_user(info->context);
    return 0;
}

static int account_site_config(const gql_resolve_info *info, json_t **out)
{
    *out = json_pack("{s:s,s:s,s:b,s:i}", "id", "site_config", "serverName", "example.com",
                     "emailChangeAllowed", 1, "minimumPasswordComplexity", 3);
    return 0;
}

static int account_node(const gql_resolve_info *info, json_t **out)
{
    const char *id = json_string_value(json_object_get(info->args, "id"));
    account_data *d = info->context;
    *out = NULL;
    if (strcmp(id, "user:01JB0000000000000000000000") == 0)
        *out = account_user(d);
    else if (strncmp(id, "compat_session:01JB", 19) == 0 || strncmp(id, "oauth2_session:01JB", 19) == 0)
        *out = account_session(d, atoi(id + 19));
    else if (strcmp(id, "anonymous") == 0)
        *out = json_pack("{s:s,s:s}", "__typename", "Anonymous", "id", "anonymous");
    else if (!strchr(id, ':'))
        return gql_error(info, "invalid id");
    return 0;
}

static int account_matrix(const gql_resolve_info *info, json_t **out)
{
    account_data *d = info->context;
    *out = json_pack("{s:s,s:o}", "mxid", "@alice:example.com", "displayName",
                     d->display_name[0] ? json_string(d->display_name) : json_null());
    return 0;
}

static int account_emails(const gql_resolve_info *info, json_t **out)
{
    return account_connection(info, ((account_data *)info->context)->emails, account_email, out);
}

static int account_browser_sessions(const gql_resolve_info *info, json_t **out)
{
    return account_connection(info, ((account_data *)info->context)->browser_sessions,
                              account_browser_session, out);
}

static int account_app_sessions(const gql_resolve_info *info, json_t **out)
{
    return account_connection(info, ((account_data *)info->context)->app_sessions, account_session, out);
}

static int account_set_display_name(const gql_resolve_info *info, json_t **out)
{
    account_data *d = info->context;
    json_t *input = json_object_get(info->args, "input");
    const char *name = json_string_value(json_object_get(input, "displayName"));
    if (strcmp(json_string_value(json_object_get(input, "userId")), "user:01JB0000000000000000000000") != 0)
        return gql_error(info, "Unauthorized");
    if (name && (!*name || strlen(name) >= sizeof(d->display_name))) {
        *out = json_pack("{s:s}", "status", "INVALID");
        return 0;
    }
    snprintf(d->display_name, sizeof(d->display_name), "%s", name ? name : "");
    *out = json_pack("{s:s,s:o}", "status", "SET", "user", account_user(d));
    return 0;
}

static int account_end_session(const gql_resolve_info *info, json_t **out)
{
    account_data *d = info->context;
    const char *id = json_string_value(json_object_get(json_object_get(info->args, "input"), "sessionId"));
    int i = strlen(id) > 19 ? atoi(id + 19) : -1;
    bool found = i >= 0 && i < d->app_sessions && d->nended < 8;
    if (found)
        d->ended[d->nended++] = i;
    *out = json_pack("{s:s}", "status", found ? "ENDED" : "NOT_FOUND");
    return 0;
}

/* RFC 3339 in the shape MAS writes: 2024-01-31T12:00:00Z, with optional fraction and offset. */
static int account_datetime_parse(const json_t *in, json_t **out, const char **message)
{
    const char *s = json_string_value(in);
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19 ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        (s[19] != 'Z' && s[19] != '+' && s[19] != '-' && s[19] != '.'))
        return *message = "not an RFC 3339 date and time", -1;
    *out = json_incref((json_t *)in);
    return 0;
}

static int account_url_parse(const json_t *in, json_t **out, const char **message)
{
    const char *s = json_string_value(in);
    if (!s || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
        return *message = "not an absolute http(s) URL", -1;
    *out = json_incref((json_t *)in);
    return 0;
}

static int account_string_serialize(const json_t *in, json_t **out, const char **message)
{
    if (!json_is_string(in))
        return *message = "not a string", -1;
    *out = json_incref((json_t *)in);
    return 0;
}

static const gql_resolver account_resolvers[] = {
    {"Query.viewer", account_viewer, 0},
    {"Query.currentUser", account_viewer, 0},
    {"Query.siteConfig", account_site_config, 0},
    {"Query.node", account_node, 0},
    {"User.matrix", account_matrix, 0},
    {"User.emails", account_emails, 0},
    {"User.browserSessions", account_browser_sessions, 0},
    {"User.appSessions", account_app_sessions, 0},
    {"Mutation.setDisplayName", account_set_display_name, 0},
    {"Mutation.endSession", account_end_session, 0},
    {NULL, NULL, 0},
};

static const gql_scalar account_scalars[] = {
    {"DateTime", account_datetime_parse, account_string_serialize},
    {"Url", account_url_parse, account_string_serialize},
    {NULL, NULL, NULL},
};

static gql_schema *account_schema(void)
{
    gql_schema *s = NULL;
    char *error = NULL;
    if (gql_schema_build(&(gql_schema_def){account_sdl, 0, account_resolvers, account_scalars}, &s, &error) <
        0) {
        fprintf(stderr, "account schema: %s\n", error ? error : "out of memory");
        free(error);
        abort();
    }
    return s;
}

/* The query of an account page: the viewer, its e-mails and a page of its app sessions. */
static const char account_page_query[] =
    "query SessionsOverview($first: Int, $after: String) {\n"
    "  viewer {\n"
    "    __typename\n"
    "    ... on User {\n"
    "      id\n"
    "      username\n"
    "      matrix { mxid displayName }\n"
    "      emails(first: 6) { edges { cursor node { id email } } totalCount pageInfo { hasNextPage endCursor "
    "} }\n"
    "      appSessions(first: $first, after: $after, state: ACTIVE) {\n"
    "        totalCount\n"
    "        edges { cursor node { __typename ...CompatSession_session ...OAuth2Session_session } }\n"
    "        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  siteConfig { id serverName }\n"
    "}\n"
    "fragment CompatSession_session on CompatSession {\n"
    "  id createdAt deviceId finishedAt lastActiveIp lastActiveAt humanName\n"
    "  userAgent { name os model deviceType }\n"
    "}\n"
    "fragment OAuth2Session_session on Oauth2Session {\n"
    "  id scope createdAt finishedAt lastActiveIp lastActiveAt humanName\n"
    "  userAgent { name model os deviceType }\n"
    "  client { id clientId clientName applicationType logoUri }\n"
    "}\n";
