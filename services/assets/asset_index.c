/* Building, sharing and freeing the asset index.
 *
 * What is indexed, and why:
 * - regular files only; a directory is never a resource (no listings, no index.html);
 * - names a request can reach (asset_path_segment_ok): dotfiles and dot-directories (.git,
 *   .well-known, editor leftovers) are skipped, as are names with '%', '\', control bytes or
 *   bytes that are not UTF-8;
 * - a symlink only when its realpath() lies inside the realpath() of `path` and is itself a
 *   reachable name there; symlinked directories likewise, with loops cut;
 * - files up to ASSET_FILE_MAX; bigger ones are logged and skipped (assets are small; a huge
 *   file under `path` is a mistake, not something to map).
 * Content is mapped read-only (MAP_PRIVATE, never written), so it is page cache, not heap. The
 * mapping is why deploys must replace files (write elsewhere, rename) rather than rewrite them in
 * place: truncating a mapped file would fault the readers with SIGBUS. */
#include "asset_index.h"
#include "asset_path.h"
#include "log.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
static inline void freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_free_  __attribute__((cleanup(freep)))

static const uint8_t empty_file[1]; /* what an empty file's body points at: never NULL */

struct walker {
    const char *root; /* realpath of the tree */
    size_t root_len;
    struct asset_file *files;
    size_t n_files, cap;
    char rel[ASSET_KEY_MAX + 1]; /* the current entry, relative to root: the future key */
    size_t rel_len;
    struct {
        dev_t dev;
        ino_t ino;
    } dirs[ASSET_DEPTH_MAX + 1]; /* the directories being walked, to cut symlink loops */
    unsigned depth;
};

static int walk_dir(struct walker *w, int dirfd);

static void variant_init(struct asset_variant *v, const uint8_t *data, size_t size, int64_t mtime)
{
    v->data = data;
    v->size = size;
    v->mtime = mtime;
    snprintf(v->etag, sizeof(v->etag), "\"%" PRIx64 "-%zx\"", (uint64_t)mtime, size);
    http_date_format(mtime, v->last_modified);
}

/* Maps the open regular file fd as the entry being walked. */
static int add_file(struct walker *w, int fd, const struct stat *st)
{
    if (st->st_size > (off_t)ASSET_FILE_MAX) {
        log_warn("assets: %s/%s: %jd bytes, over the %u MiB limit: not served", w->root, w->rel,
                 (intmax_t)st->st_size, ASSET_FILE_MAX >> 20);
        return 0;
    }
    if (w->n_files == ASSET_FILES_MAX) {
        log_error("assets: %s: more than %d files; is `path` the built front end?", w->root, ASSET_FILES_MAX);
        return -E2BIG;
    }
    if (w->n_files == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct asset_file *files = reallocarray(w->files, cap, sizeof(*files));
        if (!files)
            return -ENOMEM;
        w->files = files;
        w->cap = cap;
    }
    size_t size = (size_t)st->st_size;
    const uint8_t *data = empty_file;
    if (size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            log_warn("assets: %s/%s: mmap: %m; not served", w->root, w->rel);
            return 0;
        }
        data = m;
    }
    struct asset_file *f = &w->files[w->n_files];
    *f = (struct asset_file){.key = strndup(w->rel, w->rel_len), .key_len = w->rel_len};
    if (!f->key) {
        if (size > 0)
            munmap((void *)data, size);
        return -ENOMEM;
    }
    f->content_type = asset_content_type(f->key, f->key_len);
    variant_init(&f->body, data, size, (int64_t)st->st_mtim.tv_sec);
    w->n_files++;
    return 0;
}

/* A symlinked entry: opens its target if that is inside the tree and would itself be indexed
 * (so a link cannot expose a dotfile under another name). Returns an fd, or -1 to skip. */
static int symlink_open(struct walker *w)
{
    char link[PATH_MAX];
    if (snprintf(link, sizeof(link), "%s/%s", w->root, w->rel) >= (int)sizeof(link))
        return -1;
    _cleanup_free_ char *target = realpath(link, NULL);
    if (!target) {
        log_warn("assets: %s: dangling or unreadable symlink (%m): not served", link);
        return -1;
    }
    /* Inside: the root itself (a loop, cut by walk_subdir) or below it. */
    bool root_is_slash = w->root_len == 1;
    if (strncmp(target, w->root, w->root_len) != 0 ||
        (!root_is_slash && target[w->root_len] != '/' && target[w->root_len] != '\0')) {
        log_warn("assets: %s: symlink to %s, outside %s: not served", link, target, w->root);
        return -1;
    }
    for (char *seg = target + w->root_len + (target[w->root_len] == '/'), *end; *seg;
         seg = *end ? end + 1 : end) {
        end = strchrnul(seg, '/');
        if (!asset_path_segment_ok(seg, (size_t)(end - seg))) {
            log_warn("assets: %s: symlink to %s, which is not served itself: not served", link, target);
            return -1;
        }
    }
    int fd = open(target, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        log_warn("assets: %s: open %s: %m; not served", link, target);
    return fd;
}

static int walk_subdir(struct walker *w, int fd, const struct stat *st)
{
    for (unsigned i = 0; i < w->depth; i++)
        if (w->dirs[i].dev == st->st_dev && w->dirs[i].ino == st->st_ino) {
            log_warn("assets: %s/%s: symlink loop: not followed", w->root, w->rel);
            close(fd);
            return 0;
        }
    if (w->depth > ASSET_DEPTH_MAX) {
        log_warn("assets: %s/%s: nested deeper than %d directories: not served", w->root, w->rel,
                 ASSET_DEPTH_MAX);
        close(fd);
        return 0;
    }
    w->dirs[w->depth].dev = st->st_dev;
    w->dirs[w->depth].ino = st->st_ino;
    w->depth++;
    int r = walk_dir(w, fd);
    w->depth--;
    if (r == -EACCES || r == -EIO) { /* one unreadable directory does not make the tree unservable */
        log_warn("assets: %s/%s: %s; its files are not served", w->root, w->rel, strerror(-r));
        r = 0;
    }
    return r;
}

/* One directory entry, already named in w->rel. */
static int walk_entry(struct walker *w, int dirfd, const char *name)
{
    struct stat st;
    _cleanup_close_ int fd = -1;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        log_warn("assets: %s/%s: stat: %m; not served", w->root, w->rel);
        return 0;
    }
    if (S_ISLNK(st.st_mode))
        fd = symlink_open(w);
    else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        /* O_NONBLOCK: should the entry have become a FIFO since fstatat, open must not hang. */
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
            log_warn("assets: %s/%s: open: %m; not served", w->root, w->rel);
    }
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0)
        return log_errno(-errno, "assets: %s/%s: fstat: %m", w->root, w->rel);
    if (S_ISDIR(st.st_mode)) {
        int dfd = fd;
        fd = -1; /* walk_subdir owns it now */
        return walk_subdir(w, dfd, &st);
    }
    return S_ISREG(st.st_mode) ? add_file(w, fd, &st) : 0;
}

/* Walks the directory open as dirfd, which it closes. */
static int walk_dir(struct walker *w, int dirfd)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int r = -errno;
        close(dirfd);
        return r;
    }
    size_t saved = w->rel_len;
    struct dirent *e;
    int r = 0;
    while (r >= 0 && (errno = 0, e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!asset_path_segment_ok(e->d_name, len)) {
            if (e->d_name[0] == '.')
                log_debug("assets: %s/%s%s%s: dotfile, not served", w->root, w->rel, saved ? "/" : "",
                          e->d_name);
            else
                log_warn("assets: %s/%s%s%s: no URL can name this: not served", w->root, w->rel,
                         saved ? "/" : "", e->d_name);
            continue;
        }
        if (saved + !!saved + len > ASSET_KEY_MAX) {
            log_warn("assets: %s/%s/%s: path too long: not served", w->root, w->rel, e->d_name);
            continue;
        }
        w->rel_len = saved;
        if (saved)
            w->rel[w->rel_len++] = '/';
        memcpy(w->rel + w->rel_len, e->d_name, len + 1);
        w->rel_len += len;
        r = walk_entry(w, dirfd, e->d_name);
        w->rel_len = saved;
        w->rel[saved] = '\0';
    }
    if (r >= 0 && errno != 0)
        r = -errno;
    closedir(d);
    return r;
}

static int file_cmp(const void *a, const void *b)
{
    const struct asset_file *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Makes "<key>.gz" and "<key>.br" the variants of "<key>". They stay files of their own too,
 * fetchable as themselves (as nginx and MAS serve them): application/gzip, no Content-Encoding. */
static void tree_link_variants(struct asset_tree *t)
{
    for (size_t i = 0; i < t->n_files; i++) {
        const struct asset_file *f = &t->files[i];
        if (f->key_len < 4)
            continue;
        const char *ext = f->key + f->key_len - 3;
        bool gz = strcmp(ext, ".gz") == 0, br = strcmp(ext, ".br") == 0;
        struct asset_file *base =
            (gz || br) ? (struct asset_file *)asset_tree_find(t, f->key, f->key_len - 3) : NULL;
        if (base && gz)
            base->gz = &f->body;
        else if (base && br)
            base->br = &f->body;
    }
}

static void tree_free(struct asset_tree *t)
{
    for (size_t i = 0; i < t->n_files; i++) {
        if (t->files[i].body.size > 0)
            munmap((void *)t->files[i].body.data, t->files[i].body.size);
        free(t->files[i].key);
    }
    free(t->files);
    free(t->path);
    free(t->real);
}

static int tree_build(struct asset_tree *t, const char *path)
{
    struct walker w = {0};
    struct stat st;

    t->path = strdup(path);
    t->real = realpath(path, NULL);
    if (!t->path || !t->real)
        return log_errno(-errno, "assets: path %s: %m", path);
    int fd = open(t->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int r = log_errno(-errno, "assets: path %s: %m", path);
        if (fd >= 0)
            close(fd);
        return r;
    }
    w.root = t->real;
    w.root_len = strlen(t->real);
    w.dirs[0].dev = st.st_dev;
    w.dirs[0].ino = st.st_ino;
    w.depth = 1;
    int r = walk_dir(&w, fd);
    t->files = w.files;
    t->n_files = w.n_files;
    if (r < 0)
        return r == -E2BIG ? r : log_errno(r, "assets: path %s: %m", path);
    if (t->n_files > 0) /* an empty directory has no array: qsort's pointer must not be NULL */
        qsort(t->files, t->n_files, sizeof(*t->files), file_cmp);
    tree_link_variants(t);

    size_t variants = 0, bytes = 0;
    for (size_t i = 0; i < t->n_files; i++) {
        variants += !!t->files[i].gz + !!t->files[i].br;
        bytes += t->files[i].body.size;
    }
    log_info("assets: %s: %zu files (%zu precompressed variants), %zu KiB mapped", path, t->n_files, variants,
             bytes >> 10);
    return 0;
}

static void index_free(struct asset_index *idx)
{
    for (size_t i = 0; i < idx->n_trees; i++)
        tree_free(&idx->trees[i]);
    free(idx->trees);
    free(idx);
}

int asset_index_build(const char *const *paths, size_t n, struct asset_index **out)
{
    struct asset_index *idx = calloc(1, sizeof(*idx));
    if (!idx || !(idx->trees = calloc(n ? n : 1, sizeof(*idx->trees)))) {
        free(idx);
        return -ENOMEM;
    }
    atomic_init(&idx->refs, 1);
    for (size_t i = 0; i < n; i++) {
        if (asset_index_tree(idx, paths[i]))
            continue;
        int r = tree_build(&idx->trees[idx->n_trees++], paths[i]);
        if (r < 0) {
            index_free(idx);
            return r;
        }
    }
    *out = idx;
    return 0;
}

void asset_index_ref(struct asset_index *idx)
{
    atomic_fetch_add_explicit(&idx->refs, 1, memory_order_relaxed);
}

void asset_index_unref(struct asset_index *idx)
{
    if (idx && atomic_fetch_sub_explicit(&idx->refs, 1, memory_order_acq_rel) == 1)
        index_free(idx);
}

const struct asset_tree *asset_index_tree(const struct asset_index *idx, const char *path)
{
    for (size_t i = 0; i < idx->n_trees; i++)
        if (path && idx->trees[i].path && strcmp(idx->trees[i].path, path) == 0)
            return &idx->trees[i];
    return NULL;
}

const struct asset_file *asset_tree_find(const struct asset_tree *t, const char *key, size_t len)
{
    struct asset_file probe = {.key = (char *)key, .key_len = len};
    return bsearch(&probe, t->files, t->n_files, sizeof(*t->files), file_cmp);
}

/* The window this guards: a reader has loaded `current` but not yet taken its reference, while
 * publish drops the last reference of that very index. Publish therefore waits, after the swap,
 * until no reader is inside the window; a reader entering later can only load the new index.
 * The window is a few instructions long, so the wait is short and lands on the reload thread,
 * never on a loop thread; loops only pay uncontended-in-practice atomics. */
struct asset_index *asset_slot_acquire(struct asset_slot *slot)
{
    atomic_fetch_add(&slot->acquiring, 1);
    struct asset_index *idx = atomic_load(&slot->current);
    if (idx)
        atomic_fetch_add(&idx->refs, 1);
    atomic_fetch_sub(&slot->acquiring, 1);
    return idx;
}

void asset_slot_publish(struct asset_slot *slot, struct asset_index *idx)
{
    struct asset_index *old = atomic_exchange(&slot->current, idx);
    while (atomic_load(&slot->acquiring) != 0)
        sched_yield();
    asset_index_unref(old);
}
