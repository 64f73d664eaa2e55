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

/* Mutated valid commands (flipped bytes, cut lengths, random lengths) never crash the eUICC,
 * never leave a response behind a failure, and leave the state decodable. Bounded: a
 * deterministic few thousand inputs per run; libFuzzer targets go further. */
static void test_hostile_commands(void **state)
{
    fixture *f = *state;
    planted_profile p1 = {"98001032547698103214",
                          0x10,
                          SGP22_PROFILE_STATE_ENABLED,
                          SGP22_PROFILE_CLASS_OPERATIONAL,
                          "One",
                          1u << SGP22_PPR2,
                          0x0F};
    planted_profile p2 = {"98001032547698103225",
                          0x11,
                          SGP22_PROFILE_STATE_DISABLED,
                          SGP22_PROFILE_CLASS_TEST,
                          "Two",
                          0,
                          0x0F};
    fixture_plant(f, &p1);
    fixture_plant(f, &p2);
    static const char *const seeds[] = {"BF2000",
                                        "BF2200",
                                        "BF3E035C015A",
                                        "BF4300",
                                        "BF3C00",
                                        "BF3F0580036162FF",
                                        "BF2D00",
                                        "BF2D0EA00C5A0A98001032547698103225",
                                        "BF2D055C035A9F70",
                                        "BF3111A00C5A0A98001032547698103225810100",
                                        "BF3211A00C5A0A98001032547698103214810100",
                                        "BF330C5A0A98001032547698103225",
                                        "BF340482020640",
                                        "BF2800",
                                        "BF280481020520",
                                        "BF2B00",
                                        "BF2B05A003800101",
                                        "BF2B04A0028200",
                                        "BF3003800101",
                                        "BF29115A0A98001032547698103214900378797A",
                                        "A1820100",
                                        "BF3603BF2300"};
    uint8_t command[256];
    unsigned seed = 20261127;
    for (unsigned round = 0; round < 4000; round++) {
        const char *base = seeds[round % (sizeof(seeds) / sizeof(seeds[0]))];
        long n = der_hex_decode(base, command, sizeof(command));
        assert_true(n > 0);
        seed = seed * 1103515245u + 12345u;
        unsigned flips = 1 + (seed >> 16) % 3;
        for (unsigned i = 0; i < flips; i++) {
            seed = seed * 1103515245u + 12345u;
            command[(seed >> 8) % (unsigned)n] ^= (uint8_t)(1u << ((seed >> 4) % 8));
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 12) % 4 == 0 ? (seed >> 16) % ((unsigned)n + 1) : (size_t)n;
        der_writer w;
        der_writer_init_dynamic(&w, NULL);
        rsp_status status = euicc_process(f->e, der_view_make(command, len), &w);
        if (status != RSP_OK)
            assert_int_equal(w.len, 0);
        der_writer_free(&w);
    }
    /* The state is still whole and loads from its file. */
    euicc_state s;
    euicc_state_init(&s);
    rsp_error err = {0};
    assert_int_equal(euicc_state_load(&s, f->state_path, &err), RSP_OK);
    der_writer a, b;
    der_writer_init_dynamic(&a, NULL);
    der_writer_init_dynamic(&b, NULL);
    assert_int_equal(euicc_state_encode(&s, &a), RSP_OK);
    assert_int_equal(euicc_state_encode(euicc_get_state(f->e), &b), RSP_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.buf, b.buf, a.len);
    der_writer_free(&a);
    der_writer_free(&b);
    euicc_state_clear(&s);
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
        cmocka_unit_test_setup_teardown(test_hostile_commands, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
