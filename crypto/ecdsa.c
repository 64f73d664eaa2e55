#include "crypto/ecdsa.h"

#include <string.h>

#include <openssl/evp.h>

#include "core/der.h"

#define DER_TAG_INTEGER  0x02
#define DER_TAG_SEQUENCE 0x30

/* Group orders n (SEC 2 section 2.4.2; RFC 5639 section 3.4). */
static const uint8_t order_p256[RSP_EC_FIELD_SIZE] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
};
static const uint8_t order_brainpool_p256r1[RSP_EC_FIELD_SIZE] = {
    0xA9, 0xFB, 0x57, 0xDB, 0xA1, 0xEE, 0xA9, 0xBC, 0x3E, 0x66, 0x0A, 0x90, 0x9D, 0x83, 0x8D, 0x71,
    0x8C, 0x39, 0x7A, 0xA3, 0xB5, 0x61, 0xA6, 0xF7, 0x90, 0x1E, 0x0E, 0x82, 0x97, 0x48, 0x56, 0xA7,
};

static const uint8_t *curve_order(rsp_curve curve)
{
    switch (curve) {
    case RSP_CURVE_NIST_P256:
        return order_p256;
    case RSP_CURVE_BRAINPOOL_P256R1:
        return order_brainpool_p256r1;
    default:
        return NULL;
    }
}

/* ECDSA requires 1 <= r, s <= n - 1 (SEC 1 v2 section 4.1.4 step 1). Big-endian fixed-size
 * comparison; not secret data, so no constant-time need. */
static bool scalar_in_range(const uint8_t value[RSP_EC_FIELD_SIZE], const uint8_t *order)
{
    bool nonzero = false;
    for (size_t i = 0; i < RSP_EC_FIELD_SIZE; i++)
        nonzero |= value[i] != 0;
    return nonzero && memcmp(value, order, RSP_EC_FIELD_SIZE) < 0;
}

/* Number of content bytes of the minimal DER INTEGER holding an unsigned 32-byte value. */
static size_t integer_content_size(const uint8_t value[RSP_EC_FIELD_SIZE], size_t *skip)
{
    size_t first = 0;
    while (first < RSP_EC_FIELD_SIZE - 1 && value[first] == 0)
        first++;
    *skip = first;
    return (RSP_EC_FIELD_SIZE - first) + ((value[first] & 0x80) ? 1 : 0);
}

static size_t put_integer(uint8_t *out, const uint8_t value[RSP_EC_FIELD_SIZE])
{
    size_t skip;
    size_t content = integer_content_size(value, &skip);
    size_t pos = 0;
    out[pos++] = DER_TAG_INTEGER;
    out[pos++] = (uint8_t)content;
    if (content > RSP_EC_FIELD_SIZE - skip)
        out[pos++] = 0x00;
    memcpy(out + pos, value + skip, RSP_EC_FIELD_SIZE - skip);
    return pos + RSP_EC_FIELD_SIZE - skip;
}

/* RFC 3279 section 2.2.3 Ecdsa-Sig-Value from BSI TR-03111 section 5.2.1 plain r||s. */
rsp_status rsp_ecdsa_signature_to_der(rsp_curve curve, const uint8_t *plain, size_t plain_len,
                                      uint8_t *der, size_t cap, size_t *der_len, rsp_error *err)
{
    const uint8_t *order = curve_order(curve);
    if (order == NULL || plain == NULL || der == NULL || der_len == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad curve or buffer");
    if (plain_len != RSP_EC_SIGNATURE_SIZE)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "plain signature is %zu bytes, not 64",
                             plain_len);
    const uint8_t *r = plain;
    const uint8_t *s = plain + RSP_EC_FIELD_SIZE;
    if (!scalar_in_range(r, order) || !scalar_in_range(s, order))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "r or s is zero or not below n");
    size_t skip;
    size_t body = 2 + integer_content_size(r, &skip) + 2 + integer_content_size(s, &skip);
    if (cap < body + 2)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "DER signature buffer");
    /* body <= 70, so the short length form always applies. */
    size_t pos = 0;
    der[pos++] = DER_TAG_SEQUENCE;
    der[pos++] = (uint8_t)body;
    pos += put_integer(der + pos, r);
    pos += put_integer(der + pos, s);
    *der_len = pos;
    return RSP_OK;
}

/* Strict X.690 DER INTEGER holding a value in [1, n-1], right-aligned into out[32]. */
static rsp_status read_integer(der_reader *reader, const uint8_t *order,
                               uint8_t out[RSP_EC_FIELD_SIZE], rsp_error *err)
{
    der_tlv tlv;
    rsp_status status = der_reader_next(reader, &tlv, err);
    if (status != RSP_OK)
        return status;
    if (tlv.tag != DER_TAG_INTEGER)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, tlv.offset,
                             "ECDSA-Sig-Value member is not an INTEGER");
    const uint8_t *v = tlv.value.data;
    size_t len = tlv.value.len;
    if (len == 0)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv.tag, tlv.offset, "empty INTEGER");
    if (v[0] & 0x80)
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv.tag, tlv.offset, "negative r or s");
    if (len > 1 && v[0] == 0x00 && !(v[1] & 0x80))
        return rsp_error_set(err, RSP_ERR_NON_MINIMAL, tlv.tag, tlv.offset,
                             "INTEGER has a redundant leading zero");
    if (v[0] == 0x00 && len > 1) {
        v++;
        len--;
    }
    if (len > RSP_EC_FIELD_SIZE)
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv.tag, tlv.offset,
                             "r or s longer than 32 bytes");
    memset(out, 0, RSP_EC_FIELD_SIZE - len);
    memcpy(out + RSP_EC_FIELD_SIZE - len, v, len);
    if (!scalar_in_range(out, order))
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv.tag, tlv.offset,
                             "r or s is zero or not below n");
    return RSP_OK;
}

/* BSI TR-03111 section 5.2.1 plain r||s from RFC 3279 section 2.2.3 Ecdsa-Sig-Value. */
rsp_status rsp_ecdsa_signature_from_der(rsp_curve curve, const uint8_t *der, size_t der_len,
                                        uint8_t plain[RSP_EC_SIGNATURE_SIZE], rsp_error *err)
{
    const uint8_t *order = curve_order(curve);
    if (order == NULL || der == NULL || plain == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad curve or buffer");
    if (der_len > RSP_ECDSA_DER_MAX)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "DER signature too long");
    der_tlv outer;
    der_reader fields;
    uint8_t r[RSP_EC_FIELD_SIZE];
    uint8_t s[RSP_EC_FIELD_SIZE];
    rsp_status status = der_parse_single(der_view_make(der, der_len), &outer, err);
    if (status != RSP_OK)
        return status;
    if (outer.tag != DER_TAG_SEQUENCE)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0,
                             "ECDSA-Sig-Value is not a SEQUENCE");
    status = der_reader_enter(&outer, 0, &fields, err);
    if (status == RSP_OK)
        status = read_integer(&fields, order, r, err);
    if (status == RSP_OK)
        status = read_integer(&fields, order, s, err);
    if (status == RSP_OK)
        status = der_reader_expect_end(&fields, err);
    if (status != RSP_OK)
        return status;
    memcpy(plain, r, RSP_EC_FIELD_SIZE);
    memcpy(plain + RSP_EC_FIELD_SIZE, s, RSP_EC_FIELD_SIZE);
    return RSP_OK;
}

rsp_status rsp_sha256(const uint8_t *const *parts, const size_t *lens, size_t count,
                      uint8_t digest[RSP_SHA256_SIZE])
{
    if ((count > 0 && (parts == NULL || lens == NULL)) || digest == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    if (count == 1) /* one-shot path skips the context allocation */
        return EVP_Digest(parts[0], lens[0], digest, NULL, EVP_sha256(), NULL) == 1
                   ? RSP_OK
                   : RSP_ERR_CRYPTO;
    rsp_status status = RSP_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto done;
    for (size_t i = 0; i < count; i++)
        if (EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1)
            goto done;
    if (EVP_DigestFinal_ex(ctx, digest, NULL) == 1)
        status = RSP_OK;
done:
    EVP_MD_CTX_free(ctx);
    return status;
}

/* SGP.22 v2.5 section 2.6.5: ECDSA with SHA-256. */
rsp_status rsp_ecdsa_sign(const rsp_private_key *key, const uint8_t *message, size_t len,
                          uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    if (key == NULL || (message == NULL && len > 0) || signature == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    const uint8_t *parts[1] = {message};
    rsp_status status = rsp_sha256(parts, &len, 1, digest);
    if (status == RSP_OK)
        status = rsp_private_key_sign_digest(key, digest, signature);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "ECDSA signing failed");
    return RSP_OK;
}

rsp_status rsp_ecdsa_verify_digest(const rsp_public_key *key, const uint8_t digest[RSP_SHA256_SIZE],
                                   const uint8_t *signature, size_t signature_len, rsp_error *err)
{
    uint8_t der[RSP_ECDSA_DER_MAX];
    size_t der_len = 0;
    EVP_PKEY *pkey = rsp_public_key_evp(key);
    if (pkey == NULL || digest == NULL || signature == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (rsp_ecdsa_signature_to_der(rsp_public_key_curve(key), signature, signature_len, der,
                                   sizeof der, &der_len, NULL) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "signature is not 64 bytes with r, s in [1, n-1]");
    rsp_status status = RSP_ERR_CRYPTO;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1) {
        rsp_error_set(err, status, 0, 0, "cannot set up ECDSA verification");
        goto done;
    }
    int rc = EVP_PKEY_verify(ctx, der, der_len, digest, RSP_SHA256_SIZE);
    if (rc == 1)
        status = RSP_OK;
    else
        status = rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "ECDSA signature does not verify");
done:
    EVP_PKEY_CTX_free(ctx);
    return status;
}

/* SGP.22 v2.5 section 2.6.5: ECDSA with SHA-256. */
rsp_status rsp_ecdsa_verify(const rsp_public_key *key, const uint8_t *message, size_t len,
                            const uint8_t *signature, size_t signature_len, rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    if (message == NULL && len > 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL message");
    const uint8_t *parts[1] = {message};
    if (rsp_sha256(parts, &len, 1, digest) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "SHA-256 failed");
    return rsp_ecdsa_verify_digest(key, digest, signature, signature_len, err);
}
