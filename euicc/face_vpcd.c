/* vsmartcard vpcd client face of the software eUICC: see face_vpcd.h. One connection at a
 * time, blocking sends, and reads that wait on the socket and the stop pipe together. */
#include "euicc/face_vpcd.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESPONSE_CAPACITY (256 + 2)

enum {
    VPCD_POWER_OFF = 0x00,
    VPCD_POWER_ON = 0x01,
    VPCD_RESET = 0x02,
    VPCD_GET_ATR = 0x04,
};

struct face_vpcd {
    euicc_card *card;
    char *host;
    uint16_t port;
    int wake[2];
    atomic_int stop;
    atomic_uint connections;
};

typedef enum { READ_OK, READ_CLOSED, READ_STOPPED } read_result;

face_vpcd *face_vpcd_new(euicc_card *card, const char *host, uint16_t port)
{
    if (card == NULL)
        return NULL;
    face_vpcd *vpcd = calloc(1, sizeof *vpcd);
    if (vpcd == NULL)
        return NULL;
    vpcd->card = card;
    vpcd->port = port;
    vpcd->host = strdup(host != NULL ? host : FACE_VPCD_DEFAULT_HOST);
    if (vpcd->host == NULL || pipe(vpcd->wake) != 0) {
        free(vpcd->host);
        free(vpcd);
        return NULL;
    }
    fcntl(vpcd->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(vpcd->wake[1], F_SETFL, O_NONBLOCK);
    atomic_init(&vpcd->stop, 0);
    atomic_init(&vpcd->connections, 0u);
    return vpcd;
}

void face_vpcd_free(face_vpcd *vpcd)
{
    if (vpcd == NULL)
        return;
    close(vpcd->wake[0]);
    close(vpcd->wake[1]);
    free(vpcd->host);
    free(vpcd);
}

void face_vpcd_stop(face_vpcd *vpcd)
{
    atomic_store(&vpcd->stop, 1);
    uint8_t byte = 1;
    ssize_t ignored = write(vpcd->wake[1], &byte, 1);
    (void)ignored;
}

unsigned face_vpcd_connections(const face_vpcd *vpcd)
{
    return atomic_load(&((face_vpcd *)vpcd)->connections);
}

/* Waits up to timeout_ms for fd to become readable; false when stopped first. */
static bool wait_readable(face_vpcd *vpcd, int fd, int timeout_ms, bool *readable)
{
    struct pollfd fds[2] = {{.fd = vpcd->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int ready = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
    if (atomic_load(&vpcd->stop))
        return false;
    *readable = ready > 0 && fd >= 0 && fds[1].revents != 0;
    return true;
}

static read_result read_exact(face_vpcd *vpcd, int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        bool readable = false;
        if (!wait_readable(vpcd, fd, -1, &readable))
            return READ_STOPPED;
        if (!readable)
            continue;
        ssize_t got = recv(fd, buf, len, 0);
        if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
            return READ_CLOSED;
        if (got > 0) {
            buf += got;
            len -= (size_t)got;
        }
    }
    return READ_OK;
}

static bool send_frame(int fd, const uint8_t *payload, size_t len)
{
    uint8_t frame[2 + RESPONSE_CAPACITY + 40];
    if (len > sizeof frame - 2)
        return false;
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, payload, len);
    size_t sent = 0;
    while (sent < len + 2) {
        ssize_t n = send(fd, frame + sent, len + 2 - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        sent += (size_t)n;
    }
    return true;
}

/* Handles one frame from vpcd; false when the connection is unusable. */
static bool handle_frame(face_vpcd *vpcd, int fd, const uint8_t *payload, size_t len)
{
    if (len == 1) {
        size_t atr_len = 0;
        const uint8_t *atr;
        switch (payload[0]) {
        case VPCD_POWER_OFF:
        case VPCD_POWER_ON:
        case VPCD_RESET:
            euicc_card_reset(vpcd->card);
            return true;
        case VPCD_GET_ATR:
            atr = euicc_card_atr(vpcd->card, &atr_len);
            return send_frame(fd, atr, atr_len);
        default:
            return true; /* unknown controls expect no answer */
        }
    }
    uint8_t response[RESPONSE_CAPACITY];
    size_t response_len = euicc_card_transmit(vpcd->card, payload, len, response, sizeof response);
    return send_frame(fd, response, response_len);
}

/* Serves one connection until it drops (true) or the face is stopped (false). */
static bool serve_connection(face_vpcd *vpcd, int fd)
{
    for (;;) {
        uint8_t header[2];
        read_result result = read_exact(vpcd, fd, header, sizeof header);
        if (result != READ_OK)
            return result == READ_CLOSED;
        size_t len = (size_t)header[0] << 8 | header[1];
        if (len == 0)
            continue; /* vpcd never sends one; nothing to answer */
        uint8_t *payload = malloc(len);
        if (payload == NULL)
            return true; /* drop the connection; the back-off retries later */
        result = read_exact(vpcd, fd, payload, len);
        bool alive = result == READ_OK && handle_frame(vpcd, fd, payload, len);
        free(payload);
        if (result == READ_STOPPED)
            return false;
        if (!alive)
            return true;
    }
}

static int connect_to_vpcd(const face_vpcd *vpcd)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)vpcd->port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    if (getaddrinfo(vpcd->host, service, &hints, &list) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd >= 0) {
        int yes = 1; /* APDUs are tiny request/response pairs: no Nagle delay */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    }
    return fd;
}

rsp_status face_vpcd_run(face_vpcd *vpcd, rsp_error *err)
{
    if (vpcd == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no vpcd face");
    int backoff_ms = FACE_VPCD_BACKOFF_MIN_MS;
    while (!atomic_load(&vpcd->stop)) {
        int fd = connect_to_vpcd(vpcd);
        if (fd >= 0) {
            atomic_fetch_add(&vpcd->connections, 1u);
            euicc_card_reset(vpcd->card); /* a new connection is a fresh insertion */
            bool dropped = serve_connection(vpcd, fd);
            close(fd);
            euicc_card_reset(vpcd->card);
            if (!dropped)
                break;
            backoff_ms = FACE_VPCD_BACKOFF_MIN_MS;
        }
        bool readable;
        if (!wait_readable(vpcd, -1, backoff_ms, &readable))
            break;
        backoff_ms =
            backoff_ms * 2 > FACE_VPCD_BACKOFF_MAX_MS ? FACE_VPCD_BACKOFF_MAX_MS : backoff_ms * 2;
    }
    return RSP_OK;
}
