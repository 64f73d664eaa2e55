/* Reads the EID of an eUICC in a PC/SC reader the way an LPA does: open a logical channel,
 * SELECT the ISD-R, send GetEuiccData (SGP.22 section 5.7.20) as STORE DATA (section 5.7.2),
 * follow 61xx with GET RESPONSE and 6Cxx with the exact Le, close the channel.
 *
 *   pcsc_select_eid [--reader SUBSTRING] [--expect-eid HEX32] [--wait SECONDS]
 *
 * Exit status: 0 EID read (and equal to --expect-eid when given), 1 failure, 2 usage. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

static const uint8_t isd_r_aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                      0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

typedef struct {
    SCARDHANDLE handle;
    const SCARD_IO_REQUEST *pci;
} card_link;

static void print_hex(const char *label, const uint8_t *data, size_t len)
{
    printf("%s", label);
    for (size_t i = 0; i < len; i++)
        printf("%02X", data[i]);
    printf("\n");
}

/* ISO/IEC 7816-4:2005 section 5.1.1: channels 0-3 in b2-b1 of the first interindustry class,
 * 4-19 in the further interindustry class; GlobalPlatform's proprietary class sets b8. */
static uint8_t class_byte(unsigned channel, bool proprietary)
{
    uint8_t cla = channel < 4 ? (uint8_t)channel : (uint8_t)(0x40 | (channel - 4));
    return proprietary ? (uint8_t)(cla | 0x80) : cla;
}

/* One command with its whole response: 61xx is followed by GET RESPONSE, 6Cxx answered by
 * repeating the command with the exact Le (ISO/IEC 7816-4:2005 section 5.1.3). */
static bool exchange(const card_link *link, const uint8_t *apdu, size_t apdu_len, uint8_t *data,
                     size_t cap, size_t *data_len, unsigned *sw)
{
    uint8_t command[270], response[260];
    memcpy(command, apdu, apdu_len);
    size_t command_len = apdu_len;
    *data_len = 0;
    for (int rounds = 0; rounds < 300; rounds++) {
        DWORD response_len = sizeof response;
        LONG rv = SCardTransmit(link->handle, link->pci, command, (DWORD)command_len, NULL,
                                response, &response_len);
        if (rv != SCARD_S_SUCCESS || response_len < 2) {
            fprintf(stderr, "pcsc_select_eid: SCardTransmit: %s\n", pcsc_stringify_error(rv));
            return false;
        }
        size_t body = response_len - 2;
        uint8_t sw1 = response[body], sw2 = response[body + 1];
        if (sw1 == 0x6C) {
            if (command_len == 4)
                command_len++;
            command[command_len - 1] = sw2;
            continue;
        }
        if (*data_len + body > cap) {
            fprintf(stderr, "pcsc_select_eid: response too long\n");
            return false;
        }
        memcpy(data + *data_len, response, body);
        *data_len += body;
        if (sw1 != 0x61) {
            *sw = (unsigned)(sw1 << 8 | sw2);
            return true;
        }
        /* GET RESPONSE on the same channel, interindustry class */
        command[0] = (uint8_t)(apdu[0] & 0x40 ? apdu[0] & 0x4F : apdu[0] & 0x03);
        command[1] = 0xC0;
        command[2] = command[3] = 0x00;
        command[4] = sw2;
        command_len = 5;
    }
    fprintf(stderr, "pcsc_select_eid: endless response chain\n");
    return false;
}

static bool connect_reader(SCARDCONTEXT context, const char *wanted, int wait_seconds,
                           card_link *link)
{
    time_t deadline = time(NULL) + wait_seconds;
    const char *last_problem = "no reader";
    do {
        char readers[4096];
        DWORD readers_len = sizeof readers;
        LONG rv = SCardListReaders(context, NULL, readers, &readers_len);
        if (rv == SCARD_S_SUCCESS) {
            for (const char *name = readers; *name != '\0'; name += strlen(name) + 1) {
                if (wanted != NULL && strstr(name, wanted) == NULL)
                    continue;
                DWORD protocol = 0;
                rv = SCardConnect(context, name, SCARD_SHARE_SHARED,
                                  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &link->handle, &protocol);
                if (rv == SCARD_S_SUCCESS) {
                    printf("reader: %s (T=%d)\n", name, protocol == SCARD_PROTOCOL_T1 ? 1 : 0);
                    link->pci = protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
                    return true;
                }
                last_problem = pcsc_stringify_error(rv);
            }
        } else {
            last_problem = pcsc_stringify_error(rv);
        }
        usleep(200 * 1000);
    } while (time(NULL) < deadline);
    fprintf(stderr, "pcsc_select_eid: no card in a matching reader: %s\n", last_problem);
    return false;
}

/* SGP.22 section 5.7.20: GetEuiccData response BF3E { 5A <16-byte EID> }. */
static bool find_eid(const uint8_t *data, size_t len, const uint8_t **eid)
{
    if (len < 3 || data[0] != 0xBF || data[1] != 0x3E || data[2] >= 0x80 ||
        (size_t)data[2] + 3 != len)
        return false;
    for (size_t pos = 3; pos + 2 <= len;) {
        uint8_t tag = data[pos], tag_len = data[pos + 1];
        if (tag_len >= 0x80 || pos + 2 + tag_len > len)
            return false;
        if (tag == 0x5A && tag_len == 16) {
            *eid = data + pos + 2;
            return true;
        }
        pos += 2 + (size_t)tag_len;
    }
    return false;
}

static bool read_eid(const card_link *link, char *eid_hex)
{
    uint8_t apdu[64], data[1024];
    size_t data_len = 0;
    unsigned sw = 0;
    unsigned channel = 0;

    uint8_t open[] = {0x00, 0x70, 0x00, 0x00, 0x01};
    if (!exchange(link, open, sizeof open, data, sizeof data, &data_len, &sw))
        return false;
    if (sw == 0x9000 && data_len == 1)
        channel = data[0];
    else
        printf("MANAGE CHANNEL: SW %04X, using the basic channel\n", sw);
    printf("channel: %u\n", channel);

    apdu[0] = class_byte(channel, false);
    memcpy(apdu + 1, "\xA4\x04\x00\x10", 4);
    memcpy(apdu + 5, isd_r_aid, sizeof isd_r_aid);
    apdu[21] = 0x00;
    bool ok = exchange(link, apdu, 22, data, sizeof data, &data_len, &sw);
    if (ok && sw != 0x9000) {
        fprintf(stderr, "pcsc_select_eid: SELECT ISD-R: SW %04X\n", sw);
        ok = false;
    }
    if (ok) {
        print_hex("ISD-R FCI: ", data, data_len);
        apdu[0] = class_byte(channel, true);
        memcpy(apdu + 1, "\xE2\x91\x00\x06\xBF\x3E\x03\x5C\x01\x5A\x00", 11);
        ok = exchange(link, apdu, 12, data, sizeof data, &data_len, &sw);
    }
    const uint8_t *eid = NULL;
    if (ok && (sw != 0x9000 || !find_eid(data, data_len, &eid))) {
        fprintf(stderr, "pcsc_select_eid: GetEuiccData: SW %04X, %zu bytes\n", sw, data_len);
        ok = false;
    }
    if (ok) {
        for (size_t i = 0; i < 16; i++)
            sprintf(eid_hex + 2 * i, "%02X", eid[i]);
        printf("EID: %s\n", eid_hex);
    }

    if (channel != 0) {
        uint8_t close[] = {0x00, 0x70, 0x80, (uint8_t)channel};
        if (!exchange(link, close, sizeof close, data, sizeof data, &data_len, &sw) ||
            sw != 0x9000) {
            fprintf(stderr, "pcsc_select_eid: closing channel %u failed\n", channel);
            ok = false;
        }
    }
    return ok;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: pcsc_select_eid [--reader SUBSTRING] [--expect-eid HEX32] [--wait SEC]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *reader = NULL, *expected = NULL;
    int wait_seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--reader") == 0)
            reader = argv[++i];
        else if (strcmp(argv[i], "--expect-eid") == 0)
            expected = argv[++i];
        else if (strcmp(argv[i], "--wait") == 0)
            wait_seconds = atoi(argv[++i]);
        else
            return usage();
    }

    SCARDCONTEXT context;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context);
    if (rv != SCARD_S_SUCCESS) {
        fprintf(stderr, "pcsc_select_eid: SCardEstablishContext: %s\n", pcsc_stringify_error(rv));
        return 1;
    }
    card_link link = {0};
    char eid_hex[33] = "";
    bool ok = connect_reader(context, reader, wait_seconds, &link);
    if (ok) {
        uint8_t atr[40];
        DWORD atr_len = sizeof atr, state = 0, protocol = 0;
        char name[256];
        DWORD name_len = sizeof name;
        if (SCardStatus(link.handle, name, &name_len, &state, &protocol, atr, &atr_len) ==
            SCARD_S_SUCCESS)
            print_hex("ATR: ", atr, atr_len);
        ok = read_eid(&link, eid_hex);
        SCardDisconnect(link.handle, SCARD_LEAVE_CARD);
    }
    SCardReleaseContext(context);
    if (ok && expected != NULL) {
        bool same = strlen(expected) == 32;
        for (size_t i = 0; same && i < 32; i++)
            same = toupper((unsigned char)expected[i]) == eid_hex[i];
        if (!same) {
            fprintf(stderr, "pcsc_select_eid: EID %s, expected %s\n", eid_hex, expected);
            ok = false;
        }
    }
    printf("%s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
