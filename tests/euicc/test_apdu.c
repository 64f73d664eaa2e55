/* APDU front end of the software eUICC, driven with a fake ES10 handler whose responses are
 * echoes, sized patterns or errors. Expected APDUs and status words are written out by hand
 * from ISO/IEC 7816-4, GlobalPlatform and SGP.22 section 5.7.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "euicc/apdu.h"

#define ISD_R_AID_HEX  "A0000005591010FFFFFFFF8900000100"
#define SELECT_ISD_R   "00A4040010" ISD_R_AID_HEX "00"
#define GET_EUICC_DATA "BF3E035C015A"

typedef enum { MODE_ECHO, MODE_SIZED, MODE_FAIL } fake_mode;

typedef struct {
    fake_mode mode;
    size_t response_size;   /* MODE_SIZED: pattern bytes written */
    rsp_status fail_status; /* MODE_FAIL */
    unsigned calls;
    unsigned last_channel;
    uint8_t last_command[40000];
    size_t last_command_len;
    unsigned closed[EUICC_CARD_CHANNELS];
    unsigned resets;
} fake_es10;

static rsp_status fake_process(void *ctx, unsigned channel, der_view command, der_writer *response)
{
    fake_es10 *fake = ctx;
    fake->calls++;
    fake->last_channel = channel;
    fake->last_command_len = command.len;
    if (command.len <= sizeof fake->last_command)
        memcpy(fake->last_command, command.data, command.len);
    switch (fake->mode) {
    case MODE_ECHO:
        der_put_raw(response, command.data, command.len);
        return RSP_OK;
    case MODE_SIZED:
        for (size_t i = 0; i < fake->response_size; i++) {
            uint8_t byte = (uint8_t)(i * 7 + 3);
            der_put_raw(response, &byte, 1);
        }
        return RSP_OK;
    default:
        der_put_raw(response, command.data, command.len); /* must not reach the wire */
        return fake->fail_status;
    }
}

static void fake_channel_closed(void *ctx, unsigned channel)
{
    fake_es10 *fake = ctx;
    fake->closed[channel]++;
}

static void fake_reset(void *ctx)
{
    fake_es10 *fake = ctx;
    fake->resets++;
}

static const euicc_card_handler fake_handler = {fake_process, fake_channel_closed, fake_reset};

typedef struct {
    fake_es10 fake;
    euicc_card *card;
    uint8_t resp[300];
    size_t resp_len;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->card = euicc_card_new(&fake_handler, &f->fake);
    if (f->card == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    euicc_card_free(f->card);
    free(f);
    return 0;
}

/* Sends a hex APDU; returns the status word and leaves the response in f->resp. */
static unsigned send_hex(fixture *f, const char *hex)
{
    uint8_t apdu[300];
    long len = der_hex_decode(hex, apdu, sizeof apdu);
    assert_true(len >= 0);
    f->resp_len = euicc_card_transmit(f->card, apdu, (size_t)len, f->resp, sizeof f->resp);
    assert_true(f->resp_len >= 2);
    return (unsigned)(f->resp[f->resp_len - 2] << 8 | f->resp[f->resp_len - 1]);
}

static size_t data_len(const fixture *f)
{
    return f->resp_len - 2;
}

static void assert_data_hex(const fixture *f, const char *hex)
{
    uint8_t expected[300];
    long len = der_hex_decode(hex, expected, sizeof expected);
    assert_true(len >= 0);
    assert_int_equal(data_len(f), (size_t)len);
    assert_memory_equal(f->resp, expected, (size_t)len);
}

/* Sends one STORE DATA block (class byte cla) carrying data. */
static unsigned store_block(fixture *f, uint8_t cla, uint8_t p1, uint8_t p2, const uint8_t *data,
                            size_t len, bool with_le)
{
    uint8_t apdu[300];
    assert_true(len >= 1 && len <= 255);
    apdu[0] = cla;
    apdu[1] = 0xE2;
    apdu[2] = p1;
    apdu[3] = p2;
    apdu[4] = (uint8_t)len;
    memcpy(apdu + 5, data, len);
    size_t apdu_len = 5 + len;
    if (with_le)
        apdu[apdu_len++] = 0x00;
    f->resp_len = euicc_card_transmit(f->card, apdu, apdu_len, f->resp, sizeof f->resp);
    assert_true(f->resp_len >= 2);
    return (unsigned)(f->resp[f->resp_len - 2] << 8 | f->resp[f->resp_len - 1]);
}

/* A BER-TLV command BF3E <len> 04 <len-2> <pattern> of total bytes, to split into blocks. */
static size_t build_command(uint8_t *out, size_t total)
{
    assert_true(total >= 8 && total < 65536);
    size_t outer = total - 5; /* BF3E 82 xx xx */
    size_t inner = outer - 4; /* 04 82 xx xx */
    out[0] = 0xBF;
    out[1] = 0x3E;
    out[2] = 0x82;
    out[3] = (uint8_t)(outer >> 8);
    out[4] = (uint8_t)outer;
    out[5] = 0x04;
    out[6] = 0x82;
    out[7] = (uint8_t)(inner >> 8);
    out[8] = (uint8_t)inner;
    for (size_t i = 9; i < total; i++)
        out[i] = (uint8_t)(i * 13);
    return total;
}

/* ---------------------------------------------------------------------------------------- */

static void test_atr_is_well_formed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    const uint8_t *atr = euicc_card_atr(f->card, &len);
    assert_true(len >= 2 && len <= 33);
    assert_int_equal(atr[0], 0x3B);
    /* T=15 is indicated, so TCK must make the XOR of T0..TCK zero (ISO/IEC 7816-3 8.2.5). */
    uint8_t check = 0;
    for (size_t i = 1; i < len; i++)
        check ^= atr[i];
    assert_int_equal(check, 0);
    /* Historical bytes count K in T0 matches the layout: TS T0 TA1 TD1 TD2 TA3 K TCK. */
    assert_int_equal(len, 6 + (atr[1] & 0x0F) + 1);
}

static void test_select_isd_r_returns_fci(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    assert_data_hex(f, "6F188410" ISD_R_AID_HEX "A5049F6501FF");
    assert_int_equal(send_hex(f, "00A4040C10" ISD_R_AID_HEX), 0x9000);
    assert_int_equal(data_len(f), 0);
    assert_int_equal(send_hex(f, "00A4040410" ISD_R_AID_HEX "00"), 0x9000);
    assert_data_hex(f, "62188410" ISD_R_AID_HEX "A5049F6501FF");
}

static void test_select_without_le_uses_get_response(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, "00A4040010" ISD_R_AID_HEX), 0x611A);
    assert_int_equal(data_len(f), 0);
    assert_true(euicc_card_bytes_held(f->card) > 0);
    assert_int_equal(send_hex(f, "00C000001A"), 0x9000);
    assert_data_hex(f, "6F188410" ISD_R_AID_HEX "A5049F6501FF");
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
}

static void test_select_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, "00A4040010A0000005591010FFFFFFFF8900000200"), 0x6A82);
    assert_int_equal(send_hex(f, "00A404000AA0000005591010FFFFFF"), 0x6A82); /* partial */
    assert_int_equal(send_hex(f, "00A4000002 3F00"), 0x6A86);
    assert_int_equal(send_hex(f, "00A4040210" ISD_R_AID_HEX), 0x6A86); /* next occurrence */
    assert_int_equal(send_hex(f, "00A40400"), 0x6700);
    /* A failed SELECT leaves nothing selected, so ES10 commands are refused. */
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x6986);
    assert_int_equal(f->fake.calls, 0);
}

static void test_store_data_single_block(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x9000);
    assert_data_hex(f, GET_EUICC_DATA);
    assert_int_equal(f->fake.calls, 1);
    assert_int_equal(f->fake.last_channel, 0);
    /* Without Le the response waits behind 61xx (T=0 style, as LPAs expect). */
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x6106);
    assert_int_equal(send_hex(f, "00C0000000"), 0x9000);
    assert_data_hex(f, GET_EUICC_DATA);
    /* An empty response is a bare 9000. */
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = 0;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x9000);
    assert_int_equal(data_len(f), 0);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
}

static void test_store_data_multi_block(void **state)
{
    fixture *f = *state;
    static uint8_t command[700];
    size_t total = build_command(command, sizeof command);
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = 3;
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x9000);
    assert_int_equal(data_len(f), 0);
    assert_true(euicc_card_bytes_held(f->card) >= 255);
    assert_int_equal(store_block(f, 0x80, 0x11, 1, command + 255, 255, false), 0x9000);
    assert_int_equal(f->fake.calls, 0);
    assert_int_equal(store_block(f, 0x80, 0x91, 2, command + 510, total - 510, true), 0x9000);
    assert_int_equal(f->fake.calls, 1);
    assert_int_equal(f->fake.last_command_len, total);
    assert_memory_equal(f->fake.last_command, command, total);
    assert_data_hex(f, "030A11");
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
}

static void test_store_data_block_gap_discards_sequence(void **state)
{
    fixture *f = *state;
    static uint8_t command[600];
    size_t total = build_command(command, sizeof command);
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x11, 2, command + 255, 255, false), 0x6A86);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    /* The sequence is gone: its next block is a gap too. */
    assert_int_equal(store_block(f, 0x80, 0x91, 1, command + 255, 255, false), 0x6A86);
    /* A block repeated, and a new sequence cutting into an open one. */
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x6A86);
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x11, 1, command + 255, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x91, 0, command, 255, false), 0x6A86);
    assert_int_equal(f->fake.calls, 0);
    /* A clean retry succeeds. */
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x11, 1, command + 255, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x91, 2, command + 510, total - 510, true), 0x6100);
    assert_int_equal(f->fake.calls, 1);
    assert_memory_equal(f->fake.last_command, command, total);
}

static void test_store_data_other_command_aborts_sequence(void **state)
{
    fixture *f = *state;
    static uint8_t command[300];
    size_t total = build_command(command, sizeof command);
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    assert_int_equal(store_block(f, 0x80, 0x11, 0, command, 255, false), 0x9000);
    assert_int_equal(send_hex(f, "80AA000005A903830107"), 0x9000);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    assert_int_equal(store_block(f, 0x80, 0x91, 1, command + 255, total - 255, false), 0x6A86);
}

static void test_store_data_p1_and_length(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    /* SGP.22 fixes P1 to 11/91: "no structure" (01/81) and DGI (09/89) are refused. */
    assert_int_equal(send_hex(f, "80E2810006" GET_EUICC_DATA), 0x6A86);
    assert_int_equal(send_hex(f, "80E2010006" GET_EUICC_DATA), 0x6A86);
    assert_int_equal(send_hex(f, "80E2890006" GET_EUICC_DATA), 0x6A86);
    assert_int_equal(send_hex(f, "80E29100"), 0x6700);
    assert_int_equal(send_hex(f, "80E2910000"), 0x6700);
    assert_int_equal(send_hex(f, "80E2910007" GET_EUICC_DATA), 0x6700); /* Lc too long */
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "0000"), 0x6700);
    assert_int_equal(f->fake.calls, 0);
}

static void test_store_data_bounded(void **state)
{
    fixture *f = *state;
    static uint8_t block[255];
    memset(block, 0x42, sizeof block);
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    unsigned blocks = EUICC_CARD_MAX_COMMAND / 255; /* these still fit */
    for (unsigned i = 0; i < blocks; i++)
        assert_int_equal(store_block(f, 0x80, 0x11, (uint8_t)i, block, 255, false), 0x9000);
    assert_true(euicc_card_bytes_held(f->card) <= EUICC_CARD_MAX_COMMAND);
    assert_int_equal(store_block(f, 0x80, 0x91, (uint8_t)blocks, block, 255, false), 0x6A84);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    assert_int_equal(f->fake.calls, 0);
}

static void test_long_response_via_get_response(void **state)
{
    fixture *f = *state;
    uint8_t all[600];
    size_t got = 0;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = sizeof all;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x6100);
    assert_int_equal(data_len(f), 256);
    memcpy(all + got, f->resp, 256);
    got += 256;
    assert_true(euicc_card_bytes_held(f->card) >= sizeof all);
    /* lpac's class for GET RESPONSE (80) works as well as the interindustry one. */
    assert_int_equal(send_hex(f, "80C0000000"), 0x6158);
    assert_int_equal(data_len(f), 256);
    memcpy(all + got, f->resp, 256);
    got += 256;
    /* Asking for more than is left yields what is left (no 6Cxx). */
    assert_int_equal(send_hex(f, "00C0000000"), 0x9000);
    assert_int_equal(data_len(f), 0x58);
    memcpy(all + got, f->resp, 0x58);
    got += 0x58;
    assert_int_equal(got, sizeof all);
    for (size_t i = 0; i < sizeof all; i++)
        assert_int_equal(all[i], (uint8_t)(i * 7 + 3));
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    assert_int_equal(send_hex(f, "00C0000000"), 0x6985); /* nothing pending */
}

static void test_get_response_with_short_le_and_small_buffer(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = 40;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x6128);
    assert_int_equal(send_hex(f, "00C0000010"), 0x6118);
    assert_int_equal(data_len(f), 16);
    assert_int_equal(f->resp[0], 3);
    assert_int_equal(send_hex(f, "00C0010000"), 0x6A86);
    /* An error does not consume the pending response, a 10-byte buffer gets 8-byte chunks. */
    uint8_t apdu[] = {0x00, 0xC0, 0x00, 0x00, 0x00};
    uint8_t small[10];
    size_t n = euicc_card_transmit(f->card, apdu, sizeof apdu, small, sizeof small);
    assert_int_equal(n, 10);
    assert_int_equal(small[0], (uint8_t)(16 * 7 + 3));
    assert_int_equal(small[8], 0x61);
    assert_int_equal(small[9], 0x10);
    assert_int_equal(euicc_card_transmit(f->card, apdu, sizeof apdu, small, 1), 0);
    assert_int_equal(send_hex(f, "00C0000010"), 0x9000);
    assert_int_equal(f->resp[15], (uint8_t)(39 * 7 + 3));
    assert_int_equal(send_hex(f, "00C00000"), 0x6700); /* no Le */
}

static void test_other_command_discards_pending_response(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = 1000;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x6100);
    assert_true(euicc_card_bytes_held(f->card) >= 1000);
    assert_int_equal(send_hex(f, "00A4040C10" ISD_R_AID_HEX), 0x9000);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    assert_int_equal(send_hex(f, "00C0000000"), 0x6985);
}

static void test_handler_errors_map_to_status_words(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    f->fake.mode = MODE_FAIL;
    f->fake.fail_status = RSP_ERR_STATE;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x6985);
    assert_int_equal(data_len(f), 0);
    f->fake.fail_status = RSP_ERR_BAD_VALUE;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x6A80);
    f->fake.fail_status = RSP_ERR_UNSUPPORTED;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x6A88);
    f->fake.fail_status = RSP_ERR_NO_MEMORY;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x6A84);
    f->fake.fail_status = RSP_ERR_CRYPTO;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA "00"), 0x6F00);
    assert_int_equal(f->fake.calls, 5);
    /* Data that is not exactly one TLV never reaches the handler. */
    assert_int_equal(send_hex(f, "80E2910006BF3E055C015A"), 0x6A80);
    assert_int_equal(send_hex(f, "80E2910007" GET_EUICC_DATA "00"
                                 "00"),
                     0x6A80);
    assert_int_equal(f->fake.calls, 5);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
}

static void test_manage_channel_open_and_close(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_data_hex(f, "01");
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_data_hex(f, "02");
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_data_hex(f, "03");
    assert_int_equal(send_hex(f, "0070000001"), 0x6A81);   /* none left */
    assert_int_equal(send_hex(f, "007080020100"), 0x6700); /* MANAGE CHANNEL carries no data */
    assert_int_equal(send_hex(f, "00708002"), 0x9000);
    assert_int_equal(send_hex(f, "02A4040C10" ISD_R_AID_HEX), 0x6881); /* closed */
    assert_int_equal(send_hex(f, "00700002"), 0x9000);                 /* reopen by number */
    assert_int_equal(send_hex(f, "00700002"), 0x6A86);                 /* already open */
    assert_int_equal(send_hex(f, "00700004"), 0x6881);
    assert_int_equal(send_hex(f, "00708000"), 0x6A86); /* basic channel stays */
    assert_int_equal(send_hex(f, "03708000"), 0x9000); /* close the channel in CLA */
    assert_int_equal(send_hex(f, "03708000"), 0x6881);
    assert_int_equal(send_hex(f, "00700100"), 0x6A86);
    /* Without Le the channel number waits behind 6101. */
    assert_int_equal(send_hex(f, "00700000"), 0x6101);
    assert_int_equal(send_hex(f, "00C0000001"), 0x9000);
    assert_data_hex(f, "03");
    /* Channels 4-19 (further interindustry class) do not exist. */
    assert_int_equal(send_hex(f, "40A4040C10" ISD_R_AID_HEX), 0x6881);
}

static void test_channels_are_independent(void **state)
{
    fixture *f = *state;
    static uint8_t one[400], two[500];
    build_command(one, sizeof one);
    build_command(two, sizeof two);
    two[9] = 0xEE;
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_int_equal(send_hex(f, "01A4040C10" ISD_R_AID_HEX), 0x9000);
    assert_int_equal(store_block(f, 0x82, 0x91, 0, one, 8, false), 0x6986); /* no ISD-R on 2 */
    assert_int_equal(send_hex(f, "02A4040C10" ISD_R_AID_HEX), 0x9000);
    /* Interleaved sequences on channels 1 and 2. */
    assert_int_equal(store_block(f, 0x81, 0x11, 0, one, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x82, 0x11, 0, two, 255, false), 0x9000);
    assert_int_equal(store_block(f, 0x82, 0x91, 1, two + 255, sizeof two - 255, true), 0x61F4);
    assert_int_equal(f->fake.last_channel, 2);
    assert_int_equal(f->fake.last_command_len, sizeof two);
    assert_memory_equal(f->fake.last_command, two, sizeof two);
    assert_memory_equal(f->resp, two, 256);
    assert_int_equal(store_block(f, 0x81, 0x91, 1, one + 255, sizeof one - 255, false), 0x6100);
    assert_int_equal(f->fake.last_channel, 1);
    assert_memory_equal(f->fake.last_command, one, sizeof one);
    /* Each channel keeps its own pending response. */
    assert_int_equal(send_hex(f, "02C0000000"), 0x9000);
    assert_int_equal(data_len(f), sizeof two - 256);
    assert_memory_equal(f->resp, two + 256, sizeof two - 256);
    assert_int_equal(send_hex(f, "01C0000000"), 0x6190);
    assert_memory_equal(f->resp, one, 256);
    assert_int_equal(send_hex(f, "01C0000000"), 0x9000);
    assert_int_equal(data_len(f), sizeof one - 256);
    assert_memory_equal(f->resp, one + 256, sizeof one - 256);
    /* A channel opened from channel 1 inherits the ISD-R; closing ends the session. */
    assert_int_equal(send_hex(f, "0170000001"), 0x9000);
    assert_data_hex(f, "03");
    assert_int_equal(send_hex(f, "83E2910006" GET_EUICC_DATA "00"), 0x9000);
    assert_int_equal(send_hex(f, "00708003"), 0x9000);
    assert_int_equal(f->fake.closed[3], 1);
    assert_int_equal(send_hex(f, "00708001"), 0x9000);
    assert_int_equal(f->fake.closed[1], 1);
    assert_int_equal(f->fake.closed[2], 0);
    /* Selecting the ISD-R again on a channel ends its session too. */
    assert_int_equal(send_hex(f, "02A4040C10" ISD_R_AID_HEX), 0x9000);
    assert_int_equal(f->fake.closed[2], 1);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
}

static void test_class_and_instruction_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, "A0A4040C10" ISD_R_AID_HEX), 0x6E00);
    assert_int_equal(send_hex(f, "FFA4040C10" ISD_R_AID_HEX), 0x6E00);
    assert_int_equal(send_hex(f, "80A4040C10" ISD_R_AID_HEX), 0x6E00); /* SELECT is 0X */
    assert_int_equal(send_hex(f, "00A4040C10" ISD_R_AID_HEX), 0x9000);
    assert_int_equal(send_hex(f, "00E2910006" GET_EUICC_DATA), 0x6E00); /* STORE DATA is 8X */
    assert_int_equal(send_hex(f, "10A4040C10" ISD_R_AID_HEX), 0x6884);  /* chaining */
    assert_int_equal(send_hex(f, "84E2910006" GET_EUICC_DATA), 0x6882); /* secure messaging */
    assert_int_equal(send_hex(f, "A0C0000000"), 0x6E00); /* GET RESPONSE: 0X or 8X only */
    assert_int_equal(send_hex(f, "00CA005A00"), 0x6D00);
    assert_int_equal(send_hex(f, "80CA005A00"), 0x6D00);
    assert_int_equal(f->fake.calls, 0);
}

static void test_length_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(send_hex(f, "00A404"), 0x6700);
    assert_int_equal(send_hex(f, ""), 0x6700);
    assert_int_equal(send_hex(f, "00A4040C11" ISD_R_AID_HEX), 0x6700);        /* Lc > data */
    assert_int_equal(send_hex(f, "00A4040C0F" ISD_R_AID_HEX "0000"), 0x6700); /* Lc < data */
    assert_int_equal(send_hex(f, "00A4040C000010" ISD_R_AID_HEX), 0x6700);    /* extended */
}

static void test_terminal_capability(void **state)
{
    fixture *f = *state;
    size_t len = 1;
    assert_null(euicc_card_terminal_capability(f->card, &len));
    assert_int_equal(len, 0);
    assert_int_equal(send_hex(f, "80AA00000AA9088100820101830107"), 0x9000);
    const uint8_t *value = euicc_card_terminal_capability(f->card, &len);
    assert_non_null(value);
    assert_int_equal(len, 8);
    assert_memory_equal(value, "\x81\x00\x82\x01\x01\x83\x01\x07", 8);
    assert_int_equal(send_hex(f, "80AA000003A80100"), 0x6A80);   /* not A9 */
    assert_int_equal(send_hex(f, "80AA000004A9048100"), 0x6A80); /* truncated */
    assert_int_equal(send_hex(f, "80AA010005A903830107"), 0x6A86);
    assert_int_equal(send_hex(f, "80AA0000"), 0x6700);
    assert_int_equal(send_hex(f, "00AA000005A903830107"), 0x6E00);
    /* Rejected commands keep the accepted capability. */
    assert_non_null(euicc_card_terminal_capability(f->card, &len));
    euicc_card_reset(f->card);
    assert_null(euicc_card_terminal_capability(f->card, &len));
}

static void test_reset_clears_every_channel(void **state)
{
    fixture *f = *state;
    static uint8_t command[300];
    build_command(command, sizeof command);
    assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_int_equal(send_hex(f, "01A4040C10" ISD_R_AID_HEX), 0x9000);
    assert_int_equal(store_block(f, 0x81, 0x11, 0, command, 255, false), 0x9000);
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = 2000;
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x6100);
    assert_true(euicc_card_bytes_held(f->card) > 2000);

    euicc_card_reset(f->card);
    assert_int_equal(f->fake.resets, 1);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    assert_int_equal(send_hex(f, "01A4040C10" ISD_R_AID_HEX), 0x6881);
    assert_int_equal(send_hex(f, "00C0000000"), 0x6985);
    assert_int_equal(send_hex(f, "80E2910006" GET_EUICC_DATA), 0x6986);
    assert_int_equal(send_hex(f, "0070000001"), 0x9000);
    assert_data_hex(f, "01");
}

static void test_idle_card_is_small(void **state)
{
    fixture *f = *state;
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
    assert_null(euicc_card_new(NULL, NULL));
    euicc_card_handler no_process = {NULL, NULL, NULL};
    assert_null(euicc_card_new(&no_process, NULL));
    /* A handler without notifications is fine. */
    euicc_card_handler minimal = {fake_process, NULL, NULL};
    euicc_card *card = euicc_card_new(&minimal, &f->fake);
    assert_non_null(card);
    uint8_t apdu[] = {0x00, 0x70, 0x00, 0x00, 0x01};
    uint8_t resp[8];
    assert_int_equal(euicc_card_transmit(card, apdu, sizeof apdu, resp, sizeof resp), 3);
    uint8_t close[] = {0x00, 0x70, 0x80, 0x01};
    assert_int_equal(euicc_card_transmit(card, close, sizeof close, resp, sizeof resp), 2);
    euicc_card_reset(card);
    euicc_card_free(card);
}

/* Random APDUs, most with a valid header: every answer ends in a status word, no state leaks
 * (run under ASan in CI). */
static void test_random_apdus_never_break_the_card(void **state)
{
    fixture *f = *state;
    static const uint8_t classes[] = {0x00, 0x01, 0x02, 0x03, 0x80, 0x81, 0x82, 0x83, 0x40};
    static const uint8_t instructions[] = {0xA4, 0x70, 0xC0, 0xE2, 0xAA, 0xCA};
    uint32_t seed = 12345;
    f->fake.mode = MODE_SIZED;
    f->fake.response_size = 700;
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t apdu[270], resp[260];
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 24;
        if (len == 23)
            len = 4 + (seed >> 8) % 262;
        for (size_t j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            apdu[j] = (uint8_t)(seed >> 16);
        }
        if (len >= 4 && (seed & 0x300) != 0) {
            apdu[0] = classes[(seed >> 20) % sizeof classes];
            apdu[1] = instructions[(seed >> 24) % sizeof instructions];
        }
        if (i % 97 == 0) {
            assert_int_equal(send_hex(f, SELECT_ISD_R), 0x9000);
            continue;
        }
        size_t n = euicc_card_transmit(f->card, apdu, len, resp, sizeof resp);
        assert_true(n >= 2 && n <= sizeof resp);
    }
    euicc_card_reset(f->card);
    assert_int_equal(euicc_card_bytes_held(f->card), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atr_is_well_formed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_isd_r_returns_fci, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_without_le_uses_get_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_data_single_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_data_multi_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_data_block_gap_discards_sequence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_data_other_command_aborts_sequence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_data_p1_and_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_data_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_response_via_get_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_response_with_short_le_and_small_buffer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_command_discards_pending_response, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handler_errors_map_to_status_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manage_channel_open_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels_are_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_and_instruction_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminal_capability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_clears_every_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_card_is_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_apdus_never_break_the_card, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
