/* Helpers shared by the SM-DP+ tests (test_server.c, test_inventory.c, test_es2plus.c): reading
 * a test file, failing the running cmocka test on an unexpected status, PostgreSQL schema
 * administration and a profile's inventory state. Static inline so that each test includes only
 * what it uses. Include after <cmocka.h>. */
#ifndef RSPKIT_TESTS_SMDP_FIXTURE_H
#define RSPKIT_TESTS_SMDP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "smdp/inventory.h"
#include "store/store.h"

/* Whole file into a malloc'd buffer the caller frees; NULL when it cannot be read. */
static inline uint8_t *read_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    uint8_t *data = NULL;
    long size = -1;
    if (fseek(file, 0, SEEK_END) == 0)
        size = ftell(file);
    if (size >= 0 && fseek(file, 0, SEEK_SET) == 0)
        data = malloc(size > 0 ? (size_t)size : 1);
    if (data != NULL)
        *len = fread(data, 1, (size_t)size, file);
    fclose(file);
    return data;
}

static inline void check(rsp_status st, const rsp_error *err)
{
    if (st != RSP_OK)
        print_message("error: %s (%s)\n", err->message, rsp_status_name(st));
    assert_int_equal(st, RSP_OK);
}

/* Runs `format` with the schema name substituted on the RSPKIT_TEST_POSTGRES database. */
static inline void postgres_admin(const char *format, const char *schema)
{
    store *st = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 1, .borrow_timeout_ms = 2000};
    check(store_open(getenv("RSPKIT_TEST_POSTGRES"), &options, &st, &err), &err);
    char sql[160];
    snprintf(sql, sizeof sql, format, schema);
    store_conn *conn = NULL;
    check(store_borrow(st, &conn, &err), &err);
    check(store_exec_script(conn, sql, &err), &err);
    store_return(conn);
    store_close(st);
}

static inline smdp_profile_state inventory_state(smdp_inventory *inventory, const char *iccid)
{
    smdp_profile_info info;
    rsp_error err = {0};
    check(smdp_inventory_get(inventory, iccid, &info, &err), &err);
    return info.state;
}

#endif
