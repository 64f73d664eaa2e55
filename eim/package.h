/* The eIM's side of SGP.32 v1.2 eUICC Packages, without transport or storage: build and sign
 * EuiccPackageRequest (BF51), verify the EuiccPackageResult (BF51) the eUICC answers, and
 * build the EimAcknowledgements (BF53), IpaEuiccDataRequest (BF52) and
 * ProfileDownloadTriggerRequest (BF54) the eIM hands to the IPA.
 *
 * Signatures (crypto/signature_gsma.h): the eIM signs DER(EuiccPackageSigned) || the
 * associationToken TLV; the eUICC signs its result data || the same token TLV, with the key
 * of its CERT.EUICC.ECDSA. The token is the one the eUICC returned when this eIM was added
 * (AddInitialEim or the addEim eCO); NULL means "none configured" and signs with token 0.
 *
 * Ownership: builders append to the caller's writer. Decoded results borrow from the result
 * bytes and from the caller's arena. */
#ifndef RSPKIT_EIM_PACKAGE_H
#define RSPKIT_EIM_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "core/schema.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"

#define EIM_EID_SIZE           16
#define EIM_TRANSACTION_ID_MAX 16
/* Arena for decoding one result with eim_package_result_verify: enough for a few hundred
 * operation results and a listProfileInfo of some dozens of profiles. */
#define EIM_RESULT_ARENA_SIZE 65536

/* The fields every eUICC Package carries besides its operations (SGP.32 v1.2 section
 * 2.11.1.1 EuiccPackageSigned). */
typedef struct {
    const char *eim_id; /* UTF-8, 1..128 bytes */
    uint8_t eid[EIM_EID_SIZE];
    int64_t counter_value; /* strictly above the last one this eUICC saw */
    uint8_t transaction_id[EIM_TRANSACTION_ID_MAX];
    size_t transaction_id_len; /* 0: no eimTransactionId */
    bool has_association_token;
    int64_t association_token;
} eim_package_header;

/* SGP.32 v1.2 section 2.11.1.1: EuiccPackageRequest with package (a psmoList or an ecoList)
 * signed with eim_key, appended to out. */
rsp_status eim_package_build(const rsp_private_key *eim_key, const eim_package_header *header,
                             const sgp32_euicc_package *package, der_writer *out, rsp_error *err);
/* Same for count PSMOs / eCOs given as an array. */
rsp_status eim_package_build_psmos(const rsp_private_key *eim_key, const eim_package_header *header,
                                   const sgp32_psmo *psmos, size_t count, der_writer *out,
                                   rsp_error *err);
rsp_status eim_package_build_ecos(const rsp_private_key *eim_key, const eim_package_header *header,
                                  const sgp32_eco *ecos, size_t count, der_writer *out,
                                  rsp_error *err);
/* Same for an EuiccPackage already encoded (the psmoList A0 or ecoList A1 TLV, e.g. as an order
 * stored it); it is decoded first, so only a well-formed package is ever signed. */
rsp_status eim_package_build_encoded(const rsp_private_key *eim_key,
                                     const eim_package_header *header, der_view euicc_package,
                                     der_writer *out, rsp_error *err);

/* Which EuiccPackageResult alternative arrived (SGP.32 v1.2 section 2.11.2.1). */
typedef enum {
    EIM_RESULT_SIGNED = 1,         /* euiccPackageResultSigned: per-operation results */
    EIM_RESULT_ERROR_SIGNED = 2,   /* euiccPackageErrorSigned: nothing executed */
    EIM_RESULT_ERROR_UNSIGNED = 3, /* euiccPackageErrorUnsigned: nothing executed, unverified */
} eim_result_kind;

/* What the eIM expects the result to match: the package it sent and the eUICC it sent it to. */
typedef struct {
    /* CERT.EUICC.ECDSA of the target eUICC (already chain-checked by the caller, e.g. against
     * the CI during a download or a data request); its serialNumber must be header->eid. */
    const rsp_certificate *euicc_certificate;
    const eim_package_header *header;
    /* Used when euicc_certificate is NULL: the public key of that certificate as the caller
     * stored it after checking its chain and its EID (no certificate parsing per result). */
    const rsp_public_key *euicc_key;
} eim_result_expectation;

typedef struct {
    eim_result_kind kind;
    sgp32_euicc_package_result result; /* decoded, borrowing from the input and arena */
    /* EIM_RESULT_SIGNED: */
    int64_t seq_number;
    const sgp32_euicc_result_data *operations; /* in package order */
    size_t operation_count;
    /* EIM_RESULT_ERROR_SIGNED: EuiccPackageErrorCode (invalidEid, replayError, ...) */
    int64_t error_code;
    /* What the result names, to find the package it answers (views into the input): */
    der_view eim_id;
    int64_t counter_value; /* signed alternatives only */
    bool has_transaction_id;
    der_view transaction_id;
} eim_package_outcome;

/* Decodes and checks a result: for the signed alternatives the eUICC signature (over the
 * signed data || associationToken), the EID of the certificate, eimId, counterValue and
 * eimTransactionId; for the unsigned error eimId and eimTransactionId (nothing else can be
 * checked; the caller must not trust it beyond "this package was not executed").
 * RSP_ERR_VERIFY when a check fails (message names it), decoding errors otherwise. */
rsp_status eim_package_result_verify(const eim_result_expectation *expect, der_view result,
                                     schema_arena *arena, eim_package_outcome *out, rsp_error *err);

/* The two halves of eim_package_result_verify, for an eIM that must read the result before it
 * knows which package it answers (it finds the package by counterValue or eimTransactionId).
 * open: decoded is result already decoded (sgp32_euicc_package_result_type) and raw its exact
 * bytes; checks the eUICC signature of the signed alternatives with euicc_key over the signed
 * data || associationToken (association_token NULL: none configured) and fills out (out->result
 * is a copy of *decoded). An unsigned error is not verified: out->kind says so.
 * match: eimId, counterValue (signed alternatives) and eimTransactionId against the package.
 * Both return RSP_ERR_VERIFY with the failed check named. */
rsp_status eim_package_result_open(const rsp_public_key *euicc_key,
                                   const int64_t *association_token, der_view raw,
                                   const sgp32_euicc_package_result *decoded,
                                   eim_package_outcome *out, rsp_error *err);
rsp_status eim_package_result_match(const eim_package_header *header,
                                    const eim_package_outcome *outcome, rsp_error *err);

/* An IpaEuiccDataRequest (BF52) or ProfileDownloadTriggerRequest (BF54) already encoded (as an
 * order stored it), re-encoded into out with eimTransactionId set to transaction_id. */
rsp_status eim_request_with_transaction(der_view request, der_view transaction_id, der_writer *out,
                                        rsp_error *err);

/* SGP.32 v1.2 section 2.11.1.4: EimAcknowledgements (BF53) for count sequence numbers (of
 * package results and notifications the eIM has received), appended to out. */
rsp_status eim_acknowledgements_build(const int64_t *seq_numbers, size_t count, der_writer *out);

/* SGP.32 v1.2 section 2.11.1.2: IpaEuiccDataRequest (BF52). tag_list: the tags of the
 * IpaEuiccData objects wanted, concatenated (A0 notifications, A2 package results, BF22
 * EUICCInfo2, A6 eUICC certificate, ...). Views {NULL,0} are absent fields. */
typedef struct {
    der_view tag_list;
    der_view euicc_ci_pk_identifier; /* {NULL,0}: absent */
    bool has_notification_seq_number;
    int64_t notification_seq_number; /* searchCriteriaNotification.seqNumber */
    bool has_package_result_seq_number;
    int64_t package_result_seq_number; /* searchCriteriaEuiccPackageResult.seqNumber */
    der_view transaction_id;           /* {NULL,0}: absent */
} eim_ipa_euicc_data_request;

rsp_status eim_ipa_euicc_data_request_build(const eim_ipa_euicc_data_request *request,
                                            der_writer *out);

/* SGP.32 v1.2 section 2.11.1.3: ProfileDownloadTriggerRequest (BF54) with an activation code,
 * or (activation_code NULL) contactDefaultSmdp. transaction_id {NULL,0}: absent. */
rsp_status eim_profile_download_trigger_build(const char *activation_code, der_view transaction_id,
                                              der_writer *out);

#endif
