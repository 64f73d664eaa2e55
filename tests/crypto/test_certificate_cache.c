/* The process-wide verification caches of crypto/certificate.c: once an EUM is verified under a
 * CI, the next eUICC of that EUM only has its own link verified, but revocation (a CRL given
 * later), validity (a later clock) and CRL validity are still checked at each use, and an EUM
 * with the same names but other bytes is never trusted through the cache. Every certificate is
 * issued in memory for the test, so no test sees another's cache entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "issue_fixture.h"

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define DAY ((time_t)86400)

typedef struct {
    rsp_certificate *ci;
    rsp_private_key *ci_key;
    rsp_certificate *eum;
    rsp_private_key *eum_key;
    rsp_certificate *euicc[2];
} authority;

/* Issues a certificate for a fresh key; *key_out (may be NULL) receives the private key. */
static rsp_certificate *issue(rsp_pki_certificate_request *request, rsp_private_key **key_out)
{
    return fixture_issue(request, NULL, NOW, key_out);
}

/* CI -> EUM -> two eUICCs, all with the same names in every call (only keys differ). */
static void authority_open(authority *a, time_t ci_not_after, time_t eum_not_after)
{
    char eid[RSP_EID_STRING_SIZE];
    static const char *const first_30[2] = {"890490320000000000000000000011",
                                            "890490320000000000000000000012"};
    rsp_pki_certificate_request ci = {
        .role = RSP_CERT_ROLE_CI, .common_name = "Cache Test CI", .not_after = ci_not_after};
    a->ci = issue(&ci, &a->ci_key);
    rsp_pki_certificate_request eum = {.role = RSP_CERT_ROLE_EUM,
                                       .common_name = "Cache Test EUM",
                                       .issuer = a->ci,
                                       .issuer_key = a->ci_key,
                                       .not_after = eum_not_after,
                                       /* cRLSign too, so that the EUM may revoke eUICCs */
                                       .key_usage = "critical,keyCertSign,cRLSign"};
    a->eum = issue(&eum, &a->eum_key);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rsp_eid_complete(first_30[i], eid), RSP_OK);
        rsp_pki_certificate_request euicc = {.role = RSP_CERT_ROLE_EUICC,
                                             .common_name = "Cache Test eUICC",
                                             .eid = eid,
                                             .issuer = a->eum,
                                             .issuer_key = a->eum_key};
        a->euicc[i] = issue(&euicc, NULL);
    }
}

static void authority_close(authority *a)
{
    rsp_certificate_free(a->ci);
    rsp_private_key_free(a->ci_key);
    rsp_certificate_free(a->eum);
    rsp_private_key_free(a->eum_key);
    rsp_certificate_free(a->euicc[0]);
    rsp_certificate_free(a->euicc[1]);
}

static rsp_status verify_euicc(const rsp_certificate *euicc, const rsp_certificate *eum,
                               const rsp_certificate *ci, time_t now, const rsp_crl *const *crls,
                               size_t crl_count, rsp_cert_verify_result *result, rsp_error *err)
{
    rsp_cert_verify_options options = {.now = now, .crls = crls, .crl_count = crl_count};
    const rsp_certificate *cis[1] = {ci};
    rsp_error_clear(err);
    return rsp_certificate_verify(euicc, RSP_CERT_ROLE_EUICC, eum, cis, 1, &options, result, err);
}

/* Caches the EUM of a by verifying its first eUICC. */
static void prime(const authority *a)
{
    rsp_cert_verify_result result;
    rsp_error err = {0};
    if (verify_euicc(a->euicc[0], a->eum, a->ci, NOW + DAY, NULL, 0, &result, &err) != RSP_OK)
        fail_msg("first eUICC: %s", err.message);
    assert_ptr_equal(result.ci, a->ci);
}

static void test_second_euicc_of_a_cached_eum(void **state)
{
    (void)state;
    authority a;
    authority_open(&a, 0, 0);
    prime(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + DAY, NULL, 0, &result, &err),
                     RSP_OK);
    assert_ptr_equal(result.ci, a.ci);
    /* the EUM parsed through the shared cache is the same certificate */
    der_view der = rsp_certificate_der(a.eum);
    rsp_certificate *shared[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rsp_certificate_from_der_shared(der.data, der.len, &shared[i], &err),
                         RSP_OK);
        assert_int_equal(rsp_certificate_der(shared[i]).len, der.len);
        assert_memory_equal(rsp_certificate_der(shared[i]).data, der.data, der.len);
        assert_int_equal(
            verify_euicc(a.euicc[1], shared[i], a.ci, NOW + DAY, NULL, 0, &result, &err), RSP_OK);
    }
    assert_ptr_equal(rsp_certificate_x509(shared[0]), rsp_certificate_x509(shared[1]));
    rsp_certificate_free(shared[0]);
    rsp_certificate_free(shared[1]);
    /* an eUICC of the same EUM on another day, and without a clock */
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + 300 * DAY, NULL, 0, &result, &err),
                     RSP_OK);
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, 0, NULL, 0, &result, &err), RSP_OK);
    authority_close(&a);
}

static void test_revoked_after_a_crl_is_loaded(void **state)
{
    (void)state;
    authority a;
    authority_open(&a, 0, 0);
    prime(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    rsp_crl *ci_crl = NULL;
    rsp_crl *ci_crl_empty = NULL;
    rsp_crl *eum_crl = NULL;
    const rsp_certificate *revoked_eum[1] = {a.eum};
    const rsp_certificate *revoked_euicc[1] = {a.euicc[1]};
    assert_int_equal(
        rsp_pki_issue_crl(a.ci, a.ci_key, revoked_eum, 1, NOW, NOW + 30 * DAY, &ci_crl, &err),
        RSP_OK);
    assert_int_equal(
        rsp_pki_issue_crl(a.ci, a.ci_key, NULL, 0, NOW, NOW + 30 * DAY, &ci_crl_empty, &err),
        RSP_OK);
    assert_int_equal(
        rsp_pki_issue_crl(a.eum, a.eum_key, revoked_euicc, 1, NOW, NOW + 30 * DAY, &eum_crl, &err),
        RSP_OK);
    /* the CI's CRL revokes the cached EUM: every eUICC under it is refused from now on */
    const rsp_crl *revoking_eum[1] = {ci_crl};
    assert_int_equal(
        verify_euicc(a.euicc[1], a.eum, a.ci, NOW + DAY, revoking_eum, 1, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUM);
    assert_string_equal(err.message, "EUM certificate: revoked (CRL)");
    /* the EUM's CRL revokes one eUICC, not its sibling */
    const rsp_crl *revoking_euicc[2] = {ci_crl_empty, eum_crl};
    assert_int_equal(
        verify_euicc(a.euicc[1], a.eum, a.ci, NOW + DAY, revoking_euicc, 2, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_string_equal(err.message, "eUICC certificate: revoked (CRL)");
    assert_int_equal(
        verify_euicc(a.euicc[0], a.eum, a.ci, NOW + DAY, revoking_euicc, 2, &result, &err), RSP_OK);
    /* and once more, now that the CRL signatures are cached too */
    assert_int_equal(
        verify_euicc(a.euicc[1], a.eum, a.ci, NOW + DAY, revoking_euicc, 2, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    rsp_crl_free(ci_crl);
    rsp_crl_free(ci_crl_empty);
    rsp_crl_free(eum_crl);
    authority_close(&a);
}

static void test_expired_under_a_later_clock(void **state)
{
    (void)state;
    authority a;
    authority_open(&a, 0, NOW + 10 * DAY);
    prime(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + 20 * DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EXPIRED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUM);
    assert_string_equal(err.message, "EUM certificate: expired (validity period)");
    /* before its notBefore */
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW - DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);
    /* a CRL past its nextUpdate, its signature already cached */
    rsp_crl *crl = NULL;
    assert_int_equal(rsp_pki_issue_crl(a.ci, a.ci_key, NULL, 0, NOW, NOW + 5 * DAY, &crl, &err),
                     RSP_OK);
    const rsp_crl *crls[1] = {crl};
    assert_int_equal(verify_euicc(a.euicc[0], a.eum, a.ci, NOW + DAY, crls, 1, &result, &err),
                     RSP_OK);
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + 7 * DAY, crls, 1, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CRL);
    assert_string_equal(err.message, "EUM certificate: CRL has expired");
    /* a nextUpdate of exactly now has passed (X509_cmp_time's reading), one second before
     * has not */
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + 5 * DAY, crls, 1, &result, &err),
                     RSP_ERR_VERIFY);
    assert_string_equal(err.message, "EUM certificate: CRL has expired");
    assert_int_equal(
        verify_euicc(a.euicc[1], a.eum, a.ci, NOW + 5 * DAY - 1, crls, 1, &result, &err), RSP_OK);
    /* a CRL whose thisUpdate is still to come */
    rsp_crl *early = NULL;
    assert_int_equal(
        rsp_pki_issue_crl(a.ci, a.ci_key, NULL, 0, NOW + 2 * DAY, NOW + 5 * DAY, &early, &err),
        RSP_OK);
    const rsp_crl *early_crls[1] = {early};
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + DAY, early_crls, 1, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CRL);
    assert_string_equal(err.message, "EUM certificate: CRL is not yet valid");
    assert_int_equal(
        verify_euicc(a.euicc[1], a.eum, a.ci, NOW + 2 * DAY, early_crls, 1, &result, &err), RSP_OK);
    rsp_crl_free(early);
    rsp_crl_free(crl);
    authority_close(&a);
}

/* The anchor's validity counts too, and the cached path reports what the full one does. */
static void test_ci_expired_under_a_later_clock(void **state)
{
    (void)state;
    authority cached, fresh;
    authority_open(&cached, NOW + 10 * DAY, 0);
    authority_open(&fresh, NOW + 10 * DAY, 0);
    prime(&cached);
    rsp_cert_verify_result cached_result, fresh_result;
    rsp_error cached_err = {0}, fresh_err = {0};
    assert_int_equal(verify_euicc(cached.euicc[1], cached.eum, cached.ci, NOW + 20 * DAY, NULL, 0,
                                  &cached_result, &cached_err),
                     RSP_ERR_VERIFY);
    assert_int_equal(verify_euicc(fresh.euicc[1], fresh.eum, fresh.ci, NOW + 20 * DAY, NULL, 0,
                                  &fresh_result, &fresh_err),
                     RSP_ERR_VERIFY);
    assert_int_equal(cached_result.failure, RSP_CERT_FAIL_EXPIRED);
    assert_int_equal(cached_result.failed_role, RSP_CERT_ROLE_CI);
    assert_int_equal(fresh_result.failure, cached_result.failure);
    assert_int_equal(fresh_result.failed_role, cached_result.failed_role);
    assert_string_equal(fresh_err.message, cached_err.message);
    authority_close(&cached);
    authority_close(&fresh);
}

static void test_same_names_other_keys_are_not_trusted(void **state)
{
    (void)state;
    authority a, rogue;
    authority_open(&a, 0, 0);
    authority_open(&rogue, 0, 0); /* same CI, EUM and eUICC names, its own keys */
    prime(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    /* the rogue EUM is not the cached one: full verification, which finds no CI for it */
    assert_int_not_equal(
        verify_euicc(rogue.euicc[0], rogue.eum, a.ci, NOW + DAY, NULL, 0, &result, &err), RSP_OK);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUM);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);
    /* a rogue eUICC presented with the cached EUM: its key ids do not match the EUM */
    assert_int_equal(verify_euicc(rogue.euicc[0], a.eum, a.ci, NOW + DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ISSUER);
    /* the cached EUM under the rogue CI (same name): not cached under that CI */
    assert_int_not_equal(
        verify_euicc(a.euicc[1], a.eum, rogue.ci, NOW + DAY, NULL, 0, &result, &err), RSP_OK);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUM);
    /* a CRL with the CI's name signed by the rogue CI is refused, as without the cache */
    rsp_crl *foreign = NULL;
    assert_int_equal(
        rsp_pki_issue_crl(rogue.ci, rogue.ci_key, NULL, 0, NOW, NOW + 30 * DAY, &foreign, &err),
        RSP_OK);
    const rsp_crl *crls[1] = {foreign};
    assert_int_equal(verify_euicc(a.euicc[1], a.eum, a.ci, NOW + DAY, crls, 1, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CRL);
    assert_string_equal(err.message, "EUM certificate: CRL signature failure");
    rsp_crl_free(foreign);
    authority_close(&a);
    authority_close(&rogue);
}

/* ---- rsp_euicc_certificate_verify: the eUICC certificate read without the X509 parser ---- */

/* Issues an eUICC certificate under a's EUM; eid_first_30 NULL takes the first eUICC's EID. */
static rsp_certificate *issue_euicc(const authority *a, const char *eid_first_30, time_t not_after,
                                    const char *policy)
{
    char eid[RSP_EID_STRING_SIZE];
    assert_int_equal(
        rsp_eid_complete(eid_first_30 != NULL ? eid_first_30 : "890490320000000000000000000013",
                         eid),
        RSP_OK);
    rsp_pki_certificate_request euicc = {.role = RSP_CERT_ROLE_EUICC,
                                         .common_name = "Cache Test eUICC",
                                         .eid = eid,
                                         .issuer = a->eum,
                                         .issuer_key = a->eum_key,
                                         .not_after = not_after,
                                         .policy = policy};
    return issue(&euicc, NULL);
}

/* Both ways to verify euicc: the X509 one (rsp_certificate_verify + EID + key) and
 * rsp_euicc_certificate_verify on its DER. They must agree on everything; the second's result
 * goes to *fast. */
static rsp_status verify_both_ways(const rsp_certificate *euicc, const authority *a, time_t now,
                                   const rsp_crl *const *crls, size_t crl_count,
                                   rsp_cert_verify_result *fast, rsp_error *fast_err)
{
    rsp_cert_verify_options options = {.now = now, .crls = crls, .crl_count = crl_count};
    const rsp_certificate *cis[1] = {a->ci};
    rsp_cert_verify_result full;
    rsp_error full_err = {0};
    char full_eid[RSP_EID_STRING_SIZE] = "";
    rsp_public_key *full_key = NULL;
    rsp_euicc_identity identity;
    rsp_error_clear(fast_err);
    rsp_status full_status = rsp_certificate_verify(euicc, RSP_CERT_ROLE_EUICC, a->eum, cis, 1,
                                                    &options, &full, &full_err);
    if (full_status == RSP_OK)
        full_status = rsp_certificate_eid(euicc, full_eid, &full_err);
    if (full_status == RSP_OK)
        full_status = rsp_certificate_public_key(euicc, &full_key, &full_err);
    rsp_status fast_status = rsp_euicc_certificate_verify(rsp_certificate_der(euicc), a->eum, cis,
                                                          1, &options, fast, &identity, fast_err);
    assert_int_equal(fast_status, full_status);
    assert_int_equal(fast->failure, full.failure);
    assert_int_equal(fast->failed_role, full.failed_role);
    assert_ptr_equal(fast->ci, full.ci);
    if (full_status != RSP_OK) {
        assert_string_equal(fast_err->message, full_err.message);
        assert_null(identity.key);
        assert_false(fast->read_without_x509);
        return fast_status;
    }
    uint8_t full_point[RSP_EC_POINT_SIZE], fast_point[RSP_EC_POINT_SIZE];
    assert_string_equal(identity.eid, full_eid);
    assert_int_equal(rsp_public_key_point(full_key, full_point), RSP_OK);
    assert_int_equal(rsp_public_key_point(identity.key, fast_point), RSP_OK);
    assert_memory_equal(fast_point, full_point, sizeof full_point);
    rsp_public_key_free(full_key);
    rsp_public_key_free(identity.key);
    return fast_status;
}

static void test_euicc_read_without_x509_once_the_eum_is_cached(void **state)
{
    (void)state;
    authority a;
    authority_open(&a, 0, 0);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    /* the first eUICC of an EUM: the full verification, which caches the EUM */
    assert_int_equal(verify_both_ways(a.euicc[0], &a, NOW + DAY, NULL, 0, &result, &err), RSP_OK);
    assert_int_equal(verify_both_ways(a.euicc[1], &a, NOW + DAY, NULL, 0, &result, &err), RSP_OK);
    assert_true(result.read_without_x509);
    /* no clock; a validity in UTCTime (the others run to 9999, GeneralizedTime) */
    assert_int_equal(verify_both_ways(a.euicc[1], &a, 0, NULL, 0, &result, &err), RSP_OK);
    assert_true(result.read_without_x509);
    rsp_certificate *dated = issue_euicc(&a, NULL, NOW + 10 * DAY, NULL);
    assert_int_equal(verify_both_ways(dated, &a, NOW + DAY, NULL, 0, &result, &err), RSP_OK);
    assert_true(result.read_without_x509);
    /* bytes that are no certificate */
    static const uint8_t garbage[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    const rsp_certificate *cis[1] = {a.ci};
    rsp_euicc_identity identity;
    assert_int_not_equal(rsp_euicc_certificate_verify(der_view_make(garbage, sizeof garbage), a.eum,
                                                      cis, 1, NULL, &result, &identity, &err),
                         RSP_OK);
    assert_int_equal(result.failure, RSP_CERT_FAIL_OTHER);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_null(identity.key);
    rsp_certificate_free(dated);
    authority_close(&a);
}

/* Under a cached EUM, every refusal is still made, with the full verification's verdict. */
static void test_euicc_read_without_x509_refuses_like_the_full_path(void **state)
{
    (void)state;
    authority a, rogue;
    authority_open(&a, 0, 0);
    authority_open(&rogue, 0, 0);
    prime(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    /* expired, and not yet valid */
    rsp_certificate *dated = issue_euicc(&a, NULL, NOW + 10 * DAY, NULL);
    assert_int_equal(verify_both_ways(dated, &a, NOW + 20 * DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EXPIRED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_int_equal(verify_both_ways(dated, &a, NOW - DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);
    /* revoked by the EUM's CRL */
    rsp_crl *eum_crl = NULL;
    const rsp_certificate *revoked[1] = {a.euicc[1]};
    assert_int_equal(
        rsp_pki_issue_crl(a.eum, a.eum_key, revoked, 1, NOW, NOW + 30 * DAY, &eum_crl, &err),
        RSP_OK);
    const rsp_crl *crls[1] = {eum_crl};
    assert_int_equal(verify_both_ways(a.euicc[1], &a, NOW + DAY, crls, 1, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_int_equal(verify_both_ways(a.euicc[0], &a, NOW + DAY, crls, 1, &result, &err), RSP_OK);
    assert_true(result.read_without_x509);
    /* an EID outside the EUM's range */
    rsp_certificate *outside = issue_euicc(&a, "890000000000000000000000000013", 0, NULL);
    assert_int_equal(verify_both_ways(outside, &a, NOW + DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EID_RANGE);
    /* another role's policy */
    rsp_certificate *wrong_role =
        issue_euicc(&a, NULL, 0, "critical,2.23.146.1.2.1.4" /* id-rspRole-dp-auth */);
    assert_int_equal(verify_both_ways(wrong_role, &a, NOW + DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ROLE);
    /* same names, signed by another EUM key */
    assert_int_equal(verify_both_ways(rogue.euicc[0], &a, NOW + DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ISSUER);
    /* a signature changed in its last byte */
    der_view der = rsp_certificate_der(a.euicc[1]);
    uint8_t tampered_der[2048];
    assert_true(der.len <= sizeof tampered_der);
    memcpy(tampered_der, der.data, der.len);
    tampered_der[der.len - 1] ^= 0x01;
    rsp_certificate *tampered = NULL;
    assert_int_equal(rsp_certificate_from_der(tampered_der, der.len, &tampered, &err), RSP_OK);
    assert_int_equal(verify_both_ways(tampered, &a, NOW + DAY, NULL, 0, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_SIGNATURE);
    rsp_certificate_free(tampered);
    rsp_certificate_free(wrong_role);
    rsp_certificate_free(outside);
    rsp_crl_free(eum_crl);
    rsp_certificate_free(dated);
    authority_close(&a);
    authority_close(&rogue);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_euicc_of_a_cached_eum),
        cmocka_unit_test(test_revoked_after_a_crl_is_loaded),
        cmocka_unit_test(test_expired_under_a_later_clock),
        cmocka_unit_test(test_ci_expired_under_a_later_clock),
        cmocka_unit_test(test_same_names_other_keys_are_not_trusted),
        cmocka_unit_test(test_euicc_read_without_x509_once_the_eum_is_cached),
        cmocka_unit_test(test_euicc_read_without_x509_refuses_like_the_full_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
