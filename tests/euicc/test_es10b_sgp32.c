/* SGP.32 v1.2 ES10b checks at the eUICC's edge: AddInitialEim validation (mandatory fields,
 * association token requests, counter range, CI of an eIM certificate), LoadEuiccPackage with
 * a damaged header or an operation this version does not know, and the eIM configuration and
 * replay counter surviving a restart from the state file. */
#include "test_es10_fixture.h"

#include "crypto/signature_gsma.h"
#include "euicc/euicc_package.h"

typedef struct {
    fixture *f;
    rsp_private_key *eim_key;
    uint8_t spki[128];
    size_t spki_len;
} context;

static int setup(void **state)
{
    fixture_setup(state);
    context *c = calloc(1, sizeof(*c));
    rsp_public_key *public_key = NULL;
    uint8_t *spki = NULL;
    rsp_error err = {0};
    c->f = *state;
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &c->eim_key, &err) != RSP_OK ||
        rsp_private_key_public(c->eim_key, &public_key, &err) != RSP_OK ||
        rsp_public_key_to_spki(public_key, &spki, &c->spki_len, &err) != RSP_OK ||
        c->spki_len > sizeof(c->spki))
        return -1;
    memcpy(c->spki, spki, c->spki_len);
    free(spki);
    rsp_public_key_free(public_key);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    context *c = *state;
    void *f = c->f;
    rsp_private_key_free(c->eim_key);
    free(c);
    return fixture_teardown(&f);
}

static void base_configuration(context *c, const char *eim_id, sgp32_eim_configuration_data *out)
{
    memset(out, 0, sizeof(*out));
    out->eim_id = der_view_make((const uint8_t *)eim_id, strlen(eim_id));
    out->has_counter_value = true;
    out->counter_value = 5;
    out->has_eim_public_key_data = true;
    out->eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    out->eim_public_key_data.u.eim_public_key = der_view_make(c->spki, c->spki_len);
}

/* Runs AddInitialEim for count configurations and returns the response in hex. */
static void add_initial(context *c, sgp32_eim_configuration_data *eims, size_t count,
                        const char *expected_hex)
{
    sgp32_add_initial_eim_request request;
    der_writer w;
    char hex[4096];
    request.eim_configuration_data_list.count = count;
    request.eim_configuration_data_list.items = eims;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp32_add_initial_eim_request_type, &request, &w), RSP_OK);
    assert_true(w.len * 2 < sizeof(hex));
    der_hex_encode(w.buf, w.len, hex, true);
    der_writer_free(&w);
    command_result r = fixture_run(c->f, hex);
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len, expected_hex);
}

static void test_add_initial_eim_validation(void **state)
{
    context *c = *state;
    sgp32_eim_configuration_data eims[2];
    uint8_t unknown_ci[4] = {1, 2, 3, 4};

    base_configuration(c, "a", &eims[0]);
    eims[0].has_counter_value = false; /* mandatory */
    add_initial(c, eims, 1, "BF5703810107");
    base_configuration(c, "a", &eims[0]);
    eims[0].counter_value = (int64_t)EUICC_EIM_COUNTER_MAX + 1;
    add_initial(c, eims, 1, "BF5703810106");
    base_configuration(c, "a", &eims[0]);
    eims[0].has_association_token = true;
    eims[0].association_token = -5;
    add_initial(c, eims, 1, "BF5703810105");
    base_configuration(c, "a", &eims[0]);
    eims[0].has_euicc_ci_pk_id = true;
    eims[0].euicc_ci_pk_id = der_view_make(unknown_ci, sizeof(unknown_ci));
    add_initial(c, eims, 1, "BF5703810103");
    base_configuration(c, "a", &eims[0]);
    eims[0].has_eim_public_key_data = false;
    add_initial(c, eims, 1, "BF5703810107");
    base_configuration(c, "a", &eims[0]);
    base_configuration(c, "a", &eims[1]);
    add_initial(c, eims, 2, "BF5703810107"); /* the same eimId twice */
    add_initial(c, eims, 0, "BF5703810107");
    assert_int_equal(euicc_state_count(euicc_get_state(c->f->e), EUICC_LIST_EIMS), 0);

    /* two eIMs: one asks for a token (-1 -> 1), one brings none (addOk) */
    base_configuration(c, "a", &eims[0]);
    eims[0].has_association_token = true;
    eims[0].association_token = EUICC_ASSOCIATION_TOKEN_REQUEST;
    base_configuration(c, "b", &eims[1]);
    add_initial(c, eims, 2, "BF5707A0058401010500");
}

static void test_add_initial_eim_certificate(void **state)
{
    context *c = *state;
    rsp_private_key *foreign_key = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &foreign_key, &err), RSP_OK);
    /* an eIM certificate from the eUICC's CI, and one self-signed by a CI it does not know */
    rsp_pki_certificate_request good = {
        .role = RSP_CERT_ROLE_EIM, .issuer = c->f->ci, .issuer_key = c->f->ci_key};
    rsp_certificate *trusted = fixture_issue(&good, c->eim_key);
    rsp_pki_certificate_request foreign_ci = {.role = RSP_CERT_ROLE_CI, .issuer_key = foreign_key};
    rsp_certificate *other_ci = fixture_issue(&foreign_ci, foreign_key);
    rsp_pki_certificate_request bad = {
        .role = RSP_CERT_ROLE_EIM, .issuer = other_ci, .issuer_key = foreign_key};
    rsp_certificate *untrusted = fixture_issue(&bad, c->eim_key);

    sgp32_eim_configuration_data eim;
    base_configuration(c, "cert", &eim);
    eim.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_CERTIFICATE;
    eim.eim_public_key_data.u.eim_certificate = rsp_certificate_der(untrusted);
    add_initial(c, &eim, 1, "BF5703810103");
    eim.eim_public_key_data.u.eim_certificate = rsp_certificate_der(trusted);
    eim.has_association_token = true;
    eim.association_token = 77; /* the eIM's own token is taken as given */
    add_initial(c, &eim, 1, "BF5705A00384014D");

    rsp_certificate_free(trusted);
    rsp_certificate_free(untrusted);
    rsp_certificate_free(other_ci);
    rsp_private_key_free(foreign_key);
}

/* A BF51 request around the hex of euiccPackageSigned, signed with the eIM key and token. */
static command_result load_package_with_token(context *c, const char *signed_hex, int64_t token)
{
    uint8_t data[512];
    long n = der_hex_decode(signed_hex, data, sizeof(data));
    assert_true(n > 0);
    der_writer w;
    rsp_error err = {0};
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(
        rsp_eim_package_request_build(c->eim_key, der_view_make(data, (size_t)n), &token, &w, &err),
        RSP_OK);
    char hex[2048];
    der_hex_encode(w.buf, w.len, hex, true);
    der_writer_free(&w);
    return fixture_run(c->f, hex);
}

static command_result load_package(context *c, const char *signed_hex)
{
    return load_package_with_token(c, signed_hex, 1);
}

static void add_eim_e(context *c)
{
    sgp32_eim_configuration_data eim;
    base_configuration(c, "e", &eim);
    eim.has_association_token = true;
    eim.association_token = EUICC_ASSOCIATION_TOKEN_REQUEST;
    add_initial(c, &eim, 1, "BF5705A003840101");
}

/* 30 { 80 "e", 5A eid, 81 counter, <operations> } */
static const char *package_hex(context *c, int counter, const char *operations)
{
    static char out[1024];
    char eid[33];
    der_hex_encode(c->f->eid, 16, eid, true);
    size_t inner = 3 + 18 + 3 + strlen(operations) / 2;
    snprintf(out, sizeof(out),
             "30%02zX800165"
             "5A10%s"
             "8101%02X%s",
             inner, eid, counter, operations);
    return out;
}

/* Tag of the EuiccPackageResult alternative (A0, A1, A2) of a BF51 answer. */
static uint8_t result_alternative(const command_result *r)
{
    assert_true(r->len > 4);
    return r->data[2] == 0x81 ? r->data[4] : r->data[2] == 0x82 ? r->data[5] : r->data[3];
}

/* An eIM configured with its certificate: packages verify with the certificate's key, and the
 * signature covers the token the eIM chose. */
static void test_certificate_configured_eim_packages(void **state)
{
    context *c = *state;
    rsp_pki_certificate_request request = {
        .role = RSP_CERT_ROLE_EIM, .issuer = c->f->ci, .issuer_key = c->f->ci_key};
    rsp_certificate *trusted = fixture_issue(&request, c->eim_key);
    sgp32_eim_configuration_data eim;
    base_configuration(c, "e", &eim);
    eim.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_CERTIFICATE;
    eim.eim_public_key_data.u.eim_certificate = rsp_certificate_der(trusted);
    eim.has_association_token = true;
    eim.association_token = 77;
    add_initial(c, &eim, 1, "BF5705A00384014D");
    rsp_certificate_free(trusted);

    command_result r = load_package_with_token(c, package_hex(c, 6, "A002A600"), 1);
    assert_int_equal(r.status, RSP_OK);
    assert_int_equal(result_alternative(&r), 0xA2);
    r = load_package_with_token(c, package_hex(c, 6, "A002A600"), 77);
    assert_int_equal(r.status, RSP_OK);
    assert_int_equal(result_alternative(&r), 0xA0);
}

static void test_damaged_and_unknown_operations(void **state)
{
    context *c = *state;
    add_eim_e(c);
    /* no counterValue: nothing can be answered, the command is refused (6A80) */
    command_result r = fixture_run(c->f, "BF5107300580016582 00");
    assert_int_not_equal(r.status, RSP_OK);
    assert_int_equal(r.len, 0);

    /* psmoList with an alternative v1.2 does not define ([15]): signed result carrying
     * processingTerminated(unknownOrDamagedCommand), counter consumed */
    r = load_package(c, package_hex(c, 6, "A002AF00"));
    sgp32_euicc_package_result result;
    uint8_t arena_buffer[1024];
    fixture_decode(&r, &sgp32_euicc_package_result_type, &result, arena_buffer,
                   sizeof(arena_buffer));
    assert_int_equal(result.choice, SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED);
    const sgp32_euicc_package_result_data_signed *data =
        &result.u.euicc_package_result_signed.euicc_package_result_data_signed;
    assert_int_equal(data->counter_value, 6);
    assert_int_equal(data->euicc_result.count, 1);
    const sgp32_euicc_result_data *only = data->euicc_result.items;
    assert_int_equal(only->choice, SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED);
    assert_int_equal(only->u.processing_terminated,
                     SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND);
    /* the same counter again is a replay */
    r = load_package(c, package_hex(c, 6, "A002A600"));
    fixture_decode(&r, &sgp32_euicc_package_result_type, &result, arena_buffer,
                   sizeof(arena_buffer));
    assert_int_equal(result.choice, SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED);
}

static void test_counter_and_results_survive_restart(void **state)
{
    context *c = *state;
    add_eim_e(c);
    command_result r = load_package(c, package_hex(c, 9, "A002A600")); /* getRAT */
    assert_int_equal(r.status, RSP_OK);
    assert_int_equal(euicc_state_count(euicc_get_state(c->f->e), EUICC_LIST_PACKAGE_RESULTS), 1);

    euicc_free(c->f->e);
    c->f->e = NULL;
    fixture_open(c->f);
    assert_int_equal(euicc_state_count(euicc_get_state(c->f->e), EUICC_LIST_EIMS), 1);
    assert_int_equal(euicc_state_count(euicc_get_state(c->f->e), EUICC_LIST_PACKAGE_RESULTS), 1);
    r = load_package(c, package_hex(c, 9, "A002A600"));
    assert_int_equal(r.status, RSP_OK);
    /* BF51 A1 ...: the signed error, nothing stored */
    assert_int_equal(result_alternative(&r), 0xA1);
    assert_int_equal(euicc_state_count(euicc_get_state(c->f->e), EUICC_LIST_PACKAGE_RESULTS), 1);
    /* RetrieveNotificationsList with euiccPackageResults returns the pending result */
    r = fixture_run(c->f, "BF2B04A0028200");
    assert_int_equal(r.status, RSP_OK);
    assert_true(r.len > 8);
}

/* Every byte of a valid package, of an AddInitialEim and of the small ES10b requests flipped
 * in turn, and every truncation: each answer is an error status or one well-formed TLV, and
 * the eUICC keeps answering the original. */
static void mutate_all(context *c, const uint8_t *original, size_t len)
{
    uint8_t copy[1024];
    assert_true(len <= sizeof(copy));
    for (size_t i = 0; i <= len; i++) {
        for (unsigned variant = 0; variant < 3; variant++) {
            static const uint8_t masks[3] = {0x01, 0x80, 0xFF};
            size_t n = i < len ? len : i; /* i == len: truncations below */
            memcpy(copy, original, len);
            if (i < len)
                copy[i] ^= masks[variant];
            else
                n = len - 1 - variant;
            der_writer w;
            der_writer_init_dynamic(&w, NULL);
            rsp_status status = euicc_process(c->f->e, der_view_make(copy, n), &w);
            if (status == RSP_OK && w.len > 0) {
                der_tlv tlv;
                rsp_error err = {0};
                assert_int_equal(der_parse_single(der_writer_view(&w), &tlv, &err), RSP_OK);
            }
            der_writer_free(&w);
        }
    }
}

static void test_hostile_input(void **state)
{
    context *c = *state;
    add_eim_e(c);
    uint8_t data[512];
    long n = der_hex_decode(package_hex(c, 60, "A008A6003004A5025A00"), data, sizeof(data));
    assert_true(n > 0);
    der_writer w;
    rsp_error err = {0};
    int64_t token = 1;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(
        rsp_eim_package_request_build(c->eim_key, der_view_make(data, (size_t)n), &token, &w, &err),
        RSP_OK);
    mutate_all(c, w.buf, w.len);
    der_writer_free(&w);

    sgp32_eim_configuration_data eim;
    sgp32_add_initial_eim_request request;
    base_configuration(c, "m", &eim);
    request.eim_configuration_data_list.count = 1;
    request.eim_configuration_data_list.items = &eim;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp32_add_initial_eim_request_type, &request, &w), RSP_OK);
    mutate_all(c, w.buf, w.len);
    der_writer_free(&w);

    static const char *const small[] = {"BF5505A003800165", "BF56068004010203", "BF5803800100",
                                        "BF59058000820178", "BF5A03800101",     "BF5B03800100",
                                        "BF5C03800100",     "BF5D03800100",     "BF5E03800100",
                                        "BF5F00",           "BF6404820202A4",   "BF6503800178"};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        n = der_hex_decode(small[i], data, sizeof(data));
        mutate_all(c, data, (size_t)n);
    }
    /* still working: a fresh package is executed */
    command_result r = load_package(c, package_hex(c, 200, "A002A600"));
    assert_int_equal(r.status, RSP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_initial_eim_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_initial_eim_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certificate_configured_eim_packages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_and_unknown_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_and_results_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
