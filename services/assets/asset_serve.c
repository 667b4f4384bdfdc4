/* The /assets/ handler: reads the request through the server API, asks the pure pieces
 * (asset_path, asset_index, asset_http, accept_encoding) what to send, and sends it. The body is
 * a slice of the index's mapping, so the request holds a reference to the index until the
 * server frees it. */
#include "asset_serve.h"
#include "accept_encoding.h"
#include "asset_http.h"
#include "asset_index.h"
#include "asset_path.h"
#include "log.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEFAULT_PATH "./frontend/dist/" /* MAS's default for the assets resource's `path` */

static struct asset_slot slot;

static const char cache_found[] = "public, max-age=31536000, immutable";
static const char cache_not_found[] = "public, max-age=300";
static const char not_found_page[] = "<!DOCTYPE html>\n"
                                     "<html><head><title>Not Found</title></head>\n"
                                     "<body><h1>Not Found</h1></body></html>\n";

static const char *resource_path(const struct config_resource *res)
{
    return res && res->path ? res->path : DEFAULT_PATH;
}

int asset_serve_load(const struct config *cfg)
{
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        cap += cfg->listeners[i].n_resources;
    const char **paths = calloc(cap ? cap : 1, sizeof(*paths));
    if (!paths)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        for (size_t j = 0; j < cfg->listeners[i].n_resources; j++)
            if (strcmp(cfg->listeners[i].resources[j].name, "assets") == 0)
                paths[n++] = resource_path(&cfg->listeners[i].resources[j]);

    struct asset_index *idx;
    int r = asset_index_build(paths, n, &idx);
    free(paths);
    if (r < 0)
        return r;
    asset_slot_publish(&slot, idx);
    return 0;
}

static void index_release(void *idx)
{
    asset_index_unref(idx);
}

/* Our own 404, not the server's: it must carry the short Cache-Control MAS gives a miss. */
static void respond_not_found(struct masd_request *req)
{
    masd_add_header(req, "cache-control", MASD_STR(cache_not_found));
    masd_respond(req, 404, "text/html; charset=utf-8", MASD_STR(not_found_page));
}

static void field_read(const struct masd_request *req, const char *name, struct asset_field *f)
{
    int cursor = -1;
    masd_str v;
    f->n = 0;
    while ((v = masd_req_header(req, name, &cursor)).ptr != NULL) {
        if (f->n < ASSET_FIELD_LINES)
            f->line[f->n] = v;
        f->n++;
    }
}

/* The variant to send. A client that accepts nothing we have still gets identity: RFC 9110
 * §12.5.3 allows disregarding Accept-Encoding rather than answering 406, and a usable response
 * beats an error for a script or stylesheet. */
static const struct asset_variant *variant_choose(const struct masd_request *req, const struct asset_file *f,
                                                  unsigned *encoding)
{
    unsigned available = ENCODING_IDENTITY | (f->gz ? ENCODING_GZIP : 0) | (f->br ? ENCODING_BR : 0);
    *encoding = ENCODING_IDENTITY;
    if (available == ENCODING_IDENTITY)
        return &f->body;

    struct asset_field ae;
    field_read(req, "accept-encoding", &ae);
    unsigned chosen =
        accept_encoding_choose(ae.line, ae.n < ASSET_FIELD_LINES ? ae.n : ASSET_FIELD_LINES, available);
    if (chosen == ENCODING_GZIP || chosen == ENCODING_BR)
        *encoding = chosen;
    return *encoding == ENCODING_GZIP ? f->gz : *encoding == ENCODING_BR ? f->br : &f->body;
}

static void request_read(const struct masd_request *req, struct asset_request *rq)
{
    rq->get = masd_str_eq(req->method, MASD_STR("GET"));
    rq->now = (int64_t)time(NULL);
    field_read(req, "if-match", &rq->if_match);
    field_read(req, "if-none-match", &rq->if_none_match);
    field_read(req, "if-modified-since", &rq->if_modified_since);
    field_read(req, "if-unmodified-since", &rq->if_unmodified_since);
    field_read(req, "range", &rq->range);
    field_read(req, "if-range", &rq->if_range);
}

static void respond_file(struct masd_request *req, const struct asset_file *f, const struct asset_variant *v,
                         unsigned encoding, const struct asset_outcome *o)
{
    char range[80];

    /* Every answer about a file with variants depends on Accept-Encoding, errors and 304 too;
     * a file without variants is the same for everyone and says so by not varying. */
    if (f->gz || f->br)
        masd_add_header(req, "vary", MASD_STR("Accept-Encoding"));
    if (o->status == 412) {
        masd_respond_text(req, 412, "Precondition Failed");
        return;
    }
    if (o->status == 416) {
        snprintf(range, sizeof(range), "bytes */%zu", v->size);
        masd_add_header(req, "content-range", masd_str_from(range));
        masd_respond_text(req, 416, "Range Not Satisfiable");
        return;
    }
    masd_add_header(req, "etag", masd_str_from(v->etag));
    masd_add_header(req, "last-modified", masd_str_from(v->last_modified));
    masd_add_header(req, "cache-control", MASD_STR(cache_found));
    if (o->status == 304) {
        masd_respond(req, 304, NULL, (masd_str){"", 0});
        return;
    }
    masd_add_header(req, "accept-ranges", MASD_STR("bytes"));
    masd_add_header(req, "x-content-type-options", MASD_STR("nosniff"));
    if (encoding != ENCODING_IDENTITY)
        masd_add_header(req, "content-encoding", encoding == ENCODING_BR ? MASD_STR("br") : MASD_STR("gzip"));
    masd_str body = {(const char *)v->data, v->size};
    if (o->status == 206) {
        snprintf(range, sizeof(range), "bytes %" PRIu64 "-%" PRIu64 "/%zu", o->first, o->last, v->size);
        masd_add_header(req, "content-range", masd_str_from(range));
        body = (masd_str){body.ptr + o->first, (size_t)(o->last - o->first + 1)};
    }
    masd_respond(req, o->status, f->content_type, body);
}

void asset_serve(struct masd_request *req)
{
    bool get = masd_str_eq(req->method, MASD_STR("GET"));
    if (!get && !masd_str_eq(req->method, MASD_STR("HEAD"))) {
        masd_add_header(req, "allow", MASD_STR("GET, HEAD"));
        masd_respond_text(req, 405, "Method Not Allowed");
        return;
    }
    struct asset_index *idx = asset_slot_acquire(&slot);
    if (!idx) {
        respond_not_found(req);
        return;
    }
    /* The body is a slice of the index's mappings: keep them until the response is gone. */
    masd_req_on_dispose(req, index_release, idx);

    const struct asset_tree *tree = asset_index_tree(idx, resource_path(req->resource));
    const size_t plen = sizeof(ASSETS_ROUTE) - 1;
    char key[ASSET_KEY_MAX + 1];
    int len = -ENOENT;
    if (tree && req->path.len >= plen && memcmp(req->path.ptr, ASSETS_ROUTE, plen) == 0)
        len = asset_path_key((masd_str){req->path.ptr + plen, req->path.len - plen}, key);
    const struct asset_file *f = len >= 0 ? asset_tree_find(tree, key, (size_t)len) : NULL;
    if (!f) {
        respond_not_found(req);
        return;
    }

    unsigned encoding;
    const struct asset_variant *v = variant_choose(req, f, &encoding);
    struct asset_request rq;
    struct asset_outcome o;
    request_read(req, &rq);
    asset_decide(&rq, &(struct asset_validators){masd_str_from(v->etag), v->mtime, v->size}, &o);
    respond_file(req, f, v, encoding, &o);
}
