/* GSMA RSP certificates: loading, inspection and verification the SGP.22 way.
 *
 * SGP.22 v2.5 section 4.5 (certificate profiles, "Variant O"): every chain is anchored in a
 * self-signed CI certificate; SM-DP+/SM-DS certificates are signed by the CI directly and eUICC
 * certificates by an EUM certificate signed by the CI. The role of a certificate is the
 * id-rspRole certificate policy (2.23.146.1.2.1.x) together with its key usage and basic
 * constraints. OpenSSL (X509_verify_cert) builds the chain and checks signatures, names, key
 * identifiers, validity and CRLs; this module adds the GSMA rules on top: role, curve, EUM
 * permitted EID range, EID form, allowed CI key identifiers.
 *
 * Ownership: objects returned through an out-pointer belong to the caller and are released with
 * the matching *_free (NULL accepted). der_view results borrow from the certificate. */
#ifndef RSPKIT_CRYPTO_CERTIFICATE_H
#define RSPKIT_CRYPTO_CERTIFICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/der.h"
#include "core/error.h"
#include "crypto/key.h"

typedef struct x509_st X509; /* same forward declarations as <openssl/types.h> */
typedef struct X509_crl_st X509_CRL;

typedef struct rsp_certificate rsp_certificate;
typedef struct rsp_crl rsp_crl;

/* SGP.22 v2.5 section 4.5.2.1 (id-rspRole arc 2.23.146.1.2.1). The eIM roles have no GSMA
 * policy OID (SGP.32 v1.2 defines none): an eIM certificate must carry no id-rspRole policy. */
typedef enum {
    RSP_CERT_ROLE_UNKNOWN = 0,
    RSP_CERT_ROLE_CI,      /* id-rspRole-ci        2.23.146.1.2.1.0 */
    RSP_CERT_ROLE_EUICC,   /* id-rspRole-euicc     2.23.146.1.2.1.1 */
    RSP_CERT_ROLE_EUM,     /* id-rspRole-eum       2.23.146.1.2.1.2 */
    RSP_CERT_ROLE_DP_TLS,  /* id-rspRole-dp-tls    2.23.146.1.2.1.3 */
    RSP_CERT_ROLE_DP_AUTH, /* id-rspRole-dp-auth   2.23.146.1.2.1.4 */
    RSP_CERT_ROLE_DP_PB,   /* id-rspRole-dp-pb     2.23.146.1.2.1.5 */
    RSP_CERT_ROLE_DS_TLS,  /* id-rspRole-ds-tls    2.23.146.1.2.1.6 */
    RSP_CERT_ROLE_DS_AUTH, /* id-rspRole-ds-auth   2.23.146.1.2.1.7 */
    RSP_CERT_ROLE_EIM,     /* eIM signing (eUICC packages), no policy OID */
    RSP_CERT_ROLE_EIM_TLS, /* eIM TLS server, no policy OID */
    RSP_CERT_ROLE__COUNT
} rsp_cert_role;

#define RSP_OID_RSP_ROLE "2.23.146.1.2.1"
/* SGP.22 v3.1 section 4.5.2.1.0.3: PermittedEins ::= SEQUENCE OF PrintableString (EID
 * prefixes), the successor of the nameConstraints serialNumber prefix of v2.x EUMs. */
#define RSP_OID_PERMITTED_EINS "2.23.146.1.2.2.0"

#define RSP_EID_DIGITS      32
#define RSP_EID_STRING_SIZE (RSP_EID_DIGITS + 1)

/* Which check failed, for callers that map failures to protocol reason codes (SGP.22 v2.5
 * section 5.6 / ES9+ "Verification failed", "Expired", "CI unknown", ...). */
typedef enum {
    RSP_CERT_OK = 0,
    RSP_CERT_FAIL_ISSUER,    /* no issuer with that name / authority key id */
    RSP_CERT_FAIL_SIGNATURE, /* the issuer's key does not verify the signature */
    RSP_CERT_FAIL_EXPIRED,
    RSP_CERT_FAIL_NOT_YET_VALID,
    RSP_CERT_FAIL_REVOKED,
    RSP_CERT_FAIL_CRL,       /* a CRL is badly signed or out of its validity */
    RSP_CERT_FAIL_ROLE,      /* policy, key usage, basic constraints or EKU */
    RSP_CERT_FAIL_EID,       /* eUICC subject serialNumber is not a valid EID */
    RSP_CERT_FAIL_EID_RANGE, /* EID outside the EUM's permitted range */
    RSP_CERT_FAIL_CURVE,
    RSP_CERT_FAIL_CI_UNKNOWN, /* CI absent from the store or not in the allowed id list */
    RSP_CERT_FAIL_OTHER,
} rsp_cert_failure;

/* now == 0 skips validity periods of certificates and CRLs, for a device without a trusted
 * clock (an eUICC has none). */
typedef struct {
    time_t now;
    /* CRLs to apply (SGP.22 v2.5 section 4.6). A certificate whose issuer has no CRL here is not
     * checked for revocation; a CRL from that issuer that is invalid makes verification fail. */
    const rsp_crl *const *crls;
    size_t crl_count;
    /* Subject key identifiers of acceptable CIs (euiccCiPKIdListForVerification/Signing);
     * count 0 accepts any CI of the store. */
    const der_view *allowed_ci_ids;
    size_t allowed_ci_id_count;
    /* RSP_CURVE_UNKNOWN: any supported curve, but the whole chain on the CI's curve. */
    rsp_curve required_curve;
    /* eUICC chains only: accept an eUICC-to-EUM signature remembered from an earlier successful
     * verification of the same eUICC bytes under the same EUM bytes instead of verifying it
     * again (every other check still runs). Off by default: a caller whose CPU cost is compared
     * with a crypto floor that includes this signature (the SM-DP+ download) keeps verifying
     * it; links are remembered by every successful verification either way. */
    bool remember_euicc_link;
} rsp_cert_verify_options;

typedef struct {
    rsp_cert_failure failure;
    rsp_cert_role failed_role; /* role of the certificate that failed (CI, EUM, or the leaf) */
    const rsp_certificate *ci; /* on success: the anchoring CI, borrowed from cis */
    /* rsp_euicc_certificate_verify accepted without OpenSSL's X509 parser (the cached-EUM
     * fast path) */
    bool read_without_x509;
} rsp_cert_verify_result;

/* ---- certificates ---- */

/* Exactly one DER certificate: trailing bytes are an error. */
rsp_status rsp_certificate_from_der(const uint8_t *der, size_t len, rsp_certificate **out,
                                    rsp_error *err);
/* PEM or DER, detected. */
rsp_status rsp_certificate_load(const uint8_t *data, size_t len, rsp_certificate **out,
                                rsp_error *err);
rsp_status rsp_certificate_load_file(const char *path, rsp_certificate **out, rsp_error *err);
/* Same as rsp_certificate_from_der for certificates that come again and again (an EUM behind
 * every eUICC of its batch): the parsed form is shared through a process-wide cache keyed by
 * the SHA-256 of the exact bytes. Thread safe; the result is the caller's as usual. */
rsp_status rsp_certificate_from_der_shared(const uint8_t *der, size_t len, rsp_certificate **out,
                                           rsp_error *err);
/* Takes a new reference to x509. */
rsp_status rsp_certificate_from_x509(X509 *x509, rsp_certificate **out, rsp_error *err);
void rsp_certificate_free(rsp_certificate *cert);

X509 *rsp_certificate_x509(const rsp_certificate *cert); /* borrowed */
der_view rsp_certificate_der(const rsp_certificate *cert);
rsp_status rsp_certificate_write_der_file(const rsp_certificate *cert, const char *path,
                                          rsp_error *err);
rsp_status rsp_certificate_write_pem_file(const rsp_certificate *cert, const char *path,
                                          rsp_error *err);

/* Borrowed views; RSP_ERR_NOT_FOUND when the extension is absent. */
rsp_status rsp_certificate_subject_key_id(const rsp_certificate *cert, der_view *out);
rsp_status rsp_certificate_authority_key_id(const rsp_certificate *cert, der_view *out);
rsp_curve rsp_certificate_curve(const rsp_certificate *cert);
rsp_status rsp_certificate_public_key(const rsp_certificate *cert, rsp_public_key **out,
                                      rsp_error *err);
/* The role named by the certificate's id-rspRole policy; UNKNOWN when it has none. */
rsp_cert_role rsp_certificate_role(const rsp_certificate *cert);
/* SGP.22 v2.5 section 4.5.2.1.0.2: the eUICC subject serialNumber is the EID. */
rsp_status rsp_certificate_eid(const rsp_certificate *cert, char eid[RSP_EID_STRING_SIZE],
                               rsp_error *err);
bool rsp_certificate_is_self_signed(const rsp_certificate *cert);
/* One-line subject / issuer in certificate order, RFC 2253 escaping ("CN=Test CI,OU=...").
 */
void rsp_certificate_subject_text(const rsp_certificate *cert, char *buf, size_t size);
void rsp_certificate_issuer_text(const rsp_certificate *cert, char *buf, size_t size);
/* Human-readable summary (role, subject, issuer, validity, curve, key ids, EID, EID range). */
void rsp_certificate_describe(const rsp_certificate *cert, FILE *out);

/* The static profile checks of one role: policy, key usage, basic constraints, EKU, EID form
 * (SGP.22 v2.5 sections 4.5.2.1.0.1 to 4.5.2.1.0.7). */
rsp_status rsp_certificate_check_role(const rsp_certificate *cert, rsp_cert_role role,
                                      rsp_error *err);
/* SGP.22 v2.5 section 4.5.2.1.0.3: EUM nameConstraints (and the v3 permittedEins extension). */
rsp_status rsp_certificate_check_eid_range(const rsp_certificate *eum, const rsp_certificate *euicc,
                                           rsp_error *err);

/* Full verification of leaf for role.
 * An eUICC chain whose EUM (exact bytes) was verified before under one of cis (exact bytes)
 * only has its eUICC link checked again, plus validity and revocation of the EUM: EUM-to-CI
 * signatures and CRL signatures are remembered process-wide (never validity or revocation,
 * which depend on the call's clock and CRLs). So are the signatures of certificates a CI signs
 * directly (SM-DP+, SM-DS, eIM: leaf bytes + CI bytes), and eUICC-to-EUM signatures, which are
 * only accepted from the memo with options->remember_euicc_link. eum is the EUM certificate for
 * role EUICC and NULL otherwise; cis is the trust store. For role CI the leaf itself must be one of
 * cis. RSP_ERR_VERIFY (RSP_ERR_NOT_FOUND for an unknown CI) with a message naming the check; result
 * (may be NULL) tells which check and which certificate. */
rsp_status rsp_certificate_verify(const rsp_certificate *leaf, rsp_cert_role role,
                                  const rsp_certificate *eum, const rsp_certificate *const *cis,
                                  size_t ci_count, const rsp_cert_verify_options *options,
                                  rsp_cert_verify_result *result, rsp_error *err);

/* The process-wide memos of signature links (see rsp_certificate_verify): leaf links (a
 * certificate signed by a CI directly) and eUICC links (an eUICC certificate signed by its EUM).
 * Figures for tests and diagnostics; either pointer may be NULL. */
typedef struct {
    size_t capacity;     /* links the memo can hold; older ones are replaced beyond that */
    size_t entries;      /* links held now */
    uint64_t hits;       /* signature checks answered by the memo since the process started */
    uint64_t insertions; /* links remembered after a signature verified */
} rsp_cert_link_memo_figures;

void rsp_certificate_link_memo_figures(rsp_cert_link_memo_figures *leaf_links,
                                       rsp_cert_link_memo_figures *euicc_links);

/* What a verified eUICC certificate gives its verifier. */
typedef struct {
    char eid[RSP_EID_STRING_SIZE];
    rsp_public_key *key; /* the caller's (rsp_public_key_free) */
} rsp_euicc_identity;

/* SGP.22 v2.5 section 4.5.2 (eUICC -> EUM -> CI) on the DER of an eUICC certificate: the
 * verdict, result and key of rsp_certificate_from_der + rsp_certificate_verify (role eUICC) +
 * rsp_certificate_eid + rsp_certificate_public_key. When eum was verified before (cached), a
 * certificate of the SGP.22 eUICC profile's exact shape is read with the DER reader instead of
 * OpenSSL's X509 parser and accepted after the same checks; any other shape and every failure
 * take the full path, so refusals and their messages are those of rsp_certificate_verify. An
 * unreadable certificate fails with result->failure RSP_CERT_FAIL_OTHER. */
rsp_status rsp_euicc_certificate_verify(der_view euicc_der, const rsp_certificate *eum,
                                        const rsp_certificate *const *cis, size_t ci_count,
                                        const rsp_cert_verify_options *options,
                                        rsp_cert_verify_result *result, rsp_euicc_identity *out,
                                        rsp_error *err);

/* SGP.22 v2.5 section 3.1.2 (euiccCiPKIdListForVerification / ForSigning): the first key id
 * of ids (in the eUICC's order) that names a CI of the store. RSP_ERR_NOT_FOUND if none. */
rsp_status rsp_ci_select(const rsp_certificate *const *cis, size_t ci_count, const der_view *ids,
                         size_t id_count, const rsp_certificate **selected, rsp_error *err);

const char *rsp_cert_role_name(rsp_cert_role role);
/* "2.23.146.1.2.1.4" etc.; NULL for roles without a GSMA policy. */
const char *rsp_cert_role_policy_oid(rsp_cert_role role);
const char *rsp_cert_failure_name(rsp_cert_failure failure);

/* ---- EIDs (GSMA SGP.29: 32 digits, ISO/IEC 7064 MOD 97-10 check digits) ---- */

bool rsp_eid_is_valid(const char *eid);
/* 30 leading digits -> full EID with the two check digits; RSP_ERR_INVALID_ARGUMENT if the
 * input is not 30 decimal digits. */
rsp_status rsp_eid_complete(const char *first_30_digits, char eid[RSP_EID_STRING_SIZE]);

/* ---- CRLs ---- */

rsp_status rsp_crl_load(const uint8_t *data, size_t len, rsp_crl **out, rsp_error *err);
rsp_status rsp_crl_load_file(const char *path, rsp_crl **out, rsp_error *err);
/* Takes a new reference to crl. */
rsp_status rsp_crl_from_x509(X509_CRL *crl, rsp_crl **out, rsp_error *err);
void rsp_crl_free(rsp_crl *crl);
X509_CRL *rsp_crl_x509(const rsp_crl *crl); /* borrowed */
rsp_status rsp_crl_write_der_file(const rsp_crl *crl, const char *path, rsp_error *err);
rsp_status rsp_crl_write_pem_file(const rsp_crl *crl, const char *path, rsp_error *err);

#endif
