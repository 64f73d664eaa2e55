/* SM-DP+ inventory and storage against SQLite and (when RSPKIT_TEST_POSTGRES is set)
 * PostgreSQL: import and batch personalisation of TS.48 packages, the order state machine of
 * ES2+ and ES9+, EID binding, the confirmation code retry limit, profile-type hand-out,
 * download sessions with compare-and-set steps and expiry, and the callback outbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "smdp_fixture.h"

#include "core/saip.h"
#include "smdp/inventory.h"

#define EID_A "89049032123451234512345678901235"
#define EID_B "89049032123451234512345678909965"

typedef struct {
    bool postgres;
    char directory[64];
    char url[512];
    char schema[64];
    store *st;
    smdp_inventory inventory;
    smdp_operator operators[2];
    int64_t now;
    uint8_t *package;
    size_t package_len;
    char iccid[SMDP_ICCID_SIZE];
} fixture;

static unsigned fixture_counter;

static int64_t test_clock(void *user)
{
    return ((fixture *)user)->now;
}

static int setup(void **state, bool postgres)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->postgres = postgres;
    f->now = 1800000000;
    if (postgres) {
        const char *base = getenv("RSPKIT_TEST_POSTGRES");
        snprintf(f->schema, sizeof f->schema, "smdp_inv_%ld_%u", (long)getpid(), ++fixture_counter);
        postgres_admin("CREATE SCHEMA %s", f->schema);
        snprintf(f->url, sizeof f->url, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') != NULL ? "&" : "?", f->schema);
    } else {
        snprintf(f->directory, sizeof f->directory, "/tmp/smdp-inventory-XXXXXX");
        assert_non_null(mkdtemp(f->directory));
        snprintf(f->url, sizeof f->url, "sqlite:%s/smdp.db", f->directory);
    }
    rsp_error err = {0};
    store_options options = {.pool_size = 4, .borrow_timeout_ms = 5000};
    check(store_open(f->url, &options, &f->st, &err), &err);
    check(smdp_storage_migrate(f->st, &err), &err);
    /* Migrating twice is a no-op (several processes start at once). */
    check(smdp_storage_migrate(f->st, &err), &err);
    snprintf(f->operators[0].id, sizeof f->operators[0].id, "op-a");
    snprintf(f->operators[0].callback_url, sizeof f->operators[0].callback_url,
             "https://127.0.0.1:1/progress");
    snprintf(f->operators[1].id, sizeof f->operators[1].id, "op-b");
    f->inventory = (smdp_inventory){.store = f->st,
                                    .operators = f->operators,
                                    .operator_count = 2,
                                    .confirmation_code_max_attempts = 3,
                                    .download_max_attempts = 4,
                                    .session_ttl_seconds = 100,
                                    .clock = test_clock,
                                    .clock_user = f};
    snprintf(f->inventory.smdp_address, sizeof f->inventory.smdp_address, "localhost:8443");
    *state = f;
    return 0;
}

static int setup_sqlite(void **state)
{
    return setup(state, false);
}

static int setup_postgres(void **state)
{
    return setup(state, true);
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    free(f->package);
    if (f->postgres) {
        postgres_admin("DROP SCHEMA %s CASCADE", f->schema);
    } else {
        char path[128];
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/smdp.db%s", f->directory, suffixes[i]);
            unlink(path);
        }
        rmdir(f->directory);
    }
    free(f);
    return 0;
}

static bool load_package(fixture *f, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/%s", RSPKIT_SHARED_DIR, name);
    f->package = read_file(path, &f->package_len);
    if (f->package == NULL) {
        print_message("SKIPPED LOUDLY: %s is absent (GSMA TS.48 test data not available)\n", path);
        return false;
    }
    return true;
}

/* Imports copy `index` of the package for operator; returns its ICCID in out. */
static void import_copy(fixture *f, const char *operator_id, uint64_t index,
                        char out[SMDP_ICCID_SIZE])
{
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    rsp_error err = {0};
    check(smdp_personalise_copy(f->package, f->package_len, index, &copy, &copy_len, &err), &err);
    check(smdp_inventory_import(&f->inventory, operator_id, copy, copy_len, out, &err), &err);
    free(copy);
}

/* Imports copy `index` for operator and orders it, released, for any EID; returns its ICCID in
 * iccid and the order's matching ID in result. */
static void released_order(fixture *f, const char *operator_id, uint64_t index,
                           char iccid[SMDP_ICCID_SIZE], smdp_confirm_result *result)
{
    rsp_error err = {0};
    char got[SMDP_ICCID_SIZE];
    import_copy(f, operator_id, index, iccid);
    smdp_download_order order = {.operator_id = operator_id, .iccid = iccid};
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = operator_id, .iccid = iccid, .release = true};
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, result, &err), SMDP_STATUS_OK);
}

static smdp_profile_state state_of(fixture *f, const char *iccid)
{
    return inventory_state(&f->inventory, iccid);
}

static int64_t outbox_count(fixture *f)
{
    int64_t count = 0;
    rsp_error err = {0};
    check(smdp_outbox_pending(&f->inventory, &count, &err), &err);
    return count;
}

static void count_visit(const smdp_profile_info *profile, void *user)
{
    (void)profile;
    (*(size_t *)user)++;
}

/* ---- tests ---- */

static void test_state_machine_table(void **state)
{
    (void)state;
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_AVAILABLE, SMDP_PROFILE_ALLOCATED));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_AVAILABLE, SMDP_PROFILE_LINKED));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_LINKED, SMDP_PROFILE_CONFIRMED));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_CONFIRMED, SMDP_PROFILE_RELEASED));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_RELEASED, SMDP_PROFILE_DOWNLOADED));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_DOWNLOADED, SMDP_PROFILE_INSTALLED));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_DOWNLOADED, SMDP_PROFILE_ERROR));
    assert_true(smdp_profile_transition_allowed(SMDP_PROFILE_RELEASED, SMDP_PROFILE_AVAILABLE));
    assert_false(smdp_profile_transition_allowed(SMDP_PROFILE_AVAILABLE, SMDP_PROFILE_RELEASED));
    assert_false(smdp_profile_transition_allowed(SMDP_PROFILE_INSTALLED, SMDP_PROFILE_AVAILABLE));
    assert_false(smdp_profile_transition_allowed(SMDP_PROFILE_DOWNLOADED, SMDP_PROFILE_AVAILABLE));
    assert_false(smdp_profile_transition_allowed(SMDP_PROFILE_RELEASED, SMDP_PROFILE_INSTALLED));
    for (int i = 0; i < SMDP_PROFILE__COUNT; i++) {
        smdp_profile_state parsed;
        assert_true(smdp_profile_state_parse(smdp_profile_state_name(i), &parsed));
        assert_int_equal(parsed, i);
    }
    /* Every status has a subject and a reason code. */
    for (int i = 1; i < SMDP_STATUS__COUNT; i++) {
        assert_true(strlen(smdp_status_code(i)->subject_code) >= 3);
        assert_true(strlen(smdp_status_code(i)->reason_code) >= 3);
    }
    assert_string_equal(smdp_status_code(SMDP_STATUS_TRANSACTION_UNKNOWN)->subject_code, "8.10.1");
    assert_string_equal(smdp_status_code(SMDP_STATUS_CONFIRMATION_CODE_RETRIES)->reason_code,
                        "6.4");
}

static void test_luhn(void **state)
{
    (void)state;
    char out[SMDP_ICCID_SIZE];
    /* 8944501234567890123 + check digit: Luhn over the 19 digits gives 7... computed */
    assert_true(smdp_iccid_add_luhn("894450123456789012", out));
    assert_int_equal(strlen(out), 19);
    assert_false(smdp_iccid_add_luhn("12345", out));
    assert_false(smdp_iccid_add_luhn("89445012345678901X", out));
}

static void test_import_and_personalise(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "BERTLV_SUCI.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], again[SMDP_ICCID_SIZE];
    check(smdp_inventory_import(&f->inventory, "op-a", f->package, f->package_len, iccid, &err),
          &err);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_AVAILABLE);
    /* The same ICCID again is refused and changes nothing. */
    rsp_error_clear(&err);
    assert_int_equal(
        smdp_inventory_import(&f->inventory, "op-b", f->package, f->package_len, again, &err),
        RSP_ERR_STATE);
    smdp_profile_info info;
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_string_equal(info.operator_id, "op-a");
    /* Not a SAIP package: refused. */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    rsp_error_clear(&err);
    assert_int_not_equal(
        smdp_inventory_import(&f->inventory, "op-a", junk, sizeof junk, again, &err), RSP_OK);
    /* Batch: copies 1..3 get distinct ICCIDs and IMSIs, in the header and in the files. */
    char previous[SMDP_ICCID_SIZE] = "";
    for (uint64_t i = 1; i <= 3; i++) {
        uint8_t *copy = NULL;
        size_t copy_len = 0;
        rsp_error_clear(&err);
        check(smdp_personalise_copy(f->package, f->package_len, i, &copy, &copy_len, &err), &err);
        assert_int_equal(copy_len, f->package_len);
        char copy_iccid[SMDP_ICCID_SIZE];
        check(smdp_inventory_import(&f->inventory, "op-a", copy, copy_len, copy_iccid, &err), &err);
        assert_string_not_equal(copy_iccid, iccid);
        assert_string_not_equal(copy_iccid, previous);
        snprintf(previous, sizeof previous, "%s", copy_iccid);
        uint8_t expected[10];
        saip_file_content content;
        assert_true(saip_encode_iccid_ef(copy_iccid, expected));
        check(saip_find_file_content(der_view_make(copy, copy_len), SAIP_PE_MF, "ef-iccid", 0,
                                     &content, &err),
              &err);
        assert_memory_equal(content.content.data, expected, 10);
        saip_file_content imsi, original_imsi;
        if (saip_find_file_content(der_view_make(copy, copy_len), SAIP_PE_USIM, "ef-imsi", 0, &imsi,
                                   &err) == RSP_OK &&
            saip_find_file_content(der_view_make(f->package, f->package_len), SAIP_PE_USIM,
                                   "ef-imsi", 0, &original_imsi, &err) == RSP_OK)
            assert_memory_not_equal(imsi.content.data, original_imsi.content.data, 9);
        free(copy);
    }
    size_t count = 0;
    check(smdp_inventory_list(&f->inventory, "op-a", count_visit, &count, &err), &err);
    assert_int_equal(count, 4);
}

static void test_es2_flow_and_ownership(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    import_copy(f, "op-a", 0, iccid);
    size_t count_a = 0, count_b = 0;
    check(smdp_inventory_list(&f->inventory, "op-a", count_visit, &count_a, &err), &err);
    check(smdp_inventory_list(&f->inventory, "op-b", count_visit, &count_b, &err), &err);
    assert_int_equal(count_a, 1);
    assert_int_equal(count_b, 0);

    /* Another operator can neither order nor confirm nor cancel it. */
    smdp_download_order wrong = {.operator_id = "op-b", .iccid = iccid};
    assert_int_equal(smdp_order_download(&f->inventory, &wrong, got, &err),
                     SMDP_STATUS_ICCID_NOT_ALLOWED);
    smdp_download_order unknown = {.operator_id = "op-a", .iccid = "8949000000000000001"};
    assert_int_equal(smdp_order_download(&f->inventory, &unknown, got, &err),
                     SMDP_STATUS_ICCID_UNKNOWN);
    smdp_download_order bad_eid = {.operator_id = "op-a", .iccid = iccid, .eid = "1234"};
    assert_int_equal(smdp_order_download(&f->inventory, &bad_eid, got, &err),
                     SMDP_STATUS_EID_INVALID);
    smdp_download_order nothing = {.operator_id = "op-a"};
    assert_int_equal(smdp_order_download(&f->inventory, &nothing, got, &err),
                     SMDP_STATUS_ICCID_MISSING);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_AVAILABLE);

    smdp_download_order order = {.operator_id = "op-a", .iccid = iccid};
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    assert_string_equal(got, iccid);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_ALLOCATED);
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err),
                     SMDP_STATUS_ICCID_IN_USE);
    /* Release before confirm is not a transition. */
    assert_int_equal(smdp_order_release(&f->inventory, "op-a", iccid, &err),
                     SMDP_STATUS_ICCID_INVALID_TRANSITION);

    smdp_confirm_order confirm = {.operator_id = "op-a", .iccid = iccid, .release = false};
    smdp_confirm_result result;
    smdp_confirm_order stolen = confirm;
    stolen.operator_id = "op-b";
    assert_int_equal(smdp_order_confirm(&f->inventory, &stolen, &result, &err),
                     SMDP_STATUS_ICCID_NOT_ALLOWED);
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_CONFIRMED);
    /* A generated matching ID: 4 groups of 5 of [0-9A-Z]. */
    assert_int_equal(strlen(result.matching_id), 23);
    assert_int_equal(result.matching_id[5], '-');

    /* Not yet released: the eUICC is refused with 8.2 / 1.2. */
    bool cc = false;
    assert_int_equal(smdp_order_begin_download(&f->inventory, result.matching_id, EID_A,
                                               "00112233445566778899AABBCCDDEEFF", got, &cc, &err),
                     SMDP_STATUS_PROFILE_NOT_RELEASED);
    assert_int_equal(smdp_order_release(&f->inventory, "op-a", iccid, &err), SMDP_STATUS_OK);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    assert_int_equal(smdp_order_begin_download(&f->inventory, "NO-SUCH-ID", EID_A,
                                               "00112233445566778899AABBCCDDEEFF", got, &cc, &err),
                     SMDP_STATUS_MATCHING_ID_REFUSED);
    assert_int_equal(smdp_order_begin_download(&f->inventory, result.matching_id, EID_A,
                                               "00112233445566778899AABBCCDDEEFF", got, &cc, &err),
                     SMDP_STATUS_OK);
    assert_string_equal(got, iccid);
    assert_false(cc);
    /* The move to Downloaded and the session step are one transaction: a stale step changes
     * neither. */
    uint8_t session_data[] = {0x30, 0x00};
    smdp_session_record session = {
        .step = 0, .expires_at = f->now + 100, .data = session_data, .data_len = 2};
    snprintf(session.transaction_hex, sizeof session.transaction_hex, "0011");
    check(smdp_session_create(&f->inventory, &session, &err), &err);
    assert_int_equal(smdp_order_downloaded(&f->inventory, iccid, EID_A, &session, 7, &err),
                     SMDP_STATUS_TRANSACTION_UNKNOWN);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    assert_int_equal(smdp_order_downloaded(&f->inventory, iccid, EID_A, &session, 0, &err),
                     SMDP_STATUS_OK);
    smdp_session_record loaded;
    check(smdp_session_load(&f->inventory, "0011", &loaded, &err), &err);
    assert_int_equal(loaded.step, 1);
    smdp_session_record_free(&loaded);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_DOWNLOADED);
    /* A second download of the same (no longer released) profile is refused. */
    assert_int_equal(smdp_order_begin_download(&f->inventory, result.matching_id, EID_B,
                                               "00112233445566778899AABBCCDDEEF0", got, &cc, &err),
                     SMDP_STATUS_EID_REFUSED);
    assert_int_equal(smdp_order_begin_download(&f->inventory, result.matching_id, EID_A,
                                               "00112233445566778899AABBCCDDEEF0", got, &cc, &err),
                     SMDP_STATUS_MATCHING_ID_REFUSED);
    assert_int_equal(smdp_order_install_result(&f->inventory, iccid, EID_A, true, 0, 0, NULL, 0,
                                               "0011", NULL, &err),
                     SMDP_STATUS_OK);
    assert_int_equal(smdp_session_load(&f->inventory, "0011", &loaded, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    /* Installed profiles cannot be cancelled back into the pool. */
    smdp_cancel_order cancel = {.operator_id = "op-a", .iccid = iccid};
    assert_int_equal(smdp_order_cancel(&f->inventory, &cancel, &err),
                     SMDP_STATUS_ICCID_INVALID_TRANSITION);
    /* op-a has a callback URL: point 1 three times (not released, success, EID refused),
     * then points 3 and 4. */
    assert_int_equal(outbox_count(f), 5);
}

static void test_eid_binding_and_cancel(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    import_copy(f, "op-a", 5, iccid);
    smdp_download_order order = {.operator_id = "op-a", .iccid = iccid, .eid = EID_A};
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_LINKED);
    smdp_confirm_order other = {
        .operator_id = "op-a", .iccid = iccid, .eid = EID_B, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(&f->inventory, &other, &result, &err),
                     SMDP_STATUS_EID_INVALID_ASSOCIATION);
    smdp_confirm_order confirm = {
        .operator_id = "op-a", .iccid = iccid, .matching_id = "MY-ORDER-1", .release = true};
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    assert_string_equal(result.eid, EID_A);
    assert_string_equal(result.matching_id, "MY-ORDER-1");
    bool cc = false;
    assert_int_equal(smdp_order_begin_download(&f->inventory, "MY-ORDER-1", EID_B,
                                               "0102030405060708090A0B0C0D0E0F10", got, &cc, &err),
                     SMDP_STATUS_EID_REFUSED);
    /* Without a matching ID, the order bound to the EID is found (default SM-DP+ case). */
    assert_int_equal(smdp_order_begin_download(&f->inventory, "", EID_A,
                                               "0102030405060708090A0B0C0D0E0F10", got, &cc, &err),
                     SMDP_STATUS_OK);
    assert_string_equal(got, iccid);
    /* Cancel with the wrong EID or matching ID is refused, then succeeds. */
    smdp_cancel_order cancel = {.operator_id = "op-a", .iccid = iccid, .eid = EID_B};
    assert_int_equal(smdp_order_cancel(&f->inventory, &cancel, &err),
                     SMDP_STATUS_EID_INVALID_ASSOCIATION);
    cancel.eid = EID_A;
    cancel.matching_id = "OTHER";
    assert_int_equal(smdp_order_cancel(&f->inventory, &cancel, &err),
                     SMDP_STATUS_MATCHING_ID_INVALID_ASSOCIATION);
    cancel.matching_id = "MY-ORDER-1";
    assert_int_equal(smdp_order_cancel(&f->inventory, &cancel, &err), SMDP_STATUS_OK);
    smdp_profile_info info;
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_int_equal(info.state, SMDP_PROFILE_AVAILABLE);
    assert_string_equal(info.eid, "");
    assert_string_equal(info.matching_id, "");
    /* The matching ID is free again for another order. */
    char second[SMDP_ICCID_SIZE];
    import_copy(f, "op-a", 6, second);
    smdp_download_order order2 = {.operator_id = "op-a", .iccid = second};
    assert_int_equal(smdp_order_download(&f->inventory, &order2, got, &err), SMDP_STATUS_OK);
    confirm.iccid = second;
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    /* ... but only once. */
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    confirm.iccid = iccid;
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err),
                     SMDP_STATUS_MATCHING_ID_IN_USE);
    confirm.matching_id = "lower-case";
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err),
                     SMDP_STATUS_MATCHING_ID_REFUSED);
    /* Cancel to Unavailable: out of the pool for good. */
    smdp_cancel_order retire = {.operator_id = "op-a", .iccid = iccid, .make_unavailable = true};
    assert_int_equal(smdp_order_cancel(&f->inventory, &retire, &err), SMDP_STATUS_OK);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_UNAVAILABLE);
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err),
                     SMDP_STATUS_ICCID_IN_USE);
}

static void test_confirmation_code_retry_limit(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    import_copy(f, "op-b", 9, iccid);
    smdp_download_order order = {.operator_id = "op-b", .iccid = iccid};
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {
        .operator_id = "op-b", .iccid = iccid, .confirmation_code = "12345678", .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    bool cc = false;
    assert_int_equal(
        smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "AA", got, &cc, &err),
        SMDP_STATUS_OK);
    assert_true(cc);
    uint8_t cc_hash[32], package_hash[32];
    smdp_profile_info info;
    uint8_t *package = NULL;
    size_t package_len = 0;
    check(smdp_inventory_order_data(&f->inventory, iccid, &info, cc_hash, &package, &package_len,
                                    &err),
          &err);
    free(package);
    /* SHA-256("12345678") */
    static const uint8_t expected[32] = {0xef, 0x79, 0x7c, 0x81, 0x18, 0xf0, 0x2d, 0xfb,
                                         0x64, 0x96, 0x07, 0xdd, 0x5d, 0x3f, 0x8c, 0x76,
                                         0x23, 0x04, 0x8c, 0x9c, 0x06, 0x3d, 0x53, 0x2c,
                                         0xc9, 0x5c, 0x5e, 0xd7, 0xa8, 0x98, 0xa6, 0x4f};
    memcpy(package_hash, expected, 32);
    assert_memory_equal(cc_hash, package_hash, 32);
    assert_int_equal(smdp_order_confirmation_code_failed(&f->inventory, iccid, &err),
                     SMDP_STATUS_CONFIRMATION_CODE_REFUSED);
    assert_int_equal(smdp_order_confirmation_code_failed(&f->inventory, iccid, &err),
                     SMDP_STATUS_CONFIRMATION_CODE_REFUSED);
    assert_int_equal(smdp_order_confirmation_code_failed(&f->inventory, iccid, &err),
                     SMDP_STATUS_CONFIRMATION_CODE_RETRIES);
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_true(info.blocked);
    assert_int_equal(info.confirmation_code_attempts, 3);
    /* Blocked: a new session is refused too, until the operator cancels. */
    assert_int_equal(
        smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "BB", got, &cc, &err),
        SMDP_STATUS_CONFIRMATION_CODE_RETRIES);
    smdp_cancel_order cancel = {.operator_id = "op-b", .iccid = iccid};
    assert_int_equal(smdp_order_cancel(&f->inventory, &cancel, &err), SMDP_STATUS_OK);
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_false(info.blocked);
    assert_int_equal(info.confirmation_code_attempts, 0);
    /* op-b has no callback URL: nothing queued. */
    assert_int_equal(outbox_count(f), 0);
}

static void test_download_retry_limit(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    smdp_confirm_result result;
    released_order(f, "op-a", 11, iccid, &result);
    bool cc = false;
    for (int i = 0; i < 4; i++)
        assert_int_equal(smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "CC",
                                                   got, &cc, &err),
                         SMDP_STATUS_OK);
    assert_int_equal(
        smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "CC", got, &cc, &err),
        SMDP_STATUS_DOWNLOAD_RETRIES);
}

/* authenticateClient checks the order without writing, then counts the attempt and binds the
 * transaction with the session's step in one transaction, which a stale step (a duplicate
 * request won) or another matching order leaves without any change. */
static void test_check_then_bind_with_session(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    smdp_confirm_result result;
    released_order(f, "op-a", 12, iccid, &result);
    int64_t callbacks = outbox_count(f);
    bool cc = true;
    assert_int_equal(smdp_order_check_download(&f->inventory, result.matching_id, EID_A, got, &cc,
                                               NULL, NULL, &err),
                     SMDP_STATUS_OK);
    assert_string_equal(got, iccid);
    assert_false(cc);
    assert_int_equal(
        smdp_order_check_download(&f->inventory, "NO-SUCH-ID", EID_A, got, &cc, NULL, NULL, &err),
        SMDP_STATUS_MATCHING_ID_REFUSED);
    assert_int_equal(outbox_count(f), callbacks); /* a check reports nothing */
    uint8_t data[] = {0x30, 0x00};
    smdp_session_record record = {
        .step = 0, .expires_at = f->now + 100, .data = data, .data_len = 2};
    snprintf(record.transaction_hex, sizeof record.transaction_hex, "0C0D");
    check(smdp_session_create(&f->inventory, &record, &err), &err);
    smdp_session_record next = record;
    snprintf(next.iccid, sizeof next.iccid, "%s", iccid);
    snprintf(next.eid, sizeof next.eid, "%s", EID_A);
    /* a stale step, then another order's ICCID: rolled back */
    assert_int_equal(
        smdp_order_begin_download_session(&f->inventory, result.matching_id, EID_A, &next, 3, &err),
        SMDP_STATUS_TRANSACTION_UNKNOWN);
    smdp_session_record other = next;
    snprintf(other.iccid, sizeof other.iccid, "8949000000000000999");
    assert_int_equal(smdp_order_begin_download_session(&f->inventory, result.matching_id, EID_A,
                                                       &other, 0, &err),
                     SMDP_STATUS_TRANSACTION_UNKNOWN);
    smdp_profile_info info;
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_int_equal(info.download_attempts, 0);
    assert_int_equal(outbox_count(f), callbacks);
    smdp_session_record loaded;
    check(smdp_session_load(&f->inventory, "0C0D", &loaded, &err), &err);
    assert_int_equal(loaded.step, 0);
    smdp_session_record_free(&loaded);
    /* the real thing: attempt counted, point 1 reported, session at step 1 with its order */
    assert_int_equal(
        smdp_order_begin_download_session(&f->inventory, result.matching_id, EID_A, &next, 0, &err),
        SMDP_STATUS_OK);
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_int_equal(info.download_attempts, 1);
    assert_int_equal(outbox_count(f), callbacks + 1);
    check(smdp_session_load(&f->inventory, "0C0D", &loaded, &err), &err);
    assert_int_equal(loaded.step, 1);
    assert_string_equal(loaded.iccid, iccid);
    smdp_session_record_free(&loaded);
    /* and the same request again (a duplicate that lost the race) */
    assert_int_equal(
        smdp_order_begin_download_session(&f->inventory, result.matching_id, EID_A, &next, 0, &err),
        SMDP_STATUS_TRANSACTION_UNKNOWN);
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_int_equal(info.download_attempts, 1);
}

/* SQLite's plan for one lookup of a download, which must name index. */
static void expect_plan_uses(fixture *f, const char *query, const char *index)
{
    char sql[512];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", query);
    store_conn *conn = NULL;
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    bool has_row = false, named = false;
    check(store_borrow(f->st, &conn, &err), &err);
    check(store_prepare(conn, sql, &stmt, &err), &err);
    check(store_bind_text(stmt, 1, "x"), &err);
    while (store_step(stmt, &has_row, &err) == RSP_OK && has_row) {
        const char *detail = store_column_text(stmt, 3);
        named = named || (detail != NULL && strstr(detail, index) != NULL);
    }
    store_finish(stmt);
    store_return(conn);
    if (!named)
        fail_msg("%s: no %s in the plan", query, index);
}

/* The lookups of a download and of ES2+ are indexed, with the state as a partial-index
 * condition so that a download's state changes rewrite no index (schema v6). */
static void test_lookups_use_indexes(void **state)
{
    fixture *f = *state;
    if (f->postgres) {
        print_message("SKIPPED: query plans are checked on SQLite (PostgreSQL has the same"
                      " indexes)\n");
        skip();
    }
    expect_plan_uses(f,
                     "SELECT iccid FROM smdp_profiles WHERE operator_id = $1 AND profile_type = $1"
                     " AND state = 'available' ORDER BY iccid LIMIT 1",
                     "smdp_profiles_available");
    expect_plan_uses(f,
                     "SELECT COUNT(*) FROM smdp_profiles WHERE operator_id = $1 AND"
                     " profile_type = $1",
                     "smdp_profiles_type");
    expect_plan_uses(f,
                     "SELECT iccid FROM smdp_profiles WHERE eid = $1 AND state = 'released'"
                     " ORDER BY iccid LIMIT 1",
                     "smdp_profiles_released_eid");
    expect_plan_uses(f, "SELECT iccid FROM smdp_profiles WHERE matching_id = $1",
                     "sqlite_autoindex_smdp_profiles_2");
    expect_plan_uses(f, "SELECT step FROM smdp_sessions WHERE transaction_id = $1",
                     "sqlite_autoindex_smdp_sessions_1");
    expect_plan_uses(f, "SELECT step FROM smdp_sessions WHERE iccid = $1", "smdp_sessions_iccid");
}

static void test_profile_type_handout(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "BERTLV_SUCI.der"))
        skip();
    rsp_error err = {0};
    char first[SMDP_ICCID_SIZE], second[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    import_copy(f, "op-a", 20, first);
    import_copy(f, "op-a", 21, second);
    smdp_profile_info info;
    check(smdp_inventory_get(&f->inventory, first, &info, &err), &err);
    print_message("profile type of the TS.48 package: \"%s\"\n", info.profile_type);
    smdp_download_order order = {.operator_id = "op-a", .profile_type = info.profile_type};
    char picked[2][SMDP_ICCID_SIZE];
    assert_int_equal(smdp_order_download(&f->inventory, &order, picked[0], &err), SMDP_STATUS_OK);
    assert_int_equal(smdp_order_download(&f->inventory, &order, picked[1], &err), SMDP_STATUS_OK);
    assert_string_not_equal(picked[0], picked[1]);
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err),
                     SMDP_STATUS_PROFILE_TYPE_UNAVAILABLE);
    smdp_download_order unknown = {.operator_id = "op-a", .profile_type = "no such type"};
    assert_int_equal(smdp_order_download(&f->inventory, &unknown, got, &err),
                     SMDP_STATUS_PROFILE_TYPE_UNKNOWN);
    /* op-b owns none of that type. */
    order.operator_id = "op-b";
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err),
                     SMDP_STATUS_PROFILE_TYPE_UNKNOWN);
}

static void test_sessions_compare_and_set(void **state)
{
    fixture *f = *state;
    rsp_error err = {0};
    uint8_t data[] = {1, 2, 3};
    smdp_session_record record = {
        .step = 0, .expires_at = f->now + 100, .data = data, .data_len = 3};
    snprintf(record.transaction_hex, sizeof record.transaction_hex, "0A0B");
    check(smdp_session_create(&f->inventory, &record, &err), &err);
    /* The same transaction ID twice is refused. */
    assert_int_not_equal(smdp_session_create(&f->inventory, &record, &err), RSP_OK);
    smdp_session_record loaded;
    rsp_error_clear(&err);
    check(smdp_session_load(&f->inventory, "0A0B", &loaded, &err), &err);
    assert_int_equal(loaded.step, 0);
    assert_int_equal(loaded.data_len, 3);
    uint8_t next_data[] = {9, 9};
    smdp_session_record next = loaded;
    next.data = next_data;
    next.data_len = 2;
    snprintf(next.iccid, sizeof next.iccid, "8949000000000000001");
    check(smdp_session_advance(&f->inventory, &next, 0, &err), &err);
    /* A replay of the same step loses and changes nothing. */
    assert_int_equal(smdp_session_advance(&f->inventory, &next, 0, &err), RSP_ERR_STATE);
    smdp_session_record_free(&loaded);
    rsp_error_clear(&err);
    check(smdp_session_load(&f->inventory, "0A0B", &loaded, &err), &err);
    assert_int_equal(loaded.step, 1);
    assert_int_equal(loaded.data_len, 2);
    assert_string_equal(loaded.iccid, "8949000000000000001");
    smdp_session_record_free(&loaded);
    /* Expiry: unknown afterwards. */
    f->now += 101;
    assert_int_equal(smdp_session_load(&f->inventory, "0A0B", &loaded, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(smdp_session_load(&f->inventory, "FFFF", &loaded, &err), RSP_ERR_NOT_FOUND);
}

static void test_outbox_retries(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    /* nothing due, nothing expired: the periodic jobs look, and commit nothing */
    smdp_outbox_item idle[1];
    size_t idle_count = 1;
    int64_t expired = -1;
    store_statistics before, after;
    store_stats(f->st, &before);
    check(smdp_outbox_claim(&f->inventory, 1, 30, idle, &idle_count, &err), &err);
    check(smdp_session_expire(&f->inventory, &expired, &err), &err);
    store_stats(f->st, &after);
    assert_int_equal(idle_count, 0);
    assert_int_equal(expired, 0);
    assert_int_equal(after.commits, before.commits);
    smdp_confirm_result result;
    released_order(f, "op-a", 30, iccid, &result);
    bool cc = false;
    assert_int_equal(
        smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "DD", got, &cc, &err),
        SMDP_STATUS_OK);
    smdp_outbox_item items[4];
    size_t count = 0;
    check(smdp_outbox_claim(&f->inventory, 4, 30, items, &count, &err), &err);
    assert_int_equal(count, 1);
    assert_string_equal(items[0].url, "https://127.0.0.1:1/progress");
    assert_non_null(strstr(items[0].body, "\"notificationPointId\":1"));
    assert_non_null(strstr(items[0].body, iccid));
    assert_non_null(strstr(items[0].body, "Executed-Success"));
    int64_t id = items[0].id;
    smdp_outbox_item_free(&items[0]);
    /* Leased: a second sender does not get it. */
    size_t again = 0;
    check(smdp_outbox_claim(&f->inventory, 4, 30, items, &again, &err), &err);
    assert_int_equal(again, 0);
    /* Failed delivery: retried after the back-off, given up after 2 attempts. */
    check(smdp_outbox_done(&f->inventory, id, false, "refused", 2, &err), &err);
    f->now += 1;
    check(smdp_outbox_claim(&f->inventory, 4, 30, items, &again, &err), &err);
    assert_int_equal(again, 1);
    smdp_outbox_item_free(&items[0]);
    check(smdp_outbox_done(&f->inventory, id, false, "refused", 2, &err), &err);
    assert_int_equal(outbox_count(f), 0);
    f->now += 1000;
    check(smdp_outbox_claim(&f->inventory, 4, 30, items, &again, &err), &err);
    assert_int_equal(again, 0);
}

static void test_order_expiry(void **state)
{
    fixture *f = *state;
    if (!load_package(f, "NoBERTLV.der"))
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    import_copy(f, "op-a", 40, iccid);
    f->inventory.order_ttl_seconds = 50;
    smdp_download_order order = {.operator_id = "op-a", .iccid = iccid};
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = "op-a", .iccid = iccid, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    smdp_profile_info info;
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_int_equal(info.order_expires_at, f->now + 50);
    f->now += 50;
    bool cc = false;
    int64_t queued = outbox_count(f);
    assert_int_equal(
        smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "EE", got, &cc, &err),
        SMDP_STATUS_ORDER_EXPIRED);
    /* The operator hears of it (point 1, Failed 8.8.5 / 4.10). */
    assert_int_equal(outbox_count(f), queued + 1);
    /* Cancelled and ordered again, the profile gets a fresh expiry. */
    smdp_cancel_order cancel = {.operator_id = "op-a", .iccid = iccid};
    assert_int_equal(smdp_order_cancel(&f->inventory, &cancel, &err), SMDP_STATUS_OK);
    check(smdp_inventory_get(&f->inventory, iccid, &info, &err), &err);
    assert_int_equal(info.order_expires_at, 0);
    assert_int_equal(smdp_order_download(&f->inventory, &order, got, &err), SMDP_STATUS_OK);
    assert_int_equal(smdp_order_confirm(&f->inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    assert_int_equal(
        smdp_order_begin_download(&f->inventory, result.matching_id, EID_A, "EF", got, &cc, &err),
        SMDP_STATUS_OK);
}

/* Schema v5 moves the packages out of smdp_profiles: a database at v4 with profiles in it
 * keeps every package, readable through the inventory, and the profile rows lose the column. */
static void test_packages_move_to_their_table(void **state)
{
    fixture *f = *state;
    char url[sizeof f->url + 32], schema[sizeof f->schema + 8] = "";
    if (f->postgres) {
        const char *base = getenv("RSPKIT_TEST_POSTGRES");
        snprintf(schema, sizeof schema, "%s_v4", f->schema);
        postgres_admin("CREATE SCHEMA %s", schema);
        snprintf(url, sizeof url, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') != NULL ? "&" : "?", schema);
    } else {
        snprintf(url, sizeof url, "sqlite:%s/v4.db", f->directory);
    }
    store *old = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 1, .borrow_timeout_ms = 5000};
    check(store_open(url, &options, &old, &err), &err);
    check(smdp_storage_migrate_to(old, 4, &err), &err);
    static const uint8_t first[] = {0xA0, 0x03, 0x80, 0x01, 0x01};
    static const uint8_t second[] = {0xA0, 0x04, 0x80, 0x02, 0x02, 0x02};
    const char *iccids[] = {"89000000000000000011", "89000000000000000029"};
    const uint8_t *packages[] = {first, second};
    const size_t lengths[] = {sizeof first, sizeof second};
    store_conn *conn = NULL;
    check(store_borrow(old, &conn, &err), &err);
    for (int i = 0; i < 2; i++) {
        const store_value params[] = {STORE_VALUE_TEXT(iccids[i]),
                                      STORE_VALUE_BLOB(packages[i], lengths[i])};
        check(store_exec(conn,
                         "INSERT INTO smdp_profiles (iccid, operator_id, state, package,"
                         " created_at, updated_at) VALUES ($1, 'op-a', 'available', $2, 1, 1)",
                         params, 2, NULL, &err),
              &err);
    }
    store_return(conn);
    check(smdp_storage_migrate(old, &err), &err);
    smdp_inventory inventory = f->inventory;
    inventory.store = old;
    for (int i = 0; i < 2; i++) {
        uint8_t *package = NULL;
        size_t len = 0;
        check(smdp_inventory_package(&inventory, iccids[i], &package, &len, &err), &err);
        assert_int_equal(len, lengths[i]);
        assert_memory_equal(package, packages[i], len);
        free(package);
        smdp_profile_info info;
        check(smdp_inventory_get(&inventory, iccids[i], &info, &err), &err);
        assert_int_equal(info.state, SMDP_PROFILE_AVAILABLE);
    }
    check(store_borrow(old, &conn, &err), &err);
    int64_t count = -1;
    check(store_query_int64(conn, "SELECT COUNT(*) FROM smdp_packages", NULL, 0, &count, &err),
          &err);
    assert_int_equal(count, 2);
    rsp_error expected = {0};
    assert_int_not_equal(store_query_int64(conn, "SELECT COUNT(package) FROM smdp_profiles", NULL,
                                           0, &count, &expected),
                         RSP_OK);
    store_return(conn);
    store_close(old);
    if (f->postgres) {
        postgres_admin("DROP SCHEMA %s CASCADE", schema);
    } else {
        char path[160];
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/v4.db%s", f->directory, suffixes[i]);
            unlink(path);
        }
    }
}

static void postgres_missing(void **state)
{
    (void)state;
    print_message("SKIPPED LOUDLY: RSPKIT_TEST_POSTGRES is not set, the PostgreSQL half of the "
                  "SM-DP+ inventory tests did not run (make test sets it through "
                  "scripts/with-postgres.sh).\n");
    skip();
}

#define ALL_TESTS(setup_fn)                                                                        \
    cmocka_unit_test_setup_teardown(test_import_and_personalise, setup_fn, teardown),              \
        cmocka_unit_test_setup_teardown(test_es2_flow_and_ownership, setup_fn, teardown),          \
        cmocka_unit_test_setup_teardown(test_eid_binding_and_cancel, setup_fn, teardown),          \
        cmocka_unit_test_setup_teardown(test_confirmation_code_retry_limit, setup_fn, teardown),   \
        cmocka_unit_test_setup_teardown(test_download_retry_limit, setup_fn, teardown),            \
        cmocka_unit_test_setup_teardown(test_check_then_bind_with_session, setup_fn, teardown),    \
        cmocka_unit_test_setup_teardown(test_lookups_use_indexes, setup_fn, teardown),             \
        cmocka_unit_test_setup_teardown(test_profile_type_handout, setup_fn, teardown),            \
        cmocka_unit_test_setup_teardown(test_sessions_compare_and_set, setup_fn, teardown),        \
        cmocka_unit_test_setup_teardown(test_outbox_retries, setup_fn, teardown),                  \
        cmocka_unit_test_setup_teardown(test_order_expiry, setup_fn, teardown),                    \
        cmocka_unit_test_setup_teardown(test_packages_move_to_their_table, setup_fn, teardown)

int main(void)
{
    const struct CMUnitTest common[] = {
        cmocka_unit_test(test_state_machine_table),
        cmocka_unit_test(test_luhn),
    };
    const struct CMUnitTest sqlite_tests[] = {ALL_TESTS(setup_sqlite)};
    const struct CMUnitTest postgres_tests[] = {ALL_TESTS(setup_postgres)};
    const struct CMUnitTest missing[] = {cmocka_unit_test(postgres_missing)};
    int failures = cmocka_run_group_tests_name("smdp_inventory", common, NULL, NULL);
    failures += cmocka_run_group_tests_name("smdp_inventory_sqlite", sqlite_tests, NULL, NULL);
    const char *pg = getenv("RSPKIT_TEST_POSTGRES");
    if (pg != NULL && pg[0] != '\0')
        failures +=
            cmocka_run_group_tests_name("smdp_inventory_postgres", postgres_tests, NULL, NULL);
    else
        failures += cmocka_run_group_tests_name("smdp_inventory_postgres", missing, NULL, NULL);
    return failures;
}
