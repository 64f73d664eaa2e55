#include "crypto/bsp.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define CMAC_SIZE  16
#define HEADER_MAX 4 /* tag + 82 xx xx */

static rsp_status fail(rsp_bsp_session *session, rsp_error *err, rsp_status code,
                       const char *message)
{
    /* Any failure after parsing started leaves MCV and counter out of step with the peer. */
    session->broken = true;
    return rsp_error_set(err, code, 0, 0, "BSP: %s", message);
}

static rsp_status set_keys(rsp_bsp_session *session, const rsp_bsp_keys *keys)
{
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
    params[1] = OSSL_PARAM_construct_end();
    int encrypt = session->role == RSP_BSP_SENDER ? 1 : 0;
    if (EVP_CipherInit_ex(session->icv, NULL, NULL, keys->s_enc, NULL, 1) != 1 ||
        EVP_CipherInit_ex(session->cbc, NULL, NULL, keys->s_enc, NULL, encrypt) != 1 ||
        EVP_MAC_init(session->cmac, keys->s_mac, RSP_BSP_KEY_SIZE, params) != 1)
        return RSP_ERR_CRYPTO;
    memcpy(session->mcv, keys->initial_mcv, RSP_BSP_BLOCK_SIZE);
    session->counter = 1;
    session->broken = false;
    return RSP_OK;
}

/* SGP.22 v3.0 section 2.6.4 */
rsp_status rsp_bsp_session_init(rsp_bsp_session *session, rsp_bsp_role role,
                                const rsp_bsp_keys *keys, rsp_error *err)
{
    if (session == NULL || keys == NULL || (role != RSP_BSP_SENDER && role != RSP_BSP_RECEIVER))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    memset(session, 0, sizeof *session);
    session->role = role;
    rsp_status status = RSP_ERR_CRYPTO;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
    session->icv = EVP_CIPHER_CTX_new();
    session->cbc = EVP_CIPHER_CTX_new();
    session->cmac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    int encrypt = role == RSP_BSP_SENDER ? 1 : 0;
    if (session->icv == NULL || session->cbc == NULL || session->cmac == NULL ||
        EVP_CipherInit_ex(session->icv, EVP_aes_128_ecb(), NULL, NULL, NULL, 1) != 1 ||
        EVP_CipherInit_ex(session->cbc, EVP_aes_128_cbc(), NULL, NULL, NULL, encrypt) != 1 ||
        EVP_CIPHER_CTX_set_padding(session->icv, 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(session->cbc, 0) != 1)
        goto done;
    status = set_keys(session, keys);
done:
    if (status != RSP_OK) {
        rsp_bsp_session_cleanup(session);
        rsp_error_set(err, status, 0, 0, "BSP: cannot set up AES contexts");
    }
    return status;
}

/* SGP.22 section 5.5.4 ReplaceSessionKeys */
rsp_status rsp_bsp_session_rekey(rsp_bsp_session *session, const rsp_bsp_keys *keys, rsp_error *err)
{
    if (session == NULL || keys == NULL || session->cbc == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    rsp_status status = set_keys(session, keys);
    if (status != RSP_OK) {
        session->broken = true;
        return rsp_error_set(err, status, 0, 0, "BSP: cannot load new keys");
    }
    return RSP_OK;
}

void rsp_bsp_session_cleanup(rsp_bsp_session *session)
{
    if (session == NULL)
        return;
    EVP_CIPHER_CTX_free(session->icv);
    EVP_CIPHER_CTX_free(session->cbc);
    EVP_MAC_CTX_free(session->cmac);
    OPENSSL_cleanse(session, sizeof *session);
}

/* IV for the current segment: the counter as a 16-byte big-endian block, encrypted with
 * S-ENC (SGP.22 v3.0 section 2.6.4.4). */
static rsp_status current_icv(rsp_bsp_session *session, uint8_t icv[RSP_BSP_BLOCK_SIZE])
{
    uint8_t block[RSP_BSP_BLOCK_SIZE] = {0};
    uint64_t counter = session->counter;
    for (size_t i = 0; i < 8; i++)
        block[RSP_BSP_BLOCK_SIZE - 1 - i] = (uint8_t)(counter >> (8 * i));
    int n = 0;
    if (EVP_EncryptUpdate(session->icv, icv, &n, block, RSP_BSP_BLOCK_SIZE) != 1 ||
        n != RSP_BSP_BLOCK_SIZE)
        return RSP_ERR_CRYPTO;
    return RSP_OK;
}

static rsp_status set_iv(rsp_bsp_session *session)
{
    uint8_t icv[RSP_BSP_BLOCK_SIZE];
    rsp_status status = current_icv(session, icv);
    if (status == RSP_OK && EVP_CipherInit_ex(session->cbc, NULL, NULL, NULL, icv,
                                              session->role == RSP_BSP_SENDER) != 1)
        status = RSP_ERR_CRYPTO;
    return status;
}

/* Tag and BER length of a segment whose value (data + C-MAC) is value_len bytes. */
static size_t put_header(uint8_t *out, uint8_t tag, size_t value_len)
{
    out[0] = tag;
    if (value_len < 0x80) {
        out[1] = (uint8_t)value_len;
        return 2;
    }
    if (value_len < 0x100) {
        out[1] = 0x81;
        out[2] = (uint8_t)value_len;
        return 3;
    }
    out[1] = 0x82;
    out[2] = (uint8_t)(value_len >> 8);
    out[3] = (uint8_t)value_len;
    return 4;
}

/* Full CMAC over MCV || header_and_data; the CMAC becomes the candidate next MCV. */
static rsp_status compute_cmac(rsp_bsp_session *session, const uint8_t *header_and_data, size_t len,
                               uint8_t cmac[CMAC_SIZE])
{
    size_t out_len = 0;
    if (EVP_MAC_init(session->cmac, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(session->cmac, session->mcv, RSP_BSP_BLOCK_SIZE) != 1 ||
        EVP_MAC_update(session->cmac, header_and_data, len) != 1 ||
        EVP_MAC_final(session->cmac, cmac, &out_len, CMAC_SIZE) != 1 || out_len != CMAC_SIZE)
        return RSP_ERR_CRYPTO;
    return RSP_OK;
}

static rsp_status check_sender(rsp_bsp_session *session, const void *data, size_t len,
                               const uint8_t *out, size_t *out_len, rsp_error *err)
{
    if (session == NULL || session->cbc == NULL || (data == NULL && len > 0) || out == NULL ||
        out_len == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    if (session->role != RSP_BSP_SENDER || session->broken)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "BSP: session cannot send");
    if (session->counter == UINT64_MAX)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "BSP: block counter exhausted");
    return RSP_OK;
}

/* Appends the C-MAC to the segment written so far and advances the chain. */
static rsp_status seal(rsp_bsp_session *session, uint8_t *out, size_t len, size_t *out_len)
{
    uint8_t cmac[CMAC_SIZE];
    if (compute_cmac(session, out, len, cmac) != RSP_OK)
        return RSP_ERR_CRYPTO;
    memcpy(out + len, cmac, RSP_BSP_MAC_SIZE);
    memcpy(session->mcv, cmac, CMAC_SIZE);
    session->counter++;
    *out_len = len + RSP_BSP_MAC_SIZE;
    return RSP_OK;
}

/* SGP.22 v3.0 section 2.6.4.4 (encryption) and 2.6.4.5 (C-MAC) */
rsp_status rsp_bsp_encrypt_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *plaintext,
                                   size_t len, uint8_t *out, size_t cap, size_t *out_len,
                                   rsp_error *err)
{
    rsp_status status = check_sender(session, plaintext, len, out, out_len, err);
    if (status != RSP_OK)
        return status;
    if (len > RSP_BSP_PLAINTEXT_MAX_ENCRYPTED)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "BSP: %zu plaintext bytes exceed one segment", len);
    size_t full = len - len % RSP_BSP_BLOCK_SIZE;
    size_t cipher_len = full + RSP_BSP_BLOCK_SIZE;
    size_t header_len = put_header(out, tag, cipher_len + RSP_BSP_MAC_SIZE);
    if (cap < header_len + cipher_len + RSP_BSP_MAC_SIZE)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "BSP: segment buffer");
    /* Full blocks go straight from the caller's buffer; only the last block is padded. */
    uint8_t last[RSP_BSP_BLOCK_SIZE] = {0};
    if (len > full)
        memcpy(last, plaintext + full, len - full);
    last[len - full] = 0x80;
    int n1 = 0;
    int n2 = 0;
    if (set_iv(session) != RSP_OK ||
        (full > 0 &&
         EVP_EncryptUpdate(session->cbc, out + header_len, &n1, plaintext, (int)full) != 1) ||
        EVP_EncryptUpdate(session->cbc, out + header_len + full, &n2, last, RSP_BSP_BLOCK_SIZE) !=
            1 ||
        (size_t)n1 + (size_t)n2 != cipher_len ||
        seal(session, out, header_len + cipher_len, out_len) != RSP_OK)
        return fail(session, err, RSP_ERR_CRYPTO, "AES failed");
    return RSP_OK;
}

/* SGP.22 v3.0 section 2.6.4.5: MAC-only segment; the counter still advances. */
rsp_status rsp_bsp_mac_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *data,
                               size_t len, uint8_t *out, size_t cap, size_t *out_len,
                               rsp_error *err)
{
    rsp_status status = check_sender(session, data, len, out, out_len, err);
    if (status != RSP_OK)
        return status;
    if (len > RSP_BSP_PLAINTEXT_MAX_MAC_ONLY)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "BSP: %zu bytes exceed one segment", len);
    size_t header_len = put_header(out, tag, len + RSP_BSP_MAC_SIZE);
    if (cap < header_len + len + RSP_BSP_MAC_SIZE)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "BSP: segment buffer");
    if (len > 0)
        memmove(out + header_len, data, len);
    if (seal(session, out, header_len + len, out_len) != RSP_OK)
        return fail(session, err, RSP_ERR_CRYPTO, "CMAC failed");
    return RSP_OK;
}

/* Parses tag || length || value of one segment strictly and checks its C-MAC; on success the
 * chain advances and *data is the value without the C-MAC. */
static rsp_status open_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *segment,
                               size_t len, der_view *data, rsp_error *err)
{
    if (session == NULL || session->cbc == NULL || segment == NULL || data == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    if (session->role != RSP_BSP_RECEIVER || session->broken)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "BSP: session cannot receive");
    if (session->counter == UINT64_MAX)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "BSP: block counter exhausted");
    if (len > RSP_BSP_SEGMENT_MAX)
        return fail(session, err, RSP_ERR_BAD_VALUE, "segment longer than 1020 bytes");
    der_tlv tlv;
    rsp_error parse_err = {0};
    if (der_parse_single(der_view_make(segment, len), &tlv, &parse_err) != RSP_OK)
        return fail(session, err, RSP_ERR_BAD_VALUE, "segment is not one well-formed TLV");
    if (tlv.tag != tag)
        return fail(session, err, RSP_ERR_BAD_VALUE, "unexpected segment tag");
    if (tlv.value.len < RSP_BSP_MAC_SIZE)
        return fail(session, err, RSP_ERR_BAD_VALUE, "segment shorter than its C-MAC");
    size_t covered = len - RSP_BSP_MAC_SIZE;
    uint8_t cmac[CMAC_SIZE];
    if (compute_cmac(session, segment, covered, cmac) != RSP_OK)
        return fail(session, err, RSP_ERR_CRYPTO, "CMAC failed");
    if (CRYPTO_memcmp(cmac, segment + covered, RSP_BSP_MAC_SIZE) != 0)
        return fail(session, err, RSP_ERR_VERIFY, "C-MAC mismatch");
    memcpy(session->mcv, cmac, CMAC_SIZE);
    *data = der_view_make(tlv.value.data, tlv.value.len - RSP_BSP_MAC_SIZE);
    return RSP_OK;
}

/* SGP.22 v3.0 section 2.6.4.4 / 2.6.4.5, receiving side */
rsp_status rsp_bsp_decrypt_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *segment,
                                   size_t len, uint8_t *out, size_t cap, size_t *out_len,
                                   rsp_error *err)
{
    der_view cipher;
    if (out == NULL || out_len == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    rsp_status status = open_segment(session, tag, segment, len, &cipher, err);
    if (status != RSP_OK)
        return status;
    if (cipher.len == 0 || cipher.len % RSP_BSP_BLOCK_SIZE != 0)
        return fail(session, err, RSP_ERR_BAD_VALUE, "ciphertext is not whole AES blocks");
    if (cap < cipher.len)
        return fail(session, err, RSP_ERR_BUFFER_TOO_SMALL, "plaintext buffer");
    int n = 0;
    if (set_iv(session) != RSP_OK ||
        EVP_DecryptUpdate(session->cbc, out, &n, cipher.data, (int)cipher.len) != 1 ||
        (size_t)n != cipher.len)
        return fail(session, err, RSP_ERR_CRYPTO, "AES failed");
    session->counter++;
    /* Padding is 80 followed by 0..15 bytes 00, inside the last block only. */
    size_t end = cipher.len;
    size_t floor = cipher.len - RSP_BSP_BLOCK_SIZE;
    while (end > floor && out[end - 1] == 0x00)
        end--;
    if (end == floor || out[end - 1] != 0x80) {
        OPENSSL_cleanse(out, cipher.len);
        return fail(session, err, RSP_ERR_BAD_VALUE, "bad padding");
    }
    *out_len = end - 1;
    return RSP_OK;
}

rsp_status rsp_bsp_verify_segment(rsp_bsp_session *session, uint8_t tag, const uint8_t *segment,
                                  size_t len, der_view *data, rsp_error *err)
{
    rsp_status status = open_segment(session, tag, segment, len, data, err);
    if (status == RSP_OK)
        session->counter++;
    return status;
}

size_t rsp_bsp_segment_count(size_t len, bool encrypted)
{
    size_t per = encrypted ? RSP_BSP_PLAINTEXT_MAX_ENCRYPTED : RSP_BSP_PLAINTEXT_MAX_MAC_ONLY;
    return (len + per - 1) / per;
}

static rsp_status protect_all(rsp_bsp_session *session, bool encrypted, uint8_t tag,
                              const uint8_t *data, size_t len, der_writer *out, rsp_error *err)
{
    uint8_t segment[RSP_BSP_SEGMENT_MAX];
    size_t per = encrypted ? RSP_BSP_PLAINTEXT_MAX_ENCRYPTED : RSP_BSP_PLAINTEXT_MAX_MAC_ONLY;
    if (out == NULL || (data == NULL && len > 0))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    for (size_t pos = 0; pos < len; pos += per) {
        size_t chunk = len - pos < per ? len - pos : per;
        size_t segment_len = 0;
        rsp_status status = encrypted
                                ? rsp_bsp_encrypt_segment(session, tag, data + pos, chunk, segment,
                                                          sizeof segment, &segment_len, err)
                                : rsp_bsp_mac_segment(session, tag, data + pos, chunk, segment,
                                                      sizeof segment, &segment_len, err);
        if (status != RSP_OK)
            return status;
        der_put_raw(out, segment, segment_len);
    }
    OPENSSL_cleanse(segment, sizeof segment);
    rsp_status status = der_writer_status(out);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "BSP: output writer");
    return RSP_OK;
}

rsp_status rsp_bsp_encrypt_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *plaintext,
                               size_t len, der_writer *out, rsp_error *err)
{
    return protect_all(session, true, tag, plaintext, len, out, err);
}

rsp_status rsp_bsp_mac_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *data, size_t len,
                           der_writer *out, rsp_error *err)
{
    return protect_all(session, false, tag, data, len, out, err);
}

static rsp_status unprotect_all(rsp_bsp_session *session, bool encrypted, uint8_t tag,
                                const uint8_t *segments, size_t len, der_writer *out,
                                rsp_error *err)
{
    uint8_t plain[RSP_BSP_DATA_MAX];
    der_reader reader;
    rsp_status status = RSP_OK;
    if (session == NULL || out == NULL || (segments == NULL && len > 0))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "BSP: bad argument");
    bool fresh_error = err != NULL && err->code == RSP_OK;
    der_reader_init(&reader, der_view_make(segments, len), 0, 0);
    while (status == RSP_OK && !der_reader_at_end(&reader)) {
        der_tlv tlv;
        rsp_error parse_err = {0};
        if (der_reader_next(&reader, &tlv, &parse_err) != RSP_OK) {
            status = fail(session, err, RSP_ERR_BAD_VALUE, "malformed segment sequence");
            break;
        }
        if (encrypted) {
            size_t plain_len = 0;
            status = rsp_bsp_decrypt_segment(session, tag, tlv.whole.data, tlv.whole.len, plain,
                                             sizeof plain, &plain_len, err);
            if (status == RSP_OK)
                der_put_raw(out, plain, plain_len);
        } else {
            der_view data;
            status =
                rsp_bsp_verify_segment(session, tag, tlv.whole.data, tlv.whole.len, &data, err);
            if (status == RSP_OK)
                der_put_raw(out, data.data, data.len);
        }
        if (status != RSP_OK && fresh_error)
            err->offset = tlv.offset; /* point at the failing segment within the sequence */
    }
    OPENSSL_cleanse(plain, sizeof plain);
    if (status == RSP_OK && der_writer_status(out) != RSP_OK)
        status = rsp_error_set(err, der_writer_status(out), 0, 0, "BSP: output writer");
    return status;
}

rsp_status rsp_bsp_decrypt_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *segments,
                               size_t len, der_writer *out, rsp_error *err)
{
    return unprotect_all(session, true, tag, segments, len, out, err);
}

rsp_status rsp_bsp_verify_all(rsp_bsp_session *session, uint8_t tag, const uint8_t *segments,
                              size_t len, der_writer *out, rsp_error *err)
{
    return unprotect_all(session, false, tag, segments, len, out, err);
}
