/* Strict HTTP/1 framing: the heads h2o 2.2.5 accepts but a proxy in front may frame another way
 * are refused; ordinary heads pass. */
#include "check.h"
#include "http1_head.h"

struct row {
    const char *what;
    const char *head;
    enum http1_head_verdict want;
};

#define OK  HTTP1_HEAD_OK
#define BAD HTTP1_HEAD_BAD
#define LR  HTTP1_HEAD_LENGTH_REQUIRED

static const struct row rows[] = {
    {"GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", OK},
    {"HTTP/1.0, no headers", "GET / HTTP/1.0\r\n\r\n", OK},
    {"POST with one Content-Length", "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", OK},
    {"body and a pipelined request follow",
     "POST /t HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\n\n", OK},
    {"leading empty lines are skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", OK},
    {"token characters in names", "GET / HTTP/1.1\r\nX-A!#$%&'*+.^_`|~9: v\r\n\r\n", OK},
    {"empty value", "GET / HTTP/1.1\r\nX-Empty:\r\n\r\n", OK},
    {"any case of Content-Length", "POST / HTTP/1.1\r\ncOnTeNt-LeNgTh: 0\r\n\r\n", OK},
    {"Content-Length-ish names are other headers",
     "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Lengths: 2\r\nX-Content-Length: 3\r\n\r\nx", OK},

    /* duplicate Content-Length: h2o takes the first */
    {"two Content-Length", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc", BAD},
    {"two equal Content-Length", "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", BAD},
    /* Transfer-Encoding: h2o lets it win; its chunk decoder reads "0x1" as size 0 */
    {"Transfer-Encoding with Content-Length",
     "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", BAD},
    {"Content-Length after Transfer-Encoding",
     "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", BAD},
    {"chunked alone", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", LR},
    {"chunk size 0x1", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\nA\r\n0\r\n\r\n", LR},
    {"Transfer-Encoding: identity", "POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n", LR},
    /* line ends */
    {"bare LF after the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", BAD},
    {"bare LF after a header", "GET / HTTP/1.1\r\nHost: x\n\r\n", BAD},
    {"bare LF ends the head", "GET / HTTP/1.1\r\nHost: x\r\n\n", BAD},
    {"LF only", "GET / HTTP/1.1\nHost: x\n\n", BAD},
    {"bare LF before the request line", "\nGET / HTTP/1.1\r\n\r\n", BAD},
    {"CR inside a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", BAD},
    {"CR CR LF", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", BAD},
    /* header lines */
    {"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", BAD},
    {"obs-fold with a tab", "GET / HTTP/1.1\r\nX: a\r\n\tContent-Length: 5\r\n\r\n", BAD},
    {"space before the colon", "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nabcde", BAD},
    {"space in a name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", BAD},
    {"no colon", "GET / HTTP/1.1\r\nnocolon\r\n\r\n", BAD},
    {"empty name", "GET / HTTP/1.1\r\n: v\r\n\r\n", BAD},
    {"non-ASCII name", "GET / HTTP/1.1\r\nX\xc3\xa9: v\r\n\r\n", BAD},
    /* incomplete */
    {"no end of head", "GET / HTTP/1.1\r\nHost: x\r\n", BAD},
    {"nothing", "", BAD},
    {"empty lines only", "\r\n\r\n", BAD},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum http1_head_verdict got = http1_head_check(rows[i].head, strlen(rows[i].head), NULL);
        if (got != rows[i].want)
            fprintf(stderr, "row %zu \"%s\": got %d, want %d\n", i, rows[i].what, got, rows[i].want);
        CHECK_INT(got, rows[i].want);
    }
}

static void test_head_len(void)
{
    static const char req[] = "\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    size_t n = 0;
    CHECK_INT(http1_head_check(req, sizeof(req) - 1, &n), OK);
    CHECK_INT(n, sizeof(req) - 1 - 3);
    /* the head ends exactly at the end of the buffer */
    CHECK_INT(http1_head_check(req, sizeof(req) - 1 - 3, &n), OK);
    /* one byte short of it */
    CHECK_INT(http1_head_check(req, sizeof(req) - 1 - 4, NULL), BAD);
}

int main(void)
{
    test_table();
    test_head_len();
    return check_report("test_http1_head");
}
