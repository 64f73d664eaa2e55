/* Keys: loading, generating, exporting on both curves, and the pluggable operations table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/der.h"
#include "crypto/ecdsa.h"
#include "crypto/key.h"

static void hex(const char *text, uint8_t *out, size_t len)
{
    assert_int_equal(der_hex_decode(text, out, len), (long)len);
}

/* Generator points (SEC 2 section 2.4.2, RFC 5639 section 3.4): scalar 1 maps to G. */
static const char p256_g[] = "04"
                             "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
                             "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";
static const char brainpool_g[] =
    "04"
    "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"
    "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997";

static void check_scalar_one(rsp_curve curve, const char *generator)
{
    uint8_t one[RSP_EC_FIELD_SIZE] = {0};
    uint8_t expected[RSP_EC_POINT_SIZE];
    uint8_t point[RSP_EC_POINT_SIZE];
    rsp_private_key *key = NULL;
    one[RSP_EC_FIELD_SIZE - 1] = 1;
    hex(generator, expected, sizeof expected);
    assert_int_equal(rsp_private_key_from_scalar(curve, one, &key, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_curve(key), curve);
    assert_int_equal(rsp_private_key_public_point(key, point), RSP_OK);
    assert_memory_equal(point, expected, sizeof point);
    rsp_private_key_free(key);
}

static void test_scalar_one_is_generator(void **state)
{
    (void)state;
    check_scalar_one(RSP_CURVE_NIST_P256, p256_g);
    check_scalar_one(RSP_CURVE_BRAINPOOL_P256R1, brainpool_g);
}

static void test_scalar_out_of_range(void **state)
{
    (void)state;
    uint8_t zero[RSP_EC_FIELD_SIZE] = {0};
    uint8_t ones[RSP_EC_FIELD_SIZE];
    memset(ones, 0xFF, sizeof ones);
    rsp_private_key *key = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_from_scalar(RSP_CURVE_NIST_P256, zero, &key, &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(rsp_private_key_from_scalar(RSP_CURVE_NIST_P256, ones, &key, NULL),
                     RSP_ERR_BAD_VALUE);
    assert_null(key);
}

static void check_generate_pem_round_trip(rsp_curve curve)
{
    rsp_private_key *key = NULL;
    rsp_private_key *loaded = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    uint8_t point_a[RSP_EC_POINT_SIZE];
    uint8_t point_b[RSP_EC_POINT_SIZE];
    assert_int_equal(rsp_private_key_generate(curve, &key, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_write_pem(key, &pem, &pem_len, NULL), RSP_OK);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(rsp_private_key_load((const uint8_t *)pem, pem_len, &loaded, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_curve(loaded), curve);
    assert_int_equal(rsp_private_key_public_point(key, point_a), RSP_OK);
    assert_int_equal(rsp_private_key_public_point(loaded, point_b), RSP_OK);
    assert_memory_equal(point_a, point_b, sizeof point_a);

    /* The file path and the public half agree with the in-memory key. */
    char path[] = "/tmp/rspkit_test_key_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    rsp_private_key *from_file = NULL;
    rsp_public_key *pub = NULL;
    assert_int_equal(rsp_private_key_write_pem_file(key, path, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_load_file(path, &from_file, NULL), RSP_OK);
    unlink(path);
    assert_int_equal(rsp_private_key_public(from_file, &pub, NULL), RSP_OK);
    assert_int_equal(rsp_public_key_point(pub, point_b), RSP_OK);
    assert_memory_equal(point_a, point_b, sizeof point_a);

    /* SPKI export and re-import keep the point. */
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_public_key *reimported = NULL;
    assert_int_equal(rsp_public_key_to_spki(pub, &spki, &spki_len, NULL), RSP_OK);
    assert_int_equal(rsp_public_key_from_spki(spki, spki_len, &reimported, NULL), RSP_OK);
    assert_int_equal(rsp_public_key_curve(reimported), curve);
    assert_int_equal(rsp_public_key_point(reimported, point_b), RSP_OK);
    assert_memory_equal(point_a, point_b, sizeof point_a);
    /* One trailing byte is refused. */
    uint8_t *longer = malloc(spki_len + 1);
    assert_non_null(longer);
    memcpy(longer, spki, spki_len);
    longer[spki_len] = 0;
    rsp_public_key *rejected = NULL;
    assert_int_equal(rsp_public_key_from_spki(longer, spki_len + 1, &rejected, NULL),
                     RSP_ERR_TRAILING);
    free(longer);
    free(spki);
    free(pem);
    rsp_public_key_free(reimported);
    rsp_public_key_free(pub);
    rsp_private_key_free(from_file);
    rsp_private_key_free(loaded);
    rsp_private_key_free(key);
}

static void test_generate_pem_round_trip(void **state)
{
    (void)state;
    check_generate_pem_round_trip(RSP_CURVE_NIST_P256);
    check_generate_pem_round_trip(RSP_CURVE_BRAINPOOL_P256R1);
}

static void test_point_validation(void **state)
{
    (void)state;
    uint8_t point[RSP_EC_POINT_SIZE];
    rsp_public_key *key = NULL;
    hex(p256_g, point, sizeof point);
    assert_int_equal(
        rsp_public_key_from_point(RSP_CURVE_NIST_P256, point, sizeof point, &key, NULL), RSP_OK);
    /* The same point again: the key is shared (another reference), and outlives the first. */
    rsp_public_key *again = NULL;
    uint8_t exported[RSP_EC_POINT_SIZE];
    assert_int_equal(
        rsp_public_key_from_point(RSP_CURVE_NIST_P256, point, sizeof point, &again, NULL), RSP_OK);
    assert_ptr_equal(rsp_public_key_evp(again), rsp_public_key_evp(key));
    rsp_public_key_free(key);
    key = NULL;
    assert_int_equal(rsp_public_key_curve(again), RSP_CURVE_NIST_P256);
    assert_int_equal(rsp_public_key_point(again, exported), RSP_OK);
    assert_memory_equal(exported, point, sizeof point);
    size_t exported_len = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(rsp_public_key_evp(again), "encoded-pub-key",
                                                     exported, sizeof exported, &exported_len),
                     1);
    assert_memory_equal(exported, point, sizeof point);
    rsp_public_key_free(again);
    /* G of P-256 is not a point of brainpoolP256r1. */
    assert_int_equal(
        rsp_public_key_from_point(RSP_CURVE_BRAINPOOL_P256R1, point, sizeof point, &key, NULL),
        RSP_ERR_BAD_VALUE);
    /* Off-curve, compressed prefix and wrong length are refused. */
    point[64] ^= 1;
    assert_int_equal(
        rsp_public_key_from_point(RSP_CURVE_NIST_P256, point, sizeof point, &key, NULL),
        RSP_ERR_BAD_VALUE);
    point[64] ^= 1;
    point[0] = 0x02;
    assert_int_equal(
        rsp_public_key_from_point(RSP_CURVE_NIST_P256, point, sizeof point, &key, NULL),
        RSP_ERR_BAD_VALUE);
    point[0] = 0x04;
    assert_int_equal(rsp_public_key_from_point(RSP_CURVE_NIST_P256, point, 64, &key, NULL),
                     RSP_ERR_BAD_VALUE);
    assert_null(key);
}

static void test_load_rejects_garbage(void **state)
{
    (void)state;
    static const char not_a_key[] =
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    rsp_private_key *key = NULL;
    rsp_error err = {0};
    assert_int_equal(
        rsp_private_key_load((const uint8_t *)not_a_key, sizeof not_a_key - 1, &key, &err),
        RSP_ERR_BAD_VALUE);
    assert_int_equal(rsp_private_key_load(der, sizeof der, &key, NULL), RSP_ERR_BAD_VALUE);
    assert_int_equal(rsp_private_key_load_file("/nonexistent/key.pem", &key, NULL), RSP_ERR_IO);
    assert_null(key);
}

/* DER PKCS#8, PEM SEC1 ("EC PRIVATE KEY") and a certificate's public key, all produced by
 * OpenSSL directly from the same key. */
static void check_other_encodings(rsp_curve curve)
{
    rsp_private_key *key = NULL;
    rsp_private_key *loaded = NULL;
    rsp_public_key *from_cert = NULL;
    uint8_t point_a[RSP_EC_POINT_SIZE];
    uint8_t point_b[RSP_EC_POINT_SIZE];
    assert_int_equal(rsp_private_key_generate(curve, &key, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public_point(key, point_a), RSP_OK);
    EVP_PKEY *pkey = rsp_private_key_evp(key);
    assert_non_null(pkey);

    unsigned char *der = NULL;
    int der_len = i2d_PrivateKey(pkey, &der);
    assert_true(der_len > 0);
    assert_int_equal(rsp_private_key_load(der, (size_t)der_len, &loaded, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_public_point(loaded, point_b), RSP_OK);
    assert_memory_equal(point_a, point_b, sizeof point_a);
    rsp_private_key_free(loaded);
    loaded = NULL;
    OPENSSL_free(der);

    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(bio, &pem);
    assert_non_null(strstr(pem, "EC PRIVATE KEY"));
    assert_int_equal(rsp_private_key_load((const uint8_t *)pem, (size_t)pem_len, &loaded, NULL),
                     RSP_OK);
    assert_int_equal(rsp_private_key_public_point(loaded, point_b), RSP_OK);
    assert_memory_equal(point_a, point_b, sizeof point_a);
    BIO_free(bio);

    X509 *cert = X509_new();
    assert_non_null(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)"test", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    assert_int_equal(X509_set_pubkey(cert, pkey), 1);
    assert_true(X509_sign(cert, pkey, EVP_sha256()) > 0);
    unsigned char *cert_der = NULL;
    int cert_len = i2d_X509(cert, &cert_der);
    assert_true(cert_len > 0);
    assert_int_equal(rsp_public_key_from_certificate(cert_der, (size_t)cert_len, &from_cert, NULL),
                     RSP_OK);
    assert_int_equal(rsp_public_key_curve(from_cert), curve);
    assert_int_equal(rsp_public_key_point(from_cert, point_b), RSP_OK);
    assert_memory_equal(point_a, point_b, sizeof point_a);
    rsp_public_key *rejected = NULL;
    assert_int_not_equal(
        rsp_public_key_from_certificate(cert_der, (size_t)cert_len - 1, &rejected, NULL), RSP_OK);
    assert_null(rejected);
    OPENSSL_free(cert_der);
    X509_free(cert);
    rsp_public_key_free(from_cert);
    rsp_private_key_free(loaded);
    rsp_private_key_free(key);
}

static void test_other_encodings(void **state)
{
    (void)state;
    check_other_encodings(RSP_CURVE_NIST_P256);
    check_other_encodings(RSP_CURVE_BRAINPOOL_P256R1);
}

/* Only the two GSMA curves are accepted. */
static void test_other_curves_refused(void **state)
{
    (void)state;
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
    assert_non_null(p384);
    rsp_private_key *key = NULL;
    rsp_public_key *pub = NULL;
    assert_int_equal(rsp_private_key_from_evp(p384, &key, NULL), RSP_ERR_UNSUPPORTED);
    assert_int_equal(rsp_public_key_from_evp(p384, &pub, NULL), RSP_ERR_UNSUPPORTED);
    assert_null(key);
    assert_null(pub);
    EVP_PKEY_free(p384);
    assert_int_equal(rsp_curve_from_name("P-256"), RSP_CURVE_NIST_P256);
    assert_int_equal(rsp_curve_from_name("secp384r1"), RSP_CURVE_UNKNOWN);
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_UNKNOWN, &key, NULL),
                     RSP_ERR_INVALID_ARGUMENT);
}

/* An "HSM" that counts its calls and delegates to a software key, standing in for PKCS#11. */
typedef struct {
    rsp_private_key *inner;
    int sign_calls;
    int freed;
} counting_key;

static rsp_status counting_sign(void *impl, const uint8_t digest[RSP_SHA256_SIZE],
                                uint8_t signature[RSP_EC_SIGNATURE_SIZE])
{
    counting_key *key = impl;
    key->sign_calls++;
    return rsp_private_key_sign_digest(key->inner, digest, signature);
}

static rsp_status counting_point(void *impl, uint8_t point[RSP_EC_POINT_SIZE])
{
    counting_key *key = impl;
    return rsp_private_key_public_point(key->inner, point);
}

static rsp_curve counting_curve(void *impl)
{
    counting_key *key = impl;
    return rsp_private_key_curve(key->inner);
}

static void counting_free(void *impl)
{
    counting_key *key = impl;
    rsp_private_key_free(key->inner);
    key->inner = NULL;
    key->freed++;
}

static void test_pluggable_key(void **state)
{
    (void)state;
    static const rsp_private_key_ops ops = {
        .sign_digest = counting_sign,
        .public_point = counting_point,
        .curve = counting_curve,
        .free = counting_free,
    };
    counting_key hsm = {0};
    rsp_private_key *key = NULL;
    rsp_public_key *pub = NULL;
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    static const uint8_t message[] = "EuiccPackageSigned";
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_BRAINPOOL_P256R1, &hsm.inner, NULL),
                     RSP_OK);
    assert_int_equal(rsp_private_key_from_ops(&ops, &hsm, &key), RSP_OK);
    assert_null(rsp_private_key_evp(key));
    assert_int_equal(rsp_ecdsa_sign(key, message, sizeof message, signature, NULL), RSP_OK);
    assert_int_equal(hsm.sign_calls, 1);
    assert_int_equal(rsp_private_key_public(key, &pub, NULL), RSP_OK);
    assert_int_equal(
        rsp_ecdsa_verify(pub, message, sizeof message, signature, sizeof signature, NULL), RSP_OK);
    char *pem = NULL;
    size_t pem_len = 0;
    assert_int_equal(rsp_private_key_write_pem(key, &pem, &pem_len, NULL), RSP_ERR_UNSUPPORTED);
    rsp_public_key_free(pub);
    rsp_private_key_free(key);
    assert_int_equal(hsm.freed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_one_is_generator), cmocka_unit_test(test_scalar_out_of_range),
        cmocka_unit_test(test_generate_pem_round_trip), cmocka_unit_test(test_point_validation),
        cmocka_unit_test(test_load_rejects_garbage),    cmocka_unit_test(test_other_encodings),
        cmocka_unit_test(test_other_curves_refused),    cmocka_unit_test(test_pluggable_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
