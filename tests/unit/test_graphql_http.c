/* GraphQL over HTTP (common/graphql/http.c): Accept, the parameters of GET and POST requests,
 * and the status of every answer, as the GraphQL-over-HTTP specification says. */
#include "check.h"
#include "graphql_account.h"
#include "graphql_http.h"
#include <errno.h>

static int accept1(const char *value)
{
    masd_str v = masd_str_from(value);
    return gql_http_accept(&v, 1);
}

static void test_accept(void)
{
    CHECK_INT(gql_http_accept(NULL, 0), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/json"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/graphql-response+json"), GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(accept1("*/*"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/*"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/graphql-response+json, application/json;q=0.9"),
              GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(accept1("application/json, application/graphql-response+json"), GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(accept1("application/graphql-response+json;q=0.5, application/json"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/json;q=0.5, */*"), GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(accept1("application/json;q=0, */*"), GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(accept1("*/*;q=0.8, application/json"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("APPLICATION/JSON"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/json; charset=utf-8"), GQL_MEDIA_JSON);
    CHECK_INT(accept1(" application/graphql-response+json ; q=1.000 "), GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(accept1("text/html"), -1);
    CHECK_INT(accept1("application/json;q=0"), -1);
    CHECK_INT(accept1("application/json;q=2"), -1); /* malformed: not acceptable */
    CHECK_INT(accept1("application/json;q=0.1234"), -1);
    CHECK_INT(accept1("application/json;q=0.001"), GQL_MEDIA_JSON);
    CHECK_INT(accept1("application/json, application/json;q=0"), -1); /* twice: the more cautious */
    CHECK_INT(accept1(""), -1);
    CHECK_INT(accept1(",,"), -1);
    CHECK_INT(accept1("json"), -1);
    CHECK_INT(accept1("application/"), -1);
    CHECK_INT(accept1("*/json"), -1);
    masd_str two[] = {MASD_STR("text/html"), MASD_STR("application/graphql-response+json")};
    CHECK_INT(gql_http_accept(two, 2), GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_STR(gql_http_content_type(GQL_MEDIA_JSON), "application/json; charset=utf-8");
    CHECK_STR(gql_http_content_type(GQL_MEDIA_GRAPHQL_RESPONSE),
              "application/graphql-response+json; charset=utf-8");
}

static gql_http_params params;
static const char *why;

static int post(const char *content_type, const char *body)
{
    gql_http_in in = {MASD_STR("POST"), {NULL, 0}, masd_str_from(content_type), NULL, 0, masd_str_from(body)};
    return gql_http_params_parse(&in, &params, &why);
}

static int get(const char *query_string)
{
    gql_http_in in = {MASD_STR("GET"), masd_str_from(query_string), {NULL, 0}, NULL, 0, {NULL, 0}};
    return gql_http_params_parse(&in, &params, &why);
}

static void test_post(void)
{
    CHECK_INT(post("application/json",
                   "{\"query\": \"{ a }\", \"operationName\": \"Q\", \"variables\": {\"v\": 1}, "
                   "\"extensions\": {\"e\": true}, \"other\": 1}"),
              0);
    CHECK_STR(params.query, "{ a }");
    CHECK_INT(params.query_len, 5);
    CHECK_STR(params.operation_name, "Q");
    CHECK_INT(json_integer_value(json_object_get(params.variables, "v")), 1);
    CHECK(json_is_true(json_object_get(params.extensions, "e")));
    CHECK(!params.get);
    gql_http_params_free(&params);
    CHECK_INT(post("application/json; charset=UTF-8",
                   "{\"query\": \"{ a }\", \"operationName\": null, \"variables\": null, "
                   "\"extensions\": null}"),
              0);
    CHECK(params.operation_name == NULL && params.variables == NULL && params.extensions == NULL);
    gql_http_params_free(&params);
    CHECK_INT(post("Application/JSON;charset=\"utf-8\"", "{\"query\": \"\"}"), 0);
    gql_http_params_free(&params);
    /* refused */
    CHECK_INT(post("", "{\"query\": \"{ a }\"}"), 415);
    CHECK_INT(post("text/plain", "{\"query\": \"{ a }\"}"), 415);
    CHECK_INT(post("application/graphql", "{ a }"), 415);
    CHECK_INT(post("application/json; charset=latin1", "{\"query\": \"{ a }\"}"), 415);
    CHECK_INT(post("application/jsonx", "{\"query\": \"{ a }\"}"), 415);
    CHECK_INT(post("application/json", ""), 400);
    CHECK_STR(why, "The request has no body.");
    CHECK_INT(post("application/json", "{ \"not a JSON"), 400);
    CHECK_STR(why, "The body is not a JSON object.");
    CHECK_INT(post("application/json", "[{\"query\": \"{ a }\"}]"), 400);
    CHECK_INT(post("application/json", "{\"notquery\": \"{ a }\"}"), 400);
    CHECK_STR(why, "The body's \"query\" is not a string.");
    static const char *bad_query[] = {"{}", "0", "false", "[\"a\"]", "null"};
    for (size_t i = 0; i < sizeof(bad_query) / sizeof(bad_query[0]); i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"query\": %s}", bad_query[i]);
        CHECK_INT(post("application/json", body), 400);
        snprintf(body, sizeof(body), "{\"query\": \"{ a }\", \"operationName\": %s}", bad_query[i]);
        CHECK_INT(post("application/json", body), i == 4 ? 0 : 400);
        gql_http_params_free(&params);
        snprintf(body, sizeof(body), "{\"query\": \"{ a }\", \"variables\": %s}", i ? bad_query[i] : "\"s\"");
        CHECK_INT(post("application/json", body), i == 4 ? 0 : 400);
        gql_http_params_free(&params);
        snprintf(body, sizeof(body), "{\"query\": \"{ a }\", \"extensions\": %s}",
                 i ? bad_query[i] : "\"s\"");
        CHECK_INT(post("application/json", body), i == 4 ? 0 : 400);
        gql_http_params_free(&params);
    }
    CHECK_INT(post("application/json", "{\"query\": \"{ a }\", \"query\": \"{ b }\"}"), 400);
    CHECK_INT(post("application/json", "{\"query\": \"{ a(x: \\\"\\u0000\\\") }\"}"), 400);
    CHECK_INT(post("application/json", "{\"query\": \"{ a }\"} trailing"), 400);
}

static void test_get(void)
{
    CHECK_INT(get("query=%7B%20a%20%7D&operationName=Q&variables=%7B%22v%22%3A1%7D&extensions=%7B%7D&x=1"),
              0);
    CHECK_STR(params.query, "{ a }");
    CHECK_STR(params.operation_name, "Q");
    CHECK_INT(json_integer_value(json_object_get(params.variables, "v")), 1);
    CHECK(json_is_object(params.extensions));
    CHECK(params.get);
    gql_http_params_free(&params);
    CHECK_INT(get("query={+a+}"), 0);
    CHECK_STR(params.query, "{ a }");
    gql_http_params_free(&params);
    CHECK_INT(get(""), 400);
    CHECK_STR(why, "The URL has no \"query\" parameter.");
    CHECK_INT(get("operationName=Q"), 400);
    CHECK_INT(get("query=a&query=b"), 400);
    CHECK_STR(why, "A parameter is given more than once.");
    CHECK_INT(get("query=%zz"), 400);
    CHECK_INT(get("query=%00"), 400);
    CHECK_INT(get("query=a&variables=nope"), 400);
    CHECK_INT(get("query=a&variables=%5B1%5D"), 400);
    CHECK_INT(get("query=a&extensions=1"), 400);
    gql_http_in put = {MASD_STR("PUT"), {NULL, 0}, {NULL, 0}, NULL, 0, {NULL, 0}};
    CHECK_INT(gql_http_params_parse(&put, &params, &why), 405);
}

static gql_schema *schema;
static gql_http_answer answer;

static int handle(const char *method, const char *query_string, const char *content_type, const char *accept,
                  const char *body)
{
    masd_str a = masd_str_from(accept);
    gql_http_in in = {masd_str_from(method), masd_str_from(query_string), masd_str_from(content_type), &a,
                      accept ? 1 : 0,        masd_str_from(body)};
    gql_http_answer_free(&answer);
    return gql_http_handle(schema, NULL, &in, &answer);
}

static const char *message(void)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(answer.body, "errors"), 0), "message"));
}

static void test_answers(void)
{
    const char *gr = "application/graphql-response+json", *js = "application/json";
    /* executed */
    CHECK_INT(handle("POST", NULL, js, gr, "{\"query\": \"{ __typename }\"}"), 0);
    CHECK_INT(answer.status, 200);
    CHECK_INT(answer.media, GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK(answer.prepared && !answer.body);
    CHECK_INT(answer.operation, GQL_QUERY);
    account_data data = {0};
    json_t *response = gql_run(answer.prepared, &data);
    CHECK_STR(json_string_value(json_object_get(json_object_get(response, "data"), "__typename")), "Query");
    json_decref(response);
    CHECK_INT(handle("GET", "query=%7B__typename%7D", NULL, NULL, NULL), 0);
    CHECK_INT(answer.status, 200);
    CHECK_INT(answer.media, GQL_MEDIA_JSON);
    CHECK(answer.prepared != NULL);
    CHECK_INT(handle("POST", NULL, js, NULL,
                     "{\"query\": \"mutation { endSession(input: {sessionId: \\\"x\\\"}) { status } }\"}"),
              0);
    CHECK_INT(answer.status, 200);
    CHECK_INT(answer.operation, GQL_MUTATION);
    /* request errors of GraphQL: 400 or 200 by media type, never "data" */
    static const char *bodies[] = {
        "{\"query\": \"{\"}",                                           /* syntax */
        "{\"query\": \"{ nope }\"}",                                    /* validation */
        "{\"query\": \"query ($id: ID!) { node(id: $id) { id } }\"}",   /* variables */
        "{\"query\": \"{ __typename }\", \"operationName\": \"Nope\"}", /* operation */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        CHECK_INT(handle("POST", NULL, js, gr, bodies[i]), 0);
        CHECK_INT(answer.status, 400);
        CHECK(answer.body && json_object_get(answer.body, "errors") && !json_object_get(answer.body, "data"));
        CHECK(!answer.prepared);
        CHECK_INT(handle("POST", NULL, js, js, bodies[i]), 0);
        CHECK_INT(answer.status, 200);
        CHECK_INT(answer.media, GQL_MEDIA_JSON);
        CHECK(answer.body && !json_object_get(answer.body, "data"));
    }
    /* HTTP errors */
    CHECK_INT(handle("GET", "query=mutation%7BendSession(input%3A%7BsessionId%3A%22x%22%7D)%7Bstatus%7D%7D",
                     NULL, gr, NULL),
              0);
    CHECK_INT(answer.status, 405);
    CHECK_STR(answer.allow, "POST");
    CHECK_STR(message(), "Mutations are not allowed over GET.");
    CHECK_INT(handle("GET", "query=mutation%20M%20%7B%20x%20%7D", NULL, js, NULL),
              0); /* invalid, but refused first */
    CHECK_INT(answer.status, 405);
    CHECK_INT(handle("DELETE", NULL, NULL, NULL, NULL), 0);
    CHECK_INT(answer.status, 405);
    CHECK_STR(answer.allow, "GET, POST");
    CHECK_INT(handle("POST", NULL, js, "text/html", "{\"query\": \"{ __typename }\"}"), 0);
    CHECK_INT(answer.status, 406);
    CHECK_INT(answer.media, GQL_MEDIA_JSON);
    CHECK_INT(handle("POST", NULL, NULL, gr, "{\"query\": \"{ __typename }\"}"), 0);
    CHECK_INT(answer.status, 415);
    CHECK_INT(answer.media, GQL_MEDIA_GRAPHQL_RESPONSE);
    CHECK_INT(handle("POST", NULL, js, gr, "{ \"not a JSON"), 0);
    CHECK_INT(answer.status, 400);
    CHECK_INT(handle("POST", NULL, js, js, "{ \"not a JSON"), 0);
    CHECK_INT(answer.status, 400);
    CHECK_STR(message(), "The body is not a JSON object.");
    CHECK_INT(handle("GET", "", NULL, NULL, NULL), 0);
    CHECK_INT(answer.status, 400);
    gql_http_answer_free(&answer);
}

int main(void)
{
    test_accept();
    test_post();
    test_get();
    schema = account_schema();
    test_answers();
    gql_schema_free(schema);
    return check_report("test_graphql_http");
}
