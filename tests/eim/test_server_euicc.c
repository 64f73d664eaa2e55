/* eIM server end to end with the project's software eUICC (no IPA process: the test moves the
 * bytes as the IPA would). The owner registers the eUICC (certificate chain checked against
 * the configured CI) and orders operations over REST; the package fetched with GetEimPackage
 * over HTTPS goes to the eUICC (ES10b LoadEuiccPackage), whose signed result goes back with
 * ProvideEimPackageResult. Every PSMO and eCO, the facts the eIM learns from the results, and
 * an eIM handover after which this eIM's packages are refused by the eUICC. */
#include "../euicc/test_es10_fixture.h"

#include <jansson.h>

#include "crypto/signature_gsma.h"
#include "eim/server.h"
#include "eim/storage.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/json.h"

#include "eim_fixture.h"

#define EIM_ID    "eim.e2e.example"
#define EIM2_ID   "eim2.e2e.example"
#define ADMIN_KEY "admin-secret"
#define ASN1_TYPE "application/x-gsma-rsp-asn1"

/* ICCIDs as stored (BCD swapped, hex) and as the REST API takes them (digits) */
static const char iccid_a_hex[] = "98001032547698103214";
static const char iccid_b_hex[] = "98001032547698103224";
static const char iccid_b_digits[] = "89000123456789012342";

typedef struct {
    fixture *f;
    char dir[64];
    char key_path[128];
    char ci_path[128];
    dev_pki tls;
    eim_server *server;
    http_client *client;
    char base[64];
    char api_key[EIM_API_KEY_SIZE];
    rsp_private_key *eim_key;
    int64_t token;
} context;

static void plant(context *c, const char *iccid, uint8_t aid_last, int64_t state)
{
    planted_profile p = {iccid, aid_last, state, SGP22_PROFILE_CLASS_OPERATIONAL, "P", 0, 0};
    fixture_plant(c->f, &p);
}

static json_t *rest(context *c, const char *method, const char *path, json_t *body, long expect)
{
    char url[256], auth[160];
    snprintf(url, sizeof url, "%s/api/v1/%s", c->base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->api_key);
    const char *headers[] = {auth, "X-Admin-Key: " ADMIN_KEY, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (strcmp(method, "GET") == 0) {
        check(http_client_get(c->client, url, headers, &response, &err), &err, "GET");
    } else {
        char *text = json_dumps(body, JSON_COMPACT);
        check(http_client_post(c->client, url, "application/json", text, strlen(text), headers,
                               &response, &err),
              &err, "POST");
        free(text);
    }
    json_decref(body);
    if (response.status != expect)
        fail_msg("%s %s: HTTP %ld, expected %ld: %.*s", method, path, response.status, expect,
                 (int)response.body_len, response.body != NULL ? (char *)response.body : "");
    json_t *answer = json_loadb((const char *)response.body, response.body_len, 0, NULL);
    http_response_free(&response);
    return answer;
}

/* AddInitialEim with the server's eIM key, asking the eUICC for an association token. */
static void add_initial_eim(context *c)
{
    rsp_public_key *pub = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_error err = {0};
    check(rsp_private_key_public(c->eim_key, &pub, &err), &err, "eim public");
    check(rsp_public_key_to_spki(pub, &spki, &spki_len, &err), &err, "spki");
    rsp_public_key_free(pub);
    spki[0] = 0xA0; /* eimPublicKey [0] */
    sgp32_eim_configuration_data configuration = {
        .eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID)),
        .has_counter_value = true,
        .counter_value = 0,
        .has_association_token = true,
        .association_token = -1,
        .has_eim_public_key_data = true,
        .eim_public_key_data = {.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY,
                                .u.eim_public_key = der_view_make(spki, spki_len)},
    };
    sgp32_add_initial_eim_request request = {
        .eim_configuration_data_list = {.count = 1, .items = &configuration}};
    der_writer w, out;
    der_writer_init_dynamic(&w, NULL);
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(schema_encode(&sgp32_add_initial_eim_request_type, &request, &w), RSP_OK);
    check(euicc_process(c->f->e, der_writer_view(&w), &out), &err, "AddInitialEim");
    sgp32_add_initial_eim_response answer;
    uint8_t arena_buf[256];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    check(schema_decode(&sgp32_add_initial_eim_response_type, der_writer_view(&out), &answer,
                        &arena, &err),
          &err, "AddInitialEim response");
    assert_int_equal(answer.choice, SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_OK);
    const sgp32_add_initial_eim_ok_item *item = answer.u.add_initial_eim_ok.items;
    assert_int_equal(item->choice, SGP32_ADD_INITIAL_EIM_OK_ASSOCIATION_TOKEN);
    c->token = item->u.association_token;
    der_writer_free(&w);
    der_writer_free(&out);
    free(spki);
}

static int setup(void **state)
{
    fixture_setup(state);
    context *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->f = *state;
    snprintf(c->dir, sizeof c->dir, "/tmp/rspkit-eim-e2e-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    rsp_error err = {0};
    check(dev_pki_create(c->dir, "localhost", &c->tls, &err), &err, "dev pki");
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &c->eim_key, &err), &err, "eim key");
    snprintf(c->key_path, sizeof c->key_path, "%s/eim.pem", c->dir);
    snprintf(c->ci_path, sizeof c->ci_path, "%s/ci.pem", c->dir);
    check(rsp_private_key_write_pem_file(c->eim_key, c->key_path, &err), &err, "key file");
    check(rsp_certificate_write_pem_file(c->f->ci, c->ci_path, &err), &err, "ci file");
    char db[128];
    snprintf(db, sizeof db, "sqlite:%s/eim.db", c->dir);
    const char *cis[] = {c->ci_path};
    eim_server_config config =
        eim_fixture_server_config(&c->tls, db, EIM_ID, c->key_path, ADMIN_KEY);
    config.ci_files = cis;
    config.ci_count = 1;
    eim_fixture_server_start(&config, &c->server, c->base, sizeof c->base);
    http_client_config client_config = {.ca_file = c->tls.ca_cert};
    c->client = http_client_new(&client_config, &err);
    assert_non_null(c->client);

    plant(c, iccid_a_hex, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b_hex, 0x11, SGP22_PROFILE_STATE_DISABLED);
    add_initial_eim(c);
    eim_fixture_take_api_key(rest(c, "POST", "tenants", json_pack("{s:s}", "name", "owner"), 201),
                             c->api_key);
    json_t *device =
        json_pack("{s:s, s:I}", "eid", FIXTURE_EID, "associationToken", (json_int_t)c->token);
    der_view cert = rsp_certificate_der(c->f->euicc_cert);
    der_view eum = rsp_certificate_der(c->f->eum);
    rsp_json_set_base64(device, "euiccCertificate", cert.data, cert.len);
    rsp_json_set_base64(device, "eumCertificate", eum.data, eum.len);
    json_decref(rest(c, "POST", "devices", device, 201));
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    context *c = *state;
    eim_server_free(c->server);
    http_client_free(c->client);
    rsp_private_key_free(c->eim_key);
    dev_pki_remove(&c->tls);
    unlink(c->key_path);
    unlink(c->ci_path);
    char db[128];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(db, sizeof db, "%s/eim.db%s", c->dir, suffixes[i]);
        unlink(db);
    }
    rmdir(c->dir);
    void *f = c->f;
    free(c);
    return fixture_teardown(&f);
}

/* One ESipa ASN.1 request from the IPA to the eIM; fails the test when it cannot be sent. */
static void esipa_post(context *c, const uint8_t *body, size_t len, http_response *response,
                       const char *what)
{
    char url[96];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", c->base);
    rsp_error err = {0};
    check(http_client_post(c->client, url, ASN1_TYPE, body, len, NULL, response, &err), &err, what);
}

/* SGP.32 v1.2 section 6.3.2.6 (ESipa.GetEimPackage): the IPA's poll for this eUICC. */
static void poll_eim(context *c, http_response *response)
{
    uint8_t poll[21] = {0xBF, 0x4F, 18, 0x5A, 16};
    memcpy(poll + 5, c->f->eid, 16);
    esipa_post(c, poll, sizeof poll, response, "poll");
}

/* The IPA's part: poll, hand the package to the eUICC, return its result. Returns the
 * ProvideEimPackageResultResponse choice. */
static int deliver(context *c)
{
    http_response response = {0};
    poll_eim(c, &response);
    rsp_error err = {0};
    assert_int_equal(response.status, 200);
    der_tlv outer, inner;
    check(der_parse_single(der_view_make(response.body, response.body_len), &outer, &err), &err,
          "BF4F");
    der_reader reader;
    check(der_reader_enter(&outer, 0, &reader, &err), &err, "enter");
    check(der_reader_next(&reader, &inner, &err), &err, "package");
    assert_int_equal(inner.tag, 0xBF51);
    der_writer result;
    der_writer_init_dynamic(&result, NULL);
    check(euicc_process(c->f->e, inner.whole, &result), &err, "LoadEuiccPackage");
    http_response_free(&response);
    der_writer provide;
    der_writer_init_dynamic(&provide, NULL);
    size_t mark = der_begin(&provide, 0xBF50);
    der_put_tlv(&provide, 0x5A, c->f->eid, 16);
    der_put_raw(&provide, result.buf, result.len);
    der_end(&provide, mark);
    esipa_post(c, provide.buf, provide.len, &response, "provide");
    assert_int_equal(response.status, 200);
    sgp32_provide_eim_package_result_response answer;
    uint8_t arena_buf[512];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    check(schema_decode(&sgp32_provide_eim_package_result_response_type,
                        der_view_make(response.body, response.body_len), &answer, &arena, &err),
          &err, "answer");
    http_response_free(&response);
    der_writer_free(&result);
    der_writer_free(&provide);
    return answer.choice;
}

/* Orders op for the eUICC, delivers it, returns the order as the REST API shows it. */
static json_t *run(context *c, json_t *op)
{
    json_t *created = rest(c, "POST", "devices/" FIXTURE_EID "/operations", op, 201);
    char path[64];
    snprintf(path, sizeof path, "orders/%lld",
             (long long)json_integer_value(json_object_get(created, "orderId")));
    json_decref(created);
    deliver(c);
    return rest(c, "GET", path, NULL, 200);
}

static void expect_order(context *c, json_t *op, const char *state)
{
    json_t *order = run(c, op);
    const char *actual = json_string_value(json_object_get(order, "state"));
    if (strcmp(actual, state) != 0)
        fail_msg("%s: %s, expected %s (reason %s)",
                 json_string_value(json_object_get(order, "operation")), actual, state,
                 json_string_value(json_object_get(order, "reason")));
    json_decref(order);
}

static int64_t profile_state_of(context *c, const char *iccid_hex)
{
    uint8_t iccid[10];
    assert_int_equal(der_hex_decode(iccid_hex, iccid, sizeof iccid), 10);
    long index = euicc_profile_find(c->f->e, false, der_view_make(iccid, 10));
    if (index < 0)
        return -1;
    return euicc_state_find_enabled_profile(euicc_get_state(c->f->e)) == index
               ? SGP22_PROFILE_STATE_ENABLED
               : SGP22_PROFILE_STATE_DISABLED;
}

static void test_every_psmo(void **state)
{
    context *c = *state;
    expect_order(c, json_pack("{s:s}", "type", "listProfileInfo"), "succeeded");
    json_t *device = rest(c, "GET", "devices/" FIXTURE_EID, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(device, "profiles")), 2);
    assert_int_equal(json_integer_value(json_object_get(device, "counter")), 1);
    json_decref(device);

    expect_order(c, json_pack("{s:s, s:s}", "type", "enable", "iccid", iccid_b_digits),
                 "succeeded");
    assert_int_equal(profile_state_of(c, iccid_b_hex), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(profile_state_of(c, iccid_a_hex), SGP22_PROFILE_STATE_DISABLED);
    expect_order(c, json_pack("{s:s, s:s}", "type", "disable", "iccid", iccid_b_digits),
                 "succeeded");
    assert_int_equal(profile_state_of(c, iccid_b_hex), SGP22_PROFILE_STATE_DISABLED);
    /* enabling an unknown profile fails with the eUICC's reason */
    json_t *order =
        run(c, json_pack("{s:s, s:s}", "type", "enable", "iccid", "89000123456789012349"));
    assert_string_equal(json_string_value(json_object_get(order, "state")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(order, "reason")), "enableResult:"));
    json_decref(order);
    expect_order(c, json_pack("{s:s}", "type", "getRat"), "succeeded");
    expect_order(c,
                 json_pack("{s:s, s:b}", "type", "configureImmediateEnable", "immediateEnable", 1),
                 "succeeded");
    expect_order(
        c, json_pack("{s:s, s:s}", "type", "setDefaultDpAddress", "address", "smdp2.example.com"),
        "succeeded");
    expect_order(c,
                 json_pack("{s:s, s:s}", "type", "setFallbackAttribute", "iccid", iccid_b_digits),
                 "succeeded");
    expect_order(c, json_pack("{s:s}", "type", "unsetFallbackAttribute"), "succeeded");
    expect_order(c, json_pack("{s:s, s:s}", "type", "delete", "iccid", iccid_b_digits),
                 "succeeded");
    assert_int_equal(profile_state_of(c, iccid_b_hex), -1);
    device = rest(c, "GET", "devices/" FIXTURE_EID, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(device, "counter")), 10);
    json_decref(device);
}

static void test_eco_and_handover(void **state)
{
    context *c = *state;
    expect_order(c, json_pack("{s:s}", "type", "listEim"), "succeeded");
    json_t *device = rest(c, "GET", "devices/" FIXTURE_EID, NULL, 200);
    json_t *eims = json_object_get(device, "eims");
    assert_int_equal(json_array_size(eims), 1);
    assert_string_equal(json_string_value(json_array_get(eims, 0)), EIM_ID);
    json_decref(device);

    /* handover: add the new eIM, then delete this one */
    rsp_private_key *eim2 = NULL;
    rsp_public_key *pub = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_error err = {0};
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eim2, &err), &err, "eim2");
    check(rsp_private_key_public(eim2, &pub, &err), &err, "pub");
    check(rsp_public_key_to_spki(pub, &spki, &spki_len, &err), &err, "spki");
    json_t *add = json_pack("{s:s, s:s, s:s, s:i}", "type", "addEim", "eimId", EIM2_ID, "eimFqdn",
                            EIM2_ID, "counterValue", 0);
    rsp_json_set_base64(add, "eimPublicKey", spki, spki_len);
    free(spki);
    rsp_public_key_free(pub);
    rsp_private_key_free(eim2);
    expect_order(c, add, "succeeded");
    expect_order(c, json_pack("{s:s}", "type", "listEim"), "succeeded");
    device = rest(c, "GET", "devices/" FIXTURE_EID, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(device, "eims")), 2);
    json_decref(device);
    expect_order(c, json_pack("{s:s, s:s}", "type", "deleteEim", "eimId", EIM_ID), "succeeded");

    /* this eIM is gone from the eUICC: its next package is refused there, and the order
     * fails with the eUICC's error */
    json_t *order = run(c, json_pack("{s:s}", "type", "listEim"));
    assert_string_equal(json_string_value(json_object_get(order, "state")), "failed");
    const char *reason = json_string_value(json_object_get(order, "reason"));
    assert_non_null(reason);
    assert_non_null(strstr(reason, "euiccPackageError"));
    json_decref(order);
}

/* IpaEuiccData with the eUICC's own EUICCInfo2 (ES10b GetEuiccInfo2): the eIM keeps the
 * SGP.32 version, free memory and CI keys, and filters the fleet by them. */
static void test_euicc_facts(void **state)
{
    context *c = *state;
    json_t *created = rest(c, "POST", "devices/" FIXTURE_EID "/operations",
                           json_pack("{s:s}", "type", "euiccData"), 201);
    json_decref(created);
    http_response response = {0};
    poll_eim(c, &response);
    rsp_error err = {0};
    sgp32_get_eim_package_response package;
    uint8_t arena_buf[16384];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    check(schema_decode(&sgp32_get_eim_package_response_type,
                        der_view_make(response.body, response.body_len), &package, &arena, &err),
          &err, "package");
    assert_int_equal(package.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_IPA_EUICC_DATA_REQUEST);
    uint8_t txid[16];
    memcpy(txid, package.u.ipa_euicc_data_request.eim_transaction_id.data, 16);
    http_response_free(&response);

    static const uint8_t get_info2[] = {0xBF, 0x22, 0x00};
    der_writer info2;
    der_writer_init_dynamic(&info2, NULL);
    check(euicc_process(c->f->e, der_view_make(get_info2, sizeof get_info2), &info2), &err,
          "GetEuiccInfo2");
    sgp32_provide_eim_package_result provided = {
        .has_eid_value = true,
        .eid_value = der_view_make(c->f->eid, 16),
        .eim_package_result = {.choice = SGP32_EIM_PACKAGE_RESULT_IPA_EUICC_DATA_RESPONSE},
    };
    sgp32_ipa_euicc_data_response *r = &provided.eim_package_result.u.ipa_euicc_data_response;
    r->choice = SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA;
    r->u.ipa_euicc_data.has_euicc_info2 = true;
    check(schema_decode(&sgp32_euicc_info2_type, der_writer_view(&info2),
                        &r->u.ipa_euicc_data.euicc_info2, &arena, &err),
          &err, "EUICCInfo2");
    r->u.ipa_euicc_data.has_eim_transaction_id = true;
    r->u.ipa_euicc_data.eim_transaction_id = der_view_make(txid, 16);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp32_provide_eim_package_result_type, &provided, &w), RSP_OK);
    esipa_post(c, w.buf, w.len, &response, "provide");
    assert_int_equal(response.status, 200);
    http_response_free(&response);
    der_writer_free(&w);
    der_writer_free(&info2);

    json_t *device = rest(c, "GET", "devices/" FIXTURE_EID, NULL, 200);
    const char *version = json_string_value(json_object_get(device, "sgp32Version"));
    assert_non_null(version);
    assert_int_equal(json_array_size(json_object_get(device, "ciKeys")), 1);
    json_int_t free_nvm = json_integer_value(json_object_get(device, "freeNvm"));
    assert_true(free_nvm > 0);
    /* the fleet filtered by those facts */
    char path[160];
    snprintf(path, sizeof path, "devices?version=%s&minFreeNvm=%lld", version, (long long)free_nvm);
    json_t *list = rest(c, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "devices")), 1);
    json_decref(list);
    snprintf(path, sizeof path, "devices?version=%s&minFreeNvm=%lld", version,
             (long long)free_nvm + 1);
    list = rest(c, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "devices")), 0);
    json_decref(list);
    json_decref(device);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_psmo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eco_and_handover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_euicc_facts, setup, teardown),
    };
    return cmocka_run_group_tests_name("eim server with the software eUICC", tests, NULL, NULL);
}
