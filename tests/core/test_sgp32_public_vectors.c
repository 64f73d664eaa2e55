/* SGP.32 v1.2 codec against encodings published by independent implementations. Each vector
 * is quoted byte for byte from its source (repository + path cited), decoded, checked field by
 * field and re-encoded to the identical bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sgp32.h"

#define ARENA_SIZE 16384

static uint8_t arena_buffer[ARENA_SIZE];

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    long n = der_hex_decode(hex, out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void round_trip(const schema_type *type, const uint8_t *der, size_t len, void *value)
{
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    rsp_error err = {0};
    rsp_status st = schema_decode(type, der_view_make(der, len), value, &arena, &err);
    if (st != RSP_OK) {
        char text[200];
        print_error("%s: %s\n", type->name, rsp_error_format(&err, text, sizeof text));
    }
    assert_int_equal(st, RSP_OK);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(type, value, &w), RSP_OK);
    assert_int_equal(w.len, len);
    assert_memory_equal(w.buf, der, len);
    der_writer_free(&w);
}

static void assert_view(der_view v, const char *hex)
{
    uint8_t expected[64];
    size_t n = from_hex(hex, expected, sizeof expected);
    assert_int_equal(v.len, n);
    assert_memory_equal(v.data, expected, n);
}

/* openiotrsp/openiotrsp, euiccpkg/known_answer_test.go (commit e3757617), the SGP.33-1
 * section 4.2.31 enable fixture: EuiccPackageRequest, eimId "testeim1", counterValue 1, one
 * enable PSMO without rollbackFlag. */
static void test_openiotrsp_enable_package(void **state)
{
    (void)state;
    uint8_t der[128];
    size_t len = from_hex("bf5139302f80087465737465696d315a108901000000000000000000000000000181"
                          "0101a00ea30c5a0a891010123456789012f15f37053003020101",
                          der, sizeof der);
    sgp32_euicc_package_request request;
    round_trip(&sgp32_euicc_package_request_type, der, len, &request);
    const sgp32_euicc_package_signed *s = &request.euicc_package_signed;
    assert_int_equal(s->eim_id.len, 8);
    assert_memory_equal(s->eim_id.data, "testeim1", 8);
    assert_view(s->eid_value, "89010000000000000000000000000001");
    assert_int_equal(s->counter_value, 1);
    assert_false(s->has_eim_transaction_id);
    assert_int_equal(s->euicc_package.choice, SGP32_EUICC_PACKAGE_PSMO_LIST);
    assert_int_equal(s->euicc_package.u.psmo_list.count, 1);
    const sgp32_psmo *psmo = s->euicc_package.u.psmo_list.items;
    assert_int_equal(psmo->choice, SGP32_PSMO_ENABLE);
    assert_view(psmo->u.enable.iccid, "891010123456789012f1");
    assert_false(psmo->u.enable.has_rollback_flag);
    assert_view(request.eim_signature, "3003020101");
}

/* openiotrsp/openiotrsp, asn1/sgp32_test.go (commit 0bdfd042), knownAnswerDERCases:
 * EimAcknowledgements {1, 2}. */
static void test_openiotrsp_acknowledgements(void **state)
{
    (void)state;
    uint8_t der[16];
    size_t len = from_hex("bf5306800101800102", der, sizeof der);
    sgp32_eim_acknowledgements acks;
    round_trip(&sgp32_eim_acknowledgements_type, der, len, &acks);
    assert_int_equal(acks.sequence_numbers.count, 2);
    assert_int_equal(((int64_t *)acks.sequence_numbers.items)[0], 1);
    assert_int_equal(((int64_t *)acks.sequence_numbers.items)[1], 2);
}

/* openiotrsp/openiotrsp, asn1/sgp32_test.go (commit 0bdfd042), knownAnswerDERCases:
 * ProfileDownloadTriggerRequest with activationCode "ACT" and eimTransactionId 0102. */
static void test_openiotrsp_trigger_activation_code(void **state)
{
    (void)state;
    uint8_t der[32];
    size_t len = from_hex("bf540ba005800341435482020102", der, sizeof der);
    sgp32_profile_download_trigger_request trigger;
    round_trip(&sgp32_profile_download_trigger_request_type, der, len, &trigger);
    assert_true(trigger.has_profile_download_data);
    assert_int_equal(trigger.profile_download_data.choice,
                     SGP32_PROFILE_DOWNLOAD_DATA_ACTIVATION_CODE);
    assert_view(trigger.profile_download_data.u.activation_code, "414354");
    assert_true(trigger.has_eim_transaction_id);
    assert_view(trigger.eim_transaction_id, "0102");
}

/* openiotrsp/openiotrsp, asn1/sgp32_test.go (commit 0bdfd042), knownAnswerDERCases:
 * ProfileDownloadTriggerRequest with contactDefaultSmdp and eimTransactionId 01. */
static void test_openiotrsp_trigger_default_smdp(void **state)
{
    (void)state;
    uint8_t der[32];
    size_t len = from_hex("bf5407a0028100820101", der, sizeof der);
    sgp32_profile_download_trigger_request trigger;
    round_trip(&sgp32_profile_download_trigger_request_type, der, len, &trigger);
    assert_int_equal(trigger.profile_download_data.choice,
                     SGP32_PROFILE_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP);
    assert_view(trigger.eim_transaction_id, "01");
}

/* onomondo/onomondo-eim, doc/examples.md, eUICC data request outcome reported by a real
 * IPAd: "ipaCapabilities": IpaCapabilities as a universal SEQUENCE. */
static void test_onomondo_ipa_capabilities(void **state)
{
    (void)state;
    uint8_t der[32];
    size_t len = from_hex("300B8005000001000181020001", der, sizeof der);
    sgp32_ipa_capabilities caps;
    round_trip(&sgp32_ipa_capabilities_type, der, len, &caps);
    assert_int_equal(caps.ipa_features.bytes.len, 4);
    assert_true(caps.has_ipa_supported_protocols);
    assert_false(schema_bits_get(&caps.ipa_supported_protocols, SGP32_IPA_RETRIEVE_HTTPS));
    assert_true(schema_bits_get(&caps.ipa_supported_protocols, 7));
}

/* onomondo/onomondo-eim, doc/examples.md, same outcome: "notificationsList" ([0], one
 * ProfileInstallationResult from testsmdpplus1.example.com with an errorResult) and
 * "euiccInfo1", placed verbatim into an IpaEuiccDataResponse together with the reported
 * associationToken 1. */
#define ONOMONDO_NOTIFICATIONS_LIST                                                                \
    "A0819CBF378198BF27528010E0F1356728A44720B219A3B70C9DF57EBF2F2E800102810207800C1974657374"     \
    "736D6470706C7573312E6578616D706C652E636F6D5A0A989444999999990930F1060388370AA208A1068001"     \
    "028101095F37407FA95E72677338D953EE62395D7BCDC365BF217DFE6DAF315A98503F9DEF97103EAFBA7EDB"     \
    "5E16621BA14061354A75390FF0E8332B26AC31C8E2C9FAA6C07358"
#define ONOMONDO_EUICC_INFO1                                                                       \
    "BF20618203020500A92C0414F54172BDF98A95D65CBEB88A38A1C11D800A85C30414C0BC70BA36929D43B467"     \
    "FF57570530E57AB8FCD8AA2C0414F54172BDF98A95D65CBEB88A38A1C11D800A85C30414C0BC70BA36929D43"     \
    "B467FF57570530E57AB8FCD8"

static void test_onomondo_ipa_euicc_data(void **state)
{
    (void)state;
    uint8_t parts[512];
    size_t parts_len =
        from_hex(ONOMONDO_NOTIFICATIONS_LIST ONOMONDO_EUICC_INFO1 "840101", parts, sizeof parts);
    /* BF52 { A0 { parts } }: both lengths need the two-byte form */
    uint8_t der[600];
    size_t len = 0;
    der[len++] = 0xBF;
    der[len++] = 0x52;
    der[len++] = 0x82;
    der[len++] = (uint8_t)((parts_len + 4) >> 8);
    der[len++] = (uint8_t)(parts_len + 4);
    der[len++] = 0xA0;
    der[len++] = 0x82;
    der[len++] = (uint8_t)(parts_len >> 8);
    der[len++] = (uint8_t)parts_len;
    memcpy(der + len, parts, parts_len);
    len += parts_len;

    sgp32_ipa_euicc_data_response response;
    round_trip(&sgp32_ipa_euicc_data_response_type, der, len, &response);
    assert_int_equal(response.choice, SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA);
    const sgp32_ipa_euicc_data *data = &response.u.ipa_euicc_data;
    assert_true(data->has_notifications_list);
    assert_int_equal(data->notifications_list.count, 1);
    const sgp32_pending_notification *n = data->notifications_list.items;
    assert_int_equal(n->choice, SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT);
    const sgp22_profile_installation_result_data *pir =
        &n->u.profile_installation_result.profile_installation_result_data;
    assert_int_equal(pir->notification_metadata.seq_number, 2);
    assert_int_equal(pir->notification_metadata.notification_address.len, 25);
    assert_memory_equal(pir->notification_metadata.notification_address.data,
                        "testsmdpplus1.example.com", 25);
    assert_int_equal(pir->final_result.choice, SGP22_FINAL_RESULT_ERROR_RESULT);
    assert_int_equal(pir->final_result.u.error_result.bpp_command_id, 2);
    assert_int_equal(pir->final_result.u.error_result.error_reason, 9);
    assert_true(data->has_euicc_info1);
    assert_int_equal(data->euicc_info1.euicc_ci_pkid_list_for_verification.count, 2);
    assert_true(data->has_association_token);
    assert_int_equal(data->association_token, 1);
    assert_false(data->has_euicc_info2);
}

/* openiotrsp/openiotrsp, asn1/sgp32_test.go (commit 0bdfd042): the same EuiccPackageRequest
 * with a 2-byte EID and a 2-byte ICCID. SGP.32 makes both fixed-size (Octet16, SIZE(10)), so
 * a strict decoder must refuse it. */
static void test_openiotrsp_short_eid_rejected(void **state)
{
    (void)state;
    uint8_t der[64];
    size_t len =
        from_hex("bf511b3014800365696d5a020102810101a006a3045a0298105f3702aabb", der, sizeof der);
    sgp32_euicc_package_request request;
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    rsp_error err = {0};
    assert_int_equal(schema_decode(&sgp32_euicc_package_request_type, der_view_make(der, len),
                                   &request, &arena, &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(err.tag, 0x5A);
}

/* openiotrsp/openiotrsp, euiccpkg/known_answer_test.go (commit e3757617): its encoder puts
 * the chosen EuiccPackageResult alternative under BF51 as a bare SEQUENCE. Under AUTOMATIC
 * TAGS the alternative is [0] (A0), which is also what its INTERPRETATION_LOG.md reports real
 * eUICCs send; the bare form is refused here. */
static void test_openiotrsp_bare_result_rejected(void **state)
{
    (void)state;
    uint8_t der[64];
    size_t len = from_hex("bf5121301f301580087465737465696d3181010183010130038301005f3705300302"
                          "0102",
                          der, sizeof der);
    sgp32_euicc_package_result result;
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    rsp_error err = {0};
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_type, der_view_make(der, len),
                                   &result, &arena, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    /* re-tagging the alternative as [0] makes the same content acceptable */
    der[3] = 0xA0;
    round_trip(&sgp32_euicc_package_result_type, der, len, &result);
    const sgp32_euicc_package_result_data_signed *data =
        &result.u.euicc_package_result_signed.euicc_package_result_data_signed;
    assert_int_equal(data->seq_number, 1);
    assert_int_equal(data->euicc_result.count, 1);
    assert_int_equal(((const sgp32_euicc_result_data *)data->euicc_result.items)->choice,
                     SGP32_EUICC_RESULT_DATA_ENABLE_RESULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openiotrsp_enable_package),
        cmocka_unit_test(test_openiotrsp_acknowledgements),
        cmocka_unit_test(test_openiotrsp_trigger_activation_code),
        cmocka_unit_test(test_openiotrsp_trigger_default_smdp),
        cmocka_unit_test(test_onomondo_ipa_capabilities),
        cmocka_unit_test(test_onomondo_ipa_euicc_data),
        cmocka_unit_test(test_openiotrsp_short_eid_rejected),
        cmocka_unit_test(test_openiotrsp_bare_result_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
