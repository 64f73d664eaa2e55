/* ECKA-DH key agreement (BSI TR-03111 section 4.3.1) for the BPP session keys: both sides
 * make a one-time key pair (otSK/otPK, SGP.22 v2.5 section 3.1.3), exchange the public
 * points as 04||X||Y (the value of the otPK.DP / otPK.EUICC TLVs, tag 5F49) and compute the
 * 32-byte shared secret ZAB, the x-coordinate of otSK * otPK(peer). */
#ifndef RSPKIT_CRYPTO_ECKA_H
#define RSPKIT_CRYPTO_ECKA_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"

#define RSP_ECKA_SECRET_SIZE RSP_EC_FIELD_SIZE

/* New one-time key pair: *otsk is the caller's; otpk receives the public point value. */
rsp_status rsp_ecka_one_time_key(rsp_curve curve, rsp_private_key **otsk,
                                 uint8_t otpk[RSP_EC_POINT_SIZE], rsp_error *err);

/* ZAB from our secret key and the peer's public point (65 bytes, validated on the key's
 * curve). The key must be a software key (have an EVP_PKEY). */
rsp_status rsp_ecka_shared_secret(const rsp_private_key *secret_key, const uint8_t *peer_point,
                                  size_t peer_point_len, uint8_t secret[RSP_ECKA_SECRET_SIZE],
                                  rsp_error *err);

/* Same with an already imported peer key (must be on the same curve). */
rsp_status rsp_ecka_shared_secret_key(const rsp_private_key *secret_key, const rsp_public_key *peer,
                                      uint8_t secret[RSP_ECKA_SECRET_SIZE], rsp_error *err);

#endif
