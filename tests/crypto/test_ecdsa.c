/* ECDSA-SHA256 and the BSI TR-03111 plain r||s form: a published P-256 vector (RFC 6979
 * A.2.5), hand-written DER <-> r||s pairs from X.690 rules, strictness, and sign/verify on
 * both curves, cross-checked against OpenSSL's own DER signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/der.h"
#include "crypto/ecdsa.h"
#include "crypto/key.h"

static size_t hex(const char *text, uint8_t *out, size_t cap)
{
    long n = der_hex_decode(text, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

/* RFC 6979 appendix A.2.5: P-256 key, SHA-256, message "sample". */
static const char rfc6979_x[] = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
static const char rfc6979_u[] = "04"
                                "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                                "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";
static const char rfc6979_rs[] = "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
                                 "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8";

static void test_rfc6979_p256_vector(void **state)
{
    (void)state;
    uint8_t x[32];
    uint8_t u[65];
    uint8_t point[65];
    uint8_t rs[64];
    rsp_private_key *key = NULL;
    rsp_public_key *pub = NULL;
    hex(rfc6979_x, x, sizeof x);
    hex(rfc6979_u, u, sizeof u);
    hex(rfc6979_rs, rs, sizeof rs);
    assert_int_equal(rsp_private_key_from_scalar(RSP_CURVE_NIST_P256, x, &key, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public_point(key, point), RSP_OK);
    assert_memory_equal(point, u, sizeof u);
    assert_int_equal(rsp_public_key_from_point(RSP_CURVE_NIST_P256, u, sizeof u, &pub, NULL),
                     RSP_OK);
    static const uint8_t sample[] = "sample";
    assert_int_equal(rsp_ecdsa_verify(pub, sample, 6, rs, sizeof rs, NULL), RSP_OK);
    /* One bit anywhere in r, in s, or in the message breaks it. */
    for (size_t i = 0; i < sizeof rs; i += 9) {
        rs[i] ^= 0x10;
        assert_int_equal(rsp_ecdsa_verify(pub, sample, 6, rs, sizeof rs, NULL), RSP_ERR_VERIFY);
        rs[i] ^= 0x10;
    }
    static const uint8_t other[] = "samplf";
    assert_int_equal(rsp_ecdsa_verify(pub, other, 6, rs, sizeof rs, NULL), RSP_ERR_VERIFY);
    /* r and s both have the high bit set: DER needs a 00 in front of each. */
    uint8_t der[RSP_ECDSA_DER_MAX];
    size_t der_len = 0;
    assert_int_equal(rsp_ecdsa_signature_to_der(RSP_CURVE_NIST_P256, rs, sizeof rs, der, sizeof der,
                                                &der_len, NULL),
                     RSP_OK);
    assert_int_equal(der_len, 72);
    uint8_t expected[72];
    hex("3046022100"
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
        "022100"
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
        expected, sizeof expected);
    assert_memory_equal(der, expected, sizeof expected);
    rsp_public_key_free(pub);
    rsp_private_key_free(key);
}

typedef struct {
    const char *plain;
    const char *der;
} conversion;

/* Pairs written from X.690 section 8.3 (minimal two's complement INTEGER). */
static const conversion conversions[] = {
    /* r = 1, s = 0x7F: one content byte each */
    {"0000000000000000000000000000000000000000000000000000000000000001"
     "000000000000000000000000000000000000000000000000000000000000007F",
     "300602010102017F"},
    /* s = 0x80: a leading 00 keeps it positive */
    {"0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000000080",
     "300702010102020080"},
    /* r with high bit set over 32 bytes, s with two leading zero bytes */
    {"8000000000000000000000000000000000000000000000000000000000000001"
     "00001234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890AB",
     "3043022100800000000000000000000000000000000000000000000000000000000000000102"
     "1E1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890AB"},
    /* s starting 00 80: the 00 stays as sign byte, 32 content bytes + 1 */
    {"7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
     "0080000000000000000000000000000000000000000000000000000000000000",
     "304402207FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
     "02200080000000000000000000000000000000000000000000000000000000000000"},
};

static void test_known_conversions(void **state)
{
    (void)state;
    static const rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < sizeof conversions / sizeof conversions[0]; i++) {
            uint8_t plain[64];
            uint8_t expected_der[80];
            uint8_t der[RSP_ECDSA_DER_MAX];
            uint8_t back[64];
            size_t der_len = 0;
            assert_int_equal(hex(conversions[i].plain, plain, sizeof plain), 64);
            size_t expected_len = hex(conversions[i].der, expected_der, sizeof expected_der);
            assert_int_equal(
                rsp_ecdsa_signature_to_der(curves[c], plain, 64, der, sizeof der, &der_len, NULL),
                RSP_OK);
            assert_int_equal(der_len, expected_len);
            assert_memory_equal(der, expected_der, der_len);
            assert_int_equal(
                rsp_ecdsa_signature_from_der(curves[c], expected_der, expected_len, back, NULL),
                RSP_OK);
            assert_memory_equal(back, plain, 64);
        }
    }
}

static const char *const bad_der[] = {
    "3006020101020100",       /* s = 0 */
    "30070201010202007F",     /* 00 before a byte without high bit: non-minimal */
    "3006020101020180",       /* s negative */
    "300602010102017F00",     /* trailing byte after the SEQUENCE */
    "3009020101020101020101", /* a third INTEGER */
    "3003020101",             /* s missing */
    "310602010102017F",       /* SET instead of SEQUENCE */
    "300604010102017F",       /* OCTET STRING instead of INTEGER */
    "30810602010102017F",     /* long-form length where short form fits */
    "3005020101020000",       /* empty INTEGER */
    "3007020101020101",       /* SEQUENCE length past the end */
    "",                       /* empty */
    /* s = n of P-256 */
    "3026020101022100FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
    /* s = 2^256 - 1 */
    "3026020101022100FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    /* s of 33 significant bytes */
    "30260201010221010000000000000000000000000000000000000000000000000000000000000000",
};

static void test_strict_der(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_der / sizeof bad_der[0]; i++) {
        uint8_t der[80];
        uint8_t plain[64];
        size_t len = hex(bad_der[i], der, sizeof der);
        rsp_error err = {0};
        if (rsp_ecdsa_signature_from_der(RSP_CURVE_NIST_P256, der, len, plain, &err) == RSP_OK)
            fail_msg("accepted bad DER #%zu: %s", i, bad_der[i]);
        assert_int_not_equal(err.code, RSP_OK);
    }
    /* The range check is per curve: brainpoolP256r1's n (A9FB...) is out of range there but
     * a valid s on P-256, whose n is larger. */
    uint8_t der[80];
    uint8_t plain[64];
    size_t len =
        hex("3026020101022100A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7", der,
            sizeof der);
    assert_int_equal(
        rsp_ecdsa_signature_from_der(RSP_CURVE_BRAINPOOL_P256R1, der, len, plain, NULL),
        RSP_ERR_INTEGER_RANGE);
    assert_int_equal(rsp_ecdsa_signature_from_der(RSP_CURVE_NIST_P256, der, len, plain, NULL),
                     RSP_OK);
    /* n - 1 of brainpool is fine there */
    der[len - 1] = 0xA6;
    assert_int_equal(
        rsp_ecdsa_signature_from_der(RSP_CURVE_BRAINPOOL_P256R1, der, len, plain, NULL), RSP_OK);

    /* r||s side: wrong lengths and out-of-range values. */
    uint8_t rs[65];
    uint8_t out[RSP_ECDSA_DER_MAX];
    size_t out_len = 0;
    memset(rs, 0x11, sizeof rs);
    assert_int_equal(
        rsp_ecdsa_signature_to_der(RSP_CURVE_NIST_P256, rs, 63, out, sizeof out, &out_len, NULL),
        RSP_ERR_BAD_VALUE);
    assert_int_equal(
        rsp_ecdsa_signature_to_der(RSP_CURVE_NIST_P256, rs, 65, out, sizeof out, &out_len, NULL),
        RSP_ERR_BAD_VALUE);
    memset(rs, 0, 32);
    assert_int_equal(
        rsp_ecdsa_signature_to_der(RSP_CURVE_NIST_P256, rs, 64, out, sizeof out, &out_len, NULL),
        RSP_ERR_BAD_VALUE);
    memset(rs, 0xFF, 32);
    assert_int_equal(
        rsp_ecdsa_signature_to_der(RSP_CURVE_NIST_P256, rs, 64, out, sizeof out, &out_len, NULL),
        RSP_ERR_BAD_VALUE);
    memset(rs, 0x11, 32);
    assert_int_equal(
        rsp_ecdsa_signature_to_der(RSP_CURVE_NIST_P256, rs, 64, out, 40, &out_len, NULL),
        RSP_ERR_BUFFER_TOO_SMALL);
}

/* OpenSSL's own DER signature, converted by us, verifies with our r||s verifier, and ours,
 * converted to DER, verifies with OpenSSL directly. */
static void check_sign_verify(rsp_curve curve)
{
    rsp_private_key *key = NULL;
    rsp_private_key *other = NULL;
    rsp_public_key *pub = NULL;
    rsp_public_key *other_pub = NULL;
    static const uint8_t message[] = "EuiccPackageSigned || eimTransactionId";
    uint8_t rs[64];
    assert_int_equal(rsp_private_key_generate(curve, &key, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_generate(curve, &other, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(key, &pub, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public(other, &other_pub, NULL), RSP_OK);

    for (int round = 0; round < 8; round++) {
        assert_int_equal(rsp_ecdsa_sign(key, message, sizeof message, rs, NULL), RSP_OK);
        assert_int_equal(rsp_ecdsa_verify(pub, message, sizeof message, rs, 64, NULL), RSP_OK);
        assert_int_equal(rsp_ecdsa_verify(other_pub, message, sizeof message, rs, 64, NULL),
                         RSP_ERR_VERIFY);
        assert_int_equal(rsp_ecdsa_verify(pub, message, sizeof message - 1, rs, 64, NULL),
                         RSP_ERR_VERIFY);
        assert_int_equal(rsp_ecdsa_verify(pub, message, sizeof message, rs, 63, NULL),
                         RSP_ERR_VERIFY);
        rs[round * 8] ^= 0x01;
        assert_int_equal(rsp_ecdsa_verify(pub, message, sizeof message, rs, 64, NULL),
                         RSP_ERR_VERIFY);
        rs[round * 8] ^= 0x01;

        uint8_t der[RSP_ECDSA_DER_MAX];
        size_t der_len = 0;
        assert_int_equal(rsp_ecdsa_signature_to_der(curve, rs, 64, der, sizeof der, &der_len, NULL),
                         RSP_OK);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        assert_int_equal(
            EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, rsp_public_key_evp(pub)), 1);
        assert_int_equal(EVP_DigestVerify(md, der, der_len, message, sizeof message), 1);
        EVP_MD_CTX_free(md);

        uint8_t openssl_der[RSP_ECDSA_DER_MAX];
        size_t openssl_len = sizeof openssl_der;
        md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, rsp_private_key_evp(key)),
                         1);
        assert_int_equal(EVP_DigestSign(md, openssl_der, &openssl_len, message, sizeof message), 1);
        EVP_MD_CTX_free(md);
        uint8_t converted[64];
        assert_int_equal(
            rsp_ecdsa_signature_from_der(curve, openssl_der, openssl_len, converted, NULL), RSP_OK);
        assert_int_equal(rsp_ecdsa_verify(pub, message, sizeof message, converted, 64, NULL),
                         RSP_OK);
    }
    rsp_public_key_free(other_pub);
    rsp_public_key_free(pub);
    rsp_private_key_free(other);
    rsp_private_key_free(key);
}

static void test_sign_verify_both_curves(void **state)
{
    (void)state;
    check_sign_verify(RSP_CURVE_NIST_P256);
    check_sign_verify(RSP_CURVE_BRAINPOOL_P256R1);
}

static void test_sha256_parts(void **state)
{
    (void)state;
    /* FIPS 180-2 example: SHA-256("abc"), fed in pieces. */
    const uint8_t *parts[3] = {(const uint8_t *)"a", (const uint8_t *)"", (const uint8_t *)"bc"};
    size_t lens[3] = {1, 0, 2};
    uint8_t digest[32];
    uint8_t expected[32];
    hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", expected,
        sizeof expected);
    assert_int_equal(rsp_sha256(parts, lens, 3, digest), RSP_OK);
    assert_memory_equal(digest, expected, 32);
    assert_int_equal(rsp_sha256(parts + 2, lens + 2, 1, digest), RSP_OK);
    assert_memory_not_equal(digest, expected, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6979_p256_vector), cmocka_unit_test(test_known_conversions),
        cmocka_unit_test(test_strict_der),          cmocka_unit_test(test_sign_verify_both_curves),
        cmocka_unit_test(test_sha256_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
