/* ES10b.LoadBoundProfilePackage (SGP.22 v2.5 section 5.7.6): the eUICC side of the BPP. The
 * LPA sends the BPP in pieces, each its own STORE DATA sequence (section 2.5.5): the BF36
 * header with InitialiseSecureChannelRequest, firstSequenceOf87 whole, the sequenceOf88
 * header and each 88, secondSequenceOf87 whole (optional), the sequenceOf86 header and each 86.
 * Every piece but the last is answered with no data; the last one, or the first that fails,
 * is answered with the signed ProfileInstallationResult. */
#include <stdlib.h>
#include <string.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "crypto/ecdsa.h"
#include "crypto/ecka.h"
#include "crypto/kdf.h"
#include "euicc/es10b_download.h"
#include "euicc/isdr.h"
#include "euicc/profile_install.h"

#define TAG_OTPK     0x5F49
#define PACKAGE_MAX  (4u * 1024u * 1024u) /* far above any real profile */
#define METADATA_MAX (64u * 1024u)

typedef struct {
    int64_t command; /* bppCommandId */
    int64_t reason;  /* errorReason, 0 = no error */
} bpp_failure;

static bpp_failure failure(int64_t command, int64_t reason)
{
    bpp_failure f = {command, reason};
    return f;
}

static const bpp_failure no_failure = {0, 0};

/* Tag and length of a TLV whose value may be absent (a sequence header). */
static bool parse_header(der_view in, uint32_t *tag, size_t *value_len, size_t *header_len)
{
    size_t pos = 0;
    if (in.len < 2)
        return false;
    uint32_t t = in.data[pos++];
    if ((t & 0x1F) == 0x1F) {
        do {
            if (pos >= in.len || pos > 3)
                return false;
            t = (t << 8) | in.data[pos];
        } while (in.data[pos++] & 0x80);
    }
    if (pos >= in.len)
        return false;
    size_t len = in.data[pos++];
    if (len & 0x80) {
        size_t bytes = len & 0x7F;
        if (bytes == 0 || bytes > 3 || pos + bytes > in.len)
            return false;
        len = 0;
        for (size_t i = 0; i < bytes; i++)
            len = (len << 8) | in.data[pos++];
    }
    *tag = t;
    *value_len = len;
    *header_len = pos;
    return true;
}

static bool is_whole(der_view command, size_t value_len, size_t header_len)
{
    return header_len + value_len == command.len;
}

/* ---- InitialiseSecureChannel ------------------------------------------------------------ */

/* The bytes smdpSign covers: remoteOpId .. smdpOtpk as received (SGP.22 v2.5 section 5.5.1). */
static rsp_status signed_channel_part(const der_tlv *channel, der_view *out, rsp_error *err)
{
    der_reader reader;
    rsp_status status = der_reader_enter(channel, 1, &reader, err);
    const uint8_t *start = NULL;
    const uint8_t *end = NULL;
    while (status == RSP_OK && !der_reader_at_end(&reader)) {
        der_tlv child;
        status = der_reader_next(&reader, &child, err);
        if (status != RSP_OK)
            break;
        if (start == NULL)
            start = child.whole.data;
        if (child.tag == TAG_OTPK)
            end = child.whole.data + child.whole.len;
    }
    if (status == RSP_OK && (start == NULL || end == NULL))
        status = rsp_error_set(err, RSP_ERR_MISSING_FIELD, TAG_OTPK, 0, "no smdpOtpk");
    if (status == RSP_OK)
        *out = der_view_make(start, (size_t)(end - start));
    return status;
}

static bpp_failure check_channel_request(const euicc_download_session *session,
                                         const sgp22_initialise_secure_channel_request *request,
                                         der_view signed_part)
{
    const bpp_failure reject = failure(SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL, 0);
    const sgp22_control_ref_template *crt = &request->control_ref_template;
    if (request->remote_op_id != SGP22_REMOTE_OP_ID_INSTALL_BOUND_PROFILE_PACKAGE)
        return failure(reject.command, SGP22_ERROR_REASON_UNSUPPORTED_REMOTE_OPERATION_TYPE);
    if (request->transaction_id.len != session->transaction_id_len ||
        memcmp(request->transaction_id.data, session->transaction_id,
               session->transaction_id_len) != 0)
        return failure(reject.command, SGP22_ERROR_REASON_INVALID_TRANSACTION_ID);
    if (crt->key_type.len != 1 || crt->key_type.data[0] != RSP_BSP_KEY_TYPE_AES ||
        crt->key_len.len != 1 || crt->key_len.data[0] != RSP_BSP_KEY_LENGTH_AES128 ||
        crt->host_id.len == 0 || crt->host_id.len > RSP_KDF_LENGTH_MAX)
        return failure(reject.command, SGP22_ERROR_REASON_UNSUPPORTED_CRT_VALUES);
    der_writer data;
    der_writer_init_dynamic(&data, NULL);
    der_put_raw(&data, signed_part.data, signed_part.len);
    der_put_tlv(&data, TAG_OTPK, session->otpk, RSP_EC_POINT_SIZE);
    rsp_error err = {0};
    bool valid = der_writer_status(&data) == RSP_OK &&
                 rsp_ecdsa_verify(session->dppb_key, data.buf, data.len, request->smdp_sign.data,
                                  request->smdp_sign.len, &err) == RSP_OK;
    der_writer_free(&data);
    if (!valid)
        return failure(reject.command, SGP22_ERROR_REASON_INVALID_SIGNATURE);
    return no_failure;
}

/* Session keys from ECKA(otSK.EUICC, otPK.DP) and the X9.63 KDF (SGP.22 v2.5 annex G). */
static bpp_failure open_secure_channel(euicc *e, euicc_download_session *session,
                                       const sgp22_initialise_secure_channel_request *request)
{
    uint8_t secret[RSP_ECKA_SECRET_SIZE];
    rsp_bsp_keys keys;
    rsp_error err = {0};
    rsp_status status = rsp_ecka_shared_secret(session->otsk, request->smdp_otpk.data,
                                               request->smdp_otpk.len, secret, &err);
    if (status == RSP_OK)
        status = rsp_bsp_derive_keys(
            secret, sizeof secret, RSP_BSP_KEY_TYPE_AES, RSP_BSP_KEY_LENGTH_AES128,
            request->control_ref_template.host_id.data, request->control_ref_template.host_id.len,
            euicc_eid(e), EUICC_EID_SIZE, &keys, &err);
    memset(secret, 0, sizeof secret);
    if (status == RSP_OK)
        status = rsp_bsp_session_init(&session->bsp, RSP_BSP_RECEIVER, &keys, &err);
    rsp_bsp_keys_clear(&keys);
    if (status != RSP_OK)
        return failure(SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                       SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES);
    session->bsp_ready = true;
    /* the one-time key has done its work */
    rsp_private_key_free(session->otsk);
    session->otsk = NULL;
    return no_failure;
}

/* SGP.22 v2.5 section 5.5.1 ES8+.InitialiseSecureChannel, arriving after the BF36 header */
static bpp_failure initialise_secure_channel(euicc *e, euicc_download_session *session,
                                             der_view rest)
{
    const bpp_failure malformed = failure(SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                                          SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES);
    der_tlv channel;
    der_view signed_part;
    sgp22_initialise_secure_channel_request request;
    rsp_error err = {0};
    if (der_parse_single(rest, &channel, &err) != RSP_OK || channel.tag != 0xBF23 ||
        schema_decode(&sgp22_initialise_secure_channel_request_type, rest, &request, NULL, &err) !=
            RSP_OK ||
        signed_channel_part(&channel, &signed_part, &err) != RSP_OK)
        return malformed;
    bpp_failure result = check_channel_request(session, &request, signed_part);
    if (result.reason == 0)
        result = open_secure_channel(e, session, &request);
    return result;
}

/* ---- protected commands ----------------------------------------------------------------- */

static int64_t bsp_reason(rsp_status status)
{
    return status == RSP_ERR_VERIFY ? SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR
                                    : SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR;
}

/* Decrypts a whole firstSequenceOf87 / secondSequenceOf87 piece into plain. */
static rsp_status decrypt_sequence(euicc_download_session *session, der_view piece,
                                   size_t header_len, der_writer *plain)
{
    rsp_error err = {0};
    return rsp_bsp_decrypt_all(&session->bsp, RSP_BSP_TAG_ENCRYPTED_COMMAND,
                               piece.data + header_len, piece.len - header_len, plain, &err);
}

/* SGP.22 v2.5 section 5.5.2 ES8+.ConfigureISDP */
static bpp_failure configure_isdp(euicc_download_session *session, der_view piece,
                                  size_t header_len)
{
    der_writer plain;
    der_writer_init_dynamic(&plain, NULL);
    rsp_status status = decrypt_sequence(session, piece, header_len, &plain);
    sgp22_configure_isdp_request request;
    rsp_error err = {0};
    bpp_failure result = no_failure;
    if (status != RSP_OK)
        result = failure(SGP22_BPP_COMMAND_CONFIGURE_ISDP, bsp_reason(status));
    else if (schema_decode(&sgp22_configure_isdp_request_type, der_writer_view(&plain), &request,
                           NULL, &err) != RSP_OK)
        result =
            failure(SGP22_BPP_COMMAND_CONFIGURE_ISDP, SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES);
    der_writer_free(&plain);
    return result;
}

/* SGP.22 v2.5 section 5.5.4 ES8+.ReplaceSessionKeys: the profile protection keys take over */
static bpp_failure replace_session_keys(euicc_download_session *session, der_view piece,
                                        size_t header_len)
{
    der_writer plain;
    der_writer_init_dynamic(&plain, NULL);
    rsp_status status = decrypt_sequence(session, piece, header_len, &plain);
    sgp22_replace_session_keys_request request;
    rsp_bsp_keys keys;
    rsp_error err = {0};
    bpp_failure result = no_failure;
    if (status != RSP_OK) {
        result = failure(SGP22_BPP_COMMAND_REPLACE_SESSION_KEYS, bsp_reason(status));
    } else if (schema_decode(&sgp22_replace_session_keys_request_type, der_writer_view(&plain),
                             &request, NULL, &err) != RSP_OK ||
               rsp_bsp_keys_from_replace_session_keys(
                   request.ppk_enc.data, request.ppk_enc.len, request.ppk_cmac.data,
                   request.ppk_cmac.len, request.initial_mac_chaining_value.data,
                   request.initial_mac_chaining_value.len, &keys, &err) != RSP_OK) {
        result = failure(SGP22_BPP_COMMAND_REPLACE_SESSION_KEYS,
                         SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES);
    } else {
        if (rsp_bsp_session_rekey(&session->bsp, &keys, &err) != RSP_OK)
            result =
                failure(SGP22_BPP_COMMAND_REPLACE_SESSION_KEYS, SGP22_ERROR_REASON_UNKNOWN_ERROR);
        rsp_bsp_keys_clear(&keys);
    }
    if (plain.buf != NULL)
        memset(plain.buf, 0, plain.len);
    der_writer_free(&plain);
    return result;
}

/* SGP.22 v2.5 section 5.5.3 ES8+.StoreMetadata, once every 88 segment is in */
static bpp_failure store_metadata(euicc *e, euicc_download_session *session)
{
    uint8_t arena_buffer[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_store_metadata_request metadata;
    rsp_error err = {0};
    if (schema_decode(&sgp22_store_metadata_request_type, der_writer_view(&session->metadata),
                      &metadata, &arena, &err) != RSP_OK)
        return failure(SGP22_BPP_COMMAND_STORE_METADATA, SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES);
    memcpy(session->iccid, metadata.iccid.data, sizeof session->iccid);
    session->has_iccid = true;
    if (euicc_state_find_profile_by_iccid(euicc_get_state_const(e), metadata.iccid) >= 0)
        return failure(SGP22_BPP_COMMAND_STORE_METADATA,
                       SGP22_ERROR_REASON_ICCID_ALREADY_EXISTS_ON_EUICC);
    return no_failure;
}

static bpp_failure metadata_segment(euicc *e, euicc_download_session *session, der_view piece)
{
    rsp_error err = {0};
    der_view data;
    if (piece.len > session->sequence_remaining)
        return failure(SGP22_BPP_COMMAND_STORE_METADATA, SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR);
    rsp_status status = rsp_bsp_verify_segment(&session->bsp, RSP_BSP_TAG_STORE_METADATA,
                                               piece.data, piece.len, &data, &err);
    if (status != RSP_OK)
        return failure(SGP22_BPP_COMMAND_STORE_METADATA, bsp_reason(status));
    if (session->metadata.len + data.len > METADATA_MAX)
        return failure(SGP22_BPP_COMMAND_STORE_METADATA, SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES);
    der_put_raw(&session->metadata, data.data, data.len);
    session->sequence_remaining -= piece.len;
    if (session->sequence_remaining > 0)
        return no_failure;
    session->expect = EUICC_BPP_EXPECT_KEYS_OR_PROFILE;
    return store_metadata(e, session);
}

static bpp_failure profile_segment(euicc_download_session *session, der_view piece)
{
    uint8_t plain[RSP_BSP_DATA_MAX];
    size_t plain_len = 0;
    rsp_error err = {0};
    if (piece.len > session->sequence_remaining)
        return failure(SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                       SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR);
    rsp_status status =
        rsp_bsp_decrypt_segment(&session->bsp, RSP_BSP_TAG_PROFILE_ELEMENTS, piece.data, piece.len,
                                plain, sizeof plain, &plain_len, &err);
    if (status != RSP_OK)
        return failure(SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS, bsp_reason(status));
    if (session->package.len + plain_len > PACKAGE_MAX)
        return failure(SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                       SGP22_ERROR_REASON_INSUFFICIENT_MEMORY_FOR_PROFILE);
    der_put_raw(&session->package, plain, plain_len);
    memset(plain, 0, sizeof plain);
    session->sequence_remaining -= piece.len;
    if (der_writer_status(&session->package) != RSP_OK)
        return failure(SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                       SGP22_ERROR_REASON_INSUFFICIENT_MEMORY_FOR_PROFILE);
    return no_failure;
}

/* ---- the piece dispatcher ------------------------------------------------------------- */

/* bppCommandId a piece belongs to, for reporting pieces that arrive out of order. */
static int64_t command_of_expected(euicc_bpp_expect expect)
{
    switch (expect) {
    case EUICC_BPP_EXPECT_CONFIGURE_ISDP:
        return SGP22_BPP_COMMAND_CONFIGURE_ISDP;
    case EUICC_BPP_EXPECT_METADATA_HEADER:
    case EUICC_BPP_EXPECT_METADATA_SEGMENT:
        return SGP22_BPP_COMMAND_STORE_METADATA;
    case EUICC_BPP_EXPECT_KEYS_OR_PROFILE:
        return SGP22_BPP_COMMAND_REPLACE_SESSION_KEYS;
    default:
        return SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS;
    }
}

/* One piece after InitialiseSecureChannel; *complete when the last 86 arrived. */
static bpp_failure loading_piece(euicc *e, euicc_download_session *session, der_view command,
                                 uint32_t tag, size_t value_len, size_t header_len, bool *complete)
{
    const bpp_failure out_of_order =
        failure(command_of_expected(session->expect), SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR);
    bool whole = is_whole(command, value_len, header_len);
    bool header_only = command.len == header_len;
    switch (session->expect) {
    case EUICC_BPP_EXPECT_CONFIGURE_ISDP:
        if (tag != 0xA0 || !whole)
            return out_of_order;
        session->expect = EUICC_BPP_EXPECT_METADATA_HEADER;
        return configure_isdp(session, command, header_len);
    case EUICC_BPP_EXPECT_METADATA_HEADER:
        if (tag != 0xA1 || !header_only || value_len == 0)
            return out_of_order;
        session->sequence_remaining = value_len;
        session->expect = EUICC_BPP_EXPECT_METADATA_SEGMENT;
        return no_failure;
    case EUICC_BPP_EXPECT_METADATA_SEGMENT:
        if (tag != RSP_BSP_TAG_STORE_METADATA || !whole)
            return out_of_order;
        return metadata_segment(e, session, command);
    case EUICC_BPP_EXPECT_KEYS_OR_PROFILE:
    case EUICC_BPP_EXPECT_PROFILE_HEADER:
        if (tag == 0xA2 && whole && session->expect == EUICC_BPP_EXPECT_KEYS_OR_PROFILE) {
            session->expect = EUICC_BPP_EXPECT_PROFILE_HEADER;
            return replace_session_keys(session, command, header_len);
        }
        if (tag != 0xA3 || !header_only || value_len == 0)
            return failure(SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                           SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR);
        session->sequence_remaining = value_len;
        session->expect = EUICC_BPP_EXPECT_PROFILE_SEGMENT;
        return no_failure;
    case EUICC_BPP_EXPECT_PROFILE_SEGMENT:
        if (tag != RSP_BSP_TAG_PROFILE_ELEMENTS || !whole)
            return out_of_order;
        bpp_failure result = profile_segment(session, command);
        *complete = result.reason == 0 && session->sequence_remaining == 0;
        return result;
    }
    return out_of_order;
}

/* SGP.22 v2.5 section 5.7.6 ES10b.LoadBoundProfilePackage, one piece per call */
rsp_status es10b_load_bound_profile_package(euicc *e, unsigned channel, der_view command,
                                            der_writer *response)
{
    uint32_t tag = 0;
    size_t value_len = 0;
    size_t header_len = 0;
    if (!parse_header(command, &tag, &value_len, &header_len) ||
        header_len + value_len < command.len)
        return RSP_ERR_BAD_VALUE;
    euicc_download_session *session = euicc_download_session_get(e, channel);
    /* Without a prepared session there is no transaction to report a result for. */
    if (session == NULL || session->stage < EUICC_DOWNLOAD_PREPARED)
        return RSP_ERR_STATE;
    bpp_failure result = no_failure;
    bool complete = false;
    if (session->stage == EUICC_DOWNLOAD_PREPARED) {
        if (tag != 0xBF36)
            result = failure(SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                             SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR);
        else
            result = initialise_secure_channel(
                e, session, der_view_make(command.data + header_len, command.len - header_len));
        if (result.reason == 0) {
            session->stage = EUICC_DOWNLOAD_LOADING;
            session->expect = EUICC_BPP_EXPECT_CONFIGURE_ISDP;
        }
    } else {
        result = loading_piece(e, session, command, tag, value_len, header_len, &complete);
    }
    rsp_status status = RSP_OK;
    if (result.reason != 0) {
        status = euicc_profile_install_failed(e, session, result.command, result.reason, response);
        euicc_download_session_end(e, channel);
    } else if (complete) {
        status = euicc_profile_install(e, session, response);
        euicc_download_session_end(e, channel);
    }
    return status;
}
