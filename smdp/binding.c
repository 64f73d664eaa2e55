/* Bound Profile Package construction and its split into ES10b.LoadBoundProfilePackage pieces. */
#include "smdp/binding.h"

#include <string.h>

#include "core/sgp22.h"
#include "crypto/bsp.h"
#include "crypto/ecdsa.h"
#include "crypto/ecka.h"
#include "crypto/random.h"

#define TAG_BPP                0xBF36
#define TAG_INITIALISE_CHANNEL 0xBF23
#define TAG_CONFIGURE_ISDP     0xBF24
#define TAG_CONTROL_REF        0xA6
#define TAG_OTPK               0x5F49
#define TAG_SIGNATURE          0x5F37

rsp_status smdp_eid_bytes(const char *eid, uint8_t out[SMDP_EID_SIZE], rsp_error *err)
{
    if (eid == NULL || strlen(eid) != RSP_EID_DIGITS ||
        der_hex_decode(eid, out, SMDP_EID_SIZE) != SMDP_EID_SIZE)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "EID must be 32 digits");
    return RSP_OK;
}

/* SGP.22 v2.5 section 5.5.1: remoteOpId, transactionId, controlRefTemplate and smdpOtpk data
 * objects, the part of InitialiseSecureChannelRequest that smdpSign covers (with euiccOtpk). */
static void put_secure_channel_signed_part(der_writer *w, der_view transaction_id,
                                           const uint8_t host_id[SMDP_HOST_ID_SIZE],
                                           const uint8_t smdp_otpk[RSP_EC_POINT_SIZE])
{
    der_put_uint64(w, 0x82, SGP22_REMOTE_OP_ID_INSTALL_BOUND_PROFILE_PACKAGE);
    der_put_tlv(w, 0x80, transaction_id.data, transaction_id.len);
    size_t crt = der_begin(w, TAG_CONTROL_REF);
    const uint8_t key_type = RSP_BSP_KEY_TYPE_AES;
    const uint8_t key_length = RSP_BSP_KEY_LENGTH_AES128;
    der_put_tlv(w, 0x80, &key_type, 1);
    der_put_tlv(w, 0x81, &key_length, 1);
    der_put_tlv(w, 0x84, host_id, SMDP_HOST_ID_SIZE);
    der_end(w, crt);
    der_put_tlv(w, TAG_OTPK, smdp_otpk, RSP_EC_POINT_SIZE);
}

/* SGP.22 v2.5 section 5.5.1 ES8+.InitialiseSecureChannel: smdpSign with SK.DPpb.ECDSA over the
 * signed part and otPK.EUICC.ECKA. */
static rsp_status sign_secure_channel(const smdp_binding_input *input, smdp_binding_secrets *kept,
                                      rsp_error *err)
{
    der_writer signed_part;
    der_writer_init_dynamic(&signed_part, NULL);
    put_secure_channel_signed_part(&signed_part, input->transaction_id, kept->host_id,
                                   kept->smdp_otpk);
    der_put_tlv(&signed_part, TAG_OTPK, input->euicc_otpk, RSP_EC_POINT_SIZE);
    rsp_status status = der_writer_status(&signed_part);
    if (status == RSP_OK)
        status =
            rsp_ecdsa_sign(input->dppb_key, signed_part.buf, signed_part.len, kept->signature, err);
    der_writer_free(&signed_part);
    return status;
}

static rsp_status put_initialise_secure_channel(der_writer *bpp, const smdp_binding_input *input,
                                                const smdp_binding_secrets *kept)
{
    size_t mark = der_begin(bpp, TAG_INITIALISE_CHANNEL);
    put_secure_channel_signed_part(bpp, input->transaction_id, kept->host_id, kept->smdp_otpk);
    der_put_tlv(bpp, TAG_SIGNATURE, kept->signature, sizeof kept->signature);
    der_end(bpp, mark);
    return der_writer_status(bpp);
}

static rsp_status put_replace_session_keys(der_writer *bpp, rsp_bsp_session *bsp,
                                           const rsp_bsp_keys *ppk, rsp_error *err)
{
    sgp22_replace_session_keys_request request = {
        .initial_mac_chaining_value = der_view_make(ppk->initial_mcv, RSP_BSP_KEY_SIZE),
        .ppk_enc = der_view_make(ppk->s_enc, RSP_BSP_KEY_SIZE),
        .ppk_cmac = der_view_make(ppk->s_mac, RSP_BSP_KEY_SIZE),
    };
    der_writer plain;
    der_writer_init_dynamic(&plain, NULL);
    rsp_status status = schema_encode(&sgp22_replace_session_keys_request_type, &request, &plain);
    if (status == RSP_OK) {
        size_t mark = der_begin(bpp, 0xA2);
        status =
            rsp_bsp_encrypt_all(bsp, RSP_BSP_TAG_ENCRYPTED_COMMAND, plain.buf, plain.len, bpp, err);
        der_end(bpp, mark);
    }
    /* the plaintext holds the PPKs */
    if (plain.buf != NULL)
        memset(plain.buf, 0, plain.len);
    der_writer_free(&plain);
    return status;
}

/* SGP.22 v2.5 section 2.5.4: BoundProfilePackage */
static rsp_status put_protected_parts(der_writer *bpp, const smdp_binding_input *input,
                                      const rsp_bsp_keys *session_keys, const rsp_bsp_keys *ppk,
                                      rsp_error *err)
{
    rsp_bsp_session bsp;
    rsp_status status = rsp_bsp_session_init(&bsp, RSP_BSP_SENDER, session_keys, err);
    if (status != RSP_OK)
        return status;
    /* ConfigureISDP without dpProprietaryData: an empty BF24 */
    const uint8_t configure_isdp[] = {0xBF, 0x24, 0x00};
    size_t mark = der_begin(bpp, 0xA0);
    status = rsp_bsp_encrypt_all(&bsp, RSP_BSP_TAG_ENCRYPTED_COMMAND, configure_isdp,
                                 sizeof configure_isdp, bpp, err);
    der_end(bpp, mark);
    if (status == RSP_OK) {
        mark = der_begin(bpp, 0xA1);
        status = rsp_bsp_mac_all(&bsp, RSP_BSP_TAG_STORE_METADATA, input->metadata.data,
                                 input->metadata.len, bpp, err);
        der_end(bpp, mark);
    }
    if (status == RSP_OK && ppk != NULL) {
        status = put_replace_session_keys(bpp, &bsp, ppk, err);
        if (status == RSP_OK)
            status = rsp_bsp_session_rekey(&bsp, ppk, err);
    }
    if (status == RSP_OK) {
        mark = der_begin(bpp, 0xA3);
        status = rsp_bsp_encrypt_all(&bsp, RSP_BSP_TAG_PROFILE_ELEMENTS, input->package.data,
                                     input->package.len, bpp, err);
        der_end(bpp, mark);
    }
    rsp_bsp_session_cleanup(&bsp);
    if (status == RSP_OK)
        status = der_writer_status(bpp);
    return status;
}

/* BF36 { InitialiseSecureChannelRequest, the protected parts } from kept. */
static rsp_status assemble(const smdp_binding_input *input, const smdp_binding_secrets *kept,
                           der_writer *bpp, rsp_error *err)
{
    size_t mark = der_begin(bpp, TAG_BPP);
    rsp_status status = put_initialise_secure_channel(bpp, input, kept);
    if (status == RSP_OK)
        status = put_protected_parts(bpp, input, &kept->session_keys,
                                     kept->has_ppk ? &kept->ppk : NULL, err);
    der_end(bpp, mark);
    if (status == RSP_OK)
        status = der_writer_status(bpp);
    return status;
}

/* SGP.22 v2.5 sections 2.5.4 and 3.1.3.2 (otPK.DP.ECKA, session keys, BPP) */
rsp_status smdp_bind_profile_package_kept(const smdp_binding_input *input, der_writer *bpp,
                                          smdp_binding_secrets *kept, rsp_error *err)
{
    memset(kept, 0, sizeof *kept);
    if (input == NULL || bpp == NULL || input->euicc_otpk == NULL || input->eid == NULL ||
        input->dppb_key == NULL || input->package.len == 0 || input->metadata.len == 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "binding: missing input");
    rsp_private_key *smdp_otsk = NULL;
    uint8_t shared_secret[RSP_ECKA_SECRET_SIZE];
    rsp_status status = rsp_ecka_one_time_key(rsp_private_key_curve(input->dppb_key), &smdp_otsk,
                                              kept->smdp_otpk, err);
    if (status == RSP_OK)
        status = rsp_ecka_shared_secret(smdp_otsk, input->euicc_otpk, RSP_EC_POINT_SIZE,
                                        shared_secret, err);
    rsp_private_key_free(smdp_otsk);
    if (status == RSP_OK && rsp_random_bytes(kept->host_id, sizeof kept->host_id) != RSP_OK)
        status = rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "binding: no random host ID");
    if (status == RSP_OK)
        status = rsp_bsp_derive_keys(shared_secret, sizeof shared_secret, RSP_BSP_KEY_TYPE_AES,
                                     RSP_BSP_KEY_LENGTH_AES128, kept->host_id, sizeof kept->host_id,
                                     input->eid, SMDP_EID_SIZE, &kept->session_keys, err);
    memset(shared_secret, 0, sizeof shared_secret);
    if (status == RSP_OK && input->ppk != NULL) {
        kept->has_ppk = true;
        kept->ppk = *input->ppk;
    }
    if (status == RSP_OK)
        status = sign_secure_channel(input, kept, err);
    if (status == RSP_OK)
        status = assemble(input, kept, bpp, err);
    if (status != RSP_OK)
        memset(kept, 0, sizeof *kept);
    return status;
}

rsp_status smdp_bind_profile_package(const smdp_binding_input *input, der_writer *bpp,
                                     rsp_error *err)
{
    smdp_binding_secrets kept;
    rsp_status status = smdp_bind_profile_package_kept(input, bpp, &kept, err);
    memset(&kept, 0, sizeof kept);
    return status;
}

/* SGP.22 v2.5 section 3.1.3: the same BPP for a retried getBoundProfilePackage */
rsp_status smdp_rebind_profile_package(const smdp_binding_input *input,
                                       const smdp_binding_secrets *kept, der_writer *bpp,
                                       rsp_error *err)
{
    if (input == NULL || kept == NULL || bpp == NULL || input->package.len == 0 ||
        input->metadata.len == 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "rebinding: missing input");
    return assemble(input, kept, bpp, err);
}

static rsp_status add_piece(der_view piece, der_view *pieces, size_t cap, size_t *count,
                            rsp_error *err)
{
    if (*count >= cap)
        return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, 0, "BPP: more than %zu pieces", cap);
    pieces[(*count)++] = piece;
    return RSP_OK;
}

/* A sequenceOfXX: its header as one piece, then each segment TLV as its own piece. */
static rsp_status add_header_and_segments(const der_tlv *sequence, unsigned depth, der_view *pieces,
                                          size_t cap, size_t *count, rsp_error *err)
{
    der_view header =
        der_view_make(sequence->whole.data, sequence->whole.len - sequence->value.len);
    rsp_status status = add_piece(header, pieces, cap, count, err);
    der_reader segments;
    if (status == RSP_OK)
        status = der_reader_enter(sequence, depth, &segments, err);
    while (status == RSP_OK && !der_reader_at_end(&segments)) {
        der_tlv segment;
        status = der_reader_next(&segments, &segment, err);
        if (status == RSP_OK)
            status = add_piece(segment.whole, pieces, cap, count, err);
    }
    return status;
}

/* SGP.22 v2.5 section 2.5.5 (transfer of the BPP by the LPA, ES10b.LoadBoundProfilePackage) */
rsp_status smdp_bpp_split(der_view bpp, der_view *pieces, size_t cap, size_t *count, rsp_error *err)
{
    *count = 0;
    der_tlv outer;
    der_reader parts;
    rsp_status status = der_parse_single(bpp, &outer, err);
    if (status == RSP_OK && outer.tag != TAG_BPP)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0, "BPP: not BF36");
    if (status == RSP_OK)
        status = der_reader_enter(&outer, 0, &parts, err);
    bool first = true;
    while (status == RSP_OK && !der_reader_at_end(&parts)) {
        der_tlv part;
        status = der_reader_next(&parts, &part, err);
        if (status != RSP_OK)
            break;
        if (first) {
            if (part.tag != TAG_INITIALISE_CHANNEL)
                return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, part.tag, part.offset,
                                     "BPP: first part must be BF23");
            /* BF36 header and InitialiseSecureChannelRequest travel together */
            size_t end = (size_t)(part.whole.data + part.whole.len - bpp.data);
            status = add_piece(der_view_make(bpp.data, end), pieces, cap, count, err);
            first = false;
        } else if (part.tag == 0xA0 || part.tag == 0xA2) {
            status = add_piece(part.whole, pieces, cap, count, err);
        } else if (part.tag == 0xA1 || part.tag == 0xA3) {
            status = add_header_and_segments(&part, 1, pieces, cap, count, err);
        } else {
            status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, part.tag, part.offset,
                                   "BPP: unexpected part");
        }
    }
    if (status == RSP_OK && first)
        status = rsp_error_set(err, RSP_ERR_MISSING_FIELD, TAG_BPP, 0, "BPP: empty");
    return status;
}
