/* Execution (common/graphql/execute.c, caps.c, introspect.c): results in field order, leaf
 * serialization, errors with locations and paths, null propagation, argument and variable
 * coercion, abstract types, serial mutations, gql_selects(), the caps, introspection. */
#include "check.h"
#include "graphql_account.h"
#include "internal.h"
#include <errno.h>

static const char edge_sdl[] =
    "type Query {\n"
    "  hello: String int32: Int big: Int real: Int float: Float flag: Boolean id: ID\n"
    "  color: Color badColor: Color\n"
    "  fail: String failExt: String failSilent: String nonNullNull: String!\n"
    "  obj: Obj objs: [Obj] strictObjs: [Obj!] list: [Int!]! notList: [Int] notObject: Obj\n"
    "  echo(arg: In, s: String, i: Int, l: [Int], e: Color, n: Int! = 5, id: ID, f: Float, nested: [[Int]], "
    "b: Boolean): String\n"
    "  pet(kind: String!): Pet pets: [Pet!]!\n"
    "  counter: Int\n"
    "  conn: Conn\n"
    "  many: [Int]\n"
    "}\n"
    "type Obj { a: String b: String! child: Obj fail: String failNN: String! }\n"
    "enum Color { RED GREEN BLUE @deprecated(reason: \"no\") }\n"
    "\"An input.\" input In { x: Int! y: String = \"dy\" z: [In!] }\n"
    "interface Pet { name: String! }\n"
    "type Dog implements Pet { name: String! barks: Boolean }\n"
    "type Cat implements Pet { name: String! meows: Boolean }\n"
    "type Conn { total: Int items: [Int] }\n"
    "type Mutation { first: Int second: Int third: Int fourth: Int }\n";

static char calls[64];
static int counter;

static int r_hello(const gql_resolve_info *info, json_t **out)
{
    *out = json_string("world");
    return 0;
}

#define RETURN(name, value)                                                                                  \
    static int name(const gql_resolve_info *info, json_t **out)                                              \
    {                                                                                                        \
        *out = (value);                                                                                      \
        return 0;                                                                                            \
    }
RETURN(r_int32, json_integer(-2147483648LL))
RETURN(r_big, json_integer(1LL << 40))
RETURN(r_real, json_real(3.0))
RETURN(r_float, json_integer(2))
RETURN(r_flag, json_true())
RETURN(r_id, json_integer(7))
RETURN(r_color, json_string("RED"))
RETURN(r_bad_color, json_string("PINK"))
RETURN(r_null, json_null())
RETURN(r_obj,
       json_pack("{s:s,s:s,s:{s:s,s:s},s:n}", "a", "A", "b", "B", "child", "a", "ca", "b", "cb", "failNN"))
RETURN(r_objs, json_pack("[{s:s,s:s},{s:s},{s:s,s:s}]", "a", "1", "b", "1", "a", "2", "a", "3", "b", "3"))
RETURN(r_list, json_pack("[i,i,i]", 1, 2, 3))
RETURN(r_not_list, json_string("nope"))
RETURN(r_not_object, json_string("nope"))
RETURN(r_pets, json_pack("[{s:s,s:s,s:b},{s:s,s:s,s:b}]", "__typename", "Dog", "name", "Rex", "barks", 1,
                         "__typename", "Cat", "name", "Tom", "meows", 0))
RETURN(r_many, json_pack("[i,i,i,i,i,i,i,i,i,i]", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9))

static int r_fail(const gql_resolve_info *info, json_t **out)
{
    return gql_error(info, "boom in %s.%s", info->type_name, info->field_name);
}

static int r_fail_ext(const gql_resolve_info *info, json_t **out)
{
    return gql_error_ext(info, json_pack("{s:s}", "code", "FORBIDDEN"), "no");
}

static int r_fail_silent(const gql_resolve_info *info, json_t **out)
{
    *out = json_string("dropped");
    return -1;
}

static int r_echo(const gql_resolve_info *info, json_t **out)
{
    char *s = json_dumps(info->args, JSON_COMPACT | JSON_SORT_KEYS);
    *out = json_string(s);
    free(s);
    return 0;
}

static int r_pet(const gql_resolve_info *info, json_t **out)
{
    const char *kind = json_string_value(json_object_get(info->args, "kind"));
    *out = strcmp(kind, "none") ? json_pack("{s:s,s:s}", "__typename", kind, "name", "x")
                                : json_pack("{s:s}", "name", "x");
    return 0;
}

static int r_counter(const gql_resolve_info *info, json_t **out)
{
    *out = json_integer(++counter);
    return 0;
}

static int r_conn(const gql_resolve_info *info, json_t **out)
{
    *out = json_pack("{s:[i]}", "items", 1);
    if (gql_selects(info, "total"))
        json_object_set_new(*out, "total", json_integer(42));
    return 0;
}

static int r_mutation(const gql_resolve_info *info, json_t **out)
{
    strncat(calls, info->field_name, sizeof(calls) - strlen(calls) - 2);
    strcat(calls, " ");
    *out = json_integer((json_int_t)strlen(calls));
    return 0;
}

/* Records the field's response path (gql_path) into `paths`. */
static char paths[256];

static int r_path(const gql_resolve_info *info, json_t **out)
{
    json_t *p = gql_path(info);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    strncat(paths, text ? text : "(null)", sizeof(paths) - strlen(paths) - 1);
    free(text);
    json_decref(p);
    *out = json_integer(1);
    return 0;
}

static const gql_resolver edge_resolvers[] = {
    {"Query.hello", r_hello, 0},
    {"Query.int32", r_int32, 0},
    {"Query.big", r_big, 0},
    {"Query.real", r_real, 0},
    {"Query.float", r_float, 0},
    {"Query.flag", r_flag, 0},
    {"Query.id", r_id, 0},
    {"Query.color", r_color, 0},
    {"Query.badColor", r_bad_color, 0},
    {"Query.fail", r_fail, 0},
    {"Query.failExt", r_fail_ext, 0},
    {"Query.failSilent", r_fail_silent, 0},
    {"Query.nonNullNull", r_null, 0},
    {"Query.obj", r_obj, 0},
    {"Query.objs", r_objs, 0},
    {"Query.strictObjs", r_objs, 0},
    {"Query.list", r_list, 0},
    {"Query.notList", r_not_list, 0},
    {"Query.notObject", r_not_object, 0},
    {"Query.echo", r_echo, 0},
    {"Query.pet", r_pet, 0},
    {"Query.pets", r_pets, 0},
    {"Query.counter", r_counter, 0},
    {"Query.conn", r_conn, 0},
    {"Query.many", r_many, 0},
    {"Obj.fail", r_fail, 0},
    {"Mutation.first", r_mutation, 0},
    {"Mutation.second", r_mutation, 0},
    {"Mutation.third", r_mutation, 0},
    {"Mutation.fourth", r_path, 0},
    {NULL, NULL, 0},
};

static gql_schema *edge, *account;
static gql_limits limits;
static char result[16384];

/* Runs a request; the response as compact JSON into `result`. */
static const char *run_full(const gql_schema *s, const char *query, const char *variables,
                            const char *operation, void *context)
{
    json_t *vars = variables ? json_loads(variables, 0, NULL) : NULL;
    gql_request req = {query, strlen(query), operation, vars, false};
    json_t *response = gql_execute(s, &limits, &req, context);
    char *text = response ? json_dumps(response, JSON_COMPACT) : NULL;
    snprintf(result, sizeof(result), "%s", text ? text : "(null)");
    free(text);
    json_decref(response);
    json_decref(vars);
    return result;
}

static const char *run(const char *query)
{
    return run_full(edge, query, NULL, NULL, NULL);
}

static const char *run_vars(const char *query, const char *variables)
{
    return run_full(edge, query, variables, NULL, NULL);
}

static void test_basics(void)
{
    CHECK_STR(run("{ hello }"), "{\"data\":{\"hello\":\"world\"}}");
    CHECK_STR(run("{ b: hello, a: hello, hello __typename }"),
              "{\"data\":{\"b\":\"world\",\"a\":\"world\",\"hello\":\"world\",\"__typename\":\"Query\"}}");
    CHECK_STR(run("{ obj { a ...F child { ... on Obj { b } a } } } fragment F on Obj { b a }"),
              "{\"data\":{\"obj\":{\"a\":\"A\",\"b\":\"B\",\"child\":{\"b\":\"cb\",\"a\":\"ca\"}}}}");
    CHECK_STR(run("{ int32 real float flag id color list }"),
              "{\"data\":{\"int32\":-2147483648,\"real\":3,\"float\":2.0,\"flag\":true,\"id\":\"7\","
              "\"color\":\"RED\","
              "\"list\":[1,2,3]}}");
    CHECK_STR(run("query ($t: Boolean!) { a: hello @skip(if: true) b: hello @include(if: false) c: hello "
                  "@skip(if: $t) "
                  "d: hello @include(if: $t) ... @skip(if: false) { e: hello } ...F @include(if: $t) } "
                  "fragment F on Query { f: hello }"),
              "{\"errors\":[{\"message\":\"Variable \\\"$t\\\" of required type \\\"Boolean!\\\" was not "
              "provided.\","
              "\"locations\":[{\"line\":1,\"column\":8}]}]}");
    CHECK_STR(run_vars("query ($t: Boolean!) { a: hello @skip(if: true) b: hello @include(if: false) c: "
                       "hello @skip(if: $t) "
                       "d: hello @include(if: $t) ... @skip(if: false) { e: hello } ...F @include(if: $t) } "
                       "fragment F on Query { f: hello }",
                       "{\"t\": true}"),
              "{\"data\":{\"d\":\"world\",\"e\":\"world\",\"f\":\"world\"}}");
    /* the same field twice, both kept or both skipped: one entry */
    CHECK_STR(run("{ hello @skip(if: true) hello }"), "{\"data\":{\"hello\":\"world\"}}");
    /* the default resolver reads the parent's member; absent is null */
    CHECK_STR(run("{ obj { child { a fail } } }"),
              "{\"errors\":[{\"message\":\"boom in Obj.fail\",\"locations\":[{\"line\":1,\"column\":19}],"
              "\"path\":[\"obj\",\"child\",\"fail\"]}],\"data\":{\"obj\":{\"child\":{\"a\":\"ca\",\"fail\":"
              "null}}}}");
}

static void test_errors(void)
{
    CHECK_STR(run("{ hello fail }"),
              "{\"errors\":[{\"message\":\"boom in Query.fail\",\"locations\":[{\"line\":1,\"column\":9}],"
              "\"path\":[\"fail\"]}],\"data\":{\"hello\":\"world\",\"fail\":null}}");
    CHECK_STR(run("{ x: failExt }"),
              "{\"errors\":[{\"message\":\"no\",\"locations\":[{\"line\":1,\"column\":3}],"
              "\"path\":[\"x\"],\"extensions\":{\"code\":\"FORBIDDEN\"}}],\"data\":{\"x\":null}}");
    CHECK_STR(run("{ failSilent }"),
              "{\"errors\":[{\"message\":\"Internal error resolving "
              "\\\"Query.failSilent\\\".\",\"locations\":[{\"line\":"
              "1,\"column\":3}],\"path\":[\"failSilent\"]}],\"data\":{\"failSilent\":null}}");
    CHECK(strstr(run("{ big }"),
                 "\"Int cannot represent the value of \\\"Query.big\\\": not a 32-bit integer.\"") != NULL);
    CHECK(strstr(result, "\"data\":{\"big\":null}") != NULL);
    CHECK(strstr(run("{ badColor }"),
                 "Color cannot represent the value of \\\"Query.badColor\\\": not one of the enum's "
                 "values.") != NULL);
    CHECK(strstr(run("{ notList }"), "Expected a list for field \\\"Query.notList\\\".") != NULL);
    CHECK(strstr(run("{ notObject { a } }"), "Expected an object for field \\\"Query.notObject\\\".") !=
          NULL);
    /* a request error has no "data" */
    CHECK_STR(run("{ nope }"),
              "{\"errors\":[{\"message\":\"Cannot query field \\\"nope\\\" on type \\\"Query\\\".\","
              "\"locations\":[{\"line\":1,\"column\":3}]}]}");
    CHECK_STR(run("{ hello"),
              "{\"errors\":[{\"message\":\"Syntax Error: Expected Name, found <EOF>.\",\"locations\":[{"
              "\"line\":1,\"column\":8}]}]}");
}

static void test_null_propagation(void)
{
    /* a non-null field's null makes its nullable parent null */
    CHECK_STR(run("{ obj { a failNN } hello }"), "{\"errors\":[{\"message\":\"Cannot return null for "
                                                 "non-nullable field \\\"Obj.failNN\\\".\",\"locations\":"
                                                 "[{\"line\":1,\"column\":11}],\"path\":[\"obj\",\"failNN\"]}"
                                                 "],\"data\":{\"obj\":null,\"hello\":\"world\"}}");
    /* up to the root */
    CHECK_STR(
        run("{ hello nonNullNull }"),
        "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field \\\"Query.nonNullNull\\\".\","
        "\"locations\":[{\"line\":1,\"column\":9}],\"path\":[\"nonNullNull\"]}],\"data\":null}");
    /* in a list of nullable items, the item; of non-null items, the list */
    CHECK_STR(run("{ objs { b } }"), "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field "
                                     "\\\"Obj.b\\\".\",\"locations\":[{"
                                     "\"line\":1,\"column\":10}],\"path\":[\"objs\",1,\"b\"]}],\"data\":{"
                                     "\"objs\":[{\"b\":\"1\"},null,{\"b\":"
                                     "\"3\"}]}}");
    CHECK_STR(run("{ strictObjs { b } hello }"), "{\"errors\":[{\"message\":\"Cannot return null for "
                                                 "non-nullable field \\\"Obj.b\\\".\",\"locations\":[{"
                                                 "\"line\":1,\"column\":16}],\"path\":[\"strictObjs\",1,"
                                                 "\"b\"]}],\"data\":{\"strictObjs\":null,\"hello\":"
                                                 "\"world\"}}");
    /* one error for one null, however far it goes */
    run("{ pets { name ... on Dog { barks } } nonNullNull }");
    json_t *r = json_loads(result, 0, NULL);
    CHECK_INT(json_array_size(json_object_get(r, "errors")), 1);
    json_decref(r);
}

static void test_arguments(void)
{
    CHECK_STR(run("{ echo }"), "{\"data\":{\"echo\":\"{\\\"n\\\":5}\"}}");
    CHECK_STR(run("{ echo(s: \"x\", i: -3, l: 3, e: GREEN, n: 1, id: 12, f: 1, nested: [[1], 2, null], b: "
                  "false) }"),
              "{\"data\":{\"echo\":\"{\\\"b\\\":false,\\\"e\\\":\\\"GREEN\\\",\\\"f\\\":1.0,\\\"i\\\":-3,"
              "\\\"id\\\":\\\"12\\\","
              "\\\"l\\\":[3],\\\"n\\\":1,\\\"nested\\\":[[1],[2],null],\\\"s\\\":\\\"x\\\"}\"}}");
    CHECK_STR(run("{ echo(arg: {x: 1, z: {x: 2}}, s: null) }"),
              "{\"data\":{\"echo\":\"{\\\"arg\\\":{\\\"x\\\":1,\\\"y\\\":\\\"dy\\\",\\\"z\\\":[{\\\"x\\\":2,"
              "\\\"y\\\":\\\"dy\\\"}]},"
              "\\\"n\\\":5,\\\"s\\\":null}\"}}");
    /* variables: given, absent (the argument too), null, defaults */
    const char *q =
        "query ($i: Int, $s: String = \"d\", $a: In, $n: Int) { echo(i: $i, s: $s, arg: $a, n: $n) }";
    CHECK_STR(run_vars(q, "{\"i\": 4, \"a\": {\"x\": 1, \"z\": {\"x\": 3}}, \"n\": 2}"),
              "{\"data\":{\"echo\":\"{\\\"arg\\\":{\\\"x\\\":1,\\\"y\\\":\\\"dy\\\",\\\"z\\\":[{\\\"x\\\":3,"
              "\\\"y\\\":\\\"dy\\\"}]},"
              "\\\"i\\\":4,\\\"n\\\":2,\\\"s\\\":\\\"d\\\"}\"}}");
    CHECK_STR(run_vars(q, "{\"i\": null, \"s\": null}"),
              "{\"data\":{\"echo\":\"{\\\"i\\\":null,\\\"n\\\":5,\\\"s\\\":null}\"}}");
    /* a variable inside a literal */
    CHECK_STR(run_vars("query ($x: Int!, $l: Int) { echo(arg: {x: $x}, l: [$l, 1]) }", "{\"x\": 9}"),
              "{\"data\":{\"echo\":\"{\\\"arg\\\":{\\\"x\\\":9,\\\"y\\\":\\\"dy\\\"},\\\"l\\\":[null,1],"
              "\\\"n\\\":5}\"}}");
    /* a nullable variable with a default where non-null goes, given null at run time: a field error */
    CHECK(strstr(run_vars("query ($n: Int = 3) { echo(n: $n) }", "{\"n\": null}"),
                 "Argument \\\"n\\\" has an invalid value: Expected value of non-null type \\\"Int!\\\" not "
                 "to be null") != NULL);
    CHECK(strstr(result, "\"data\":{\"echo\":null}") != NULL);
}

static void test_variables(void)
{
    const struct {
        const char *query, *variables, *want;
    } cases[] = {
        {"query ($i: Int!) { echo(i: $i) }", "{}",
         "Variable \\\"$i\\\" of required type \\\"Int!\\\" was not provided."},
        {"query ($i: Int!) { echo(i: $i) }", "{\"i\": null}",
         "Expected non-nullable type \\\"Int!\\\" not to be null"},
        {"query ($i: Int) { echo(i: $i) }", "{\"i\": \"4\"}",
         "Variable \\\"$i\\\" got an invalid value: Int cannot represent"},
        {"query ($i: Int) { echo(i: $i) }", "{\"i\": 2147483648}",
         "Int cannot represent a non 32-bit signed integer value"},
        {"query ($i: Int) { echo(i: $i) }", "{\"i\": 1.5}", "Int cannot represent"},
        {"query ($s: String) { echo(s: $s) }", "{\"s\": 1}", "String cannot represent a non string value"},
        {"query ($b: Boolean) { echo(b: $b) }", "{\"b\": 0}", "Boolean cannot represent a non boolean value"},
        {"query ($e: Color) { echo(e: $e) }", "{\"e\": \"PINK\"}",
         "Value does not exist in \\\"Color\\\" enum"},
        {"query ($id: ID) { echo(id: $id) }", "{\"id\": 1.5}",
         "ID cannot represent a non-string and non-integer value"},
        {"query ($a: In) { echo(arg: $a) }", "{\"a\": {\"x\": 1, \"w\": 2}}",
         "Field \\\"w\\\" is not defined by type \\\"In\\\""},
        {"query ($a: In) { echo(arg: $a) }", "{\"a\": {\"y\": \"s\"}}",
         "Field \\\"x\\\" of required type \\\"Int!\\\" was not provided"},
        {"query ($a: In) { echo(arg: $a) }", "{\"a\": [1]}", "Expected type \\\"In\\\" to be an object"},
        {"query ($l: [Int]) { echo(l: $l) }", "{\"l\": [1, \"x\"]}", "Int cannot represent"},
        {"query ($i: Int) { echo(i: $i) }", "[]", "Variables must be an object."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_vars(cases[i].query, cases[i].variables);
        if (!strstr(result, cases[i].want) || strstr(result, "\"data\""))
            fprintf(stderr, "variables %zu: %s\n  want: %s\n", i, result, cases[i].want);
        CHECK(strstr(result, cases[i].want) != NULL);
        CHECK(strstr(result, "\"data\"") == NULL);
    }
    CHECK_STR(
        run_vars("query ($l: [Int], $f: Float, $id: ID, $e: Color) { echo(l: $l, f: $f, id: $id, e: $e) }",
                 "{\"l\": 3, \"f\": 2, \"id\": 7, \"e\": \"BLUE\", \"unused\": 1}"),
        "{\"data\":{\"echo\":\"{\\\"e\\\":\\\"BLUE\\\",\\\"f\\\":2.0,\\\"id\\\":\\\"7\\\",\\\"l\\\":[3],"
        "\\\"n\\\":5}\"}}");
    CHECK_STR(run_vars("query ($i: Int) { echo(i: $i) }", "{\"i\": 3.0}"),
              "{\"data\":{\"echo\":\"{\\\"i\\\":3,\\\"n\\\":5}\"}}");
    /* deeply nested input: refused, not recursed into without bound */
    char deep[8192] = "{\"a\": {\"x\": 1";
    for (int i = 0; i < 300; i++)
        strcat(deep, ", \"z\": {\"x\": 1");
    for (int i = 0; i < 301; i++)
        strcat(deep, "}");
    strcat(deep, "}");
    CHECK(strstr(run_vars("query ($a: In) { echo(arg: $a) }", deep), "nests too deeply") != NULL);
    /* a custom scalar's parse hook */
    account_data data = {.app_sessions = 3};
    run_full(
        account,
        "query ($d: DateTime) { viewer { ... on User { browserSessions(first: 1, lastActive: {after: $d}) { "
        "totalCount } } } }",
        "{\"d\": \"soon\"}", NULL, &data);
    CHECK(strstr(result, "DateTime cannot represent this value: not an RFC 3339 date and time") != NULL);
}

static void test_operations(void)
{
    const char *doc = "query A { a: hello } query B { b: hello } mutation M { first }";
    CHECK_STR(run_full(edge, doc, NULL, "B", NULL), "{\"data\":{\"b\":\"world\"}}");
    CHECK(strstr(run_full(edge, doc, NULL, NULL, NULL),
                 "Must provide operation name if query contains multiple operations.") != NULL);
    CHECK(strstr(run_full(edge, doc, NULL, "C", NULL), "Unknown operation named \\\"C\\\".") != NULL);
    /* mutations one after the other, in document order */
    calls[0] = '\0';
    CHECK_STR(run("mutation { c: third a: first b: second a2: first }"),
              "{\"data\":{\"c\":6,\"a\":12,\"b\":19,\"a2\":25}}");
    CHECK_STR(calls, "third first second first ");
    /* a mutation over GET */
    gql_prepared *p;
    json_t *errors;
    gql_request get = {"mutation M { first }", 20, NULL, NULL, true};
    CHECK_INT(gql_prepare(edge, &limits, &get, &p, &errors), -EPERM);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
              "Mutations are not allowed over GET.");
    json_decref(errors);
    gql_request get2 = {doc, strlen(doc), "M", NULL, true};
    CHECK_INT(gql_prepare(edge, &limits, &get2, &p, &errors), -EPERM);
    json_decref(errors);
    gql_request get3 = {doc, strlen(doc), "A", NULL, true};
    CHECK_INT(gql_prepare(edge, &limits, &get3, &p, &errors), 0);
    CHECK_INT(gql_prepared_operation(p), GQL_QUERY);
    gql_prepared_free(p);
    gql_request post = {doc, strlen(doc), "M", NULL, false};
    CHECK_INT(gql_prepare(edge, &limits, &post, &p, &errors), 0);
    CHECK_INT(gql_prepared_operation(p), GQL_MUTATION);
    gql_prepared_free(p);
    /* a prepared operation runs on its own, later, more than once */
    counter = 0;
    gql_request q = {"{ counter }", 11, NULL, NULL, false};
    CHECK_INT(gql_prepare(edge, &limits, &q, &p, &errors), 0);
    for (int i = 1; i <= 2; i++) {
        json_t *response = gql_run(p, NULL);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(response, "data"), "counter")), i);
        json_decref(response);
    }
    gql_prepared_free(p);
}

static void test_abstract(void)
{
    CHECK_STR(run("{ pets { __typename name ... on Dog { barks } ... on Cat { meows } } }"),
              "{\"data\":{\"pets\":[{\"__typename\":\"Dog\",\"name\":\"Rex\",\"barks\":true},{\"__typename\":"
              "\"Cat\","
              "\"name\":\"Tom\",\"meows\":false}]}}");
    CHECK_STR(run("{ pet(kind: \"Dog\") { name } }"), "{\"data\":{\"pet\":{\"name\":\"x\"}}}");
    CHECK(strstr(run("{ pet(kind: \"Obj\") { name } }"),
                 "Abstract type \\\"Pet\\\" must resolve to an object type at runtime for field "
                 "\\\"Query.pet\\\".") != NULL);
    CHECK(strstr(result, "\"data\":{\"pet\":null}") != NULL);
    CHECK(strstr(run("{ pet(kind: \"none\") { name } }"), "Abstract type \\\"Pet\\\" must resolve") != NULL);
    CHECK(strstr(run("{ pet(kind: \"Nope\") { name } }"), "Abstract type \\\"Pet\\\" must resolve") != NULL);
}

static void test_selects(void)
{
    CHECK_STR(run("{ conn { items } }"), "{\"data\":{\"conn\":{\"items\":[1]}}}");
    CHECK_STR(run("{ conn { total } }"), "{\"data\":{\"conn\":{\"total\":42}}}");
    CHECK_STR(run("{ conn { ... on Conn { total } } }"), "{\"data\":{\"conn\":{\"total\":42}}}");
    CHECK_STR(run("{ conn { ...F } } fragment F on Conn { total }"), "{\"data\":{\"conn\":{\"total\":42}}}");
    CHECK_STR(run("{ conn { total @skip(if: true) items } }"), "{\"data\":{\"conn\":{\"items\":[1]}}}");
    CHECK_STR(run("{ conn { n: total } }"), "{\"data\":{\"conn\":{\"n\":42}}}");
    CHECK_STR(run("{ conn { items } c2: conn { total } }"),
              "{\"data\":{\"conn\":{\"items\":[1]},\"c2\":{\"total\":42}}}");
    /* on an abstract type, through whichever object it turns out to be */
    account_data data = {.app_sessions = 10, .emails = 2};
    run_full(account, "{ viewer { ... on User { emails(first: 1) { edges { cursor } } } } }", NULL, NULL,
             &data);
    CHECK(strstr(result, "totalCount") == NULL);
    run_full(account, "{ viewer { ... on User { emails(first: 1) { totalCount } } } }", NULL, NULL, &data);
    CHECK(strstr(result, "\"totalCount\":2") != NULL);
}

/* gql_path(): the field's response path, by its alias, as its errors carry it. */
static void test_path(void)
{
    paths[0] = '\0';
    CHECK_STR(run("mutation { fourth x: fourth y: fourth }"), "{\"data\":{\"fourth\":1,\"x\":1,\"y\":1}}");
    CHECK_STR(paths, "[\"fourth\"][\"x\"][\"y\"]");
}

static void test_caps(void)
{
    gql_limits saved = limits;
    limits.max_depth = 3;
    CHECK_STR(run("{ obj { child { a } } }"), "{\"data\":{\"obj\":{\"child\":{\"a\":\"ca\"}}}}");
    CHECK(strstr(run("{ obj { child { child { a } } } }"), "The operation exceeds the maximum depth of 3.") !=
          NULL);
    CHECK(strstr(run("{ ...F } fragment F on Query { obj { child { child { a } } } }"),
                 "maximum depth of 3") != NULL);
    /* introspection does not count: its nesting is bounded otherwise */
    CHECK(strstr(run("{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"),
                 "\"data\"") != NULL);
    limits = saved;
    limits.max_aliases = 2;
    CHECK(strstr(run("{ a: hello b: hello }"), "\"data\"") != NULL);
    CHECK(strstr(run("{ a: hello b: hello c: hello }"), "The operation uses more than 2 aliases.") != NULL);
    CHECK(strstr(run("{ ...F ...F } fragment F on Query { a: hello b: hello }"), "more than 2 aliases") !=
          NULL);
    limits = saved;
    limits.max_complexity = 10;
    account_data data = {.app_sessions = 10, .emails = 20};
    run_full(account, "{ viewer { ... on User { emails(first: 2) { edges { node { id } } } } } }", NULL, NULL,
             &data);
    CHECK(strstr(result, "\"data\"") != NULL); /* 1 + 1 + 1 + 2 × (1 + 1 + 1) = 9 */
    run_full(account, "{ viewer { ... on User { emails(first: 3) { edges { node { id } } } } } }", NULL, NULL,
             &data);
    CHECK(strstr(result, "The operation exceeds the maximum complexity of 10.") != NULL);
    run_full(account,
             "query ($n: Int) { viewer { ... on User { emails(first: $n) { edges { node { id } } } } } }",
             "{\"n\": 3}", NULL, &data);
    CHECK(strstr(result, "maximum complexity of 10") != NULL);
    limits = saved;
    limits.max_page_size = 5;
    run_full(account, "{ viewer { ... on User { emails(first: 5) { totalCount } } } }", NULL, NULL, &data);
    CHECK(strstr(result, "\"totalCount\":20") != NULL);
    run_full(account, "{ viewer { ... on User { emails(last: 6) { totalCount } } } }", NULL, NULL, &data);
    CHECK(strstr(result, "\\\"last\\\" may be at most 5.") != NULL);
    run_full(account, "query ($n: Int) { viewer { ... on User { emails(first: $n) { totalCount } } } }",
             "{\"n\": 1000000}", NULL, &data);
    CHECK(strstr(result, "\\\"first\\\" may be at most 5.") != NULL);
    run_full(account, "{ viewer { ... on User { emails(first: 99999999999) { totalCount } } } }", NULL, NULL,
             &data);
    CHECK(strstr(result, "Int cannot represent 99999999999") != NULL);
    limits = saved;
    limits.max_result_values = 12;
    CHECK(strstr(run("{ many }"), "\"many\":[0,1,2,3,4,5,6,7,8,9]") != NULL);
    CHECK(strstr(run("{ many hello h: hello }"), "The response exceeds the limit of 12 values.") != NULL);
    limits = saved;
    limits.max_document_bytes = 10;
    CHECK(strstr(run("{ hello   }"), "The document exceeds 10 bytes.") != NULL);
    limits = saved;
    limits.max_tokens = 3;
    CHECK(strstr(run("{ hello }"), "\"data\"") != NULL);
    CHECK(strstr(run("{ hello a: hello }"), "Document exceeds the limit of 3 tokens.") != NULL);
    limits = saved;
    limits.max_nesting = 2;
    CHECK(strstr(run("{ obj { a } }"), "\"data\"") != NULL);
    CHECK(strstr(run("{ obj { child { a } } }"), "nesting limit of 2") != NULL);
    limits = saved;
    /* introspection's nesting, as graphql-js's rule */
    CHECK(strstr(run("{ __schema { types { fields { type { fields { name } } } } } }"), "\"data\"") != NULL);
    CHECK(strstr(run("{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"),
                 "Maximum introspection depth exceeded.") != NULL);
    CHECK(strstr(run("{ __type(name: \"Query\") { interfaces { possibleTypes { inputFields { name } } } } }"),
                 "Maximum introspection depth exceeded.") != NULL);
    CHECK(strstr(run("{ __type(name: \"Query\") { ...A } } fragment A on __Type { fields { type { ...B } } } "
                     "fragment B on __Type { fields { type { fields { name } } } }"),
                 "Maximum introspection depth exceeded.") != NULL);
}

static const char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(result, sizeof(result), "%s", s ? s : "(null)");
    free(s);
    return result;
}

static void test_introspection(void)
{
    run("{ __schema { description queryType { name kind } mutationType { name } subscriptionType { name } } "
        "}");
    CHECK_STR(result, "{\"data\":{\"__schema\":{\"description\":null,\"queryType\":{\"name\":\"Query\","
                      "\"kind\":\"OBJECT\"},"
                      "\"mutationType\":{\"name\":\"Mutation\"},\"subscriptionType\":null}}}");
    CHECK_STR(run("{ __type(name: \"Color\") { kind name enumValues { name } all: "
                  "enumValues(includeDeprecated: true) { "
                  "name isDeprecated deprecationReason } } }"),
              "{\"data\":{\"__type\":{\"kind\":\"ENUM\",\"name\":\"Color\",\"enumValues\":[{\"name\":\"RED\"}"
              ",{\"name\":"
              "\"GREEN\"}],\"all\":[{\"name\":\"RED\",\"isDeprecated\":false,\"deprecationReason\":null},{"
              "\"name\":\"GREEN\","
              "\"isDeprecated\":false,\"deprecationReason\":null},{\"name\":\"BLUE\",\"isDeprecated\":true,"
              "\"deprecationReason\":\"no\"}]}}}");
    CHECK_STR(run("{ __type(name: \"In\") { kind description fields { name } inputFields { name defaultValue "
                  "type { kind "
                  "name ofType { kind name ofType { name } } } } } }"),
              "{\"data\":{\"__type\":{\"kind\":\"INPUT_OBJECT\",\"description\":\"An "
              "input.\",\"fields\":null,\"inputFields\":"
              "[{\"name\":\"x\",\"defaultValue\":null,\"type\":{\"kind\":\"NON_NULL\",\"name\":null,"
              "\"ofType\":{\"kind\":"
              "\"SCALAR\",\"name\":\"Int\",\"ofType\":null}}},{\"name\":\"y\",\"defaultValue\":"
              "\"\\\"dy\\\"\",\"type\":{"
              "\"kind\":\"SCALAR\",\"name\":\"String\",\"ofType\":null}},{\"name\":\"z\",\"defaultValue\":"
              "null,\"type\":{"
              "\"kind\":\"LIST\",\"name\":null,\"ofType\":{\"kind\":\"NON_NULL\",\"name\":null,\"ofType\":{"
              "\"name\":\"In\"}}}}]}}}");
    CHECK_STR(run("{ a: __type(name: \"Nope\") { name } b: __type(name: \"__Meta\") { name } c: __type(name: "
                  "\"__Type\") { "
                  "name } }"),
              "{\"data\":{\"a\":null,\"b\":null,\"c\":{\"name\":\"__Type\"}}}");
    CHECK_STR(run("{ __type(name: \"Pet\") { kind possibleTypes { name } interfaces { name } } dog: "
                  "__type(name: \"Dog\") { "
                  "interfaces { name } possibleTypes { name } } }"),
              "{\"data\":{\"__type\":{\"kind\":\"INTERFACE\",\"possibleTypes\":[{\"name\":\"Dog\"},{\"name\":"
              "\"Cat\"}],"
              "\"interfaces\":[]},\"dog\":{\"interfaces\":[{\"name\":\"Pet\"}],\"possibleTypes\":null}}}");
    run("{ __type(name: \"Query\") { fields { name args { name defaultValue } } } }");
    json_t *r = json_loads(result, 0, NULL);
    json_t *fields = json_object_get(json_object_get(json_object_get(r, "data"), "__type"), "fields");
    CHECK_INT(json_array_size(fields), 25);
    json_t *echo = NULL;
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) if (!strcmp(json_string_value(json_object_get(f, "name")), "echo"))
        echo = f;
    CHECK_STR(dump(json_array_get(json_object_get(echo, "args"), 5)),
              "{\"name\":\"n\",\"defaultValue\":\"5\"}");
    json_decref(r);
    /* directives */
    run("{ __schema { directives { name isRepeatable locations args { name type { kind } } } } }");
    CHECK(strstr(result,
                 "{\"name\":\"include\",\"isRepeatable\":false,\"locations\":[\"FIELD\",\"FRAGMENT_SPREAD\","
                 "\"INLINE_FRAGMENT\"],\"args\":[{\"name\":\"if\",\"type\":{\"kind\":\"NON_NULL\"}}]}") !=
          NULL);
    CHECK(strstr(result,
                 "{\"name\":\"deprecated\",\"isRepeatable\":false,\"locations\":[\"FIELD_DEFINITION\","
                 "\"ARGUMENT_DEFINITION\",\"INPUT_FIELD_DEFINITION\",\"ENUM_VALUE\"]") != NULL);
    CHECK(strstr(result, "\"specifiedBy\"") != NULL && strstr(result, "\"skip\"") != NULL);
    /* the account schema: a custom scalar's URL, deprecated fields, a union */
    account_data data = {0};
    run_full(
        account,
        "{ __type(name: \"DateTime\") { specifiedByURL description } q: __type(name: \"Query\") { fields { "
        "name } all: fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }",
        NULL, NULL, &data);
    CHECK(strstr(result, "\"specifiedByURL\":\"https://datatracker.ietf.org/doc/html/"
                         "rfc3339\",\"description\":\"An instant "
                         "in UTC, as an RFC 3339 string.\"") != NULL);
    CHECK(strstr(result,
                 "\"fields\":[{\"name\":\"viewer\"},{\"name\":\"siteConfig\"},{\"name\":\"node\"}]") != NULL);
    CHECK(strstr(result, "{\"name\":\"currentUser\",\"isDeprecated\":true,\"deprecationReason\":\"Use "
                         "`viewer` instead.\"}") != NULL);
    /* every type listed once, the meta-fields' holder not */
    run("{ __schema { types { name } } }");
    CHECK(strstr(result, "\"__Meta\"") == NULL);
    CHECK(strstr(result, "{\"name\":\"Int\"}") != NULL &&
          strstr(result, "{\"name\":\"__TypeKind\"}") != NULL);
    /* switched off */
    limits.no_introspection = true;
    CHECK(strstr(run("{ __schema { description } }"), "GraphQL introspection is not allowed") != NULL);
    CHECK_STR(run("{ __typename }"), "{\"data\":{\"__typename\":\"Query\"}}");
    limits.no_introspection = false;
}

static void test_account_page(void)
{
    account_data data = {.emails = 2, .app_sessions = 20, .browser_sessions = 1};
    run_full(account, account_page_query, "{\"first\": 6}", NULL, &data);
    json_t *r = json_loads(result, 0, NULL);
    CHECK(json_object_get(r, "errors") == NULL);
    json_t *viewer = json_object_get(json_object_get(r, "data"), "viewer");
    CHECK_STR(json_string_value(json_object_get(viewer, "__typename")), "User");
    json_t *app = json_object_get(viewer, "appSessions");
    CHECK_INT(json_integer_value(json_object_get(app, "totalCount")), 20);
    CHECK_INT(json_array_size(json_object_get(app, "edges")), 6);
    json_t *first = json_object_get(json_array_get(json_object_get(app, "edges"), 0), "node");
    CHECK_STR(json_string_value(json_object_get(first, "__typename")), "CompatSession");
    CHECK_STR(json_string_value(json_object_get(first, "deviceId")), "DEV000000");
    json_t *second = json_object_get(json_array_get(json_object_get(app, "edges"), 1), "node");
    CHECK_STR(json_string_value(json_object_get(json_object_get(second, "client"), "applicationType")),
              "NATIVE");
    CHECK(json_object_get(second, "deviceId") == NULL);
    CHECK_INT(json_object_size(second), 10);
    CHECK(json_is_true(json_object_get(json_object_get(app, "pageInfo"), "hasNextPage")));
    CHECK_INT(data.resolver_calls, 1);
    json_decref(r);
    /* the mutation, then what it changed */
    run_full(
        account,
        "mutation ($in: SetDisplayNameInput!) { setDisplayName(input: $in) { status user { ... on User { "
        "matrix { displayName } } } } }",
        "{\"in\": {\"userId\": \"user:01JB0000000000000000000000\", \"displayName\": \"Alice A.\"}}", NULL,
        &data);
    CHECK_STR(result, "{\"data\":{\"setDisplayName\":{\"status\":\"SET\",\"user\":{\"matrix\":{"
                      "\"displayName\":\"Alice A.\"}}}}}");
    run_full(account, "mutation { setDisplayName(input: {userId: \"user:other\"}) { status } }", NULL, NULL,
             &data);
    CHECK(strstr(result, "\"message\":\"Unauthorized\"") != NULL && strstr(result, "\"data\":null") != NULL);
    run_full(account, "{ node(id: \"bad\") { id } }", NULL, NULL, &data);
    CHECK(strstr(result, "\"message\":\"invalid id\"") != NULL &&
          strstr(result, "\"data\":{\"node\":null}") != NULL);
    run_full(account, "{ viewer { ... on User { appSessions { totalCount } } } }", NULL, NULL, &data);
    CHECK(strstr(result, "Either 'first' or 'last' must be specified") != NULL);
}

int main(void)
{
    char *error = NULL;
    limits = gql_limits_default();
    CHECK_INT(gql_schema_build(&(gql_schema_def){edge_sdl, 0, edge_resolvers, NULL}, &edge, &error), 0);
    if (error)
        fprintf(stderr, "%s\n", error);
    account = account_schema();
    test_basics();
    test_errors();
    test_null_propagation();
    test_arguments();
    test_variables();
    test_operations();
    test_abstract();
    test_selects();
    test_path();
    test_caps();
    test_introspection();
    test_account_page();
    gql_schema_free(edge);
    gql_schema_free(account);
    return check_report("test_graphql_execute");
}
