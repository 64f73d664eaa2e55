/* SGP.32 v1.2 eIM package and eUICC package result signatures: the exact signed bytes
 * (data SEQUENCE || associationToken, 84 01 00 when none is configured), both curves,
 * whole-message build/open, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/der.h"
#include "crypto/ecdsa.h"
#include "crypto/signature_gsma.h"

static size_t hex(const char *text, uint8_t *out, size_t cap)
{
    long n = der_hex_decode(text, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

static void expect_token(const int64_t *token, const char *expected_hex)
{
    uint8_t tlv[RSP_ASSOCIATION_TOKEN_TLV_MAX];
    uint8_t expected[RSP_ASSOCIATION_TOKEN_TLV_MAX];
    size_t len = 0;
    size_t expected_len = hex(expected_hex, expected, sizeof expected);
    assert_int_equal(rsp_association_token_tlv(token, tlv, &len), RSP_OK);
    assert_int_equal(len, expected_len);
    assert_memory_equal(tlv, expected, len);
}

static void test_association_token_encoding(void **state)
{
    (void)state;
    int64_t zero = 0;
    int64_t seven = 7;
    int64_t x80 = 128;
    int64_t minus_one = -1;
    int64_t big = 0x123456789A;
    int64_t max = INT64_MAX;
    expect_token(NULL, "840100"); /* not configured: value zero, never absent */
    expect_token(&zero, "840100");
    expect_token(&seven, "840107");
    expect_token(&x80, "84020080");
    expect_token(&minus_one, "8401FF");
    expect_token(&big, "8405123456789A");
    expect_token(&max, "84087FFFFFFFFFFFFFFF");
}

/* EuiccPackageSigned known-answer fixture used by openiotrsp (euiccpkg/service_test.go):
 * eimId "eim", eidValue, counterValue 1, an enable PSMO. */
static const char package_signed_hex[] = "3014800365696d5a020102810101a006a3045a029810";

static void test_signed_bytes_are_data_then_token(void **state)
{
    (void)state;
    uint8_t data[64];
    uint8_t input[80];
    uint8_t signature[64];
    size_t data_len = hex(package_signed_hex, data, sizeof data);
    der_view signed_data = der_view_make(data, data_len);
    rsp_private_key *key = NULL;
    rsp_public_key *pub = NULL;
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &key, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(key, &pub, NULL), RSP_OK);

    /* No token: the signature is plain ECDSA over data || 84 01 00. */
    assert_int_equal(rsp_eim_package_sign(key, signed_data, NULL, signature, NULL), RSP_OK);
    size_t input_len =
        hex("3014800365696d5a020102810101a006a3045a029810840100", input, sizeof input);
    assert_int_equal(rsp_ecdsa_verify(pub, input, input_len, signature, 64, NULL), RSP_OK);
    int64_t zero = 0;
    assert_int_equal(
        rsp_eim_package_verify(pub, signed_data, &zero, der_view_make(signature, 64), NULL),
        RSP_OK);

    /* Token 7: data || 84 01 07; the zero-token verification now fails. */
    int64_t seven = 7;
    assert_int_equal(rsp_eim_package_sign(key, signed_data, &seven, signature, NULL), RSP_OK);
    input_len = hex("3014800365696d5a020102810101a006a3045a029810840107", input, sizeof input);
    assert_int_equal(rsp_ecdsa_verify(pub, input, input_len, signature, 64, NULL), RSP_OK);
    assert_int_equal(
        rsp_eim_package_verify(pub, signed_data, NULL, der_view_make(signature, 64), NULL),
        RSP_ERR_VERIFY);
    assert_int_equal(
        rsp_eim_package_verify(pub, signed_data, &seven, der_view_make(signature, 64), NULL),
        RSP_OK);

    /* A signature over the data alone (no token appended) does not verify. */
    assert_int_equal(rsp_ecdsa_sign(key, data, data_len, signature, NULL), RSP_OK);
    assert_int_equal(
        rsp_eim_package_verify(pub, signed_data, NULL, der_view_make(signature, 64), NULL),
        RSP_ERR_VERIFY);
    rsp_public_key_free(pub);
    rsp_private_key_free(key);
}

/* EuiccPackageResultDataSigned: eimId "eim.example", counterValue 15, seqNumber 16, one
 * enableResult ok, written out by hand. */
static const char result_data_hex[] = "3018"
                                      "800b65696d2e6578616d706c65"
                                      "81010f"
                                      "830110"
                                      "3003830100";

static void check_result_signature(rsp_curve curve)
{
    uint8_t data[64];
    uint8_t signature[64];
    size_t data_len = hex(result_data_hex, data, sizeof data);
    der_view signed_data = der_view_make(data, data_len);
    rsp_private_key *euicc = NULL;
    rsp_public_key *pub = NULL;
    rsp_private_key *other = NULL;
    rsp_public_key *other_pub = NULL;
    int64_t token = 0x2A;
    assert_int_equal(rsp_private_key_generate(curve, &euicc, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(euicc, &pub, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_generate(curve, &other, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(other, &other_pub, NULL), RSP_OK);
    assert_int_equal(rsp_euicc_package_result_sign(euicc, signed_data, &token, signature, NULL),
                     RSP_OK);
    der_view sig = der_view_make(signature, sizeof signature);
    assert_int_equal(rsp_euicc_package_result_verify(pub, signed_data, &token, sig, NULL), RSP_OK);
    assert_int_equal(rsp_euicc_package_result_verify(other_pub, signed_data, &token, sig, NULL),
                     RSP_ERR_VERIFY);
    int64_t wrong = 0x2B;
    assert_int_equal(rsp_euicc_package_result_verify(pub, signed_data, &wrong, sig, NULL),
                     RSP_ERR_VERIFY);
    for (size_t i = 0; i < data_len; i++) {
        data[i] ^= 0x01;
        rsp_error err = {0};
        assert_int_not_equal(rsp_euicc_package_result_verify(pub, signed_data, &token, sig, &err),
                             RSP_OK);
        data[i] ^= 0x01;
    }
    assert_int_equal(rsp_euicc_package_result_verify(pub, signed_data, &token,
                                                     der_view_make(signature, 63), NULL),
                     RSP_ERR_VERIFY);
    rsp_public_key_free(other_pub);
    rsp_private_key_free(other);
    rsp_public_key_free(pub);
    rsp_private_key_free(euicc);
}

static void test_result_signature_both_curves(void **state)
{
    (void)state;
    check_result_signature(RSP_CURVE_NIST_P256);
    check_result_signature(RSP_CURVE_BRAINPOOL_P256R1);
}

static void test_signed_data_must_be_the_sequence(void **state)
{
    (void)state;
    uint8_t data[80];
    uint8_t signature[64];
    rsp_private_key *key = NULL;
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &key, NULL), RSP_OK);
    /* the A0 CHOICE wrapper instead of the SEQUENCE */
    size_t len = hex("A014800365696d5a020102810101a006a3045a029810", data, sizeof data);
    assert_int_equal(
        rsp_euicc_package_result_sign(key, der_view_make(data, len), NULL, signature, NULL),
        RSP_ERR_UNEXPECTED_TAG);
    /* a trailing byte after the SEQUENCE */
    len = hex("3014800365696d5a020102810101a006a3045a02981000", data, sizeof data);
    assert_int_equal(rsp_eim_package_sign(key, der_view_make(data, len), NULL, signature, NULL),
                     RSP_ERR_TRAILING);
    /* truncated */
    len = hex("3014800365696d5a02010281", data, sizeof data);
    assert_int_not_equal(rsp_eim_package_sign(key, der_view_make(data, len), NULL, signature, NULL),
                         RSP_OK);
    rsp_private_key_free(key);
}

static void test_package_request_messages(void **state)
{
    (void)state;
    uint8_t data[64];
    size_t data_len = hex(package_signed_hex, data, sizeof data);
    der_view signed_data = der_view_make(data, data_len);
    rsp_private_key *eim = NULL;
    rsp_public_key *pub = NULL;
    int64_t token = 3;
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eim, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(eim, &pub, NULL), RSP_OK);
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    assert_int_equal(rsp_eim_package_request_build(eim, signed_data, &token, &request, NULL),
                     RSP_OK);
    /* BF51 5D { 30 14 .. (22 bytes), 5F37 40 <64> (67 bytes) } */
    assert_int_equal(request.len, 3 + 22 + 67);
    assert_int_equal(request.buf[0], 0xBF);
    assert_int_equal(request.buf[1], 0x51);
    assert_int_equal(request.buf[2], 22 + 67);
    der_view opened;
    assert_int_equal(
        rsp_eim_package_request_open(pub, der_writer_view(&request), &token, &opened, NULL),
        RSP_OK);
    assert_true(der_view_equal(opened, signed_data));
    assert_int_equal(
        rsp_eim_package_request_open(pub, der_writer_view(&request), NULL, &opened, NULL),
        RSP_ERR_VERIFY);
    request.buf[request.len - 1] ^= 0x01;
    assert_int_equal(
        rsp_eim_package_request_open(pub, der_writer_view(&request), &token, &opened, NULL),
        RSP_ERR_VERIFY);
    request.buf[request.len - 1] ^= 0x01;
    /* wrong outer tag */
    request.buf[1] = 0x52;
    assert_int_equal(
        rsp_eim_package_request_open(pub, der_writer_view(&request), &token, &opened, NULL),
        RSP_ERR_UNEXPECTED_TAG);
    der_writer_free(&request);
    rsp_public_key_free(pub);
    rsp_private_key_free(eim);
}

static void test_package_result_messages(void **state)
{
    (void)state;
    uint8_t data[64];
    size_t data_len = hex(result_data_hex, data, sizeof data);
    der_view signed_data = der_view_make(data, data_len);
    rsp_private_key *euicc = NULL;
    rsp_public_key *pub = NULL;
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_BRAINPOOL_P256R1, &euicc, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(euicc, &pub, NULL), RSP_OK);
    static const uint32_t alternatives[] = {0xA0, 0xA1};
    for (size_t i = 0; i < 2; i++) {
        der_writer result;
        der_writer_init_dynamic(&result, NULL);
        assert_int_equal(rsp_euicc_package_result_build(euicc, alternatives[i], signed_data, NULL,
                                                        &result, NULL),
                         RSP_OK);
        assert_int_equal(result.buf[3], alternatives[i]);
        uint32_t alternative = 0;
        der_view opened;
        assert_int_equal(rsp_euicc_package_result_open(pub, der_writer_view(&result), NULL,
                                                       &alternative, &opened, NULL),
                         RSP_OK);
        assert_int_equal(alternative, alternatives[i]);
        assert_true(der_view_equal(opened, signed_data));
        int64_t token = 1;
        assert_int_equal(rsp_euicc_package_result_open(pub, der_writer_view(&result), &token,
                                                       &alternative, &opened, NULL),
                         RSP_ERR_VERIFY);
        der_writer_free(&result);
    }
    der_writer result;
    der_writer_init_dynamic(&result, NULL);
    assert_int_equal(rsp_euicc_package_result_build(euicc, 0xA2, signed_data, NULL, &result, NULL),
                     RSP_ERR_INVALID_ARGUMENT);
    der_writer_free(&result);

    /* The unsigned error alternative passes through untouched. */
    uint8_t unsigned_error[32];
    size_t unsigned_len = hex("BF510AA208800365696d840101", unsigned_error, sizeof unsigned_error);
    uint32_t alternative = 0;
    der_view opened;
    assert_int_equal(rsp_euicc_package_result_open(pub, der_view_make(unsigned_error, unsigned_len),
                                                   NULL, &alternative, &opened, NULL),
                     RSP_OK);
    assert_int_equal(alternative, 0xA2);
    assert_int_equal(opened.len, 8);
    /* Signature before the data, or an unknown alternative: refused. */
    uint8_t swapped[128];
    size_t swapped_len = hex("BF5107A3050401000401", swapped, sizeof swapped);
    assert_int_equal(rsp_euicc_package_result_open(pub, der_view_make(swapped, swapped_len), NULL,
                                                   &alternative, &opened, NULL),
                     RSP_ERR_UNEXPECTED_TAG);
    swapped_len = hex("BF510CA00A5F37020102"
                      "3003830101",
                      swapped, sizeof swapped);
    assert_int_equal(rsp_euicc_package_result_open(pub, der_view_make(swapped, swapped_len), NULL,
                                                   &alternative, &opened, NULL),
                     RSP_ERR_UNEXPECTED_TAG);
    rsp_public_key_free(pub);
    rsp_private_key_free(euicc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_association_token_encoding),
        cmocka_unit_test(test_signed_bytes_are_data_then_token),
        cmocka_unit_test(test_result_signature_both_curves),
        cmocka_unit_test(test_signed_data_must_be_the_sequence),
        cmocka_unit_test(test_package_request_messages),
        cmocka_unit_test(test_package_result_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
