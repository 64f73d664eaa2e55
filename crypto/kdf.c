#include "crypto/kdf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "core/der.h"

struct rsp_hmac_key {
    EVP_MAC_CTX *keyed; /* duplicated for every MAC, never updated itself */
};

rsp_status rsp_hmac_key_new(const uint8_t *key, size_t key_len, rsp_hmac_key **out, rsp_error *err)
{
    *out = NULL;
    if (key == NULL || key_len == 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "HMAC: no key");
    rsp_hmac_key *made = calloc(1, sizeof *made);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (made != NULL && mac != NULL)
        made->keyed = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (made == NULL || made->keyed == NULL ||
        EVP_MAC_init(made->keyed, key, key_len, params) != 1) {
        rsp_hmac_key_free(made);
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "HMAC: cannot set up the key");
    }
    *out = made;
    return RSP_OK;
}

void rsp_hmac_key_free(rsp_hmac_key *key)
{
    if (key == NULL)
        return;
    EVP_MAC_CTX_free(key->keyed);
    free(key);
}

rsp_status rsp_hmac_sha256(const rsp_hmac_key *key, const uint8_t *data, size_t len,
                           uint8_t out[RSP_HMAC_SHA256_SIZE])
{
    if (key == NULL || (data == NULL && len > 0))
        return RSP_ERR_INVALID_ARGUMENT;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(key->keyed);
    size_t out_len = 0;
    rsp_status status = ctx != NULL && EVP_MAC_update(ctx, data, len) == 1 &&
                                EVP_MAC_final(ctx, out, &out_len, RSP_HMAC_SHA256_SIZE) == 1 &&
                                out_len == RSP_HMAC_SHA256_SIZE
                            ? RSP_OK
                            : RSP_ERR_CRYPTO;
    EVP_MAC_CTX_free(ctx);
    return status;
}

/* ANSI X9.63 section 5.6.3 with SHA-256, as OpenSSL's X963KDF implements it. */
rsp_status rsp_x963_kdf_sha256(const uint8_t *z, size_t z_len, const uint8_t *shared_info,
                               size_t shared_info_len, uint8_t *out, size_t out_len, rsp_error *err)
{
    if (z == NULL || z_len == 0 || (shared_info == NULL && shared_info_len > 0) || out == NULL ||
        out_len == 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad KDF argument");
    rsp_status status = RSP_ERR_CRYPTO;
    EVP_KDF_CTX *ctx = NULL;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_X963KDF, NULL);
    if (kdf == NULL || (ctx = EVP_KDF_CTX_new(kdf)) == NULL)
        goto done;
    OSSL_PARAM params[4];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
    if (shared_info_len > 0)
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)shared_info,
                                                        shared_info_len);
    params[n] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
        status = RSP_OK;
done:
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "X9.63 KDF failed");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return status;
}

/* BER-TLV length octets of len (len <= 255). */
static size_t put_ber_length(uint8_t *out, size_t len)
{
    if (len < 0x80) {
        out[0] = (uint8_t)len;
        return 1;
    }
    out[0] = 0x81;
    out[1] = (uint8_t)len;
    return 2;
}

/* SGP.22 v3.0 section 2.6.4.2 */
rsp_status rsp_bsp_shared_info(uint8_t key_type, uint8_t key_length, const uint8_t *host_id,
                               size_t host_id_len, const uint8_t *eid, size_t eid_len, uint8_t *out,
                               size_t cap, size_t *len, rsp_error *err)
{
    if ((host_id == NULL && host_id_len > 0) || (eid == NULL && eid_len > 0) || out == NULL ||
        len == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (host_id_len > RSP_KDF_LENGTH_MAX || eid_len > RSP_KDF_LENGTH_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "hostId or EID too long");
    size_t need =
        2 + (host_id_len < 0x80 ? 1 : 2) + host_id_len + (eid_len < 0x80 ? 1 : 2) + eid_len;
    if (cap < need)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "SharedInfo buffer");
    size_t pos = 0;
    out[pos++] = key_type;
    out[pos++] = key_length;
    pos += put_ber_length(out + pos, host_id_len);
    if (host_id_len > 0)
        memcpy(out + pos, host_id, host_id_len);
    pos += host_id_len;
    pos += put_ber_length(out + pos, eid_len);
    if (eid_len > 0)
        memcpy(out + pos, eid, eid_len);
    pos += eid_len;
    *len = pos;
    return RSP_OK;
}

/* SGP.22 v3.0 section 2.6.4.2 */
rsp_status rsp_bsp_derive_keys(const uint8_t *shared_secret, size_t shared_secret_len,
                               uint8_t key_type, uint8_t key_length, const uint8_t *host_id,
                               size_t host_id_len, const uint8_t *eid, size_t eid_len,
                               rsp_bsp_keys *keys, rsp_error *err)
{
    uint8_t info[2 + 2 * (2 + RSP_KDF_LENGTH_MAX)];
    uint8_t out[3 * RSP_BSP_KEY_SIZE];
    size_t info_len = 0;
    if (keys == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL keys");
    if (key_type != RSP_BSP_KEY_TYPE_AES || key_length != RSP_BSP_KEY_LENGTH_AES128)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                             "only AES-128 BSP keys (type 88, length 16) are supported");
    rsp_status status = rsp_bsp_shared_info(key_type, key_length, host_id, host_id_len, eid,
                                            eid_len, info, sizeof info, &info_len, err);
    if (status == RSP_OK)
        status = rsp_x963_kdf_sha256(shared_secret, shared_secret_len, info, info_len, out,
                                     sizeof out, err);
    if (status == RSP_OK) {
        memcpy(keys->initial_mcv, out, RSP_BSP_KEY_SIZE);
        memcpy(keys->s_enc, out + RSP_BSP_KEY_SIZE, RSP_BSP_KEY_SIZE);
        memcpy(keys->s_mac, out + 2 * RSP_BSP_KEY_SIZE, RSP_BSP_KEY_SIZE);
    }
    OPENSSL_cleanse(out, sizeof out);
    return status;
}

/* SGP.22 section 5.5.4 */
rsp_status rsp_bsp_keys_from_replace_session_keys(const uint8_t *ppk_enc, size_t ppk_enc_len,
                                                  const uint8_t *ppk_mac, size_t ppk_mac_len,
                                                  const uint8_t *initial_mcv,
                                                  size_t initial_mcv_len, rsp_bsp_keys *keys,
                                                  rsp_error *err)
{
    if (ppk_enc == NULL || ppk_mac == NULL || initial_mcv == NULL || keys == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (ppk_enc_len != RSP_BSP_KEY_SIZE || ppk_mac_len != RSP_BSP_KEY_SIZE ||
        initial_mcv_len != RSP_BSP_KEY_SIZE)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "ppkEnc, ppkCmac and initialMacChainingValue must be 16 bytes");
    memcpy(keys->s_enc, ppk_enc, RSP_BSP_KEY_SIZE);
    memcpy(keys->s_mac, ppk_mac, RSP_BSP_KEY_SIZE);
    memcpy(keys->initial_mcv, initial_mcv, RSP_BSP_KEY_SIZE);
    return RSP_OK;
}

/* SGP.22 section 5.5.4 ReplaceSessionKeysRequest (tag BF26, automatic tags 80, 81, 82) */
rsp_status rsp_bsp_keys_from_replace_session_keys_request(const uint8_t *der, size_t len,
                                                          rsp_bsp_keys *keys, rsp_error *err)
{
    static const uint32_t tags[3] = {0x80, 0x81, 0x82};
    der_view values[3];
    der_tlv root;
    der_reader reader;
    if (der == NULL || keys == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    rsp_status status = der_parse_single(der_view_make(der, len), &root, err);
    if (status == RSP_OK && root.tag != 0xBF26)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, root.tag, 0,
                               "ReplaceSessionKeysRequest must be BF26");
    if (status == RSP_OK)
        status = der_reader_enter(&root, 0, &reader, err);
    for (size_t i = 0; i < 3 && status == RSP_OK; i++) {
        der_tlv field;
        status = der_reader_next(&reader, &field, err);
        if (status == RSP_OK && field.tag != tags[i])
            status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, field.tag, field.offset,
                                   "ReplaceSessionKeysRequest field %zu must be tag %X", i,
                                   (unsigned)tags[i]);
        values[i] = field.value;
    }
    if (status == RSP_OK)
        status = der_reader_expect_end(&reader, err);
    if (status != RSP_OK)
        return status;
    return rsp_bsp_keys_from_replace_session_keys(values[1].data, values[1].len, values[2].data,
                                                  values[2].len, values[0].data, values[0].len,
                                                  keys, err);
}

void rsp_bsp_keys_clear(rsp_bsp_keys *keys)
{
    if (keys != NULL)
        OPENSSL_cleanse(keys, sizeof *keys);
}
