/* The generated test PKI (rsp_pki_*) and every negative case of certificate verification that
 * needs a private key of the CI or EUM: wrong issuer, bad signature, validity, revocation, EID
 * range, key usage, policy, EKU, curve, allowed CI list. Two PKIs are generated in temporary
 * folders; B has the same names as A but its own keys. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "crypto/certificate.h"
#include "crypto/ecdsa.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"

#define NOW ((time_t)1800000000) /* 2027-01-15: issuing time of both PKIs */
#define DAY ((time_t)86400)

typedef struct {
    char dir_a[64];
    char dir_b[64];
} fixture;

static char *read_all(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    char *data = malloc(1 << 16);
    *len = data ? fread(data, 1, (1 << 16) - 1, file) : 0;
    fclose(file);
    if (data)
        data[*len] = '\0';
    return data;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *walk)
{
    (void)info;
    (void)walk;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    rsp_error err = {0};
    strcpy(f->dir_a, "/tmp/rspkit-pki-a-XXXXXX");
    strcpy(f->dir_b, "/tmp/rspkit-pki-b-XXXXXX");
    if (mkdtemp(f->dir_a) == NULL || mkdtemp(f->dir_b) == NULL)
        return -1;
    rsp_pki_options a = {.curves = RSP_PKI_CURVE_BOTH, .euicc_count = 2, .now = NOW};
    rsp_pki_options b = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1, .now = NOW};
    if (rsp_pki_init(f->dir_a, &a, &err) != RSP_OK || rsp_pki_init(f->dir_b, &b, &err) != RSP_OK) {
        fprintf(stderr, "pki init: %s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    remove_tree(f->dir_a);
    remove_tree(f->dir_b);
    free(f);
    return 0;
}

static rsp_certificate *load_cert(const char *dir, const char *relative)
{
    char path[256];
    rsp_error err = {0};
    rsp_certificate *cert = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    if (rsp_certificate_load_file(path, &cert, &err) != RSP_OK)
        fail_msg("%s: %s", path, err.message);
    return cert;
}

static rsp_private_key *load_key(const char *dir, const char *relative)
{
    char path[256];
    rsp_error err = {0};
    rsp_private_key *key = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    if (rsp_private_key_load_file(path, &key, &err) != RSP_OK)
        fail_msg("%s: %s", path, err.message);
    return key;
}

/* First EID issued, read back from eids.txt. */
static void first_eid(const char *dir, char eid[RSP_EID_STRING_SIZE])
{
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/eids.txt", dir);
    char *text = read_all(path, &len);
    assert_non_null(text);
    const char *issued = strstr(text, "issued ");
    assert_non_null(issued);
    memcpy(eid, issued + 7, RSP_EID_DIGITS);
    eid[RSP_EID_DIGITS] = '\0';
    free(text);
}

static size_t count_lines_with(const char *dir, const char *file, const char *fragment)
{
    char path[256];
    size_t len = 0, count = 0;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = read_all(path, &len);
    assert_non_null(text);
    for (const char *at = strstr(text, fragment); at != NULL; at = strstr(at + 1, fragment))
        count++;
    free(text);
    return count;
}

/* A PKI's curve folder: CI and EUM with keys. */
typedef struct {
    rsp_certificate *ci;
    rsp_private_key *ci_key;
    rsp_certificate *eum;
    rsp_private_key *eum_key;
} authority;

static void authority_open(authority *a, const char *dir, const char *curve)
{
    char path[128];
    snprintf(path, sizeof path, "%s/CERT_CI_ECDSA.der", curve);
    a->ci = load_cert(dir, path);
    snprintf(path, sizeof path, "%s/SK_CI_ECDSA.pem", curve);
    a->ci_key = load_key(dir, path);
    snprintf(path, sizeof path, "%s/CERT_EUM_ECDSA.pem", curve);
    a->eum = load_cert(dir, path);
    snprintf(path, sizeof path, "%s/SK_EUM_ECDSA.pem", curve);
    a->eum_key = load_key(dir, path);
}

static void authority_close(authority *a)
{
    rsp_certificate_free(a->ci);
    rsp_private_key_free(a->ci_key);
    rsp_certificate_free(a->eum);
    rsp_private_key_free(a->eum_key);
}

/* Issues a certificate for a fresh key on curve. */
static rsp_certificate *issue(rsp_pki_certificate_request *request, rsp_curve curve)
{
    rsp_error err = {0};
    rsp_private_key *key = NULL;
    rsp_public_key *public_key = NULL;
    rsp_certificate *cert = NULL;
    assert_int_equal(rsp_private_key_generate(curve, &key, &err), RSP_OK);
    assert_int_equal(rsp_private_key_public(key, &public_key, &err), RSP_OK);
    request->subject_key = public_key;
    if (request->not_before == 0)
        request->not_before = NOW - 60;
    if (rsp_pki_issue_certificate(request, &cert, &err) != RSP_OK)
        fail_msg("issue: %s", err.message);
    rsp_public_key_free(public_key);
    rsp_private_key_free(key);
    return cert;
}

static rsp_status verify(const rsp_certificate *cert, rsp_cert_role role,
                         const rsp_certificate *eum, const rsp_certificate *ci, time_t now,
                         rsp_cert_verify_result *result, rsp_error *err)
{
    rsp_cert_verify_options options = {.now = now};
    rsp_error_clear(err);
    return rsp_certificate_verify(cert, role, eum, &ci, 1, &options, result, err);
}

typedef struct {
    unsigned ok;
    unsigned failed;
} tally;

static void count_report(void *context, const char *relative_path, rsp_cert_role role,
                         rsp_status status, const char *message)
{
    tally *t = context;
    (void)role;
    if (status == RSP_OK)
        t->ok++;
    else {
        t->failed++;
        fprintf(stderr, "  %s: %s\n", relative_path, message);
    }
}

static void test_generated_pki_verifies(void **state)
{
    fixture *f = *state;
    tally t = {0};
    unsigned failures = 99;
    rsp_error err = {0};
    assert_int_equal(rsp_pki_verify(f->dir_a, NOW + DAY, count_report, &t, &failures, &err),
                     RSP_OK);
    assert_int_equal(failures, 0);
    assert_int_equal(t.ok, 2 * (7 + 2)); /* 2 curves x (CI, EUM, 3 SM-DP+, 2 eIM, 2 eUICCs) */
    /* index lists every file, EID book lists both EIDs */
    assert_int_equal(count_lines_with(f->dir_a, "README.txt", "CERT_EUICC_ECDSA_"), 2 * 2 * 2);
    assert_int_equal(count_lines_with(f->dir_a, "README.txt", "SK_"), 2 * (7 + 2));
    assert_int_equal(count_lines_with(f->dir_a, "README.txt", "CRL_CI."), 2 * 2);
    assert_int_equal(count_lines_with(f->dir_a, "eids.txt", "issued "), 2);
    assert_int_equal(count_lines_with(f->dir_a, "eids.txt", "prefix " RSP_PKI_DEFAULT_EID_PREFIX),
                     1);
    /* the DPtls certificate is a TLS server certificate for localhost */
    rsp_certificate *tls = load_cert(f->dir_a, "nist/CERT_S_SM_DP_TLS.pem");
    assert_int_equal(X509_check_host(rsp_certificate_x509(tls), "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(rsp_certificate_x509(tls), "127.0.0.1", 0), 1);
    assert_int_equal(rsp_certificate_role(tls), RSP_CERT_ROLE_DP_TLS);
    rsp_certificate_free(tls);
}

static void test_refuses_overwrite(void **state)
{
    fixture *f = *state;
    rsp_error err = {0};
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .now = NOW};
    assert_int_equal(rsp_pki_init(f->dir_a, &options, &err), RSP_ERR_STATE);
    assert_non_null(strstr(err.message, "refusing to overwrite"));
    assert_non_null(strstr(err.message, "--force"));

    /* --force replaces: a fresh PKI with new keys in a scratch folder */
    char scratch[64] = "/tmp/rspkit-pki-force-XXXXXX";
    assert_non_null(mkdtemp(scratch));
    rsp_error_clear(&err);
    assert_int_equal(rsp_pki_init(scratch, &options, &err), RSP_OK);
    rsp_certificate *before = load_cert(scratch, "nist/CERT_CI_ECDSA.der");
    options.force = true;
    options.curves = RSP_PKI_CURVE_BRAINPOOL;
    assert_int_equal(rsp_pki_init(scratch, &options, &err), RSP_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/nist", scratch);
    assert_int_not_equal(access(path, F_OK), 0); /* the old curve is gone */
    rsp_certificate *after = load_cert(scratch, "brainpool/CERT_CI_ECDSA.der");
    assert_false(der_view_equal(rsp_certificate_der(before), rsp_certificate_der(after)));
    rsp_certificate_free(before);
    rsp_certificate_free(after);
    remove_tree(scratch);
}

static void test_add_euiccs(void **state)
{
    fixture *f = *state;
    char eid[RSP_EID_STRING_SIZE];
    char path[256];
    size_t len_before = 0, len_after = 0;
    rsp_error err = {0};
    first_eid(f->dir_b, eid);
    snprintf(path, sizeof path, "%s/nist/euicc/CERT_EUICC_ECDSA_%s.der", f->dir_b, eid);
    char *before = read_all(path, &len_before);
    assert_non_null(before);
    assert_int_equal(rsp_pki_add_euiccs(f->dir_b, 3, NOW, &err), RSP_OK);
    char *after = read_all(path, &len_after);
    assert_int_equal(len_before, len_after);
    assert_memory_equal(before, after, len_before);
    free(before);
    free(after);
    assert_int_equal(count_lines_with(f->dir_b, "eids.txt", "issued "), 4);
    assert_int_equal(count_lines_with(f->dir_b, "README.txt", "CERT_EUICC_ECDSA_"), 4 * 2);
    tally t = {0};
    unsigned failures = 99;
    assert_int_equal(rsp_pki_verify(f->dir_b, NOW, count_report, &t, &failures, &err), RSP_OK);
    assert_int_equal(t.ok, 7 + 4);
    /* EIDs are all distinct and valid: the 'next' line is not yet issued */
    snprintf(path, sizeof path, "%s/eids.txt", f->dir_b);
    char *text = read_all(path, &len_after);
    const char *next = strstr(text, "\nnext ");
    assert_non_null(next);
    char next_eid[RSP_EID_STRING_SIZE];
    memcpy(next_eid, next + 6, RSP_EID_DIGITS);
    next_eid[RSP_EID_DIGITS] = '\0';
    assert_true(rsp_eid_is_valid(next_eid));
    assert_int_equal(count_lines_with(f->dir_b, "eids.txt", next_eid), 1);
    free(text);
    /* no PKI: clear error */
    rsp_error_clear(&err);
    assert_int_equal(rsp_pki_add_euiccs("/nonexistent-rspkit", 1, NOW, &err), RSP_ERR_NOT_FOUND);
}

static void test_euicc_chain(void **state)
{
    fixture *f = *state;
    char eid[RSP_EID_STRING_SIZE], cert_eid[RSP_EID_STRING_SIZE], path[128];
    static const char *const curves[] = {"nist", "brainpool"};
    first_eid(f->dir_a, eid);
    for (size_t i = 0; i < 2; i++) {
        authority a;
        authority_open(&a, f->dir_a, curves[i]);
        snprintf(path, sizeof path, "%s/euicc/CERT_EUICC_ECDSA_%s.pem", curves[i], eid);
        rsp_certificate *euicc = load_cert(f->dir_a, path);
        rsp_cert_verify_result result;
        rsp_error err = {0};
        rsp_status status = verify(euicc, RSP_CERT_ROLE_EUICC, a.eum, a.ci, NOW, &result, &err);
        if (status != RSP_OK)
            fail_msg("%s: %s", path, err.message);
        assert_ptr_equal(result.ci, a.ci);
        assert_int_equal(rsp_certificate_role(euicc), RSP_CERT_ROLE_EUICC);
        assert_int_equal(rsp_certificate_eid(euicc, cert_eid, &err), RSP_OK);
        assert_string_equal(cert_eid, eid);
        /* eUICC certificates do not expire (99991231235959Z) */
        assert_int_equal(
            verify(euicc, RSP_CERT_ROLE_EUICC, a.eum, a.ci, NOW + 29 * 365 * DAY, &result, &err),
            RSP_OK);
        /* the eUICC key signs, its certificate verifies */
        snprintf(path, sizeof path, "%s/euicc/SK_EUICC_ECDSA_%s.pem", curves[i], eid);
        rsp_private_key *key = load_key(f->dir_a, path);
        rsp_public_key *public_key = NULL;
        uint8_t signature[RSP_EC_SIGNATURE_SIZE];
        static const uint8_t message[] = "euiccSigned1";
        assert_int_equal(rsp_ecdsa_sign(key, message, sizeof message, signature, &err), RSP_OK);
        assert_int_equal(rsp_certificate_public_key(euicc, &public_key, &err), RSP_OK);
        assert_int_equal(rsp_ecdsa_verify(public_key, message, sizeof message, signature,
                                          sizeof signature, &err),
                         RSP_OK);
        rsp_public_key_free(public_key);
        rsp_private_key_free(key);
        rsp_certificate_free(euicc);
        authority_close(&a);
    }
}

static void test_wrong_issuer(void **state)
{
    fixture *f = *state;
    char eid[RSP_EID_STRING_SIZE], path[128];
    authority a, b;
    authority_open(&a, f->dir_a, "nist");
    authority_open(&b, f->dir_b, "nist");
    first_eid(f->dir_a, eid);
    snprintf(path, sizeof path, "nist/euicc/CERT_EUICC_ECDSA_%s.der", eid);
    rsp_certificate *euicc_a = load_cert(f->dir_a, path);
    const rsp_certificate *both[2] = {a.ci, b.ci};
    rsp_cert_verify_result result;
    rsp_error err = {0};
    /* eUICC of A presented with the (same-named) EUM of B */
    assert_int_equal(
        rsp_certificate_verify(euicc_a, RSP_CERT_ROLE_EUICC, b.eum, both, 2, NULL, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ISSUER);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_EUICC);
    assert_string_equal(err.message,
                        "eUICC certificate: wrong issuer: unable to get local issuer certificate");
    /* DPauth of A against the CI of B only */
    rsp_certificate *auth_a = load_cert(f->dir_a, "nist/CERT_S_SM_DPauth_ECDSA.der");
    assert_int_equal(verify(auth_a, RSP_CERT_ROLE_DP_AUTH, NULL, b.ci, NOW, &result, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);
    assert_string_equal(err.message, "DPauth certificate: CI unknown: no trusted CI matches its "
                                     "issuer (unable to get local issuer certificate)");
    /* a damaged signature */
    der_view der = rsp_certificate_der(auth_a);
    uint8_t damaged[1024];
    rsp_certificate *broken = NULL;
    memcpy(damaged, der.data, der.len);
    damaged[der.len - 1] ^= 0x01; /* last byte of s */
    assert_int_equal(rsp_certificate_from_der(damaged, der.len, &broken, &err), RSP_OK);
    assert_int_equal(verify(broken, RSP_CERT_ROLE_DP_AUTH, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_SIGNATURE);
    assert_string_equal(err.message,
                        "DPauth certificate: signature does not verify with the issuer key");
    rsp_certificate_free(broken);
    rsp_certificate_free(auth_a);
    rsp_certificate_free(euicc_a);
    authority_close(&a);
    authority_close(&b);
}

static void test_validity_period(void **state)
{
    fixture *f = *state;
    authority a;
    authority_open(&a, f->dir_a, "brainpool");
    rsp_certificate *pb = load_cert(f->dir_a, "brainpool/CERT_S_SM_DPpb_ECDSA.der");
    rsp_cert_verify_result result;
    rsp_error err = {0};
    assert_int_equal(
        verify(pb, RSP_CERT_ROLE_DP_PB, NULL, a.ci, NOW + 11 * 365 * DAY, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EXPIRED);
    assert_string_equal(err.message, "DPpb certificate: expired (validity period)");
    /* before the CI's own period: the CI is the failing certificate */
    assert_int_equal(verify(pb, RSP_CERT_ROLE_DP_PB, NULL, a.ci, NOW - DAY, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_CI);
    assert_string_equal(err.message, "CI certificate: not yet valid (validity period)");
    /* an SM-DP+ certificate whose period starts in ten days */
    rsp_pki_certificate_request request = {.role = RSP_CERT_ROLE_DP_PB,
                                           .issuer = a.ci,
                                           .issuer_key = a.ci_key,
                                           .not_before = NOW + 10 * DAY,
                                           .not_after = NOW + 100 * DAY};
    rsp_certificate *future = issue(&request, RSP_CURVE_BRAINPOOL_P256R1);
    assert_int_equal(verify(future, RSP_CERT_ROLE_DP_PB, NULL, a.ci, NOW + DAY, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_NOT_YET_VALID);
    assert_int_equal(result.failed_role, RSP_CERT_ROLE_DP_PB);
    assert_string_equal(err.message, "DPpb certificate: not yet valid (validity period)");
    assert_int_equal(verify(future, RSP_CERT_ROLE_DP_PB, NULL, a.ci, NOW + 11 * DAY, &result, &err),
                     RSP_OK);
    rsp_certificate_free(future);
    assert_int_equal(verify(pb, RSP_CERT_ROLE_DP_PB, NULL, a.ci, 0, &result, &err), RSP_OK);
    /* CI certificate verified as itself */
    assert_int_equal(
        verify(a.ci, RSP_CERT_ROLE_CI, NULL, a.ci, NOW + 36 * 365 * DAY, &result, &err),
        RSP_ERR_VERIFY);
    assert_string_equal(err.message, "CI certificate: expired (validity period)");
    rsp_certificate_free(pb);
    authority_close(&a);
}

static void test_revocation(void **state)
{
    fixture *f = *state;
    authority a, b;
    authority_open(&a, f->dir_a, "nist");
    authority_open(&b, f->dir_b, "nist");
    rsp_certificate *auth = load_cert(f->dir_a, "nist/CERT_S_SM_DPauth_ECDSA.der");
    rsp_certificate *pb = load_cert(f->dir_a, "nist/CERT_S_SM_DPpb_ECDSA.der");
    rsp_crl *crl = NULL, *expired = NULL, *empty = NULL;
    rsp_error err = {0};
    const rsp_certificate *revoked[1] = {auth};
    assert_int_equal(rsp_pki_issue_crl(a.ci, a.ci_key, revoked, 1, NOW, NOW + 30 * DAY, &crl, &err),
                     RSP_OK);
    assert_int_equal(
        rsp_pki_issue_crl(a.ci, a.ci_key, revoked, 0, NOW - 60 * DAY, NOW - DAY, &expired, &err),
        RSP_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/nist/CRL_CI.pem", f->dir_a);
    assert_int_equal(rsp_crl_load_file(path, &empty, &err), RSP_OK);

    rsp_cert_verify_options options = {
        .now = NOW + DAY, .crls = (const rsp_crl *const[]){crl}, .crl_count = 1};
    const rsp_certificate *cis[1] = {a.ci};
    rsp_cert_verify_result result;
    assert_int_equal(
        rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 1, &options, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
    assert_string_equal(err.message, "DPauth certificate: revoked (CRL)");
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_certificate_verify(pb, RSP_CERT_ROLE_DP_PB, NULL, cis, 1, &options, &result, &err),
        RSP_OK);
    /* the folder's CRL revokes nothing */
    options.crls = (const rsp_crl *const[]){empty};
    assert_int_equal(
        rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 1, &options, &result, &err),
        RSP_OK);
    /* a CRL claiming the CI's name but signed by another CI: refused, not applied */
    rsp_crl *foreign = NULL;
    assert_int_equal(
        rsp_pki_issue_crl(b.ci, b.ci_key, revoked, 1, NOW, NOW + 30 * DAY, &foreign, &err), RSP_OK);
    options.crls = (const rsp_crl *const[]){foreign};
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 1, &options, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CRL);
    assert_string_equal(err.message, "DPauth certificate: CRL signature failure");
    rsp_crl_free(foreign);
    rsp_error_clear(&err);
    /* a CRL past its nextUpdate is refused */
    options.crls = (const rsp_crl *const[]){expired};
    assert_int_equal(
        rsp_certificate_verify(pb, RSP_CERT_ROLE_DP_PB, NULL, cis, 1, &options, &result, &err),
        RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CRL);
    assert_string_equal(err.message, "DPpb certificate: CRL has expired");
    rsp_crl_free(crl);
    rsp_crl_free(expired);
    rsp_crl_free(empty);
    rsp_certificate_free(auth);
    rsp_certificate_free(pb);
    authority_close(&a);
    authority_close(&b);
}

static void test_eid_range(void **state)
{
    fixture *f = *state;
    authority a;
    authority_open(&a, f->dir_a, "nist");
    rsp_cert_verify_result result;
    rsp_error err = {0};
    char eid[RSP_EID_STRING_SIZE];
    /* an EID of another issuer (prefix 89044...) signed by our EUM */
    assert_int_equal(rsp_eid_complete("890440000000000000000000000042", eid), RSP_OK);
    rsp_pki_certificate_request request = {
        .role = RSP_CERT_ROLE_EUICC, .eid = eid, .issuer = a.eum, .issuer_key = a.eum_key};
    rsp_certificate *outside = issue(&request, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(outside, RSP_CERT_ROLE_EUICC, a.eum, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EID_RANGE);
    assert_string_equal(err.message, "eUICC certificate: EID 89044000000000000000000000004210 "
                                     "outside the EUM range 89049032* (O=RSPKIT EUM)");
    /* in range, but the subject organization is not the one the EUM constrains */
    assert_int_equal(rsp_eid_complete("890490329999999999999999999999", eid), RSP_OK);
    request.organization = "OTHER EUM";
    rsp_certificate *other_org = issue(&request, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(other_org, RSP_CERT_ROLE_EUICC, a.eum, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_EID_RANGE);
    assert_string_equal(err.message, "eUICC certificate: EID 89049032999999999999999999999991 "
                                     "outside the EUM range 89049032* (O=RSPKIT EUM)");
    /* the same EID with the constrained organization verifies */
    request.organization = NULL;
    rsp_certificate *inside = issue(&request, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(inside, RSP_CERT_ROLE_EUICC, a.eum, a.ci, NOW, &result, &err), RSP_OK);
    /* a wider EUM range (8904) covers that EID */
    rsp_pki_certificate_request eum_request = {
        .role = RSP_CERT_ROLE_EUM, .issuer = a.ci, .issuer_key = a.ci_key, .eid_prefix = "8904"};
    rsp_certificate *wide_eum = issue(&eum_request, RSP_CURVE_NIST_P256);
    assert_int_equal(rsp_certificate_check_eid_range(wide_eum, outside, &err), RSP_OK);
    rsp_certificate_free(wide_eum);
    rsp_certificate_free(inside);
    rsp_certificate_free(other_org);
    rsp_certificate_free(outside);
    authority_close(&a);
}

static void test_wrong_usage_and_policy(void **state)
{
    fixture *f = *state;
    authority a;
    authority_open(&a, f->dir_a, "nist");
    rsp_cert_verify_result result;
    rsp_error err = {0};
    rsp_pki_certificate_request request = {.role = RSP_CERT_ROLE_DP_AUTH,
                                           .issuer = a.ci,
                                           .issuer_key = a.ci_key,
                                           .key_usage = "critical,digitalSignature,keyCertSign"};
    rsp_certificate *cert = issue(&request, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(cert, RSP_CERT_ROLE_DP_AUTH, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_ROLE);
    assert_string_equal(err.message, "DPauth certificate: wrong key usage 0x84, expected "
                                     "digitalSignature without keyCertSign");
    rsp_certificate_free(cert);

    request.key_usage = NULL;
    request.policy = "critical,2.23.146.1.2.1.5";
    cert = issue(&request, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(cert, RSP_CERT_ROLE_DP_AUTH, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_string_equal(err.message, "DPauth certificate: wrong certificate policy "
                                     "2.23.146.1.2.1.5 (DPpb), expected 2.23.146.1.2.1.4");
    rsp_certificate_free(cert);

    request.policy = "";
    cert = issue(&request, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(cert, RSP_CERT_ROLE_DP_AUTH, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_string_equal(err.message, "DPauth certificate: wrong certificate policy: no "
                                     "id-rspRole policy, expected 2.23.146.1.2.1.4");
    rsp_certificate_free(cert);

    /* TLS without serverAuth */
    rsp_pki_certificate_request tls = {.role = RSP_CERT_ROLE_DP_TLS,
                                       .issuer = a.ci,
                                       .issuer_key = a.ci_key,
                                       .extended_key_usage = "",
                                       .dns_name = "localhost"};
    cert = issue(&tls, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(cert, RSP_CERT_ROLE_DP_TLS, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_string_equal(err.message, "DPtls certificate: wrong extended key usage: no serverAuth");
    rsp_certificate_free(cert);

    /* an eIM certificate must not carry an SM-DP+ role */
    rsp_pki_certificate_request eim = {.role = RSP_CERT_ROLE_EIM,
                                       .issuer = a.ci,
                                       .issuer_key = a.ci_key,
                                       .policy = "critical,2.23.146.1.2.1.4"};
    cert = issue(&eim, RSP_CURVE_NIST_P256);
    assert_int_equal(verify(cert, RSP_CERT_ROLE_EIM, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_string_equal(err.message, "eIM certificate: wrong certificate policy: carries GSMA "
                                     "role 2.23.146.1.2.1.4 (DPauth)");
    rsp_certificate_free(cert);

    /* an EUM whose key usage cannot sign certificates */
    rsp_pki_certificate_request eum = {.role = RSP_CERT_ROLE_EUM,
                                       .issuer = a.ci,
                                       .issuer_key = a.ci_key,
                                       .key_usage = "critical,digitalSignature"};
    cert = issue(&eum, RSP_CURVE_NIST_P256);
    rsp_error_clear(&err);
    assert_int_equal(rsp_certificate_check_role(cert, RSP_CERT_ROLE_EUM, &err), RSP_ERR_VERIFY);
    assert_string_equal(err.message, "EUM certificate: wrong key usage 0x80, expected keyCertSign");
    rsp_certificate_free(cert);
    authority_close(&a);
}

static void test_wrong_curve(void **state)
{
    fixture *f = *state;
    authority a;
    authority_open(&a, f->dir_a, "nist");
    rsp_cert_verify_result result;
    rsp_error err = {0};
    /* a brainpool SM-DP+ key under the NIST CI */
    rsp_pki_certificate_request request = {
        .role = RSP_CERT_ROLE_DP_PB, .issuer = a.ci, .issuer_key = a.ci_key};
    rsp_certificate *cert = issue(&request, RSP_CURVE_BRAINPOOL_P256R1);
    assert_int_equal(verify(cert, RSP_CERT_ROLE_DP_PB, NULL, a.ci, NOW, &result, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CURVE);
    assert_string_equal(err.message, "DPpb certificate: wrong curve brainpoolP256r1, expected "
                                     "prime256v1");
    rsp_certificate_free(cert);
    authority_close(&a);
}

static void test_allowed_ci_list(void **state)
{
    fixture *f = *state;
    authority nist, brainpool;
    authority_open(&nist, f->dir_a, "nist");
    authority_open(&brainpool, f->dir_a, "brainpool");
    rsp_certificate *auth = load_cert(f->dir_a, "nist/CERT_S_SM_DPauth_ECDSA.der");
    const rsp_certificate *cis[2] = {nist.ci, brainpool.ci};
    der_view brainpool_id, nist_id;
    assert_int_equal(rsp_certificate_subject_key_id(brainpool.ci, &brainpool_id), RSP_OK);
    assert_int_equal(rsp_certificate_subject_key_id(nist.ci, &nist_id), RSP_OK);
    rsp_cert_verify_options options = {
        .now = NOW, .allowed_ci_ids = &brainpool_id, .allowed_ci_id_count = 1};
    rsp_cert_verify_result result;
    rsp_error err = {0};
    assert_int_equal(
        rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 2, &options, &result, &err),
        RSP_ERR_NOT_FOUND);
    assert_int_equal(result.failure, RSP_CERT_FAIL_CI_UNKNOWN);
    assert_string_equal(err.message,
                        "CI certificate: CI unknown: its key id is not in the allowed CI list");
    options.allowed_ci_ids = &nist_id;
    assert_int_equal(
        rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 2, &options, &result, &err),
        RSP_OK);
    assert_ptr_equal(result.ci, nist.ci);
    const rsp_certificate *selected = NULL;
    der_view ids[2] = {brainpool_id, nist_id};
    assert_int_equal(rsp_ci_select(cis, 2, ids, 2, &selected, &err), RSP_OK);
    assert_ptr_equal(selected, brainpool.ci); /* the eUICC's order decides */
    rsp_certificate_free(auth);
    authority_close(&nist);
    authority_close(&brainpool);
}

/* A CI key held outside OpenSSL (as in an HSM): only the operations table is visible. */
static rsp_status opaque_sign(void *impl, const uint8_t digest[RSP_SHA256_SIZE],
                              uint8_t signature[RSP_EC_SIGNATURE_SIZE])
{
    return rsp_private_key_sign_digest(impl, digest, signature);
}

static rsp_status opaque_point(void *impl, uint8_t point[RSP_EC_POINT_SIZE])
{
    return rsp_private_key_public_point(impl, point);
}

static rsp_curve opaque_curve(void *impl)
{
    return rsp_private_key_curve(impl);
}

static void test_issuer_without_openssl_key(void **state)
{
    fixture *f = *state;
    static const rsp_private_key_ops opaque_ops = {opaque_sign, opaque_point, opaque_curve, NULL,
                                                   NULL};
    static const char *const curves[] = {"nist", "brainpool"};
    for (size_t i = 0; i < 2; i++) {
        authority a;
        authority_open(&a, f->dir_a, curves[i]);
        rsp_private_key *opaque = NULL;
        rsp_error err = {0};
        assert_int_equal(rsp_private_key_from_ops(&opaque_ops, a.ci_key, &opaque), RSP_OK);
        assert_null(rsp_private_key_evp(opaque));
        rsp_pki_certificate_request request = {
            .role = RSP_CERT_ROLE_DP_AUTH, .issuer = a.ci, .issuer_key = opaque};
        rsp_certificate *auth = issue(&request, rsp_certificate_curve(a.ci));
        rsp_cert_verify_result result;
        assert_int_equal(verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, a.ci, NOW, &result, &err),
                         RSP_OK);
        /* and a CRL signed the same way is accepted and applied */
        rsp_crl *crl = NULL;
        const rsp_certificate *revoked[1] = {auth};
        assert_int_equal(
            rsp_pki_issue_crl(a.ci, opaque, revoked, 1, NOW, NOW + 30 * DAY, &crl, &err), RSP_OK);
        rsp_cert_verify_options options = {
            .now = NOW + DAY, .crls = (const rsp_crl *const[]){crl}, .crl_count = 1};
        const rsp_certificate *cis[1] = {a.ci};
        assert_int_equal(rsp_certificate_verify(auth, RSP_CERT_ROLE_DP_AUTH, NULL, cis, 1, &options,
                                                &result, &err),
                         RSP_ERR_VERIFY);
        assert_int_equal(result.failure, RSP_CERT_FAIL_REVOKED);
        rsp_crl_free(crl);
        rsp_certificate_free(auth);
        rsp_private_key_free(opaque);
        authority_close(&a);
    }
}

static void test_verify_detects_mismatched_key(void **state)
{
    fixture *f = *state;
    char scratch[64] = "/tmp/rspkit-pki-key-XXXXXX";
    char from[256], to[256];
    rsp_error err = {0};
    assert_non_null(mkdtemp(scratch));
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .now = NOW};
    assert_int_equal(rsp_pki_init(scratch, &options, &err), RSP_OK);
    /* replace the DPpb key by A's: the folder no longer verifies */
    snprintf(from, sizeof from, "%s/nist/SK_S_SM_DPpb_ECDSA.pem", f->dir_a);
    snprintf(to, sizeof to, "%s/nist/SK_S_SM_DPpb_ECDSA.pem", scratch);
    size_t len = 0;
    char *key = read_all(from, &len);
    FILE *file = fopen(to, "wb");
    assert_non_null(file);
    fwrite(key, 1, len, file);
    fclose(file);
    free(key);
    tally t = {0};
    unsigned failures = 0;
    assert_int_equal(rsp_pki_verify(scratch, NOW, count_report, &t, &failures, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(failures, 1);
    assert_int_equal(t.ok, 6);
    remove_tree(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_pki_verifies),
        cmocka_unit_test(test_refuses_overwrite),
        cmocka_unit_test(test_add_euiccs),
        cmocka_unit_test(test_euicc_chain),
        cmocka_unit_test(test_wrong_issuer),
        cmocka_unit_test(test_validity_period),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_eid_range),
        cmocka_unit_test(test_wrong_usage_and_policy),
        cmocka_unit_test(test_wrong_curve),
        cmocka_unit_test(test_allowed_ci_list),
        cmocka_unit_test(test_issuer_without_openssl_key),
        cmocka_unit_test(test_verify_detects_mismatched_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
