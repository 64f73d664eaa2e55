/* eIM REST API over HTTPS on loopback: CSV import and filters, eUICC data learnt through an
 * IpaEuiccData request, per-device activation codes in a campaign, signed webhooks with retry
 * from the outbox, /health and /metrics. SQLite (the storage paths are shared with
 * test_server.c, which also runs them on PostgreSQL). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
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
#include "net/http_server.h"
#include "net/json.h"
#include "store/store.h"

#include "eim_fixture.h"

#define EIM_ID    "eim.rest.example"
#define ADMIN_KEY "admin-secret"
#define EID_A     "89049032123451234512345678901235"
#define EID_B     "89049032123451234512345678901236"
#define ASN1_TYPE "application/x-gsma-rsp-asn1"

typedef struct {
    pthread_mutex_t lock;
    int answer_status;
    unsigned calls;
    char body[2048];
    char signature[128];
    char timestamp[32];
    char key[96];
} hook_state;

typedef struct {
    char dir[128];
    char db_url[512];
    bool postgres;
    char schema[64];
    char eim_key_path[192];
    dev_pki tls;
    rsp_private_key *euicc_key;
    rsp_certificate *euicc_cert;
    eim_server *server;
    http_client *client;
    char base[64];
    char api_key[EIM_API_KEY_SIZE];
    http_server *hook;
    hook_state hook_state;
} fixture;

static int hook_handler(const http_request *request, http_reply *reply, void *user)
{
    hook_state *s = user;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    size_t n = request->body_len < sizeof s->body - 1 ? request->body_len : sizeof s->body - 1;
    memcpy(s->body, request->body, n);
    s->body[n] = '\0';
    const char *sig = http_request_header(request, "X-Rspkit-Signature");
    const char *ts = http_request_header(request, "X-Rspkit-Timestamp");
    const char *key = http_request_header(request, "X-Rspkit-Idempotency-Key");
    snprintf(s->signature, sizeof s->signature, "%s", sig != NULL ? sig : "");
    snprintf(s->timestamp, sizeof s->timestamp, "%s", ts != NULL ? ts : "");
    snprintf(s->key, sizeof s->key, "%s", key != NULL ? key : "");
    int status = s->answer_status;
    pthread_mutex_unlock(&s->lock);
    http_reply_borrowed(reply, status, "text/plain", "ok", 2);
    return 0;
}

static int setup_common(void **state, bool postgres)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-eim-rest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    rsp_error err = {0};
    check(dev_pki_create(f->dir, "localhost", &f->tls, &err), &err, "dev pki");
    rsp_private_key *ci_key = NULL, *eum_key = NULL, *eim_key = NULL;
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &ci_key, &err), &err, "ci key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eum_key, &err), &err, "eum key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->euicc_key, &err), &err, "key");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eim_key, &err), &err, "eim key");
    rsp_certificate *ci = eim_fixture_issue(RSP_CERT_ROLE_CI, NULL, ci_key, NULL, ci_key);
    rsp_certificate *eum = eim_fixture_issue(RSP_CERT_ROLE_EUM, NULL, eum_key, ci, ci_key);
    f->euicc_cert = eim_fixture_issue(RSP_CERT_ROLE_EUICC, EID_A, f->euicc_key, eum, eum_key);
    snprintf(f->eim_key_path, sizeof f->eim_key_path, "%s/eim.key.pem", f->dir);
    check(rsp_private_key_write_pem_file(eim_key, f->eim_key_path, &err), &err, "eim key file");
    rsp_certificate_free(ci);
    rsp_certificate_free(eum);
    rsp_private_key_free(ci_key);
    rsp_private_key_free(eum_key);
    rsp_private_key_free(eim_key);

    f->postgres = postgres;
    eim_fixture_database(postgres, f->dir, "rspkit_eimr", f->schema, f->db_url, sizeof f->db_url);
    eim_server_config config =
        eim_fixture_server_config(&f->tls, f->db_url, EIM_ID, f->eim_key_path, ADMIN_KEY);
    eim_fixture_server_start(&config, &f->server, f->base, sizeof f->base);
    http_client_config client_config = {.ca_file = f->tls.ca_cert};
    f->client = http_client_new(&client_config, &err);
    assert_non_null(f->client);

    pthread_mutex_init(&f->hook_state.lock, NULL);
    f->hook_state.answer_status = 200;
    http_server_config hook_config = {.name = "hook", .listen = "127.0.0.1:0", .threads = 1};
    f->hook = http_server_new(&hook_config, &err);
    assert_non_null(f->hook);
    check(http_server_route(f->hook, "POST", "/hook", false, hook_handler, &f->hook_state, &err),
          &err, "route");
    check(http_server_start(f->hook, &err), &err, "hook start");
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
    eim_server_free(f->server);
    if (f->postgres)
        eim_fixture_drop_schema(f->schema);
    http_server_free(f->hook);
    http_client_free(f->client);
    rsp_private_key_free(f->euicc_key);
    rsp_certificate_free(f->euicc_cert);
    pthread_mutex_destroy(&f->hook_state.lock);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

static json_t *request(fixture *f, const char *method, const char *path, const char *type,
                       const char *text, long *status)
{
    char url[256], auth[160];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->api_key);
    const char *headers[] = {auth, "X-Admin-Key: " ADMIN_KEY, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (strcmp(method, "GET") == 0)
        check(http_client_get(f->client, url, headers, &response, &err), &err, "GET");
    else
        check(http_client_post(f->client, url, type, text, strlen(text), headers, &response, &err),
              &err, "POST");
    *status = response.status;
    json_t *answer = NULL;
    if (response.body_len > 0 && strstr(response.content_type, "json") != NULL)
        answer = json_loadb((const char *)response.body, response.body_len, 0, NULL);
    else if (response.body_len > 0)
        answer = json_stringn((const char *)response.body, response.body_len);
    http_response_free(&response);
    return answer;
}

static json_t *post_json(fixture *f, const char *path, json_t *body, long expect)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    long status = 0;
    json_t *answer = request(f, "POST", path, "application/json", text, &status);
    free(text);
    assert_int_equal(status, expect);
    return answer;
}

static json_t *get(fixture *f, const char *path, long expect)
{
    long status = 0;
    json_t *answer = request(f, "GET", path, NULL, NULL, &status);
    assert_int_equal(status, expect);
    return answer;
}

static void tenant(fixture *f)
{
    json_t *answer = post_json(f, "/api/v1/tenants", json_pack("{s:s}", "name", "acme"), 201);
    snprintf(f->api_key, sizeof f->api_key, "%s",
             json_string_value(json_object_get(answer, "apiKey")));
    json_decref(answer);
}

/* Registers device A with its eUICC certificate (what signed results are checked against). */
static void register_device_a(fixture *f)
{
    json_t *device = json_pack("{s:s}", "eid", EID_A);
    der_view der = rsp_certificate_der(f->euicc_cert);
    rsp_json_set_base64(device, "euiccCertificate", der.data, der.len);
    json_decref(post_json(f, "/api/v1/devices", device, 201));
}

/* Orders operation (consumed) for device A; returns the order's id. */
static long long order_for_a(fixture *f, json_t *operation)
{
    json_t *created = post_json(f, "/api/v1/devices/" EID_A "/operations", operation, 201);
    long long id = json_integer_value(json_object_get(created, "orderId"));
    json_decref(created);
    return id;
}

static void esipa(fixture *f, const uint8_t *body, size_t len, http_response *out)
{
    char url[128];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", f->base);
    rsp_error err = {0};
    memset(out, 0, sizeof *out);
    check(http_client_post(f->client, url, ASN1_TYPE, body, len, NULL, out, &err), &err, "esipa");
    assert_int_equal(out->status, 200);
}

/* The PSMO of the last eUICC Package polled (0: another package) and its ICCID (BCD). */
static int last_psmo;
static uint8_t last_psmo_iccid[10];

/* Polls and decodes; returns the response choice; txid/counter/activation code copied out. */
static int poll(fixture *f, const char *eid, uint8_t txid[16], int64_t *counter, char *code,
                size_t code_size)
{
    uint8_t buf[32];
    buf[0] = 0xBF;
    buf[1] = 0x4F;
    buf[2] = 18;
    buf[3] = 0x5A;
    buf[4] = 16;
    assert_int_equal(der_hex_decode(eid, buf + 5, 16), 16);
    http_response response;
    esipa(f, buf, 21, &response);
    sgp32_get_eim_package_response value;
    uint8_t arena_buf[8192];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error err = {0};
    check(schema_decode(&sgp32_get_eim_package_response_type,
                        der_view_make(response.body, response.body_len), &value, &arena, &err),
          &err, "decode");
    int choice = value.choice;
    if (choice == SGP32_GET_EIM_PACKAGE_RESPONSE_IPA_EUICC_DATA_REQUEST) {
        assert_true(value.u.ipa_euicc_data_request.has_eim_transaction_id);
        memcpy(txid, value.u.ipa_euicc_data_request.eim_transaction_id.data, 16);
    } else if (choice == SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST) {
        const sgp32_euicc_package_signed *s = &value.u.euicc_package_request.euicc_package_signed;
        memcpy(txid, s->eim_transaction_id.data, 16);
        *counter = s->counter_value;
        last_psmo = 0;
        if (s->euicc_package.choice == SGP32_EUICC_PACKAGE_PSMO_LIST &&
            s->euicc_package.u.psmo_list.count == 1) {
            const sgp32_psmo *psmo = s->euicc_package.u.psmo_list.items;
            last_psmo = psmo->choice;
            /* enable, disable and delete start with the ICCID */
            if (psmo->choice == SGP32_PSMO_ENABLE || psmo->choice == SGP32_PSMO_DELETE)
                memcpy(last_psmo_iccid,
                       psmo->choice == SGP32_PSMO_ENABLE ? psmo->u.enable.iccid.data
                                                         : psmo->u.delete_profile.iccid.data,
                       10);
        }
    } else if (choice == SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST) {
        der_view ac =
            value.u.profile_download_trigger_request.profile_download_data.u.activation_code;
        memcpy(txid, value.u.profile_download_trigger_request.eim_transaction_id.data, 16);
        assert_true(ac.len < code_size);
        memcpy(code, ac.data, ac.len);
        code[ac.len] = '\0';
    }
    http_response_free(&response);
    return choice;
}

static void test_import_filter_and_metrics(void **state)
{
    fixture *f = *state;
    tenant(f);
    long status = 0;
    json_t *answer =
        request(f, "POST", "/api/v1/devices/import", "text/csv",
                "eid,labels\n" EID_A ",fleet=south;site=1\n" EID_B ",fleet=north\n", &status);
    assert_int_equal(status, 201);
    assert_int_equal(json_integer_value(json_object_get(answer, "registered")), 2);
    json_decref(answer);
    /* an empty body (no buffer at all on the server side) is an empty CSV */
    answer = request(f, "POST", "/api/v1/devices/import", "text/csv", "", &status);
    assert_int_equal(status, 201);
    assert_int_equal(json_integer_value(json_object_get(answer, "registered")), 0);
    json_decref(answer);
    answer = get(f, "/api/v1/devices?label=fleet:south", 200);
    json_t *devices = json_object_get(answer, "devices");
    assert_int_equal(json_array_size(devices), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(devices, 0), "eid")),
                        EID_A);
    json_decref(answer);
    answer = get(f, "/api/v1/devices/" EID_A, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(answer, "labels"), "site")), "1");
    json_decref(answer);
    /* duplicate registration is refused, nothing half-registered */
    json_decref(post_json(f, "/api/v1/devices", json_pack("{s:s}", "eid", EID_A), 409));
    json_decref(post_json(f, "/api/v1/devices", json_pack("{s:s}", "eid", "1234"), 400));

    json_decref(get(f, "/health", 200));
    answer = get(f, "/metrics", 200);
    assert_non_null(strstr(json_string_value(answer), "rspkit_eim_polls_empty_total"));
    json_decref(answer);
}

static void test_euicc_data_then_signed_result(void **state)
{
    fixture *f = *state;
    tenant(f);
    json_decref(post_json(f, "/api/v1/devices", json_pack("{s:s}", "eid", EID_A), 201));
    json_decref(post_json(f, "/api/v1/devices/" EID_A "/operations",
                          json_pack("{s:s}", "type", "euiccData"), 201));
    uint8_t txid[16];
    int64_t counter = 0;
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_IPA_EUICC_DATA_REQUEST);

    /* IpaEuiccData with the eUICC certificate ([6], tag A6) and the eimTransactionId */
    der_view der = rsp_certificate_der(f->euicc_cert);
    uint8_t *tagged = malloc(der.len);
    memcpy(tagged, der.data, der.len);
    tagged[0] = 0xA6;
    uint8_t eid[16];
    der_hex_decode(EID_A, eid, 16);
    sgp32_provide_eim_package_result provided = {
        .has_eid_value = true,
        .eid_value = der_view_make(eid, 16),
        .eim_package_result = {.choice = SGP32_EIM_PACKAGE_RESULT_IPA_EUICC_DATA_RESPONSE},
    };
    sgp32_ipa_euicc_data *data =
        &provided.eim_package_result.u.ipa_euicc_data_response.u.ipa_euicc_data;
    provided.eim_package_result.u.ipa_euicc_data_response.choice =
        SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA;
    data->has_euicc_certificate = true;
    data->euicc_certificate = der_view_make(tagged, der.len);
    data->has_eim_transaction_id = true;
    data->eim_transaction_id = der_view_make(txid, 16);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp32_provide_eim_package_result_type, &provided, &w), RSP_OK);
    http_response response;
    esipa(f, w.buf, w.len, &response);
    /* no sequence number to acknowledge: emptyResponse (BF50 { SEQUENCE {} }) */
    static const uint8_t empty[] = {0xBF, 0x50, 0x02, 0x30, 0x00};
    assert_int_equal(response.body_len, sizeof empty);
    assert_memory_equal(response.body, empty, sizeof empty);
    http_response_free(&response);
    der_writer_free(&w);
    free(tagged);
    json_t *device = get(f, "/api/v1/devices/" EID_A, 200);
    assert_true(json_is_true(json_object_get(device, "hasEuiccCertificate")));
    json_decref(device);

    /* the learnt certificate now verifies a signed eUICC Package Result */
    json_decref(post_json(f, "/api/v1/devices/" EID_A "/operations",
                          json_pack("{s:s}", "type", "listProfileInfo"), 201));
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    uint8_t iccid[10] = {0x98, 0x44, 0x47, 0x56, 0x00, 0x00, 0x21, 0x43, 0x65, 0xF7};
    sgp32_profile_info profile = {.has_iccid = true,
                                  .iccid = der_view_make(iccid, 10),
                                  .has_profile_state = true,
                                  .profile_state = 1};
    sgp32_euicc_result_data item = {.choice = SGP32_EUICC_RESULT_DATA_LIST_PROFILE_INFO_RESULT};
    item.u.list_profile_info_result.choice = SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK;
    item.u.list_profile_info_result.u.profile_info_list_ok.count = 1;
    item.u.list_profile_info_result.u.profile_info_list_ok.items = &profile;
    sgp32_euicc_package_result_data_signed signed_data = {
        .eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID)),
        .counter_value = counter,
        .has_eim_transaction_id = true,
        .eim_transaction_id = der_view_make(txid, 16),
        .seq_number = 4,
        .euicc_result = {.count = 1, .items = &item},
    };
    der_writer s;
    der_writer_init_dynamic(&s, NULL);
    assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &signed_data, &s),
                     RSP_OK);
    der_writer_init_dynamic(&w, NULL);
    size_t mark = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid, 16);
    rsp_error err = {0};
    check(rsp_euicc_package_result_build(f->euicc_key, 0xA0, der_writer_view(&s), NULL, &w, &err),
          &err, "result");
    der_end(&w, mark);
    esipa(f, w.buf, w.len, &response);
    static const uint8_t ack[] = {0xBF, 0x50, 0x06, 0xBF, 0x53, 0x03, 0x80, 0x01, 0x04};
    assert_int_equal(response.body_len, sizeof ack);
    assert_memory_equal(response.body, ack, sizeof ack);
    http_response_free(&response);
    der_writer_free(&w);
    der_writer_free(&s);
    device = get(f, "/api/v1/devices/" EID_A, 200);
    json_t *profiles = json_object_get(device, "profiles");
    assert_int_equal(json_array_size(profiles), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(profiles, 0), "iccid")),
                        "8944746500001234567");
    json_decref(device);
}

static void test_campaign_per_device_codes(void **state)
{
    fixture *f = *state;
    tenant(f);
    json_decref(post_json(f, "/api/v1/devices",
                          json_pack("{s:[{s:s},{s:s}]}", "devices", "eid", EID_A, "eid", EID_B),
                          201));
    json_t *campaign =
        post_json(f, "/api/v1/campaigns",
                  json_pack("{s:s, s:{s:s, s:{s:s, s:s}}}", "name", "codes", "operation", "type",
                            "download", "activationCodes", EID_A, "1$smdp.example$MATCH-A", EID_B,
                            "1$smdp.example$MATCH-B"),
                  201);
    assert_int_equal(json_integer_value(json_object_get(campaign, "total")), 2);
    json_decref(campaign);
    eim_server_run_background(f->server);
    uint8_t txid[16];
    int64_t counter;
    char code[128];
    assert_int_equal(poll(f, EID_B, txid, &counter, code, sizeof code),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST);
    assert_string_equal(code, "1$smdp.example$MATCH-B");
    assert_int_equal(poll(f, EID_A, txid, &counter, code, sizeof code),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST);
    assert_string_equal(code, "1$smdp.example$MATCH-A");
    /* an EID that is not registered refuses the whole campaign */
    json_decref(post_json(f, "/api/v1/campaigns",
                          json_pack("{s:{s:s, s:{s:s}}}", "operation", "type", "download",
                                    "activationCodes", "89049032000000000000000000000000",
                                    "1$smdp.example$X"),
                          404));
}

static void expect_signature(const hook_state *s, const char *secret)
{
    char message[2100];
    snprintf(message, sizeof message, "%s.%s", s->timestamp, s->body);
    uint8_t mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)message, strlen(message), mac,
         &len);
    char expected[80] = "sha256=";
    for (unsigned i = 0; i < len; i++)
        snprintf(expected + 7 + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(s->signature, expected);
}

static void test_webhook_signed_with_retry(void **state)
{
    fixture *f = *state;
    tenant(f);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", http_server_port(f->hook));
    json_decref(post_json(f, "/api/v1/webhooks",
                          json_pack("{s:s, s:s}", "url", url, "secret", "hook-secret"), 201));
    json_decref(post_json(f, "/api/v1/devices", json_pack("{s:s}", "eid", EID_A), 201));
    json_t *campaign = post_json(f, "/api/v1/campaigns",
                                 json_pack("{s:s, s:{s:s}, s:[s]}", "name", "c", "operation",
                                           "type", "getRat", "devices", EID_A),
                                 201);
    json_decref(campaign);
    /* the consumer is failing: the event stays in the outbox with its attempt counted */
    f->hook_state.answer_status = 500;
    json_decref(post_json(f, "/api/v1/campaigns/1/pause", json_object(), 200));
    eim_server_run_background(f->server);
    assert_int_equal(f->hook_state.calls, 1);
    char first_key[96];
    snprintf(first_key, sizeof first_key, "%s", f->hook_state.key);
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->server), &conn, &err), &err, "borrow");
    int64_t attempts = 0;
    check(store_query_int64(conn, "SELECT attempts FROM eim_outbox WHERE delivered_at IS NULL",
                            NULL, 0, &attempts, &err),
          &err, "attempts");
    assert_int_equal(attempts, 1);
    /* not due yet: no second call */
    eim_server_run_background(f->server);
    assert_int_equal(f->hook_state.calls, 1);
    /* once due, delivered with the same idempotency key and a valid signature */
    check(store_exec(conn, "UPDATE eim_outbox SET next_attempt_at = 0", NULL, 0, NULL, &err), &err,
          "due");
    f->hook_state.answer_status = 204;
    eim_server_run_background(f->server);
    assert_int_equal(f->hook_state.calls, 2);
    assert_string_equal(f->hook_state.key, first_key);
    expect_signature(&f->hook_state, "hook-secret");
    assert_non_null(strstr(f->hook_state.body, "\"state\":\"paused\""));
    int64_t open = -1;
    check(store_query_int64(conn, "SELECT COUNT(*) FROM eim_outbox WHERE delivered_at IS NULL",
                            NULL, 0, &open, &err),
          &err, "open");
    assert_int_equal(open, 0);
    store_return(conn);
}

/* A signed result for a delivered package, as BF51 appended to w. */
static void signed_result_item(fixture *f, const char *eim_id, const uint8_t txid[16],
                               int64_t counter, int64_t seq, int choice, int64_t code,
                               der_writer *w)
{
    sgp32_euicc_result_data item = {.choice = choice};
    /* every alternative used here is one INTEGER result code */
    item.u.enable_result = code;
    sgp32_euicc_package_result_data_signed data = {
        .eim_id = der_view_make((const uint8_t *)eim_id, strlen(eim_id)),
        .counter_value = counter,
        .has_eim_transaction_id = true,
        .eim_transaction_id = der_view_make(txid, 16),
        .seq_number = seq,
        .euicc_result = {.count = 1, .items = &item},
    };
    der_writer s;
    der_writer_init_dynamic(&s, NULL);
    assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &data, &s),
                     RSP_OK);
    rsp_error err = {0};
    check(rsp_euicc_package_result_build(f->euicc_key, 0xA0, der_writer_view(&s), NULL, w, &err),
          &err, "result");
    der_writer_free(&s);
}

static void signed_result_for(fixture *f, const char *eim_id, const uint8_t txid[16],
                              int64_t counter, int64_t seq, der_writer *w)
{
    signed_result_item(f, eim_id, txid, counter, seq, SGP32_EUICC_RESULT_DATA_ENABLE_RESULT, 0, w);
}

static void signed_result(fixture *f, const uint8_t txid[16], int64_t counter, int64_t seq,
                          der_writer *w)
{
    signed_result_for(f, EIM_ID, txid, counter, seq, w);
}

static const char *order_state(fixture *f, long long id, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/orders/%lld", id);
    json_t *order = get(f, path, 200);
    snprintf(buf, size, "%s", json_string_value(json_object_get(order, "state")));
    json_decref(order);
    return buf;
}

static void test_lost_result_recovered_and_cancel(void **state)
{
    fixture *f = *state;
    tenant(f);
    register_device_a(f);
    long long enable_id =
        order_for_a(f, json_pack("{s:s, s:s}", "type", "enable", "iccid", "8944476500001234567"));
    uint8_t enable_txid[16], data_txid[16];
    int64_t counter = 0;
    assert_int_equal(poll(f, EID_A, enable_txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    /* the result is lost; the owner asks for the eUICC's data, which goes out first */
    long long data_id = order_for_a(f, json_pack("{s:s}", "type", "euiccData"));
    assert_int_equal(poll(f, EID_A, data_txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_IPA_EUICC_DATA_REQUEST);
    /* BF50 { 5A EID, BF52 { A0 { A2 { the lost result }, 87 eimTransactionId } } } */
    uint8_t eid[16];
    der_hex_decode(EID_A, eid, 16);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    size_t outer = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid, 16);
    size_t response = der_begin(&w, 0xBF52), data = der_begin(&w, 0xA0), list = der_begin(&w, 0xA2);
    signed_result(f, enable_txid, 1, 11, &w);
    der_end(&w, list);
    der_put_tlv(&w, 0x87, data_txid, 16);
    der_end(&w, data);
    der_end(&w, response);
    der_end(&w, outer);
    http_response answer;
    esipa(f, w.buf, w.len, &answer);
    static const uint8_t ack[] = {0xBF, 0x50, 0x06, 0xBF, 0x53, 0x03, 0x80, 0x01, 0x0B};
    assert_int_equal(answer.body_len, sizeof ack);
    assert_memory_equal(answer.body, ack, sizeof ack);
    http_response_free(&answer);
    der_writer_free(&w);
    char state_buf[32];
    assert_string_equal(order_state(f, enable_id, state_buf, sizeof state_buf), "succeeded");
    assert_string_equal(order_state(f, data_id, state_buf, sizeof state_buf), "succeeded");

    /* a package whose answer never comes: the owner cancels it, the device is free again */
    long long stuck_id = order_for_a(f, json_pack("{s:s}", "type", "getRat"));
    uint8_t stuck_txid[16];
    assert_int_equal(poll(f, EID_A, stuck_txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(counter, 2);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/orders/%lld/cancel", stuck_id);
    json_t *cancelled = post_json(f, path, json_object(), 200);
    assert_string_equal(json_string_value(json_object_get(cancelled, "reason")), "cancelled");
    json_decref(cancelled);
    assert_int_equal(poll(f, EID_A, stuck_txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    json_decref(post_json(f, path, json_object(), 409));
    /* its late result is refused */
    der_writer_init_dynamic(&w, NULL);
    outer = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid, 16);
    signed_result(f, stuck_txid, 2, 12, &w);
    der_end(&w, outer);
    esipa(f, w.buf, w.len, &answer);
    static const uint8_t refused[] = {0xBF, 0x50, 0x03, 0x02, 0x01, 0x7F};
    assert_int_equal(answer.body_len, sizeof refused);
    assert_memory_equal(answer.body, refused, sizeof refused);
    http_response_free(&answer);
    der_writer_free(&w);
}

/* ICCID 8944476500001234567 as the eUICC reports it (BCD, nibbles swapped). */
static const uint8_t installed_iccid[10] = {0x98, 0x44, 0x74, 0x56, 0x00,
                                            0x00, 0x21, 0x43, 0x65, 0xF7};

/* The IPA's ProfileDownloadTriggerResult: a successful installation of installed_iccid. */
static void send_install_result(fixture *f, const char *eid_text, const uint8_t txid[16])
{
    static const uint8_t smdp_txid[4] = {1, 2, 3, 4};
    static const uint8_t install_bit = 0x80;
    static const uint8_t oid[] = {0x2B, 0x06, 0x01, 0x04, 0x01};
    static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10};
    static const uint8_t signature[64] = {0};
    uint8_t eid[16];
    der_hex_decode(eid_text, eid, 16);
    sgp32_provide_eim_package_result provided = {
        .has_eid_value = true,
        .eid_value = der_view_make(eid, 16),
        .eim_package_result = {.choice = SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT},
    };
    sgp32_profile_download_trigger_result *r =
        &provided.eim_package_result.u.profile_download_trigger_result;
    r->has_eim_transaction_id = true;
    r->eim_transaction_id = der_view_make(txid, 16);
    r->profile_download_trigger_result_data.choice =
        SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT;
    sgp22_profile_installation_result_data *pir =
        &r->profile_download_trigger_result_data.u.profile_installation_result
             .profile_installation_result_data;
    pir->transaction_id = der_view_make(smdp_txid, sizeof smdp_txid);
    pir->notification_metadata.seq_number = 3;
    pir->notification_metadata.profile_management_operation.bytes = der_view_make(&install_bit, 1);
    pir->notification_metadata.profile_management_operation.unused_bits = 4;
    pir->notification_metadata.notification_address =
        der_view_make((const uint8_t *)"smdp.example", 12);
    pir->notification_metadata.has_iccid = true;
    pir->notification_metadata.iccid = der_view_make(installed_iccid, 10);
    pir->smdp_oid = der_view_make(oid, sizeof oid);
    pir->final_result.choice = SGP22_FINAL_RESULT_SUCCESS_RESULT;
    pir->final_result.u.success_result.aid = der_view_make(aid, 16);
    pir->final_result.u.success_result.sima_response = der_view_make(aid, 2);
    r->profile_download_trigger_result_data.u.profile_installation_result.euicc_sign_pir =
        der_view_make(signature, sizeof signature);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp32_provide_eim_package_result_type, &provided, &w), RSP_OK);
    http_response answer;
    esipa(f, w.buf, w.len, &answer);
    http_response_free(&answer);
    der_writer_free(&w);
}

/* A signed eUICC Package result of device A with one result code; returns whether the eIM
 * acknowledged it (else it refused it). */
static bool send_signed_result(fixture *f, const uint8_t txid[16], int64_t counter, int64_t seq,
                               int choice, int64_t code)
{
    uint8_t eid[16];
    der_hex_decode(EID_A, eid, 16);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    size_t outer = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid, 16);
    signed_result_item(f, EIM_ID, txid, counter, seq, choice, code, &w);
    der_end(&w, outer);
    http_response answer;
    esipa(f, w.buf, w.len, &answer);
    /* BF50 { BF53 { 80 seq } } acknowledges, BF50 { 02 7F } refuses */
    bool acknowledged = answer.body_len > 5 && answer.body[3] == 0xBF && answer.body[4] == 0x53;
    http_response_free(&answer);
    der_writer_free(&w);
    return acknowledged;
}

static void test_download_then_enable(void **state)
{
    fixture *f = *state;
    tenant(f);
    register_device_a(f);
    long long download_id =
        order_for_a(f, json_pack("{s:s, s:s, s:b, s:b}", "type", "download", "activationCode",
                                 "1$smdp.example$MATCH-1", "enable", 1, "rollback", 1));
    uint8_t txid[16];
    int64_t counter = 0;
    char code[128];
    assert_int_equal(poll(f, EID_A, txid, &counter, code, sizeof code),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST);
    send_install_result(f, EID_A, txid);
    /* the download is done, the order goes on with its follow-up */
    char state_buf[32];
    assert_string_equal(order_state(f, download_id, state_buf, sizeof state_buf), "following");
    /* the follow-up: enable that ICCID, with the rollback flag */
    uint8_t package_txid[16];
    assert_int_equal(poll(f, EID_A, package_txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(counter, 1);
    assert_int_equal(last_psmo, SGP32_PSMO_ENABLE);
    assert_memory_equal(last_psmo_iccid, installed_iccid, 10);
    json_t *history = get(f, "/api/v1/devices/" EID_A "/history", 200);
    json_t *events = json_object_get(history, "history");
    bool follow_up = false;
    size_t index;
    json_t *event;
    json_array_foreach(events, index, event)
    {
        const char *target = json_string_value(json_object_get(event, "target"));
        follow_up = follow_up || (target != NULL && strcmp(target, "enable") == 0);
    }
    assert_true(follow_up);
    json_decref(history);
    assert_true(send_signed_result(f, package_txid, 1, 11, SGP32_EUICC_RESULT_DATA_ENABLE_RESULT,
                                   SGP32_ENABLE_PROFILE_RESULT_OK));
    assert_string_equal(order_state(f, download_id, state_buf, sizeof state_buf), "succeeded");
}

/* A one-device migration campaign: download (per-device code), enable with rollback, delete
 * of the profile left (per-device ICCID). */
static long long start_migration(fixture *f)
{
    register_device_a(f);
    json_t *campaign = post_json(
        f, "/api/v1/campaigns",
        json_pack("{s:s, s:{s:s, s:{s:s}, s:b, s:b, s:{s:s}}, s:[s]}", "name", "move", "operation",
                  "type", "download", "activationCodes", EID_A, "1$smdp.example$MATCH-A", "enable",
                  1, "rollback", 1, "deleteIccids", EID_A, "8944476500000000019", "devices", EID_A),
        201);
    long long id = json_integer_value(json_object_get(campaign, "id"));
    assert_int_equal(json_integer_value(json_object_get(campaign, "total")), 1);
    json_decref(campaign);
    eim_server_run_background(f->server);
    uint8_t txid[16];
    int64_t counter = 0;
    char code[128];
    assert_int_equal(poll(f, EID_A, txid, &counter, code, sizeof code),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST);
    assert_string_equal(code, "1$smdp.example$MATCH-A");
    send_install_result(f, EID_A, txid);
    return id;
}

/* Device A takes the migration's enable package and answers it with code (seqNumber 11),
 * which the eIM acknowledges. */
static void answer_enable(fixture *f, uint8_t txid[16], int64_t *counter, int64_t code)
{
    assert_int_equal(poll(f, EID_A, txid, counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(last_psmo, SGP32_PSMO_ENABLE);
    assert_true(
        send_signed_result(f, txid, *counter, 11, SGP32_EUICC_RESULT_DATA_ENABLE_RESULT, code));
}

/* Campaign figures and the one device's state and reason. */
static void expect_campaign(fixture *f, long long id, long long succeeded, long long failed,
                            long long following, const char *device_state, const char *reason)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld", id);
    json_t *campaign = get(f, path, 200);
    assert_int_equal(json_integer_value(json_object_get(campaign, "succeeded")), succeeded);
    assert_int_equal(json_integer_value(json_object_get(campaign, "failed")), failed);
    assert_int_equal(json_integer_value(json_object_get(campaign, "following")), following);
    json_decref(campaign);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/devices", id);
    json_t *list = get(f, path, 200);
    json_t *devices = json_object_get(list, "devices");
    assert_int_equal(json_array_size(devices), 1); /* one entry per device, whatever the chain */
    json_t *entry = json_array_get(devices, 0);
    assert_string_equal(json_string_value(json_object_get(entry, "state")), device_state);
    if (reason != NULL)
        assert_string_equal(json_string_value(json_object_get(entry, "reason")), reason);
    json_decref(list);
}

/* Webhook events queued for the download order (the chain's first) in a given state. */
static int64_t download_events(fixture *f, const char *state_name)
{
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->server), &conn, &err), &err, "borrow");
    char pattern[160];
    snprintf(pattern, sizeof pattern,
             "%%\"eid\":\"%s\",\"operation\":\"download\",\"state\":\"%s\"%%", EID_A, state_name);
    store_value param = STORE_VALUE_TEXT(pattern);
    int64_t count = -1;
    check(store_query_int64(conn,
                            "SELECT COUNT(*) FROM eim_outbox WHERE event = 'order.finished' AND "
                            "payload LIKE $1",
                            &param, 1, &count, &err),
          &err, "events");
    store_return(conn);
    return count;
}

static void test_campaign_chain_succeeds(void **state)
{
    fixture *f = *state;
    tenant(f);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", http_server_port(f->hook));
    json_decref(post_json(f, "/api/v1/webhooks",
                          json_pack("{s:s, s:s}", "url", url, "secret", "hook-secret"), 201));
    long long id = start_migration(f);
    expect_campaign(f, id, 0, 0, 1, "following", NULL);
    /* the download's event waits for the end of its chain */
    assert_int_equal(download_events(f, "following"), 0);
    assert_int_equal(download_events(f, "succeeded"), 0);
    uint8_t txid[16];
    int64_t counter = 0;
    answer_enable(f, txid, &counter, SGP32_ENABLE_PROFILE_RESULT_OK);
    expect_campaign(f, id, 0, 0, 1, "following", NULL);
    /* then the delete of the profile left, by its ICCID 8944476500000000019 */
    static const uint8_t left[10] = {0x98, 0x44, 0x74, 0x56, 0x00, 0x00, 0x00, 0x00, 0x10, 0xF9};
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(last_psmo, SGP32_PSMO_DELETE);
    assert_memory_equal(last_psmo_iccid, left, 10);
    assert_int_equal(counter, 2);
    assert_true(send_signed_result(f, txid, counter, 12, SGP32_EUICC_RESULT_DATA_DELETE_RESULT,
                                   SGP32_DELETE_PROFILE_RESULT_OK));
    expect_campaign(f, id, 1, 0, 0, "succeeded", NULL);
    assert_int_equal(download_events(f, "succeeded"), 1);
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    eim_server_run_background(f->server);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld", id);
    json_t *campaign = get(f, path, 200);
    assert_string_equal(json_string_value(json_object_get(campaign, "state")), "completed");
    json_decref(campaign);
}

static void test_campaign_chain_enable_fails(void **state)
{
    fixture *f = *state;
    tenant(f);
    long long id = start_migration(f);
    uint8_t txid[16];
    int64_t counter = 0;
    answer_enable(f, txid, &counter, SGP32_ENABLE_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE);
    /* no delete, the device fails with the enable's reason */
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    expect_campaign(f, id, 0, 1, 0, "failed", "enableResult:2");
}

static void test_campaign_chain_rolled_back(void **state)
{
    fixture *f = *state;
    tenant(f);
    long long id = start_migration(f);
    uint8_t txid[16];
    int64_t counter = 0;
    /* the enable result and then the rollback's result for the same package arrive together
     * (the IPA could not reach the eIM over the new profile and rolled back) */
    answer_enable(f, txid, &counter, SGP32_ENABLE_PROFILE_RESULT_OK);
    assert_true(send_signed_result(f, txid, counter, 12, SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT,
                                   SGP32_ROLLBACK_PROFILE_RESULT_OK));
    /* another rollback result for the same package (new signature) is a replay */
    assert_false(send_signed_result(f, txid, counter, 12, SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT,
                                    SGP32_ROLLBACK_PROFILE_RESULT_OK));
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    expect_campaign(f, id, 0, 1, 0, "failed", "rollbackResult:0");
}

static void test_campaign_chain_cancelled(void **state)
{
    fixture *f = *state;
    tenant(f);
    long long id = start_migration(f);
    /* the enable follow-up, named in the device history, is cancelled before it goes out */
    json_t *history = get(f, "/api/v1/devices/" EID_A "/history", 200);
    long long enable_id = 0;
    size_t index;
    json_t *event;
    json_array_foreach(json_object_get(history, "history"), index, event)
    {
        const char *target = json_string_value(json_object_get(event, "target"));
        json_t *detail = json_object_get(event, "detail");
        if (target != NULL && strcmp(target, "enable") == 0 && json_is_object(detail))
            enable_id = json_integer_value(json_object_get(detail, "orderId"));
    }
    json_decref(history);
    assert_true(enable_id > 0);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/orders/%lld/cancel", enable_id);
    json_decref(post_json(f, path, json_object(), 200));
    uint8_t txid[16];
    int64_t counter = 0;
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    expect_campaign(f, id, 0, 1, 0, "failed", "cancelled");
}

static void test_campaign_maps_validated(void **state)
{
    fixture *f = *state;
    tenant(f);
    json_decref(post_json(f, "/api/v1/devices",
                          json_pack("{s:[{s:s},{s:s}]}", "devices", "eid", EID_A, "eid", EID_B),
                          201));
    /* a selected device without its entry refuses the whole campaign, naming it */
    json_t *answer =
        post_json(f, "/api/v1/campaigns",
                  json_pack("{s:{s:s, s:s, s:b, s:{s:s}}, s:[s, s]}", "operation", "type",
                            "download", "activationCode", "1$smdp.example$M", "enable", 1,
                            "deleteIccids", EID_A, "8944476500000000019", "devices", EID_A, EID_B),
                  400);
    assert_non_null(strstr(json_string_value(json_object_get(answer, "error")), EID_B));
    json_decref(answer);
    answer = post_json(f, "/api/v1/campaigns",
                       json_pack("{s:{s:s, s:{s:s}}, s:{}}", "operation", "type", "enable",
                                 "iccids", EID_A, "8944476500000000019", "selector"),
                       400);
    assert_non_null(strstr(json_string_value(json_object_get(answer, "error")), EID_B));
    json_decref(answer);
    /* ICCIDs are checked, a delete needs the enable it follows */
    json_decref(post_json(f, "/api/v1/campaigns",
                          json_pack("{s:{s:s, s:{s:s, s:s}}}", "operation", "type", "delete",
                                    "iccids", EID_A, "8944476500000000019", EID_B, "89444765x"),
                          400));
    json_decref(post_json(f, "/api/v1/campaigns",
                          json_pack("{s:{s:s, s:s, s:s}, s:[s]}", "operation", "type", "download",
                                    "activationCode", "1$smdp.example$M", "deleteIccid",
                                    "8944476500000000019", "devices", EID_A),
                          400));
    /* nothing of the refused campaigns remains */
    uint8_t txid[16];
    int64_t counter = 0;
    eim_server_run_background(f->server);
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR);
    /* per-device ICCIDs for an enable campaign, members from the selector */
    answer = post_json(f, "/api/v1/campaigns",
                       json_pack("{s:{s:s, s:{s:s, s:s}}, s:{}}", "operation", "type", "enable",
                                 "iccids", EID_A, "8944476500000000019", EID_B,
                                 "8944476500001234567", "selector"),
                       201);
    assert_int_equal(json_integer_value(json_object_get(answer, "total")), 2);
    json_decref(answer);
    eim_server_run_background(f->server);
    assert_int_equal(poll(f, EID_B, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    assert_int_equal(last_psmo, SGP32_PSMO_ENABLE);
    assert_memory_equal(last_psmo_iccid, installed_iccid, 10);
}

static void test_result_with_notifications(void **state)
{
    fixture *f = *state;
    tenant(f);
    register_device_a(f);
    json_decref(post_json(f, "/api/v1/devices/" EID_A "/operations",
                          json_pack("{s:s, s:s}", "type", "enable", "iccid", "8944476500001234567"),
                          201));
    uint8_t txid[16];
    int64_t counter = 0;
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    /* an enable notification (OtherSignedNotification) travels with the result */
    static const uint8_t enable_bit = 0x40, signature[64] = {1};
    static const uint8_t iccid[10] = {0x98, 0x44, 0x47, 0x56, 0x00, 0x00, 0x21, 0x43, 0x65, 0xF7};
    sgp32_pending_notification notification = {
        .choice = SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION};
    sgp22_other_signed_notification *n = &notification.u.other_signed_notification;
    n->tbs_other_notification.seq_number = 4;
    n->tbs_other_notification.profile_management_operation.bytes = der_view_make(&enable_bit, 1);
    n->tbs_other_notification.profile_management_operation.unused_bits = 4;
    n->tbs_other_notification.notification_address =
        der_view_make((const uint8_t *)"smdp.elsewhere.example", 22);
    n->tbs_other_notification.has_iccid = true;
    n->tbs_other_notification.iccid = der_view_make(iccid, 10);
    n->euicc_notification_signature = der_view_make(signature, sizeof signature);
    der_view cert = rsp_certificate_der(f->euicc_cert);
    n->euicc_certificate = cert;
    n->eum_certificate = cert;
    uint8_t eid[16];
    der_hex_decode(EID_A, eid, 16);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    size_t outer = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid, 16);
    size_t pair = der_begin(&w, 0x30);
    signed_result(f, txid, counter, 21, &w);
    size_t list = der_begin(&w, 0xA0);
    assert_int_equal(schema_encode(&sgp32_pending_notification_type, &notification, &w), RSP_OK);
    der_end(&w, list);
    der_end(&w, pair);
    der_end(&w, outer);
    http_response answer;
    esipa(f, w.buf, w.len, &answer);
    /* the result (21) and the notification that came with it (4) are acknowledged */
    static const uint8_t ack[] = {0xBF, 0x50, 0x09, 0xBF, 0x53, 0x06,
                                  0x80, 0x01, 0x15, 0x80, 0x01, 0x04};
    assert_int_equal(answer.body_len, sizeof ack);
    assert_memory_equal(answer.body, ack, sizeof ack);
    http_response_free(&answer);
    der_writer_free(&w);
    /* not an SM-DP+ of this eIM's orders: recorded in the device's history, not forwarded */
    json_t *audit = get(f, "/api/v1/audit?action=notification.received", 200);
    assert_int_equal(json_array_size(json_object_get(audit, "entries")), 1);
    json_decref(audit);
}

/* A result the eUICC signed for another eIM (an IPA that posts a deleted eIM's last result to
 * the eIM left on the eUICC) is refused as such, and the order keeps waiting for its own. */
static void test_result_for_another_eim(void **state)
{
    fixture *f = *state;
    tenant(f);
    register_device_a(f);
    long long enable_id =
        order_for_a(f, json_pack("{s:s, s:s}", "type", "enable", "iccid", "8944476500001234567"));
    uint8_t txid[16];
    int64_t counter = 0;
    assert_int_equal(poll(f, EID_A, txid, &counter, NULL, 0),
                     SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST);
    uint8_t eid[16];
    der_hex_decode(EID_A, eid, 16);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    size_t outer = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, eid, 16);
    signed_result_for(f, "eim.other.example", txid, counter, 12, &w);
    der_end(&w, outer);
    http_response answer;
    esipa(f, w.buf, w.len, &answer);
    http_response_free(&answer);
    der_writer_free(&w);
    char state_buf[32];
    assert_string_equal(order_state(f, enable_id, state_buf, sizeof state_buf), "delivered");
    json_t *audit = get(f, "/api/v1/audit?action=result.refused", 200);
    json_t *entries = json_object_get(audit, "entries");
    assert_int_equal(json_array_size(entries), 1);
    const char *detail = json_string_value(json_object_get(json_array_get(entries, 0), "detail"));
    assert_non_null(detail);
    assert_non_null(strstr(detail, "another eIM"));
    json_decref(audit);
}

static uint64_t durable_commits(fixture *f)
{
    store_statistics stats;
    store_stats(eim_server_store(f->server), &stats);
    return stats.durable_commits;
}

/* Rows of one action whose target and detail (NULL: any) match. */
static size_t audit_count(fixture *f, const char *action, const char *target, const char *detail)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/audit?action=%s", action);
    json_t *audit = get(f, path, 200);
    json_t *entries = json_object_get(audit, "entries");
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *entry = json_array_get(entries, i);
        const char *t = json_string_value(json_object_get(entry, "target"));
        const char *d = json_string_value(json_object_get(entry, "detail"));
        if ((target == NULL || (t != NULL && strcmp(t, target) == 0)) &&
            (detail == NULL || (d != NULL && strcmp(d, detail) == 0)))
            count++;
    }
    json_decref(audit);
    return count;
}

/* A read's "api.call" row is written without a durable commit of its own (relaxed); a change's
 * row commits with the change in its one durable commit; a change that fails leaves no row
 * about the change, only the record of the attempt. The worker's first pass may add a durable
 * commit of its own while a figure is taken: a figure is taken again then (three times at
 * most), a regression shows in every one. */
static void test_audit_rows_commit_with_their_change(void **state)
{
    fixture *f = *state;
    tenant(f);
    uint64_t delta = 0;
    size_t reads = 0;
    for (; reads < 3 && (reads == 0 || delta != 0); reads++) {
        uint64_t before = durable_commits(f);
        json_decref(get(f, "/api/v1/devices", 200));
        delta = durable_commits(f) - before;
    }
    assert_int_equal(delta, 0);
    /* relaxed is still written */
    assert_int_equal(audit_count(f, "api.call", "/api/v1/devices", "GET"), reads);

    /* a change: its api.call row and its own row in one durable commit */
    const char *eids[] = {EID_A, EID_B, "89049032123451234512345678901237"};
    for (int attempt = 0; attempt < 3 && (attempt == 0 || delta != 1); attempt++) {
        uint64_t before = durable_commits(f);
        json_decref(post_json(f, "/api/v1/devices", json_pack("{s:s}", "eid", eids[attempt]), 201));
        delta = durable_commits(f) - before;
    }
    assert_int_equal(delta, 1);
    size_t registered = audit_count(f, "devices.register", NULL, NULL);
    assert_true(registered >= 1);
    size_t posts = audit_count(f, "api.call", "/api/v1/devices", "POST");
    assert_int_equal(posts, registered);

    /* a change that fails (its second device is invalid): the first device is not registered,
     * no devices.register row, the attempt is recorded */
    json_t *bad = json_pack("{s:[{s:s}, {s:s}]}", "devices", "eid",
                            "89049032123451234512345678901238", "eid", "not-an-eid");
    json_decref(post_json(f, "/api/v1/devices", bad, 400));
    json_decref(get(f, "/api/v1/devices/89049032123451234512345678901238", 404));
    assert_int_equal(audit_count(f, "devices.register", NULL, NULL), registered);
    assert_int_equal(audit_count(f, "api.call", "/api/v1/devices", "POST"), posts + 1);
}

static void skip_postgres(void **state)
{
    (void)state;
    print_message("SKIPPED LOUDLY: RSPKIT_TEST_POSTGRES is not set, the PostgreSQL half of the "
                  "eIM REST tests did not run (scripts/with-postgres.sh ctest -R eim).\n");
    skip();
}

#define REST_TESTS(SETUP)                                                                          \
    cmocka_unit_test_setup_teardown(test_import_filter_and_metrics, SETUP, teardown),              \
        cmocka_unit_test_setup_teardown(test_euicc_data_then_signed_result, SETUP, teardown),      \
        cmocka_unit_test_setup_teardown(test_campaign_per_device_codes, SETUP, teardown),          \
        cmocka_unit_test_setup_teardown(test_webhook_signed_with_retry, SETUP, teardown),          \
        cmocka_unit_test_setup_teardown(test_lost_result_recovered_and_cancel, SETUP, teardown),   \
        cmocka_unit_test_setup_teardown(test_download_then_enable, SETUP, teardown),               \
        cmocka_unit_test_setup_teardown(test_campaign_chain_succeeds, SETUP, teardown),            \
        cmocka_unit_test_setup_teardown(test_campaign_chain_enable_fails, SETUP, teardown),        \
        cmocka_unit_test_setup_teardown(test_campaign_chain_rolled_back, SETUP, teardown),         \
        cmocka_unit_test_setup_teardown(test_campaign_chain_cancelled, SETUP, teardown),           \
        cmocka_unit_test_setup_teardown(test_campaign_maps_validated, SETUP, teardown),            \
        cmocka_unit_test_setup_teardown(test_result_with_notifications, SETUP, teardown),          \
        cmocka_unit_test_setup_teardown(test_result_for_another_eim, SETUP, teardown),             \
        cmocka_unit_test_setup_teardown(test_audit_rows_commit_with_their_change, SETUP, teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {REST_TESTS(setup_sqlite)};
    int failures = cmocka_run_group_tests_name("eim REST API (SQLite)", sqlite_tests, NULL, NULL);
    if (getenv("RSPKIT_TEST_POSTGRES") != NULL) {
        const struct CMUnitTest pg_tests[] = {REST_TESTS(setup_postgres)};
        failures += cmocka_run_group_tests_name("eim REST API (PostgreSQL)", pg_tests, NULL, NULL);
    } else {
        const struct CMUnitTest pg_skip[] = {cmocka_unit_test(skip_postgres)};
        failures += cmocka_run_group_tests_name("eim REST API (PostgreSQL)", pg_skip, NULL, NULL);
    }
    return failures;
}
