/* The remembered signature links of crypto/certificate.c: a certificate signed by a CI directly
 * (SM-DP+, eIM) and, on request (remember_euicc_link), an eUICC certificate signed by its EUM
 * are not verified again once their exact bytes verified under the exact issuer bytes. A hit
 * skips the signature and nothing else: validity against the call's clock, revocation by the
 * call's CRLs, the allowed CI ids, the curve and the role are checked at every call, and a
 * certificate one bit away from a remembered one is verified (and refused) in full. Every
 * certificate is issued in memory for the test; the memos are process-wide, so the figures are
 * compared before and after each step. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "issue_fixture.h"

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define DAY ((time_t)86400)

#define THREADS           8
#define THREAD_ROUNDS     40
#define EUICCS            4
#define DP_NAME           "Memo Test SM-DP+"
#define EID_FIRST_30_BASE "8904903200000000000000000000"

typedef struct {
    rsp_certificate *ci;
    rsp_private_key *ci_key;
    rsp_certificate *dpauth; /* valid until NOW + 10 days */
    rsp_certificate *eum;
    rsp_private_key *eum_key;
    rsp_certificate *euicc[EUICCS]; /* valid until NOW + 10 days */
} authority;

static rsp_certificate *issue_with(rsp_pki_certificate_request *request,
                                   const rsp_public_key *subject_key, rsp_private_key **key_out)
{
    return fixture_issue(request, subject_key, NOW, key_out);
}

static rsp_certificate *issue_dpauth(const authority *a, const rsp_public_key *subject_key,
                                     time_t not_after)
{
    rsp_pki_certificate_request dpauth = {.role = RSP_CERT_ROLE_DP_AUTH,
                                          .common_name = DP_NAME,
                                          .issuer = a->ci,
                                          .issuer_key = a->ci_key,
                                          .not_after = not_after};
    return issue_with(&dpauth, subject_key, NULL);
}

static void authority_open(authority *a)
{
    memset(a, 0, sizeof *a);
    rsp_pki_certificate_request ci = {.role = RSP_CERT_ROLE_CI, .common_name = "Memo Test CI"};
    a->ci = issue_with(&ci, NULL, &a->ci_key);
    a->dpauth = issue_dpauth(a, NULL, NOW + 10 * DAY);
    rsp_pki_certificate_request eum = {.role = RSP_CERT_ROLE_EUM,
                                       .common_name = "Memo Test EUM",
                                       .issuer = a->ci,
                                       .issuer_key = a->ci_key,
                                       /* cRLSign too, so that the EUM may revoke eUICCs */
                                       .key_usage = "critical,keyCertSign,cRLSign"};
    a->eum = issue_with(&eum, NULL, &a->eum_key);
    for (int i = 0; i < EUICCS; i++) {
        char first_30[31], eid[RSP_EID_STRING_SIZE];
        snprintf(first_30, sizeof first_30, "%s%02d", EID_FIRST_30_BASE, 21 + i);
        assert_int_equal(rsp_eid_complete(first_30, eid), RSP_OK);
        rsp_pki_certificate_request euicc = {.role = RSP_CERT_ROLE_EUICC,
                                             .common_name = "Memo Test eUICC",
                                             .eid = eid,
                                             .issuer = a->eum,
                                             .issuer_key = a->eum_key,
                                             .not_after = NOW + 10 * DAY};
        a->euicc[i] = issue_with(&euicc, NULL, NULL);
    }
}

static void authority_close(authority *a)
{
    rsp_certificate_free(a->ci);
    rsp_private_key_free(a->ci_key);
    rsp_certificate_free(a->dpauth);
    rsp_certificate_free(a->eum);
    rsp_private_key_free(a->eum_key);
    for (int i = 0; i < EUICCS; i++)
        rsp_certificate_free(a->euicc[i]);
}

static rsp_cert_link_memo_figures leaf_figures(void)
{
    rsp_cert_link_memo_figures figures;
    rsp_certificate_link_memo_figures(&figures, NULL);
    return figures;
}

static rsp_cert_link_memo_figures euicc_figures(void)
{
    rsp_cert_link_memo_figures figures;
    rsp_certificate_link_memo_figures(NULL, &figures);
    return figures;
}

static rsp_status verify_leaf(const rsp_certificate *leaf, rsp_cert_role role, const authority *a,
                              const rsp_cert_verify_options *options,
                              rsp_cert_verify_result *result, rsp_error *err)
{
    const rsp_certificate *cis[1] = {a->ci};
    rsp_error_clear(err);
    return rsp_certificate_verify(leaf, role, NULL, cis, 1, options, result, err);
}

/* rsp_euicc_certificate_verify of euicc's DER; the identity's key is freed here. */
static rsp_status verify_euicc_der(der_view der, const authority *a,
                                   const rsp_cert_verify_options *options,
                                   rsp_cert_verify_result *result, char eid[RSP_EID_STRING_SIZE],
                                   rsp_error *err)
{
    const rsp_certificate *cis[1] = {a->ci};
    rsp_euicc_identity identity;
    rsp_error_clear(err);
    rsp_status status =
        rsp_euicc_certificate_verify(der, a->eum, cis, 1, options, result, &identity, err);
    if (eid != NULL)
        memcpy(eid, identity.eid, RSP_EID_STRING_SIZE);
    rsp_public_key_free(identity.key);
    return status;
}

/* A copy of cert's DER with one bit of the byte at offset flipped; the caller frees it. */
static uint8_t *flipped_copy(const rsp_certificate *cert, size_t offset, uint8_t bit)
{
    der_view der = rsp_certificate_der(cert);
    assert_true(offset < der.len);
    uint8_t *copy = malloc(der.len);
    assert_non_null(copy);
    memcpy(copy, der.data, der.len);
    copy[offset] ^= bit;
    return copy;
}

/* Offset of text in cert's DER (a name inside the signed part). */
static size_t offset_of(const rsp_certificate *cert, const char *text)
{
    der_view der = rsp_certificate_der(cert);
    size_t len = strlen(text);
    for (size_t i = 0; i + len <= der.len; i++)
        if (memcmp(der.data + i, text, len) == 0)
            return i;
    fail_msg("'%s' not in the certificate", text);
    return 0;
}

/* ---- leaves signed by a CI ---- */

static void test_leaf_hit_skips_only_the_signature(void **state)
{
    (void)state;
    authority a;
    authority_open(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    rsp_cert_verify_options options = {.now = NOW + DAY};
    rsp_cert_link_memo_figures before = leaf_figures();
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_OK);
    rsp_cert_link_memo_figures after_first = leaf_figures();
    assert_int_equal(after_first.insertions, before.insertions + 1);
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_OK);
    assert_ptr_equal(result.ci, a.ci);
    rsp_cert_link_memo_figures after_second = leaf_figures();
    assert_int_equal(after_second.hits, after_first.hits + 1);
    assert_int_equal(after_second.insertions, after_first.insertions);

    /* a later clock: the leaf has expired, although its signature is remembered */
    options.now = NOW + 20 * DAY;
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EXPIRED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_DP_AUTH);
    assert_string_equal(err.message, "DPauth certificate: expired (validity period)");
    assert_int_equal(leaf_figures().hits, after_second.hits + 1);
    options.now = NOW - DAY;
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);

    /* a CRL of the CI that lists its serial */
    rsp_crl *crl = NULL;
    const rsp_certificate *revoked[1] = {a.dpauth};
    assert_int_equal(rsp_pki_issue_crl(a.ci, a.ci_key, revoked, 1, NOW, NOW + 30 * DAY, &crl, &err),
                     RSP_OK);
    const rsp_crl *crls[1] = {crl};
    rsp_cert_verify_options with_crl = {.now = NOW + DAY, .crls = crls, .crl_count = 1};
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &with_crl, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_DP_AUTH);
    assert_string_equal(err.message, "DPauth certificate: revoked (CRL)");

    /* a CI the caller does not allow */
    static const uint8_t other_ci_id[20] = {0xF5, 0x41, 0x72, 0xBD, 0xF9, 0x8A, 0x95,
                                            0xD6, 0x5C, 0xBE, 0xB8, 0x8A, 0x38, 0xA1,
                                            0xC1, 0x1D, 0x80, 0x0A, 0x85, 0xC3};
    der_view allowed = der_view_make(other_ci_id, sizeof other_ci_id);
    rsp_cert_verify_options other_ci = {
        .now = NOW + DAY, .allowed_ci_ids = &allowed, .allowed_ci_id_count = 1};
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &other_ci, &result, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);

    /* another curve required, another role */
    rsp_cert_verify_options brainpool = {.now = NOW + DAY,
                                         .required_curve = RSP_CURVE_BRAINPOOL_P256R1};
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &brainpool, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CURVE);
    options.now = NOW + DAY;
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_PB, &a, &options, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ROLE);

    /* and the remembered certificate still passes under the original conditions */
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_OK);
    rsp_crl_free(crl);
    authority_close(&a);
}

static void test_leaf_one_bit_away_is_verified_in_full(void **state)
{
    (void)state;
    authority a;
    authority_open(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    rsp_cert_verify_options options = {.now = NOW + DAY};
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_OK);
    assert_int_equal(verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                     RSP_OK);
    der_view der = rsp_certificate_der(a.dpauth);
    /* one bit of the subject name ("Memo Test SM-DP+" -> "Lemo Test SM-DP+"), and one bit of
     * the signature's last byte: both still parse, neither signature verifies */
    const size_t offsets[2] = {offset_of(a.dpauth, DP_NAME), der.len - 1};
    const uint8_t bits[2] = {0x01, 0x01};
    for (int i = 0; i < 2; i++) {
        uint8_t *twin_der = flipped_copy(a.dpauth, offsets[i], bits[i]);
        rsp_certificate *twin = NULL;
        assert_int_equal(rsp_certificate_from_der(twin_der, der.len, &twin, &err), RSP_OK);
        rsp_cert_link_memo_figures before = leaf_figures();
        for (int round = 0; round < 2; round++) {
            assert_int_equal(verify_leaf(twin, RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                             RSP_ERR_VERIFY);
            assert_int_equal(result.failure, RSP_CERT_FAIL_SIGNATURE);
            assert_string_equal(
                err.message, "DPauth certificate: signature does not verify with the issuer key");
        }
        /* a refused signature is never remembered, and the twin never hit its original */
        rsp_cert_link_memo_figures after = leaf_figures();
        assert_int_equal(after.insertions, before.insertions);
        assert_int_equal(after.hits, before.hits);
        rsp_certificate_free(twin);
        free(twin_der);
    }
    /* the same bytes under another CI with the same name: not remembered under that one */
    authority rogue;
    authority_open(&rogue);
    assert_int_not_equal(
        verify_leaf(a.dpauth, RSP_CERT_ROLE_DP_AUTH, &rogue, &options, &result, &err), RSP_OK);
    authority_close(&rogue);
    authority_close(&a);
}

/* More distinct links than the memo holds: it keeps at most its capacity, and every certificate
 * still verifies (an evicted one is verified again). */
static void test_leaf_memo_is_bounded(void **state)
{
    (void)state;
    authority a;
    authority_open(&a);
    rsp_error err = {0};
    rsp_cert_verify_result result;
    rsp_cert_verify_options options = {.now = NOW + DAY};
    rsp_private_key *key = NULL;
    rsp_public_key *public_key = NULL;
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &key, &err), RSP_OK);
    assert_int_equal(rsp_private_key_public(key, &public_key, &err), RSP_OK);
    rsp_cert_link_memo_figures start = leaf_figures();
    size_t count = 2 * start.capacity;
    assert_true(count > 0);
    rsp_certificate **leaves = calloc(count, sizeof *leaves);
    assert_non_null(leaves);
    for (size_t i = 0; i < count; i++) { /* same key, a random serial each: distinct bytes */
        leaves[i] = issue_dpauth(&a, public_key, 0);
        assert_int_equal(verify_leaf(leaves[i], RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                         RSP_OK);
    }
    rsp_cert_link_memo_figures filled = leaf_figures();
    assert_int_equal(filled.insertions, start.insertions + count);
    assert_true(filled.entries <= filled.capacity);
    assert_int_equal(filled.capacity, start.capacity);
    /* a second pass: only links held when it starts can hit, at most capacity of them */
    for (size_t i = 0; i < count; i++)
        assert_int_equal(verify_leaf(leaves[i], RSP_CERT_ROLE_DP_AUTH, &a, &options, &result, &err),
                         RSP_OK);
    rsp_cert_link_memo_figures again = leaf_figures();
    assert_true(again.hits - filled.hits <= filled.capacity);
    assert_true(again.insertions - filled.insertions >= count - filled.capacity);
    assert_true(again.entries <= again.capacity);
    for (size_t i = 0; i < count; i++)
        rsp_certificate_free(leaves[i]);
    free(leaves);
    rsp_public_key_free(public_key);
    rsp_private_key_free(key);
    authority_close(&a);
}

/* ---- eUICC links: remembered always, accepted only on request ---- */

static void test_euicc_link_only_on_request(void **state)
{
    (void)state;
    authority a;
    authority_open(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    char eid[RSP_EID_STRING_SIZE];
    der_view der = rsp_certificate_der(a.euicc[0]);
    rsp_cert_verify_options plain = {.now = NOW + DAY};
    rsp_cert_verify_options remembering = {.now = NOW + DAY, .remember_euicc_link = true};
    /* the EUM is verified in full with a first eUICC (X509 path), then the DER fast path */
    const rsp_certificate *cis[1] = {a.ci};
    assert_int_equal(rsp_certificate_verify(a.euicc[1], RSP_CERT_ROLE_EUICC, a.eum, cis, 1, &plain,
                                            &result, &err),
                     RSP_OK);
    rsp_cert_link_memo_figures before = euicc_figures();
    assert_int_equal(verify_euicc_der(der, &a, &plain, &result, eid, &err), RSP_OK);
    assert_true(result.read_without_x509);
    rsp_cert_link_memo_figures recorded = euicc_figures();
    assert_int_equal(recorded.insertions, before.insertions + 1);
    /* without the option the signature is verified again */
    assert_int_equal(verify_euicc_der(der, &a, &plain, &result, eid, &err), RSP_OK);
    assert_int_equal(euicc_figures().hits, recorded.hits);
    /* with it, the remembered link answers; the EID and key are those of the certificate */
    rsp_euicc_identity identity;
    assert_int_equal(
        rsp_euicc_certificate_verify(der, a.eum, cis, 1, &remembering, &result, &identity, &err),
        RSP_OK);
    assert_int_equal(euicc_figures().hits, recorded.hits + 1);
    char expected_eid[RSP_EID_STRING_SIZE];
    assert_int_equal(rsp_certificate_eid(a.euicc[0], expected_eid, &err), RSP_OK);
    assert_string_equal(identity.eid, expected_eid);
    rsp_public_key *expected_key = NULL;
    uint8_t point[RSP_EC_POINT_SIZE], expected_point[RSP_EC_POINT_SIZE];
    assert_int_equal(rsp_certificate_public_key(a.euicc[0], &expected_key, &err), RSP_OK);
    assert_int_equal(rsp_public_key_point(identity.key, point), RSP_OK);
    assert_int_equal(rsp_public_key_point(expected_key, expected_point), RSP_OK);
    assert_memory_equal(point, expected_point, sizeof point);
    rsp_public_key_free(expected_key);
    rsp_public_key_free(identity.key);
    /* the X509 path honours the option too: eUICC 1 was recorded by its full verification */
    rsp_cert_link_memo_figures x509_before = euicc_figures();
    assert_int_equal(rsp_certificate_verify(a.euicc[1], RSP_CERT_ROLE_EUICC, a.eum, cis, 1,
                                            &remembering, &result, &err),
                     RSP_OK);
    assert_int_equal(euicc_figures().hits, x509_before.hits + 1);
    authority_close(&a);
}

static void test_euicc_hit_skips_only_the_signature(void **state)
{
    (void)state;
    authority a;
    authority_open(&a);
    rsp_cert_verify_result result;
    rsp_error err = {0};
    der_view der = rsp_certificate_der(a.euicc[0]);
    rsp_cert_verify_options remembering = {.now = NOW + DAY, .remember_euicc_link = true};
    assert_int_equal(verify_euicc_der(der, &a, &remembering, &result, NULL, &err), RSP_OK);
    assert_int_equal(verify_euicc_der(der, &a, &remembering, &result, NULL, &err), RSP_OK);
    rsp_cert_link_memo_figures start = euicc_figures();
    assert_int_equal(verify_euicc_der(der, &a, &remembering, &result, NULL, &err), RSP_OK);
    assert_int_equal(euicc_figures().hits, start.hits + 1);

    /* expired under a later clock, not yet valid under an earlier one */
    remembering.now = NOW + 20 * DAY;
    assert_int_equal(verify_euicc_der(der, &a, &remembering, &result, NULL, &err), RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EXPIRED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_string_equal(err.message, "eUICC certificate: expired (validity period)");
    remembering.now = NOW - DAY;
    assert_int_equal(verify_euicc_der(der, &a, &remembering, &result, NULL, &err), RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);
    remembering.now = NOW + DAY;

    /* revoked by a CRL of its EUM */
    rsp_crl *crl = NULL;
    const rsp_certificate *revoked[1] = {a.euicc[0]};
    assert_int_equal(
        rsp_pki_issue_crl(a.eum, a.eum_key, revoked, 1, NOW, NOW + 30 * DAY, &crl, &err), RSP_OK);
    const rsp_crl *crls[1] = {crl};
    rsp_cert_verify_options with_crl = remembering;
    with_crl.crls = crls;
    with_crl.crl_count = 1;
    assert_int_equal(verify_euicc_der(der, &a, &with_crl, &result, NULL, &err), RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    /* its sibling is not on that CRL */
    assert_int_equal(
        verify_euicc_der(rsp_certificate_der(a.euicc[2]), &a, &with_crl, &result, NULL, &err),
        RSP_OK);

    /* a CI the caller does not allow */
    static const uint8_t other_ci_id[4] = {0x01, 0x02, 0x03, 0x04};
    der_view allowed = der_view_make(other_ci_id, sizeof other_ci_id);
    rsp_cert_verify_options other_ci = remembering;
    other_ci.allowed_ci_ids = &allowed;
    other_ci.allowed_ci_id_count = 1;
    assert_int_equal(verify_euicc_der(der, &a, &other_ci, &result, NULL, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);

    /* another curve required */
    rsp_cert_verify_options brainpool = remembering;
    brainpool.required_curve = RSP_CURVE_BRAINPOOL_P256R1;
    assert_int_equal(verify_euicc_der(der, &a, &brainpool, &result, NULL, &err), RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CURVE);

    /* one bit away (the last byte of the signature): refused, twice, never remembered */
    uint8_t *twin = flipped_copy(a.euicc[0], der.len - 1, 0x01);
    rsp_cert_link_memo_figures before_twin = euicc_figures();
    for (int round = 0; round < 2; round++) {
        assert_int_equal(
            verify_euicc_der(der_view_make(twin, der.len), &a, &remembering, &result, NULL, &err),
            RSP_ERR_VERIFY);
        assert_int_equal(result.failure, RSP_CERT_FAIL_SIGNATURE);
        assert_string_equal(err.message,
                            "eUICC certificate: signature does not verify with the issuer key");
    }
    rsp_cert_link_memo_figures after_twin = euicc_figures();
    assert_int_equal(after_twin.hits, before_twin.hits);
    assert_int_equal(after_twin.insertions, before_twin.insertions);
    free(twin);
    /* the original still passes */
    assert_int_equal(verify_euicc_der(der, &a, &remembering, &result, NULL, &err), RSP_OK);
    rsp_crl_free(crl);
    authority_close(&a);
}

/* ---- many threads at once ---- */

typedef struct {
    const authority *a;
    const uint8_t *twin; /* eUICC 0 with a flipped signature bit */
    size_t twin_len;
    rsp_certificate *dp_twin; /* dpauth with a flipped signature bit */
    unsigned index;
    unsigned wrong; /* verdicts that were not the expected one */
} worker;

static void *worker_run(void *argument)
{
    worker *w = argument;
    const authority *a = w->a;
    const rsp_certificate *cis[1] = {a->ci};
    for (unsigned round = 0; round < THREAD_ROUNDS; round++) {
        rsp_error err = {0};
        rsp_cert_verify_result result;
        rsp_euicc_identity identity;
        rsp_cert_verify_options options = {.now = NOW + DAY,
                                           .remember_euicc_link = (round + w->index) % 2 == 0};
        const rsp_certificate *euicc = a->euicc[(round + w->index) % EUICCS];
        if (rsp_certificate_verify(a->dpauth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 1, &options,
                                   &result, &err) != RSP_OK)
            w->wrong++;
        if (rsp_certificate_verify(w->dp_twin, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 1, &options,
                                   &result, &err) != RSP_ERR_VERIFY)
            w->wrong++;
        if (rsp_euicc_certificate_verify(rsp_certificate_der(euicc), a->eum, cis, 1, &options,
                                         &result, &identity, &err) != RSP_OK ||
            identity.key == NULL)
            w->wrong++;
        rsp_public_key_free(identity.key);
        if (rsp_euicc_certificate_verify(der_view_make(w->twin, w->twin_len), a->eum, cis, 1,
                                         &options, &result, &identity, &err) != RSP_ERR_VERIFY ||
            identity.key != NULL)
            w->wrong++;
        rsp_cert_link_memo_figures leaf, links;
        rsp_certificate_link_memo_figures(&leaf, &links);
        if (leaf.entries > leaf.capacity || links.entries > links.capacity)
            w->wrong++;
    }
    return NULL;
}

static void test_many_threads_at_once(void **state)
{
    (void)state;
    authority a;
    authority_open(&a);
    rsp_error err = {0};
    der_view der = rsp_certificate_der(a.euicc[0]);
    uint8_t *twin = flipped_copy(a.euicc[0], der.len - 1, 0x01);
    der_view dp_der = rsp_certificate_der(a.dpauth);
    uint8_t *dp_twin_der = flipped_copy(a.dpauth, dp_der.len - 1, 0x01);
    rsp_certificate *dp_twin = NULL;
    assert_int_equal(rsp_certificate_from_der(dp_twin_der, dp_der.len, &dp_twin, &err), RSP_OK);
    worker workers[THREADS];
    pthread_t threads[THREADS];
    rsp_cert_link_memo_figures leaf_before, euicc_before;
    rsp_certificate_link_memo_figures(&leaf_before, &euicc_before);
    for (unsigned i = 0; i < THREADS; i++) {
        workers[i] = (worker){
            .a = &a, .twin = twin, .twin_len = der.len, .dp_twin = dp_twin, .index = i, .wrong = 0};
        assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(workers[i].wrong, 0);
    }
    rsp_cert_link_memo_figures leaf_after, euicc_after;
    rsp_certificate_link_memo_figures(&leaf_after, &euicc_after);
    /* most of the work was answered by the memos */
    assert_true(leaf_after.hits - leaf_before.hits >= THREADS * THREAD_ROUNDS / 2);
    assert_true(euicc_after.hits - euicc_before.hits >= THREADS * THREAD_ROUNDS / 4);
    /* each link is remembered once per eviction at most: here, at most once per certificate
     * and thread (two threads may verify the same new link at the same time) */
    assert_true(leaf_after.insertions - leaf_before.insertions <= THREADS);
    assert_true(euicc_after.insertions - euicc_before.insertions <= (uint64_t)THREADS * EUICCS);
    rsp_certificate_free(dp_twin);
    free(dp_twin_der);
    free(twin);
    authority_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_hit_skips_only_the_signature),
        cmocka_unit_test(test_leaf_one_bit_away_is_verified_in_full),
        cmocka_unit_test(test_leaf_memo_is_bounded),
        cmocka_unit_test(test_euicc_link_only_on_request),
        cmocka_unit_test(test_euicc_hit_skips_only_the_signature),
        cmocka_unit_test(test_many_threads_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
