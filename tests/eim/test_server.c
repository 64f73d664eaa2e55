/* eIM server over real HTTPS on loopback: ESipa ASN.1 binding (poll, package hand-out with
 * counters, results verified and acknowledged, refusals), the REST API (tenants, devices,
 * operations, campaigns), the relay with its SM-DP+ down, against SQLite and, when
 * RSPKIT_TEST_POSTGRES names a server, PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define EIM_ID    "eim.test.example"
#define ADMIN_KEY "admin-secret"
#define EID_A     "89049032123451234512345678901235"
#define EID_B     "89049032123451234512345678901236"
#define EID_NONE  "89049032000000000000000000000000"
#define ASN1_TYPE "application/x-gsma-rsp-asn1"

typedef struct {
    char dir[128];
    char db_url[512];
    char eim_key_path[192];
    dev_pki tls;
    rsp_private_key *euicc_key;
    rsp_private_key *other_key;
    rsp_certificate *euicc_cert;
    rsp_public_key *eim_public;
    eim_server *server;
    http_client *client;
    char base[64];
    char api_key[EIM_API_KEY_SIZE];
    bool postgres;
    char schema[64];
    unsigned delivery_timeout_s;
} fixture;

/* ---- PKI: CI -> EUM -> eUICC, and an eIM signing key ---- */

static void make_pki(fixture *f)
{
    rsp_error err = {0};
    rsp_private_key *ci_key = NULL, *eum_key = NULL, *eim_key = NULL;
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &ci_key, &err), &err, "ci key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eum_key, &err), &err, "eum key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->euicc_key, &err), &err, "euicc key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->other_key, &err), &err, "other key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eim_key, &err), &err, "eim key");
    rsp_certificate *ci = eim_fixture_issue(RSP_CERT_ROLE_CI, NULL, ci_key, NULL, ci_key);
    rsp_certificate *eum = eim_fixture_issue(RSP_CERT_ROLE_EUM, NULL, eum_key, ci, ci_key);
    f->euicc_cert = eim_fixture_issue(RSP_CERT_ROLE_EUICC, EID_A, f->euicc_key, eum, eum_key);
    snprintf(f->eim_key_path, sizeof f->eim_key_path, "%s/eim.key.pem", f->dir);
    check(rsp_private_key_write_pem_file(eim_key, f->eim_key_path, &err), &err, "write eim key");
    check(rsp_private_key_public(eim_key, &f->eim_public, &err), &err, "eim public");
    rsp_certificate_free(ci);
    rsp_certificate_free(eum);
    rsp_private_key_free(ci_key);
    rsp_private_key_free(eum_key);
    rsp_private_key_free(eim_key);
}

/* ---- server and HTTP ---- */

static void start_server(fixture *f)
{
    eim_server_config config =
        eim_fixture_server_config(&f->tls, f->db_url, EIM_ID, f->eim_key_path, ADMIN_KEY);
    config.smdp_ca_file = f->tls.ca_cert;
    config.relay_timeout_ms = 3000;
    config.delivery_timeout_s = f->delivery_timeout_s;
    eim_fixture_server_start(&config, &f->server, f->base, sizeof f->base);
}

static void stop_server(fixture *f)
{
    eim_server_free(f->server);
    f->server = NULL;
}

static int setup_common(void **state, bool postgres)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-eim-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    rsp_error err = {0};
    check(dev_pki_create(f->dir, "localhost", &f->tls, &err), &err, "dev pki");
    make_pki(f);
    f->postgres = postgres;
    eim_fixture_database(postgres, f->dir, "rspkit_eim", f->schema, f->db_url, sizeof f->db_url);
    http_client_config client_config = {.ca_file = f->tls.ca_cert};
    f->client = http_client_new(&client_config, &err);
    assert_non_null(f->client);
    start_server(f);
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
    stop_server(f);
    http_client_free(f->client);
    if (f->postgres)
        eim_fixture_drop_schema(f->schema);
    rsp_private_key_free(f->euicc_key);
    rsp_private_key_free(f->other_key);
    rsp_certificate_free(f->euicc_cert);
    rsp_public_key_free(f->eim_public);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

/* POSTs DER to the ASN.1 binding; returns the HTTP status, response kept in *out. */
static long esipa(fixture *f, const void *body, size_t len, const char *type, http_response *out)
{
    char url[128];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", f->base);
    rsp_error err = {0};
    memset(out, 0, sizeof *out);
    check(http_client_post(f->client, url, type, body, len, NULL, out, &err), &err, "esipa post");
    return out->status;
}

static json_t *rest(fixture *f, const char *method, const char *path, const char *key, json_t *body,
                    long *status)
{
    char url[256], auth[160];
    snprintf(url, sizeof url, "%s/api/v1/%s", f->base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key != NULL ? key : f->api_key);
    const char *headers[] = {auth, "X-Admin-Key: " ADMIN_KEY, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (strcmp(method, "GET") == 0) {
        check(http_client_get(f->client, url, headers, &response, &err), &err, "GET");
    } else {
        char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : strdup("");
        check(http_client_post(f->client, url, "application/json", text, strlen(text), headers,
                               &response, &err),
              &err, "POST");
        free(text);
    }
    json_decref(body);
    *status = response.status;
    json_t *answer = response.body_len > 0
                         ? json_loadb((const char *)response.body, response.body_len, 0, NULL)
                         : NULL;
    http_response_free(&response);
    return answer;
}

static void create_tenant(fixture *f, const char *name, char key[EIM_API_KEY_SIZE])
{
    long status = 0;
    json_t *answer = rest(f, "POST", "tenants", "none", json_pack("{s:s}", "name", name), &status);
    assert_int_equal(status, 201);
    snprintf(key, EIM_API_KEY_SIZE, "%s", json_string_value(json_object_get(answer, "apiKey")));
    json_decref(answer);
}

static void register_device(fixture *f, const char *eid, bool with_certificate,
                            const char *label_value)
{
    json_t *device = json_pack("{s:s, s:{s:s}}", "eid", eid, "labels", "fleet", label_value);
    if (with_certificate) {
        der_view der = rsp_certificate_der(f->euicc_cert);
        rsp_json_set_base64(device, "euiccCertificate", der.data, der.len);
    }
    long status = 0;
    json_decref(rest(f, "POST", "devices", NULL, device, &status));
    assert_int_equal(status, 201);
}

static int64_t operation(fixture *f, const char *eid, json_t *op, long expect)
{
    char path[96];
    snprintf(path, sizeof path, "devices/%s/operations", eid);
    long status = 0;
    json_t *answer = rest(f, "POST", path, NULL, op, &status);
    assert_int_equal(status, expect);
    int64_t id = json_integer_value(json_object_get(answer, "orderId"));
    json_decref(answer);
    return id;
}

static json_t *get_json(fixture *f, const char *path, long expect)
{
    long status = 0;
    json_t *answer = rest(f, "GET", path, NULL, NULL, &status);
    assert_int_equal(status, expect);
    return answer;
}

static const char *order_state(fixture *f, int64_t id, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "orders/%lld", (long long)id);
    json_t *order = get_json(f, path, 200);
    snprintf(buf, size, "%s", json_string_value(json_object_get(order, "state")));
    json_decref(order);
    return buf;
}

/* ---- ESipa helpers ---- */

static void eid_bytes(const char *eid, uint8_t out[16])
{
    assert_int_equal(der_hex_decode(eid, out, 16), 16);
}

typedef struct {
    int choice;
    int64_t error;
    int64_t counter;
    uint8_t txid[16];
    size_t txid_len;
    uint8_t raw[4096];
    size_t raw_len;
} poll_result;

static void poll(fixture *f, const char *eid, poll_result *out)
{
    uint8_t eid_raw[16];
    eid_bytes(eid, eid_raw);
    sgp32_get_eim_package_request request = {.eid_value = der_view_make(eid_raw, 16)};
    uint8_t buf[64];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    assert_int_equal(schema_encode(&sgp32_get_eim_package_request_type, &request, &w), RSP_OK);
    http_response response;
    assert_int_equal(esipa(f, buf, w.len, ASN1_TYPE, &response), 200);
    memset(out, 0, sizeof *out);
    assert_true(response.body_len <= sizeof out->raw);
    memcpy(out->raw, response.body, response.body_len);
    out->raw_len = response.body_len;
    http_response_free(&response);
    sgp32_get_eim_package_response value;
    uint8_t arena_buf[8192];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error err = {0};
    check(schema_decode(&sgp32_get_eim_package_response_type, der_view_make(out->raw, out->raw_len),
                        &value, &arena, &err),
          &err, "decode GetEimPackageResponse");
    out->choice = value.choice;
    if (value.choice == SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR) {
        out->error = value.u.eim_package_error;
    } else if (value.choice == SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST) {
        const sgp32_euicc_package_signed *s = &value.u.euicc_package_request.euicc_package_signed;
        out->counter = s->counter_value;
        assert_true(s->has_eim_transaction_id);
        memcpy(out->txid, s->eim_transaction_id.data, s->eim_transaction_id.len);
        out->txid_len = s->eim_transaction_id.len;
        assert_int_equal(s->eim_id.len, strlen(EIM_ID));
        assert_memory_equal(s->eim_id.data, EIM_ID, strlen(EIM_ID));
        /* the eIM signature verifies with the eIM's public key */
        der_tlv outer;
        check(der_parse_single(der_view_make(out->raw, out->raw_len), &outer, &err), &err, "BF4F");
        der_view signed_part;
        check(rsp_eim_package_request_open(f->eim_public, outer.value, NULL, &signed_part, &err),
              &err, "eim signature");
    } else if (value.choice == SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST) {
        const sgp32_profile_download_trigger_request *t = &value.u.profile_download_trigger_request;
        assert_true(t->has_eim_transaction_id);
        memcpy(out->txid, t->eim_transaction_id.data, t->eim_transaction_id.len);
        out->txid_len = t->eim_transaction_id.len;
    }
}

/* ProvideEimPackageResult with a signed EuiccPackageResult (SGP.32 v1.2 section 2.11.2.1). */
static size_t build_result(const char *eid, const rsp_private_key *key, int64_t counter,
                           const uint8_t *txid, size_t txid_len, int64_t seq, int64_t code,
                           uint8_t *out, size_t cap)
{
    sgp32_euicc_result_data item = {.choice = SGP32_EUICC_RESULT_DATA_ENABLE_RESULT,
                                    .u.enable_result = code};
    sgp32_euicc_package_result_data_signed data = {
        .eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID)),
        .counter_value = counter,
        .has_eim_transaction_id = true,
        .eim_transaction_id = der_view_make(txid, txid_len),
        .seq_number = seq,
        .euicc_result = {.count = 1, .items = &item},
    };
    uint8_t signed_buf[512];
    der_writer signed_w;
    der_writer_init_fixed(&signed_w, signed_buf, sizeof signed_buf);
    assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &data, &signed_w),
                     RSP_OK);
    uint8_t eid_raw[16];
    eid_bytes(eid, eid_raw);
    der_writer w;
    der_writer_init_fixed(&w, out, cap);
    size_t mark = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid_raw, 16);
    rsp_error err = {0};
    check(rsp_euicc_package_result_build(key, 0xA0, der_writer_view(&signed_w), NULL, &w, &err),
          &err, "result build");
    der_end(&w, mark);
    assert_int_equal(der_writer_status(&w), RSP_OK);
    return w.len;
}

typedef struct {
    int choice;
    int64_t error;
    int64_t ack;
} result_answer;

static void provide(fixture *f, const uint8_t *body, size_t len, result_answer *out)
{
    http_response response;
    assert_int_equal(esipa(f, body, len, ASN1_TYPE, &response), 200);
    sgp32_provide_eim_package_result_response value;
    uint8_t arena_buf[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error err = {0};
    check(schema_decode(&sgp32_provide_eim_package_result_response_type,
                        der_view_make(response.body, response.body_len), &value, &arena, &err),
          &err, "decode ProvideEimPackageResultResponse");
    memset(out, 0, sizeof *out);
    out->choice = value.choice;
    if (value.choice == SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_PROVIDE_EIM_PACKAGE_RESULT_ERROR)
        out->error = value.u.provide_eim_package_result_error;
    if (value.choice == SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EIM_ACKNOWLEDGEMENTS) {
        assert_int_equal(value.u.eim_acknowledgements.sequence_numbers.count, 1);
        out->ack = ((const int64_t *)value.u.eim_acknowledgements.sequence_numbers.items)[0];
    }
    http_response_free(&response);
}

static json_t *enable_op(void)
{
    return json_pack("{s:s, s:s}", "type", "enable", "iccid", "8944476500001234567");
}

/* ---- tests ---- */

static void test_poll_nothing_pending_and_unknown_eid(void **state)
{
    fixture *f = *state;
    create_tenant(f, "acme", f->api_key);
    register_device(f, EID_A, true, "north");
    poll_result p;
    poll(f, EID_A, &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    assert_int_equal(p.error, 1); /* noEimPackageAvailable */
    poll(f, EID_NONE, &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    assert_int_equal(p.error, 2); /* eidNotFound */
}

static void test_package_counter_result_ack_restart(void **state)
{
    fixture *f = *state;
    create_tenant(f, "acme", f->api_key);
    register_device(f, EID_A, true, "north");
    int64_t order = operation(f, EID_A, enable_op(), 201);
    poll_result first, again;
    poll(f, EID_A, &first);
    assert_int_equal(first.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(first.counter, 1);
    /* no result yet: the same package, byte for byte, same counter */
    poll(f, EID_A, &again);
    assert_int_equal(again.raw_len, first.raw_len);
    assert_memory_equal(again.raw, first.raw, first.raw_len);
    char state_buf[32];
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "delivered");

    uint8_t result[1024];
    size_t len = build_result(EID_A, f->euicc_key, 1, first.txid, first.txid_len, 7, 0, result,
                              sizeof result);
    result_answer answer;
    provide(f, result, len, &answer);
    assert_int_equal(answer.choice, SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EIM_ACKNOWLEDGEMENTS);
    assert_int_equal(answer.ack, 7);
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "succeeded");
    poll(f, EID_A, &again);
    assert_int_equal(again.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);

    /* restart: the next package takes counter 2 from the database */
    stop_server(f);
    start_server(f);
    int64_t second = operation(f, EID_A, json_pack("{s:s}", "type", "listProfileInfo"), 201);
    poll(f, EID_A, &again);
    assert_int_equal(again.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(again.counter, 2);
    assert_memory_not_equal(again.txid, first.txid, 16);
    assert_string_equal(order_state(f, second, state_buf, sizeof state_buf), "delivered");
}

static void test_replayed_and_foreign_results(void **state)
{
    fixture *f = *state;
    create_tenant(f, "acme", f->api_key);
    register_device(f, EID_A, true, "north");
    int64_t order = operation(f, EID_A, enable_op(), 201);
    poll_result p;
    poll(f, EID_A, &p);
    assert_int_equal(p.counter, 1);
    uint8_t result[1024];
    result_answer answer;

    /* signed by another eUICC: refused, the order stays open */
    size_t len =
        build_result(EID_A, f->other_key, 1, p.txid, p.txid_len, 1, 0, result, sizeof result);
    provide(f, result, len, &answer);
    assert_int_equal(answer.choice,
                     SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_PROVIDE_EIM_PACKAGE_RESULT_ERROR);
    assert_int_equal(answer.error, 127);
    char state_buf[32];
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "delivered");

    /* a counter this eIM never used: refused */
    len = build_result(EID_A, f->euicc_key, 5, p.txid, p.txid_len, 1, 0, result, sizeof result);
    provide(f, result, len, &answer);
    assert_int_equal(answer.error, 127);

    /* the genuine result: recorded once, acknowledged */
    len = build_result(EID_A, f->euicc_key, 1, p.txid, p.txid_len, 1, 3, result, sizeof result);
    provide(f, result, len, &answer);
    assert_int_equal(answer.ack, 1);
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "failed");

    /* the same bytes again (the ack was lost): acknowledged again, not recorded twice */
    provide(f, result, len, &answer);
    assert_int_equal(answer.choice, SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EIM_ACKNOWLEDGEMENTS);
    int64_t count = 0;
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->server), &conn, &err), &err, "borrow");
    check(store_query_int64(conn, "SELECT COUNT(*) FROM eim_results", NULL, 0, &count, &err), &err,
          "count");
    store_return(conn);
    assert_int_equal(count, 1);

    /* a replay with other content for the finished package: refused */
    len = build_result(EID_A, f->euicc_key, 1, p.txid, p.txid_len, 2, 0, result, sizeof result);
    provide(f, result, len, &answer);
    assert_int_equal(answer.error, 127);
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "failed");

    /* history shows the refusals */
    char path[96];
    snprintf(path, sizeof path, "devices/%s/history", EID_A);
    json_t *history = get_json(f, path, 200);
    size_t refused = 0, index;
    json_t *event;
    json_array_foreach(json_object_get(history, "history"), index, event)
    {
        if (strcmp(json_string_value(json_object_get(event, "event")), "result.refused") == 0)
            refused++;
    }
    assert_int_equal(refused, 3);
    json_decref(history);
}

static void test_wrong_tenant_and_blocked_device(void **state)
{
    fixture *f = *state;
    create_tenant(f, "acme", f->api_key);
    char other[EIM_API_KEY_SIZE];
    create_tenant(f, "rival", other);
    register_device(f, EID_A, true, "north");
    long status = 0;
    char path[96];
    snprintf(path, sizeof path, "devices/%s", EID_A);
    json_decref(rest(f, "GET", path, other, NULL, &status));
    assert_int_equal(status, 404);
    snprintf(path, sizeof path, "devices/%s/operations", EID_A);
    json_decref(rest(f, "POST", path, other, enable_op(), &status));
    assert_int_equal(status, 404);
    json_decref(rest(f, "GET", "devices", "0123456789abcdef.bad", NULL, &status));
    assert_int_equal(status, 401);
    json_t *list = rest(f, "GET", "devices", other, NULL, &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(list, "devices")), 0);
    json_decref(list);

    /* blocked: no package although one is pending */
    operation(f, EID_A, enable_op(), 201);
    snprintf(path, sizeof path, "devices/%s/block", EID_A);
    json_decref(rest(f, "POST", path, NULL, NULL, &status));
    assert_int_equal(status, 200);
    poll_result p;
    poll(f, EID_A, &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    assert_int_equal(p.error, 1);
    uint8_t result[1024];
    size_t len = build_result(EID_A, f->euicc_key, 1, (const uint8_t *)"0123456789abcdef", 16, 1, 0,
                              result, sizeof result);
    result_answer answer;
    provide(f, result, len, &answer);
    assert_int_equal(answer.error, 127);
    snprintf(path, sizeof path, "devices/%s/unblock", EID_A);
    json_decref(rest(f, "POST", path, NULL, NULL, &status));
    poll(f, EID_A, &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);

    /* the audit log has the calls, with the key id */
    json_t *audit = get_json(f, "audit?action=device.blocked", 200);
    assert_int_equal(json_array_size(json_object_get(audit, "entries")), 1);
    json_decref(audit);
}

static void test_malformed_esipa(void **state)
{
    fixture *f = *state;
    http_response response;
    static const uint8_t garbage[] = {0xBF, 0x4F, 0x05, 0x5A, 0x10};
    assert_int_equal(esipa(f, garbage, sizeof garbage, ASN1_TYPE, &response), 400);
    http_response_free(&response);
    static const uint8_t poll_ok_tag_bad[] = {0xBF, 0x4F, 0x03, 0x5A, 0x01, 0x00};
    assert_int_equal(esipa(f, poll_ok_tag_bad, sizeof poll_ok_tag_bad, ASN1_TYPE, &response), 400);
    http_response_free(&response);
    static const uint8_t unknown[] = {0xBF, 0x7F, 0x00};
    assert_int_equal(esipa(f, unknown, sizeof unknown, ASN1_TYPE, &response), 400);
    http_response_free(&response);
    assert_int_equal(esipa(f, garbage, sizeof garbage, "application/json", &response), 415);
    http_response_free(&response);
    static const uint8_t result_without_eid[] = {0xBF, 0x50, 0x06, 0xA0, 0x04, 0x80,
                                                 0x01, 0x01, 0x02, 0x01, 0x01};
    /* ProvideEimPackageResult whose body does not decode */
    assert_int_equal(esipa(f, result_without_eid, sizeof result_without_eid, ASN1_TYPE, &response),
                     400);
    http_response_free(&response);
}

static void test_relay_smdp_down(void **state)
{
    fixture *f = *state;
    create_tenant(f, "acme", f->api_key);
    register_device(f, EID_A, true, "north");
    /* a port nobody listens on: bind, read the port, close */
    const char *address = "127.0.0.1:9";
    char ac[128];
    snprintf(ac, sizeof ac, "1$%s$MATCHING-1", address);
    operation(f, EID_A, json_pack("{s:s, s:s}", "type", "download", "activationCode", ac), 201);
    poll_result p;
    poll(f, EID_A, &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST);

    uint8_t buf[256];
    size_t len = eim_fixture_initiate_authentication_request(address, NULL, buf, sizeof buf);
    http_response response;
    assert_int_equal(esipa(f, buf, len, ASN1_TYPE, &response), 200);
    /* InitiateAuthenticationResponseEsipa: initiateAuthenticationErrorEsipa undefinedError */
    static const uint8_t expect_down[] = {0xBF, 0x39, 0x03, 0x81, 0x01, 0x7F};
    assert_int_equal(response.body_len, sizeof expect_down);
    assert_memory_equal(response.body, expect_down, sizeof expect_down);
    http_response_free(&response);

    /* an SM-DP+ no order names: invalidDpAddress, nothing is called */
    len = eim_fixture_initiate_authentication_request("evil.example", NULL, buf, sizeof buf);
    assert_int_equal(esipa(f, buf, len, ASN1_TYPE, &response), 200);
    static const uint8_t expect_refused[] = {0xBF, 0x39, 0x03, 0x81, 0x01, 0x01};
    assert_int_equal(response.body_len, sizeof expect_refused);
    assert_memory_equal(response.body, expect_refused, sizeof expect_refused);
    http_response_free(&response);
}

static void test_campaign_pause_on_failure_ratio_and_resume(void **state)
{
    fixture *f = *state;
    create_tenant(f, "acme", f->api_key);
    char eids[6][33];
    for (int i = 0; i < 6; i++) {
        snprintf(eids[i], sizeof eids[i], "890490321234512345123456789000%02d", i);
        register_device(f, eids[i], true, i < 5 ? "south" : "north");
    }
    long status = 0;
    json_t *campaign =
        rest(f, "POST", "campaigns", NULL,
             json_pack("{s:s, s:o, s:{s:{s:s}}, s:i, s:f, s:i}", "name", "move", "operation",
                       enable_op(), "selector", "labels", "fleet", "south", "ratePerMinute", 600,
                       "maxFailureRatio", 0.3, "minResults", 2),
             &status);
    assert_int_equal(status, 201);
    assert_int_equal(json_integer_value(json_object_get(campaign, "total")), 5);
    char path[64];
    snprintf(path, sizeof path, "campaigns/%lld",
             (long long)json_integer_value(json_object_get(campaign, "id")));
    json_decref(campaign);

    /* before release nothing is handed out */
    poll_result p;
    poll(f, eids[0], &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    eim_server_run_background(f->server);
    /* two devices fail (eUICC result 1), one succeeds */
    for (int i = 0; i < 3; i++) {
        poll(f, eids[i], &p);
        assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
        uint8_t result[1024];
        size_t len = build_result(eids[i], f->euicc_key, p.counter, p.txid, p.txid_len, 1,
                                  i < 2 ? 1 : 0, result, sizeof result);
        result_answer answer;
        provide(f, result, len, &answer);
        assert_int_equal(answer.ack, 1);
    }
    eim_server_run_background(f->server);
    json_t *progress = get_json(f, path, 200);
    assert_string_equal(json_string_value(json_object_get(progress, "state")), "paused");
    assert_int_equal(json_integer_value(json_object_get(progress, "failed")), 2);
    assert_int_equal(json_integer_value(json_object_get(progress, "succeeded")), 1);
    json_decref(progress);

    char control[96];
    snprintf(control, sizeof control, "%s/devices?state=failed", path);
    json_t *failed = get_json(f, control, 200);
    assert_int_equal(json_array_size(json_object_get(failed, "devices")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(failed, "devices"), 0), "reason")),
                        "enableResult:1");
    json_decref(failed);

    snprintf(control, sizeof control, "%s/resume", path);
    json_decref(rest(f, "POST", control, NULL, NULL, &status));
    assert_int_equal(status, 200);
    eim_server_run_background(f->server);
    progress = get_json(f, path, 200);
    assert_string_equal(json_string_value(json_object_get(progress, "state")), "running");
    json_decref(progress);
    snprintf(control, sizeof control, "%s/cancel", path);
    json_t *cancelled = rest(f, "POST", control, NULL, NULL, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(cancelled, "state")), "cancelled");
    json_decref(cancelled);
}

static void test_delivery_timeout(void **state)
{
    fixture *f = *state;
    stop_server(f);
    f->delivery_timeout_s = 1;
    start_server(f);
    create_tenant(f, "acme", f->api_key);
    register_device(f, EID_A, true, "north");
    int64_t order = operation(f, EID_A, enable_op(), 201);
    poll_result p;
    poll(f, EID_A, &p);
    assert_int_equal(p.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    eim_server_run_background(f->server);
    char state_buf[32];
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "delivered");
    sleep(2);
    eim_server_run_background(f->server);
    assert_string_equal(order_state(f, order, state_buf, sizeof state_buf), "failed");
    poll_result after;
    poll(f, EID_A, &after);
    assert_int_equal(after.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    /* the late result is refused */
    uint8_t result[1024];
    size_t len = build_result(EID_A, f->euicc_key, p.counter, p.txid, p.txid_len, 1, 0, result,
                              sizeof result);
    result_answer answer;
    provide(f, result, len, &answer);
    assert_int_equal(answer.error, 127);
}

static void skip_postgres(void **state)
{
    (void)state;
    print_message("SKIPPED LOUDLY: RSPKIT_TEST_POSTGRES is not set, the PostgreSQL half of the "
                  "eIM server tests did not run (scripts/with-postgres.sh ctest -R eim).\n");
    skip();
}

#define EIM_TESTS(SETUP)                                                                           \
    cmocka_unit_test_setup_teardown(test_poll_nothing_pending_and_unknown_eid, SETUP, teardown),   \
        cmocka_unit_test_setup_teardown(test_package_counter_result_ack_restart, SETUP, teardown), \
        cmocka_unit_test_setup_teardown(test_replayed_and_foreign_results, SETUP, teardown),       \
        cmocka_unit_test_setup_teardown(test_wrong_tenant_and_blocked_device, SETUP, teardown),    \
        cmocka_unit_test_setup_teardown(test_malformed_esipa, SETUP, teardown),                    \
        cmocka_unit_test_setup_teardown(test_relay_smdp_down, SETUP, teardown),                    \
        cmocka_unit_test_setup_teardown(test_campaign_pause_on_failure_ratio_and_resume, SETUP,    \
                                        teardown),                                                 \
        cmocka_unit_test_setup_teardown(test_delivery_timeout, SETUP, teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {EIM_TESTS(setup_sqlite)};
    int failures = cmocka_run_group_tests_name("eim server (SQLite)", sqlite_tests, NULL, NULL);
    if (getenv("RSPKIT_TEST_POSTGRES") != NULL) {
        const struct CMUnitTest pg_tests[] = {EIM_TESTS(setup_postgres)};
        failures += cmocka_run_group_tests_name("eim server (PostgreSQL)", pg_tests, NULL, NULL);
    } else {
        const struct CMUnitTest pg_skip[] = {cmocka_unit_test(skip_postgres)};
        failures += cmocka_run_group_tests_name("eim server (PostgreSQL)", pg_skip, NULL, NULL);
    }
    return failures;
}
