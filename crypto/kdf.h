/* Key derivation for the BPP protection protocol (BSP, formerly SCP03t).
 *
 * SGP.22 v3.0 section 2.6.4.2 (ES8+ session keys): the X9.63 KDF with SHA-256 (ANSI X9.63
 * section 5.6.3, as profiled by BSI TR-03111 section 4.3.3) over the ECKA shared secret and
 * SharedInfo = keyType || keyLength || L(hostId) || hostId || L(EID) || EID, with the lengths
 * in BER-TLV length form. The 48 output bytes are, in order, the initial MAC chaining value,
 * S-ENC and S-MAC. ES8+.ReplaceSessionKeys (SGP.22 section 5.5.4) carries PPK-ENC, PPK-MAC
 * and a new initial MAC chaining value instead of deriving them; rsp_bsp_keys holds either. */
#ifndef RSPKIT_CRYPTO_KDF_H
#define RSPKIT_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define RSP_BSP_KEY_SIZE          16
#define RSP_BSP_KEY_TYPE_AES      0x88 /* keyType for AES in SharedInfo (GlobalPlatform key type) */
#define RSP_BSP_KEY_LENGTH_AES128 0x10
#define RSP_KDF_LENGTH_MAX        255 /* longest hostId / EID this SharedInfo encoder accepts */

typedef struct {
    uint8_t initial_mcv[RSP_BSP_KEY_SIZE];
    uint8_t s_enc[RSP_BSP_KEY_SIZE];
    uint8_t s_mac[RSP_BSP_KEY_SIZE];
} rsp_bsp_keys;

#define RSP_HMAC_SHA256_SIZE 32

/* An HMAC-SHA256 key (RFC 2104) set up once: each MAC then copies the keyed state instead of
 * fetching the algorithm and hashing the key again. Thread-safe for concurrent MACs. */
typedef struct rsp_hmac_key rsp_hmac_key;
rsp_status rsp_hmac_key_new(const uint8_t *key, size_t key_len, rsp_hmac_key **out, rsp_error *err);
void rsp_hmac_key_free(rsp_hmac_key *key);
rsp_status rsp_hmac_sha256(const rsp_hmac_key *key, const uint8_t *data, size_t len,
                           uint8_t out[RSP_HMAC_SHA256_SIZE]);

/* ANSI X9.63 KDF with SHA-256: out_len bytes from shared secret z and shared_info. */
rsp_status rsp_x963_kdf_sha256(const uint8_t *z, size_t z_len, const uint8_t *shared_info,
                               size_t shared_info_len, uint8_t *out, size_t out_len,
                               rsp_error *err);

/* SGP.22 v3.0 section 2.6.4.2: SharedInfo into out[cap]; *len receives its size. */
rsp_status rsp_bsp_shared_info(uint8_t key_type, uint8_t key_length, const uint8_t *host_id,
                               size_t host_id_len, const uint8_t *eid, size_t eid_len, uint8_t *out,
                               size_t cap, size_t *len, rsp_error *err);

/* SGP.22 v3.0 section 2.6.4.2: session keys from the ECKA shared secret (32 bytes). Only
 * AES-128 (key_type 0x88, key_length 16) is defined for BSP. */
rsp_status rsp_bsp_derive_keys(const uint8_t *shared_secret, size_t shared_secret_len,
                               uint8_t key_type, uint8_t key_length, const uint8_t *host_id,
                               size_t host_id_len, const uint8_t *eid, size_t eid_len,
                               rsp_bsp_keys *keys, rsp_error *err);

/* SGP.22 section 5.5.4 ReplaceSessionKeysRequest: ppkEnc, ppkCmac, initialMacChainingValue
 * (each 16 bytes) as the key set for the sequenceOf86 that follows. */
rsp_status rsp_bsp_keys_from_replace_session_keys(const uint8_t *ppk_enc, size_t ppk_enc_len,
                                                  const uint8_t *ppk_mac, size_t ppk_mac_len,
                                                  const uint8_t *initial_mcv,
                                                  size_t initial_mcv_len, rsp_bsp_keys *keys,
                                                  rsp_error *err);

/* SGP.22 section 5.5.4: the same from the decrypted ReplaceSessionKeysRequest, BF26 {
 * 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac }, each 16 bytes, parsed strictly. */
rsp_status rsp_bsp_keys_from_replace_session_keys_request(const uint8_t *der, size_t len,
                                                          rsp_bsp_keys *keys, rsp_error *err);

/* Overwrites key material. */
void rsp_bsp_keys_clear(rsp_bsp_keys *keys);

#endif
