/* The asset index: every servable file under each configured assets `path`, found by one walk of
 * the tree at start-up (and on reload), its content mapped read-only from the file, so that a
 * request costs a lookup and no system call. Assets are immutable between deploys; a deploy
 * replaces files (new inodes) and then reloads, which builds a new index and swaps it in. */
#pragma once
#include "asset_http.h"
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ASSET_FILE_MAX  (64u << 20) /* larger files are skipped, with a warning */
#define ASSET_FILES_MAX 10000       /* more files than this under one path: refuse (wrong path?) */
#define ASSET_DEPTH_MAX 32          /* directory nesting */
#define ASSET_ETAG_LEN  40

/* One file's bytes and validators, as sent. */
struct asset_variant {
    const uint8_t *data; /* read-only mapping of the file */
    size_t size;
    int64_t mtime;
    char etag[ASSET_ETAG_LEN];             /* "\"<mtime hex>-<size hex>\"" */
    char last_modified[HTTP_DATE_LEN + 1]; /* IMF-fixdate of mtime */
};

struct asset_file {
    char *key; /* "dir/app.js": the path below /assets/, decoded */
    size_t key_len;
    const char *content_type;
    struct asset_variant body;      /* the file itself */
    const struct asset_variant *gz; /* its "<key>.gz" sibling, or NULL */
    const struct asset_variant *br; /* its "<key>.br" sibling, or NULL */
};

/* The files under one configured path, sorted by key. */
struct asset_tree {
    char *path; /* as configured: requests find their tree by req->resource->path */
    char *real; /* its realpath(): nothing outside it is indexed */
    struct asset_file *files;
    size_t n_files;
};

struct asset_index {
    atomic_uint refs;
    struct asset_tree *trees;
    size_t n_trees;
};

/* Walks each of the n paths (duplicates are indexed once) and maps their files. Returns 0 with
 * *out holding one reference, or a negative errno when a path cannot be indexed at all (missing,
 * not a directory, unreadable, too many files); problems with single files are logged and the
 * file skipped. */
int asset_index_build(const char *const *paths, size_t n, struct asset_index **out);

void asset_index_ref(struct asset_index *idx);
/* Drops a reference; the last one unmaps everything. Safe from any thread. */
void asset_index_unref(struct asset_index *idx);

const struct asset_tree *asset_index_tree(const struct asset_index *idx, const char *path);
const struct asset_file *asset_tree_find(const struct asset_tree *t, const char *key, size_t len);

/* The index currently served, swapped by reload while event-loop threads keep serving. A reader
 * takes a reference (held until its response is freed); publishing swaps the pointer and drops
 * the old index's published reference once no reader can still be about to take one. */
struct asset_slot {
    _Atomic(struct asset_index *) current;
    atomic_uint acquiring; /* readers between loading `current` and taking their reference */
};

/* Returns the current index with a reference taken, or NULL before the first publish. */
struct asset_index *asset_slot_acquire(struct asset_slot *slot);
/* Makes idx current, taking over the caller's reference; releases the previous one. */
void asset_slot_publish(struct asset_slot *slot, struct asset_index *idx);
