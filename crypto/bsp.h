/* BPP protection protocol (BSP, called SCP03t up to SGP.22 v2.x): the segment protection of
 * a Bound Profile Package (SGP.22 v3.0 section 2.6.4 and GlobalPlatform Amendment F SCP03t).
 *
 * Each segment is a TLV tag || length || data || C-MAC of at most 1020 bytes in total
 * (SGP.22 v3.0 section 2.5.3), where
 *  - encrypted segments (tags 86 and 87) carry AES-128-CBC(S-ENC, IV, data || 80 00..00) with
 *    IV = AES-128-ECB(S-ENC, block counter as a 16-byte big-endian number);
 *  - MAC-only segments (tag 88, StoreMetadata) carry the data in clear;
 *  - C-MAC = first 8 bytes of AES-CMAC(S-MAC, MCV || tag || length || data), and the full
 *    16-byte CMAC becomes the next MAC chaining value (MCV);
 *  - the block counter starts at 1 and counts every segment, MAC-only ones included.
 * ReplaceSessionKeys swaps in PPK-ENC / PPK-MAC / a new MCV and restarts the counter at 1.
 *
 * One rsp_bsp_session per direction: a sender protects, a receiver checks. The receiver
 * refuses wrong MACs (which also catches reordered, dropped or replayed segments through the
 * MAC chain), bad padding, misaligned or oversized segments, and after the first failure the
 * session refuses everything (RSP_ERR_STATE): the chain cannot be resynchronised. A sender
 * using a wrong counter produces a correctly MACed segment that decrypts to noise; the strict
 * padding check rejects that except with probability about 1/255 per segment, and the
 * content decoder behind it catches the rest. */
#ifndef RSPKIT_CRYPTO_BSP_H
#define RSPKIT_CRYPTO_BSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "crypto/kdf.h"

#define RSP_BSP_SEGMENT_MAX 1020 /* whole TLV including tag, length and C-MAC */
#define RSP_BSP_MAC_SIZE    8
#define RSP_BSP_BLOCK_SIZE  16
/* 1020 - tag (1) - length (3: 82 xx xx) - C-MAC (8) = 1008 bytes of data. Encrypted data
 * is a multiple of 16 with at least one padding byte: 1008 = 63 * 16, so 1007 plaintext. */
#define RSP_BSP_DATA_MAX                1008
#define RSP_BSP_PLAINTEXT_MAX_ENCRYPTED (RSP_BSP_DATA_MAX - 1)
#define RSP_BSP_PLAINTEXT_MAX_MAC_ONLY  RSP_BSP_DATA_MAX

#define RSP_BSP_TAG_PROFILE_ELEMENTS  0x86 /* sequenceOf86 */
#define RSP_BSP_TAG_ENCRYPTED_COMMAND 0x87 /* ConfigureISDP, ReplaceSessionKeys */
#define RSP_BSP_TAG_STORE_METADATA    0x88 /* sequenceOf88, MAC only */

typedef enum {
    RSP_BSP_SENDER,   /* SM-DP+: protects */
    RSP_BSP_RECEIVER, /* eUICC: verifies and decrypts */
} rsp_bsp_role;

/* Contexts are created once and re-keyed, never per segment. */
typedef struct {
    rsp_bsp_role role;
    struct evp_cipher_ctx_st *icv;   /* AES-128-ECB, encrypt, S-ENC */
    struct evp_cipher_ctx_st *cbc;   /* AES-128-CBC, S-ENC, direction of the role */
    struct evp_mac_ctx_st *cmac;     /* AES-128-CMAC, S-MAC */
    uint8_t mcv[RSP_BSP_BLOCK_SIZE]; /* MAC chaining value for the next segment */
    uint64_t counter;                /* block counter of the next segment */
    bool broken;                     /* a check failed: refuse further segments */
} rsp_bsp_session;

rsp_status rsp_bsp_session_init(rsp_bsp_session *session, rsp_bsp_role role,
                                const rsp_bsp_keys *keys, rsp_error *err);
/* ReplaceSessionKeys: new keys and MCV, counter back to 1. */
rsp_status rsp_bsp_session_rekey(rsp_bsp_session *session, const rsp_bsp_keys *keys,
                                 rsp_error *err);
void rsp_bsp_session_cleanup(rsp_bsp_session *session);

/* Sender, one segment into out[cap] (RSP_BSP_SEGMENT_MAX is always enough). */
rsp_status rsp_bsp_encrypt_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *plaintext,
                                   size_t len, uint8_t *out, size_t cap, size_t *out_len,
                                   rsp_error *err);
rsp_status rsp_bsp_mac_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *data,
                               size_t len, uint8_t *out, size_t cap, size_t *out_len,
                               rsp_error *err);

/* Receiver, one whole segment TLV. Plaintext goes to out[cap] (RSP_BSP_DATA_MAX is always
 * enough); for MAC-only segments *data points into segment. */
rsp_status rsp_bsp_decrypt_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *segment,
                                   size_t len, uint8_t *out, size_t cap, size_t *out_len,
                                   rsp_error *err);
rsp_status rsp_bsp_verify_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *segment,
                                  size_t len, der_view *data, rsp_error *err);

/* Whole payloads: split into maximal segments (a last short one), appended to out as
 * consecutive TLVs (the content of sequenceOf86 / sequenceOf88 / firstSequenceOf87). */
rsp_status rsp_bsp_encrypt_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *plaintext,
                               size_t len, der_writer *out, rsp_error *err);
rsp_status rsp_bsp_mac_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *data, size_t len,
                           der_writer *out, rsp_error *err);
/* Consecutive segment TLVs (segments, len) back to the joined plaintext, appended to out. */
rsp_status rsp_bsp_decrypt_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *segments,
                               size_t len, der_writer *out, rsp_error *err);
rsp_status rsp_bsp_verify_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *segments,
                              size_t len, der_writer *out, rsp_error *err);

/* Number of segments rsp_bsp_*_all produces for len bytes. */
size_t rsp_bsp_segment_count(size_t len, bool encrypted);

#endif
