/* Storage layer: one test body, run against SQLite (a temporary file) and against PostgreSQL
 * when RSPKIT_TEST_POSTGRES names a server (scripts/with-postgres.sh starts a throw-away one).
 * Each PostgreSQL test works in a schema of its own, dropped afterwards. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

typedef struct {
    store_dialect_kind dialect;
    char directory[128]; /* SQLite: temporary folder holding the database */
    char schema[64];     /* PostgreSQL: schema of this test */
    char url[768];
} fixture;

static unsigned fixture_counter;

static void check_ok(rsp_status status, const rsp_error *err, const char *what)
{
    if (status != RSP_OK) {
        char text[200];
        print_error("%s: %s\n", what, rsp_error_format(err, text, sizeof text));
    }
    assert_int_equal(status, RSP_OK);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static store *open_store(const fixture *f, unsigned pool, unsigned borrow_ms, unsigned busy_ms,
                         unsigned attempts)
{
    store_options options = {.pool_size = pool,
                             .borrow_timeout_ms = borrow_ms,
                             .busy_timeout_ms = busy_ms,
                             .max_attempts = attempts};
    store *st = NULL;
    rsp_error err = {0};
    check_ok(store_open(f->url, &options, &st, &err), &err, f->url);
    assert_int_equal(store_dialect(st), f->dialect);
    return st;
}

static store *open_default(const fixture *f)
{
    return open_store(f, 4, 10000, 0, 0);
}

static store_conn *borrow(store *st)
{
    store_conn *conn = NULL;
    rsp_error err = {0};
    check_ok(store_borrow(st, &conn, &err), &err, "borrow");
    return conn;
}

static void script(store_conn *conn, const char *sql)
{
    rsp_error err = {0};
    check_ok(store_exec_script(conn, sql, &err), &err, sql);
}

static int64_t query_int(store_conn *conn, const char *sql, const store_value *params, size_t count)
{
    int64_t value = -1;
    rsp_error err = {0};
    check_ok(store_query_int64(conn, sql, params, count, &value, &err), &err, sql);
    return value;
}

static const char *blob_type(const fixture *f)
{
    return f->dialect == STORE_DIALECT_POSTGRES ? "BYTEA" : "BLOB";
}

/* ---- fixtures ---- */

static int setup_sqlite(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dialect = STORE_DIALECT_SQLITE;
    snprintf(f->directory, sizeof f->directory, "/tmp/rspkit-store-XXXXXX");
    assert_non_null(mkdtemp(f->directory));
    snprintf(f->url, sizeof f->url, "sqlite:%s/test.db", f->directory);
    *state = f;
    return 0;
}

static int teardown_sqlite(void **state)
{
    fixture *f = *state;
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[256];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(path, sizeof path, "%s/test.db%s", f->directory, suffixes[i]);
        unlink(path);
    }
    rmdir(f->directory);
    free(f);
    return 0;
}

static void postgres_admin(const char *sql_format, const char *schema)
{
    store *st = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 1, .borrow_timeout_ms = 1000};
    check_ok(store_open(getenv("RSPKIT_TEST_POSTGRES"), &options, &st, &err), &err, "admin");
    char sql[160];
    snprintf(sql, sizeof sql, sql_format, schema);
    store_conn *conn = borrow(st);
    script(conn, sql);
    store_return(conn);
    store_close(st);
}

static int setup_postgres(void **state)
{
    const char *base = getenv("RSPKIT_TEST_POSTGRES");
    assert_non_null(base);
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dialect = STORE_DIALECT_POSTGRES;
    snprintf(f->schema, sizeof f->schema, "rspkit_test_%ld_%u", (long)getpid(), ++fixture_counter);
    postgres_admin("CREATE SCHEMA %s", f->schema);
    /* Every pooled connection, and every forked child, lands in the test's own schema. */
    if (strstr(base, "://") != NULL)
        snprintf(f->url, sizeof f->url, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') != NULL ? "&" : "?", f->schema);
    else
        snprintf(f->url, sizeof f->url, "%s options='-csearch_path=%s'", base, f->schema);
    *state = f;
    return 0;
}

static int teardown_postgres(void **state)
{
    fixture *f = *state;
    postgres_admin("DROP SCHEMA %s CASCADE", f->schema);
    free(f);
    return 0;
}

/* ---- migrations ---- */

static store_migration test_migrations[] = {
    {.version = 1,
     .description = "items",
     .sql = "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
            "CREATE INDEX items_name ON items (name)"},
    {.version = 2,
     .description = "blobs, per dialect",
     .sql_sqlite = "CREATE TABLE blobs (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB)",
     .sql_postgres = "CREATE TABLE blobs (id BIGSERIAL PRIMARY KEY, data BYTEA)"},
    {.version = 5,
     .description = "seed row",
     .sql = "INSERT INTO items (id, name) VALUES (1, 'seed')"},
};

static int64_t schema_version(store *st, const char *component)
{
    store_conn *conn = borrow(st);
    int64_t version = -1;
    rsp_error err = {0};
    check_ok(store_schema_version(conn, component, &version, &err), &err, "schema version");
    store_return(conn);
    return version;
}

static void test_migrations_idempotent(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    rsp_error err = {0};
    assert_int_equal(schema_version(st, "test"), 0);
    /* An older build knows two of the three versions. */
    check_ok(store_migrate(st, "test", test_migrations, 2, &err), &err, "migrate 2");
    assert_int_equal(schema_version(st, "test"), 2);
    check_ok(store_migrate(st, "test", test_migrations, 3, &err), &err, "migrate 3");
    check_ok(store_migrate(st, "test", test_migrations, 3, &err), &err, "migrate again");
    assert_int_equal(schema_version(st, "test"), 5);
    assert_int_equal(schema_version(st, "other"), 0);
    store_conn *conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM items", NULL, 0), 1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM schema_migrations", NULL, 0), 3);
    store_return(conn);

    /* A script that fails half-way leaves nothing behind, neither table nor record. */
    store_migration broken[] = {
        {.version = 1, .sql = "CREATE TABLE half (id BIGINT); CREATE TABLE ( broken"},
    };
    assert_int_equal(store_migrate(st, "broken", broken, 1, &err), RSP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "syntax"));
    assert_int_equal(schema_version(st, "broken"), 0);
    conn = borrow(st);
    rsp_error ignored = {0};
    assert_int_not_equal(
        store_exec(conn, "INSERT INTO half (id) VALUES (1)", NULL, 0, NULL, &ignored), RSP_OK);
    store_return(conn);

    store_migration unordered[] = {{.version = 2, .sql = "SELECT 1"},
                                   {.version = 2, .sql = "SELECT 1"}};
    rsp_error_clear(&err);
    assert_int_equal(store_migrate(st, "x", unordered, 2, &err), RSP_ERR_INVALID_ARGUMENT);
    store_migration one_dialect[] = {{.version = 1, .sql_sqlite = "SELECT 1"}};
    rsp_error_clear(&err);
    assert_int_equal(store_migrate(st, "x", one_dialect, 1, &err), RSP_ERR_INVALID_ARGUMENT);
    store_close(st);
}

static void test_migrations_concurrent(void **state)
{
    const fixture *f = *state;
    /* Processes: each opens its own pool, as two server instances starting together would. */
    enum { PROCESSES = 3 };
    pid_t children[PROCESSES];
    for (int i = 0; i < PROCESSES; i++) {
        children[i] = fork();
        assert_true(children[i] >= 0);
        if (children[i] == 0) {
            store *st = NULL;
            rsp_error err = {0};
            store_options options = {.pool_size = 1, .borrow_timeout_ms = 5000};
            rsp_status status = store_open(f->url, &options, &st, &err);
            if (status == RSP_OK)
                status = store_migrate(st, "processes", test_migrations, 3, &err);
            if (status != RSP_OK)
                fprintf(stderr, "child migrate: %s\n", err.message);
            store_close(st);
            _exit(status == RSP_OK ? 0 : 1);
        }
    }
    int wstatus[PROCESSES] = {0};
    /* Reap every child before judging, so none outlives the test's folder. */
    for (int i = 0; i < PROCESSES; i++)
        assert_int_equal(waitpid(children[i], &wstatus[i], 0), children[i]);
    for (int i = 0; i < PROCESSES; i++) {
        assert_true(WIFEXITED(wstatus[i]));
        assert_int_equal(WEXITSTATUS(wstatus[i]), 0);
    }
    store *st = open_default(f);
    assert_int_equal(schema_version(st, "processes"), 5);
    store_conn *conn = borrow(st);
    /* Version 5 inserts the seed row: exactly one row proves exactly one run. */
    assert_int_equal(query_int(conn, "SELECT count(*) FROM items", NULL, 0), 1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM schema_migrations WHERE component = $1",
                               (store_value[]){STORE_VALUE_TEXT("processes")}, 1),
                     3);
    store_return(conn);
    store_close(st);
}

typedef struct {
    store *shared;
    rsp_status status;
} migrate_job;

static store_migration counter_migrations[] = {
    {.version = 1, .sql = "CREATE TABLE runs (id BIGINT PRIMARY KEY)"},
    {.version = 2, .sql = "INSERT INTO runs (id) VALUES (1)"},
};

static void *migrate_counter_thread(void *arg)
{
    migrate_job *job = arg;
    rsp_error err = {0};
    job->status = store_migrate(job->shared, "runs", counter_migrations, 2, &err);
    return NULL;
}

static void test_migrations_threads(void **state)
{
    const fixture *f = *state;
    enum { THREADS = 4 };
    store *stores[THREADS];
    pthread_t threads[THREADS];
    migrate_job jobs[THREADS];
    /* One pool per thread, so the race is between connections, not for one. */
    for (int i = 0; i < THREADS; i++)
        stores[i] = open_store(f, 1, 5000, 0, 0);
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (migrate_job){.shared = stores[i]};
        assert_int_equal(pthread_create(&threads[i], NULL, migrate_counter_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].status, RSP_OK);
    }
    store_conn *conn = borrow(stores[0]);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM runs", NULL, 0), 1);
    store_return(conn);
    for (int i = 0; i < THREADS; i++)
        store_close(stores[i]);
}

/* ---- CRUD ---- */

static void create_values_table(const fixture *f, store_conn *conn)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TABLE vals (id BIGINT PRIMARY KEY, number BIGINT, label TEXT, data %s)",
             blob_type(f));
    script(conn, sql);
}

static void insert_value(store_conn *conn, int64_t id, const store_value *number,
                         const store_value *label, const store_value *data)
{
    const store_value params[] = {STORE_VALUE_INT64(id), *number, *label, *data};
    int64_t changes = 0;
    rsp_error err = {0};
    check_ok(store_exec(conn, "INSERT INTO vals (id, number, label, data) VALUES ($1, $2, $3, $4)",
                        params, 4, &changes, &err),
             &err, "insert");
    assert_int_equal(changes, 1);
}

static void test_crud_every_type(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    create_values_table(f, conn);
    const uint8_t bytes[] = {0x00, 0xFF, 0x5A, 0x00};
    const store_value null = STORE_VALUE_NULL();
    const store_value max = STORE_VALUE_INT64(INT64_MAX), min = STORE_VALUE_INT64(INT64_MIN);
    const store_value utf8 = STORE_VALUE_TEXT("eUICC \xC3\xA9t\xC3\xA9 'quoted' $1");
    const store_value empty_text = STORE_VALUE_TEXT("");
    const store_value blob = STORE_VALUE_BLOB(bytes, sizeof bytes);
    const store_value empty_blob = STORE_VALUE_BLOB(bytes, 0);
    insert_value(conn, 1, &max, &utf8, &blob);
    insert_value(conn, 2, &min, &empty_text, &empty_blob);
    insert_value(conn, 3, &null, &null, &null);

    store_stmt *stmt;
    rsp_error err = {0};
    check_ok(
        store_prepare(conn, "SELECT id, number, label, data FROM vals ORDER BY id", &stmt, &err),
        &err, "prepare");
    bool row = false;
    size_t size = 99;
    check_ok(store_step(stmt, &row, &err), &err, "row 1");
    assert_true(row);
    assert_int_equal(store_column_count(stmt), 4);
    assert_int_equal(store_column_type(stmt, 1), STORE_INT64);
    assert_true(store_column_int64(stmt, 1) == INT64_MAX);
    assert_int_equal(store_column_type(stmt, 2), STORE_TEXT);
    assert_string_equal(store_column_text(stmt, 2), utf8.data);
    assert_int_equal(store_column_type(stmt, 3), STORE_BLOB);
    const uint8_t *data = store_column_blob(stmt, 3, &size);
    assert_int_equal(size, sizeof bytes);
    assert_memory_equal(data, bytes, sizeof bytes);

    check_ok(store_step(stmt, &row, &err), &err, "row 2");
    assert_true(row);
    assert_true(store_column_int64(stmt, 1) == INT64_MIN);
    assert_string_equal(store_column_text(stmt, 2), "");
    assert_false(store_column_is_null(stmt, 2));
    assert_non_null(store_column_blob(stmt, 3, &size));
    assert_int_equal(size, 0);
    assert_false(store_column_is_null(stmt, 3));

    check_ok(store_step(stmt, &row, &err), &err, "row 3");
    assert_true(row);
    assert_int_equal(store_column_int64(stmt, 0), 3);
    assert_true(store_column_is_null(stmt, 1));
    assert_null(store_column_text(stmt, 2));
    assert_null(store_column_blob(stmt, 3, &size));
    assert_int_equal(size, 0);
    /* Out of range reads are harmless. */
    assert_int_equal(store_column_type(stmt, 7), STORE_NULL);

    check_ok(store_step(stmt, &row, &err), &err, "end");
    assert_false(row);
    store_finish(stmt);

    int64_t changes = -1;
    check_ok(store_exec(conn, "UPDATE vals SET label = $1 WHERE id >= $2",
                        (store_value[]){STORE_VALUE_TEXT("changed"), STORE_VALUE_INT64(2)}, 2,
                        &changes, &err),
             &err, "update");
    assert_int_equal(changes, 2);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM vals WHERE label = $1",
                               (store_value[]){STORE_VALUE_TEXT("changed")}, 1),
                     2);
    check_ok(store_exec(conn, "DELETE FROM vals WHERE id = $1",
                        (store_value[]){STORE_VALUE_INT64(3)}, 1, &changes, &err),
             &err, "delete");
    assert_int_equal(changes, 1);
    int64_t untouched = 42;
    assert_int_equal(store_query_int64(conn, "SELECT number FROM vals WHERE id = $1",
                                       (store_value[]){STORE_VALUE_INT64(3)}, 1, &untouched, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(untouched, 42);
    /* Parameters numbered out of order, and "$1" inside a literal is not a parameter. */
    check_ok(store_exec(conn, "INSERT INTO vals (label, id) VALUES ($2, $1)",
                        (store_value[]){STORE_VALUE_INT64(10), STORE_VALUE_TEXT("ten")}, 2, NULL,
                        &err),
             &err, "reordered");
    assert_int_equal(query_int(conn, "SELECT id FROM vals WHERE label = $1 AND label <> '$1'",
                               (store_value[]){STORE_VALUE_TEXT("ten")}, 1),
                     10);
    /* Text of known length without a terminator, as a DER view hands it over. */
    const char iccid_digits[6] = {'8', '9', '0', '4', '9', '9'};
    check_ok(store_exec(conn, "INSERT INTO vals (id, label) VALUES ($1, $2)",
                        (store_value[]){STORE_VALUE_INT64(11), STORE_VALUE_TEXT_N(iccid_digits, 4)},
                        2, NULL, &err),
             &err, "text_n");
    assert_int_equal(query_int(conn, "SELECT id FROM vals WHERE label = $1",
                               (store_value[]){STORE_VALUE_TEXT("8904")}, 1),
                     11);
    store_return(conn);
    store_close(st);
}

static void test_blob_round_trip(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    create_values_table(f, conn);
    const size_t sizes[] = {1, 256, 65537, 1 << 20};
    uint8_t *buffer = malloc(1 << 20);
    assert_non_null(buffer);
    unsigned seed = 7;
    for (size_t i = 0; i < (1u << 20); i++)
        buffer[i] = i < 256 ? (uint8_t)i : (uint8_t)rand_r(&seed);
    rsp_error err = {0};
    for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++) {
        store_stmt *stmt;
        check_ok(store_prepare(conn, "INSERT INTO vals (id, data) VALUES ($1, $2)", &stmt, &err),
                 &err, "prepare");
        store_bind_int64(stmt, 1, (int64_t)n);
        store_bind_blob(stmt, 2, buffer, sizes[n]);
        bool row = true;
        check_ok(store_step(stmt, &row, &err), &err, "insert blob");
        assert_false(row);
        store_finish(stmt);
    }
    store_stmt *stmt;
    check_ok(store_prepare(conn, "SELECT id, data FROM vals ORDER BY id", &stmt, &err), &err,
             "select");
    for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++) {
        bool row = false;
        check_ok(store_step(stmt, &row, &err), &err, "step");
        assert_true(row);
        size_t size = 0;
        const uint8_t *data = store_column_blob(stmt, 1, &size);
        assert_int_equal(size, sizes[n]);
        assert_memory_equal(data, buffer, size);
    }
    store_finish(stmt);
    free(buffer);
    store_return(conn);
    store_close(st);
}

static void test_failures_distinguished(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE parents (id BIGINT PRIMARY KEY, name TEXT UNIQUE);"
                 "CREATE TABLE children (id BIGINT PRIMARY KEY,"
                 " parent BIGINT NOT NULL REFERENCES parents (id))");
    const char *insert = "INSERT INTO parents (id, name) VALUES ($1, $2)";
    rsp_error err = {0};
    check_ok(store_exec(conn, insert, (store_value[]){STORE_VALUE_INT64(1), STORE_VALUE_TEXT("a")},
                        2, NULL, &err),
             &err, "first");
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_NONE);

    /* Same primary key, then same unique name. */
    assert_int_equal(store_exec(conn, insert,
                                (store_value[]){STORE_VALUE_INT64(1), STORE_VALUE_TEXT("b")}, 2,
                                NULL, &err),
                     RSP_ERR_STATE);
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_UNIQUE);
    assert_true(strlen(err.message) > 10);
    print_message("duplicate reported as: %s\n", err.message);
    rsp_error_clear(&err);
    assert_int_equal(store_exec(conn, insert,
                                (store_value[]){STORE_VALUE_INT64(2), STORE_VALUE_TEXT("a")}, 2,
                                NULL, &err),
                     RSP_ERR_STATE);
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_UNIQUE);

    /* Foreign keys are enforced (a pragma on SQLite). */
    rsp_error_clear(&err);
    assert_int_equal(store_exec(conn, "INSERT INTO children (id, parent) VALUES (1, $1)",
                                (store_value[]){STORE_VALUE_INT64(99)}, 1, NULL, &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_CONSTRAINT);

    rsp_error_clear(&err);
    assert_int_equal(store_exec(conn, "SELEKT 1", NULL, 0, NULL, &err), RSP_ERR_INVALID_ARGUMENT);
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_SQL);

    /* A bind error surfaces at the step, with the statement. */
    store_stmt *stmt;
    rsp_error_clear(&err);
    check_ok(store_prepare(conn, insert, &stmt, &err), &err, "prepare");
    assert_int_not_equal(store_bind_int64(stmt, 3, 1), RSP_OK);
    bool row;
    assert_int_equal(store_step(stmt, &row, &err), RSP_ERR_INVALID_ARGUMENT);
    store_finish(stmt);

    /* One statement per prepare. */
    rsp_error_clear(&err);
    assert_int_not_equal(store_prepare(conn, "SELECT 1; SELECT 2", &stmt, &err), RSP_OK);

    check_ok(store_exec(conn, insert, (store_value[]){STORE_VALUE_INT64(3), STORE_VALUE_TEXT("c")},
                        2, NULL, &err),
             &err, "after failures");
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_NONE);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM parents", NULL, 0), 2);
    store_return(conn);
    store_close(st);
}

static void test_statement_cache(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE numbers (n BIGINT)");
    rsp_error err = {0};
    for (int i = 0; i < 10; i++)
        check_ok(store_exec(conn, "INSERT INTO numbers (n) VALUES ($1)",
                            (store_value[]){STORE_VALUE_INT64(i)}, 1, NULL, &err),
                 &err, "insert");
    const char *sql = "SELECT n FROM numbers WHERE n < $1 ORDER BY n";
    store_stmt *outer, *inner, *again;
    check_ok(store_prepare(conn, sql, &outer, &err), &err, "outer");
    store_bind_int64(outer, 1, 3);
    /* The same SQL while the first is still stepping gets a statement of its own. */
    check_ok(store_prepare(conn, sql, &inner, &err), &err, "inner");
    assert_ptr_not_equal(outer, inner);
    store_bind_int64(inner, 1, 10);
    bool row;
    int64_t outer_rows = 0, inner_rows = 0;
    for (check_ok(store_step(outer, &row, &err), &err, "outer"); row;
         check_ok(store_step(outer, &row, &err), &err, "outer"))
        outer_rows++;
    for (check_ok(store_step(inner, &row, &err), &err, "inner"); row;
         check_ok(store_step(inner, &row, &err), &err, "inner"))
        inner_rows++;
    assert_int_equal(outer_rows, 3);
    assert_int_equal(inner_rows, 10);
    store_finish(inner);
    store_finish(outer);
    check_ok(store_prepare(conn, sql, &again, &err), &err, "again");
    assert_true(again == outer || again == inner);
    store_finish(again);
    /* Many distinct statements: the cache stays bounded and every statement still works. */
    for (int i = 0; i < 300; i++) {
        char text[80];
        snprintf(text, sizeof text, "SELECT count(*) + %d FROM numbers", i);
        assert_int_equal(query_int(conn, text, NULL, 0), 10 + i);
    }
    assert_int_equal(query_int(conn, "SELECT count(*) FROM numbers WHERE n < $1",
                               (store_value[]){STORE_VALUE_INT64(5)}, 1),
                     5);
    store_return(conn);
    store_close(st);
}

/* ---- transactions ---- */

typedef struct {
    int calls;
    int fail_first; /* conflicts reported on this many first calls */
    rsp_status final_status;
} transaction_ctx;

static rsp_status insert_then_maybe_fail(store_conn *conn, void *arg, rsp_error *err)
{
    transaction_ctx *ctx = arg;
    ctx->calls++;
    rsp_status status = store_exec(conn, "INSERT INTO ledger (id) VALUES ($1)",
                                   (store_value[]){STORE_VALUE_INT64(ctx->calls)}, 1, NULL, err);
    if (status != RSP_OK)
        return status;
    return ctx->calls <= ctx->fail_first ? ctx->final_status : RSP_OK;
}

static void test_transactions(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)");
    rsp_error err = {0};
    check_ok(store_begin(conn, &err), &err, "begin");
    assert_true(store_in_transaction(conn));
    assert_int_not_equal(store_begin(conn, &err), RSP_OK);
    rsp_error_clear(&err);
    check_ok(store_exec(conn, "INSERT INTO ledger (id) VALUES (100)", NULL, 0, NULL, &err), &err,
             "insert");
    store_rollback(conn);
    assert_false(store_in_transaction(conn));
    assert_int_equal(query_int(conn, "SELECT count(*) FROM ledger", NULL, 0), 0);

    check_ok(store_begin(conn, &err), &err, "begin");
    check_ok(store_exec(conn, "INSERT INTO ledger (id) VALUES (100)", NULL, 0, NULL, &err), &err,
             "insert");
    check_ok(store_commit(conn, &err), &err, "commit");
    assert_int_equal(query_int(conn, "SELECT count(*) FROM ledger", NULL, 0), 1);

    /* A statement failing inside a transaction: commit refuses, nothing of it stays. */
    check_ok(store_begin(conn, &err), &err, "begin");
    check_ok(store_exec(conn, "INSERT INTO ledger (id) VALUES (200)", NULL, 0, NULL, &err), &err,
             "insert");
    assert_int_equal(store_exec(conn, "INSERT INTO ledger (id) VALUES (100)", NULL, 0, NULL, &err),
                     RSP_ERR_STATE);
    if (f->dialect == STORE_DIALECT_POSTGRES) {
        rsp_error_clear(&err);
        assert_int_not_equal(store_commit(conn, &err), RSP_OK);
    } else {
        store_rollback(conn);
    }
    assert_false(store_in_transaction(conn));
    assert_int_equal(query_int(conn, "SELECT count(*) FROM ledger", NULL, 0), 1);

    /* Returning a connection with an open transaction rolls it back. */
    check_ok(store_begin(conn, &err), &err, "begin");
    check_ok(store_exec(conn, "INSERT INTO ledger (id) VALUES (300)", NULL, 0, NULL, &err), &err,
             "insert");
    store_return(conn);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM ledger WHERE id = 300", NULL, 0), 0);
    script(conn, "DELETE FROM ledger");
    store_return(conn);

    /* fn failing for a reason other than a conflict: rolled back, run once. */
    transaction_ctx ctx = {.fail_first = 1, .final_status = RSP_ERR_NOT_FOUND};
    rsp_error_clear(&err);
    assert_int_equal(store_transaction(st, insert_then_maybe_fail, &ctx, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(ctx.calls, 1);
    ctx = (transaction_ctx){0};
    check_ok(store_transaction(st, insert_then_maybe_fail, &ctx, &err), &err, "transaction");
    assert_int_equal(ctx.calls, 1);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM ledger", NULL, 0), 1);
    store_return(conn);
    store_close(st);
}

/* Holds a write lock on the row (PostgreSQL) or the database (SQLite) for a while. */
typedef struct {
    store *st;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool holding;
    unsigned hold_ms;
} holder_ctx;

static void *hold_lock(void *arg)
{
    holder_ctx *ctx = arg;
    store_conn *conn = borrow(ctx->st);
    rsp_error err = {0};
    check_ok(store_begin(conn, &err), &err, "holder begin");
    check_ok(
        store_exec(conn, "UPDATE slots SET value = value + 1 WHERE id = 1", NULL, 0, NULL, &err),
        &err, "holder update");
    pthread_mutex_lock(&ctx->lock);
    ctx->holding = true;
    pthread_cond_signal(&ctx->cond);
    pthread_mutex_unlock(&ctx->lock);
    sleep_ms(ctx->hold_ms);
    check_ok(store_commit(conn, &err), &err, "holder commit");
    store_return(conn);
    return NULL;
}

static rsp_status bump_slot(store_conn *conn, void *arg, rsp_error *err)
{
    int *calls = arg;
    (*calls)++;
    /* NOWAIT turns waiting for the holder into a lock_not_available conflict. */
    const char *sql = store_conn_dialect(conn) == STORE_DIALECT_POSTGRES
                          ? "SELECT value FROM slots WHERE id = 1 FOR UPDATE NOWAIT"
                          : "SELECT value FROM slots WHERE id = 1";
    int64_t value = 0;
    rsp_status status = store_query_int64(conn, sql, NULL, 0, &value, err);
    if (status == RSP_OK)
        status = store_exec(conn, "UPDATE slots SET value = $1 WHERE id = 1",
                            (store_value[]){STORE_VALUE_INT64(value + 10)}, 1, NULL, err);
    return status;
}

static void test_transaction_retries_conflicts(void **state)
{
    const fixture *f = *state;
    /* A short busy timeout so that SQLite reports the held lock as a conflict. */
    store *st = open_store(f, 2, 5000, 20, 200);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE slots (id BIGINT PRIMARY KEY, value BIGINT NOT NULL);"
                 "INSERT INTO slots (id, value) VALUES (1, 0)");
    store_return(conn);
    holder_ctx holder = {.st = st, .hold_ms = 300};
    pthread_mutex_init(&holder.lock, NULL);
    pthread_cond_init(&holder.cond, NULL);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, hold_lock, &holder), 0);
    pthread_mutex_lock(&holder.lock);
    while (!holder.holding)
        pthread_cond_wait(&holder.cond, &holder.lock);
    pthread_mutex_unlock(&holder.lock);
    int calls = 0;
    rsp_error err = {0};
    double start = now_ms();
    check_ok(store_transaction(st, bump_slot, &calls, &err), &err, "retried transaction");
    double waited = now_ms() - start;
    pthread_join(thread, NULL);
    print_message("conflicting transaction succeeded after %.0f ms, fn ran %d times\n", waited,
                  calls);
    assert_true(waited >= 100);
    if (f->dialect == STORE_DIALECT_POSTGRES)
        assert_true(calls > 1); /* on SQLite the retries happen at BEGIN, before fn */
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT value FROM slots WHERE id = 1", NULL, 0), 11);
    store_return(conn);

    /* Bounded: a lock held longer than all attempts gives up with the conflict. */
    store *impatient = open_store(f, 2, 5000, 10, 3);
    holder.st = impatient;
    holder.holding = false;
    holder.hold_ms = 1500;
    assert_int_equal(pthread_create(&thread, NULL, hold_lock, &holder), 0);
    pthread_mutex_lock(&holder.lock);
    while (!holder.holding)
        pthread_cond_wait(&holder.cond, &holder.lock);
    pthread_mutex_unlock(&holder.lock);
    calls = 0;
    rsp_error_clear(&err);
    assert_int_equal(store_transaction(impatient, bump_slot, &calls, &err), RSP_ERR_STATE);
    print_message("gave up with: %s\n", err.message);
    pthread_join(thread, NULL);
    pthread_mutex_destroy(&holder.lock);
    pthread_cond_destroy(&holder.cond);
    store_close(impatient);
    store_close(st);
}

/* ---- concurrency ---- */

enum { COUNTER_THREADS = 4, COUNTER_ROUNDS = 500 };

typedef struct {
    store *st;
    int64_t values[COUNTER_ROUNDS];
    rsp_status status;
} counter_job;

static void *count_up(void *arg)
{
    counter_job *job = arg;
    job->status = RSP_OK;
    for (int i = 0; i < COUNTER_ROUNDS && job->status == RSP_OK; i++) {
        store_conn *conn;
        rsp_error err = {0};
        job->status = store_borrow(job->st, &conn, &err);
        if (job->status != RSP_OK)
            break;
        job->status = store_query_int64(
            conn, "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
            (store_value[]){STORE_VALUE_TEXT("eim")}, 1, &job->values[i], &err);
        if (job->status != RSP_OK)
            fprintf(stderr, "counter: %s\n", err.message);
        store_return(conn);
    }
    return NULL;
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Writers of one process share the SQLite handle kept for writing (store.c writer_enter):
 * statements prepared inside one connection's transaction serve the next connection's, every
 * connection reads what the others committed, a statement left open before BEGIN stays valid,
 * and a rollback leaves nothing behind. */
static void insert_row(store_conn *conn, int64_t id)
{
    rsp_error err = {0};
    check_ok(store_exec(conn, "INSERT INTO shared_rows (id) VALUES ($1)",
                        (store_value[]){STORE_VALUE_INT64(id)}, 1, NULL, &err),
             &err, "insert");
}

static void commit_row(store_conn *conn, int64_t id)
{
    rsp_error err = {0};
    check_ok(store_begin(conn, &err), &err, "begin");
    insert_row(conn, id);
    check_ok(store_commit(conn, &err), &err, "commit");
}

static void test_transactions_across_connections(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *a = borrow(st);
    store_conn *b = borrow(st);
    script(a, "CREATE TABLE shared_rows (id BIGINT PRIMARY KEY)");
    static const char count_sql[] = "SELECT count(*) FROM shared_rows";
    commit_row(a, 1);
    commit_row(b, 2);
    commit_row(a, 3);
    assert_int_equal(query_int(a, count_sql, NULL, 0), 3);
    assert_int_equal(query_int(b, count_sql, NULL, 0), 3);

    /* a transaction begun while a statement of the connection is still stepping (it runs on
     * the connection's own handle): it commits, and the commit ends that statement */
    rsp_error err = {0};
    store_stmt *open = NULL;
    bool row = false;
    check_ok(store_prepare(a, "SELECT id FROM shared_rows ORDER BY id", &open, &err), &err,
             "prepare");
    check_ok(store_step(open, &row, &err), &err, "step");
    assert_true(row);
    assert_int_equal(store_column_int64(open, 0), 1);
    commit_row(a, 4);
    check_ok(store_step(open, &row, &err), &err, "step");
    assert_false(row);
    store_finish(open);
    assert_int_equal(query_int(b, count_sql, NULL, 0), 4);

    /* a rollback on one connection, then a commit on the other */
    check_ok(store_begin(b, &err), &err, "begin");
    insert_row(b, 5);
    store_rollback(b);
    commit_row(a, 6);
    assert_int_equal(query_int(b, count_sql, NULL, 0), 5);
    assert_int_equal(query_int(a, "SELECT count(*) FROM shared_rows WHERE id = 5", NULL, 0), 0);

    /* a duplicate key fails inside the transaction and the connection goes on */
    check_ok(store_begin(b, &err), &err, "begin");
    rsp_status status = store_exec(b, "INSERT INTO shared_rows (id) VALUES ($1)",
                                   (store_value[]){STORE_VALUE_INT64(6)}, 1, NULL, &err);
    assert_int_not_equal(status, RSP_OK);
    store_rollback(b);
    commit_row(b, 7);
    assert_int_equal(query_int(a, count_sql, NULL, 0), 6);
    store_return(b);
    store_return(a);
    store_close(st);
}

/* The count through a reader connection borrowed for that one query. */
static int64_t count_through_reader(store *st, const char *what)
{
    rsp_error err = {0};
    store_conn *reader = NULL;
    check_ok(store_borrow_reader(st, &reader, &err), &err, what);
    int64_t count = query_int(reader, "SELECT count(*) FROM shared_rows", NULL, 0);
    store_return(reader);
    return count;
}

/* A reader connection reads what is committed, whatever handle it got; it refuses writes and
 * transactions; and while one is borrowed a writer of another thread still commits. */
static void test_reader_connections(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *writer = borrow(st);
    script(writer, "CREATE TABLE shared_rows (id BIGINT PRIMARY KEY)");
    commit_row(writer, 1);
    rsp_error err = {0};
    store_conn *reader = NULL;
    check_ok(store_borrow_reader(st, &reader, &err), &err, "borrow reader");
    assert_int_equal(query_int(reader, "SELECT count(*) FROM shared_rows", NULL, 0), 1);
    assert_int_not_equal(store_begin(reader, &err), RSP_OK);
    assert_int_not_equal(
        store_exec(reader, "INSERT INTO shared_rows (id) VALUES (2)", NULL, 0, NULL, &err), RSP_OK);
    assert_int_equal(store_last_failure(reader), STORE_FAILURE_SQL);
    store_return(reader);
    commit_row(writer, 3);
    assert_int_equal(count_through_reader(st, "borrow reader"), 2);
    /* a reader borrowed while a transaction is open sees only what was committed before it */
    check_ok(store_begin(writer, &err), &err, "begin");
    insert_row(writer, 4);
    assert_int_equal(count_through_reader(st, "borrow reader during a write"), 2);
    check_ok(store_commit(writer, &err), &err, "commit");
    assert_int_equal(count_through_reader(st, "borrow reader"), 3);
    store_return(writer);
    store_close(st);
}

static void test_counter_update_returning(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
                 "INSERT INTO counters (name, value) VALUES ('eim', 0)");
    store_return(conn);
    static counter_job jobs[COUNTER_THREADS];
    pthread_t threads[COUNTER_THREADS];
    double start = now_ms();
    for (int i = 0; i < COUNTER_THREADS; i++) {
        jobs[i].st = st;
        assert_int_equal(pthread_create(&threads[i], NULL, count_up, &jobs[i]), 0);
    }
    static int64_t all[COUNTER_THREADS * COUNTER_ROUNDS];
    for (int i = 0; i < COUNTER_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].status, RSP_OK);
        memcpy(&all[i * COUNTER_ROUNDS], jobs[i].values, sizeof jobs[i].values);
    }
    print_message("%d increments in %.0f ms\n", COUNTER_THREADS * COUNTER_ROUNDS, now_ms() - start);
    qsort(all, COUNTER_THREADS * COUNTER_ROUNDS, sizeof all[0], compare_int64);
    for (int i = 0; i < COUNTER_THREADS * COUNTER_ROUNDS; i++)
        assert_int_equal(all[i], i + 1);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT value FROM counters WHERE name = 'eim'", NULL, 0),
                     COUNTER_THREADS * COUNTER_ROUNDS);
    store_return(conn);
    store_close(st);
}

enum { JOBS = 200, WORKERS = 4 };

typedef struct {
    store *st;
    int worker;
    int claimed;
    int *claims; /* shared: claims per job, updated under claims_lock */
    pthread_mutex_t *claims_lock;
    rsp_status status;
} worker_ctx;

typedef struct {
    worker_ctx *worker;
    int64_t job;
    bool found;
} claim_ctx;

/* Claim one job: on PostgreSQL the row lock is taken with SKIP LOCKED so workers never wait on
 * each other; on SQLite BEGIN IMMEDIATE already excludes the other workers. */
static rsp_status claim_one(store_conn *conn, void *arg, rsp_error *err)
{
    claim_ctx *ctx = arg;
    ctx->found = false;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE claimed_by IS NULL ORDER BY id LIMIT 1%s",
             store_sql_skip_locked(ctx->worker->st));
    rsp_status status = store_query_int64(conn, sql, NULL, 0, &ctx->job, err);
    if (status == RSP_ERR_NOT_FOUND)
        return RSP_OK;
    int64_t changes = 0;
    if (status == RSP_OK)
        status = store_exec(
            conn, "UPDATE jobs SET claimed_by = $1 WHERE id = $2",
            (store_value[]){STORE_VALUE_INT64(ctx->worker->worker), STORE_VALUE_INT64(ctx->job)}, 2,
            &changes, err);
    if (status == RSP_OK && changes != 1)
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "job %lld changed %lld rows",
                               (long long)ctx->job, (long long)changes);
    ctx->found = status == RSP_OK;
    return status;
}

static void *work(void *arg)
{
    worker_ctx *worker = arg;
    for (;;) {
        claim_ctx ctx = {.worker = worker};
        rsp_error err = {0};
        worker->status = store_transaction(worker->st, claim_one, &ctx, &err);
        if (worker->status != RSP_OK) {
            fprintf(stderr, "worker %d: %s\n", worker->worker, err.message);
            break;
        }
        if (!ctx.found)
            break;
        worker->claimed++;
        pthread_mutex_lock(worker->claims_lock);
        worker->claims[ctx.job - 1]++;
        pthread_mutex_unlock(worker->claims_lock);
    }
    return NULL;
}

static void test_handout_exactly_once(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE jobs (id BIGINT PRIMARY KEY, claimed_by BIGINT)");
    rsp_error err = {0};
    check_ok(store_begin(conn, &err), &err, "begin");
    for (int i = 1; i <= JOBS; i++)
        check_ok(store_exec(conn, "INSERT INTO jobs (id) VALUES ($1)",
                            (store_value[]){STORE_VALUE_INT64(i)}, 1, NULL, &err),
                 &err, "job");
    check_ok(store_commit(conn, &err), &err, "commit");
    store_return(conn);
    int claims[JOBS] = {0};
    pthread_mutex_t claims_lock = PTHREAD_MUTEX_INITIALIZER;
    worker_ctx workers[WORKERS];
    pthread_t threads[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] =
            (worker_ctx){.st = st, .worker = i + 1, .claims = claims, .claims_lock = &claims_lock};
        assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].status, RSP_OK);
        total += workers[i].claimed;
        print_message("worker %d claimed %d jobs\n", i + 1, workers[i].claimed);
    }
    assert_int_equal(total, JOBS);
    for (int i = 0; i < JOBS; i++)
        assert_int_equal(claims[i], 1);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM jobs WHERE claimed_by IS NULL", NULL, 0),
                     0);
    store_return(conn);
    store_close(st);
}

typedef struct {
    store *st;
    unsigned delay_ms;
    store_conn *conn;
} returner_ctx;

static void *return_later(void *arg)
{
    returner_ctx *ctx = arg;
    sleep_ms(ctx->delay_ms);
    store_return(ctx->conn);
    return NULL;
}

static void test_pool_exhaustion(void **state)
{
    const fixture *f = *state;
    store *st = open_store(f, 2, 150, 0, 0);
    assert_int_equal(store_pool_size(st), 2);
    store_conn *first = borrow(st);
    store_conn *second = borrow(st);
    assert_ptr_not_equal(first, second);
    store_conn *third = NULL;
    rsp_error err = {0};
    double start = now_ms();
    assert_int_equal(store_borrow(st, &third, &err), RSP_ERR_STATE);
    double waited = now_ms() - start;
    print_message("exhausted pool answered after %.0f ms: %s\n", waited, err.message);
    assert_true(waited >= 140 && waited < 2000);
    assert_non_null(strstr(err.message, "exhausted"));

    /* A waiting borrower gets the connection as soon as another thread returns it. */
    returner_ctx returner = {.st = st, .delay_ms = 50, .conn = second};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, return_later, &returner), 0);
    rsp_error_clear(&err);
    check_ok(store_borrow(st, &third, &err), &err, "borrow after return");
    assert_ptr_equal(third, second);
    pthread_join(thread, NULL);

    /* Statements left open are finished when the connection goes back. */
    store_stmt *stmt;
    check_ok(store_prepare(third, "SELECT 1", &stmt, &err), &err, "prepare");
    store_return(third);
    store_return(first);
    store_conn *again = borrow(st);
    assert_int_equal(query_int(again, "SELECT 1", NULL, 0), 1);
    store_return(again);
    store_close(st);
}

static void test_server_connection_lost(void **state)
{
    const fixture *f = *state;
    store *st = open_store(f, 1, 5000, 0, 0);
    store *admin = open_store(f, 1, 5000, 0, 0);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE marks (id BIGINT)");
    const char *count_sql = "SELECT count(*) FROM marks WHERE id > $1";
    assert_int_equal(query_int(conn, count_sql, (store_value[]){STORE_VALUE_INT64(0)}, 1), 0);
    int64_t pid = query_int(conn, "SELECT pg_backend_pid()", NULL, 0);
    store_return(conn);

    /* An administrator (or a server restart) ends the session under the pool's feet. */
    store_conn *admin_conn = borrow(admin);
    assert_int_equal(query_int(admin_conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                               (store_value[]){STORE_VALUE_INT64(pid)}, 1),
                     1);
    rsp_error err = {0};
    check_ok(store_exec(admin_conn, "SELECT pg_terminate_backend($1::int)",
                        (store_value[]){STORE_VALUE_INT64(pid)}, 1, NULL, &err),
             &err, "terminate");
    store_return(admin_conn);
    sleep_ms(100);

    /* The request in flight fails as I/O; the next borrower gets a fresh session in which the
     * cached statement is prepared again. */
    conn = borrow(st);
    int64_t count = -1;
    assert_int_equal(
        store_query_int64(conn, count_sql, (store_value[]){STORE_VALUE_INT64(0)}, 1, &count, &err),
        RSP_ERR_IO);
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_IO);
    print_message("lost session reported as: %s\n", err.message);
    store_return(conn);
    conn = borrow(st);
    assert_int_not_equal(query_int(conn, "SELECT pg_backend_pid()", NULL, 0), pid);
    assert_int_equal(query_int(conn, count_sql, (store_value[]){STORE_VALUE_INT64(0)}, 1), 0);
    store_return(conn);
    store_close(admin);
    store_close(st);
}

/* ---- durability ---- */

enum { PARTS = 5 };

static rsp_status write_batch(store_conn *conn, void *arg, rsp_error *err)
{
    int64_t batch = *(int64_t *)arg;
    static const uint8_t payload[512] = {1};
    rsp_status status = RSP_OK;
    for (int part = 0; part < PARTS && status == RSP_OK; part++)
        status = store_exec(conn, "INSERT INTO ledger (batch, part, payload) VALUES ($1, $2, $3)",
                            (store_value[]){STORE_VALUE_INT64(batch), STORE_VALUE_INT64(part),
                                            STORE_VALUE_BLOB(payload, sizeof payload)},
                            3, NULL, err);
    if (status == RSP_OK)
        status = store_exec(conn, "UPDATE totals SET batches = batches + 1", NULL, 0, NULL, err);
    return status;
}

static void writer_child(const char *url, int64_t first_batch)
{
    store *st = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 1, .borrow_timeout_ms = 5000};
    if (store_open(url, &options, &st, &err) != RSP_OK)
        _exit(3);
    /* Until killed. */
    for (int64_t batch = first_batch;; batch++)
        if (store_transaction(st, write_batch, &batch, &err) != RSP_OK)
            _exit(4);
}

/* The writer child's URL: on PostgreSQL its session is named after the test's schema, so
 * that the parent can tell when the server is done with it. */
static void child_url_of(const fixture *f, char *out, size_t size)
{
    int n;
    if (f->dialect != STORE_DIALECT_POSTGRES)
        n = snprintf(out, size, "%s", f->url);
    else if (strstr(f->url, "://") != NULL)
        n = snprintf(out, size, "%s&application_name=%s_writer", f->url, f->schema);
    else
        n = snprintf(out, size, "%s application_name=%s_writer", f->url, f->schema);
    assert_true(n > 0 && (size_t)n < size);
}

/* A PostgreSQL server may still be finishing the killed child's COMMIT (sent before the kill)
 * when the parent looks: a count taken then misses a batch that commits right after, and the
 * next child collides with it. The session ends once the server has seen the dead socket. */
static void wait_for_child_session_end(const fixture *f, store_conn *conn)
{
    if (f->dialect != STORE_DIALECT_POSTGRES)
        return;
    char name[sizeof f->schema + 16];
    snprintf(name, sizeof name, "%s_writer", f->schema);
    const store_value params[] = {STORE_VALUE_TEXT(name)};
    for (int tries = 0; tries < 1000; tries++) {
        if (query_int(conn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                      params, 1) == 0)
            return;
        sleep_ms(10);
    }
    fail_msg("the killed writer's PostgreSQL session did not end in 10 s");
}

static void test_durability_sigkill(void **state)
{
    const fixture *f = *state;
    char sql[256];
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    snprintf(sql, sizeof sql,
             "CREATE TABLE ledger (batch BIGINT NOT NULL, part BIGINT NOT NULL, payload %s,"
             " PRIMARY KEY (batch, part));"
             "CREATE TABLE totals (batches BIGINT NOT NULL);"
             "INSERT INTO totals (batches) VALUES (0)",
             blob_type(f));
    script(conn, sql);
    store_return(conn);
    store_close(st);

    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("durability seed %u\n", seed);
    char child_url[sizeof f->url + sizeof f->schema + 32];
    child_url_of(f, child_url, sizeof child_url);
    int64_t batches = 0;
    for (int round = 0; round < 6; round++) {
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0)
            writer_child(child_url, batches + 1);
        sleep_ms(40 + (unsigned)rand_r(&seed) % 200);
        assert_int_equal(kill(child, SIGKILL), 0);
        int wstatus = 0;
        assert_int_equal(waitpid(child, &wstatus, 0), child);
        /* Killed by us, not exited on an error of its own. */
        assert_true(WIFSIGNALED(wstatus));

        st = open_default(f);
        conn = borrow(st);
        wait_for_child_session_end(f, conn);
        int64_t torn = query_int(conn,
                                 "SELECT count(*) FROM (SELECT batch FROM ledger GROUP BY batch"
                                 " HAVING count(*) <> 5) AS partial",
                                 NULL, 0);
        int64_t distinct = query_int(
            conn, "SELECT count(*) FROM (SELECT DISTINCT batch FROM ledger) AS b", NULL, 0);
        int64_t recorded = query_int(conn, "SELECT batches FROM totals", NULL, 0);
        int64_t highest = query_int(conn, "SELECT coalesce(max(batch), 0) FROM ledger", NULL, 0);
        assert_int_equal(torn, 0);
        assert_int_equal(distinct, recorded);
        assert_int_equal(highest, recorded); /* no gap: every committed batch is there */
        if (f->dialect == STORE_DIALECT_SQLITE) {
            store_stmt *stmt;
            rsp_error err = {0};
            bool row = false;
            check_ok(store_prepare(conn, "PRAGMA integrity_check", &stmt, &err), &err, "check");
            check_ok(store_step(stmt, &row, &err), &err, "check");
            assert_true(row);
            assert_string_equal(store_column_text(stmt, 0), "ok");
            store_finish(stmt);
        }
        store_return(conn);
        store_close(st);
        print_message("round %d: %lld whole batches after SIGKILL\n", round, (long long)recorded);
        batches = recorded;
    }
    assert_true(batches > 0);
}

/* ---- durable, relaxed and group commits ---- */

typedef struct {
    int64_t id;
    char synchronous_commit[16]; /* PostgreSQL: the setting the transaction ran with */
} insert_ctx;

static rsp_status insert_note(store_conn *conn, void *arg, rsp_error *err)
{
    insert_ctx *ctx = arg;
    rsp_status status = store_exec(conn, "INSERT INTO notes (id) VALUES ($1)",
                                   (store_value[]){STORE_VALUE_INT64(ctx->id)}, 1, NULL, err);
    ctx->synchronous_commit[0] = '\0';
    if (status != RSP_OK || store_conn_dialect(conn) != STORE_DIALECT_POSTGRES)
        return status;
    store_stmt *stmt;
    status = store_prepare(conn, "SELECT current_setting('synchronous_commit')", &stmt, err);
    bool row = false;
    if (status == RSP_OK)
        status = store_step(stmt, &row, err);
    if (status == RSP_OK && row)
        snprintf(ctx->synchronous_commit, sizeof ctx->synchronous_commit, "%s",
                 store_column_text(stmt, 0));
    if (status == RSP_OK)
        store_finish(stmt);
    return status;
}

static void create_notes(store *st)
{
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE notes (id BIGINT PRIMARY KEY)");
    store_return(conn);
}

static int64_t count_notes(store_conn *conn)
{
    return query_int(conn, "SELECT count(*) FROM notes", NULL, 0);
}

static void stats_delta(store *st, const store_statistics *before, store_statistics *delta)
{
    store_statistics now;
    store_stats(st, &now);
    delta->commits = now.commits - before->commits;
    delta->durable_commits = now.durable_commits - before->durable_commits;
    delta->wal_syncs = now.wal_syncs - before->wal_syncs;
}

static void test_relaxed_then_durable(void **state)
{
    const fixture *f = *state;
    bool sqlite = f->dialect == STORE_DIALECT_SQLITE;
    store *st = open_default(f);
    create_notes(st);
    store_conn *writer = borrow(st);
    store_conn *reader = borrow(st);
    store_statistics before, delta;
    store_stats(st, &before);
    rsp_error err = {0};

    insert_ctx ctx = {.id = 1};
    check_ok(store_transaction_relaxed_on(writer, insert_note, &ctx, &err), &err, "relaxed");
    assert_int_equal(count_notes(reader), 1);
    stats_delta(st, &before, &delta);
    assert_int_equal(delta.commits, 1);
    assert_int_equal(delta.durable_commits, 0);
    assert_int_equal(delta.wal_syncs, 0);
    if (!sqlite)
        assert_string_equal(ctx.synchronous_commit, "off");

    ctx.id = 2;
    check_ok(store_transaction_on(writer, insert_note, &ctx, &err), &err, "durable");
    assert_int_equal(count_notes(reader), 2);
    stats_delta(st, &before, &delta);
    assert_int_equal(delta.commits, 2);
    assert_int_equal(delta.durable_commits, 1);
    /* This sync also covers the relaxed commit before it. */
    assert_int_equal(delta.wal_syncs, sqlite ? 1 : 0);
    if (!sqlite)
        assert_string_equal(ctx.synchronous_commit, "on");

    /* Manual transactions and writes outside a transaction are durable too. */
    check_ok(store_begin(writer, &err), &err, "begin");
    check_ok(store_exec(writer, "INSERT INTO notes (id) VALUES (3)", NULL, 0, NULL, &err), &err,
             "insert");
    check_ok(store_commit(writer, &err), &err, "commit");
    check_ok(store_exec(writer, "INSERT INTO notes (id) VALUES (4)", NULL, 0, NULL, &err), &err,
             "autocommit insert");
    /* A RETURNING write left before its end commits when it is finished. */
    store_stmt *stmt;
    bool row = false;
    check_ok(
        store_prepare(writer, "INSERT INTO notes (id) VALUES (5), (6) RETURNING id", &stmt, &err),
        &err, "prepare");
    check_ok(store_step(stmt, &row, &err), &err, "step");
    assert_true(row);
    store_finish(stmt);
    assert_int_equal(count_notes(reader), 6);
    stats_delta(st, &before, &delta);
    assert_int_equal(delta.commits, 5);
    assert_int_equal(delta.durable_commits, 4);
    assert_int_equal(delta.wal_syncs, sqlite ? 4 : 0);
    store_return(reader);
    store_return(writer);
    store_close(st);

    /* relaxed_durability: every commit relaxed, none waits for a sync. */
    store_options options = {.pool_size = 2, .borrow_timeout_ms = 1000, .relaxed_durability = true};
    check_ok(store_open(f->url, &options, &st, &err), &err, "open relaxed");
    store_stats(st, &before);
    ctx.id = 7;
    check_ok(store_transaction(st, insert_note, &ctx, &err), &err, "relaxed store");
    if (!sqlite)
        assert_string_equal(ctx.synchronous_commit, "off");
    reader = borrow(st);
    assert_int_equal(count_notes(reader), 7);
    store_return(reader);
    stats_delta(st, &before, &delta);
    assert_int_equal(delta.commits, 1);
    assert_int_equal(delta.durable_commits, 0);
    assert_int_equal(delta.wal_syncs, 0);
    store_close(st);
}

#define COMMIT_THREADS     8
#define COMMITS_PER_THREAD 40

typedef struct {
    store *st;
    int64_t first;
    int count;
    store_transaction_fn fn;
    bool relaxed;
    rsp_status status;
} committer_ctx;

static void *commit_notes(void *arg)
{
    committer_ctx *job = arg;
    rsp_error err = {0};
    for (int i = 0; i < job->count && job->status == RSP_OK; i++) {
        insert_ctx ctx = {.id = job->first + i};
        job->status = job->relaxed ? store_transaction_relaxed(job->st, job->fn, &ctx, &err)
                                   : store_transaction(job->st, job->fn, &ctx, &err);
    }
    return NULL;
}

static void run_committers(committer_ctx *jobs, int count)
{
    pthread_t threads[COMMIT_THREADS];
    assert_true(count <= COMMIT_THREADS);
    for (int i = 0; i < count; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, commit_notes, &jobs[i]), 0);
    for (int i = 0; i < count; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].status, RSP_OK);
    }
}

static void test_group_commit_threads(void **state)
{
    const fixture *f = *state;
    store *st = open_store(f, COMMIT_THREADS, 30000, 0, 0);
    create_notes(st);
    store_statistics before, delta;
    store_stats(st, &before);
    committer_ctx jobs[COMMIT_THREADS];
    for (int i = 0; i < COMMIT_THREADS; i++)
        jobs[i] = (committer_ctx){.st = st,
                                  .first = (int64_t)i * 1000,
                                  .count = COMMITS_PER_THREAD,
                                  .fn = insert_note,
                                  .status = RSP_OK};
    run_committers(jobs, COMMIT_THREADS);
    stats_delta(st, &before, &delta);
    print_message("%d durable commits, %llu log syncs\n", COMMIT_THREADS * COMMITS_PER_THREAD,
                  (unsigned long long)delta.wal_syncs);
    assert_int_equal(delta.commits, COMMIT_THREADS * COMMITS_PER_THREAD);
    assert_int_equal(delta.durable_commits, COMMIT_THREADS * COMMITS_PER_THREAD);
    if (f->dialect == STORE_DIALECT_SQLITE) {
        assert_true(delta.wal_syncs > 0);
        assert_true(delta.wal_syncs <= delta.durable_commits);
    } else {
        assert_int_equal(delta.wal_syncs, 0); /* the server syncs before answering */
    }
    store_close(st);

    /* Everything is in the file for a fresh process. */
    st = open_default(f);
    store_conn *conn = borrow(st);
    assert_int_equal(count_notes(conn), COMMIT_THREADS * COMMITS_PER_THREAD);
    for (int i = 0; i < COMMIT_THREADS; i++)
        assert_int_equal(query_int(conn, "SELECT count(*) FROM notes WHERE id >= $1 AND id < $2",
                                   (store_value[]){STORE_VALUE_INT64((int64_t)i * 1000),
                                                   STORE_VALUE_INT64((int64_t)i * 1000 + 1000)},
                                   2),
                         COMMITS_PER_THREAD);
    store_return(conn);
    store_close(st);
}

static rsp_status insert_page(store_conn *conn, void *arg, rsp_error *err)
{
    static const uint8_t payload[3000] = {0x30};
    const insert_ctx *ctx = arg;
    return store_exec(
        conn, "INSERT INTO pages (id, data) VALUES ($1, $2)",
        (store_value[]){STORE_VALUE_INT64(ctx->id), STORE_VALUE_BLOB(payload, sizeof payload)}, 2,
        NULL, err);
}

static long long file_size(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 ? (long long)info.st_size : -1;
}

/* Threads committing all the time must not keep the log from starting over: it would grow
 * with every commit (about 3 pages each here, 1,000 pages between checkpoints). */
static void test_log_stays_bounded(void **state)
{
    const fixture *f = *state;
    store *st = open_store(f, COMMIT_THREADS, 30000, 0, 0);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE pages (id BIGINT PRIMARY KEY, data BLOB NOT NULL)");
    store_return(conn);
    committer_ctx jobs[COMMIT_THREADS];
    for (int i = 0; i < COMMIT_THREADS; i++)
        jobs[i] = (committer_ctx){.st = st,
                                  .first = (int64_t)i * 10000,
                                  .count = 600,
                                  .fn = insert_page,
                                  .relaxed = true,
                                  .status = RSP_OK};
    run_committers(jobs, COMMIT_THREADS);
    char log_path[200];
    snprintf(log_path, sizeof log_path, "%s/test.db-wal", f->directory);
    long long log_bytes = file_size(log_path);
    print_message("log after %d commits: %lld bytes\n", COMMIT_THREADS * 600, log_bytes);
    /* Unbounded, it reaches about 8 * 600 * 3 pages = 60 MB. */
    assert_true(log_bytes > 0 && log_bytes < 3 * 1000 * 4120);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM pages", NULL, 0), COMMIT_THREADS * 600);
    store_return(conn);
    store_close(st);
}

/* The child reports each commit through the pipe only once store_transaction returned, then
 * kills itself: whatever it reported must be there. */
static void committing_child(const char *url, int report_fd)
{
    store *st = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 2, .borrow_timeout_ms = 5000};
    if (store_open(url, &options, &st, &err) != RSP_OK)
        _exit(3);
    for (int64_t id = 1; id <= 20; id++) {
        insert_ctx ctx = {.id = id};
        rsp_status status = id % 2 == 0 ? store_transaction(st, insert_note, &ctx, &err)
                                        : store_transaction_relaxed(st, insert_note, &ctx, &err);
        if (status != RSP_OK)
            _exit(4);
        if (write(report_fd, &id, sizeof id) != (ssize_t)sizeof id)
            _exit(5);
    }
    raise(SIGKILL);
    _exit(6);
}

static void test_sigkill_after_durable_commit(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    create_notes(st);
    store_close(st);
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pipe_fds[0]);
        committing_child(f->url, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    int64_t reported = 0, id = 0;
    while (read(pipe_fds[0], &id, sizeof id) == (ssize_t)sizeof id)
        reported = id;
    close(pipe_fds[0]);
    int wstatus = 0;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFSIGNALED(wstatus));
    assert_int_equal(WTERMSIG(wstatus), SIGKILL);
    assert_int_equal(reported, 20);

    st = open_default(f);
    store_conn *conn = borrow(st);
    assert_int_equal(count_notes(conn), 20);
    assert_int_equal(query_int(conn, "SELECT max(id) FROM notes", NULL, 0), 20);
    store_return(conn);
    store_close(st);
}

/* A VFS over SQLite's default one whose log syncs fail on demand: the only way to see what a
 * failed fsync does without a failing disk. */
typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
    bool log;
} test_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs failing_vfs;
static atomic_bool fail_log_syncs;
static atomic_int log_syncs;

static sqlite3_file *real_file(sqlite3_file *file)
{
    return ((test_file *)file)->real;
}

static int tf_close(sqlite3_file *f)
{
    return real_file(f)->pMethods->xClose(real_file(f));
}
static int tf_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return real_file(f)->pMethods->xRead(real_file(f), b, n, o);
}
static int tf_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    return real_file(f)->pMethods->xWrite(real_file(f), b, n, o);
}
static int tf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return real_file(f)->pMethods->xTruncate(real_file(f), size);
}
static int tf_sync(sqlite3_file *f, int flags)
{
    if (((test_file *)f)->log) {
        atomic_fetch_add(&log_syncs, 1);
        if (atomic_load(&fail_log_syncs)) {
            errno = EIO;
            return SQLITE_IOERR_FSYNC;
        }
    }
    return real_file(f)->pMethods->xSync(real_file(f), flags);
}
static int tf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_file(f)->pMethods->xFileSize(real_file(f), size);
}
static int tf_lock(sqlite3_file *f, int lock)
{
    return real_file(f)->pMethods->xLock(real_file(f), lock);
}
static int tf_unlock(sqlite3_file *f, int lock)
{
    return real_file(f)->pMethods->xUnlock(real_file(f), lock);
}
static int tf_check_reserved(sqlite3_file *f, int *out)
{
    return real_file(f)->pMethods->xCheckReservedLock(real_file(f), out);
}
static int tf_file_control(sqlite3_file *f, int op, void *arg)
{
    return real_file(f)->pMethods->xFileControl(real_file(f), op, arg);
}
static int tf_sector_size(sqlite3_file *f)
{
    return real_file(f)->pMethods->xSectorSize(real_file(f));
}
static int tf_device_characteristics(sqlite3_file *f)
{
    return real_file(f)->pMethods->xDeviceCharacteristics(real_file(f));
}
static int tf_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    return real_file(f)->pMethods->xShmMap(real_file(f), region, size, extend, out);
}
static int tf_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real_file(f)->pMethods->xShmLock(real_file(f), offset, n, flags);
}
static void tf_shm_barrier(sqlite3_file *f)
{
    real_file(f)->pMethods->xShmBarrier(real_file(f));
}
static int tf_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return real_file(f)->pMethods->xShmUnmap(real_file(f), delete_flag);
}
static int tf_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out)
{
    return real_file(f)->pMethods->xFetch(real_file(f), offset, amount, out);
}
static int tf_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *page)
{
    return real_file(f)->pMethods->xUnfetch(real_file(f), offset, page);
}

static const sqlite3_io_methods test_file_methods = {
    .iVersion = 3,
    .xClose = tf_close,
    .xRead = tf_read,
    .xWrite = tf_write,
    .xTruncate = tf_truncate,
    .xSync = tf_sync,
    .xFileSize = tf_file_size,
    .xLock = tf_lock,
    .xUnlock = tf_unlock,
    .xCheckReservedLock = tf_check_reserved,
    .xFileControl = tf_file_control,
    .xSectorSize = tf_sector_size,
    .xDeviceCharacteristics = tf_device_characteristics,
    .xShmMap = tf_shm_map,
    .xShmLock = tf_shm_lock,
    .xShmBarrier = tf_shm_barrier,
    .xShmUnmap = tf_shm_unmap,
    .xFetch = tf_fetch,
    .xUnfetch = tf_unfetch,
};

static int test_vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                         int *out_flags)
{
    (void)vfs;
    test_file *wrapper = (test_file *)file;
    wrapper->real = (sqlite3_file *)(wrapper + 1);
    wrapper->log = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = real_vfs->xOpen(real_vfs, name, wrapper->real, flags, out_flags);
    /* SQLite closes a file whose methods are set, even when the open failed. */
    file->pMethods = wrapper->real->pMethods != NULL ? &test_file_methods : NULL;
    return rc;
}

static void install_failing_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(real_vfs);
    failing_vfs = *real_vfs;
    failing_vfs.zName = "rspkit-failing-sync";
    failing_vfs.szOsFile = (int)sizeof(test_file) + real_vfs->szOsFile;
    failing_vfs.xOpen = test_vfs_open;
    failing_vfs.pNext = NULL;
    atomic_store(&fail_log_syncs, false);
    atomic_store(&log_syncs, 0);
    assert_int_equal(sqlite3_vfs_register(&failing_vfs, 1), SQLITE_OK);
}

static void test_sync_failure(void **state)
{
    const fixture *f = *state;
    install_failing_vfs();
    store *st = open_default(f);
    create_notes(st);
    rsp_error err = {0};
    insert_ctx ctx = {.id = 1};
    check_ok(store_transaction(st, insert_note, &ctx, &err), &err, "durable");
    /* The store's syncs went through SQLite's own handle of the log. */
    assert_true(atomic_load(&log_syncs) >= 1);

    atomic_store(&fail_log_syncs, true);
    ctx.id = 2;
    assert_int_equal(store_transaction(st, insert_note, &ctx, &err), RSP_ERR_IO);
    print_message("failed sync: %s\n", err.message);
    assert_non_null(strstr(err.message, "sync"));
    /* A relaxed commit promises nothing a failed sync breaks. */
    ctx.id = 3;
    rsp_error_clear(&err);
    check_ok(store_transaction_relaxed(st, insert_note, &ctx, &err), &err, "relaxed");

    /* Later durable commits fail too, even once the disk answers again: the kernel may have
     * dropped the pages the failed sync did not write. */
    atomic_store(&fail_log_syncs, false);
    ctx.id = 4;
    rsp_error_clear(&err);
    assert_int_equal(store_transaction(st, insert_note, &ctx, &err), RSP_ERR_IO);
    store_conn *conn = borrow(st);
    rsp_error_clear(&err);
    assert_int_equal(store_exec(conn, "INSERT INTO notes (id) VALUES (5)", NULL, 0, NULL, &err),
                     RSP_ERR_IO);
    assert_int_equal(store_last_failure(conn), STORE_FAILURE_IO);
    store_return(conn);
    store_close(st);

    /* Reopened, the store recovers from the file and commits durably again. */
    st = open_default(f);
    ctx.id = 6;
    rsp_error_clear(&err);
    check_ok(store_transaction(st, insert_note, &ctx, &err), &err, "after reopen");
    store_close(st);
    assert_int_equal(sqlite3_vfs_unregister(&failing_vfs), SQLITE_OK);
}

/* A database the store creates gets 2 KiB pages; one made elsewhere keeps its own page size
 * and is used as it is. */
static void test_page_size(void **state)
{
    const fixture *f = *state;
    store *st = open_default(f);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE sized (id BIGINT PRIMARY KEY)");
    assert_int_equal(query_int(conn, "PRAGMA page_size", NULL, 0), 2048);
    store_return(conn);
    store_close(st);

    char path[300], url[310];
    snprintf(path, sizeof path, "%s/made-elsewhere.db", f->directory);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
                                  " CREATE TABLE sized (id BIGINT PRIMARY KEY);"
                                  " INSERT INTO sized VALUES (1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    snprintf(url, sizeof url, "sqlite:%s", path);
    rsp_error err = {0};
    check_ok(store_open(url, NULL, &st, &err), &err, url);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "PRAGMA page_size", NULL, 0), 4096);
    check_ok(store_begin(conn, &err), &err, "begin");
    check_ok(store_exec(conn, "INSERT INTO sized (id) VALUES (2)", NULL, 0, NULL, &err), &err,
             "insert");
    check_ok(store_commit(conn, &err), &err, "commit");
    assert_int_equal(query_int(conn, "SELECT count(*) FROM sized", NULL, 0), 2);
    store_return(conn);
    store_close(st);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(url, sizeof url, "%s%s", path, suffixes[i]);
        unlink(url);
    }
}

/* ---- opening ---- */

static void test_open_urls(void **state)
{
    const fixture *f = *state;
    char url[300];
    store *st = NULL;
    rsp_error err = {0};
    /* Bare path and sqlite:// forms reach the same file. */
    snprintf(url, sizeof url, "%s/test.db", f->directory);
    check_ok(store_open(url, NULL, &st, &err), &err, url);
    store_conn *conn = borrow(st);
    script(conn, "CREATE TABLE marker (id BIGINT)");
    store_return(conn);
    store_close(st);
    snprintf(url, sizeof url, "sqlite://%s/test.db", f->directory);
    check_ok(store_open(url, NULL, &st, &err), &err, url);
    conn = borrow(st);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM marker", NULL, 0), 0);
    assert_string_equal(store_sql_skip_locked(st), "");
    store_return(conn);
    store_close(st);

    assert_int_equal(store_open("", NULL, &st, &err), RSP_ERR_INVALID_ARGUMENT);
    assert_null(st);
    rsp_error_clear(&err);
    assert_int_equal(store_open("sqlite:/nonexistent-dir/x/y.db", NULL, &st, &err), RSP_ERR_IO);
    print_message("bad path: %s\n", err.message);
    /* Nothing listens on port 1: a clear I/O error, no hang. */
    rsp_error_clear(&err);
    assert_int_equal(store_open("postgresql://127.0.0.1:1/none?connect_timeout=2", NULL, &st, &err),
                     RSP_ERR_IO);
    print_message("bad server: %s\n", err.message);
    rsp_error_clear(&err);
    assert_int_equal(store_open("host=127.0.0.1 port=1 connect_timeout=2", NULL, &st, &err),
                     RSP_ERR_IO);
}

static void postgres_unavailable(void **state)
{
    (void)state;
    print_message("SKIPPED LOUDLY: RSPKIT_TEST_POSTGRES is not set, the PostgreSQL half of the "
                  "store tests did not run. Run them with scripts/with-postgres.sh "
                  "ctest -R store (make test does).\n");
    skip();
}

#define BOTH_BACKENDS(setup, teardown)                                                             \
    cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup, teardown),                  \
        cmocka_unit_test_setup_teardown(test_migrations_concurrent, setup, teardown),              \
        cmocka_unit_test_setup_teardown(test_migrations_threads, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(test_crud_every_type, setup, teardown),                    \
        cmocka_unit_test_setup_teardown(test_blob_round_trip, setup, teardown),                    \
        cmocka_unit_test_setup_teardown(test_failures_distinguished, setup, teardown),             \
        cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),                    \
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),                       \
        cmocka_unit_test_setup_teardown(test_transaction_retries_conflicts, setup, teardown),      \
        cmocka_unit_test_setup_teardown(test_transactions_across_connections, setup, teardown),    \
        cmocka_unit_test_setup_teardown(test_reader_connections, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(test_counter_update_returning, setup, teardown),           \
        cmocka_unit_test_setup_teardown(test_handout_exactly_once, setup, teardown),               \
        cmocka_unit_test_setup_teardown(test_pool_exhaustion, setup, teardown),                    \
        cmocka_unit_test_setup_teardown(test_durability_sigkill, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(test_relaxed_then_durable, setup, teardown),               \
        cmocka_unit_test_setup_teardown(test_group_commit_threads, setup, teardown),               \
        cmocka_unit_test_setup_teardown(test_sigkill_after_durable_commit, setup, teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        BOTH_BACKENDS(setup_sqlite, teardown_sqlite),
        cmocka_unit_test_setup_teardown(test_open_urls, setup_sqlite, teardown_sqlite),
        cmocka_unit_test_setup_teardown(test_page_size, setup_sqlite, teardown_sqlite),
        cmocka_unit_test_setup_teardown(test_sync_failure, setup_sqlite, teardown_sqlite),
        cmocka_unit_test_setup_teardown(test_log_stays_bounded, setup_sqlite, teardown_sqlite),
    };
    const struct CMUnitTest postgres_tests[] = {
        BOTH_BACKENDS(setup_postgres, teardown_postgres),
        cmocka_unit_test_setup_teardown(test_server_connection_lost, setup_postgres,
                                        teardown_postgres),
    };
    const struct CMUnitTest postgres_missing[] = {
        cmocka_unit_test(postgres_unavailable),
    };
    /* Development aid: STORE_TEST_FILTER=test_name runs one test. */
    if (getenv("STORE_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("STORE_TEST_FILTER"));
    int failures = cmocka_run_group_tests_name("store_sqlite", sqlite_tests, NULL, NULL);
    if (getenv("RSPKIT_TEST_POSTGRES") != NULL && getenv("RSPKIT_TEST_POSTGRES")[0] != '\0')
        failures += cmocka_run_group_tests_name("store_postgres", postgres_tests, NULL, NULL);
    else
        failures += cmocka_run_group_tests_name("store_postgres", postgres_missing, NULL, NULL);
    return failures;
}
