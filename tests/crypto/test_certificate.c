/* Certificate verification against the real GSMA SGP.26 test certificates (CI, DPauth, DPpb,
 * DPtls on NIST P-256 and brainpoolP256r1) and the SGP.26 SM-DP+ private keys. Facts checked
 * here come from `openssl x509 -text` of those files (SKI, policies, validity dates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "crypto/certificate.h"
#include "crypto/ecdsa.h"
#include "crypto/key.h"

#define SGP26_DIR RSPKIT_SHARED_DIR "/testdata/sgp26"

/* 2026-01-01, 2025-06-01 and 2026-09-01 00:00:00 UTC. */
#define TIME_2026_01 ((time_t)1767225600)
#define TIME_2025_06 ((time_t)1748736000)
#define TIME_2026_09 ((time_t)1788220800)

static const uint8_t nist_ci_key_id[] = {0xF5, 0x41, 0x72, 0xBD, 0xF9, 0x8A, 0x95,
                                         0xD6, 0x5C, 0xBE, 0xB8, 0x8A, 0x38, 0xA1,
                                         0xC1, 0x1D, 0x80, 0x0A, 0x85, 0xC3};
static const uint8_t brainpool_ci_key_id[] = {0xC0, 0xBC, 0x70, 0xBA, 0x36, 0x92, 0x9D,
                                              0x43, 0xB4, 0x67, 0xFF, 0x57, 0x57, 0x05,
                                              0x30, 0xE5, 0x7A, 0xB8, 0xFC, 0xD8};

static bool sgp26_present(void)
{
    struct stat info;
    if (stat(SGP26_DIR "/CertificateIssuer/CERT_CI_ECDSA_NIST.der", &info) == 0)
        return true;
    fprintf(stderr, "SKIPPED: SGP.26 certificates not found in %s\n", SGP26_DIR);
    return false;
}

static rsp_certificate *load(const char *relative)
{
    char path[512];
    rsp_error err = {0};
    rsp_certificate *cert = NULL;
    snprintf(path, sizeof path, "%s/%s", SGP26_DIR, relative);
    rsp_status status = rsp_certificate_load_file(path, &cert, &err);
    if (status != RSP_OK)
        fail_msg("%s: %s", path, err.message);
    return cert;
}

typedef struct {
    rsp_certificate *nist_ci;
    rsp_certificate *brainpool_ci;
    const rsp_certificate *cis[2];
} trust_store;

static void store_open(trust_store *store)
{
    store->nist_ci = load("CertificateIssuer/CERT_CI_ECDSA_NIST.der");
    store->brainpool_ci = load("CertificateIssuer/CERT_CI_ECDSA_BRP.pem");
    store->cis[0] = store->nist_ci;
    store->cis[1] = store->brainpool_ci;
}

static void store_close(trust_store *store)
{
    rsp_certificate_free(store->nist_ci);
    rsp_certificate_free(store->brainpool_ci);
}

static rsp_status verify_at(const rsp_certificate *cert, rsp_cert_role role,
                            const trust_store *store, time_t now, rsp_cert_verify_result *result,
                            rsp_error *err)
{
    rsp_cert_verify_options options = {.now = now};
    return rsp_certificate_verify(cert, role, NULL, store->cis, 2, &options, result, err);
}

static void test_ci_certificates(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    trust_store store;
    store_open(&store);
    der_view key_id;
    assert_int_equal(rsp_certificate_subject_key_id(store.nist_ci, &key_id), RSP_OK);
    assert_true(der_view_equal(key_id, der_view_make(nist_ci_key_id, sizeof nist_ci_key_id)));
    assert_int_equal(rsp_certificate_subject_key_id(store.brainpool_ci, &key_id), RSP_OK);
    assert_true(
        der_view_equal(key_id, der_view_make(brainpool_ci_key_id, sizeof brainpool_ci_key_id)));
    assert_int_equal(rsp_certificate_role(store.nist_ci), RSP_CERT_ROLE_CI);
    assert_int_equal(rsp_certificate_curve(store.nist_ci), RSP_CURVE_NIST_P256);
    assert_int_equal(rsp_certificate_curve(store.brainpool_ci), RSP_CURVE_BRAINPOOL_P256R1);
    assert_true(rsp_certificate_is_self_signed(store.nist_ci));
    assert_int_equal(rsp_certificate_authority_key_id(store.nist_ci, &key_id), RSP_ERR_NOT_FOUND);

    rsp_cert_verify_result result;
    rsp_error err = {0};
    rsp_status status =
        verify_at(store.brainpool_ci, RSP_CERT_ROLE_CI, &store, TIME_2026_01, &result, &err);
    if (status != RSP_OK)
        fail_msg("%s", err.message);
    assert_ptr_equal(result.ci, store.brainpool_ci);
    /* A CI outside the trust store is unknown, even though it is self-signed. */
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_verify(store.brainpool_ci, RSP_CERT_ROLE_CI, NULL, store.cis,
                                            1, NULL, &result, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);
    assert_non_null(strstr(err.message, "CI certificate: CI unknown"));
    store_close(&store);
}

static void test_sm_dp_chains(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    static const struct {
        const char *file;
        rsp_cert_role role;
        bool brainpool;
    } cases[] = {
        {"DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", RSP_CERT_ROLE_DP_AUTH, false},
        {"DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der", RSP_CERT_ROLE_DP_AUTH, true},
        {"DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der", RSP_CERT_ROLE_DP_AUTH, false},
        {"DPauth/CERT_S_SM_DP2auth_ECDSA_BRP.der", RSP_CERT_ROLE_DP_AUTH, true},
        {"DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", RSP_CERT_ROLE_DP_PB, false},
        {"DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der", RSP_CERT_ROLE_DP_PB, true},
        {"DPpb/CERT_S_SM_DP2pb_ECDSA_NIST.der", RSP_CERT_ROLE_DP_PB, false},
        {"DPpb/CERT_S_SM_DP2pb_ECDSA_BRP.der", RSP_CERT_ROLE_DP_PB, true},
    };
    trust_store store;
    store_open(&store);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rsp_certificate *cert = load(cases[i].file);
        rsp_cert_verify_result result;
        rsp_error err = {0};
        rsp_status status = verify_at(cert, cases[i].role, &store, TIME_2026_01, &result, &err);
        if (status != RSP_OK)
            fail_msg("%s: %s", cases[i].file, err.message);
        assert_ptr_equal(result.ci, cases[i].brainpool ? store.brainpool_ci : store.nist_ci);
        assert_int_equal(rsp_certificate_role(cert), cases[i].role);
        assert_int_equal(rsp_certificate_curve(cert),
                         cases[i].brainpool ? RSP_CURVE_BRAINPOOL_P256R1 : RSP_CURVE_NIST_P256);
        /* the authority key id names the CI */
        der_view key_id, ci_key_id;
        assert_int_equal(rsp_certificate_authority_key_id(cert, &key_id), RSP_OK);
        assert_int_equal(rsp_certificate_subject_key_id(result.ci, &ci_key_id), RSP_OK);
        assert_true(der_view_equal(key_id, ci_key_id));
        /* no clock: still verifies */
        assert_int_equal(verify_at(cert, cases[i].role, &store, 0, NULL, &err), RSP_OK);
        rsp_certificate_free(cert);
    }
    store_close(&store);
}

static void test_wrong_role_policy(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    trust_store store;
    store_open(&store);
    rsp_certificate *pb = load("DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der");
    rsp_cert_verify_result result;
    rsp_error err = {0};
    assert_int_equal(verify_at(pb, RSP_CERT_ROLE_DP_AUTH, &store, TIME_2026_01, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ROLE);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_DP_AUTH);
    assert_string_equal(err.message, "DPauth certificate: wrong certificate policy "
                                     "2.23.146.1.2.1.5 (DPpb), expected 2.23.146.1.2.1.4");
    /* a CI certificate is no SM-DP+ certificate either */
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_check_role(store.nist_ci, RSP_CERT_ROLE_DP_PB, &err),
                     RSP_ERR_VERIFY);
    assert_non_null(strstr(err.message, "wrong certificate policy 2.23.146.1.2.1.0 (CI)"));
    /* and an SM-DP+ certificate is no eIM certificate (eIM certificates carry no GSMA role) */
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_check_role(pb, RSP_CERT_ROLE_EIM, &err), RSP_ERR_VERIFY);
    assert_non_null(strstr(err.message, "carries GSMA role"));
    rsp_certificate_free(pb);
    store_close(&store);
}

static void test_tls_expiry(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    trust_store store;
    store_open(&store);
    static const char *const files[] = {"DPtls/CERT_S_SM_DP_TLS_NIST.der",
                                        "DPtls/CERT_S_SM_DP_TLS_BRP.pem"};
    for (size_t i = 0; i < 2; i++) {
        rsp_certificate *tls = load(files[i]);
        rsp_cert_verify_result result;
        rsp_error err = {0};
        rsp_status status =
            verify_at(tls, RSP_CERT_ROLE_DP_TLS, &store, TIME_2026_01, &result, &err);
        if (status != RSP_OK)
            fail_msg("%s: %s", files[i], err.message);
        rsp_error_clear(&err);
        assert_int_equal(verify_at(tls, RSP_CERT_ROLE_DP_TLS, &store, TIME_2026_09, &result, &err),
                         RSP_ERR_VERIFY);
        assert_int_equal(result.failure, RSP_CERT_FAIL_EXPIRED);
        assert_int_equal(result.failed_role, RSP_CERT_ROLE_DP_TLS);
        assert_string_equal(err.message, "DPtls certificate: expired (validity period)");
        rsp_error_clear(&err);
        assert_int_equal(verify_at(tls, RSP_CERT_ROLE_DP_TLS, &store, TIME_2025_06, &result, &err),
                         RSP_ERR_VERIFY);
        assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);
        assert_string_equal(err.message, "DPtls certificate: not yet valid (validity period)");
        /* a device without a clock skips validity periods */
        assert_int_equal(verify_at(tls, RSP_CERT_ROLE_DP_TLS, &store, 0, &result, &err), RSP_OK);
        rsp_certificate_free(tls);
    }
    store_close(&store);
}

static void test_ci_selection_and_allowed_list(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    trust_store store;
    store_open(&store);
    static const uint8_t unknown_id[20] = {1, 2, 3};
    der_view ids[2] = {der_view_make(unknown_id, sizeof unknown_id),
                       der_view_make(brainpool_ci_key_id, sizeof brainpool_ci_key_id)};
    const rsp_certificate *selected = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_ci_select(store.cis, 2, ids, 2, &selected, &err), RSP_OK);
    assert_ptr_equal(selected, store.brainpool_ci);
    assert_int_equal(rsp_ci_select(store.cis, 2, ids, 1, &selected, &err), RSP_ERR_NOT_FOUND);
    assert_null(selected);
    assert_non_null(strstr(err.message, "CI unknown"));

    /* eUICC allows only the brainpool CI: the NIST DPauth is rejected, the brainpool one not */
    rsp_certificate *nist_auth = load("DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
    rsp_certificate *brainpool_auth = load("DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der");
    rsp_cert_verify_options options = {
        .now = TIME_2026_01, .allowed_ci_ids = ids, .allowed_ci_id_count = 2};
    rsp_cert_verify_result result;
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_verify(nist_auth, RSP_CERT_ROLE_DP_AUTH, NULL, store.cis, 2,
                                            &options, &result, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);
    assert_string_equal(err.message,
                        "CI certificate: CI unknown: its key id is not in the allowed CI list");
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_verify(brainpool_auth, RSP_CERT_ROLE_DP_AUTH, NULL, store.cis,
                                            2, &options, &result, &err),
                     RSP_OK);
    /* a trust store without the NIST CI: the NIST DPauth has no CI */
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_verify(nist_auth, RSP_CERT_ROLE_DP_AUTH, NULL, &store.cis[1],
                                            1, NULL, &result, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);
    assert_non_null(strstr(err.message, "DPauth certificate: CI unknown"));
    rsp_certificate_free(nist_auth);
    rsp_certificate_free(brainpool_auth);
    store_close(&store);
}

static void test_required_curve(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    trust_store store;
    store_open(&store);
    rsp_certificate *auth = load("DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
    rsp_cert_verify_options options = {.now = TIME_2026_01,
                                       .required_curve = RSP_CURVE_BRAINPOOL_P256R1};
    rsp_cert_verify_result result;
    rsp_error err = {0};
    assert_int_equal(rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, store.cis, 2,
                                            &options, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CURVE);
    assert_string_equal(err.message,
                        "DPauth certificate: wrong curve prime256v1, expected brainpoolP256r1");
    rsp_certificate_free(auth);
    store_close(&store);
}

/* An SM-DP+ configured with the SGP.26 keys: what it signs verifies with its certificate. */
static void test_sgp26_keys_sign(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    static const char *const pairs[][2] = {
        {"DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem", "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der"},
        {"DPauth/SK_S_SM_DPauth_ECDSA_BRP.pem", "DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der"},
        {"DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem", "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der"},
        {"DPpb/SK_S_SM_DPpb_ECDSA_BRP.pem", "DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der"},
    };
    static const uint8_t message[] = "serverSigned1 || euiccChallenge";
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char path[512];
        rsp_error err = {0};
        rsp_private_key *key = NULL;
        rsp_public_key *public_key = NULL;
        uint8_t signature[RSP_EC_SIGNATURE_SIZE];
        snprintf(path, sizeof path, "%s/%s", SGP26_DIR, pairs[i][0]);
        assert_int_equal(rsp_private_key_load_file(path, &key, &err), RSP_OK);
        rsp_certificate *cert = load(pairs[i][1]);
        assert_int_equal(rsp_private_key_curve(key), rsp_certificate_curve(cert));
        assert_int_equal(rsp_certificate_public_key(cert, &public_key, &err), RSP_OK);
        assert_int_equal(rsp_ecdsa_sign(key, message, sizeof message, signature, &err), RSP_OK);
        assert_int_equal(rsp_ecdsa_verify(public_key, message, sizeof message, signature,
                                          sizeof signature, &err),
                         RSP_OK);
        signature[10] ^= 0x01;
        assert_int_equal(rsp_ecdsa_verify(public_key, message, sizeof message, signature,
                                          sizeof signature, &err),
                         RSP_ERR_VERIFY);
        rsp_public_key_free(public_key);
        rsp_private_key_free(key);
        rsp_certificate_free(cert);
    }
}

static void test_loading(void **state)
{
    (void)state;
    if (!sgp26_present())
        skip();
    rsp_certificate *der = load("CertificateIssuer/CERT_CI_ECDSA_NIST.der");
    rsp_certificate *pem = load("CertificateIssuer/CERT_CI_ECDSA_NIST.pem");
    assert_true(der_view_equal(rsp_certificate_der(der), rsp_certificate_der(pem)));
    der_view bytes = rsp_certificate_der(der);
    uint8_t padded[1024];
    assert_true(bytes.len < sizeof padded);
    memcpy(padded, bytes.data, bytes.len);
    padded[bytes.len] = 0x00;
    rsp_certificate *cert = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_certificate_from_der(padded, bytes.len + 1, &cert, &err),
                     RSP_ERR_TRAILING);
    assert_null(cert);
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_from_der(padded, bytes.len - 1, &cert, &err),
                     RSP_ERR_BAD_VALUE);
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_load_file(SGP26_DIR "/nonexistent.der", &cert, &err),
                     RSP_ERR_IO);
    rsp_certificate_free(der);
    rsp_certificate_free(pem);
}

static void test_eid_check_digits(void **state)
{
    (void)state;
    char eid[RSP_EID_STRING_SIZE];
    /* SGP.26 / SGP.29 example EID */
    assert_int_equal(rsp_eid_complete("890490321234512345123456789012", eid), RSP_OK);
    assert_string_equal(eid, "89049032123451234512345678901235");
    assert_true(rsp_eid_is_valid("89049032123451234512345678901235"));
    assert_false(rsp_eid_is_valid("89049032123451234512345678901236"));
    assert_false(rsp_eid_is_valid("8904903212345123451234567890123"));
    assert_false(rsp_eid_is_valid("8904903212345123451234567890123A"));
    assert_false(rsp_eid_is_valid(NULL));
    assert_int_equal(rsp_eid_complete("89049032", eid), RSP_ERR_INVALID_ARGUMENT);
    /* every completed EID is valid, mod 97 == 1 */
    assert_int_equal(rsp_eid_complete("890000000000000000000000000000", eid), RSP_OK);
    assert_true(rsp_eid_is_valid(eid));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ci_certificates),
        cmocka_unit_test(test_sm_dp_chains),
        cmocka_unit_test(test_wrong_role_policy),
        cmocka_unit_test(test_tls_expiry),
        cmocka_unit_test(test_ci_selection_and_allowed_list),
        cmocka_unit_test(test_required_curve),
        cmocka_unit_test(test_sgp26_keys_sign),
        cmocka_unit_test(test_loading),
        cmocka_unit_test(test_eid_check_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
