/* SM-DP+ side of the SGP.22 profile download (SGP.22 v2.5 sections 3.1.3 and 5.6, ES9+), as
 * protocol logic over the ASN.1 forms of the messages (section 6.6). No HTTP and no database:
 * the server layer decodes its JSON binding into these messages (or hands over the ASN.1
 * binding as is), finds the session by transaction ID, persists it between calls and maps
 * smdp_result to the JSON status codes with smdp_result_subject_code() /
 * smdp_result_reason_code().
 *
 * Ownership: credentials, orders and packages are borrowed for the duration of a call. A
 * session is plain data (no pointers), so it can be copied, stored with
 * smdp_download_session_encode() and restored with smdp_download_session_decode(). Responses
 * are appended to a caller-owned der_writer. */
#ifndef RSPKIT_SMDP_DOWNLOAD_H
#define RSPKIT_SMDP_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/der.h"
#include "core/error.h"
#include "crypto/certificate.h"
#include "crypto/kdf.h"
#include "crypto/key.h"

#define SMDP_TRANSACTION_ID_SIZE 16
#define SMDP_CHALLENGE_SIZE      16
#define SMDP_OID_MAX             32 /* content octets of the SM-DP+ OID */
#define SMDP_MATCHING_ID_MAX     64
#define SMDP_CC_RETRIES_DEFAULT  3

/* Outcome of an ES9+ function. Every value except SMDP_OK and SMDP_ERR_INTERNAL is a
 * "function execution status failed" of SGP.22 v2.5 section 6.5.2 with its subject and
 * reason code. */
typedef enum {
    SMDP_OK = 0,
    SMDP_ERR_MALFORMED,                 /* 1.2 / 2.1: badly formed request */
    SMDP_ERR_INVALID_SMDP_ADDRESS,      /* 8.8.1 / 3.8 */
    SMDP_ERR_SECURITY_CONFIGURATION,    /* 8.8.2 / 3.1: no proposed CI key supported */
    SMDP_ERR_UNKNOWN_TRANSACTION,       /* 8.10.1 / 3.9 */
    SMDP_ERR_EUICC_SIGNATURE_INVALID,   /* 8.1 / 6.1 */
    SMDP_ERR_EUM_CERTIFICATE_INVALID,   /* 8.1.2 / 6.1 */
    SMDP_ERR_EUM_CERTIFICATE_EXPIRED,   /* 8.1.2 / 6.3 */
    SMDP_ERR_EUICC_CERTIFICATE_INVALID, /* 8.1.3 / 6.1 */
    SMDP_ERR_EUICC_CERTIFICATE_EXPIRED, /* 8.1.3 / 6.3 */
    SMDP_ERR_CI_PK_UNKNOWN,             /* 8.11.1 / 3.9 */
    SMDP_ERR_EID_REFUSED,               /* 8.1.1 / 3.8: EID does not match the order */
    SMDP_ERR_MATCHING_ID_REFUSED,       /* 8.2.6 / 3.8 */
    SMDP_ERR_PROFILE_NOT_AVAILABLE,     /* 8.2 / 1.2: no released profile for the request */
    SMDP_ERR_CC_MISSING,                /* 8.2.7 / 2.2 */
    SMDP_ERR_CC_REFUSED,                /* 8.2.7 / 3.8 */
    SMDP_ERR_CC_RETRIES_EXCEEDED,       /* 8.2.7 / 6.4 */
    SMDP_ERR_BPP_REBINDING_REFUSED,     /* 8.2 / 3.7 */
    SMDP_ERR_DOWNLOAD_ORDER_EXPIRED,    /* 8.8.5 / 4.10 */
    SMDP_ERR_EUICC_DOWNLOAD_ERROR,      /* 8.2.10 / 4.2: the eUICC refused PrepareDownload */
    SMDP_ERR_INVALID_OID,               /* 8.8 / 3.10 */
    SMDP_ERR_INTERNAL,                  /* no status code: the server's own failure */
    SMDP_RESULT__COUNT
} smdp_result;

/* "8.8.1" etc.; NULL for SMDP_OK and SMDP_ERR_INTERNAL. */
const char *smdp_result_subject_code(smdp_result result);
/* "3.8" etc.; NULL for SMDP_OK and SMDP_ERR_INTERNAL. */
const char *smdp_result_reason_code(smdp_result result);
const char *smdp_result_name(smdp_result result);

/* The SM-DP+ certificates and keys under one CI (SGP.22 v2.5 section 4.5.2.1.0.4). */
typedef struct {
    const rsp_certificate *ci;
    const rsp_certificate *dpauth_certificate;
    const rsp_private_key *dpauth_key;
    const rsp_certificate *dppb_certificate;
    const rsp_private_key *dppb_key;
} smdp_identity;

typedef struct {
    const char *address; /* SM-DP+ address (FQDN), compared case-insensitively */
    /* One entry per CI the SM-DP+ holds certificates under (e.g. NIST and brainpool). */
    const smdp_identity *identities;
    size_t identity_count;
    /* CIs the SM-DP+ accepts eUICC chains from, and their CRLs. */
    const rsp_certificate *const *cis;
    size_t ci_count;
    const rsp_crl *const *crls;
    size_t crl_count;
    unsigned cc_retries; /* confirmation code attempts per session; 0: SMDP_CC_RETRIES_DEFAULT */
    /* HMAC key of a secret shared by every process serving this SM-DP+
     * (SMDP_TRANSACTION_KEY_SIZE bytes): when set, initiateAuthentication stores nothing; the
     * transaction ID carries its time and an authentication tag and the serverChallenge is
     * derived from it, so that smdp_session_resume() restores the session in any process.
     * NULL: random challenges. */
    const rsp_hmac_key *transaction_key;
} smdp_credentials;

#define SMDP_TRANSACTION_KEY_SIZE 32

/* One profile download order, as ES2+ prepared it (the server's inventory supplies it). */
typedef struct {
    der_view package; /* unprotected SAIP profile package, borrowed */
    /* ICCID digits of the package, when the caller knows them (the metadata of
     * authenticateClient then needs no package); NULL: read from the package header */
    const char *iccid;
    const char *service_provider_name; /* StoreMetadata serviceProviderName */
    const char *profile_name;          /* StoreMetadata profileName */
    int64_t profile_class;             /* SGP22_PROFILE_CLASS_*; operational by default */
    bool has_icon;
    int64_t icon_type; /* SGP22_ICON_TYPE_* */
    der_view icon;
    bool has_profile_policy_rules;
    uint8_t profile_policy_rules; /* PprIds bits: 0x40 ppr1, 0x20 ppr2 (first octet) */
    const char *eid;              /* required EID (ES2+ EID binding), NULL for any */
    bool cc_required;
    uint8_t cc_hash[RSP_SHA256_SIZE]; /* SHA-256 of the confirmation code */
    bool replace_session_keys;        /* bind with fresh profile protection keys (A2) */
} smdp_order;

/* Finds the order for an AuthenticateClient: matching_id is the ctxParams1 matchingId (empty
 * when absent), eid the authenticated EID. Returns SMDP_OK with *order filled (borrowed until
 * the next call), or SMDP_ERR_MATCHING_ID_REFUSED / SMDP_ERR_EID_REFUSED /
 * SMDP_ERR_PROFILE_NOT_AVAILABLE. */
typedef smdp_result (*smdp_order_lookup)(void *context, der_view matching_id, const char *eid,
                                         smdp_order *order);

typedef enum {
    SMDP_SESSION_NONE = 0,
    SMDP_SESSION_INITIATED,     /* after initiateAuthentication */
    SMDP_SESSION_AUTHENTICATED, /* after authenticateClient */
    SMDP_SESSION_BOUND,         /* after getBoundProfilePackage */
    SMDP_SESSION_INSTALLED,     /* install success notified */
    SMDP_SESSION_FAILED,        /* install failure notified, or order blocked */
    SMDP_SESSION_CANCELLED,
} smdp_session_state;

#define SMDP_HOST_ID_SIZE 16

/* What rebuilds a Bound Profile Package byte for byte from its order: the parts of
 * InitialiseSecureChannelRequest drawn at random (host ID, otPK.DP.ECKA and smdpSign), the
 * session keys and the profile protection keys when ReplaceSessionKeys was used. Secret, like
 * the session keys themselves. */
typedef struct {
    uint8_t host_id[SMDP_HOST_ID_SIZE];
    uint8_t smdp_otpk[RSP_EC_POINT_SIZE];
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    rsp_bsp_keys session_keys;
    bool has_ppk;
    rsp_bsp_keys ppk;
} smdp_binding_secrets;

/* What the SM-DP+ remembers of one RSP session (SGP.22 v2.5 section 3.1.3). */
typedef struct {
    smdp_session_state state;
    uint8_t transaction_id[SMDP_TRANSACTION_ID_SIZE];
    uint8_t euicc_challenge[SMDP_CHALLENGE_SIZE];
    uint8_t server_challenge[SMDP_CHALLENGE_SIZE];
    uint32_t identity_index; /* credentials->identities entry chosen by the CI */
    int64_t created;         /* time of initiateAuthentication (seconds) */
    char eid[RSP_EID_STRING_SIZE];
    uint8_t matching_id[SMDP_MATCHING_ID_MAX];
    uint32_t matching_id_len;
    uint32_t euicc_curve;                          /* rsp_curve of PK.EUICC.ECDSA */
    uint8_t euicc_public_point[RSP_EC_POINT_SIZE]; /* PK.EUICC.ECDSA */
    uint8_t euicc_signature1[RSP_EC_SIGNATURE_SIZE];
    uint8_t smdp_signature2[RSP_EC_SIGNATURE_SIZE];
    bool cc_required;
    uint32_t cc_attempts;
    bool has_euicc_otpk; /* otPK.EUICC.ECKA already bound (kept for rebinding) */
    uint8_t euicc_otpk[RSP_EC_POINT_SIZE];
    /* Outcome reported by handleNotification */
    bool install_success;
    int64_t bpp_command_id;
    int64_t error_reason;
    /* Set when bound: the BPP handed out is rebuilt from these for a retried request, instead
     * of being stored (SGP.22 v2.5 section 3.1.3) */
    bool has_binding;
    smdp_binding_secrets binding;
} smdp_download_session;

/* SGP.22 v2.5 section 5.6.1 ES9+.InitiateAuthentication. request: InitiateAuthenticationRequest
 * (BF39). On SMDP_OK *session is a new session and response holds the
 * InitiateAuthenticationResponse (BF39, initiateAuthenticationOk). now: seconds. */
smdp_result smdp_initiate_authentication(const smdp_credentials *credentials, der_view request,
                                         time_t now, smdp_download_session *session,
                                         der_writer *response, rsp_error *err);

/* The session initiateAuthentication started for transaction_id (credentials->transaction_key
 * set), as authenticateClient expects it, when the ID is one this SM-DP+ issued less than
 * lifetime seconds before now; else SMDP_ERR_UNKNOWN_TRANSACTION. Nothing in it is secret
 * beyond what the key derives again. */
smdp_result smdp_session_resume(const smdp_credentials *credentials, der_view transaction_id,
                                time_t now, int64_t lifetime, smdp_download_session *session,
                                rsp_error *err);

/* SGP.22 v2.5 section 5.6.3 ES9+.AuthenticateClient. request: AuthenticateClientRequest
 * (BF3B). now is the clock for certificate validity and CRLs (0 skips them). On SMDP_OK
 * response holds AuthenticateClientResponseEs9 (BF3B, authenticateClientOk). */
smdp_result smdp_authenticate_client(const smdp_credentials *credentials,
                                     smdp_download_session *session, der_view request, time_t now,
                                     smdp_order_lookup lookup, void *lookup_context,
                                     der_writer *response, rsp_error *err);

/* SGP.22 v2.5 section 5.6.2 ES9+.GetBoundProfilePackage. request:
 * GetBoundProfilePackageRequest (BF3A); order is the one authenticateClient accepted. On
 * SMDP_OK response holds GetBoundProfilePackageResponse (BF3A, getBoundProfilePackageOk).
 * A wrong confirmation code counts an attempt; after the last one the result is
 * SMDP_ERR_CC_RETRIES_EXCEEDED and the session is FAILED (the order must be blocked). */
smdp_result smdp_get_bound_profile_package(const smdp_credentials *credentials,
                                           smdp_download_session *session, der_view request,
                                           const smdp_order *order, der_writer *response,
                                           rsp_error *err);
/* SGP.22 v2.5 section 3.1.3: for a retried getBoundProfilePackage of a bound session, the same
 * GetBoundProfilePackageResponse again, rebuilt from the session's binding secrets and order
 * (the same metadata and package). */
smdp_result smdp_bound_profile_package_again(const smdp_credentials *credentials,
                                             const smdp_download_session *session,
                                             const smdp_order *order, der_writer *response,
                                             rsp_error *err);

/* SGP.22 v2.5 section 5.6.4 ES9+.HandleNotification for a ProfileInstallationResult (BF37):
 * verifies euiccSignPIR and the transaction, records success or the error in the session. */
smdp_result smdp_handle_install_result(const smdp_credentials *credentials,
                                       smdp_download_session *session, der_view notification,
                                       rsp_error *err);

/* *reason of smdp_cancel_session when the eUICC answered CancelSession with an error. */
#define SMDP_CANCEL_REASON_EUICC_ERROR (-1)

/* SGP.22 v2.5 section 5.6.5 ES9+.CancelSession. request: CancelSessionRequestEs9 (BF41).
 * With the eUICC's signed cancellation the session is CANCELLED on SMDP_OK (also when it
 * already was: a retry) and *reason receives the eUICC's cancel reason. With the eUICC's
 * CancelSessionResponseError the result is SMDP_OK too, *reason is
 * SMDP_CANCEL_REASON_EUICC_ERROR, and only a session without a BPP delivered is CANCELLED (a
 * BOUND one keeps waiting for the signed installation result). */
smdp_result smdp_cancel_session(const smdp_credentials *credentials, smdp_download_session *session,
                                der_view request, int64_t *reason, rsp_error *err);

/* The transaction ID of any ES9+ request (BF3B, BF3A, BF41) or of a ProfileInstallationResult
 * (BF37), for finding the session. *len receives its size (1..16). */
rsp_status smdp_request_transaction_id(der_view request, uint8_t out[SMDP_TRANSACTION_ID_SIZE],
                                       size_t *len, rsp_error *err);

/* The SM-DP+ OID (content octets of the subjectAltName registeredID of its certificates,
 * SGP.22 v2.5 section 4.5.2.1.0.4). */
rsp_status smdp_certificate_oid(const rsp_certificate *certificate, uint8_t out[SMDP_OID_MAX],
                                size_t *len, rsp_error *err);

/* Persistence: DER encoding of a session (SEQUENCE of context-tagged fields) and back. */
rsp_status smdp_download_session_encode(const smdp_download_session *session, der_writer *out);
rsp_status smdp_download_session_decode(der_view input, smdp_download_session *session,
                                        rsp_error *err);

#endif
