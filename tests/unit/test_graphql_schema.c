/* Schema building (common/graphql/schema.c): SDL into types, the type system's rules (GraphQL
 * §3), resolver and scalar bindings, each refusal with where and why.
 *
 *   test_graphql_schema [MAS-SCHEMA.graphql]   also builds MAS's own schema when given one */
#include "check.h"
#include "graphql_account.h"
#include "internal.h"
#include <errno.h>

static int dummy(const gql_resolve_info *info, json_t **out)
{
    *out = NULL;
    return 0;
}

static char *built_error;

static int build(const char *sdl, const gql_resolver *resolvers, const gql_scalar *scalars, gql_schema **out)
{
    free(built_error);
    built_error = NULL;
    gql_schema *s = NULL;
    int r = gql_schema_build(&(gql_schema_def){sdl, 0, resolvers, scalars}, &s, &built_error);
    if (out)
        *out = s;
    else
        gql_schema_free(s);
    return r;
}

/* The schema is refused with a message holding `want`. */
static void refused(const char *sdl, const char *want)
{
    int r = build(sdl, NULL, NULL, NULL);
    if (r != -EINVAL || !built_error || !strstr(built_error, want))
        fprintf(stderr, "schema: %s\n  want: %s\n  got: %d %s\n", sdl, want, r,
                built_error ? built_error : "");
    CHECK_INT(r, -EINVAL);
    CHECK(built_error && strstr(built_error, want));
}

static void accepted(const char *sdl)
{
    int r = build(sdl, NULL, NULL, NULL);
    if (r != 0)
        fprintf(stderr, "schema: %s\n  refused: %s\n", sdl, built_error ? built_error : "");
    CHECK_INT(r, 0);
}

static void test_account(void)
{
    gql_schema *s = account_schema();
    const gql_type *user = gql_schema_type(s, MASD_STR("User"));
    CHECK(user && user->kind == GQL_KIND_OBJECT);
    CHECK(gql_type_field(user, MASD_STR("appSessions"))->resolve == account_app_sessions);
    CHECK(gql_type_field(user, MASD_STR("username"))->resolve == NULL);
    const gql_type *node = gql_schema_type(s, MASD_STR("Node"));
    CHECK_INT(node->npossible, 7); /* the objects implementing it, in definition order */
    CHECK(node->possible[0] == user);
    const gql_type *app = gql_schema_type(s, MASD_STR("AppSession"));
    CHECK_INT(app->npossible, 2);
    CHECK(gql_possible(node, gql_schema_type(s, MASD_STR("Oauth2Session"))));
    CHECK(!gql_possible(app, user));
    CHECK(gql_types_overlap(node, app));
    CHECK(!gql_types_overlap(app, gql_schema_type(s, MASD_STR("Viewer"))));
    CHECK(gql_types_overlap(node, gql_schema_type(s, MASD_STR("Viewer"))));
    const gql_field_def *current = gql_type_field(s->roots[GQL_QUERY], MASD_STR("currentUser"));
    CHECK_STR(current->deprecation, "Use `viewer` instead.");
    CHECK_STR(gql_schema_type(s, MASD_STR("DateTime"))->specified_by,
              "https://datatracker.ietf.org/doc/html/rfc3339");
    CHECK(gql_schema_type(s, MASD_STR("DateTime"))->scalar == &account_scalars[0]);
    CHECK(s->roots[GQL_MUTATION] && s->roots[GQL_SUBSCRIPTION] == NULL);
    CHECK(gql_field_lookup(s, s->roots[GQL_QUERY], MASD_STR("__schema")) == s->meta_schema);
    CHECK(gql_field_lookup(s, user, MASD_STR("__schema")) == NULL);
    CHECK(gql_field_lookup(s, user, MASD_STR("__typename")) == s->meta_typename);
    CHECK(gql_schema_type(s, MASD_STR("__Meta")) != NULL);
    for (size_t i = 0; i < s->ntypes; i++) /* the meta-fields' holder is not listed */
        CHECK(strcmp(s->type_list[i]->cname, "__Meta") != 0);
    gql_schema_free(s);
}

static void test_defaults(void)
{
    gql_schema *s;
    CHECK_INT(build("enum E { A B }\ninput In { e: E = B, n: Int = 3, l: [Int] = 1, inner: Inner = {} }\n"
                    "input Inner { x: String = \"x\" }\n"
                    "type Query { f(a: In = {n: 4}, b: [E!] = [A], c: Float = 2, d: Int = null): Int }",
                    NULL, NULL, &s),
              0);
    const gql_field_def *f = gql_type_field(s->roots[GQL_QUERY], MASD_STR("f"));
    char *a = json_dumps(f->args[0].default_json, JSON_COMPACT);
    CHECK_STR(a, "{\"e\":\"B\",\"n\":4,\"l\":[1],\"inner\":{\"x\":\"x\"}}");
    free(a);
    a = json_dumps(f->args[1].default_json, JSON_COMPACT | JSON_ENCODE_ANY);
    CHECK_STR(a, "[\"A\"]");
    free(a);
    CHECK(json_is_real(f->args[2].default_json) && json_real_value(f->args[2].default_json) == 2.0);
    CHECK(json_is_null(f->args[3].default_json));
    gql_schema_free(s);
}

static void test_refusals(void)
{
    refused("type Query { a: Nope }", "1:17: Unknown type \"Nope\".");
    refused("type Query { a: Int }\ntype Query { b: Int }",
            "2:1: There can be only one type named \"Query\".");
    refused("type Query { a: Int a: String }", "Field \"Query.a\" can only be defined once.");
    refused("type Query { a(x: Int, x: Int): Int }", "There can be only one argument named \"x\".");
    refused("type Q { a: Int }", "Query root type must be provided.");
    refused("schema { query: I } interface I { a: Int }", "Root type \"I\" must be a defined object type.");
    refused("schema { query: Q query: Q } type Q { a: Int }", "There can be only one Query type in schema.");
    refused("schema { query: Q } schema { query: Q } type Q { a: Int }",
            "Must provide only one schema definition.");
    refused("type Query", "Type \"Query\" must define one or more fields.");
    refused("input I { a: Int } type Query { a: I }",
            "The type of \"Query.a\" must be an output type but got: I.");
    refused("type Query { a(x: Query): Int }", "The type of \"x\" must be an input type but got: Query.");
    refused("input I { q: Query } type Query { a: Int }",
            "The type of \"q\" must be an input type but got: Query.");
    /* interfaces (§3.6.1) */
    refused("interface I { a: Int b: Int } type Query implements I { a: Int }",
            "Interface field \"I.b\" expected but \"Query\" does not provide it.");
    refused("interface I { a: Int } type Query implements I { a: String }",
            "Interface field \"I.a\" expects type \"Int\" but \"Query.a\" is type \"String\".");
    refused("interface I { a: Int! } type Query implements I { a: Int }", "expects type \"Int!\"");
    refused("interface I { a: [Int] } type Query implements I { a: Int }", "expects type \"[Int]\"");
    accepted("interface I { a: Int } type Query implements I { a: Int! }");
    accepted("interface I { a: [Int] } type Query implements I { a: [Int!]! }");
    accepted("interface I { a: I } type Query implements I { a: Query }");
    accepted("union U = Query interface I { a: U } type Query implements I { a: Query }");
    refused("interface I { a(x: Int): Int } type Query implements I { a: Int }",
            "Interface field argument \"I.a(x:)\" expected but \"Query.a\" does not provide it.");
    refused("interface I { a(x: Int): Int } type Query implements I { a(x: String): Int }",
            "Argument \"Query.a(x:)\" must have the type of the interface's.");
    refused("interface I { a: Int } type Query implements I { a(y: Int!): Int }",
            "Argument \"Query.a(y:)\" must not be required");
    accepted("interface I { a: Int } type Query implements I { a(y: Int! = 1, z: Int): Int }");
    refused("interface J { a: Int } interface I implements J { a: Int } type Query implements I { a: Int }",
            "Type \"Query\" must implement \"J\" because it is implemented by \"I\".");
    refused("interface I implements I { a: Int } type Query { a: Int }",
            "Type \"I\" cannot implement itself.");
    refused("type Query implements Int { a: Int }", "\"Int\" is not an interface type.");
    refused("interface I { a: Int } type Query implements I & I { a: Int }", "\"I\" is listed twice.");
    /* unions, enums, input objects */
    refused("union U type Query { a: U }", "Union type \"U\" must define one or more member types.");
    refused("interface I { a: Int } union U = I type Query { a: U }",
            "\"I\" is not an object type a union can hold.");
    refused("union U = Query | Query type Query { a: U }", "\"Query\" is listed twice.");
    refused("enum E type Query { a: E }", "Enum type \"E\" must define one or more values.");
    refused("enum E { A A } type Query { a: E }", "Enum value \"E.A\" can only be defined once.");
    refused("input I type Query { a(i: I): Int }", "Input object type \"I\" must define one or more fields.");
    refused("input I { a: Int a: Int } type Query { a(i: I): Int }",
            "There can be only one input field named \"a\".");
    refused("input A { a: A! } type Query { a(i: A): Int }",
            "Input object \"A\" refers to itself through non-null fields only.");
    refused("input A { b: B! } input B { a: A! } type Query { a(i: A): Int }",
            "Input object \"A\" refers to itself");
    accepted("input A { a: A } type Query { a(i: A): Int }");
    accepted("input A { a: [A!]! } type Query { a(i: A): Int }");
    /* reserved names */
    refused("type __Q { a: Int } type Query { a: Int }", "Name \"__Q\" must not begin with \"__\"");
    refused("type Query { __a: Int }", "Name \"__a\" must not begin with \"__\"");
    refused("type Query { a(__x: Int): Int }", "Name \"__x\" must not begin with \"__\"");
    refused("directive @__d on FIELD type Query { a: Int }", "Name \"__d\" must not begin with \"__\"");
    /* default values */
    refused("type Query { a(x: Int = \"s\"): Int }",
            "Invalid default value for \"x\": Int cannot represent \"s\".");
    refused("enum E { A } type Query { a(x: E = B): Int }",
            "Invalid default value for \"x\": Value B does not exist in \"E\" enum.");
    refused("input I { a: Int! } type Query { a(x: I = {}): Int }",
            "Field \"I.a\" of required type \"Int!\" was not provided");
    refused("input I { a: Int = 1.5 } type Query { a(x: I): Int }", "Invalid default value for \"a\"");
    refused("type Query { a(x: Int! = null): Int }", "not to be null");
    refused("input A { b: B = {} } input B { a: A = {} } type Query { a(x: A): Int }", "refers to itself");
    accepted("input A { b: B = {} } input B { a: A } type Query { a(x: A = {b: {a: {}}}): Int }");
    /* directives in the schema */
    refused("type Query @nope { a: Int }", "Unknown directive \"@nope\".");
    refused("type Query { a: Int @specifiedBy(url: \"x\") }",
            "Directive \"@specifiedBy\" may not be used on FIELD_DEFINITION.");
    refused("type Query { a: Int @deprecated @deprecated }", "can only be used once at this location");
    refused("type Query { a: Int @deprecated(why: \"x\") }",
            "Unknown argument \"why\" on directive \"@deprecated\".");
    refused("type Query { a: Int @deprecated(reason: 1) }", "String cannot represent 1");
    refused("scalar S @specifiedBy type Query { a: S }",
            "Argument \"url\" of required type \"String!\" was not provided");
    refused("type Query { a(x: Int! @deprecated): Int }", "Required \"x\" cannot be deprecated.");
    refused("input I { x: Int! @deprecated } type Query { a(i: I): Int }",
            "Required \"x\" cannot be deprecated.");
    accepted("type Query { a(x: Int! = 1 @deprecated, y: Int @deprecated): Int @deprecated }");
    accepted("directive @r repeatable on FIELD_DEFINITION type Query { a: Int @r @r }");
    refused("directive @d on FIELD directive @d on FIELD type Query { a: Int }",
            "There can be only one directive named \"@d\".");
    refused("directive @d(a: Nope) on FIELD type Query { a: Int }", "Unknown type \"Nope\".");
    refused("directive @d(a: Query) on FIELD type Query { a: Int }", "must be an input type");
    /* built-ins restated as MAS's printed schema does; anything else is a clash */
    accepted("directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\n"
             "directive @deprecated(reason: String = \"No longer supported\") on FIELD_DEFINITION | "
             "ARGUMENT_DEFINITION "
             "| INPUT_FIELD_DEFINITION | ENUM_VALUE\nscalar String\ntype Query { a: String }");
    refused("directive @skip(if: Boolean) on FIELD type Query { a: Int }",
            "There can be only one directive named \"@skip\".");
    refused("type Int { a: Int } type Query { a: Int }", "There can be only one type named \"Int\".");
    /* what a schema cannot hold */
    refused("type Query { a: Int } extend type Query { b: Int }", "Type extensions are not supported");
    refused("type Query { a: Int } query { a }", "A schema holds type system definitions only.");
    refused("type Query { a: Int ", "1:21: Syntax Error: Expected Name, found <EOF>.");
}

static void test_bindings(void)
{
    const char *sdl = "interface I { a: Int } type Query implements I { a: Int b: Int } scalar S scalar T";
    gql_resolver good[] = {{"Query.a", dummy, 3}, {"Query.b", dummy, 0}, {NULL, NULL, 0}};
    gql_schema *s;
    CHECK_INT(build(sdl, good, NULL, &s), 0);
    CHECK_INT(gql_type_field(s->roots[GQL_QUERY], MASD_STR("a"))->cost, 3);
    CHECK_INT(gql_type_field(s->roots[GQL_QUERY], MASD_STR("b"))->cost, 1);
    gql_schema_free(s);
    const struct {
        gql_resolver r;
        const char *want;
    } bad[] = {
        {{"Query.nope", dummy, 0}, "Resolver for \"Query.nope\": no such field of an object type."},
        {{"Nope.a", dummy, 0}, "Resolver for \"Nope.a\": no such field"},
        {{"I.a", dummy, 0}, "Resolver for \"I.a\": no such field of an object type."},
        {{"Query", dummy, 0}, "Resolver for \"Query\": no such field"},
        {{"S.a", dummy, 0}, "Resolver for \"S.a\": no such field"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gql_resolver list[] = {bad[i].r, {NULL, NULL, 0}};
        CHECK_INT(build(sdl, list, NULL, NULL), -EINVAL);
        CHECK(built_error && strstr(built_error, bad[i].want));
    }
    gql_resolver twice[] = {{"Query.a", dummy, 0}, {"Query.a", dummy, 0}, {NULL, NULL, 0}};
    CHECK_INT(build(sdl, twice, NULL, NULL), -EINVAL);
    CHECK(built_error && strstr(built_error, "Resolver for \"Query.a\": bound twice."));
    gql_scalar scalars[] = {{"S", NULL, NULL}, {"T", NULL, NULL}, {NULL, NULL, NULL}};
    CHECK_INT(build(sdl, NULL, scalars, NULL), 0);
    gql_scalar builtin[] = {{"String", NULL, NULL}, {NULL, NULL, NULL}};
    CHECK_INT(build(sdl, NULL, builtin, NULL), -EINVAL);
    CHECK(built_error && strstr(built_error, "Scalar hooks for \"String\": no such custom scalar."));
    gql_scalar unknown[] = {{"Query", NULL, NULL}, {NULL, NULL, NULL}};
    CHECK_INT(build(sdl, NULL, unknown, NULL), -EINVAL);
    /* every error is listed, not only the first */
    CHECK_INT(build("type Query { a: X b: Y }", NULL, NULL, NULL), -EINVAL);
    CHECK(built_error && strstr(built_error, "\"X\"") && strstr(built_error, "\n1:22: Unknown type \"Y\"."));
}

/* MAS's schema as MAS prints it (frontend/schema.graphql), when its path is given. */
static int test_mas(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return perror(path), -1;
    static char sdl[1 << 20];
    size_t n = fread(sdl, 1, sizeof(sdl) - 1, f);
    fclose(f);
    sdl[n] = '\0';
    gql_schema *s;
    CHECK_INT(build(sdl, NULL, NULL, &s), 0);
    if (s) {
        CHECK(gql_schema_type(s, MASD_STR("AppSessionConnection")) != NULL);
        CHECK(s->roots[GQL_MUTATION] != NULL);
        gql_schema_free(s);
    }
    return 0;
}

int main(int argc, char **argv)
{
    test_account();
    test_defaults();
    test_refusals();
    test_bindings();
    if (argc > 1 && test_mas(argv[1]) < 0)
        return 1;
    free(built_error);
    return check_report("test_graphql_schema");
}
