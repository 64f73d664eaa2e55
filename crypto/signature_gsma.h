/* SGP.32 v1.2 signatures shared by the eIM and the eUICC, over caller-supplied exact bytes.
 *
 * Both signature inputs are a DER SEQUENCE followed by the associationToken data object:
 *  - eimSignature (EuiccPackageRequest, SGP.32 v1.2 section 2.11.1.1): signed by the eIM
 *    over euiccPackageSigned || associationToken;
 *  - euiccSignEPR / euiccSignEPE (EuiccPackageResult, section 2.11.2.1): signed by the eUICC
 *    (SK.EUICC.ECDSA) over euiccPackageResultDataSigned (or euiccPackageErrorDataSigned)
 *    || associationToken. SGP.32 v1.0 used eimSignature in place of the token; v1.2 does not.
 * associationToken is the [4] INTEGER data object, tag 84, DER integer. When no token is
 * configured for the eIM the value zero is used, i.e. the bytes 84 01 00 are appended
 * (never nothing). Signatures are ECDSA-SHA256 in the 64-byte r||s form (tag 5F37 value).
 *
 * The signed data must be exactly one DER TLV with tag 30: the untagged SEQUENCE as it sits
 * inside BF51 (for results, inside the A0 / A1 CHOICE wrapper), never the wrapper. */
#ifndef RSPKIT_CRYPTO_SIGNATURE_GSMA_H
#define RSPKIT_CRYPTO_SIGNATURE_GSMA_H

#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "crypto/key.h"

#define RSP_ASSOCIATION_TOKEN_TAG     0x84
#define RSP_ASSOCIATION_TOKEN_TLV_MAX 10     /* 84 08 + 8 integer bytes */
#define RSP_TAG_EUICC_PACKAGE         0xBF51 /* EuiccPackageRequest and EuiccPackageResult */
#define RSP_TAG_SIGNATURE             0x5F37

/* associationToken TLV for *token, or for zero when token is NULL (not configured). */
rsp_status rsp_association_token_tlv(const int64_t *token,
                                     uint8_t out[RSP_ASSOCIATION_TOKEN_TLV_MAX], size_t *len);

/* SGP.32 v1.2 section 2.11.1.1: eimSignature over euiccPackageSigned || associationToken. */
rsp_status rsp_eim_package_sign(const rsp_private_key *eim_key, der_view euicc_package_signed,
                                const int64_t *association_token,
                                uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err);
rsp_status rsp_eim_package_verify(const rsp_public_key *eim_key, der_view euicc_package_signed,
                                  const int64_t *association_token, der_view signature,
                                  rsp_error *err);

/* SGP.32 v1.2 section 2.11.2.1: euiccSignEPR over euiccPackageResultDataSigned, or
 * euiccSignEPE over euiccPackageErrorDataSigned, || associationToken. */
rsp_status rsp_euicc_package_result_sign(const rsp_private_key *euicc_key, der_view signed_data,
                                         const int64_t *association_token,
                                         uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err);
rsp_status rsp_euicc_package_result_verify(const rsp_public_key *euicc_key, der_view signed_data,
                                           const int64_t *association_token, der_view signature,
                                           rsp_error *err);

/* Whole messages. EuiccPackageRequest ::= BF51 { euiccPackageSigned 30.., eimSignature 5F37 }:
 * build appends it to out; open checks the eimSignature and returns a view of
 * euiccPackageSigned inside request. */
rsp_status rsp_eim_package_request_build(const rsp_private_key *eim_key,
                                         der_view euicc_package_signed,
                                         const int64_t *association_token, der_writer *out,
                                         rsp_error *err);
rsp_status rsp_eim_package_request_open(const rsp_public_key *eim_key, der_view request,
                                        const int64_t *association_token,
                                        der_view *euicc_package_signed, rsp_error *err);

/* EuiccPackageResult ::= BF51 CHOICE { A0 euiccPackageResultSigned, A1 euiccPackageErrorSigned,
 * A2 euiccPackageErrorUnsigned }. alternative is 0xA0 or 0xA1 for build. open verifies A0 or
 * A1 and returns the alternative tag and a view of the signed data; A2 (unsigned) is
 * returned with *alternative = 0xA2 and *signed_data = its content, nothing verified. */
rsp_status rsp_euicc_package_result_build(const rsp_private_key *euicc_key, uint32_t alternative,
                                          der_view signed_data, const int64_t *association_token,
                                          der_writer *out, rsp_error *err);
rsp_status rsp_euicc_package_result_open(const rsp_public_key *euicc_key, der_view result,
                                         const int64_t *association_token, uint32_t *alternative,
                                         der_view *signed_data, rsp_error *err);

#endif
