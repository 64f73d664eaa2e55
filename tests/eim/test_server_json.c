/* ESipa JSON binding of the eIM over HTTPS on loopback: getEimPackage and
 * provideEimPackageResult with a signed eUICC result, the relay with its SM-DP+ down, and
 * malformed requests (not JSON, wrong content type, missing header or field, bad base64,
 * unknown function). */
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
#include "net/json_http.h"

#include "eim_fixture.h"

#define EIM_ID    "eim.json.example"
#define ADMIN_KEY "admin-secret"
#define EID       "89049032123451234512345678901235"

typedef struct {
    char dir[64];
    char key_path[128];
    dev_pki tls;
    rsp_private_key *euicc_key;
    rsp_certificate *euicc_cert;
    eim_server *server;
    http_client *client;
    char base[64];
    char api_key[EIM_API_KEY_SIZE];
} fixture;

static json_t *rest(fixture *f, const char *path, json_t *body, long expect)
{
    return eim_fixture_post_json(f->client, f->base, f->api_key, ADMIN_KEY, path, body, expect);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-eim-json-XXXXXX");
    eim_fixture_folder(f->dir, &f->tls, "eim.pem", f->key_path, sizeof f->key_path);
    rsp_error err = {0};
    rsp_private_key *ci_key = NULL, *eum_key = NULL;
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &ci_key, &err), &err, "ci");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eum_key, &err), &err, "eum");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->euicc_key, &err), &err, "euicc");
    rsp_certificate *ci = eim_fixture_issue(RSP_CERT_ROLE_CI, NULL, ci_key, NULL, ci_key);
    rsp_certificate *eum = eim_fixture_issue(RSP_CERT_ROLE_EUM, NULL, eum_key, ci, ci_key);
    f->euicc_cert = eim_fixture_issue(RSP_CERT_ROLE_EUICC, EID, f->euicc_key, eum, eum_key);
    rsp_certificate_free(ci);
    rsp_certificate_free(eum);
    rsp_private_key_free(ci_key);
    rsp_private_key_free(eum_key);
    char db[128];
    eim_fixture_database(false, f->dir, NULL, NULL, db, sizeof db);
    eim_server_config config =
        eim_fixture_server_config(&f->tls, db, EIM_ID, f->key_path, ADMIN_KEY);
    config.smdp_ca_file = f->tls.ca_cert;
    config.relay_timeout_ms = 3000;
    eim_fixture_server_start(&config, &f->server, f->base, sizeof f->base);
    http_client_config client_config = {.ca_file = f->tls.ca_cert};
    f->client = http_client_new(&client_config, &err);
    assert_non_null(f->client);
    eim_fixture_take_api_key(rest(f, "tenants", json_pack("{s:s}", "name", "json"), 201),
                             f->api_key);
    json_t *device = json_pack("{s:s}", "eid", EID);
    der_view der = rsp_certificate_der(f->euicc_cert);
    rsp_json_set_base64(device, "euiccCertificate", der.data, der.len);
    json_decref(rest(f, "devices", device, 201));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    eim_server_free(f->server);
    http_client_free(f->client);
    rsp_private_key_free(f->euicc_key);
    rsp_certificate_free(f->euicc_cert);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

/* Calls an ESipa JSON function; returns the answer (NULL for 204), HTTP status in *status. */
static json_t *esipa(fixture *f, const char *function, json_t *request, bool with_header,
                     long *status)
{
    char url[160];
    snprintf(url, sizeof url, "%s/gsma/rsp2/esipa/%s", f->base, function);
    if (with_header)
        json_object_set_new(request, "header", rsp_json_request_header("ipa-test", "call-1"));
    json_t *answer = NULL;
    rsp_error err = {0};
    check(rsp_json_call(f->client, url, request, RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL, 1u << 20,
                        status, &answer, NULL, &err),
          &err, function);
    json_decref(request);
    return answer;
}

static const char *execution_status(const json_t *answer)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(answer, "header"), "functionExecutionStatus"), "status"));
}

static void test_poll_and_result(void **state)
{
    fixture *f = *state;
    long status = 0;
    json_t *answer = esipa(f, "getEimPackage", json_pack("{s:s}", "eidValue", EID), true, &status);
    assert_int_equal(status, 200);
    assert_string_equal(execution_status(answer), "Executed-Success");
    assert_int_equal(json_integer_value(json_object_get(answer, "eimPackageError")), 1);
    json_decref(answer);
    answer =
        esipa(f, "getEimPackage",
              json_pack("{s:s}", "eidValue", "89049032000000000000000000000000"), true, &status);
    assert_int_equal(json_integer_value(json_object_get(answer, "eimPackageError")), 2);
    json_decref(answer);

    json_decref(rest(f, "devices/" EID "/operations",
                     json_pack("{s:s, s:s}", "type", "enable", "iccid", "8944476500001234567"),
                     201));
    answer = esipa(f, "getEimPackage", json_pack("{s:s}", "eidValue", EID), true, &status);
    uint8_t *package = NULL;
    size_t package_len = 0;
    rsp_error err = {0};
    check(rsp_json_get_base64(answer, "euiccPackageRequest", true, 1u << 16, &package, &package_len,
                              NULL, &err),
          &err, "euiccPackageRequest");
    json_decref(answer);
    sgp32_euicc_package_request request;
    uint8_t arena_buf[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    check(schema_decode(&sgp32_euicc_package_request_type, der_view_make(package, package_len),
                        &request, &arena, &err),
          &err, "EuiccPackageRequest");
    const sgp32_euicc_package_signed *s = &request.euicc_package_signed;
    assert_int_equal(s->counter_value, 1);

    sgp32_euicc_result_data item = {.choice = SGP32_EUICC_RESULT_DATA_ENABLE_RESULT};
    sgp32_euicc_package_result_data_signed data = {
        .eim_id = s->eim_id,
        .counter_value = s->counter_value,
        .has_eim_transaction_id = true,
        .eim_transaction_id = s->eim_transaction_id,
        .seq_number = 9,
        .euicc_result = {.count = 1, .items = &item},
    };
    der_writer signed_w, result;
    der_writer_init_dynamic(&signed_w, NULL);
    der_writer_init_dynamic(&result, NULL);
    assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &data, &signed_w),
                     RSP_OK);
    check(rsp_euicc_package_result_build(f->euicc_key, 0xA0, der_writer_view(&signed_w), NULL,
                                         &result, &err),
          &err, "result");
    /* without a request header, as onomondo-ipa sends it */
    json_t *provide = json_pack("{s:s}", "eidValue", EID);
    rsp_json_set_base64(provide, "eimPackageResult", result.buf, result.len);
    answer = esipa(f, "provideEimPackageResult", provide, false, &status);
    assert_int_equal(status, 200);
    assert_string_equal(execution_status(answer), "Executed-Success");
    /* EimAcknowledgements as base64 of BF53 { 80 01 09 } (SequenceNumber is [0]) */
    assert_string_equal(json_string_value(json_object_get(answer, "eimAcknowledgements")),
                        "v1MDgAEJ");
    json_decref(answer);
    /* the same result again in HandleNotification's provideEimPackageResult alternative (an
     * IPA whose acknowledgement was lost): taken, no answer body */
    uint8_t eid[16];
    der_hex_decode(EID, eid, sizeof eid);
    der_writer wrapped;
    der_writer_init_dynamic(&wrapped, NULL);
    size_t mark = der_begin(&wrapped, 0xBF50);
    der_put_tlv(&wrapped, 0x5A, eid, sizeof eid);
    der_put_raw(&wrapped, result.buf, result.len);
    der_end(&wrapped, mark);
    json_t *notification = json_object();
    rsp_json_set_base64(notification, "provideEimPackageResult", wrapped.buf, wrapped.len);
    answer = esipa(f, "handleNotification", notification, false, &status);
    assert_int_equal(status, 204);
    assert_null(answer);
    der_writer_free(&wrapped);
    der_writer_free(&signed_w);
    der_writer_free(&result);
    free(package);
}

static void test_relay_smdp_down(void **state)
{
    fixture *f = *state;
    json_decref(rest(
        f, "devices/" EID "/operations",
        json_pack("{s:s, s:s}", "type", "download", "activationCode", "1$127.0.0.1:9$MATCH"), 201));
    long status = 0;
    json_t *answer = esipa(f, "getEimPackage", json_pack("{s:s}", "eidValue", EID), true, &status);
    assert_non_null(json_object_get(answer, "profileDownloadTriggerRequest"));
    json_decref(answer);
    static const uint8_t challenge[16] = {1};
    static const uint8_t info1[] = {0xBF, 0x20, 0x03, 0x82, 0x01, 0x02};
    json_t *request = json_pack("{s:s}", "smdpAddress", "127.0.0.1:9");
    rsp_json_set_base64(request, "euiccChallenge", challenge, sizeof challenge);
    rsp_json_set_base64(request, "euiccInfo1", info1, sizeof info1);
    answer = esipa(f, "initiateAuthentication", request, true, &status);
    assert_int_equal(status, 200);
    assert_int_equal(
        json_integer_value(json_object_get(answer, "initiateAuthenticationErrorEsipa")), 127);
    json_decref(answer);
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    long status = 0;
    /* no eidValue: Failed, mandatory element missing */
    json_t *answer = esipa(f, "getEimPackage", json_object(), true, &status);
    assert_string_equal(execution_status(answer), "Failed");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(json_object_get(answer, "header"),
                                                            "functionExecutionStatus"),
                                            "statusCodeData"),
                            "reasonCode")),
                        "2.2");
    json_decref(answer);
    /* handleNotification with neither or both alternatives */
    answer = esipa(f, "handleNotification", json_object(), true, &status);
    assert_string_equal(execution_status(answer), "Failed");
    json_decref(answer);
    answer = esipa(
        f, "handleNotification",
        json_pack("{s:s, s:s}", "pendingNotification", "vzcA", "provideEimPackageResult", "v1AA"),
        true, &status);
    assert_string_equal(execution_status(answer), "Failed");
    json_decref(answer);
    /* EID of the wrong length, base64 that is not base64 */
    answer = esipa(f, "getEimPackage", json_pack("{s:s}", "eidValue", "8904"), true, &status);
    assert_string_equal(execution_status(answer), "Failed");
    json_decref(answer);
    answer =
        esipa(f, "provideEimPackageResult",
              json_pack("{s:s, s:s}", "eidValue", EID, "eimPackageResult", "!!!"), true, &status);
    assert_string_equal(execution_status(answer), "Failed");
    json_decref(answer);
    /* raw HTTP: not JSON, wrong content type, unknown function */
    char url[160];
    snprintf(url, sizeof url, "%s/gsma/rsp2/esipa/getEimPackage", f->base);
    http_response response = {0};
    rsp_error err = {0};
    check(http_client_post(f->client, url, "application/json", "{nope", 5, NULL, &response, &err),
          &err, "post");
    assert_int_equal(response.status, 400);
    http_response_free(&response);
    check(http_client_post(f->client, url, "text/plain", "{}", 2, NULL, &response, &err), &err,
          "post");
    assert_int_equal(response.status, 415);
    http_response_free(&response);
    snprintf(url, sizeof url, "%s/gsma/rsp2/esipa/launchMissiles", f->base);
    check(http_client_post(f->client, url, "application/json", "{}", 2, NULL, &response, &err),
          &err, "post");
    assert_int_equal(response.status, 404);
    http_response_free(&response);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_poll_and_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_smdp_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
    };
    return cmocka_run_group_tests_name("eim ESipa JSON binding", tests, NULL, NULL);
}
