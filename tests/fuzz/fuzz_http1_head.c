/* Fuzzes http1_head_check() over arbitrary bytes: it never reads outside them, and an accepted
 * head has the properties the check promises (CRLF line ends only, one Content-Length at most,
 * no Transfer-Encoding), verified here by a second, naive reading of the same bytes. */
#include "fuzz_input.h"
#include "http1_head.h"

#include <stdint.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy((masd_str){(const char *)data, size});
    size_t head = SIZE_MAX;
    enum http1_head_verdict v = http1_head_check(buf, size, &head);
    fuzz_require(v == HTTP1_HEAD_OK || v == HTTP1_HEAD_BAD || v == HTTP1_HEAD_LENGTH_REQUIRED);
    if (v == HTTP1_HEAD_OK) {
        fuzz_require(head >= 4 && head <= size && memcmp(buf + head - 4, "\r\n\r\n", 4) == 0);
        size_t lengths = 0, start = 0;
        while (start + 1 < head && buf[start] == '\r' && buf[start + 1] == '\n')
            start += 2;
        const char *request_line_end = memchr(buf + start, '\n', head - start);
        fuzz_require(request_line_end != NULL);
        size_t headers = (size_t)(request_line_end - buf) + 1; /* the header lines start here */
        for (size_t i = start; i < head; i++) {
            if (buf[i] == '\n')
                fuzz_require(i > 0 && buf[i - 1] == '\r');
            if (buf[i] == '\r')
                fuzz_require(i + 1 < head && buf[i + 1] == '\n');
            bool line_start = i >= headers && buf[i - 1] == '\n';
            if (line_start && head - i >= 15 && strncasecmp(buf + i, "content-length:", 15) == 0)
                lengths++;
            if (line_start && head - i >= 18)
                fuzz_require(strncasecmp(buf + i, "transfer-encoding:", 18) != 0);
            if (line_start)
                fuzz_require(buf[i] != ' ' && buf[i] != '\t');
        }
        fuzz_require(lengths <= 1);
    }
    free(buf);
    return 0;
}
