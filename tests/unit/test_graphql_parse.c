/* The GraphQL lexer and parser (common/graphql/lexer.c, parser.c): the spec's examples, every
 * kind of token and value, the syntax tree with its locations, malformed documents, limits. */
#include "check.h"
#include "internal.h"
#include <errno.h>
#include <stdlib.h>

static gql_arena arena;
static gql_document doc;
static json_t *errors;

/* Parses src; returns 0 or the error; the first message into last_error. */
static char last_error[512];
static gql_loc last_loc;

static int parse_with(const char *src, size_t len, size_t max_tokens, unsigned max_nesting)
{
    gql_arena_free(&arena);
    json_decref(errors);
    errors = json_array();
    last_error[0] = '\0';
    last_loc = (gql_loc){0};
    int r = gql_parse(&arena, src, len, max_tokens, max_nesting, &doc, errors);
    json_t *e = json_array_get(errors, 0);
    if (e) {
        snprintf(last_error, sizeof(last_error), "%s", json_string_value(json_object_get(e, "message")));
        json_t *l = json_array_get(json_object_get(e, "locations"), 0);
        last_loc.line = (uint32_t)json_integer_value(json_object_get(l, "line"));
        last_loc.column = (uint32_t)json_integer_value(json_object_get(l, "column"));
    }
    return r;
}

static int parse(const char *src)
{
    return parse_with(src, strlen(src), 10000, 64);
}

static bool str_is(masd_str s, const char *want)
{
    return masd_str_eq(s, masd_str_from(want));
}

/* The one string value of `{ f(a: <literal>) }`, decoded; NULL when it does not parse. */
static const char *string_value(const char *literal, size_t *len)
{
    static char buf[256];
    char src[256];
    snprintf(src, sizeof(src), "{ f(a: %s) }", literal);
    if (parse(src) != 0)
        return NULL;
    const gql_value *v = doc.definitions->selections->args->value;
    if (v->kind != GQL_VALUE_STRING || v->text.len >= sizeof(buf))
        return NULL;
    memcpy(buf, v->text.ptr, v->text.len);
    buf[v->text.len] = '\0';
    if (len)
        *len = v->text.len;
    return buf;
}

static void test_spec_examples(void)
{
    static const char *valid[] = {
        /* §2 Language */
        "{ user(id: 4) { name } }", "mutation { likeStory(storyID: 12345) { story { likeCount } } }",
        "query { me { id firstName lastName birthday { month day } friends { name } } }",
        "{ user(id: 4) { id name smallPic: profilePic(size: 64) bigPic: profilePic(size: 1024) } }",
        "query withFragments { user(id: 4) { friends(first: 10) { ...friendFields } mutualFriends(first: 10) "
        "{ "
        "...friendFields } } }\nfragment friendFields on User { id name profilePic(size: 50) }",
        "query inlineFragmentTyping { profiles(handles: [\"zuck\", \"coca-cola\"]) { handle ... on User { "
        "friends "
        "{ count } } ... on Page { likers { count } } } }",
        "query inlineFragmentNoType($expandedInfo: Boolean) { user(handle: \"zuck\") { id name ... "
        "@include(if: $expandedInfo) { firstName lastName birthday } } }",
        "query getZuckProfile($devicePicSize: Int) { user(id: 4) { id name profilePic(size: $devicePicSize) "
        "} }",
        "query hasDefault($size: Int = 10, $list: [String!]! = [\"a\"], $o: In = {a: 1, b: [null]}) { a }",
        "{ nearestThing(location: { lon: 12.43, lat: -53.211 }) }",
        "query myQuery($someTest: Boolean!) { experimentalField @skip(if: $someTest) }",
        "query q($v: Int @dir) { a }",
        "{ a(b: \"\"\"block\"\"\", c: true, d: false, e: null, f: ENUM, g: -0, h: 1.5e-3, i: [], j: {}) }",
        "subscription { newMessage { text } }", "# a comment\n{ a, b,, c }", "\xEF\xBB\xBF{ a }",
        /* §3 Type System */
        "schema { query: MyQueryRootType mutation: MyMutationRootType }",
        "\"\"\"A schema\"\"\" schema @dir { query: Q }",
        "\"\"\"\nA simple GraphQL schema which is well described.\n\"\"\"\ntype Query {\n  \"\"\"\n  "
        "Translates a string "
        "from a given language into a different language.\n  \"\"\"\n  translate(\n    \"The original "
        "language that "
        "`text` is provided in.\"\n    fromLanguage: Language\n    \"The text to be translated.\"\n    text: "
        "String\n  ): String\n}",
        "scalar Time\nscalar Url @specifiedBy(url: \"https://tools.ietf.org/html/rfc3986\")",
        "type Person { name: String age: Int picture: Url relationship: Person }",
        "type Person @addExternalFields(source: \"profiles\") @excludeField(name: \"photo\") { name: String "
        "}",
        "interface NamedEntity { name: String }\ntype Business implements NamedEntity & ValuedEntity { name: "
        "String }",
        "type A implements & B & C { a: Int }", "interface Resource implements Node { id: ID! url: String }",
        "union SearchResult = Photo | Person", "union SearchResult =\n  | Photo\n  | Person",
        "enum Direction { NORTH EAST SOUTH WEST }", "input Point2D { x: Float y: Float = 0.5 @deprecated }",
        "directive @example on FIELD_DEFINITION | ARGUMENT_DEFINITION",
        "directive @delegateField(name: String!) repeatable on OBJECT | INTERFACE",
        "directive @d(\"desc\" a: Int = 1) on | QUERY", "extend schema @x", "extend scalar S @x",
        "extend type Story { isHiddenLocally: Boolean }", "extend type User @addedDirective",
        "extend interface I implements J", "extend union U = C", "extend enum E { F }",
        "extend input I { f: Int }", "type Q { f(a: Int = 1 @deprecated, b: [[Int!]!]! = [[1]]): String }",
        "type empty", /* fields are optional in the grammar; the schema requires them */
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        int r = parse(valid[i]);
        if (r != 0)
            fprintf(stderr, "should parse: %s\n  %s\n", valid[i], last_error);
        CHECK_INT(r, 0);
    }
}

static void test_tree(void)
{
    CHECK_INT(parse("query Q($id: ID! = \"x\", $n: [Int]) @live {\n"
                    "  alias: user(id: $id) @skip(if: false) {\n"
                    "    ...F\n"
                    "    ... on User { name }\n"
                    "    ... @include(if: true) { id }\n"
                    "  }\n"
                    "}\n"
                    "fragment F on User { id }\n"
                    "{ short }"),
              0);
    const gql_definition *q = doc.definitions;
    CHECK_INT(q->kind, GQL_DEF_OPERATION);
    CHECK_INT(q->operation, GQL_QUERY);
    CHECK(str_is(q->name, "Q"));
    CHECK_INT(q->loc.line, 1);
    CHECK_INT(q->loc.column, 1);
    const gql_var_def *v = q->variables;
    CHECK(str_is(v->name, "id"));
    CHECK_INT(v->type->kind, GQL_TYPE_NON_NULL);
    CHECK(str_is(v->type->of->name, "ID"));
    CHECK_INT(v->default_value->kind, GQL_VALUE_STRING);
    CHECK(str_is(v->default_value->text, "x"));
    CHECK_INT(v->next->type->kind, GQL_TYPE_LIST);
    CHECK(str_is(v->next->type->of->name, "Int"));
    CHECK(str_is(q->directives->name, "live"));
    const gql_selection *f = q->selections;
    CHECK_INT(f->kind, GQL_SEL_FIELD);
    CHECK(str_is(f->alias, "alias"));
    CHECK(str_is(f->name, "user"));
    CHECK_INT(f->loc.line, 2);
    CHECK_INT(f->loc.column, 3);
    CHECK(str_is(f->args->name, "id"));
    CHECK_INT(f->args->value->kind, GQL_VALUE_VARIABLE);
    CHECK(str_is(f->args->value->text, "id"));
    CHECK(str_is(f->directives->name, "skip"));
    CHECK_INT(f->directives->args->value->kind, GQL_VALUE_BOOLEAN);
    CHECK(!f->directives->args->value->boolean);
    const gql_selection *s = f->selections;
    CHECK_INT(s->kind, GQL_SEL_SPREAD);
    CHECK(str_is(s->name, "F"));
    CHECK_INT(s->loc.line, 3);
    CHECK_INT(s->loc.column, 5);
    CHECK_INT(s->next->kind, GQL_SEL_INLINE);
    CHECK(str_is(s->next->type_cond, "User"));
    CHECK_INT(s->next->next->kind, GQL_SEL_INLINE);
    CHECK_INT(s->next->next->type_cond.len, 0);
    CHECK(str_is(s->next->next->directives->name, "include"));
    const gql_definition *frag = q->next;
    CHECK_INT(frag->kind, GQL_DEF_FRAGMENT);
    CHECK(str_is(frag->name, "F"));
    CHECK(str_is(frag->type_cond, "User"));
    CHECK_INT(frag->loc.line, 8);
    const gql_definition *shorthand = frag->next;
    CHECK_INT(shorthand->kind, GQL_DEF_OPERATION);
    CHECK_INT(shorthand->name.len, 0);
    CHECK(str_is(shorthand->selections->name, "short"));
    CHECK(shorthand->next == NULL);

    /* values */
    CHECK_INT(parse("{ f(a: [1, -2.5e3, {x: ENUM, y: null}], b: \"é\") }"), 0);
    const gql_value *list = doc.definitions->selections->args->value;
    CHECK_INT(list->kind, GQL_VALUE_LIST);
    CHECK_INT(list->items->kind, GQL_VALUE_INT);
    CHECK(str_is(list->items->text, "1"));
    CHECK_INT(list->items->next->kind, GQL_VALUE_FLOAT);
    CHECK(str_is(list->items->next->text, "-2.5e3"));
    const gql_value *obj = list->items->next->next;
    CHECK_INT(obj->kind, GQL_VALUE_OBJECT);
    CHECK(str_is(obj->items->field_name, "x"));
    CHECK_INT(obj->items->kind, GQL_VALUE_ENUM);
    CHECK(str_is(obj->items->next->field_name, "y"));
    CHECK_INT(obj->items->next->kind, GQL_VALUE_NULL);
    /* columns count characters, not bytes */
    const gql_argument *b = doc.definitions->selections->args->next;
    CHECK_INT(b->loc.column, 41);
    CHECK_INT(parse("{ a(x: \"é\") b }"), 0);
    CHECK_INT(doc.definitions->selections->next->loc.column, 13);

    /* SDL */
    CHECK_INT(
        parse(
            "\"Desc\" type T implements A & B @d { \"f\" f(a: Int = 3): [T!]! @deprecated(reason: \"no\") }\n"
            "union U = | X | Y\nenum E { A @d B }\ndirective @r repeatable on FIELD | QUERY\n"
            "schema { query: Q mutation: M }\nextend type T @e"),
        0);
    const gql_definition *t = doc.definitions;
    CHECK_INT(t->kind, GQL_DEF_OBJECT);
    CHECK(str_is(t->description, "Desc"));
    CHECK(str_is(t->names->name, "A"));
    CHECK(str_is(t->names->next->name, "B"));
    CHECK(str_is(t->members->description, "f"));
    CHECK(str_is(t->members->args->name, "a"));
    CHECK(str_is(t->members->args->default_value->text, "3"));
    CHECK_INT(t->members->type->kind, GQL_TYPE_NON_NULL);
    CHECK_INT(t->members->type->of->kind, GQL_TYPE_LIST);
    CHECK(str_is(t->members->directives->name, "deprecated"));
    const gql_definition *u = t->next;
    CHECK_INT(u->kind, GQL_DEF_UNION);
    CHECK(str_is(u->names->name, "X"));
    CHECK(str_is(u->names->next->name, "Y"));
    CHECK_INT(u->next->kind, GQL_DEF_ENUM);
    CHECK(str_is(u->next->members->next->name, "B"));
    const gql_definition *d = u->next->next;
    CHECK_INT(d->kind, GQL_DEF_DIRECTIVE);
    CHECK(d->repeatable);
    CHECK(str_is(d->names->next->name, "QUERY"));
    const gql_definition *sc = d->next;
    CHECK_INT(sc->kind, GQL_DEF_SCHEMA);
    CHECK_INT(sc->names->next->operation, GQL_MUTATION);
    CHECK(str_is(sc->names->next->name, "M"));
    CHECK(sc->next->extension);
}

static void test_strings(void)
{
    size_t len = 0;
    CHECK_STR(string_value("\"plain\"", NULL), "plain");
    CHECK_STR(string_value("\"\"", NULL), "");
    CHECK_STR(string_value("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", NULL), "\" \\ / \b \f \n \r \t");
    CHECK_STR(string_value("\"\\u00e9\\u00E9\"", NULL), "éé");
    CHECK_STR(string_value("\"\\u{1F600}\"", NULL), "\xF0\x9F\x98\x80");
    CHECK_STR(string_value("\"\\uD83D\\uDE00\"", NULL), "\xF0\x9F\x98\x80");
    CHECK_STR(string_value("\"\\u{0000041}\"", NULL), "A");
    CHECK_STR(string_value("\"raw \xF0\x9F\x98\x80 ok\"", NULL), "raw \xF0\x9F\x98\x80 ok");
    CHECK_STR(string_value("\"tab\tin\"", &len), "tab\tin");
    /* refused */
    static const char *bad[] = {
        "\"\\uD83D\"",      "\"\\uDE00\"",    "\"\\uD83D\\u0041\"", "\"\\u{D800}\"",
        "\"\\u{110000}\"",  "\"\\u{}\"",      "\"\\u{12\"",         "\"\\u12\"",
        "\"\\x\"",          "\"unterminated", "\"new\nline\"",      "\"\\u0000\"",
        "\"\\u{0}\"",       "\"bad \xC3\"",   "\"bad \xC0\xAF\"",   "\"bad \xED\xA0\x80\"",
        "\"\"\"open block",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (string_value(bad[i], NULL))
            fprintf(stderr, "should not lex: %s\n", bad[i]);
        CHECK(string_value(bad[i], NULL) == NULL);
        CHECK(strncmp(last_error, "Syntax Error: ", 14) == 0);
    }
    /* a raw NUL byte */
    CHECK_INT(parse_with("{ f(a: \"x\0y\") }", 15, 100, 10), -EINVAL);
}

static void test_block_strings(void)
{
    /* the spec's example (§2.9.4) */
    CHECK_STR(string_value("\"\"\"\n    Hello,\n      World!\n\n    Yours,\n      GraphQL.\n  \"\"\"", NULL),
              "Hello,\n  World!\n\nYours,\n  GraphQL.");
    CHECK_STR(string_value("\"\"\"\"\"\"", NULL), "");
    CHECK_STR(string_value("\"\"\"  first line kept  \"\"\"", NULL), "  first line kept  ");
    CHECK_STR(string_value("\"\"\"\\\"\"\" quotes \\n not an escape\"\"\"", NULL),
              "\"\"\" quotes \\n not an escape");
    CHECK_STR(string_value("\"\"\"\r\n  a\r\n    b\r  c\n\n\"\"\"", NULL), "a\n  b\nc");
    CHECK_STR(string_value("\"\"\"\n\t\tx\n\t\t\ty\n\"\"\"", NULL), "x\n\ty");
    CHECK_STR(string_value("\"\"\"  \n  \n  a\n  \n  b  \n   \n\"\"\"", NULL), "a\n\nb  ");
    CHECK_STR(string_value("\"\"\"one \" two \"\" three\"\"\"", NULL), "one \" two \"\" three");
    /* lines count through block strings */
    CHECK_INT(parse("{ f(a: \"\"\"\n\n\n\"\"\") oops( }"), -EINVAL);
    CHECK_INT(last_loc.line, 4);
}

static void test_numbers_and_names(void)
{
    static const char *good[] = {"0", "-0", "123", "-123", "1.5", "-1.5e10", "1E+3", "1e-3", "0.0", "2.5E3"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char src[64];
        snprintf(src, sizeof(src), "{ f(a: %s) }", good[i]);
        CHECK_INT(parse(src), 0);
        CHECK(str_is(doc.definitions->selections->args->value->text, good[i]));
    }
    static const char *bad[] = {"01",    "1.", ".5",  "1e",   "1e+", "0x1", "1a",
                                "1.2.3", "-",  "- 1", "1.e3", "00",  "1_0", "1.5a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char src[64];
        snprintf(src, sizeof(src), "{ f(a: %s) }", bad[i]);
        if (parse(src) == 0)
            fprintf(stderr, "should not parse: %s\n", src);
        CHECK_INT(parse(src), -EINVAL);
    }
    CHECK_INT(parse("{ _under_score9 __typename }"), 0);
    CHECK_INT(parse("{ 9name }"), -EINVAL);
    CHECK_INT(parse("{ na-me }"), -EINVAL);
}

static void test_malformed(void)
{
    static const struct {
        const char *src;
        unsigned line, column;
    } bad[] = {
        {"", 1, 1},
        {"   # only a comment", 1, 20},
        {"{", 1, 2},
        {"{ a", 1, 4},
        {"{}", 1, 2},
        {"query {}", 1, 8},
        {"query Q", 1, 8},
        {"{ a } }", 1, 7},
        {"{ a(b:) }", 1, 7},
        {"{ a(:1) }", 1, 5},
        {"{ a() }", 1, 5},
        {"{ a(b: 1 }", 1, 10},
        {"{ ...on }", 1, 9},
        {"{ ... on { a } }", 1, 10},
        {"fragment on on X { a }", 1, 10},
        {"fragment F X { a }", 1, 12},
        {"fragment F on X", 1, 16},
        {"query ($a) { a }", 1, 10},
        {"query ($a: Int = $b) { a }", 1, 18},
        {"query ($a: Int @d(x: $y)) { a }", 1, 22},
        {"query () { a }", 1, 8},
        {"query ($a Int) { a }", 1, 11},
        {"{ a @ }", 1, 7},
        {"{ a: }", 1, 6},
        {"{ a(b: [1,) }", 1, 11},
        {"{ a(b: {c}) }", 1, 10},
        {"{ a(b: $) }", 1, 9},
        {"\"desc\" query { a }", 1, 8},
        {"\"desc\" extend type T @d", 1, 8},
        {"\"desc\" { a }", 1, 8},
        {"type T { f(): Int }", 1, 12},
        {"type T { f: }", 1, 13},
        {"type T {}", 1, 9},
        {"type T implements { f: Int }", 1, 19},
        {"type T { f(a: Int = $v): Int }", 1, 21},
        {"type T @d(a: $v) { f: Int }", 1, 14},
        {"extend type T", 1, 14},
        {"extend scalar S", 1, 16},
        {"extend directive @d on FIELD", 1, 8},
        {"union U = ", 1, 11},
        {"union U = A |", 1, 14},
        {"enum E { true }", 1, 10},
        {"enum E { null }", 1, 10},
        {"directive @d on FOO", 1, 17},
        {"directive d on FIELD", 1, 11},
        {"directive @d", 1, 13},
        {"schema { }", 1, 10},
        {"schema { query Q }", 1, 16},
        {"schema { other: Q }", 1, 10},
        {"notakeyword { a }", 1, 1},
        {"{ a }\n\n  ?", 3, 3},
        {"{ a ... }", 1, 9},
        {"{ a \"str\" }", 1, 5},
        {"{ a(b: 1) (c: 2) }", 1, 11},
        {"query Q @ { a }", 1, 11},
        {"{ a \xE2\x80\xA8 }", 1, 5},
        {"{ a \x01 }", 1, 5},
        {"{ .. }", 1, 3},
        {"{ a\xFF }", 1, 4},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = parse(bad[i].src);
        if (r != -EINVAL || last_loc.line != bad[i].line || last_loc.column != bad[i].column)
            fprintf(stderr, "malformed %zu: %s -> %d %u:%u %s\n", i, bad[i].src, r, last_loc.line,
                    last_loc.column, last_error);
        CHECK_INT(r, -EINVAL);
        CHECK_INT(last_loc.line, bad[i].line);
        CHECK_INT(last_loc.column, bad[i].column);
        CHECK(strncmp(last_error, "Syntax Error: ", 14) == 0);
        CHECK_INT(json_array_size(errors), 1);
    }
    parse("{ a(b: 1 }");
    CHECK_STR(last_error, "Syntax Error: Expected Name, found \"}\".");
    parse("{ a }}");
    CHECK_STR(last_error, "Syntax Error: Expected a definition, found \"}\".");
    parse("query Q($x: Int) { a(b: $x }");
    CHECK_STR(last_error, "Syntax Error: Expected Name, found \"}\".");
    parse("{ a(b: 09) }");
    CHECK_STR(last_error, "Syntax Error: Invalid number, unexpected digit after 0.");
}

static void test_limits(void)
{
    /* tokens */
    CHECK_INT(parse_with("{ a b c d }", 11, 6, 10), 0);
    CHECK_INT(parse_with("{ a b c d e }", 13, 6, 10), -EINVAL);
    CHECK_STR(last_error, "Syntax Error: Document exceeds the limit of 6 tokens.");
    CHECK_INT(last_loc.column, 13);
    /* nesting of selections, lists, objects, types: an error, never deep recursion */
    size_t n = 200000;
    char *deep = malloc(3 * n + 16);
    if (!deep)
        abort();
    for (int kind = 0; kind < 4; kind++) {
        const char *open = kind == 0 ? "{a" : kind == 1 ? "[" : kind == 2 ? "{a:" : "[";
        size_t p = 0;
        if (kind == 1 || kind == 2)
            p += (size_t)sprintf(deep, "{f(a:");
        if (kind == 3)
            p += (size_t)sprintf(deep, "query($v:");
        for (size_t i = 0; i < n; i++) {
            memcpy(deep + p, open, strlen(open));
            p += strlen(open);
        }
        CHECK_INT(parse_with(deep, p, SIZE_MAX, 64), -EINVAL);
        CHECK(strstr(last_error, "nesting limit of 64") != NULL);
    }
    free(deep);
    CHECK_INT(parse_with("{a{a{a{a}}}}", 12, 100, 4), 0);
    CHECK_INT(parse_with("{a{a{a{a{a}}}}}", 15, 100, 4), -EINVAL);
    CHECK_INT(parse_with("{f(a:[[[1]]])}", 14, 100, 4), 0);
    CHECK_INT(parse_with("{f(a:[[[[1]]]])}", 16, 100, 4), -EINVAL);
    CHECK_INT(parse_with("query($v:[[[[Int]]]]){a}", 24, 100, 4), 0);
    CHECK_INT(parse_with("query($v:[[[[[Int]]]]]){a}", 26, 100, 4), -EINVAL);
    /* a document that ends inside a token */
    CHECK_INT(parse_with("{ abc }", 4, 100, 4), -EINVAL);
}

int main(void)
{
    test_spec_examples();
    test_tree();
    test_strings();
    test_block_strings();
    test_numbers_and_names();
    test_malformed();
    test_limits();
    gql_arena_free(&arena);
    json_decref(errors);
    return check_report("test_graphql_parse");
}
