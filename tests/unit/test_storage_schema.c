/* After migration, SQLite and PostgreSQL hold the same logical schema: the same tables, the
 * same columns with the same logical types, nullability and primary keys, the same indexes
 * (name, uniqueness, partial or not, columns), foreign keys, CHECK constraints and triggers (by
 * name: migration 4 writes them in each backend's own words). Each
 * catalogue is read into lines such as
 *
 *   column users.username text not-null
 *   index users.users_username_folded_unique unique (username_folded)
 *
 * and the two sorted lists must be equal. Skipped (77) without the PostgreSQL test server. */
#include "storage_test.h"
#include <stdarg.h>
#include <strings.h>

#define MAX_LINES 1024

struct lines {
    char *v[MAX_LINES];
    size_t n;
};

static void add(struct lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct lines *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (l->n < MAX_LINES && vasprintf(&l->v[l->n], fmt, ap) >= 0)
        l->n++;
    va_end(ap);
}

/* Declared SQLite types and PostgreSQL data_type, to the logical types of storage_schema.c. */
static const char *logical_type(const char *t)
{
    if (!strcasecmp(t, "bigint"))
        return "int64";
    if (!strcasecmp(t, "smallint"))
        return "flag";
    if (!strcasecmp(t, "text"))
        return "text";
    return t; /* anything else shows up as a difference */
}

static struct storage_stmt tables = {
    .sqlite =
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    .pg = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
          " AND table_type = 'BASE TABLE' ORDER BY table_name",
};
/* name, type, NOT NULL (1/0), position in the primary key (0: not in it) */
static struct storage_stmt columns = {
    .sqlite = "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)",
    .pg = "SELECT c.column_name, c.data_type, CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END,"
          " COALESCE((SELECT k.ordinal_position FROM information_schema.table_constraints t"
          " JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name"
          " AND k.table_schema = t.table_schema WHERE t.constraint_type = 'PRIMARY KEY'"
          " AND t.table_name = c.table_name AND t.table_schema = c.table_schema"
          " AND k.column_name = c.column_name), 0)"
          " FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = $1",
};
/* name, unique (1/0), partial (1/0), columns "a,b" — primary keys apart */
static struct storage_stmt indexes = {
    .sqlite = "SELECT l.name, l.\"unique\", l.partial, (SELECT group_concat(name, ',') FROM"
              " (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno))"
              " FROM pragma_index_list($1) l WHERE l.origin <> 'pk'",
    .pg =
        "SELECT i.relname, CASE WHEN x.indisunique THEN 1 ELSE 0 END,"
        " CASE WHEN x.indpred IS NULL THEN 0 ELSE 1 END,"
        " (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum)"
        " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary",
};
/* column, referenced table, referenced column (every foreign key here has one column) */
static struct storage_stmt fkeys = {
    .sqlite = "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list($1)",
    .pg = "SELECT a.attname, r.relname, ra.attname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
          " JOIN pg_class r ON r.oid = c.confrelid"
          " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
          " JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]"
          " WHERE c.contype = 'f' AND t.relname = $1 AND t.relnamespace = current_schema()::regnamespace",
};
/* SQLite keeps CHECK constraints only in the CREATE TABLE text: their names are read from it. */
static struct storage_stmt checks = {
    .sqlite = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1",
    .pg = "SELECT string_agg('CONSTRAINT ' || c.conname || ' CHECK', ' ') FROM pg_constraint c"
          " JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'c' AND t.relname = $1"
          " AND t.relnamespace = current_schema()::regnamespace",
};

/* trigger names (PostgreSQL: not the internal ones that enforce foreign keys) */
static struct storage_stmt triggers = {
    .sqlite = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1",
    .pg = "SELECT g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid WHERE t.relname = $1"
          " AND t.relnamespace = current_schema()::regnamespace AND NOT g.tgisinternal",
};

static void read_checks(struct sq *q, const char *table, struct lines *out)
{
    const char *sql = sq_text(q, 0);
    for (const char *p = sql; p && (p = strstr(p, "CONSTRAINT ")); p++) {
        const char *name = p + strlen("CONSTRAINT ");
        size_t len = strcspn(name, " ");
        if (strncmp(name + len, " CHECK", 6) == 0)
            add(out, "check %s.%.*s", table, (int)len, name);
    }
}

static void read_table(struct storage_tx *tx, const char *table, struct lines *out)
{
    struct sq q;
    add(out, "table %s", table);
    CHECK_INT(sq_run(tx, &columns, SQ_ARGS(P_TEXT(table)), &q), 0);
    while (sq_next(&q) > 0)
        add(out, "column %s.%s %s%s pk=%lld", table, sq_text(&q, 0), logical_type(sq_text(&q, 1)),
            sq_int(&q, 2) ? " not-null" : "", (long long)sq_int(&q, 3));
    sq_done(&q);
    CHECK_INT(sq_run(tx, &indexes, SQ_ARGS(P_TEXT(table)), &q), 0);
    while (sq_next(&q) > 0)
        add(out, "index %s.%s%s%s (%s)", table, sq_text(&q, 0), sq_int(&q, 1) ? " unique" : "",
            sq_int(&q, 2) ? " partial" : "", sq_text(&q, 3));
    sq_done(&q);
    CHECK_INT(sq_run(tx, &fkeys, SQ_ARGS(P_TEXT(table)), &q), 0);
    while (sq_next(&q) > 0)
        add(out, "foreign-key %s.%s -> %s.%s", table, sq_text(&q, 0), sq_text(&q, 1), sq_text(&q, 2));
    sq_done(&q);
    CHECK_INT(sq_run(tx, &triggers, SQ_ARGS(P_TEXT(table)), &q), 0);
    while (sq_next(&q) > 0)
        add(out, "trigger %s.%s", table, sq_text(&q, 0));
    sq_done(&q);
    CHECK_INT(sq_run(tx, &checks, SQ_ARGS(P_TEXT(table)), &q), 0);
    if (sq_next(&q) > 0)
        read_checks(&q, table, out);
    sq_done(&q);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void read_schema(enum storage_backend b, struct lines *out)
{
    char uri[512], names[64][64];
    size_t n = 0;
    test_db(b, "schema", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct sq q;
    CHECK_INT(sq_run(tx, &tables, NULL, 0, &q), 0);
    while (n < 64 && sq_next(&q) > 0)
        snprintf(names[n++], sizeof(names[0]), "%s", sq_text(&q, 0));
    sq_done(&q);
    for (size_t i = 0; i < n; i++)
        read_table(tx, names[i], out);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_close(st);
    qsort(out->v, out->n, sizeof(char *), cmp);
}

int main(void)
{
    test_init();
    const char *pg = getenv("MASD_TEST_PG_URI");
    if (!pg || !*pg) {
        fprintf(stderr, "MASD_TEST_PG_URI is not set: nothing to compare SQLite with (tests/run sets it)\n");
        return 77;
    }
    struct lines lite = {0}, post = {0};
    read_schema(STORAGE_SQLITE, &lite);
    read_schema(STORAGE_POSTGRESQL, &post);
    CHECK(lite.n > 100); /* the whole schema was read, not an empty list twice */
    CHECK_INT(lite.n, post.n);
    size_t i = 0, k = 0;
    while (i < lite.n || k < post.n) {
        int c = i == lite.n ? 1 : k == post.n ? -1 : strcmp(lite.v[i], post.v[k]);
        if (c == 0) {
            i++, k++;
            continue;
        }
        CHECK(c == 0);
        fprintf(stderr, "  only in %s: %s\n", c < 0 ? "sqlite" : "postgresql",
                c < 0 ? lite.v[i++] : post.v[k++]);
    }
    if (getenv("SHOW_SCHEMA"))
        for (size_t j = 0; j < lite.n; j++)
            printf("%s\n", lite.v[j]);
    for (size_t j = 0; j < lite.n; j++)
        free(lite.v[j]);
    for (size_t j = 0; j < post.n; j++)
        free(post.v[j]);
    return check_report(__FILE__);
}
