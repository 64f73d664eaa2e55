#include "crypto/signature_gsma.h"

#include "crypto/ecdsa.h"

#define TAG_SEQUENCE               0x30
#define ALTERNATIVE_RESULT_SIGNED  0xA0
#define ALTERNATIVE_ERROR_SIGNED   0xA1
#define ALTERNATIVE_ERROR_UNSIGNED 0xA2

/* SGP.32 v1.2 section 2.11.1.1: associationToken [4] INTEGER, zero when not configured. */
rsp_status rsp_association_token_tlv(const int64_t *token,
                                     uint8_t out[RSP_ASSOCIATION_TOKEN_TLV_MAX], size_t *len)
{
    der_writer w;
    if (out == NULL || len == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    der_writer_init_fixed(&w, out, RSP_ASSOCIATION_TOKEN_TLV_MAX);
    der_put_int64(&w, RSP_ASSOCIATION_TOKEN_TAG, token != NULL ? *token : 0);
    if (der_writer_status(&w) != RSP_OK)
        return der_writer_status(&w);
    *len = w.len;
    return RSP_OK;
}

/* The signed data must be one whole DER SEQUENCE: catches callers handing in a wrapper. */
static rsp_status check_signed_data(der_view data, rsp_error *err)
{
    der_tlv tlv;
    if (data.data == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL signed data");
    rsp_status status = der_parse_single(data, &tlv, err);
    if (status != RSP_OK)
        return status;
    if (tlv.tag != TAG_SEQUENCE)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, 0,
                             "signed data must be the SEQUENCE (tag 30) itself");
    return RSP_OK;
}

static rsp_status digest_with_token(der_view data, const int64_t *token,
                                    uint8_t digest[RSP_SHA256_SIZE], rsp_error *err)
{
    uint8_t token_tlv[RSP_ASSOCIATION_TOKEN_TLV_MAX];
    size_t token_len = 0;
    rsp_status status = check_signed_data(data, err);
    if (status != RSP_OK)
        return status;
    status = rsp_association_token_tlv(token, token_tlv, &token_len);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "cannot encode associationToken");
    const uint8_t *parts[2] = {data.data, token_tlv};
    size_t lens[2] = {data.len, token_len};
    status = rsp_sha256(parts, lens, 2, digest);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "SHA-256 failed");
    return RSP_OK;
}

static rsp_status sign_with_token(const rsp_private_key *key, der_view data, const int64_t *token,
                                  uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    if (key == NULL || signature == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL key or signature");
    rsp_status status = digest_with_token(data, token, digest, err);
    if (status != RSP_OK)
        return status;
    status = rsp_private_key_sign_digest(key, digest, signature);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "signing failed");
    return RSP_OK;
}

static rsp_status verify_with_token(const rsp_public_key *key, der_view data, const int64_t *token,
                                    der_view signature, rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    if (key == NULL || signature.data == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL key or signature");
    rsp_status status = digest_with_token(data, token, digest, err);
    if (status != RSP_OK)
        return status;
    return rsp_ecdsa_verify_digest(key, digest, signature.data, signature.len, err);
}

/* SGP.32 v1.2 section 2.11.1.1 */
rsp_status rsp_eim_package_sign(const rsp_private_key *eim_key, der_view euicc_package_signed,
                                const int64_t *association_token,
                                uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err)
{
    return sign_with_token(eim_key, euicc_package_signed, association_token, signature, err);
}

/* SGP.32 v1.2 section 2.11.1.1 */
rsp_status rsp_eim_package_verify(const rsp_public_key *eim_key, der_view euicc_package_signed,
                                  const int64_t *association_token, der_view signature,
                                  rsp_error *err)
{
    return verify_with_token(eim_key, euicc_package_signed, association_token, signature, err);
}

/* SGP.32 v1.2 section 2.11.2.1 */
rsp_status rsp_euicc_package_result_sign(const rsp_private_key *euicc_key, der_view signed_data,
                                         const int64_t *association_token,
                                         uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err)
{
    return sign_with_token(euicc_key, signed_data, association_token, signature, err);
}

/* SGP.32 v1.2 section 2.11.2.1 */
rsp_status rsp_euicc_package_result_verify(const rsp_public_key *euicc_key, der_view signed_data,
                                           const int64_t *association_token, der_view signature,
                                           rsp_error *err)
{
    return verify_with_token(euicc_key, signed_data, association_token, signature, err);
}

/* Writes wrapper_tag { signed_data, 5F37 signature } (wrapper 0 = none). */
static rsp_status write_signed(der_writer *out, uint32_t outer_tag, uint32_t inner_tag,
                               der_view signed_data, const uint8_t *signature, rsp_error *err)
{
    size_t outer = der_begin(out, outer_tag);
    size_t inner = inner_tag != 0 ? der_begin(out, inner_tag) : 0;
    der_put_raw(out, signed_data.data, signed_data.len);
    der_put_tlv(out, RSP_TAG_SIGNATURE, signature, RSP_EC_SIGNATURE_SIZE);
    if (inner_tag != 0)
        der_end(out, inner);
    der_end(out, outer);
    rsp_status status = der_writer_status(out);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "cannot write the signed message");
    return RSP_OK;
}

/* SGP.32 v1.2 section 2.11.1.1 EuiccPackageRequest */
rsp_status rsp_eim_package_request_build(const rsp_private_key *eim_key,
                                         der_view euicc_package_signed,
                                         const int64_t *association_token, der_writer *out,
                                         rsp_error *err)
{
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    if (out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL writer");
    rsp_status status =
        rsp_eim_package_sign(eim_key, euicc_package_signed, association_token, signature, err);
    if (status != RSP_OK)
        return status;
    return write_signed(out, RSP_TAG_EUICC_PACKAGE, 0, euicc_package_signed, signature, err);
}

/* Reads { 30.. signed data, 5F37 signature } from a constructed TLV's content, strictly. */
static rsp_status read_signed_pair(const der_tlv *container, unsigned depth, der_view *signed_data,
                                   der_view *signature, rsp_error *err)
{
    der_reader reader;
    der_tlv data_tlv;
    der_tlv signature_tlv;
    rsp_status status = der_reader_enter(container, depth, &reader, err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &data_tlv, err);
    if (status == RSP_OK && data_tlv.tag != TAG_SEQUENCE)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, data_tlv.tag, data_tlv.offset,
                               "expected the signed SEQUENCE");
    if (status == RSP_OK)
        status = der_reader_next(&reader, &signature_tlv, err);
    if (status == RSP_OK && signature_tlv.tag != RSP_TAG_SIGNATURE)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, signature_tlv.tag, signature_tlv.offset,
                               "expected the signature (5F37)");
    if (status == RSP_OK)
        status = der_reader_expect_end(&reader, err);
    if (status == RSP_OK) {
        *signed_data = data_tlv.whole;
        *signature = signature_tlv.value;
    }
    return status;
}

/* SGP.32 v1.2 section 2.11.1.1 EuiccPackageRequest */
rsp_status rsp_eim_package_request_open(const rsp_public_key *eim_key, der_view request,
                                        const int64_t *association_token,
                                        der_view *euicc_package_signed, rsp_error *err)
{
    der_tlv root;
    der_view data;
    der_view signature;
    if (euicc_package_signed == NULL || request.data == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    rsp_status status = der_parse_single(request, &root, err);
    if (status == RSP_OK && root.tag != RSP_TAG_EUICC_PACKAGE)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, root.tag, 0,
                               "EuiccPackageRequest must be BF51");
    if (status == RSP_OK)
        status = read_signed_pair(&root, 0, &data, &signature, err);
    if (status == RSP_OK)
        status = rsp_eim_package_verify(eim_key, data, association_token, signature, err);
    if (status == RSP_OK)
        *euicc_package_signed = data;
    return status;
}

/* SGP.32 v1.2 section 2.11.2.1 EuiccPackageResult */
rsp_status rsp_euicc_package_result_build(const rsp_private_key *euicc_key, uint32_t alternative,
                                          der_view signed_data, const int64_t *association_token,
                                          der_writer *out, rsp_error *err)
{
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    if (out == NULL ||
        (alternative != ALTERNATIVE_RESULT_SIGNED && alternative != ALTERNATIVE_ERROR_SIGNED))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "alternative must be A0 (result) or A1 (error)");
    rsp_status status =
        rsp_euicc_package_result_sign(euicc_key, signed_data, association_token, signature, err);
    if (status != RSP_OK)
        return status;
    return write_signed(out, RSP_TAG_EUICC_PACKAGE, alternative, signed_data, signature, err);
}

/* SGP.32 v1.2 section 2.11.2.1 EuiccPackageResult */
rsp_status rsp_euicc_package_result_open(const rsp_public_key *euicc_key, der_view result,
                                         const int64_t *association_token, uint32_t *alternative,
                                         der_view *signed_data, rsp_error *err)
{
    der_tlv root;
    der_tlv choice;
    der_reader reader;
    der_view data;
    der_view signature;
    if (alternative == NULL || signed_data == NULL || result.data == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    rsp_status status = der_parse_single(result, &root, err);
    if (status == RSP_OK && root.tag != RSP_TAG_EUICC_PACKAGE)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, root.tag, 0,
                               "EuiccPackageResult must be BF51");
    if (status == RSP_OK)
        status = der_reader_enter(&root, 0, &reader, err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &choice, err);
    if (status == RSP_OK)
        status = der_reader_expect_end(&reader, err);
    if (status != RSP_OK)
        return status;
    if (choice.tag == ALTERNATIVE_ERROR_UNSIGNED) {
        *alternative = choice.tag;
        *signed_data = choice.value;
        return RSP_OK;
    }
    if (choice.tag != ALTERNATIVE_RESULT_SIGNED && choice.tag != ALTERNATIVE_ERROR_SIGNED)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, choice.tag, choice.offset,
                             "EuiccPackageResult alternative must be A0, A1 or A2");
    status = read_signed_pair(&choice, 1, &data, &signature, err);
    if (status == RSP_OK)
        status =
            rsp_euicc_package_result_verify(euicc_key, data, association_token, signature, err);
    if (status == RSP_OK) {
        *alternative = choice.tag;
        *signed_data = data;
    }
    return status;
}
