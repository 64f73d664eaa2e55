/* APDU front end of the software eUICC: see apdu.h. Section numbers: ISO/IEC 7816-4:2005,
 * ISO/IEC 7816-3:2006, GlobalPlatform Card Specification v2.3 (GPCS), ETSI TS 102 221,
 * GSMA SGP.22 v2.5. */
#include "euicc/apdu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const uint8_t euicc_isd_r_aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

/* ISO/IEC 7816-3:2006 section 8.2: direct convention; TA1 = 96 (Fi 512, Di 32, as UICCs
 * announce); TD1 = 80: T=0; TD2 = 1F: T=15 global bytes follow; TA3 = C7: clock stop allowed,
 * classes A, B and C. Historical bytes (ISO/IEC 7816-4:2005 section 8.1.1): category 80,
 * card service data 31 81 (selection by full DF name, no MF), card capabilities 73 80 21 1B
 * (selection by full DF name; one-byte data units; no chaining, no extended lengths; logical
 * channels assigned by card or terminal, 4 channels). Last byte: TCK. */
static const uint8_t card_atr[] = {0x3B, 0x97, 0x96, 0x80, 0x1F, 0xC7, 0x80,
                                   0x31, 0x81, 0x73, 0x80, 0x21, 0x1B, 0xA0};

/* GPCS section 11.9.3.1, response to SELECT: AID (84) and proprietary data (A5) holding only
 * the maximum length of a command data field (9F65 = FF), the one fact an LPA may use. */
static const uint8_t fci_proprietary[] = {0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF};

enum {
    INS_SELECT = 0xA4,
    INS_MANAGE_CHANNEL = 0x70,
    INS_GET_RESPONSE = 0xC0,
    INS_STORE_DATA = 0xE2,
    INS_TERMINAL_CAPABILITY = 0xAA,
};

typedef struct {
    uint8_t *command; /* STORE DATA blocks joined so far; NULL outside a sequence */
    uint32_t command_len;
    uint32_t command_cap;
    uint8_t *response; /* pending response for GET RESPONSE; NULL when none */
    uint32_t response_len;
    uint32_t response_offset;
    uint32_t response_cap;
    uint16_t next_block; /* P2 the next STORE DATA block must carry */
    bool open;
    bool isd_r_selected;
} channel_state;

struct euicc_card {
    const euicc_card_handler *handler;
    void *ctx;
    channel_state channels[EUICC_CARD_CHANNELS];
    uint8_t terminal_capability[EUICC_CARD_MAX_TERMINAL_CAPABILITY];
    uint8_t terminal_capability_len;
    bool has_terminal_capability;
};

/* A short command APDU split into its fields (ISO/IEC 7816-4:2005 section 5.1). */
typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    size_t ne; /* maximum response data length; 0 when Le is absent */
    bool has_le;
} command_apdu;

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
} response_out;

typedef enum { CLASS_INTERINDUSTRY, CLASS_PROPRIETARY } class_kind;

_Static_assert(sizeof(struct euicc_card) <= EUICC_CARD_IDLE_BYTES, "idle card grew");

/* ---------------------------------------------------------------------------------------- */

static void discard_sequence(channel_state *ch)
{
    free(ch->command);
    ch->command = NULL;
    ch->command_len = ch->command_cap = 0;
    ch->next_block = 0;
}

static void discard_response(channel_state *ch)
{
    free(ch->response);
    ch->response = NULL;
    ch->response_len = ch->response_offset = ch->response_cap = 0;
}

static void clear_channel(channel_state *ch)
{
    discard_sequence(ch);
    discard_response(ch);
    ch->open = false;
    ch->isd_r_selected = false;
}

static void end_session(euicc_card *card, unsigned channel)
{
    channel_state *ch = &card->channels[channel];
    if (ch->isd_r_selected && card->handler->channel_closed != NULL)
        card->handler->channel_closed(card->ctx, channel);
    ch->isd_r_selected = false;
}

static size_t finish(response_out *out, uint16_t sw)
{
    out->buf[out->len++] = (uint8_t)(sw >> 8);
    out->buf[out->len++] = (uint8_t)sw;
    return out->len;
}

/* ISO/IEC 7816-4:2005 section 5.1.3: 61xx tells how many bytes GET RESPONSE can fetch. */
static uint16_t remaining_sw(size_t remaining)
{
    return (uint16_t)(EUICC_SW_BYTES_REMAINING | (remaining >= 256 ? 0 : remaining));
}

/* Hands out up to Ne bytes of a response and keeps the rest for GET RESPONSE. owned, when not
 * NULL, is the heap buffer holding data (capacity owned_cap); it is kept or freed here. */
static uint16_t deliver(channel_state *ch, response_out *out, const uint8_t *data, size_t len,
                        size_t ne, uint8_t *owned, size_t owned_cap)
{
    size_t room = out->cap - 2 - out->len;
    size_t chunk = len < ne ? len : ne;
    if (chunk > room)
        chunk = room;
    if (chunk > 0) /* an empty response may come without a buffer */
        memcpy(out->buf + out->len, data, chunk);
    out->len += chunk;
    if (chunk == len) {
        free(owned);
        return EUICC_SW_OK;
    }
    if (owned == NULL) {
        owned = malloc(len - chunk);
        if (owned == NULL) {
            out->len -= chunk;
            return EUICC_SW_NOT_ENOUGH_MEMORY;
        }
        memcpy(owned, data + chunk, len - chunk);
        owned_cap = len - chunk;
        len -= chunk;
        chunk = 0;
    }
    ch->response = owned;
    ch->response_len = (uint32_t)len;
    ch->response_offset = (uint32_t)chunk;
    ch->response_cap = (uint32_t)owned_cap;
    return remaining_sw(len - chunk);
}

/* ---------------------------------------------------------------------------------------- */

/* ISO/IEC 7816-4:2005 section 5.1, short length fields only: the card announces no extended
 * lengths in its ATR, so an extended Lc/Le (first length byte 00 followed by more) is a
 * wrong length. */
static bool parse_apdu(const uint8_t *apdu, size_t len, command_apdu *out)
{
    memset(out, 0, sizeof *out);
    if (len < 4)
        return false;
    out->cla = apdu[0];
    out->ins = apdu[1];
    out->p1 = apdu[2];
    out->p2 = apdu[3];
    if (len == 4)
        return true;
    if (len == 5) {
        out->has_le = true;
        out->ne = apdu[4] == 0 ? 256 : apdu[4];
        return true;
    }
    size_t lc = apdu[4];
    if (lc == 0)
        return false;
    out->lc = lc;
    out->data = apdu + 5;
    if (len == 5 + lc)
        return true;
    if (len == 6 + lc) {
        out->has_le = true;
        out->ne = apdu[5 + lc] == 0 ? 256 : apdu[5 + lc];
        return true;
    }
    return false;
}

/* ISO/IEC 7816-4:2005 section 5.1.1, table 2: first interindustry class 0x0X and the
 * GlobalPlatform proprietary class 0x8X (GPCS section 11.1.4) with the same coding: b5
 * chaining, b4-b3 secure messaging, b2-b1 channel 0-3. Further interindustry classes 4X-7X
 * address channels 4-19, which this card does not have. */
static uint16_t decode_class(uint8_t cla, class_kind *kind, unsigned *channel)
{
    if ((cla & 0xC0) == 0x40)
        return EUICC_SW_CHANNEL_NOT_SUPPORTED;
    if ((cla & 0xE0) == 0x00)
        *kind = CLASS_INTERINDUSTRY;
    else if ((cla & 0xE0) == 0x80)
        *kind = CLASS_PROPRIETARY;
    else
        return EUICC_SW_CLA_NOT_SUPPORTED;
    if (cla & 0x10)
        return EUICC_SW_CHAINING_NOT_SUPPORTED;
    if (cla & 0x0C)
        return EUICC_SW_SM_NOT_SUPPORTED;
    *channel = cla & 0x03;
    return EUICC_SW_OK;
}

/* ---------------------------------------------------------------------------------------- */

/* ISO/IEC 7816-4:2005 section 7.1.1 SELECT by DF name (P1 04), first occurrence only;
 * P2 00 returns the FCI (6F), 04 the same content as FCP (62), 0C nothing. */
static uint16_t do_select(euicc_card *card, unsigned channel, const command_apdu *c,
                          response_out *out)
{
    if (c->p1 != 0x04 || (c->p2 != 0x00 && c->p2 != 0x04 && c->p2 != 0x0C))
        return EUICC_SW_WRONG_P1P2;
    if (c->lc == 0)
        return EUICC_SW_WRONG_LENGTH;
    if (c->lc != sizeof euicc_isd_r_aid || memcmp(c->data, euicc_isd_r_aid, c->lc) != 0)
        return EUICC_SW_FILE_NOT_FOUND;

    /* Selecting the ISD-R again starts a fresh ES10 session on this channel. */
    end_session(card, channel);
    card->channels[channel].isd_r_selected = true;
    if (c->p2 == 0x0C)
        return EUICC_SW_OK;

    uint8_t fci[2 + 2 + sizeof euicc_isd_r_aid + sizeof fci_proprietary];
    fci[0] = c->p2 == 0x04 ? 0x62 : 0x6F;
    fci[1] = (uint8_t)(sizeof fci - 2);
    fci[2] = 0x84;
    fci[3] = sizeof euicc_isd_r_aid;
    memcpy(fci + 4, euicc_isd_r_aid, sizeof euicc_isd_r_aid);
    memcpy(fci + 4 + sizeof euicc_isd_r_aid, fci_proprietary, sizeof fci_proprietary);
    return deliver(&card->channels[channel], out, fci, sizeof fci, c->ne, NULL, 0);
}

/* ISO/IEC 7816-4:2005 section 7.1.2 MANAGE CHANNEL. Open (P1 00): P2 00 lets the card pick
 * the lowest free channel and return its number, P2 01-03 names it. A channel opened from a
 * logical channel inherits its selection; from the basic channel it starts with nothing
 * selected. Close (P1 80): P2 names the channel, 00 meaning the one in CLA. */
static uint16_t do_manage_channel(euicc_card *card, unsigned origin, const command_apdu *c,
                                  response_out *out)
{
    if (c->lc != 0)
        return EUICC_SW_WRONG_LENGTH;
    if (c->p1 == 0x80) {
        unsigned target = c->p2 == 0 ? origin : c->p2;
        if (target == 0)
            return EUICC_SW_WRONG_P1P2; /* the basic channel cannot be closed */
        if (target >= EUICC_CARD_CHANNELS || !card->channels[target].open)
            return EUICC_SW_CHANNEL_NOT_SUPPORTED;
        end_session(card, target);
        clear_channel(&card->channels[target]);
        return EUICC_SW_OK;
    }
    if (c->p1 != 0x00)
        return EUICC_SW_WRONG_P1P2;

    unsigned target = c->p2;
    if (target == 0) {
        for (target = 1; target < EUICC_CARD_CHANNELS && card->channels[target].open; target++)
            ;
        if (target == EUICC_CARD_CHANNELS)
            return EUICC_SW_FUNCTION_NOT_SUPPORTED; /* no channel left */
    } else if (target >= EUICC_CARD_CHANNELS) {
        return EUICC_SW_CHANNEL_NOT_SUPPORTED;
    } else if (card->channels[target].open) {
        return EUICC_SW_WRONG_P1P2;
    }
    channel_state *ch = &card->channels[target];
    clear_channel(ch);
    ch->open = true;
    ch->isd_r_selected = origin != 0 && card->channels[origin].isd_r_selected;
    if (c->p2 != 0)
        return EUICC_SW_OK;
    uint8_t number = (uint8_t)target;
    return deliver(&card->channels[origin], out, &number, 1, c->ne, NULL, 0);
}

/* ISO/IEC 7816-4:2005 section 7.6.1 GET RESPONSE. Le is a maximum (section 5.1): fewer
 * bytes than asked is answered with what is left and 9000, never 6Cxx. */
static uint16_t do_get_response(channel_state *ch, const command_apdu *c, response_out *out)
{
    if (c->p1 != 0 || c->p2 != 0)
        return EUICC_SW_WRONG_P1P2;
    if (c->lc != 0 || !c->has_le)
        return EUICC_SW_WRONG_LENGTH;
    if (ch->response == NULL)
        return EUICC_SW_CONDITIONS_NOT_SATISFIED;
    size_t remaining = ch->response_len - ch->response_offset;
    size_t chunk = remaining < c->ne ? remaining : c->ne;
    size_t room = out->cap - 2 - out->len;
    if (chunk > room)
        chunk = room;
    memcpy(out->buf + out->len, ch->response + ch->response_offset, chunk);
    out->len += chunk;
    ch->response_offset += (uint32_t)chunk;
    if (chunk == remaining) {
        discard_response(ch);
        return EUICC_SW_OK;
    }
    return remaining_sw(remaining - chunk);
}

/* ETSI TS 102 221 section 11.1.19 TERMINAL CAPABILITY: one A9 template (its tag 83 carries
 * the device's eUICC-related capabilities), kept until reset. */
static uint16_t do_terminal_capability(euicc_card *card, const command_apdu *c)
{
    if (c->p1 != 0 || c->p2 != 0)
        return EUICC_SW_WRONG_P1P2;
    if (c->lc == 0)
        return EUICC_SW_WRONG_LENGTH;
    der_tlv tlv;
    rsp_error err = {0};
    if (der_parse_single(der_view_make(c->data, c->lc), &tlv, &err) != RSP_OK || tlv.tag != 0xA9)
        return EUICC_SW_WRONG_DATA;
    if (tlv.value.len > sizeof card->terminal_capability)
        return EUICC_SW_NOT_ENOUGH_MEMORY;
    memcpy(card->terminal_capability, tlv.value.data, tlv.value.len);
    card->terminal_capability_len = (uint8_t)tlv.value.len;
    card->has_terminal_capability = true;
    return EUICC_SW_OK;
}

static uint16_t status_to_sw(rsp_status status)
{
    if (status >= RSP_ERR_TRUNCATED && status <= RSP_ERR_TOO_MANY)
        return EUICC_SW_WRONG_DATA;
    switch (status) {
    case RSP_ERR_NO_MEMORY:
    case RSP_ERR_BUFFER_TOO_SMALL:
        return EUICC_SW_NOT_ENOUGH_MEMORY;
    case RSP_ERR_STATE:
        return EUICC_SW_CONDITIONS_NOT_SATISFIED;
    case RSP_ERR_NOT_FOUND:
    case RSP_ERR_UNSUPPORTED:
        return EUICC_SW_REFERENCED_DATA_NOT_FOUND;
    default:
        return EUICC_SW_NO_PRECISE_DIAGNOSIS;
    }
}

/* SGP.22 v2.5 section 5.7.6: three BPP segments open a structure whose content follows in
 * later segments: "BF36 L BF23-TLV", "A1 L" and "A3 L". Their data is a TLV header (plus, for
 * BF36, complete TLVs) with a declared length longer than the data. */
static bool is_bpp_opening_segment(der_view command)
{
    der_reader r;
    der_tlv first;
    rsp_error err = {0};
    if (command.len < 2 || command.len > EUICC_CARD_MAX_COMMAND)
        return false;
    uint32_t tag = 0;
    der_reader_init(&r, command, 0, 0);
    if (!der_reader_peek_tag(&r, &tag) || (tag != 0xBF36 && tag != 0xA1 && tag != 0xA3))
        return false;
    size_t header = tag == 0xBF36 ? 2 : 1;
    size_t length_bytes = 1;
    if (command.data[header] & 0x80)
        length_bytes += command.data[header] & 0x7F;
    if (header + length_bytes > command.len || length_bytes > 4)
        return false;
    size_t declared = 0;
    if (length_bytes == 1) {
        declared = command.data[header];
    } else {
        for (size_t i = 1; i < length_bytes; i++)
            declared = (declared << 8) | command.data[header + i];
    }
    size_t present = command.len - header - length_bytes;
    if (declared <= present)
        return false;
    if (present == 0)
        return tag != 0xBF36;
    /* BF36: what follows the header must be complete TLVs (the InitialiseSecureChannel). */
    der_reader_init(&r, der_view_make(command.data + header + length_bytes, present), 0, 1);
    while (!der_reader_at_end(&r))
        if (der_reader_next(&r, &first, &err) != RSP_OK)
            return false;
    return true;
}

/* SGP.22 section 5.7.2: the joined STORE DATA data is exactly one ES10 command TLV, or a BPP
 * segment (section 5.7.6). */
static uint16_t run_command(euicc_card *card, unsigned channel, der_view command, size_t ne,
                            response_out *out)
{
    der_tlv tlv;
    rsp_error err = {0};
    if (der_parse_single(command, &tlv, &err) != RSP_OK && !is_bpp_opening_segment(command))
        return EUICC_SW_WRONG_DATA;

    der_writer response;
    der_writer_init_dynamic(&response, NULL);
    rsp_status status = card->handler->process(card->ctx, channel, command, &response);
    if (status == RSP_OK)
        status = der_writer_status(&response);
    if (status != RSP_OK) {
        der_writer_free(&response);
        return status_to_sw(status);
    }
    size_t capacity = response.cap;
    size_t len = 0;
    uint8_t *owned = der_writer_take(&response, &len);
    return deliver(&card->channels[channel], out, owned, len, ne, owned, capacity);
}

static bool append_block(channel_state *ch, const uint8_t *data, size_t len)
{
    size_t needed = (size_t)ch->command_len + len;
    if (needed > EUICC_CARD_MAX_COMMAND)
        return false;
    if (needed > ch->command_cap) {
        size_t cap = ch->command_cap ? ch->command_cap : 256;
        while (cap < needed)
            cap *= 2;
        if (cap > EUICC_CARD_MAX_COMMAND)
            cap = EUICC_CARD_MAX_COMMAND;
        uint8_t *grown = realloc(ch->command, cap);
        if (grown == NULL)
            return false;
        ch->command = grown;
        ch->command_cap = (uint32_t)cap;
    }
    memcpy(ch->command + ch->command_len, data, len);
    ch->command_len = (uint32_t)needed;
    return true;
}

/* GPCS section 11.11 STORE DATA as profiled by SGP.22 section 5.7.2: P1 11 (more blocks) or
 * 91 (last block), both "BER-TLV, response expected"; P2 numbers the blocks from 00. Any
 * error discards the whole sequence, so the LPA restarts it from block 00. */
static uint16_t do_store_data(euicc_card *card, unsigned channel, const command_apdu *c,
                              response_out *out)
{
    channel_state *ch = &card->channels[channel];
    uint16_t sw = EUICC_SW_OK;
    bool last = c->p1 == 0x91;
    if (!ch->isd_r_selected)
        sw = EUICC_SW_COMMAND_NOT_ALLOWED;
    else if (c->p1 != 0x11 && c->p1 != 0x91)
        sw = EUICC_SW_WRONG_P1P2;
    else if (c->lc == 0)
        sw = EUICC_SW_WRONG_LENGTH;
    else if (c->p2 != ch->next_block)
        sw = EUICC_SW_WRONG_P1P2; /* a gap, a repeat, or a new sequence cutting in */
    if (sw != EUICC_SW_OK) {
        discard_sequence(ch);
        return sw;
    }

    if (last && c->p2 == 0) /* a one-block command needs no copy */
        return run_command(card, channel, der_view_make(c->data, c->lc), c->ne, out);
    if (!append_block(ch, c->data, c->lc)) {
        discard_sequence(ch);
        return EUICC_SW_NOT_ENOUGH_MEMORY;
    }
    if (!last) {
        ch->next_block++;
        return EUICC_SW_OK;
    }
    sw = run_command(card, channel, der_view_make(ch->command, ch->command_len), c->ne, out);
    discard_sequence(ch);
    return sw;
}

/* ---------------------------------------------------------------------------------------- */

static uint16_t dispatch(euicc_card *card, const command_apdu *c, response_out *out)
{
    class_kind kind;
    unsigned channel = 0;
    uint16_t sw = decode_class(c->cla, &kind, &channel);
    if (sw != EUICC_SW_OK)
        return sw;

    class_kind expected;
    switch (c->ins) {
    case INS_SELECT:
    case INS_MANAGE_CHANNEL:
        expected = CLASS_INTERINDUSTRY;
        break;
    case INS_GET_RESPONSE:
        /* LPAs in the field (lpac) fetch ES10 responses with CLA 8X, and eUICCs accept it:
         * GET RESPONSE is taken in either class. */
        expected = kind;
        break;
    case INS_STORE_DATA:
    case INS_TERMINAL_CAPABILITY:
        expected = CLASS_PROPRIETARY;
        break;
    default:
        return EUICC_SW_INS_NOT_SUPPORTED;
    }
    if (kind != expected)
        return EUICC_SW_CLA_NOT_SUPPORTED;

    /* ISO/IEC 7816-4:2005 section 5.5: commands on a closed channel are refused. */
    channel_state *ch = &card->channels[channel];
    if (!ch->open)
        return EUICC_SW_CHANNEL_NOT_SUPPORTED;
    /* A pending response survives only until the next command on its channel (section
     * 7.6.1); a STORE DATA sequence only while its blocks follow each other. */
    if (c->ins != INS_GET_RESPONSE)
        discard_response(ch);
    if (c->ins != INS_STORE_DATA)
        discard_sequence(ch);

    switch (c->ins) {
    case INS_SELECT:
        return do_select(card, channel, c, out);
    case INS_MANAGE_CHANNEL:
        return do_manage_channel(card, channel, c, out);
    case INS_GET_RESPONSE:
        return do_get_response(ch, c, out);
    case INS_STORE_DATA:
        return do_store_data(card, channel, c, out);
    default:
        return do_terminal_capability(card, c);
    }
}

size_t euicc_card_transmit(euicc_card *card, const uint8_t *apdu, size_t len, uint8_t *resp,
                           size_t resp_cap)
{
    if (resp == NULL || resp_cap < 2)
        return 0;
    response_out out = {resp, resp_cap, 0};
    command_apdu command;
    uint16_t sw;
    if (card == NULL || apdu == NULL)
        sw = EUICC_SW_NO_PRECISE_DIAGNOSIS;
    else if (!parse_apdu(apdu, len, &command))
        sw = EUICC_SW_WRONG_LENGTH;
    else
        sw = dispatch(card, &command, &out);
    if ((sw & 0xFF00) != EUICC_SW_BYTES_REMAINING && sw != EUICC_SW_OK)
        out.len = 0; /* errors carry no data */
    return finish(&out, sw);
}

/* ---------------------------------------------------------------------------------------- */

euicc_card *euicc_card_new(const euicc_card_handler *handler, void *ctx)
{
    if (handler == NULL || handler->process == NULL)
        return NULL;
    euicc_card *card = calloc(1, sizeof *card);
    if (card == NULL)
        return NULL;
    card->handler = handler;
    card->ctx = ctx;
    card->channels[0].open = true;
    return card;
}

void euicc_card_free(euicc_card *card)
{
    if (card == NULL)
        return;
    for (unsigned i = 0; i < EUICC_CARD_CHANNELS; i++)
        clear_channel(&card->channels[i]);
    free(card);
}

/* ISO/IEC 7816-3:2006 section 6.2: after a reset only the basic channel exists and no
 * application is selected on it. */
void euicc_card_reset(euicc_card *card)
{
    for (unsigned i = 0; i < EUICC_CARD_CHANNELS; i++)
        clear_channel(&card->channels[i]);
    card->channels[0].open = true;
    card->terminal_capability_len = 0;
    card->has_terminal_capability = false;
    if (card->handler->reset != NULL)
        card->handler->reset(card->ctx);
}

const uint8_t *euicc_card_atr(const euicc_card *card, size_t *len)
{
    (void)card;
    *len = sizeof card_atr;
    return card_atr;
}

size_t euicc_card_bytes_held(const euicc_card *card)
{
    size_t held = 0;
    for (unsigned i = 0; i < EUICC_CARD_CHANNELS; i++)
        held += card->channels[i].command_cap + card->channels[i].response_cap;
    return held;
}

const uint8_t *euicc_card_terminal_capability(const euicc_card *card, size_t *len)
{
    *len = card->terminal_capability_len;
    return card->has_terminal_capability ? card->terminal_capability : NULL;
}
