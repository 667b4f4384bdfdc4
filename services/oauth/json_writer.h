/* A flat JSON object written straight into a string, for answers whose fields are few and known
 * (introspection's): no tree to build and walk. Strings are escaped exactly as jansson's
 * json_dumps(JSON_COMPACT) escapes them, so an answer is byte for byte what jansson would give:
 * '"' and '\\' and the controls below U+0020 escaped (\b \f \n \r \t, else \u00XX), UTF-8 kept.
 * Values must be valid UTF-8 (storage.h guarantees it for stored text). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory: json_writer_end() returns NULL */
};

/* Starts an object: "{". */
void json_writer_begin(struct json_writer *w);
void json_writer_string(struct json_writer *w, const char *key, const char *value);
void json_writer_int(struct json_writer *w, const char *key, int64_t value);
void json_writer_bool(struct json_writer *w, const char *key, bool value);
/* Ends the object; the malloc'd text (free()), or NULL when memory ran out. */
char *json_writer_end(struct json_writer *w);
