/* Validation (common/graphql/validate.c, validate_merge.c): every rule of GraphQL §5 with a
 * document it refuses (and the message) and one it accepts, over the account schema. */
#include "check.h"
#include "graphql_account.h"
#include "internal.h"
#include <errno.h>

static gql_schema *schema, *small;
static gql_arena arena;
static json_t *errors;
static char first_error[512];

static int validate_with(const gql_schema *s, const char *q, bool no_introspection)
{
    gql_arena_free(&arena);
    json_decref(errors);
    errors = json_array();
    first_error[0] = '\0';
    gql_limits l = gql_limits_default();
    l.no_introspection = no_introspection;
    gql_document doc;
    int r = gql_parse(&arena, q, strlen(q), 100000, 64, &doc, errors);
    if (r == 0)
        r = gql_validate(s, &l, &arena, &doc, errors);
    json_t *e = json_array_get(errors, 0);
    if (e)
        snprintf(first_error, sizeof(first_error), "%s", json_string_value(json_object_get(e, "message")));
    return r;
}

#define VALID(q)                                                                                             \
    do {                                                                                                     \
        int r_ = validate_with(schema, (q), false);                                                          \
        if (r_ != 0)                                                                                         \
            fprintf(stderr, "%s:%d: should be valid: %s\n  %s\n", __FILE__, __LINE__, (q), first_error);     \
        CHECK_INT(r_, 0);                                                                                    \
    } while (0)

#define INVALID(q, want)                                                                                     \
    do {                                                                                                     \
        int r_ = validate_with(schema, (q), false);                                                          \
        if (r_ != -EINVAL || !strstr(first_error, (want)))                                                   \
            fprintf(stderr, "%s:%d: should be refused: %s\n  want: %s\n  got: %d %s\n", __FILE__, __LINE__,  \
                    (q), (want), r_, first_error);                                                           \
        CHECK_INT(r_, -EINVAL);                                                                              \
        CHECK(strstr(first_error, (want)) != NULL);                                                          \
    } while (0)

/* §5.1.1, §5.2 */
static void test_operations(void)
{
    INVALID("type T { a: Int } { siteConfig { id } }", "The \"type\" definition is not executable.");
    INVALID("scalar S { siteConfig { id } }", "The \"scalar\" definition is not executable.");
    VALID("{ siteConfig { id } }");
    INVALID("query A { siteConfig { id } } query A { siteConfig { serverName } }",
            "There can be only one operation named \"A\".");
    INVALID("query A { siteConfig { id } } mutation A { endSession(input: {sessionId: \"x\"}) { status } }",
            "There can be only one operation named \"A\".");
    VALID("query A { siteConfig { id } } query B { siteConfig { id } }");
    INVALID("{ siteConfig { id } } query B { siteConfig { id } }",
            "This anonymous operation must be the only defined operation.");
    INVALID("{ siteConfig { id } } { siteConfig { id } }",
            "This anonymous operation must be the only defined operation.");
    INVALID("subscription { siteConfig { id } }", "Subscriptions are not supported.");
    int r = validate_with(small, "mutation { a }", false);
    CHECK_INT(r, -EINVAL);
    CHECK_STR(first_error, "Schema is not configured to execute mutation operation.");
    CHECK_INT(validate_with(small, "query { a }", false), 0);
}

/* §5.3.1, §5.3.3 */
static void test_fields(void)
{
    INVALID("{ siteConfig { nope } }", "Cannot query field \"nope\" on type \"SiteConfig\".");
    INVALID("{ viewer { id } }", "Cannot query field \"id\" on type \"Viewer\".");
    INVALID("{ node(id: \"x\") { username } }", "Cannot query field \"username\" on type \"Node\".");
    VALID("{ viewer { __typename ... on Node { id } ... on User { username } } }");
    INVALID("{ viewer { ... on User { __schema { description } } } }",
            "Cannot query field \"__schema\" on type \"User\".");
    VALID(
        "{ __typename siteConfig { __typename } __schema { description } __type(name: \"User\") { name } }");
    INVALID("{ siteConfig { id { x } } }",
            "Field \"id\" must not have a selection since type \"ID!\" has no subfields.");
    INVALID("{ siteConfig }",
            "Field \"siteConfig\" of type \"SiteConfig!\" must have a selection of subfields.");
    INVALID("{ __typename { x } }", "must not have a selection");
    INVALID("{ viewer { ... on User { appSessions(first: 1) { edges { node } } } } }",
            "Field \"node\" of type \"AppSession!\" must have a selection of subfields.");
}

/* §5.4 */
static void test_arguments(void)
{
    INVALID("{ node(nope: 1, id: \"x\") { id } }", "Unknown argument \"nope\" on field \"Query.node\".");
    INVALID("{ node(id: \"a\", id: \"b\") { id } }", "There can be only one argument named \"id\".");
    INVALID("{ node { id } }",
            "Field \"node\" argument \"id\" of type \"ID!\" is required, but it was not provided.");
    VALID("{ node(id: \"a\") { id } }");
    VALID("{ viewer { ... on User { appSessions(last: 2) { totalCount } } } }"); /* optional ones left out */
    INVALID("{ siteConfig @skip { id } }", "Argument \"if\" of required type \"Boolean!\" was not provided");
    INVALID("{ siteConfig @skip(if: true, if: false) { id } }",
            "There can be only one argument named \"if\".");
    INVALID("{ siteConfig @skip(when: true) { id } }", "Unknown argument \"when\" on directive \"@skip\".");
}

/* §5.5 */
static void test_fragments(void)
{
    INVALID("{ viewer { ...F } } fragment F on User { id } fragment F on User { username }",
            "There can be only one fragment named \"F\".");
    VALID("{ viewer { ...F ...G } } fragment F on User { id } fragment G on User { username }");
    INVALID("{ viewer { ...F } } fragment F on Nope { id }", "Unknown type \"Nope\".");
    INVALID("{ viewer { ... on Nope { id } } }", "Unknown type \"Nope\".");
    INVALID("{ viewer { ...F } } fragment F on String { id }",
            "Fragment cannot condition on non composite type \"String\".");
    INVALID("{ viewer { ... on Boolean { x } } }",
            "Fragment cannot condition on non composite type \"Boolean\".");
    VALID("{ viewer { ...F } } fragment F on Viewer { __typename }");
    INVALID("{ siteConfig { id } } fragment F on User { id }", "Fragment \"F\" is never used.");
    INVALID("query A { siteConfig { id } } query B { viewer { ...F } } fragment F on User { id } fragment G "
            "on User { id }",
            "Fragment \"G\" is never used.");
    INVALID("{ viewer { ...F } }", "Unknown fragment \"F\".");
    INVALID("{ viewer { ...A } } fragment A on User { ...B } fragment B on User { ...A }",
            "Cannot spread fragment \"A\" within itself.");
    INVALID("{ viewer { ...A } } fragment A on User { id ...A }",
            "Cannot spread fragment \"A\" within itself.");
    INVALID("{ viewer { ...A } } fragment A on User { matrix { mxid } ... on User { ...A } }",
            "within itself");
    VALID("{ viewer { ...A ...B } } fragment A on User { ...B } fragment B on User { id }");
    /* a chain too long to follow */
    static char chain[64 * 1024];
    size_t n = (size_t)snprintf(chain, sizeof(chain), "{ viewer { ...F0 } }");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(chain + n, sizeof(chain) - n, " fragment F%d on User { ...F%d }", i, i + 1);
    snprintf(chain + n, sizeof(chain) - n, " fragment F300 on User { id }");
    INVALID(chain, "Fragments are nested too deeply.");
    /* §5.5.2.3 possible spreads */
    INVALID("{ viewer { ... on CompatSession { id } } }",
            "Fragment cannot be spread here as objects of type \"Viewer\" can never be of type "
            "\"CompatSession\".");
    INVALID("{ viewer { ... on User { ...C } } } fragment C on CompatSession { id }",
            "Fragment \"C\" cannot be spread here as objects of type \"User\" can never be of type "
            "\"CompatSession\".");
    INVALID("{ viewer { ... on AppSession { __typename } } }", "can never be of type \"AppSession\"");
    VALID("{ viewer { ... on Node { id } } }"); /* union ∩ interface */
    VALID("{ node(id: \"x\") { ... on AppSession { __typename } ... on User { id } } }"); /* interface ∩ union
                                                                                           */
    VALID("{ node(id: \"x\") { ... on CreationEvent { createdAt } } }"); /* interface ∩ interface */
    INVALID("{ viewer { ... on User { matrix { ... on Node { id } } } } }", "can never be of type \"Node\"");
}

/* §5.6 */
static void test_values(void)
{
    INVALID("{ node(id: 1.5) { id } }", "Argument \"id\" has an invalid value: ID cannot represent 1.5.");
    VALID("{ node(id: 15) { id } }");
    INVALID("{ viewer { ... on User { emails(first: \"x\") { totalCount } } } }",
            "Int cannot represent \"x\"");
    INVALID("{ viewer { ... on User { emails(first: 3000000000) { totalCount } } } }",
            "Int cannot represent 3000000000");
    INVALID("{ viewer { ... on User { emails(first: 1.0) { totalCount } } } }", "Int cannot represent 1.0");
    INVALID("{ viewer { ... on User { appSessions(first: 1, state: NOPE) { totalCount } } } }",
            "Value NOPE does not exist in \"SessionState\" enum");
    INVALID("{ viewer { ... on User { appSessions(first: 1, state: \"ACTIVE\") { totalCount } } } }",
            "Value \"ACTIVE\" does not exist in \"SessionState\" enum");
    VALID("{ viewer { ... on User { appSessions(first: 1, state: ACTIVE, device: null) { totalCount } } } }");
    INVALID("{ node(id: null) { id } }", "Expected value of non-null type \"ID!\" not to be null");
    INVALID("mutation { setDisplayName(input: {displayName: \"x\"}) { status } }",
            "Field \"SetDisplayNameInput.userId\" of required type \"ID!\" was not provided");
    INVALID("mutation { setDisplayName(input: {userId: \"u\", nope: 1}) { status } }",
            "Field \"nope\" is not defined by type \"SetDisplayNameInput\"");
    INVALID("mutation { setDisplayName(input: {userId: \"u\", userId: \"v\"}) { status } }",
            "There can be only one input field named \"userId\"");
    INVALID("mutation { setDisplayName(input: \"u\") { status } }",
            "Expected value of type \"SetDisplayNameInput\"");
    VALID("mutation { setDisplayName(input: {userId: \"u\", displayName: null}) { status } }");
    INVALID("{ viewer { ... on User { browserSessions(first: 1, lastActive: {after: \"yesterday\"}) { "
            "totalCount } } } }",
            "DateTime cannot represent this value: not an RFC 3339 date and time");
    VALID("{ viewer { ... on User { browserSessions(first: 1, lastActive: {after: \"2024-01-01T00:00:00Z\"}) "
          "{ totalCount } } } }");
    INVALID("{ siteConfig @include(if: \"yes\") { id } }", "Boolean cannot represent \"yes\"");
}

/* §5.7 */
static void test_directives(void)
{
    INVALID("{ siteConfig @nope { id } }", "Unknown directive \"@nope\".");
    INVALID("query @skip(if: true) { siteConfig { id } }", "Directive \"@skip\" may not be used on QUERY.");
    INVALID("{ viewer { ...F } } fragment F on User @include(if: true) { id }",
            "Directive \"@include\" may not be used on FRAGMENT_DEFINITION.");
    INVALID("query ($a: Int @skip(if: true)) { siteConfig { id } }",
            "may not be used on VARIABLE_DEFINITION");
    INVALID("{ siteConfig { id @deprecated } }", "Directive \"@deprecated\" may not be used on FIELD.");
    INVALID("{ siteConfig @skip(if: false) @skip(if: false) { id } }",
            "The directive \"@skip\" can only be used once at this location.");
    VALID("{ siteConfig @skip(if: false) @include(if: true) { id } viewer { ... @skip(if: true) { __typename "
          "} } }");
}

/* §5.8 */
static void test_variables(void)
{
    INVALID("query ($a: ID!, $a: ID!) { node(id: $a) { id } }",
            "There can be only one variable named \"$a\".");
    INVALID("query ($a: User) { siteConfig { id } }", "Variable \"$a\" cannot be non-input type \"User\".");
    INVALID("query ($a: Nope) { siteConfig { id } }", "Unknown type \"Nope\".");
    INVALID("query ($a: [Viewer!]) { siteConfig { id } }", "cannot be non-input type \"[Viewer!]\"");
    INVALID("{ node(id: $x) { id } }", "Variable \"$x\" is not defined.");
    INVALID("query Q { viewer { ...F } } fragment F on User { emails(first: $n) { totalCount } }",
            "Variable \"$n\" is not defined by operation \"Q\".");
    INVALID("query A($n: Int) { viewer { ...F } } query B { viewer { ...F } } fragment F on User { "
            "emails(first: $n) { totalCount } }",
            "Variable \"$n\" is not defined by operation \"B\".");
    VALID("query A($n: Int) { viewer { ...F } } query B($n: Int = 3) { viewer { ...F } } "
          "fragment F on User { emails(first: $n) { totalCount } }");
    INVALID("query Q($a: Int) { siteConfig { id } }", "Variable \"$a\" is never used in operation \"Q\".");
    INVALID("query ($a: Int) { siteConfig { id } }", "Variable \"$a\" is never used.");
    VALID("query Q($a: Boolean!) { siteConfig @skip(if: $a) { id } }");
    VALID("query Q($a: Int) { viewer { ...F } } fragment F on User { ... on User { emails(first: $a) { "
          "totalCount } } }");
    /* §5.8.5 usages allowed */
    INVALID("query ($id: String!) { node(id: $id) { id } }",
            "Variable \"$id\" of type \"String!\" used in position expecting type \"ID!\".");
    INVALID("query ($id: ID) { node(id: $id) { id } }",
            "Variable \"$id\" of type \"ID\" used in position expecting type \"ID!\".");
    VALID("query ($id: ID = \"x\") { node(id: $id) { id } }");
    INVALID("query ($id: ID = null) { node(id: $id) { id } }",
            "of type \"ID\" used in position expecting type \"ID!\"");
    VALID("query ($id: ID!) { node(id: $id) { id } }");
    VALID("query ($s: SessionState) { viewer { ... on User { appSessions(first: 1, state: $s) { totalCount } "
          "} } }");
    INVALID("query ($n: [Int]) { viewer { ... on User { emails(first: $n) { totalCount } } } }",
            "of type \"[Int]\" used in position expecting type \"Int\"");
    INVALID("query ($n: Int) { viewer { ... on User { emails(first: [$n]) { totalCount } } } }",
            "Int cannot represent [$n]");
    INVALID("mutation ($u: ID) { setDisplayName(input: {userId: $u}) { status } }",
            "of type \"ID\" used in position expecting type \"ID!\"");
    VALID(
        "mutation ($u: ID!, $d: String) { setDisplayName(input: {userId: $u, displayName: $d}) { status } }");
    VALID("query ($b: Boolean = true) { siteConfig @include(if: $b) { id } }");
    INVALID("query ($n: Int = \"x\") { viewer { ... on User { emails(first: $n) { totalCount } } } }",
            "Variable \"$n\" has an invalid default value: Int cannot represent \"x\".");
    INVALID("query ($d: DateTime = \"soon\") { viewer { ... on User { browserSessions(first: 1, lastActive: "
            "{after: $d}) { totalCount } } } }",
            "has an invalid default value");
    VALID("query ($d: DateTime) { viewer { ... on User { browserSessions(first: 1, lastActive: {after: $d}) "
          "{ totalCount } } } }");
}

/* §5.3.2 */
static void test_merging(void)
{
    INVALID("{ siteConfig { id: serverName id } }",
            "Fields \"id\" conflict because \"serverName\" and \"id\" are different fields.");
    VALID("{ siteConfig { id id a: id a: id } }");
    INVALID("{ viewer { ... on User { emails(first: 1) { totalCount } emails(first: 2) { totalCount } } } }",
            "Fields \"emails\" conflict because they have differing arguments.");
    INVALID("{ viewer { ... on User { emails(first: 1) { totalCount } emails { totalCount } } } }",
            "differing arguments");
    INVALID("{ viewer { ... on User { emails { totalCount } emails(first: 1) { totalCount } } } }",
            "differing arguments");
    VALID("{ viewer { ... on User { a: emails(first: 1) { totalCount } b: emails(first: 2) { totalCount } } "
          "} }");
    VALID("query ($n: Int) { viewer { ... on User { emails(first: $n) { totalCount } emails(first: $n) { "
          "edges { cursor } } } } }");
    INVALID("query ($n: Int, $m: Int) { viewer { ... on User { emails(first: $n) { totalCount } "
            "emails(first: $m) { totalCount } } } }",
            "differing arguments");
    VALID("{ viewer { ... on User { appSessions(first: 1, state: ACTIVE) { totalCount } appSessions(state: "
          "ACTIVE, first: 1) { totalCount } } } }");
    /* exclusive parents: other fields may share a name, not a shape */
    VALID("{ node(id: \"x\") { ... on CompatSession { x: humanName } ... on Oauth2Session { x: lastActiveIp "
          "} } }");
    INVALID("{ node(id: \"x\") { ... on CompatSession { x: deviceId } ... on Oauth2Session { x: scope } } }",
            "Fields \"x\" conflict because they return conflicting types \"String\" and \"String!\".");
    INVALID("{ node(id: \"x\") { ... on UserEmail { x: email } ... on Oauth2Session { x: createdAt } } }",
            "they return conflicting types \"String!\" and \"DateTime!\"");
    INVALID("{ node(id: \"x\") { ... on User { x: emails(first: 1) { n: totalCount } } ... on Oauth2Session "
            "{ x: client { n: clientName } } } }",
            "Fields \"n\" conflict because they return conflicting types \"Int!\" and \"String\"");
    VALID("{ node(id: \"x\") { ... on User { x: emails(first: 1) { totalCount } } ... on Oauth2Session { x: "
          "client { id: clientName } } } }");
    /* an abstract parent is no exclusion */
    INVALID("{ node(id: \"x\") { ... on Node { x: id } ... on User { x: username } } }",
            "Fields \"x\" conflict because \"id\" and \"username\" are different fields.");
    /* through fragments and nested selections */
    INVALID("{ viewer { ...A ...B } } fragment A on User { matrix { n: mxid } } fragment B on User { matrix "
            "{ n: displayName } }",
            "Fields \"n\" conflict because \"mxid\" and \"displayName\" are different fields.");
    INVALID("{ viewer { ... on User { matrix { n: mxid } } } viewer { ... on User { matrix { n: displayName "
            "} } } }",
            "Fields \"n\" conflict");
    VALID("{ viewer { ...A ...B } } fragment A on User { matrix { mxid } } fragment B on User { matrix { "
          "mxid displayName } }");
    /* many fields sharing a name: linear, not quadratic, and bounded */
    static char wide[200 * 1024];
    size_t n = (size_t)snprintf(wide, sizeof(wide), "{ siteConfig {");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(wide + n, sizeof(wide) - n, " id");
    snprintf(wide + n, sizeof(wide) - n, " } }");
    VALID(wide);
    /* fragments that double at each level: refused, not explored */
    n = (size_t)snprintf(wide, sizeof(wide), "{ viewer { ...F0 } }");
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(wide + n, sizeof(wide) - n, " fragment F%d on User { ...F%d ...F%d }", i, i + 1,
                              i + 1);
    snprintf(wide + n, sizeof(wide) - n, " fragment F30 on User { id }");
    INVALID(wide, "The document is too complex to validate.");
    /* many operations that each reach a long chain of fragments: the work is the document's */
    static char ops[512 * 1024];
    n = 0;
    for (int i = 0; i < 2500; i++)
        n += (size_t)snprintf(ops + n, sizeof(ops) - n, "query Q%d { viewer { ...F0 } } ", i);
    for (int i = 0; i < 250; i++)
        n += (size_t)snprintf(ops + n, sizeof(ops) - n, "fragment F%d on User { ...F%d } ", i, i + 1);
    snprintf(ops + n, sizeof(ops) - n, "fragment F250 on User { id }");
    INVALID(ops, "The document is too complex to validate.");
    ops[strstr(ops, "query Q300 ") - ops] = '\0'; /* 300 operations: fine */
    n = strlen(ops);
    for (int i = 0; i < 250; i++)
        n += (size_t)snprintf(ops + n, sizeof(ops) - n, "fragment F%d on User { ...F%d } ", i, i + 1);
    snprintf(ops + n, sizeof(ops) - n, "fragment F250 on User { id }");
    VALID(ops);
}

static void test_introspection_switch(void)
{
    CHECK_INT(validate_with(schema, "{ __schema { queryType { name } } }", true), -EINVAL);
    CHECK_STR(first_error, "GraphQL introspection is not allowed, but the query contained __schema.");
    CHECK_INT(validate_with(schema, "{ __type(name: \"User\") { name } }", true), -EINVAL);
    CHECK_INT(
        validate_with(schema, "{ viewer { ...F } } fragment F on Query { __schema { description } }", true),
        -EINVAL);
    CHECK_INT(validate_with(schema, "{ __typename viewer { __typename } }", true), 0);
}

static void test_error_limit(void)
{
    static char many[64 * 1024];
    size_t n = (size_t)snprintf(many, sizeof(many), "{ siteConfig {");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, " f%d", i);
    snprintf(many + n, sizeof(many) - n, " } }");
    CHECK_INT(validate_with(schema, many, false), -EINVAL);
    CHECK_INT(json_array_size(errors), GQL_MAX_ERRORS);
    /* every error has a location */
    json_t *e = json_array_get(errors, 99);
    CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(e, "locations"), 0), "line")) ==
          1);
}

int main(void)
{
    schema = account_schema();
    char *error = NULL;
    CHECK_INT(gql_schema_build(&(gql_schema_def){.sdl = "type Query { a: Int }"}, &small, &error), 0);
    test_operations();
    test_fields();
    test_arguments();
    test_fragments();
    test_values();
    test_directives();
    test_variables();
    test_merging();
    test_introspection_switch();
    test_error_limit();
    gql_schema_free(schema);
    gql_schema_free(small);
    gql_arena_free(&arena);
    json_decref(errors);
    return check_report("test_graphql_validate");
}
