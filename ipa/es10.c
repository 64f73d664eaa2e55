/* ES10 client: ISD-R on a logical channel, STORE DATA segmentation, GET RESPONSE, BPP split. */
#include <string.h>

#include "ipa/ipa_internal.h"

static const uint8_t isd_r_aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                      0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

enum { SW_OK = 0x9000, SW_MORE = 0x6100, SW_WRONG_LE = 0x6C00 };

/* Class byte for a logical channel 0-3 (ISO/IEC 7816-4:2005 section 5.1.1). */
static uint8_t class_byte(const ipa_instance *ipa, uint8_t base)
{
    return (uint8_t)(base | (ipa->channel & 0x03u));
}

/* One APDU; response data appended to data, 61xx followed with GET RESPONSE. */
static rsp_status transmit(ipa_instance *ipa, const uint8_t *apdu, size_t len, der_writer *data,
                           uint16_t *sw, rsp_error *err)
{
    uint8_t resp[258];
    uint8_t command[5];
    size_t n = 0;
    rsp_status st =
        ipa->platform.apdu_transmit(ipa->platform.apdu_ctx, apdu, len, resp, sizeof resp, &n, err);
    for (;;) {
        if (st != RSP_OK)
            return rsp_error_set(err, st, 0, 0, "ipa: APDU transport failed");
        if (n < 2)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: APDU response without status");
        *sw = (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
        if (data)
            der_put_raw(data, resp, n - 2);
        if ((*sw & 0xFF00) != SW_MORE && (*sw & 0xFF00) != SW_WRONG_LE)
            return RSP_OK;
        if ((*sw & 0xFF00) == SW_MORE) {
            command[0] = class_byte(ipa, 0x00);
            command[1] = 0xC0; /* GET RESPONSE, ISO/IEC 7816-4:2005 section 7.6.1 */
            command[2] = 0;
            command[3] = 0;
        } else if (len == 5) {
            /* 6Cxx: the same case 2 command again with the exact Le (ISO/IEC 7816-3 T=0) */
            memcpy(command, apdu, 4);
        } else {
            return rsp_error_set(err, RSP_ERR_IO, *sw, 0, "ipa: 6Cxx answered a case 4 command");
        }
        command[4] = (uint8_t)(*sw & 0xFF);
        n = 0;
        st = ipa->platform.apdu_transmit(ipa->platform.apdu_ctx, command, sizeof command, resp,
                                         sizeof resp, &n, err);
    }
}

static rsp_status expect_ok(uint16_t sw, const char *what, rsp_error *err)
{
    if (sw == SW_OK)
        return RSP_OK;
    return rsp_error_set(err, RSP_ERR_IO, sw, 0, "ipa: %s answered status word %04X", what, sw);
}

bool ipa_find_child(der_view parent, uint32_t tag, der_view *child)
{
    der_tlv outer, tlv;
    der_reader r;
    rsp_error ignored = {0};
    if (der_parse_single(parent, &outer, &ignored) != RSP_OK || !outer.constructed)
        return false;
    der_reader_init(&r, outer.value, 0, 1);
    while (!der_reader_at_end(&r)) {
        if (der_reader_next(&r, &tlv, &ignored) != RSP_OK)
            return false;
        if (tlv.tag == tag) {
            *child = tlv.whole;
            return true;
        }
    }
    return false;
}

bool ipa_find_child_value(der_view parent, uint32_t tag, der_view *value)
{
    der_view whole;
    der_tlv tlv;
    rsp_error ignored = {0};
    if (!ipa_find_child(parent, tag, &whole) || der_parse_single(whole, &tlv, &ignored) != RSP_OK)
        return false;
    *value = tlv.value;
    return true;
}

/* SGP.22 v2.5 section 5.7.20 GetEuiccData */
static rsp_status read_eid(ipa_instance *ipa, rsp_error *err)
{
    /* GetEuiccDataRequest { tagList '5A' } (SGP.22 v2.5 section 5.7.20) */
    static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    der_writer resp;
    der_view eid;
    ipa_writer_init(ipa, &resp);
    rsp_status st = ipa_es10(ipa, der_view_make(get_eid, sizeof get_eid), &resp, err);
    if (st == RSP_OK &&
        (!ipa_find_child_value(der_writer_view(&resp), 0x5A, &eid) || eid.len != IPA_EID_SIZE))
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0xBF3E, 0, "ipa: GetEuiccData without EID");
    if (st == RSP_OK)
        memcpy(ipa->eid, eid.data, IPA_EID_SIZE);
    der_writer_free(&resp);
    return st;
}

/* SGP.22 v2.5 section 2.2.3: the IPA reaches the ISD-R by its AID. */
rsp_status ipa_open(ipa_instance *ipa, rsp_error *err)
{
    if (ipa->open)
        return RSP_OK;
    uint16_t sw = 0;
    rsp_status st = RSP_OK;
    ipa->channel = 0;
    if (!ipa->config.basic_channel) {
        static const uint8_t manage_open[] = {0x00, 0x70, 0x00, 0x00, 0x01};
        der_writer data;
        ipa_writer_init(ipa, &data);
        st = transmit(ipa, manage_open, sizeof manage_open, &data, &sw, err);
        if (st == RSP_OK)
            st = expect_ok(sw, "MANAGE CHANNEL", err);
        if (st == RSP_OK && (data.len != 1 || data.buf[0] == 0 || data.buf[0] > 3))
            st = rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                               "ipa: card opened no usable logical channel");
        if (st == RSP_OK)
            ipa->channel = data.buf[0];
        der_writer_free(&data);
    }
    if (st == RSP_OK) {
        uint8_t select[5 + sizeof isd_r_aid + 1];
        select[0] = class_byte(ipa, 0x00);
        select[1] = 0xA4;
        select[2] = 0x04;
        select[3] = 0x00;
        select[4] = sizeof isd_r_aid;
        memcpy(select + 5, isd_r_aid, sizeof isd_r_aid);
        select[sizeof select - 1] = 0x00;
        st = transmit(ipa, select, sizeof select, NULL, &sw, err);
        if (st == RSP_OK)
            st = expect_ok(sw, "SELECT ISD-R", err);
    }
    if (st == RSP_OK) {
        ipa->open = true;
        st = read_eid(ipa, err);
    }
    if (st != RSP_OK)
        ipa_close(ipa);
    return st;
}

/* ISO/IEC 7816-4:2005 section 7.1.2 MANAGE CHANNEL close */
void ipa_close(ipa_instance *ipa)
{
    if (ipa->channel != 0) {
        uint8_t close[4] = {class_byte(ipa, 0x00), 0x70, 0x80, (uint8_t)ipa->channel};
        uint16_t sw;
        rsp_error ignored = {0};
        transmit(ipa, close, sizeof close, NULL, &sw, &ignored);
    }
    ipa->channel = 0;
    ipa->open = false;
}

/* STORE DATA as profiled by SGP.22 v2.5 section 5.7.2: blocks of at most 255 bytes, P1 '11'
 * for all but the last ('91'), P2 the block number; the response comes after the last. */
static rsp_status store_data(ipa_instance *ipa, der_view command, der_writer *response,
                             rsp_error *err)
{
    size_t blocks = command.len == 0 ? 1 : (command.len + IPA_APDU_BLOCK - 1) / IPA_APDU_BLOCK;
    if (blocks > 256)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "ipa: ES10 command of %zu bytes exceeds 256 blocks", command.len);
    uint8_t apdu[5 + IPA_APDU_BLOCK + 1];
    rsp_status st = RSP_OK;
    uint16_t sw = 0;
    for (size_t b = 0; b < blocks && st == RSP_OK; b++) {
        size_t off = b * IPA_APDU_BLOCK;
        size_t len = command.len - off < IPA_APDU_BLOCK ? command.len - off : IPA_APDU_BLOCK;
        bool last = b + 1 == blocks;
        apdu[0] = class_byte(ipa, 0x80);
        apdu[1] = 0xE2;
        apdu[2] = last ? 0x91 : 0x11;
        apdu[3] = (uint8_t)b;
        apdu[4] = (uint8_t)len;
        if (len)
            memcpy(apdu + 5, command.data + off, len);
        apdu[5 + len] = 0x00; /* Le: case 4 */
        st = transmit(ipa, apdu, 6 + len, last ? response : NULL, &sw, err);
        if (st == RSP_OK)
            st = expect_ok(sw, "STORE DATA", err);
    }
    return st;
}

/* SGP.22 v2.5 section 5.7.2 */
rsp_status ipa_es10(ipa_instance *ipa, der_view command, der_writer *response, rsp_error *err)
{
    rsp_status st = ipa_open(ipa, err);
    if (st != RSP_OK)
        return st;
    size_t before = response->len;
    st = store_data(ipa, command, response, err);
    if (st == RSP_OK && der_writer_status(response) != RSP_OK)
        st = rsp_error_set(err, der_writer_status(response), 0, 0, "ipa: response buffer");
    if (st == RSP_OK && response->len > before) {
        der_tlv tlv;
        st = der_parse_single(der_view_make(response->buf + before, response->len - before), &tlv,
                              err);
    }
    return st;
}

rsp_status ipa_es10_simple(ipa_instance *ipa, uint32_t tag, der_writer *response, rsp_error *err)
{
    uint8_t command[4];
    der_writer w;
    der_writer_init_fixed(&w, command, sizeof command);
    der_put_tag_length(&w, tag, 0);
    return ipa_es10(ipa, der_writer_view(&w), response, err);
}

/* SGP.22 v2.5 section 5.7.11 */
rsp_status ipa_es10_remove_notification(ipa_instance *ipa, int64_t seq_number, rsp_error *err)
{
    uint8_t command[16];
    der_writer w, resp;
    der_view status;
    der_writer_init_fixed(&w, command, sizeof command);
    size_t mark = der_begin(&w, 0xBF30);
    der_put_int64(&w, 0x80, seq_number);
    der_end(&w, mark);
    ipa_writer_init(ipa, &resp);
    rsp_status st = ipa_es10(ipa, der_writer_view(&w), &resp, err);
    if (st == RSP_OK && ipa_find_child_value(der_writer_view(&resp), 0x80, &status) &&
        status.len == 1 && status.data[0] != 0)
        st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0xBF30, 0,
                           "ipa: eUICC could not remove notification %lld (status %u)",
                           (long long)seq_number, status.data[0]);
    der_writer_free(&resp);
    return st;
}

/* SGP.22 v2.5 section 5.7.14 */
rsp_status ipa_es10_cancel_session(ipa_instance *ipa, der_view transaction_id, int64_t reason,
                                   der_writer *response, rsp_error *err)
{
    der_writer w;
    ipa_writer_init(ipa, &w);
    size_t mark = der_begin(&w, 0xBF41);
    der_put_tlv(&w, 0x80, transaction_id.data, transaction_id.len);
    der_put_int64(&w, 0x81, reason);
    der_end(&w, mark);
    rsp_status st = der_writer_status(&w);
    if (st == RSP_OK)
        st = ipa_es10(ipa, der_writer_view(&w), response, err);
    der_writer_free(&w);
    return st;
}

/* One segment of the BPP, sent as its own STORE DATA sequence. A response before the end
 * (ProfileInstallationResult on error) ends the load. */
static rsp_status load_segment(ipa_instance *ipa, const uint8_t *data, size_t len,
                               der_writer *result, bool *finished, rsp_error *err)
{
    size_t before = result->len;
    rsp_status st = store_data(ipa, der_view_make(data, len), result, err);
    if (st == RSP_OK && result->len > before)
        *finished = true;
    return st;
}

/* Header (tag + length) of a TLV, without its value. */
static size_t header_len(const der_tlv *tlv)
{
    return tlv->whole.len - tlv->value.len;
}

/* SGP.22 v2.5 section 2.5.5: BF36 header + BF23, then BF24 (A0), the A1 header, each 88, the
 * optional A2 (BF26), the A3 header, each 86 - every piece its own ES10b.LoadBoundProfilePackage
 * call. */
rsp_status ipa_es10_load_bpp(ipa_instance *ipa, der_view bpp, der_writer *result, rsp_error *err)
{
    der_tlv outer, part, item;
    der_reader r, items;
    bool finished = false;
    rsp_status st = ipa_open(ipa, err);
    if (st == RSP_OK)
        st = der_parse_single(bpp, &outer, err);
    if (st == RSP_OK && outer.tag != 0xBF36)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0, "ipa: not a BPP");
    if (st != RSP_OK)
        return st;
    der_reader_init(&r, outer.value, header_len(&outer), 1);
    st = der_reader_next(&r, &part, err); /* BF23 initialiseSecureChannelRequest */
    if (st == RSP_OK && part.tag != 0xBF23)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, part.tag, part.offset,
                           "ipa: BPP without InitialiseSecureChannelRequest");
    if (st == RSP_OK)
        st = load_segment(ipa, bpp.data, header_len(&outer) + part.whole.len, result, &finished,
                          err);
    while (st == RSP_OK && !finished && !der_reader_at_end(&r)) {
        st = der_reader_next(&r, &part, err);
        if (st != RSP_OK)
            break;
        if (part.tag == 0xA0 || part.tag == 0xA2) {
            st = load_segment(ipa, part.whole.data, part.whole.len, result, &finished, err);
            continue;
        }
        if (part.tag != 0xA1 && part.tag != 0xA3) {
            st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, part.tag, part.offset,
                               "ipa: unexpected part in BPP");
            break;
        }
        st = load_segment(ipa, part.whole.data, header_len(&part), result, &finished, err);
        if (st == RSP_OK)
            st = der_reader_enter(&part, 1, &items, err);
        while (st == RSP_OK && !finished && !der_reader_at_end(&items)) {
            st = der_reader_next(&items, &item, err);
            if (st == RSP_OK)
                st = load_segment(ipa, item.whole.data, item.whole.len, result, &finished, err);
        }
    }
    if (st == RSP_OK && !finished)
        st = rsp_error_set(err, RSP_ERR_STATE, 0xBF37, 0,
                           "ipa: BPP loaded but the eUICC gave no ProfileInstallationResult");
    return st;
}

/* SGP.32 v1.2 section 5.9.4 */
rsp_status ipa_add_initial_eim(ipa_instance *ipa, der_view request, der_writer *response,
                               rsp_error *err)
{
    der_tlv tlv;
    rsp_status st = der_parse_single(request, &tlv, err);
    if (st == RSP_OK && tlv.tag != 0xBF57)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, 0,
                           "ipa: AddInitialEim request must be BF57");
    if (st == RSP_OK)
        st = ipa_es10(ipa, request, response, err);
    return st;
}

/* SGP.32 v1.2 section 5.9.18 */
rsp_status ipa_get_eim_configuration(ipa_instance *ipa, der_writer *response, rsp_error *err)
{
    return ipa_es10_simple(ipa, 0xBF55, response, err);
}

/* SGP.22 v2.5 section 5.7.15 */
rsp_status ipa_list_profiles(ipa_instance *ipa, der_writer *response, rsp_error *err)
{
    return ipa_es10_simple(ipa, 0xBF2D, response, err);
}

/* Request { refreshFlag [0] BOOLEAN } and a response carrying one result code (SGP.32 v1.2
 * sections 5.9.20 and 5.9.21). */
static rsp_status refresh_flag_call(ipa_instance *ipa, uint32_t tag, int64_t *result,
                                    rsp_error *err)
{
    uint8_t command[8];
    der_writer w, resp;
    der_tlv outer, first;
    der_reader r;
    der_writer_init_fixed(&w, command, sizeof command);
    size_t mark = der_begin(&w, tag);
    der_put_bool(&w, 0x80, false);
    der_end(&w, mark);
    ipa_writer_init(ipa, &resp);
    rsp_status st = ipa_es10(ipa, der_writer_view(&w), &resp, err);
    if (st == RSP_OK)
        st = der_parse_single(der_writer_view(&resp), &outer, err);
    if (st == RSP_OK && outer.tag != tag)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0, "ipa: wrong response");
    if (st == RSP_OK) {
        der_reader_init(&r, outer.value, 0, 1);
        st = der_reader_next(&r, &first, err);
    }
    if (st == RSP_OK)
        st = der_decode_int64(&first, result, err);
    der_writer_free(&resp);
    return st;
}

/* SGP.32 v1.2 section 5.9.20 */
rsp_status ipa_execute_fallback(ipa_instance *ipa, int64_t *result, rsp_error *err)
{
    rsp_status st = refresh_flag_call(ipa, 0xBF5D, result, err);
    if (st == RSP_OK && *result == 0)
        ipa_set_state_change(ipa, 1 /* fallback */);
    return st;
}

/* SGP.32 v1.2 section 5.9.21 */
rsp_status ipa_return_from_fallback(ipa_instance *ipa, int64_t *result, rsp_error *err)
{
    rsp_status st = refresh_flag_call(ipa, 0xBF5E, result, err);
    if (st == RSP_OK && *result == 0)
        ipa_set_state_change(ipa, 1 /* fallback */);
    return st;
}

/* SGP.32 v1.2 section 5.9.22 */
rsp_status ipa_enable_emergency_profile(ipa_instance *ipa, int64_t *result, rsp_error *err)
{
    rsp_status st = refresh_flag_call(ipa, 0xBF5B, result, err);
    if (st == RSP_OK && *result == 0)
        ipa_set_state_change(ipa, 2 /* emergencyProfile */);
    return st;
}

/* SGP.32 v1.2 section 5.9.23 */
rsp_status ipa_disable_emergency_profile(ipa_instance *ipa, int64_t *result, rsp_error *err)
{
    rsp_status st = refresh_flag_call(ipa, 0xBF5C, result, err);
    if (st == RSP_OK && *result == 0)
        ipa_set_state_change(ipa, 2 /* emergencyProfile */);
    return st;
}
