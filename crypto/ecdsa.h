/* ECDSA with SHA-256 on NIST P-256 and brainpoolP256r1 (SGP.22 v2.5 section 2.6.5).
 *
 * GSMA messages carry signatures in the plain form of BSI TR-03111 section 5.2.1: r || s,
 * each 32 bytes big endian. X.509 and OpenSSL use the DER ECDSA-Sig-Value of RFC 3279
 * section 2.2.3 / X9.62. Both conversions are strict: malformed or non-minimal DER, r or s
 * equal to zero or not below the curve order n, and wrong lengths are rejected. */
#ifndef RSPKIT_CRYPTO_ECDSA_H
#define RSPKIT_CRYPTO_ECDSA_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"

/* SEQUENCE { INTEGER r, INTEGER s } with 33-byte integers: 2 + 2 * (2 + 33). */
#define RSP_ECDSA_DER_MAX 72

/* r||s (64 bytes) -> DER ECDSA-Sig-Value into der[cap]; *der_len receives its size. */
rsp_status rsp_ecdsa_signature_to_der(rsp_curve curve, const uint8_t *plain, size_t plain_len,
                                      uint8_t *der, size_t cap, size_t *der_len, rsp_error *err);
/* DER ECDSA-Sig-Value -> r||s (64 bytes). */
rsp_status rsp_ecdsa_signature_from_der(rsp_curve curve, const uint8_t *der, size_t der_len,
                                        uint8_t plain[RSP_EC_SIGNATURE_SIZE], rsp_error *err);

/* ECDSA-SHA256 over message; signature is r||s. */
rsp_status rsp_ecdsa_sign(const rsp_private_key *key, const uint8_t *message, size_t len,
                          uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err);
/* RSP_OK when the r||s signature is valid; RSP_ERR_VERIFY when not (including a signature
 * of the wrong length or with r/s out of range). */
rsp_status rsp_ecdsa_verify(const rsp_public_key *key, const uint8_t *message, size_t len,
                            const uint8_t *signature, size_t signature_len, rsp_error *err);
rsp_status rsp_ecdsa_verify_digest(const rsp_public_key *key, const uint8_t digest[RSP_SHA256_SIZE],
                                   const uint8_t *signature, size_t signature_len, rsp_error *err);

/* SHA-256 of the concatenation of count byte ranges (signed data is often split). */
rsp_status rsp_sha256(const uint8_t *const *parts, const size_t *lens, size_t count,
                      uint8_t digest[RSP_SHA256_SIZE]);

#endif
