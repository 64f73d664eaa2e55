/* SGP.32 signed parts (exact bytes a signature covers, and the signature input with the
 * association token) and the version profiles in core/sgp32_version.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/sgp32.h"
#include "core/sgp32_version.h"

/* openiotrsp/openiotrsp, euiccpkg/known_answer_test.go (commit e3757617) */
static const char package_request_hex[] =
    "bf5139302f80087465737465696d315a1089010000000000000000000000000001810101a00ea30c5a0a89101012"
    "3456789012f15f37053003020101";

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    long n = der_hex_decode(hex, out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_package_signed_part(void **state)
{
    (void)state;
    uint8_t der[128];
    size_t len = from_hex(package_request_hex, der, sizeof der);
    const uint32_t signed_path[] = SGP32_PATH_EUICC_PACKAGE_SIGNED;
    const uint32_t signature_path[] = SGP32_PATH_EIM_SIGNATURE;
    der_view part;
    rsp_error err = {0};
    assert_int_equal(sgp32_signed_part(der_view_make(der, len), signed_path, 2, &part, &err),
                     RSP_OK);
    /* the SEQUENCE right after the BF51 header, tag and length included */
    assert_ptr_equal(part.data, der + 3);
    assert_int_equal(part.len, 2 + 0x2F);
    der_view signature;
    assert_int_equal(
        sgp32_signed_part(der_view_make(der, len), signature_path, 2, &signature, &err), RSP_OK);
    assert_int_equal(signature.len, 3 + 5);
    assert_int_equal(signature.data[0], 0x5F);

    /* signature input: EuiccPackageSigned followed by associationToken as 84 01 07 */
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(sgp32_signature_input(part, 7, &w), RSP_OK);
    assert_int_equal(w.len, part.len + 3);
    assert_memory_equal(w.buf, part.data, part.len);
    const uint8_t token[] = {0x84, 0x01, 0x07};
    assert_memory_equal(w.buf + part.len, token, 3);
    der_writer_free(&w);

    /* no associationToken configured: the value 0 */
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(sgp32_signature_input(part, 0, &w), RSP_OK);
    const uint8_t zero[] = {0x84, 0x01, 0x00};
    assert_memory_equal(w.buf + part.len, zero, 3);
    der_writer_free(&w);
}

static void test_result_signed_parts(void **state)
{
    (void)state;
    /* EuiccPackageResult signed result (A0) and signed error (A1), written from the ASN.1 */
    const uint8_t result[] = {0xBF, 0x51, 0x19, 0xA0, 0x17, 0x30, 0x10, 0x80, 0x03, 'e',
                              'i',  'm',  0x81, 0x01, 0x05, 0x83, 0x01, 0x02, 0x30, 0x03,
                              0x83, 0x01, 0x00, 0x5F, 0x37, 0x02, 0xAA, 0xBB};
    const uint8_t error[] = {0xBF, 0x51, 0x14, 0xA1, 0x12, 0x30, 0x0B, 0x80, 0x03, 'e',  'i', 'm',
                             0x81, 0x01, 0x05, 0x02, 0x01, 0x06, 0x5F, 0x37, 0x02, 0xAA, 0xBB};
    const uint32_t result_path[] = SGP32_PATH_EUICC_PACKAGE_RESULT_DATA_SIGNED;
    const uint32_t epr_path[] = SGP32_PATH_EUICC_SIGN_EPR;
    const uint32_t error_path[] = SGP32_PATH_EUICC_PACKAGE_ERROR_DATA_SIGNED;
    const uint32_t epe_path[] = SGP32_PATH_EUICC_SIGN_EPE;
    der_view part;
    rsp_error err = {0};
    assert_int_equal(
        sgp32_signed_part(der_view_make(result, sizeof result), result_path, 3, &part, &err),
        RSP_OK);
    assert_ptr_equal(part.data, result + 5);
    assert_int_equal(part.len, 18);
    assert_int_equal(
        sgp32_signed_part(der_view_make(result, sizeof result), epr_path, 3, &part, &err), RSP_OK);
    assert_int_equal(part.len, 5);
    assert_int_equal(
        sgp32_signed_part(der_view_make(error, sizeof error), error_path, 3, &part, &err), RSP_OK);
    assert_ptr_equal(part.data, error + 5);
    assert_int_equal(part.len, 13);
    assert_int_equal(
        sgp32_signed_part(der_view_make(error, sizeof error), epe_path, 3, &part, &err), RSP_OK);
    /* a signed error has no A0 branch */
    rsp_error_clear(&err);
    assert_int_equal(
        sgp32_signed_part(der_view_make(error, sizeof error), result_path, 3, &part, &err),
        RSP_ERR_NOT_FOUND);
    /* the typed decoder agrees with the raw view */
    sgp32_euicc_package_result decoded;
    uint8_t arena_buffer[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_type,
                                   der_view_make(result, sizeof result), &decoded, &arena, NULL),
                     RSP_OK);
    assert_int_equal(
        decoded.u.euicc_package_result_signed.euicc_package_result_data_signed.counter_value, 5);
}

static void test_version_profiles(void **state)
{
    (void)state;
    const sgp32_version_profile *v12 = sgp32_version_find(SGP32_VERSION_1_2);
    const sgp32_version_profile *v10 = sgp32_version_find(SGP32_VERSION_1_0);
    assert_non_null(v12);
    assert_non_null(v10);
    assert_true(v12->implemented);
    assert_false(v10->implemented);
    assert_int_equal(v12->message_count, sgp32_message_count);
    for (size_t i = 0; i < v12->message_count; i++)
        assert_ptr_equal(v12->messages[i].type, sgp32_messages[i]);
    assert_true(v12->difference_count >= 30);
    assert_ptr_equal(sgp32_version_effective(v10), v12);
    assert_ptr_equal(sgp32_version_effective(v12), v12);

    const uint8_t iot_v12[] = {1, 2, 0}, iot_v10[] = {1, 0, 0}, iot_v9[] = {9, 0, 0};
    assert_ptr_equal(sgp32_version_from_iot_version(der_view_make(iot_v12, 3)), v12);
    assert_ptr_equal(sgp32_version_from_iot_version(der_view_make(iot_v10, 3)), v10);
    assert_null(sgp32_version_from_iot_version(der_view_make(iot_v9, 3)));
    assert_null(sgp32_version_from_iot_version(der_view_make(iot_v12, 2)));
}

static void test_message_lookup(void **state)
{
    (void)state;
    const sgp32_version_profile *v12 = sgp32_version_find(SGP32_VERSION_1_2);
    /* one tag, two messages: BF51 is the package and its result */
    assert_ptr_equal(sgp32_message_find(v12, SGP32_INTERFACE_EIM_PACKAGE, 0xBF51, false),
                     &sgp32_euicc_package_request_type);
    assert_ptr_equal(sgp32_message_find(v12, SGP32_INTERFACE_EIM_PACKAGE, 0xBF51, true),
                     &sgp32_euicc_package_result_type);
    assert_ptr_equal(sgp32_message_find(v12, SGP32_INTERFACE_ESIPA, 0xBF4F, false),
                     &sgp32_get_eim_package_request_type);
    assert_ptr_equal(sgp32_message_find(v12, SGP32_INTERFACE_ESIPA, 0xBF4E, true),
                     &sgp32_transfer_eim_package_request_type);
    assert_ptr_equal(sgp32_message_find(v12, SGP32_INTERFACE_ES10B, 0xBF64, false),
                     &sgp32_euicc_memory_reset_request_type);
    assert_null(sgp32_message_find(v12, SGP32_INTERFACE_ES10B, 0xBF34, false));
    assert_null(sgp32_message_find(v12, SGP32_INTERFACE_ESIPA, 0, false));
    assert_null(sgp32_message_find(sgp32_version_find(SGP32_VERSION_1_0), SGP32_INTERFACE_ESIPA,
                                   0xBF4F, false));
    /* each (interface, tag, direction) names one message */
    for (size_t i = 0; i < v12->message_count; i++) {
        const sgp32_message_info *m = &v12->messages[i];
        if (m->type->tag == 0)
            continue;
        assert_ptr_equal(sgp32_message_find(v12, m->interface, m->type->tag, m->response), m->type);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_package_signed_part),
        cmocka_unit_test(test_result_signed_parts),
        cmocka_unit_test(test_version_profiles),
        cmocka_unit_test(test_message_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
