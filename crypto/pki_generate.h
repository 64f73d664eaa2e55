/* A complete test PKI shaped like GSMA SGP.26: CI -> EUM -> eUICCs, CI -> SM-DP+ (DPauth,
 * DPpb, DPtls), CI -> eIM (signing and TLS), and a CRL from the CI.
 *
 * Folder layout (one subfolder per curve; README.txt in the folder lists every file):
 *   DIR/README.txt        index of every file
 *   DIR/eids.txt          "prefix P", "next EID" and one "issued EID" line per eUICC
 *   DIR/nist/ DIR/brainpool/
 *       CERT_CI_ECDSA.{pem,der}  SK_CI_ECDSA.pem  CRL_CI.{pem,der}
 *       CERT_EUM_ECDSA.{pem,der} SK_EUM_ECDSA.pem
 *       CERT_S_SM_DPauth_ECDSA.*, CERT_S_SM_DPpb_ECDSA.*, CERT_S_SM_DP_TLS.* (+ SK_*.pem)
 *       CERT_EIM_ECDSA.*, CERT_EIM_TLS.* (+ SK_*.pem)
 *       euicc/CERT_EUICC_ECDSA_<EID>.{pem,der} euicc/SK_EUICC_ECDSA_<EID>.pem
 * Certificates are written as PEM and DER, private keys as unencrypted PKCS#8 PEM (mode 0600).
 * Every EID is issued on every curve of the folder (an eUICC holds one certificate per CI). */
#ifndef RSPKIT_CRYPTO_PKI_GENERATE_H
#define RSPKIT_CRYPTO_PKI_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/error.h"
#include "crypto/certificate.h"
#include "crypto/key.h"

#define RSP_PKI_CURVE_NIST      1u
#define RSP_PKI_CURVE_BRAINPOOL 2u
#define RSP_PKI_CURVE_BOTH      (RSP_PKI_CURVE_NIST | RSP_PKI_CURVE_BRAINPOOL)

/* Default EUM permitted EID prefix: the IIN of the SGP.26 test eUICCs. */
#define RSP_PKI_DEFAULT_EID_PREFIX "89049032"

/* One certificate to issue. Unset (NULL/0) fields take the role's SGP.26-like default. */
typedef struct {
    rsp_cert_role role;
    const char *common_name;
    const char *organization;
    const char *eid;              /* eUICC: subject serialNumber */
    const char *eid_prefix;       /* EUM: permitted EID prefix */
    const char *eid_organization; /* EUM: O the eUICC subjects must carry ("" for none) */
    const char *dns_name;         /* TLS roles: subjectAltName dNSName */
    const char *ip_address;       /* TLS roles: subjectAltName iPAddress */
    const rsp_public_key *subject_key;
    const rsp_certificate *issuer; /* NULL: self-signed with issuer_key (a CI) */
    const rsp_private_key *issuer_key;
    time_t not_before;
    time_t not_after; /* 0: 99991231235959Z, "no expiry" (eUICC) */
    /* Overrides for building deliberately wrong certificates in tests: */
    const char *policy;             /* OpenSSL certificatePolicies text; "" for none */
    const char *key_usage;          /* OpenSSL keyUsage text, e.g. "critical,keyCertSign" */
    const char *extended_key_usage; /* "" for none */
} rsp_pki_certificate_request;

/* Issues and signs (ECDSA-SHA256) one certificate with a random 63-bit serial number. The
 * issuer key may be any rsp_private_key, also one without an OpenSSL key (an HSM): it then
 * signs through its operations table. */
rsp_status rsp_pki_issue_certificate(const rsp_pki_certificate_request *request,
                                     rsp_certificate **out, rsp_error *err);

/* SGP.22 v2.5 section 4.6: a v2 CRL signed by the CI listing the revoked certificates. */
rsp_status rsp_pki_issue_crl(const rsp_certificate *ci, const rsp_private_key *ci_key,
                             const rsp_certificate *const *revoked, size_t revoked_count,
                             time_t this_update, time_t next_update, rsp_crl **out, rsp_error *err);

typedef struct {
    unsigned curves;        /* RSP_PKI_CURVE_* bits; 0 means both */
    unsigned euicc_count;   /* eUICCs to issue now (more later with rsp_pki_add_euiccs) */
    const char *eid_prefix; /* 2..28 digits; NULL: RSP_PKI_DEFAULT_EID_PREFIX */
    time_t now;             /* issuing time; 0: the system clock */
    bool force;             /* replace an existing PKI in dir */
} rsp_pki_options;

/* Creates the PKI in dir (created if missing). An existing PKI (eids.txt, nist/ or brainpool/)
 * is an RSP_ERR_STATE error unless options->force. */
rsp_status rsp_pki_init(const char *dir, const rsp_pki_options *options, rsp_error *err);

/* Issues count more eUICCs (the next unused EIDs from eids.txt) on every curve of dir, leaving
 * all existing files as they are; eids.txt and README.txt are rewritten. now 0: system clock. */
rsp_status rsp_pki_add_euiccs(const char *dir, unsigned count, time_t now, rsp_error *err);

/* Called once per verified certificate file (path relative to dir). */
typedef void (*rsp_pki_verify_report)(void *context, const char *relative_path, rsp_cert_role role,
                                      rsp_status status, const char *message);

/* Verifies every certificate of dir against its CI, EUM and CRL; *failures counts the files
 * that did not verify. RSP_ERR_VERIFY if any failed; now 0 skips validity periods. */
rsp_status rsp_pki_verify(const char *dir, time_t now, rsp_pki_verify_report report, void *context,
                          unsigned *failures, rsp_error *err);

#endif
