/* bench store: rows inserted per second and counter increments per second through the storage
 * layer, next to raw sqlite3 calls doing exactly the same in the same run on the same kind of
 * file (WAL, synchronous=FULL), so the ratio shows what the layer costs. Workloads:
 *   - durable inserts: one row per transaction (each commit waits for the disk);
 *   - batched inserts: 1000 rows per transaction (CPU-bound: the layer's own overhead);
 *   - counter: autocommit UPDATE ... RETURNING, the eIM/SM-DP+ counter pattern;
 *   - concurrent durable commits: T threads x N one-row transactions, as the servers' request
 *     threads commit, with group commit against one sync per commit (synchronous=FULL, what
 *     the store did before group commit) and against relaxed commits (no sync at all).
 * With RSPKIT_TEST_POSTGRES or --postgres URL the same workloads also run on PostgreSQL. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/store.h"
#include "store/store.h"

#define BATCH_ROWS 1000

typedef struct {
    long rows;       /* batched inserts */
    long durable;    /* single-row transactions */
    long increments; /* counter updates */
    long threads;    /* concurrent committers */
    long commits;    /* single-row transactions per concurrent committer */
} bench_sizes;

typedef struct {
    double durable_per_second;
    double batched_per_second;
    double increments_per_second;
} bench_result;

static const uint8_t payload[64] = {0x5A, 0x0A, 0x98, 0x10};

/* ---- through the store ---- */

typedef struct {
    long first;
    long count;
} insert_range;

static rsp_status insert_rows(store_conn *conn, void *arg, rsp_error *err)
{
    const insert_range *range = arg;
    rsp_status status = RSP_OK;
    for (long i = 0; i < range->count && status == RSP_OK; i++)
        status = store_exec(conn, "INSERT INTO bench_rows (id, label, data) VALUES ($1, $2, $3)",
                            (store_value[]){STORE_VALUE_INT64(range->first + i),
                                            STORE_VALUE_TEXT("89049032123451234512345678901235"),
                                            STORE_VALUE_BLOB(payload, sizeof payload)},
                            3, NULL, err);
    return status;
}

static rsp_status store_schema(store *st, rsp_error *err)
{
    store_conn *conn;
    rsp_status status = store_borrow(st, &conn, err);
    if (status != RSP_OK)
        return status;
    const char *blob = store_dialect(st) == STORE_DIALECT_POSTGRES ? "BYTEA" : "BLOB";
    char sql[400];
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS bench_rows; DROP TABLE IF EXISTS bench_counters;"
             "CREATE TABLE bench_rows (id BIGINT PRIMARY KEY, label TEXT NOT NULL,"
             " data %s NOT NULL);"
             "CREATE TABLE bench_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
             "INSERT INTO bench_counters (name, value) VALUES ('bench', 0)",
             blob);
    status = store_exec_script(conn, sql, err);
    store_return(conn);
    return status;
}

static rsp_status store_counter(store *st, long increments, rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status status = store_borrow(st, &conn, err);
    int64_t value = 0;
    for (long i = 0; i < increments && status == RSP_OK; i++)
        status = store_query_int64(
            conn, "UPDATE bench_counters SET value = value + 1 WHERE name = $1 RETURNING value",
            (store_value[]){STORE_VALUE_TEXT("bench")}, 1, &value, err);
    if (status == RSP_OK && value != increments)
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "counter ended at %lld, not %ld",
                               (long long)value, increments);
    store_return(conn);
    return status;
}

static rsp_status run_store(const char *url, const bench_sizes *sizes, bench_result *result,
                            rsp_error *err)
{
    store *st = NULL;
    store_options options = {.pool_size = 1, .borrow_timeout_ms = 10000};
    rsp_status status = store_open(url, &options, &st, err);
    if (status == RSP_OK)
        status = store_schema(st, err);
    double start = bench_now();
    for (long i = 0; i < sizes->durable && status == RSP_OK; i++) {
        insert_range range = {.first = i, .count = 1};
        status = store_transaction(st, insert_rows, &range, err);
    }
    result->durable_per_second = (double)sizes->durable / (bench_now() - start);
    start = bench_now();
    for (long i = 0; i < sizes->rows && status == RSP_OK; i += BATCH_ROWS) {
        insert_range range = {.first = sizes->durable + i,
                              .count = sizes->rows - i < BATCH_ROWS ? sizes->rows - i : BATCH_ROWS};
        status = store_transaction(st, insert_rows, &range, err);
    }
    result->batched_per_second = (double)sizes->rows / (bench_now() - start);
    start = bench_now();
    if (status == RSP_OK)
        status = store_counter(st, sizes->increments, err);
    result->increments_per_second = (double)sizes->increments / (bench_now() - start);
    store_close(st);
    return status;
}

/* ---- concurrent durable commits ---- */

typedef enum {
    COMMIT_EACH_SYNCED, /* synchronous=FULL on every connection, no shared sync: the old store */
    COMMIT_GROUP,       /* durable commits sharing syncs */
    COMMIT_RELAXED,     /* no sync */
} commit_mode;

typedef struct {
    double commits_per_second;
    double cpu_us_per_commit;
    double syncs_per_commit;
} concurrent_result;

typedef struct {
    store *st;
    long first;
    long count;
    rsp_status status;
    rsp_error err;
} committer;

static void *commit_rows(void *arg)
{
    committer *job = arg;
    for (long i = 0; i < job->count && job->status == RSP_OK; i++) {
        insert_range range = {.first = job->first + i, .count = 1};
        job->status = store_transaction(job->st, insert_rows, &range, &job->err);
    }
    return NULL;
}

/* Whether the handle that writes runs synchronous=FULL (2): writes go through the store's one
 * writing handle, which a transaction swaps in. */
static rsp_status writer_syncs_each_commit(store *st, rsp_error *err)
{
    store_conn *conn = NULL;
    int64_t level = -1;
    rsp_status status = store_borrow(st, &conn, err);
    if (status == RSP_OK)
        status = store_begin(conn, err);
    if (status == RSP_OK)
        status = store_query_int64(conn, "PRAGMA synchronous", NULL, 0, &level, err);
    if (conn != NULL) {
        store_rollback(conn);
        store_return(conn);
    }
    if (status == RSP_OK && level != 2)
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0,
                               "bench store: the writing handle is not synchronous=FULL");
    return status;
}

/* The old store: every connection syncs at each commit by itself. The writing handle is set
 * through a reader borrowed while no transaction holds it, which lends it that handle. */
static rsp_status sync_every_commit(store *st, rsp_error *err)
{
    store_conn *conns[64];
    unsigned held = 0;
    rsp_status status = RSP_OK;
    while (held < store_pool_size(st) && status == RSP_OK) {
        status = store_borrow(st, &conns[held], err);
        if (status == RSP_OK)
            status = store_exec_script(conns[held++], "PRAGMA synchronous=FULL", err);
    }
    while (held > 0)
        store_return(conns[--held]);
    store_conn *reader = NULL;
    if (status == RSP_OK)
        status = store_borrow_reader(st, &reader, err);
    if (status == RSP_OK) {
        status = store_exec_script(reader, "PRAGMA synchronous=FULL", err);
        store_return(reader);
    }
    return status == RSP_OK ? writer_syncs_each_commit(st, err) : status;
}

static rsp_status run_committers(store *st, const bench_sizes *sizes, rsp_error *err)
{
    committer jobs[64];
    pthread_t threads[64];
    long started = 0;
    for (; started < sizes->threads; started++) {
        jobs[started] = (committer){
            .st = st, .first = started * sizes->commits, .count = sizes->commits, .status = RSP_OK};
        if (pthread_create(&threads[started], NULL, commit_rows, &jobs[started]) != 0)
            break;
    }
    rsp_status status = started == sizes->threads ? RSP_OK : RSP_ERR_NO_MEMORY;
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "cannot start committer threads");
    for (long i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        if (jobs[i].status != RSP_OK && status == RSP_OK) {
            status = jobs[i].status;
            *err = jobs[i].err;
        }
    }
    return status;
}

static rsp_status run_concurrent(const char *url, commit_mode mode, const bench_sizes *sizes,
                                 concurrent_result *result, rsp_error *err)
{
    store *st = NULL;
    store_options options = {.pool_size = (unsigned)sizes->threads,
                             .borrow_timeout_ms = 30000,
                             .relaxed_durability = mode != COMMIT_GROUP};
    rsp_status status = store_open(url, &options, &st, err);
    if (status == RSP_OK)
        status = store_schema(st, err);
    if (status == RSP_OK && mode == COMMIT_EACH_SYNCED)
        status = sync_every_commit(st, err);
    store_statistics before = {0}, after = {0};
    if (status == RSP_OK)
        store_stats(st, &before);
    double start = bench_now(), cpu = bench_cpu_seconds();
    if (status == RSP_OK)
        status = run_committers(st, sizes, err);
    double elapsed = bench_now() - start;
    cpu = bench_cpu_seconds() - cpu;
    double commits = (double)(sizes->threads * sizes->commits);
    if (status == RSP_OK) {
        store_stats(st, &after);
        result->commits_per_second = commits / elapsed;
        result->cpu_us_per_commit = cpu * 1e6 / commits;
        /* synchronous=FULL syncs inside SQLite, once per commit, unseen by the counter. */
        result->syncs_per_commit = mode == COMMIT_EACH_SYNCED
                                       ? 1.0
                                       : (double)(after.wal_syncs - before.wal_syncs) / commits;
    }
    store_close(st);
    return status;
}

static void print_concurrent(const char *what, const concurrent_result *result)
{
    printf("  %-38s %12.0f/s %11.1f us %10.3f\n", what, result->commits_per_second,
           result->cpu_us_per_commit, result->syncs_per_commit);
}

static void remove_database(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm"};
    char name[300];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static rsp_status bench_concurrent(const char *folder, const bench_sizes *sizes, rsp_error *err)
{
    static const struct {
        commit_mode mode;
        const char *name;
        const char *label;
    } modes[] = {
        {COMMIT_EACH_SYNCED, "each", "durable, one sync per commit (FULL)"},
        {COMMIT_GROUP, "group", "durable, group commit"},
        {COMMIT_RELAXED, "relaxed", "relaxed (no sync)"},
    };
    concurrent_result results[3] = {{0}};
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < 3 && status == RSP_OK; i++) {
        char path[240], url[260];
        snprintf(path, sizeof path, "%s/%s.db", folder, modes[i].name);
        snprintf(url, sizeof url, "sqlite:%s", path);
        status = run_concurrent(url, modes[i].mode, sizes, &results[i], err);
        remove_database(path);
    }
    if (status != RSP_OK)
        return status;
    printf("bench store: %ld threads x %ld one-row transactions, SQLite WAL\n", sizes->threads,
           sizes->commits);
    printf("  %-38s %14s %14s %10s\n", "", "commits", "CPU/commit", "syncs/commit");
    for (size_t i = 0; i < 3; i++)
        print_concurrent(modes[i].label, &results[i]);
    return RSP_OK;
}

/* ---- raw sqlite3, the same statements ---- */

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *increment;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
} raw_db;

static bool raw_ok(int rc, int expected, const raw_db *raw, rsp_error *err)
{
    if (rc == expected)
        return true;
    rsp_error_set(err, RSP_ERR_IO, 0, 0, "raw sqlite3: %s", sqlite3_errmsg(raw->db));
    return false;
}

static bool raw_step(sqlite3_stmt *stmt, const raw_db *raw, rsp_error *err)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return raw_ok(rc, SQLITE_DONE, raw, err);
}

static bool raw_open(raw_db *raw, const char *path, rsp_error *err)
{
    bool ok = raw_ok(
        sqlite3_open_v2(path, &raw->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL),
        SQLITE_OK, raw, err);
    ok = ok && raw_ok(sqlite3_exec(raw->db,
                                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                   "PRAGMA foreign_keys=ON;"
                                   "CREATE TABLE bench_rows (id BIGINT PRIMARY KEY,"
                                   " label TEXT NOT NULL, data BLOB NOT NULL);"
                                   "CREATE TABLE bench_counters (name TEXT PRIMARY KEY,"
                                   " value BIGINT NOT NULL);"
                                   "INSERT INTO bench_counters VALUES ('bench', 0)",
                                   NULL, NULL, NULL),
                      SQLITE_OK, raw, err);
    ok = ok && raw_ok(sqlite3_prepare_v2(raw->db,
                                         "INSERT INTO bench_rows (id, label, data)"
                                         " VALUES (?1, ?2, ?3)",
                                         -1, &raw->insert, NULL),
                      SQLITE_OK, raw, err);
    ok = ok && raw_ok(sqlite3_prepare_v2(raw->db,
                                         "UPDATE bench_counters SET value = value + 1"
                                         " WHERE name = ?1 RETURNING value",
                                         -1, &raw->increment, NULL),
                      SQLITE_OK, raw, err);
    ok = ok && raw_ok(sqlite3_prepare_v2(raw->db, "BEGIN IMMEDIATE", -1, &raw->begin, NULL),
                      SQLITE_OK, raw, err);
    ok = ok &&
         raw_ok(sqlite3_prepare_v2(raw->db, "COMMIT", -1, &raw->commit, NULL), SQLITE_OK, raw, err);
    return ok;
}

static void raw_close(raw_db *raw)
{
    sqlite3_finalize(raw->insert);
    sqlite3_finalize(raw->increment);
    sqlite3_finalize(raw->begin);
    sqlite3_finalize(raw->commit);
    sqlite3_close_v2(raw->db);
}

static bool raw_insert_rows(raw_db *raw, long first, long count, rsp_error *err)
{
    bool ok = raw_step(raw->begin, raw, err);
    for (long i = 0; i < count && ok; i++) {
        sqlite3_bind_int64(raw->insert, 1, first + i);
        sqlite3_bind_text(raw->insert, 2, "89049032123451234512345678901235", -1, SQLITE_STATIC);
        sqlite3_bind_blob(raw->insert, 3, payload, sizeof payload, SQLITE_STATIC);
        ok = raw_step(raw->insert, raw, err);
    }
    return ok && raw_step(raw->commit, raw, err);
}

static bool raw_counter(raw_db *raw, long increments, rsp_error *err)
{
    int64_t value = 0;
    bool ok = true;
    for (long i = 0; i < increments && ok; i++) {
        sqlite3_bind_text(raw->increment, 1, "bench", -1, SQLITE_STATIC);
        int rc = sqlite3_step(raw->increment);
        ok = raw_ok(rc, SQLITE_ROW, raw, err);
        if (ok)
            value = sqlite3_column_int64(raw->increment, 0);
        while (rc == SQLITE_ROW)
            rc = sqlite3_step(raw->increment);
        sqlite3_reset(raw->increment);
    }
    if (ok && value != increments) {
        rsp_error_set(err, RSP_ERR_STATE, 0, 0, "raw counter ended at %lld", (long long)value);
        ok = false;
    }
    return ok;
}

static rsp_status run_raw(const char *path, const bench_sizes *sizes, bench_result *result,
                          rsp_error *err)
{
    raw_db raw = {0};
    bool ok = raw_open(&raw, path, err);
    double start = bench_now();
    for (long i = 0; i < sizes->durable && ok; i++)
        ok = raw_insert_rows(&raw, i, 1, err);
    result->durable_per_second = (double)sizes->durable / (bench_now() - start);
    start = bench_now();
    for (long i = 0; i < sizes->rows && ok; i += BATCH_ROWS)
        ok = raw_insert_rows(&raw, sizes->durable + i,
                             sizes->rows - i < BATCH_ROWS ? sizes->rows - i : BATCH_ROWS, err);
    result->batched_per_second = (double)sizes->rows / (bench_now() - start);
    start = bench_now();
    ok = ok && raw_counter(&raw, sizes->increments, err);
    result->increments_per_second = (double)sizes->increments / (bench_now() - start);
    raw_close(&raw);
    return ok ? RSP_OK : (err->code != RSP_OK ? err->code : RSP_ERR_IO);
}

/* ---- driver ---- */

static void print_row(const char *what, double layer, double reference, bool has_reference)
{
    if (has_reference)
        printf("  %-38s %12.0f/s %12.0f/s %8.2f\n", what, layer, reference, layer / reference);
    else
        printf("  %-38s %12.0f/s %14s %8s\n", what, layer, "-", "-");
}

static void print_result(const bench_result *layer, const bench_result *reference)
{
    printf("  %-38s %14s %14s %8s\n", "", "rspkit store", "raw sqlite3", "ratio");
    print_row("insert, 1 row per transaction", layer->durable_per_second,
              reference != NULL ? reference->durable_per_second : 0, reference != NULL);
    print_row("insert, 1000 rows per transaction", layer->batched_per_second,
              reference != NULL ? reference->batched_per_second : 0, reference != NULL);
    print_row("counter UPDATE ... RETURNING", layer->increments_per_second,
              reference != NULL ? reference->increments_per_second : 0, reference != NULL);
}

static int bench_sqlite(const bench_sizes *sizes)
{
    char folder[] = "/tmp/rspkit-bench-store-XXXXXX";
    if (mkdtemp(folder) == NULL) {
        perror("bench store: mkdtemp");
        return 1;
    }
    char layer_path[200], raw_path[200], url[220];
    snprintf(layer_path, sizeof layer_path, "%s/store.db", folder);
    snprintf(raw_path, sizeof raw_path, "%s/raw.db", folder);
    snprintf(url, sizeof url, "sqlite:%s", layer_path);
    bench_result layer = {0}, reference = {0};
    rsp_error err = {0};
    /* Reference first, then the layer: neither gets a warmer file system than the other. */
    rsp_status status = run_raw(raw_path, sizes, &reference, &err);
    if (status == RSP_OK)
        status = run_store(url, sizes, &layer, &err);
    remove_database(layer_path);
    remove_database(raw_path);
    if (status == RSP_OK) {
        printf("bench store: SQLite %s, WAL, file in /tmp (store: group commit; raw sqlite3:"
               " synchronous=FULL)\n",
               sqlite3_libversion());
        print_result(&layer, &reference);
        status = bench_concurrent(folder, sizes, &err);
    }
    rmdir(folder);
    if (status != RSP_OK) {
        char text[200];
        fprintf(stderr, "bench store: %s\n", rsp_error_format(&err, text, sizeof text));
        return 1;
    }
    return 0;
}

static int bench_postgres(const char *url, const bench_sizes *sizes)
{
    bench_result layer = {0};
    rsp_error err = {0};
    rsp_status status = run_store(url, sizes, &layer, &err);
    if (status != RSP_OK) {
        char text[200];
        fprintf(stderr, "bench store: PostgreSQL: %s\n", rsp_error_format(&err, text, sizeof text));
        return 1;
    }
    /* The bench tables live in the given database: leave it as found. */
    store *st = NULL;
    store_conn *conn = NULL;
    if (store_open(url, &(store_options){.pool_size = 1}, &st, &err) == RSP_OK &&
        store_borrow(st, &conn, &err) == RSP_OK) {
        store_exec_script(conn, "DROP TABLE bench_rows; DROP TABLE bench_counters", &err);
        store_return(conn);
    }
    store_close(st);
    printf("bench store: PostgreSQL (through the store; no raw libpq reference)\n");
    print_result(&layer, NULL);
    return 0;
}

static bool parse_count(const char *text, long *out)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value <= 0)
        return false;
    *out = value;
    return true;
}

int bench_store(int argc, char **argv)
{
    bench_sizes sizes = {
        .rows = 20000, .durable = 500, .increments = 2000, .threads = 8, .commits = 250};
    const char *postgres = getenv("RSPKIT_TEST_POSTGRES");
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--rows") == 0 && has_value && parse_count(argv[i + 1], &sizes.rows))
            i++;
        else if (strcmp(argv[i], "--durable") == 0 && has_value &&
                 parse_count(argv[i + 1], &sizes.durable))
            i++;
        else if (strcmp(argv[i], "--increments") == 0 && has_value &&
                 parse_count(argv[i + 1], &sizes.increments))
            i++;
        else if (strcmp(argv[i], "--threads") == 0 && has_value &&
                 parse_count(argv[i + 1], &sizes.threads) && sizes.threads <= 64)
            i++;
        else if (strcmp(argv[i], "--commits") == 0 && has_value &&
                 parse_count(argv[i + 1], &sizes.commits))
            i++;
        else if (strcmp(argv[i], "--postgres") == 0 && has_value)
            postgres = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--rows N] [--durable N] [--increments N] [--threads N (<= 64)]"
                    " [--commits N per thread] [--postgres URL]\n",
                    argv[0]);
            return 2;
        }
    }
    int status = bench_sqlite(&sizes);
    if (postgres != NULL && postgres[0] != '\0')
        status |= bench_postgres(postgres, &sizes);
    else
        printf("bench store: PostgreSQL skipped (set RSPKIT_TEST_POSTGRES or pass --postgres)\n");
    return status;
}
