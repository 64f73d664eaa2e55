/* A software eUICC with a fake ES10 layer that only answers GetEuiccData (the EID), served
 * into pcscd through vsmartcard's vpcd. scripts/pcsc-test.sh runs it so a plain PC/SC
 * program can find the card in a reader.
 *
 *   fake_card_vpcd [--host HOST] [--port PORT] [--eid 32-HEX-DIGITS]
 *   fake_card_vpcd --free-port    prints a free TCP port on 127.0.0.1 and exits */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "euicc/apdu.h"
#include "euicc/face_vpcd.h"

static uint8_t card_eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                               0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34};
static face_vpcd *running_face;

/* SGP.22 section 5.7.20 GetEuiccData with tagList 5A: answers BF3E { 5A EID }. Everything
 * else is refused, which the front end turns into 6A88. */
static rsp_status fake_process(void *ctx, unsigned channel, der_view command, der_writer *response)
{
    (void)ctx;
    static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    if (!der_view_equal(command, der_view_make(get_eid, sizeof get_eid))) {
        fprintf(stderr, "fake_card_vpcd: channel %u: unsupported command\n", channel);
        return RSP_ERR_UNSUPPORTED;
    }
    size_t mark = der_begin(response, 0xBF3E);
    der_put_tlv(response, 0x5A, card_eid, sizeof card_eid);
    der_end(response, mark);
    return RSP_OK;
}

static const euicc_card_handler fake_handler = {fake_process, NULL, NULL};

static void on_signal(int sig)
{
    (void)sig;
    if (running_face != NULL)
        face_vpcd_stop(running_face);
}

static int print_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &len) != 0) {
        perror("fake_card_vpcd: free port");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(address.sin_port));
    close(fd);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: fake_card_vpcd [--host HOST] [--port PORT] [--eid HEX32]\n"
                    "       fake_card_vpcd --free-port\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = FACE_VPCD_DEFAULT_HOST;
    unsigned long port = FACE_VPCD_DEFAULT_PORT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--free-port") == 0)
            return print_free_port();
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--host") == 0) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0) {
            char *end = NULL;
            port = strtoul(argv[++i], &end, 0);
            if (*end != '\0' || port == 0 || port > 65535)
                return usage();
        } else if (strcmp(argv[i], "--eid") == 0) {
            if (der_hex_decode(argv[++i], card_eid, sizeof card_eid) != sizeof card_eid)
                return usage();
        } else {
            return usage();
        }
    }

    euicc_card *card = euicc_card_new(&fake_handler, NULL);
    running_face = card ? face_vpcd_new(card, host, (uint16_t)port) : NULL;
    if (running_face == NULL) {
        fprintf(stderr, "fake_card_vpcd: out of memory\n");
        euicc_card_free(card);
        return 1;
    }
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    char eid_hex[33];
    der_hex_encode(card_eid, sizeof card_eid, eid_hex, true);
    fprintf(stderr, "fake_card_vpcd: EID %s, connecting to vpcd at %s:%lu\n", eid_hex, host, port);
    rsp_error err = {0};
    rsp_status status = face_vpcd_run(running_face, &err);
    fprintf(stderr, "fake_card_vpcd: stopped after %u connection(s)\n",
            face_vpcd_connections(running_face));
    face_vpcd_free(running_face);
    euicc_card_free(card);
    return status == RSP_OK ? 0 : 1;
}
