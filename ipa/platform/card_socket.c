/* APDU transport to a software eUICC over the socket protocol of
 * docs/euicc-socket-protocol.md (2-byte big-endian length, then the payload). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipa/platform/card_internal.h"

typedef struct {
    ipa_card base;
    int fd;
} socket_card;

static rsp_status write_all(int fd, const uint8_t *data, size_t len, rsp_error *err)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "eUICC socket write: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    return RSP_OK;
}

static rsp_status read_all(int fd, uint8_t *data, size_t len, rsp_error *err)
{
    while (len > 0) {
        ssize_t n = read(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "eUICC socket closed");
        data += n;
        len -= (size_t)n;
    }
    return RSP_OK;
}

/* One frame out, one frame back. */
static rsp_status exchange(socket_card *card, const uint8_t *payload, size_t len, uint8_t *out,
                           size_t cap, size_t *out_len, rsp_error *err)
{
    uint8_t header[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    rsp_status st = len > 0xFFFF ? rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                                                 "APDU too long for a frame")
                                 : write_all(card->fd, header, 2, err);
    if (st == RSP_OK)
        st = write_all(card->fd, payload, len, err);
    if (st == RSP_OK)
        st = read_all(card->fd, header, 2, err);
    size_t answer = (size_t)header[0] << 8 | header[1];
    if (st == RSP_OK && answer > cap)
        st = rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "eUICC frame of %zu bytes", answer);
    if (st == RSP_OK)
        st = read_all(card->fd, out, answer, err);
    if (st == RSP_OK)
        *out_len = answer;
    return st;
}

static rsp_status socket_transmit(ipa_card *base, const uint8_t *command, size_t command_len,
                                  uint8_t *response, size_t response_cap, size_t *response_len,
                                  rsp_error *err)
{
    return exchange((socket_card *)base, command, command_len, response, response_cap, response_len,
                    err);
}

static void socket_close(ipa_card *base)
{
    socket_card *card = (socket_card *)base;
    close(card->fd);
    free(card);
}

static int connect_address(const char *address)
{
    int fd;
    if (strncmp(address, "tcp:", 4) == 0) {
        struct sockaddr_in in = {.sin_family = AF_INET};
        in.sin_port = htons((uint16_t)atoi(address + 4));
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&in, sizeof in) != 0) {
            close(fd);
            fd = -1;
        }
        return fd;
    }
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(address) >= sizeof un.sun_path)
        return -1;
    strcpy(un.sun_path, address);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof un) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

rsp_status ipa_card_open_socket(const char *address, ipa_card **out, rsp_error *err)
{
    *out = NULL;
    socket_card *card = calloc(1, sizeof *card);
    if (!card)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    card->base.transmit = socket_transmit;
    card->base.close = socket_close;
    card->fd = connect_address(address);
    if (card->fd < 0) {
        free(card);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot connect to the eUICC at %s: %s",
                             address, strerror(errno));
    }
    static const uint8_t power_on = 0x01;
    uint8_t atr[64];
    size_t atr_len = 0;
    rsp_status st = exchange(card, &power_on, 1, atr, sizeof atr, &atr_len, err);
    if (st != RSP_OK) {
        socket_close(&card->base);
        return st;
    }
    *out = &card->base;
    return RSP_OK;
}

void ipa_card_close(ipa_card *card)
{
    if (card)
        card->close(card);
}

rsp_status ipa_card_transmit(void *ctx, const uint8_t *command, size_t command_len,
                             uint8_t *response, size_t response_cap, size_t *response_len,
                             rsp_error *err)
{
    ipa_card *card = ctx;
    return card->transmit(card, command, command_len, response, response_cap, response_len, err);
}
