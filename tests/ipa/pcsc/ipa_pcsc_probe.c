/* The IPA's PC/SC transport against a reader: opens the reader with ipa_card_open_pcsc, lets
 * libipa open its logical channel, SELECT the ISD-R and read the EID (GetEuiccData), the
 * client side of tests/pcsc/pcsc-euicc-test.sh.
 *
 *   ipa_pcsc_probe [--reader SUBSTRING|INDEX] [--expect-eid HEX32] [--wait SECONDS]
 *
 * Exit status: 0 EID read (and equal to --expect-eid when given), 1 failure, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ipa/ipa.h"
#include "ipa/platform/platform.h"

static rsp_status no_http(void *ctx, const ipa_http_request *request, der_writer *response,
                          long *http_status, rsp_error *err)
{
    (void)ctx, (void)request, (void)response, (void)http_status;
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "no network in the probe");
}

static rsp_status no_read(void *ctx, const char *key, der_writer *out, rsp_error *err)
{
    (void)ctx, (void)out;
    return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s", key);
}

static rsp_status no_write(void *ctx, const char *key, der_view value, rsp_error *err)
{
    (void)ctx, (void)key, (void)value, (void)err;
    return RSP_OK;
}

static rsp_status no_remove(void *ctx, const char *key, rsp_error *err)
{
    (void)ctx, (void)key, (void)err;
    return RSP_OK;
}

/* Reads the EID once; RSP_OK and the hex in eid_hex. */
static rsp_status read_eid(const char *reader, char eid_hex[33], rsp_error *err)
{
    ipa_card *card = NULL;
    rsp_status st = ipa_card_open_pcsc(reader, &card, err);
    if (st != RSP_OK)
        return st;
    ipa_platform platform = {.apdu_transmit = ipa_card_transmit,
                             .apdu_ctx = card,
                             .http_post = no_http,
                             .storage_read = no_read,
                             .storage_write = no_write,
                             .storage_remove = no_remove};
    ipa_instance *ipa = NULL;
    st = ipa_new(&platform, NULL, &ipa, err);
    if (st == RSP_OK)
        st = ipa_open(ipa, err);
    if (st == RSP_OK)
        der_hex_encode(ipa_eid(ipa), 16, eid_hex, true);
    ipa_free(ipa);
    ipa_card_close(card);
    return st;
}

int main(int argc, char **argv)
{
    const char *reader = NULL, *expect = NULL;
    int wait_s = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reader") == 0 && i + 1 < argc)
            reader = argv[++i];
        else if (strcmp(argv[i], "--expect-eid") == 0 && i + 1 < argc)
            expect = argv[++i];
        else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
            wait_s = atoi(argv[++i]);
        else
            return fprintf(stderr, "usage: ipa_pcsc_probe [--reader R] [--expect-eid HEX] "
                                   "[--wait S]\n"),
                   2;
    }
    char eid[33];
    rsp_error err = {0};
    rsp_status st;
    /* the card may still be connecting to pcscd: retry until --wait runs out */
    for (int tries = 0;; tries++) {
        memset(&err, 0, sizeof err);
        st = read_eid(reader, eid, &err);
        if (st == RSP_OK || tries >= wait_s * 4)
            break;
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (st != RSP_OK) {
        fprintf(stderr, "ipa_pcsc_probe: %s\n", err.message);
        return 1;
    }
    printf("EID: %s (through libipa over PC/SC)\n", eid);
    if (expect && strcasecmp(expect, eid) != 0) {
        fprintf(stderr, "ipa_pcsc_probe: expected EID %s\n", expect);
        return 1;
    }
    return 0;
}
