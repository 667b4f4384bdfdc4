/* The GraphQL engine from the command line, for tests/node/graphql.mjs (graphql-js and
 * graphql-http against it) and for trying queries by hand. Over the account schema of
 * tests/unit/graphql_account.h, or a schema file (no resolvers: fields read from the values).
 *
 *   graphql_tool sdl                      prints the account schema's SDL
 *   graphql_tool execute [SCHEMA-FILE]    stdin {"query", "variables"?, "operationName"?} → the response
 *   graphql_tool validate [SCHEMA-FILE]   stdin: a JSON array of documents → for each, the
 *                                         messages of its syntax, validation and caps errors
 *   graphql_tool http                     one request a line on stdin, {"method", "query",
 *                                         "contentType", "accept", "body"} → {"status",
 *                                         "contentType", "allow", "body"} a line on stdout */
#include "graphql_account.h"
#include "graphql_http.h"
#include "internal.h"
#include <errno.h>

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap && !(buf = realloc(buf, cap *= 2)))
            return NULL;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static gql_schema *load_schema(const char *path)
{
    if (!path)
        return account_schema();
    FILE *f = fopen(path, "rb");
    size_t len;
    char *sdl = f ? read_all(f, &len) : NULL, *error = NULL;
    if (f)
        fclose(f);
    gql_schema *s = NULL;
    if (!sdl || gql_schema_build(&(gql_schema_def){sdl, len, NULL, NULL}, &s, &error) < 0) {
        fprintf(stderr, "%s: %s\n", path, error ? error : "cannot read");
        exit(1);
    }
    free(sdl);
    return s;
}

static gql_limits tool_limits(void)
{
    gql_limits l = gql_limits_default();
    l.max_depth = 20; /* graphql-js's introspection query, and the tests' documents */
    l.max_complexity = 100000;
    l.max_aliases = 1000;
    return l;
}

static int execute(const char *path)
{
    gql_schema *s = load_schema(path);
    json_t *in = json_loadf(stdin, 0, NULL);
    const char *query = json_string_value(json_object_get(in, "query"));
    if (!query)
        return fprintf(stderr, "stdin: {\"query\": …} expected\n"), 1;
    gql_limits limits = tool_limits();
    gql_request req = {query, strlen(query), json_string_value(json_object_get(in, "operationName")),
                       json_object_get(in, "variables"), false};
    account_data data = {.emails = 2, .browser_sessions = 2, .app_sessions = 12};
    json_t *response = gql_execute(s, &limits, &req, &data);
    json_dumpf(response, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(response);
    json_decref(in);
    gql_schema_free(s);
    return 0;
}

static int validate(const char *path)
{
    gql_schema *s = load_schema(path);
    json_t *in = json_loadf(stdin, 0, NULL), *out = json_array();
    gql_limits limits = tool_limits();
    size_t i;
    json_t *doc;
    json_array_foreach(in, i, doc)
    {
        gql_arena arena = {0};
        gql_document d;
        json_t *errors = json_array(), *messages = json_array();
        const char *text = json_string_value(doc);
        if (gql_parse(&arena, text, strlen(text), limits.max_tokens, limits.max_nesting, &d, errors) == 0 &&
            gql_validate(s, &limits, &arena, &d, errors) == 0) {
            json_t *no_variables = json_object(); /* then the caps, introspection's nesting among them */
            for (const gql_definition *op = d.definitions; op; op = op->next)
                if (op->kind == GQL_DEF_OPERATION)
                    gql_check_caps(s, &limits, op, no_variables, errors);
            json_decref(no_variables);
        }
        size_t k;
        json_t *e;
        json_array_foreach(errors, k, e) json_array_append(messages, json_object_get(e, "message"));
        json_array_append_new(out, messages);
        json_decref(errors);
        gql_arena_free(&arena);
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(in);
    json_decref(out);
    gql_schema_free(s);
    return 0;
}

static masd_str field(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    return json_is_string(v) ? (masd_str){json_string_value(v), json_string_length(v)} : (masd_str){NULL, 0};
}

static int http(void)
{
    gql_schema *s = account_schema();
    gql_limits limits = tool_limits();
    account_data data = {.emails = 2, .browser_sessions = 2, .app_sessions = 12};
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *req = json_loads(line, 0, NULL);
        masd_str accept = field(req, "accept");
        gql_http_in in = {field(req, "method"), field(req, "query"), field(req, "contentType"), &accept,
                          accept.ptr ? 1 : 0,   field(req, "body")};
        gql_http_answer a;
        if (gql_http_handle(s, &limits, &in, &a) < 0)
            return fprintf(stderr, "out of memory\n"), 1;
        json_t *body = a.prepared ? gql_run(a.prepared, &data) : json_incref(a.body);
        char *text = json_dumps(body, JSON_COMPACT);
        json_t *out = json_pack("{s:i,s:s,s:s?,s:s}", "status", a.status, "contentType",
                                gql_http_content_type(a.media), "allow", a.allow, "body", text ? text : "");
        json_dumpf(out, stdout, JSON_COMPACT);
        putchar('\n');
        fflush(stdout);
        free(text);
        json_decref(out);
        json_decref(body);
        json_decref(req);
        gql_http_answer_free(&a);
    }
    free(line);
    gql_schema_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "sdl"))
        return fputs(account_sdl, stdout) < 0;
    if (argc >= 2 && !strcmp(argv[1], "execute"))
        return execute(argc > 2 ? argv[2] : NULL);
    if (argc >= 2 && !strcmp(argv[1], "validate"))
        return validate(argc > 2 ? argv[2] : NULL);
    if (argc == 2 && !strcmp(argv[1], "http"))
        return http();
    fprintf(stderr, "usage: %s sdl | execute [SCHEMA] | validate [SCHEMA] | http\n", argv[0]);
    return 2;
}
