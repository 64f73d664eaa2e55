/* Interoperability with a third-party LPA (lpac 2.3.0, PC/SC driver): the exact APDUs it sent
 * to the software eUICC through pcscd + vpcd (docs/interop.md), replayed at the APDU face
 * (euicc_transmit), with the answers lpac decoded. Facts only: the command bytes and the
 * framing it uses (logical channel 1, STORE DATA blocks of at most 120 bytes with P1 11/91,
 * GET RESPONSE with Le = SW2 of 61xx, 00 meaning 256). */
#include "test_es10_fixture.h"

#define LPAC_AID   "A0000005591010FFFFFFFF8900000100"
#define LPAC_MSS   120
#define ICCID_2341 "98001032547698103214" /* 89000123456789012341 as stored */
#define ICCID_2358 "98001032547698103285"
#define AID_2341   "A0000005591010FFFFFFFF8900001000"
#define TID        "F060BEB898CD54642D86037AE50F8731"

typedef struct {
    uint8_t data[8192];
    size_t len;
    uint16_t sw;
} es10_answer;

/* One APDU given in hex; returns the status word, the data (if any) into data/len. */
static uint16_t transmit_hex(fixture *f, const char *hex, uint8_t *data, size_t *len)
{
    uint8_t apdu[300];
    uint8_t response[300];
    long n = der_hex_decode(hex, apdu, sizeof(apdu));
    assert_true(n >= 4);
    size_t got = euicc_transmit(f->e, apdu, (size_t)n, response, sizeof(response));
    assert_true(got >= 2);
    if (data != NULL) {
        memcpy(data, response, got - 2);
        *len = got - 2;
    }
    return (uint16_t)(response[got - 2] << 8 | response[got - 1]);
}

/* Asserts the whole response APDU (data + SW) of one command. */
static void assert_apdu(fixture *f, const char *command_hex, const char *response_hex)
{
    uint8_t data[300];
    size_t len = 0;
    uint16_t sw = transmit_hex(f, command_hex, data, &len);
    data[len] = (uint8_t)(sw >> 8);
    data[len + 1] = (uint8_t)sw;
    assert_hex_equal(data, len + 2, response_hex);
}

/* lpac's session start on a PC/SC reader: TERMINAL CAPABILITY (eUICC support, LPA in the
 * device), MANAGE CHANNEL open with Le 01, SELECT ISD-R on channel 1 (its FCI is never
 * fetched: the pending 61xx must not disturb the next command). */
static void lpac_open(fixture *f)
{
    assert_apdu(f, "80AA00000AA9088100820101830107", "9000");
    assert_apdu(f, "0070000001", "019000");
    uint8_t data[300];
    size_t len = 0;
    assert_int_equal(transmit_hex(f, "01A4040010" LPAC_AID, data, &len) & 0xFF00, 0x6100);
}

/* Sends one ES10 command the way lpac does on channel 1 (blocks of at most mss bytes) and
 * collects the answer with GET RESPONSE. */
static void lpac_es10(fixture *f, const char *command_hex, size_t mss, es10_answer *out)
{
    uint8_t command[4096];
    long n = der_hex_decode(command_hex, command, sizeof(command));
    assert_true(n > 0);
    size_t offset = 0;
    unsigned block = 0;
    uint16_t sw = 0;
    memset(out, 0, sizeof(*out));
    while (offset < (size_t)n) {
        size_t chunk = (size_t)n - offset > mss ? mss : (size_t)n - offset;
        bool last = offset + chunk == (size_t)n;
        uint8_t apdu[5 + 255];
        apdu[0] = 0x81;
        apdu[1] = 0xE2;
        apdu[2] = last ? 0x91 : 0x11;
        apdu[3] = (uint8_t)block++;
        apdu[4] = (uint8_t)chunk;
        memcpy(apdu + 5, command + offset, chunk);
        uint8_t response[300];
        size_t got = euicc_transmit(f->e, apdu, 5 + chunk, response, sizeof(response));
        assert_true(got >= 2);
        sw = (uint16_t)(response[got - 2] << 8 | response[got - 1]);
        memcpy(out->data + out->len, response, got - 2);
        out->len += got - 2;
        offset += chunk;
        if (!last && sw != 0x9000)
            break;
    }
    while ((sw & 0xFF00) == 0x6100) {
        uint8_t get_response[5] = {0x81, 0xC0, 0x00, 0x00, (uint8_t)sw};
        uint8_t response[300];
        size_t got = euicc_transmit(f->e, get_response, 5, response, sizeof(response));
        assert_true(got >= 2);
        assert_true(out->len + got - 2 <= sizeof(out->data));
        memcpy(out->data + out->len, response, got - 2);
        out->len += got - 2;
        sw = (uint16_t)(response[got - 2] << 8 | response[got - 1]);
    }
    out->sw = sw;
}

static void assert_es10(fixture *f, const char *command_hex, const char *response_hex)
{
    es10_answer a;
    lpac_es10(f, command_hex, LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x9000);
    assert_hex_equal(a.data, a.len, response_hex);
}

/* The top-level TLV of an answer must be exactly the whole answer, with the given tag. */
static void assert_single_tlv(const es10_answer *a, uint32_t tag, der_tlv *out)
{
    rsp_error err = {0};
    assert_int_equal(der_parse_single(der_view_make(a->data, a->len), out, &err), RSP_OK);
    assert_int_equal(out->tag, tag);
}

static void plant_two(fixture *f)
{
    planted_profile enabled = {ICCID_2341,
                               0x10,
                               SGP22_PROFILE_STATE_ENABLED,
                               SGP22_PROFILE_CLASS_OPERATIONAL,
                               "GSMA Generic eUICC Test Profile",
                               0,
                               ALL_EVENTS};
    planted_profile disabled = {ICCID_2358,
                                0x11,
                                SGP22_PROFILE_STATE_DISABLED,
                                SGP22_PROFILE_CLASS_OPERATIONAL,
                                "GSMA Generic eUICC Test Profile",
                                0,
                                ALL_EVENTS};
    fixture_plant(f, &enabled);
    fixture_plant(f, &disabled);
}

/* ---- lpac chip info ----------------------------------------------------------------------- */

/* GetEID as lpac sends it (tag list 5A) and fetches it (GET RESPONSE Le 15). */
static void test_open_and_get_eid(void **state)
{
    fixture *f = *state;
    lpac_open(f);
    assert_apdu(f, "81E2910006BF3E035C015A", "6115");
    assert_apdu(f, "81C0000015", "BF3E125A10" FIXTURE_EID "9000");
    /* lpac closes its channel when done; the channel is then gone. */
    assert_apdu(f, "0070800100", "9000");
    assert_apdu(f, "81E2910006BF3E035C015A", "6881");
}

/* EUICCInfo2 as lpac decodes it (SGP.22 v2.5 section 5.7.8): the mandatory members in ASN.1
 * order, every member a context/universal tag that EUICCInfo2 defines. */
static void test_chip_info_euicc_info2(void **state)
{
    fixture *f = *state;
    lpac_open(f);
    es10_answer a;
    lpac_es10(f, "BF2200", LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x9000);
    der_tlv info;
    assert_single_tlv(&a, 0xBF22, &info);

    static const uint32_t mandatory[] = {0x81, 0x82, 0x83, 0x84, 0x85,
                                         0x88, 0xA9, 0xAA, 0x04, 0x0C};
    size_t next = 0;
    der_reader r;
    der_tlv member;
    rsp_error err = {0};
    assert_int_equal(der_reader_enter(&info, 0, &r, &err), RSP_OK);
    while (!der_reader_at_end(&r)) {
        assert_int_equal(der_reader_next(&r, &member, &err), RSP_OK);
        if (next < SCHEMA_COUNT(mandatory) && member.tag == mandatory[next])
            next++;
    }
    assert_int_equal(next, SCHEMA_COUNT(mandatory));

    /* Configured addresses and RAT as lpac asks for them: empty requests. */
    lpac_es10(f, "BF3C00", LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x9000);
    assert_single_tlv(&a, 0xBF3C, &info);
    lpac_es10(f, "BF4300", LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x9000);
    assert_single_tlv(&a, 0xBF43, &info);
}

/* ---- lpac profile list: an answer above 256 bytes -------------------------------------------- */

static void test_profile_list_over_256_bytes(void **state)
{
    fixture *f = *state;
    plant_two(f);
    planted_profile more[3] = {
        {"98001032547698103266", 0x12, SGP22_PROFILE_STATE_DISABLED,
         SGP22_PROFILE_CLASS_OPERATIONAL, "GSMA Generic eUICC Test Profile", 0, ALL_EVENTS},
        {"98001032547698103247", 0x13, SGP22_PROFILE_STATE_DISABLED,
         SGP22_PROFILE_CLASS_OPERATIONAL, "GSMA Generic eUICC Test Profile", 0, ALL_EVENTS},
        {"98001032547698103228", 0x14, SGP22_PROFILE_STATE_DISABLED,
         SGP22_PROFILE_CLASS_OPERATIONAL, "GSMA Generic eUICC Test Profile", 0, ALL_EVENTS},
    };
    for (size_t i = 0; i < 3; i++)
        fixture_plant(f, &more[i]);
    lpac_open(f);

    /* The first answer is 61 00 (256 bytes or more pending): lpac asks Le 00 = 256. */
    uint8_t data[300];
    size_t len = 0;
    assert_int_equal(transmit_hex(f, "81E2910003BF2D00", data, &len), 0x6100);
    assert_int_equal(len, 0);

    es10_answer a;
    lpac_es10(f, "BF2D00", LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x9000);
    assert_true(a.len > 256);
    der_tlv list, ok;
    assert_single_tlv(&a, 0xBF2D, &list);
    der_reader r;
    rsp_error err = {0};
    assert_int_equal(der_reader_enter(&list, 0, &r, &err), RSP_OK);
    assert_int_equal(der_reader_next(&r, &ok, &err), RSP_OK);
    assert_int_equal(ok.tag, 0xA0); /* profileInfoListOk */
    size_t profiles = 0;
    der_tlv entry;
    assert_int_equal(der_reader_enter(&ok, 0, &r, &err), RSP_OK);
    while (!der_reader_at_end(&r)) {
        assert_int_equal(der_reader_next(&r, &entry, &err), RSP_OK);
        assert_int_equal(entry.tag, 0xE3);
        profiles++;
    }
    assert_int_equal(profiles, 5);
}

/* ---- STORE DATA framing at lpac's limits ---------------------------------------------------- */

/* lpac with LPAC_CUSTOM_ES10X_MSS=255 passes the APDU length to SCardTransmit through an
 * 8-bit parameter: a 260-byte STORE DATA arrives as its 4-byte header. That is a wrong length
 * (6700), and the LPA can start the sequence again from block 00. */
static void test_header_only_store_data(void **state)
{
    fixture *f = *state;
    lpac_open(f);
    assert_apdu(f, "81E21100", "6700");
    assert_es10(f, "BF3E035C015A", "BF3E125A10" FIXTURE_EID);
}

/* A full 255-byte block (Lc FF), the largest short STORE DATA, is taken as it is. */
static void test_block_of_255_bytes(void **state)
{
    fixture *f = *state;
    lpac_open(f);
    /* SetDefaultDpAddress with a 254-character address (five 50-letter labels): 261 bytes,
     * sent as 255 + 6. */
    char address[255];
    size_t pos = 0;
    for (size_t label = 0; label < 5; label++) {
        if (label > 0)
            address[pos++] = '.';
        memset(address + pos, 'a' + (int)label, 50);
        pos += 50;
    }
    address[pos] = 0;
    assert_int_equal(strlen(address), 254);
    char address_hex[2 * 255];
    der_hex_encode((const uint8_t *)address, 254, address_hex, true);
    char command[2 * 270];
    snprintf(command, sizeof(command), "BF3F8201018081FE%s", address_hex);
    es10_answer a;
    lpac_es10(f, command, 255, &a);
    assert_int_equal(a.sw, 0x9000);
    assert_hex_equal(a.data, a.len, "BF3F03800100");
    char expected[2 * 300];
    snprintf(expected, sizeof(expected), "BF3C8201128081FE%s810F6C70612E64732E67736D612E636F6D",
             address_hex);
    lpac_es10(f, "BF3C00", LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x9000);
    assert_hex_equal(a.data, a.len, expected);
}

/* ---- lpac profile enable / disable / delete / nickname, chip purge, notifications ----------- */

static void test_profile_operations(void **state)
{
    fixture *f = *state;
    plant_two(f);
    lpac_open(f);
    /* enable by ICCID with refreshFlag FALSE (lpac's default): 2358 replaces 2341 */
    assert_es10(f, "BF3111A00C5A0A" ICCID_2358 "810100", "BF3103800100");
    /* enable by ISD-P AID with refreshFlag TRUE coded FF */
    assert_es10(f, "BF3117A0124F10" AID_2341 "8101FF", "BF3103800100");
    /* disable with refreshFlag TRUE, twice: profileNotInEnabledState the second time */
    assert_es10(f, "BF3211A00C5A0A" ICCID_2341 "8101FF", "BF3203800100");
    assert_es10(f, "BF3211A00C5A0A" ICCID_2341 "8101FF", "BF3203800102");
    /* unknown ICCID: iccidOrAidNotFound */
    assert_es10(f, "BF3111A00C5A0A98001032547698109999810100", "BF3103800101");
    /* delete: the ICCID directly under BF33 */
    assert_es10(f, "BF330C5A0A" ICCID_2341, "BF3303800100");
    /* nickname in UTF-8 ("my nick é") */
    assert_es10(f, "BF29185A0A" ICCID_2358 "900A6D79206E69636B20C3A9", "BF2903800100");
    /* 65 characters break profileNickname SIZE(0..64): no response data, 6A80 */
    char nickname[2 * 65 + 1] = {0};
    for (size_t i = 0; i < 65; i++)
        memcpy(nickname + 2 * i, "78", 2);
    char command[512];
    snprintf(command, sizeof(command), "BF294F5A0A%s9041%s", ICCID_2358, nickname);
    es10_answer a;
    lpac_es10(f, command, LPAC_MSS, &a);
    assert_int_equal(a.sw, 0x6A80);
    assert_int_equal(a.len, 0);
}

static void test_purge_and_notifications(void **state)
{
    fixture *f = *state;
    plant_two(f);
    lpac_open(f);
    /* lpac notification remove 999: nothingToDelete */
    assert_es10(f, "BF3004800203E7", "BF3003800101");
    /* lpac chip purge yes: all three reset options */
    assert_es10(f, "BF3404820205E0", "BF3403800100");
    assert_es10(f, "BF2D00", "BF2D02A000");
    assert_es10(f, "BF2800", "BF2802A000");
}

/* lpac cancels the session after every failure, also after LoadBoundProfilePackage already
 * ended it with an error ProfileInstallationResult: with no session, invalidTransactionId. */
static void test_cancel_session_without_session(void **state)
{
    fixture *f = *state;
    lpac_open(f);
    assert_es10(f, "BF41158010" TID "810100", "BF4103810105");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_and_get_eid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_chip_info_euicc_info2, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_profile_list_over_256_bytes, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_header_only_store_data, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_block_of_255_bytes, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_profile_operations, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_purge_and_notifications, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_session_without_session, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
