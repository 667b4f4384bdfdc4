/* Parse + validate + execute of an account page's query (tests/unit/graphql_account.h: the
 * viewer, its e-mails, a page of six app sessions, fragments on a union), over and over, by
 * bench/graphql.sh against graphql-js doing the same in Node.
 *
 *   graphql_bench SECONDS [json]   ops per CPU second of: the whole request; the same with the
 *                                  response serialized; its stages (parse, parse+validate,
 *                                  prepare, run). "json": print the response once instead. */
#include "graphql_account.h"
#include "internal.h"
#include <time.h>

/* CPU time of the process: the machine is shared, and what others run is not ours to count. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static gql_schema *schema;
static json_t *variables;
static const gql_limits *limits;

enum stage { WHOLE, SERIALIZED, PARSE, VALIDATE, PREPARE, RUN };

static void once(enum stage stage, gql_prepared *prepared)
{
    account_data data = {.emails = 2, .browser_sessions = 2, .app_sessions = 1000};
    gql_request req = {account_page_query, sizeof(account_page_query) - 1, NULL, variables, false};
    if (stage == PARSE || stage == VALIDATE) {
        gql_arena arena = {0};
        gql_document doc;
        json_t *errors = json_array();
        if (gql_parse(&arena, req.query, req.query_len, limits->max_tokens, limits->max_nesting, &doc,
                      errors) < 0 ||
            (stage == VALIDATE && gql_validate(schema, limits, &arena, &doc, errors) < 0))
            abort();
        json_decref(errors);
        gql_arena_free(&arena);
    } else if (stage == PREPARE) {
        json_t *errors;
        gql_prepared *p;
        if (gql_prepare(schema, limits, &req, &p, &errors) < 0)
            abort();
        gql_prepared_free(p);
    } else {
        json_t *response = stage == RUN ? gql_run(prepared, &data) : gql_execute(schema, limits, &req, &data);
        if (!response || json_object_get(response, "errors"))
            abort();
        if (stage == SERIALIZED)
            free(json_dumps(response, JSON_COMPACT));
        json_decref(response);
    }
}

static double measure(enum stage stage, double seconds)
{
    gql_prepared *prepared = NULL;
    json_t *errors;
    gql_request req = {account_page_query, sizeof(account_page_query) - 1, NULL, variables, false};
    if (stage == RUN && gql_prepare(schema, limits, &req, &prepared, &errors) < 0)
        abort();
    long n = 0;
    double start = now(), end = start + seconds, t;
    do {
        for (int i = 0; i < 100; i++)
            once(stage, prepared);
        n += 100;
    } while ((t = now()) < end);
    gql_prepared_free(prepared);
    return (double)n / (t - start);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3;
    schema = account_schema();
    variables = json_pack("{s:i}", "first", 6);
    static gql_limits l;
    l = gql_limits_default();
    limits = &l;
    if (argc > 2 && !strcmp(argv[2], "json")) {
        account_data data = {.emails = 2, .browser_sessions = 2, .app_sessions = 1000};
        json_t *response = gql_execute(
            schema, limits,
            &(gql_request){account_page_query, sizeof(account_page_query) - 1, NULL, variables, false},
            &data);
        json_dumpf(response, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(response);
        return 0;
    }
    static const char *names[] = {"parse+validate+execute",
                                  "... and serialize",
                                  "parse",
                                  "parse+validate",
                                  "prepare (parse, validate, variables, caps)",
                                  "execute a prepared request"};
    for (int s = WHOLE; s <= RUN; s++) {
        double ops = measure((enum stage)s, s <= SERIALIZED ? seconds : seconds / 3);
        printf("%-45s %9.0f ops/s %8.1f us/op\n", names[s], ops, 1e6 / ops);
    }
    json_decref(variables);
    gql_schema_free(schema);
    return 0;
}
