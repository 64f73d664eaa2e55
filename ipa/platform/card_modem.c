/* APDU transport through a cellular modem's AT interface (3GPP TS 27.007 sections 8.17
 * +CSIM, 8.45 +CCHO, 8.46 +CCHC, 8.43 +CGLA). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/der.h"
#include "ipa/platform/card_internal.h"

#define AT_LINE_MAX   1200 /* 2 * 258 bytes of APDU plus the command around it */
#define AT_TIMEOUT_MS 10000

typedef struct {
    ipa_card base;
    int fd;
    ipa_modem_mode mode;
    int session; /* +CCHO session id, -1 when none */
    char pending[AT_LINE_MAX];
    size_t pending_len;
} modem_card;

static const char isd_r_aid_hex[] = "A0000005591010FFFFFFFF8900000100";

static rsp_status write_text(modem_card *m, const char *text, rsp_error *err)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(m->fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem write: %s", strerror(errno));
        text += n;
        len -= (size_t)n;
    }
    return RSP_OK;
}

/* Next non-empty line (CR/LF terminated) into line. */
static rsp_status read_line(modem_card *m, char *line, size_t cap, rsp_error *err)
{
    for (;;) {
        char *end = NULL;
        for (size_t i = 0; i < m->pending_len; i++)
            if (m->pending[i] == '\r' || m->pending[i] == '\n') {
                end = m->pending + i;
                break;
            }
        if (end) {
            size_t n = (size_t)(end - m->pending);
            size_t copy = n < cap - 1 ? n : cap - 1;
            memcpy(line, m->pending, copy);
            line[copy] = 0;
            memmove(m->pending, end + 1, m->pending_len - n - 1);
            m->pending_len -= n + 1;
            if (copy > 0)
                return RSP_OK;
            continue;
        }
        if (m->pending_len == sizeof m->pending)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem line too long");
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        int ready = poll(&p, 1, AT_TIMEOUT_MS);
        if (ready == 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem did not answer");
        ssize_t got =
            ready > 0 ? read(m->fd, m->pending + m->pending_len, sizeof m->pending - m->pending_len)
                      : -1;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem read failed");
        m->pending_len += (size_t)got;
    }
}

/* Sends command, returns the information line starting with prefix (may be NULL). */
static rsp_status at_command(modem_card *m, const char *command, const char *prefix, char *reply,
                             size_t cap, rsp_error *err)
{
    char line[AT_LINE_MAX];
    rsp_status st = write_text(m, command, err);
    if (st == RSP_OK)
        st = write_text(m, "\r", err);
    if (reply && cap)
        reply[0] = 0;
    while (st == RSP_OK) {
        st = read_line(m, line, sizeof line, err);
        if (st != RSP_OK)
            break;
        if (strcmp(line, "OK") == 0)
            return RSP_OK;
        if (strcmp(line, "ERROR") == 0 || strncmp(line, "+CME ERROR", 10) == 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem refused %.20s: %s", command, line);
        if (prefix && reply && strncmp(line, prefix, strlen(prefix)) == 0) {
            strncpy(reply, line + strlen(prefix), cap - 1);
            reply[cap - 1] = 0;
        }
    }
    return st;
}

/* Parses `<len>,"<HEX>"` into response. */
static rsp_status parse_apdu_reply(const char *reply, uint8_t *response, size_t cap,
                                   size_t *response_len, rsp_error *err)
{
    const char *open = strchr(reply, '"');
    const char *close = open ? strchr(open + 1, '"') : NULL;
    if (!close)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem answer without APDU: %.40s", reply);
    char hex[AT_LINE_MAX];
    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof hex)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem answer too long");
    memcpy(hex, open + 1, n);
    hex[n] = 0;
    long len = der_hex_decode(hex, response, cap);
    if (len < 2)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem answer is not an APDU response");
    *response_len = (size_t)len;
    return RSP_OK;
}

static rsp_status apdu_command(modem_card *m, const char *verb, const uint8_t *command, size_t len,
                               uint8_t *response, size_t cap, size_t *response_len, rsp_error *err)
{
    char line[AT_LINE_MAX];
    char reply[AT_LINE_MAX];
    char hex[2 * 261 + 1];
    if (len > 261)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "APDU too long");
    der_hex_encode(command, len, hex, true);
    if (m->mode == IPA_MODEM_CSIM)
        snprintf(line, sizeof line, "AT+CSIM=%zu,\"%s\"", 2 * len, hex);
    else
        snprintf(line, sizeof line, "AT+CGLA=%d,%zu,\"%s\"", m->session, 2 * len, hex);
    rsp_status st = at_command(m, line, verb, reply, sizeof reply, err);
    if (st == RSP_OK)
        st = parse_apdu_reply(reply, response, cap, response_len, err);
    return st;
}

static void put_sw(uint8_t *response, size_t *response_len, uint16_t sw)
{
    response[0] = (uint8_t)(sw >> 8);
    response[1] = (uint8_t)sw;
    *response_len = 2;
}

/* In CGLA mode the modem owns the channel: SELECT of the ISD-R opens it (+CCHO), MANAGE
 * CHANNEL is refused so that the IPA stays on "its" channel, the rest goes through +CGLA. */
static rsp_status modem_transmit(ipa_card *base, const uint8_t *command, size_t command_len,
                                 uint8_t *response, size_t response_cap, size_t *response_len,
                                 rsp_error *err)
{
    modem_card *m = (modem_card *)base;
    if (response_cap < 2)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "response buffer");
    if (m->mode == IPA_MODEM_CSIM)
        return apdu_command(m, "+CSIM: ", command, command_len, response, response_cap,
                            response_len, err);
    if (command_len >= 2 && command[1] == 0x70) {
        put_sw(response, response_len, 0x6881); /* logical channel not supported */
        return RSP_OK;
    }
    if (command_len >= 5 && command[1] == 0xA4 && command[2] == 0x04) {
        char reply[64];
        char line[96];
        if (m->session >= 0)
            return (put_sw(response, response_len, 0x9000), RSP_OK);
        snprintf(line, sizeof line, "AT+CCHO=\"%s\"", isd_r_aid_hex);
        rsp_status st = at_command(m, line, "+CCHO: ", reply, sizeof reply, err);
        if (st == RSP_OK && reply[0] == 0)
            st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "modem opened no channel");
        if (st == RSP_OK) {
            m->session = atoi(reply);
            put_sw(response, response_len, 0x9000);
        }
        return st;
    }
    if (m->session < 0)
        return (put_sw(response, response_len, 0x6986), RSP_OK);
    return apdu_command(m, "+CGLA: ", command, command_len, response, response_cap, response_len,
                        err);
}

static void modem_close(ipa_card *base)
{
    modem_card *m = (modem_card *)base;
    if (m->session >= 0) {
        char line[32];
        rsp_error ignored = {0};
        snprintf(line, sizeof line, "AT+CCHC=%d", m->session);
        at_command(m, line, NULL, NULL, 0, &ignored);
    }
    close(m->fd);
    free(m);
}

rsp_status ipa_card_open_modem(const char *device, ipa_modem_mode mode, ipa_card **out,
                               rsp_error *err)
{
    *out = NULL;
    modem_card *m = calloc(1, sizeof *m);
    if (!m)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    m->base.transmit = modem_transmit;
    m->base.close = modem_close;
    m->mode = mode;
    m->session = -1;
    m->fd = open(device, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m->fd < 0) {
        free(m);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open modem %s: %s", device,
                             strerror(errno));
    }
    struct termios tio;
    if (tcgetattr(m->fd, &tio) == 0) {
        cfmakeraw(&tio);
        cfsetspeed(&tio, B115200);
        tcsetattr(m->fd, TCSANOW, &tio);
    }
    /* echo off so that replies are not mixed with our own command lines */
    rsp_status st = at_command(m, "ATE0", NULL, NULL, 0, err);
    if (st != RSP_OK) {
        modem_close(&m->base);
        return st;
    }
    *out = &m->base;
    return RSP_OK;
}
