/* The asset index over a real directory tree made here: what is served (files, variants,
 * symlinks that stay inside), what is not (dotfiles, escaping or dangling symlinks, loops,
 * oversized files, special files, unreachable names), and the reference counting that lets a
 * reload swap the index under running requests. */
#include "asset_index.h"
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MTIME 0x6b09687a

static char base[256]; /* the temporary directory holding everything */

static void put(const char *rel, const char *content)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(content, f);
    fclose(f);
    struct timespec ts[2] = {{MTIME, 0}, {MTIME, 0}};
    CHECK_INT(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void dir(const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    CHECK_INT(mkdir(p, 0755), 0);
}

static void link_to(const char *target, const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    CHECK_INT(symlink(target, p), 0);
}

static void make_tree(void)
{
    char p[512];
    dir("outside");
    put("outside/secret.txt", "secret\n");
    dir("root");
    put("root/app.js", "console.log(1);\n");
    put("root/app.js.gz", "gzip bytes");
    put("root/app.js.br", "br");
    put("root/style.css", "body{}");
    put("root/lone.gz", "a gzip file of its own");
    put("root/empty.txt", "");
    dir("root/sub");
    dir("root/sub/dir");
    put("root/sub/dir/logo.svg", "<svg/>");
    put("root/.hidden", "dotfile");
    dir("root/.git");
    put("root/.git/config", "[core]");
    put("root/sub/.env", "KEY=1");
    put("root/a%b.js", "unreachable");
    put("root/back\\slash.js", "unreachable");
    link_to("app.js", "root/link-inside.js");
    snprintf(p, sizeof(p), "%s/root/style.css", base);
    link_to(p, "root/link-abs-inside.css");
    snprintf(p, sizeof(p), "%s/outside/secret.txt", base);
    link_to(p, "root/link-escape.txt");
    link_to("../outside/secret.txt", "root/link-dotdot.txt");
    link_to(".hidden", "root/link-to-dotfile");
    link_to("nope", "root/link-dangling");
    link_to("sub", "root/linkdir");
    link_to(".", "root/loop");
    link_to("../..", "root/sub/dir/up");
    link_to("../outside", "root/linkdir-escape");
    dir("rootother"); /* shares "root" as a string prefix, not as a directory */
    put("rootother/secret.txt", "secret\n");
    link_to("../rootother/secret.txt", "root/link-prefix-sibling.txt");
    snprintf(p, sizeof(p), "%s/root/big.bin", base);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)ASSET_FILE_MAX + 1) == 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/root/fifo", base);
    CHECK_INT(mkfifo(p, 0644), 0);
    link_to("root", "rootlink"); /* `path` may itself be a symlink */
}

static const struct asset_file *find(const struct asset_tree *t, const char *key)
{
    return asset_tree_find(t, key, strlen(key));
}

static bool body_is(const struct asset_variant *v, const char *content)
{
    return v && v->size == strlen(content) && memcmp(v->data, content, v->size) == 0;
}

static void test_served(const struct asset_tree *t)
{
    const struct asset_file *f = find(t, "app.js");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(body_is(&f->body, "console.log(1);\n"));
    CHECK(body_is(f->gz, "gzip bytes"));
    CHECK(body_is(f->br, "br"));
    CHECK_STR(f->content_type, "text/javascript; charset=utf-8");
    CHECK_STR(f->body.etag, "\"6b09687a-10\"");
    CHECK_STR(f->gz->etag, "\"6b09687a-a\""); /* each variant its own validator */
    CHECK_STR(f->br->etag, "\"6b09687a-2\"");
    CHECK_STR(f->body.last_modified, "Fri, 27 Nov 2026 11:24:42 GMT");
    CHECK_INT(f->body.mtime, MTIME);

    f = find(t, "app.js.gz"); /* fetchable as itself */
    CHECK(f && body_is(&f->body, "gzip bytes") && !f->gz && !f->br);
    CHECK(f && strcmp(f->content_type, "application/gzip") == 0);
    f = find(t, "style.css");
    CHECK(f && body_is(&f->body, "body{}") && !f->gz && !f->br);
    f = find(t, "lone.gz");
    CHECK(f && !f->gz && !f->br);
    f = find(t, "empty.txt");
    CHECK(f && f->body.size == 0 && f->body.data != NULL);
    CHECK_STR(f ? f->body.etag : NULL, "\"6b09687a-0\"");
    f = find(t, "sub/dir/logo.svg");
    CHECK(f && body_is(&f->body, "<svg/>") && strcmp(f->content_type, "image/svg+xml") == 0);
    f = find(t, "link-inside.js");
    CHECK(f && body_is(&f->body, "console.log(1);\n") && !f->gz);
    CHECK(f && strcmp(f->content_type, "text/javascript; charset=utf-8") == 0);
    f = find(t, "link-abs-inside.css");
    CHECK(f && body_is(&f->body, "body{}"));
    f = find(t, "linkdir/dir/logo.svg");
    CHECK(f && body_is(&f->body, "<svg/>"));
}

static void test_not_served(const struct asset_tree *t)
{
    static const char *const absent[] = {
        ".hidden",
        ".git/config",
        "sub/.env",
        "a%b.js",
        "back\\slash.js",
        "link-escape.txt",
        "link-dotdot.txt",
        "link-to-dotfile",
        "link-dangling",
        "big.bin",
        "fifo",
        "sub",
        "sub/dir",
        "",
        "loop/app.js",
        "sub/dir/up/app.js",
        "linkdir/dir/up/app.js",
        "linkdir-escape/secret.txt",
        "link-prefix-sibling.txt",
        "App.js",
        "app.j",
    };
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        if (find(t, absent[i]) != NULL) {
            fprintf(stderr, "served but should not be: %s\n", absent[i]);
            CHECK(false);
        }
    CHECK_INT(t->n_files, 10);
}

static void test_build(void)
{
    char rootlink[512], outside[512];
    snprintf(rootlink, sizeof(rootlink), "%s/rootlink", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    const char *paths[] = {rootlink, outside, rootlink};
    struct asset_index *idx = NULL;

    CHECK_INT(asset_index_build(paths, 3, &idx), 0);
    if (!idx)
        return;
    CHECK_INT(idx->n_trees, 2); /* the same path twice is indexed once */
    const struct asset_tree *t = asset_index_tree(idx, rootlink);
    CHECK(t != NULL);
    if (t) {
        test_served(t);
        test_not_served(t);
    }
    t = asset_index_tree(idx, outside);
    CHECK(t && t->n_files == 1 && find(t, "secret.txt"));
    CHECK(asset_index_tree(idx, "/elsewhere") == NULL);
    CHECK(asset_index_tree(idx, NULL) == NULL);
    asset_index_unref(idx);
}

static void test_build_errors(void)
{
    char p[512];
    struct asset_index *idx = NULL;
    const char *paths[1] = {p};

    snprintf(p, sizeof(p), "%s/missing", base);
    CHECK_INT(asset_index_build(paths, 1, &idx), -ENOENT);
    snprintf(p, sizeof(p), "%s/root/style.css", base);
    CHECK_INT(asset_index_build(paths, 1, &idx), -ENOTDIR);

    /* A path holding more than ASSET_FILES_MAX files is most likely the wrong path. */
    dir("many");
    int created = 0;
    for (int i = 0; i <= ASSET_FILES_MAX; i++) {
        snprintf(p, sizeof(p), "%s/many/%d", base, i);
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        created += fd >= 0;
        close(fd);
    }
    CHECK_INT(created, ASSET_FILES_MAX + 1);
    snprintf(p, sizeof(p), "%s/many", base);
    CHECK_INT(asset_index_build(paths, 1, &idx), -E2BIG);
    snprintf(p, sizeof(p), "%s/many/0", base);
    unlink(p);
    snprintf(p, sizeof(p), "%s/many", base);
    CHECK_INT(asset_index_build(paths, 1, &idx), 0);
    CHECK_INT(idx ? idx->trees[0].n_files : 0, ASSET_FILES_MAX);
    asset_index_unref(idx);

    /* An empty directory (assets not generated yet) is served as an empty tree. */
    dir("empty");
    snprintf(p, sizeof(p), "%s/empty", base);
    CHECK_INT(asset_index_build(paths, 1, &idx), 0);
    CHECK_INT(idx ? (int)idx->trees[0].n_files : -1, 0);
    asset_index_unref(idx);

    CHECK_INT(asset_index_build(NULL, 0, &idx), 0); /* no assets resource at all */
    CHECK_INT(idx ? idx->n_trees : 1, 0);
    asset_index_unref(idx);
}

/* Readers on several threads take and drop references while the index is swapped under them,
 * as event loops do during `systemctl reload`; ASan catches a use after free. */
static struct asset_slot slot;
static atomic_bool stop;
static const char *outside_path;

static void *reader(void *arg)
{
    atomic_ulong *served = arg;
    while (!atomic_load(&stop)) {
        struct asset_index *idx = asset_slot_acquire(&slot);
        const struct asset_tree *t = idx ? asset_index_tree(idx, outside_path) : NULL;
        const struct asset_file *f = t ? find(t, "secret.txt") : NULL;
        if (f && f->body.data[0] == 's')
            (*served)++;
        asset_index_unref(idx);
    }
    return NULL;
}

static void test_slot(void)
{
    char outside[512];
    snprintf(outside, sizeof(outside), "%s/outside", base);
    outside_path = outside;
    const char *paths[] = {outside};
    struct asset_index *idx;

    CHECK(asset_slot_acquire(&slot) == NULL); /* nothing published yet */
    CHECK_INT(asset_index_build(paths, 1, &idx), 0);
    asset_slot_publish(&slot, idx);
    struct asset_index *held = asset_slot_acquire(&slot);
    CHECK(held == idx);
    CHECK_INT(atomic_load(&idx->refs), 2);

    pthread_t th[4];
    atomic_ulong served[4];
    for (int i = 0; i < 4; i++) {
        atomic_init(&served[i], 0);
        pthread_create(&th[i], NULL, reader, &served[i]);
    }
    for (int i = 0; i < 4; i++) /* every reader running before the swaps start */
        while (atomic_load(&served[i]) == 0)
            sched_yield();
    /* Each build logs a line; 300 of them would bury the report. */
    fflush(stderr);
    int saved_stderr = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    int built = 0;
    for (int i = 0; i < 300; i++) {
        struct asset_index *next;
        if (asset_index_build(paths, 1, &next) == 0) {
            asset_slot_publish(&slot, next);
            built++;
        }
    }
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(devnull);
    CHECK_INT(built, 300);
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(atomic_load(&served[i]) > 0);
    }
    /* The first index outlived 300 swaps because a request still held it. */
    CHECK_INT(atomic_load(&held->refs), 1);
    CHECK(held->trees[0].files[0].body.data[0] == 's');
    asset_index_unref(held);
    asset_slot_publish(&slot, NULL);
}

static void cleanup(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/masd-assets-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    make_tree();
    test_build();
    test_build_errors();
    test_slot();
    cleanup();
    return check_report(__FILE__);
}
