/* Campaigns at scale and eIM processes sharing one database, over HTTPS on loopback:
 *  - a 1,000-device campaign from registration to completion (every device polls, gets its
 *    package, returns a signed result; progress, per-device status and webhook-ready events);
 *  - two eIM servers on one database answering concurrent polls for the same devices: every
 *    order is handed out with exactly one counter, counters never repeat per EID.
 * SQLite, and PostgreSQL when RSPKIT_TEST_POSTGRES is set (skipped loudly otherwise). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "eim/server.h"
#include "eim/storage.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/json.h"
#include "store/store.h"

#include "eim_fixture.h"

#define EIM_ID    "eim.campaign.example"
#define ADMIN_KEY "admin-secret"
#define ASN1_TYPE "application/x-gsma-rsp-asn1"
#define FLEET     1000
#define SHARED    40
#define POLLERS   4

typedef struct {
    char dir[64];
    char db_url[512];
    char key_path[128];
    char schema[64];
    bool postgres;
    dev_pki tls;
    rsp_private_key *euicc_key;
    char certificate_b64[2048];
    eim_server *servers[2];
    char base[2][64];
    http_client *client;
    char api_key[EIM_API_KEY_SIZE];
} fixture;

static void eid_of(int n, char out[33])
{
    snprintf(out, 33, "890490320000000000000000%08u", (unsigned)n % 100000000u);
}

static void start(fixture *f, int which)
{
    eim_server_config config =
        eim_fixture_server_config(&f->tls, f->db_url, EIM_ID, f->key_path, ADMIN_KEY);
    eim_fixture_server_start(&config, &f->servers[which], f->base[which], sizeof f->base[which]);
}

static int setup_common(void **state, bool postgres)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-eim-campaign-XXXXXX");
    eim_fixture_folder(f->dir, &f->tls, "eim.pem", f->key_path, sizeof f->key_path);
    eim_fixture_fleet_euicc(&f->euicc_key, f->certificate_b64, sizeof f->certificate_b64);
    f->postgres = postgres;
    eim_fixture_database(postgres, f->dir, "rspkit_eimc", f->schema, f->db_url, sizeof f->db_url);
    rsp_error err = {0};
    start(f, 0);
    start(f, 1);
    http_client_config client_config = {.ca_file = f->tls.ca_cert, .total_timeout_ms = 120000};
    f->client = http_client_new(&client_config, &err);
    assert_non_null(f->client);
    *state = f;
    return 0;
}

static int setup_sqlite(void **state)
{
    return setup_common(state, false);
}

static int setup_postgres(void **state)
{
    return setup_common(state, true);
}

static int teardown(void **state)
{
    fixture *f = *state;
    eim_server_free(f->servers[0]);
    eim_server_free(f->servers[1]);
    http_client_free(f->client);
    if (f->postgres)
        eim_fixture_drop_schema(f->schema);
    rsp_private_key_free(f->euicc_key);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

static json_t *rest(fixture *f, const char *method, const char *path, json_t *body, long expect)
{
    char url[256], auth[160];
    snprintf(url, sizeof url, "%s/api/v1/%s", f->base[0], path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->api_key);
    const char *headers[] = {auth, "X-Admin-Key: " ADMIN_KEY, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (strcmp(method, "GET") == 0) {
        check(http_client_get(f->client, url, headers, &response, &err), &err, "GET");
    } else {
        char *text = json_dumps(body, JSON_COMPACT);
        check(http_client_post(f->client, url, "application/json", text, strlen(text), headers,
                               &response, &err),
              &err, "POST");
        free(text);
    }
    json_decref(body);
    if (response.status != expect)
        fail_msg("%s %s: HTTP %ld", method, path, response.status);
    json_t *answer = json_loadb((const char *)response.body, response.body_len, 0, NULL);
    http_response_free(&response);
    return answer;
}

static void register_fleet(fixture *f, int count)
{
    eim_fixture_take_api_key(rest(f, "POST", "tenants", json_pack("{s:s}", "name", "fleet"), 201),
                             f->api_key);
    json_t *devices = json_array();
    for (int i = 0; i < count; i++) {
        char eid[33];
        eid_of(i, eid);
        json_array_append_new(devices,
                              json_pack("{s:s, s:s, s:{s:s}}", "eid", eid, "euiccCertificate",
                                        f->certificate_b64, "labels", "fleet", "all"));
    }
    json_t *answer = rest(f, "POST", "devices", json_pack("{s:o}", "devices", devices), 201);
    assert_int_equal(json_integer_value(json_object_get(answer, "registered")), count);
    json_decref(answer);
}

typedef struct {
    int choice;
    int64_t counter;
    uint8_t txid[16];
    size_t txid_len;
} package_info;

static void poll_device(http_client *client, const char *base, int n, package_info *out)
{
    char url[96], eid[33];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", base);
    eid_of(n, eid);
    uint8_t request[21] = {0xBF, 0x4F, 18, 0x5A, 16};
    assert_int_equal(der_hex_decode(eid, request + 5, 16), 16);
    http_response response = {0};
    rsp_error err = {0};
    check(http_client_post(client, url, ASN1_TYPE, request, sizeof request, NULL, &response, &err),
          &err, "poll");
    assert_int_equal(response.status, 200);
    sgp32_get_eim_package_response value;
    uint8_t arena_buf[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    check(schema_decode(&sgp32_get_eim_package_response_type,
                        der_view_make(response.body, response.body_len), &value, &arena, &err),
          &err, "decode");
    memset(out, 0, sizeof *out);
    out->choice = value.choice;
    if (value.choice == SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST) {
        const sgp32_euicc_package_signed *s = &value.u.euicc_package_request.euicc_package_signed;
        out->counter = s->counter_value;
        out->txid_len = s->eim_transaction_id.len;
        memcpy(out->txid, s->eim_transaction_id.data, out->txid_len);
    }
    http_response_free(&response);
}

static void answer_device(http_client *client, const char *base, const rsp_private_key *key, int n,
                          const package_info *p, int64_t code)
{
    sgp32_euicc_result_data item = {.choice = SGP32_EUICC_RESULT_DATA_ENABLE_RESULT,
                                    .u.enable_result = code};
    sgp32_euicc_package_result_data_signed data = {
        .eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID)),
        .counter_value = p->counter,
        .has_eim_transaction_id = true,
        .eim_transaction_id = der_view_make(p->txid, p->txid_len),
        .seq_number = p->counter,
        .euicc_result = {.count = 1, .items = &item},
    };
    uint8_t signed_buf[256], body[512];
    der_writer signed_w, w;
    der_writer_init_fixed(&signed_w, signed_buf, sizeof signed_buf);
    assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &data, &signed_w),
                     RSP_OK);
    char eid[33];
    eid_of(n, eid);
    uint8_t eid_raw[16];
    der_hex_decode(eid, eid_raw, 16);
    der_writer_init_fixed(&w, body, sizeof body);
    size_t mark = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid_raw, 16);
    rsp_error err = {0};
    check(rsp_euicc_package_result_build(key, 0xA0, der_writer_view(&signed_w), NULL, &w, &err),
          &err, "result");
    der_end(&w, mark);
    char url[96];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", base);
    http_response response = {0};
    check(http_client_post(client, url, ASN1_TYPE, w.buf, w.len, NULL, &response, &err), &err,
          "provide");
    assert_int_equal(response.status, 200);
    /* acknowledged: BF50 { BF53 { ... } } */
    assert_true(response.body_len > 4 && response.body[3] == 0xBF && response.body[4] == 0x53);
    http_response_free(&response);
}

static void test_thousand_device_campaign(void **state)
{
    fixture *f = *state;
    register_fleet(f, FLEET);
    json_t *campaign =
        rest(f, "POST", "campaigns",
             json_pack("{s:s, s:{s:s, s:s}, s:{s:{s:s}}, s:i, s:f, s:i}", "name", "thousand",
                       "operation", "type", "enable", "iccid", "8944476500001234567", "selector",
                       "labels", "fleet", "all", "ratePerMinute", 600000, "maxFailureRatio", 0.5,
                       "minResults", 50),
             201);
    assert_int_equal(json_integer_value(json_object_get(campaign, "total")), FLEET);
    json_decref(campaign);
    eim_server_run_background(f->servers[0]);
    /* devices poll through either server; every twentieth fails (eUICC result 1) */
    for (int i = 0; i < FLEET; i++) {
        package_info p;
        const char *base = f->base[i % 2];
        poll_device(f->client, base, i, &p);
        assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
        assert_int_equal(p.counter, 1);
        answer_device(f->client, base, f->euicc_key, i, &p, i % 20 == 0 ? 1 : 0);
    }
    eim_server_run_background(f->servers[1]);
    json_t *progress = rest(f, "GET", "campaigns/1", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(progress, "state")), "completed");
    assert_int_equal(json_integer_value(json_object_get(progress, "succeeded")), FLEET - 50);
    assert_int_equal(json_integer_value(json_object_get(progress, "failed")), 50);
    assert_true(json_real_value(json_object_get(progress, "progress")) == 1.0);
    json_decref(progress);
    json_t *failed = rest(f, "GET", "campaigns/1/devices?state=failed", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(failed, "devices")), 50);
    json_decref(failed);
}

typedef struct {
    fixture *f;
    int which;
    int rounds;
    int handed_out; /* packages received (first delivery or resend) */
} poller;

static void *poll_loop(void *user)
{
    poller *p = user;
    http_client_config config = {.ca_file = p->f->tls.ca_cert, .total_timeout_ms = 60000};
    rsp_error err = {0};
    http_client *client = http_client_new(&config, &err);
    for (int r = 0; r < p->rounds; r++) {
        for (int n = 0; n < SHARED; n++) {
            package_info info;
            poll_device(client, p->f->base[p->which], n, &info);
            if (info.choice == SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST)
                p->handed_out++;
        }
    }
    http_client_free(client);
    return NULL;
}

static void test_two_servers_share_the_work(void **state)
{
    fixture *f = *state;
    register_fleet(f, SHARED);
    /* three orders per device, all pending */
    for (int k = 0; k < 3; k++) {
        for (int n = 0; n < SHARED; n++) {
            char path[96], eid[33];
            eid_of(n, eid);
            snprintf(path, sizeof path, "devices/%s/operations", eid);
            json_decref(rest(f, "POST", path, json_pack("{s:s}", "type", "getRat"), 201));
        }
    }
    /* concurrent polls through both servers, then results, three rounds */
    for (int round = 1; round <= 3; round++) {
        pthread_t threads[POLLERS];
        poller pollers[POLLERS];
        for (int t = 0; t < POLLERS; t++) {
            pollers[t] = (poller){.f = f, .which = t % 2, .rounds = 2};
            assert_int_equal(pthread_create(&threads[t], NULL, poll_loop, &pollers[t]), 0);
        }
        for (int t = 0; t < POLLERS; t++)
            pthread_join(threads[t], NULL);
        for (int n = 0; n < SHARED; n++) {
            package_info p;
            poll_device(f->client, f->base[n % 2], n, &p);
            assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
            /* the round's package is the same for everyone who polled: one counter */
            assert_int_equal(p.counter, round);
            answer_device(f->client, f->base[(n + 1) % 2], f->euicc_key, n, &p, 0);
        }
    }
    /* every order handed out once, with counters 1, 2, 3 per device, none repeated */
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->servers[0]), &conn, &err), &err, "borrow");
    int64_t count = 0;
    check(store_query_int64(conn,
                            "SELECT COUNT(*) FROM (SELECT device_id, counter_value FROM eim_orders "
                            "WHERE state = 'succeeded' GROUP BY device_id, counter_value) AS x",
                            NULL, 0, &count, &err),
          &err, "distinct");
    assert_int_equal(count, 3 * SHARED);
    check(store_query_int64(conn, "SELECT MAX(counter) FROM eim_devices", NULL, 0, &count, &err),
          &err, "max");
    assert_int_equal(count, 3);
    store_return(conn);
}

static int64_t campaign_query(fixture *f, const char *sql)
{
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->servers[0]), &conn, &err), &err, "borrow");
    int64_t value = -1;
    check(store_query_int64(conn, sql, NULL, 0, &value, &err), &err, sql);
    store_return(conn);
    return value;
}

/* A new campaign releases a small burst (one second's worth plus one), then at its rate with
 * the fractions carried over: 90 per minute is 2 at once, then 1.5 per second, never a minute's
 * worth at once. Times are moved in the database; a clock tick during the test only meets the
 * bucket's cap, so the figures hold. */
static void test_campaign_rate_from_the_start(void **state)
{
    fixture *f = *state;
    register_fleet(f, 200);
    json_decref(
        rest(f, "POST", "campaigns",
             json_pack("{s:s, s:{s:s}, s:{s:{s:s}}, s:i}", "name", "slow", "operation", "type",
                       "getRat", "selector", "labels", "fleet", "all", "ratePerMinute", 90),
             201));
    eim_server_run_background(f->servers[0]);
    assert_int_equal(campaign_query(f, "SELECT released FROM eim_campaigns"), 2);
    assert_int_equal(campaign_query(f, "SELECT COUNT(*) FROM eim_orders WHERE state = 'pending'"),
                     2);
    /* no time passed (the last release is put in the future): nothing more */
    campaign_query(f, "UPDATE eim_campaigns SET last_release_at = last_release_at + 1000 "
                      "RETURNING 1");
    eim_server_run_background(f->servers[0]);
    assert_int_equal(campaign_query(f, "SELECT released FROM eim_campaigns"), 2);
    /* one second later: the half order left plus 1.5 is 2 more (1 without the carry) */
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE eim_campaigns SET last_release_at = %lld RETURNING 1",
             (long long)time(NULL) - 1);
    campaign_query(f, sql);
    eim_server_run_background(f->servers[0]);
    assert_int_equal(campaign_query(f, "SELECT released FROM eim_campaigns"), 4);
    /* ten minutes idle refill the bucket to its cap only */
    snprintf(sql, sizeof sql, "UPDATE eim_campaigns SET last_release_at = %lld RETURNING 1",
             (long long)time(NULL) - 600);
    campaign_query(f, sql);
    eim_server_run_background(f->servers[0]);
    assert_int_equal(campaign_query(f, "SELECT released FROM eim_campaigns"), 6);
}

static void skip_postgres(void **state)
{
    (void)state;
    print_message("SKIPPED LOUDLY: RSPKIT_TEST_POSTGRES is not set, the PostgreSQL half of the "
                  "eIM campaign tests did not run (scripts/with-postgres.sh ctest -R eim).\n");
    skip();
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test_setup_teardown(test_thousand_device_campaign, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_two_servers_share_the_work, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_rate_from_the_start, setup_sqlite, teardown),
    };
    int failures = cmocka_run_group_tests_name("eim campaigns (SQLite)", sqlite_tests, NULL, NULL);
    if (getenv("RSPKIT_TEST_POSTGRES") != NULL) {
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test_setup_teardown(test_thousand_device_campaign, setup_postgres,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_two_servers_share_the_work, setup_postgres,
                                            teardown),
        };
        failures += cmocka_run_group_tests_name("eim campaigns (PostgreSQL)", pg_tests, NULL, NULL);
    } else {
        const struct CMUnitTest pg_skip[] = {cmocka_unit_test(skip_postgres)};
        failures += cmocka_run_group_tests_name("eim campaigns (PostgreSQL)", pg_skip, NULL, NULL);
    }
    return failures;
}
