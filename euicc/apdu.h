/* The software eUICC as a card: an ISO/IEC 7816-4 APDU front end in front of the ISD-R.
 *
 * It owns everything that makes the ES10 logic reachable like a real eUICC: the ATR, logical
 * channels (0-3), SELECT of the ISD-R, TERMINAL CAPABILITY, the STORE DATA block sequences of
 * SGP.22 section 5.7.2 and the 61xx / GET RESPONSE delivery of long responses. The ES10 logic
 * itself plugs in through euicc_card_handler and only ever sees one complete command TLV per
 * call.
 *
 * Memory: an idle card (no STORE DATA sequence open, no response pending) holds no heap memory
 * beyond its own struct (see EUICC_CARD_IDLE_BYTES). Command and response buffers are
 * allocated when an exchange starts and freed when it completes, so a fleet simulator can keep
 * very many cards in one process.
 *
 * A card is not thread-safe; a face serialises access to it. */
#ifndef RSPKIT_EUICC_APDU_H
#define RSPKIT_EUICC_APDU_H

#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"

#define EUICC_CARD_CHANNELS 4 /* basic channel 0 plus logical channels 1-3 */
/* Upper bound of one STORE DATA sequence. Far above any ES10 command (the largest, a BPP
 * segment or AuthenticateServer, is a few KiB) and below 256 blocks of 255 bytes, so the
 * bound is reachable with valid block numbers rather than shadowed by them. */
#define EUICC_CARD_MAX_COMMAND             32768u
#define EUICC_CARD_MAX_TERMINAL_CAPABILITY 32u
/* Upper bound of sizeof(euicc_card), enforced by a static assertion in apdu.c. */
#define EUICC_CARD_IDLE_BYTES 320u

/* ISD-R AID, SGP.22 section 2.2.3. */
extern const uint8_t euicc_isd_r_aid[16];

/* Status words used by the front end (ISO/IEC 7816-4:2005 section 5.1.3, tables 5 and 6). */
enum {
    EUICC_SW_OK = 0x9000,
    EUICC_SW_BYTES_REMAINING = 0x6100, /* low byte: bytes still available (00: >= 256) */
    EUICC_SW_WRONG_LENGTH = 0x6700,
    EUICC_SW_CHANNEL_NOT_SUPPORTED = 0x6881,
    EUICC_SW_SM_NOT_SUPPORTED = 0x6882,
    EUICC_SW_CHAINING_NOT_SUPPORTED = 0x6884,
    EUICC_SW_CONDITIONS_NOT_SATISFIED = 0x6985,
    EUICC_SW_COMMAND_NOT_ALLOWED = 0x6986, /* no application selected on the channel */
    EUICC_SW_WRONG_DATA = 0x6A80,
    EUICC_SW_FUNCTION_NOT_SUPPORTED = 0x6A81,
    EUICC_SW_FILE_NOT_FOUND = 0x6A82,
    EUICC_SW_NOT_ENOUGH_MEMORY = 0x6A84,
    EUICC_SW_WRONG_P1P2 = 0x6A86,
    EUICC_SW_REFERENCED_DATA_NOT_FOUND = 0x6A88,
    EUICC_SW_INS_NOT_SUPPORTED = 0x6D00,
    EUICC_SW_CLA_NOT_SUPPORTED = 0x6E00,
    EUICC_SW_NO_PRECISE_DIAGNOSIS = 0x6F00,
};

/* The ES10 layer. Callbacks may be NULL except process. */
typedef struct {
    /* One complete ES10 command TLV (all STORE DATA blocks of a sequence joined) received on
     * channel with the ISD-R selected, or a BPP segment that opens a structure continued in
     * later sequences ("BF36 L BF23-TLV", "A1 L", "A3 L"; SGP.22 v2.5 section 5.7.6). Write the
     * response TLV into response (a dynamic writer owned by the front end; writing nothing is an
     * empty response). RSP_OK gives 9000/61xx; an error status maps to a status word and discards
     * the response: decoding errors -> 6A80, RSP_ERR_NO_MEMORY/BUFFER_TOO_SMALL -> 6A84,
     * RSP_ERR_STATE -> 6985, RSP_ERR_NOT_FOUND/UNSUPPORTED -> 6A88, anything else -> 6F00. */
    rsp_status (*process)(void *ctx, unsigned channel, der_view command, der_writer *response);
    /* The ES10 session on channel ended: the channel was closed, or the ISD-R was selected
     * again on it. Drop per-channel state. Not called for a card reset (see reset). */
    void (*channel_closed)(void *ctx, unsigned channel);
    /* The card was reset (or powered off): all channels are gone. */
    void (*reset)(void *ctx);
} euicc_card_handler;

typedef struct euicc_card euicc_card;

/* handler is borrowed and must outlive the card. Returns NULL when out of memory or when
 * handler->process is NULL. The new card is in its after-reset state. */
euicc_card *euicc_card_new(const euicc_card_handler *handler, void *ctx);
void euicc_card_free(euicc_card *card);

/* Processes one command APDU (short length fields only) and writes the response APDU (data
 * followed by SW1 SW2) into resp. Returns the response length including the status word, or
 * 0 when resp_cap < 2. A resp_cap below 258 only shortens the chunks handed out: the rest
 * stays pending behind 61xx. */
size_t euicc_card_transmit(euicc_card *card, const uint8_t *apdu, size_t len, uint8_t *resp,
                           size_t resp_cap);

/* Warm/cold reset: closes logical channels 1-3, deselects the ISD-R, discards every open
 * sequence and pending response, forgets the terminal capability, notifies handler->reset. */
void euicc_card_reset(euicc_card *card);

/* The answer-to-reset; static storage, valid for the life of the program. */
const uint8_t *euicc_card_atr(const euicc_card *card, size_t *len);

/* Heap bytes the card holds right now for sequences and pending responses (its own struct not
 * included). 0 for an idle card. */
size_t euicc_card_bytes_held(const euicc_card *card);

/* The value of the last TERMINAL CAPABILITY template (A9) received since reset; NULL and
 * *len = 0 when none was received. */
const uint8_t *euicc_card_terminal_capability(const euicc_card *card, size_t *len);

#endif
