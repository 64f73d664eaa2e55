/* ISD-R dispatch: the command table, framing, unknown functions, and the same ES10 functions
 * reached as a card through APDUs (SELECT ISD-R, STORE DATA, GET RESPONSE). */
#include "test_es10_fixture.h"

#include "euicc/apdu.h"

static void test_table_is_consistent(void **state)
{
    (void)state;
    assert_true(isdr_command_count >= 40);
    for (size_t i = 0; i < isdr_command_count; i++) {
        const isdr_command *c = &isdr_commands[i];
        assert_non_null(c->handler);
        assert_non_null(c->name);
        assert_ptr_equal(isdr_find(c->tag), c); /* tags are unique */
    }
    assert_null(isdr_find(0xBF7F));
    /* The functions of this module are wired in. */
    assert_ptr_equal(isdr_find(0xBF2D)->handler, es10c_get_profiles_info);
    assert_ptr_equal(isdr_find(0xBF3E)->handler, es10c_get_eid);
    assert_true(isdr_find(0xBF36)->segment);
    assert_false(isdr_find(0xBF31)->segment);
}

static void test_unknown_and_malformed_commands(void **state)
{
    fixture *f = *state;
    assert_int_equal(fixture_run(f, "BF7F00").status, RSP_ERR_UNSUPPORTED);
    assert_int_equal(fixture_run(f, "3000").status, RSP_ERR_UNSUPPORTED);
    /* Not exactly one TLV: framing error before any handler runs */
    assert_int_equal(fixture_run(f, "BF2D0500").status, RSP_ERR_LENGTH_OVERRUN);
    assert_int_equal(fixture_run(f, "BF2D000000").status, RSP_ERR_TRAILING);
    /* Every failure leaves no response bytes behind. */
    command_result r = fixture_run(f, "BF3E035C014F");
    assert_int_equal(r.status, RSP_ERR_NOT_FOUND);
    assert_int_equal(r.len, 0);
}

/* ---- APDU face ---------------------------------------------------------------------------- */

static uint16_t transmit_hex(fixture *f, const char *hex, uint8_t *resp, size_t *resp_len)
{
    uint8_t apdu[512];
    long n = der_hex_decode(hex, apdu, sizeof(apdu));
    assert_true(n >= 4);
    size_t len = euicc_transmit(f->e, apdu, (size_t)n, resp, 300);
    assert_true(len >= 2);
    *resp_len = len - 2;
    return (uint16_t)(resp[len - 2] << 8 | resp[len - 1]);
}

#define SELECT_ISD_R "00A4040010A0000005591010FFFFFFFF8900000100"

static void select_isd_r(fixture *f)
{
    uint8_t resp[300];
    size_t len;
    uint16_t sw = transmit_hex(f, SELECT_ISD_R, resp, &len);
    assert_true(sw == 0x9000 || (sw & 0xFF00) == 0x6100);
}

static void test_apdu_get_eid_and_info(void **state)
{
    fixture *f = *state;
    uint8_t resp[300];
    size_t len;
    select_isd_r(f);
    assert_int_equal(transmit_hex(f, "80E2910006BF3E035C015A00", resp, &len), 0x9000);
    assert_hex_equal(resp, len, "BF3E125A10" FIXTURE_EID);
    /* EUICCInfo2 is longer than one short response: 61xx then GET RESPONSE */
    uint16_t sw = transmit_hex(f, "80E2910003BF220000", resp, &len);
    uint8_t info2[1024];
    size_t info2_len = len;
    memcpy(info2, resp, len);
    while ((sw & 0xFF00) == 0x6100) {
        char get_response[16];
        snprintf(get_response, sizeof(get_response), "80C00000%02X", sw & 0xFF);
        sw = transmit_hex(f, get_response, resp, &len);
        memcpy(info2 + info2_len, resp, len);
        info2_len += len;
    }
    assert_int_equal(sw, 0x9000);
    der_writer direct;
    der_writer_init_dynamic(&direct, NULL);
    assert_int_equal(euicc_info2_encode(f->e, 0xBF22, &direct), RSP_OK);
    assert_int_equal(direct.len, info2_len);
    assert_memory_equal(direct.buf, info2, info2_len);
    der_writer_free(&direct);
    /* Unknown ES10 function: 6A88; malformed data: 6A80; no ISD-R selected: 6986 */
    assert_int_equal(transmit_hex(f, "80E2910003BF7F0000", resp, &len), 0x6A88);
    assert_int_equal(transmit_hex(f, "80E2910003BF2D0500", resp, &len), 0x6A80);
    euicc_reset(f->e);
    assert_int_equal(transmit_hex(f, "80E2910006BF3E035C015A00", resp, &len), 0x6986);
}

/* The BPP segments that only open a structure reach the dispatcher (SGP.22 v2.5 section
 * 5.7.6); until the download module answers them they get the unsupported-function word, not
 * a framing error. Other incomplete TLVs are still framing errors. */
static void test_bpp_segments_reach_the_dispatcher(void **state)
{
    fixture *f = *state;
    uint8_t resp[300];
    size_t len;
    select_isd_r(f);
    const isdr_command *a1 = isdr_find(0xA1);
    uint16_t expected = a1->handler == isdr_not_yet ? 0x6A88 : 0x6985;
    uint16_t sw = transmit_hex(f, "80E2910004A1820100", resp, &len);
    if (a1->handler == isdr_not_yet)
        assert_int_equal(sw, expected);
    else
        assert_true(sw != 0x6A80); /* the download module decides */
    assert_int_equal(transmit_hex(f, "80E2910005BF2D820100", resp, &len), 0x6A80);
    assert_int_equal(transmit_hex(f, "80E2910003BF3E05", resp, &len), 0x6A80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_consistent),
        cmocka_unit_test_setup_teardown(test_unknown_and_malformed_commands, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_apdu_get_eid_and_info, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bpp_segments_reach_the_dispatcher, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
