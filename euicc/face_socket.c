/* Local socket face of the software eUICC: see face_socket.h and
 * docs/euicc-socket-protocol.md. Non-blocking sockets and one poll() loop, so a stalled
 * client never blocks the loop's other cards. */
#include "euicc/face_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FRAME_HEADER      2
#define RESPONSE_CAPACITY (256 + 2) /* one short response APDU */

typedef struct {
    euicc_card *card;
    int listen_fd;
    char *unix_path; /* owned; NULL for TCP */
    int client_fd;   /* -1 when no client */
    /* frame being received */
    uint8_t header[FRAME_HEADER];
    size_t header_have;
    uint8_t *payload; /* owned, allocated once the header is complete */
    size_t payload_len;
    size_t payload_have;
    /* frame being sent */
    uint8_t *output; /* owned */
    size_t output_len;
    size_t output_sent;
} endpoint;

struct face_socket_server {
    endpoint *endpoints;
    size_t count;
    int wake[2]; /* self-pipe: face_socket_stop writes, the loop polls */
    atomic_int stop;
    struct pollfd *fds; /* scratch for poll(), one per endpoint plus the wake pipe */
};

static rsp_status io_error(rsp_error *err, const char *what)
{
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s: %s", what, strerror(errno));
}

static bool set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

face_socket_server *face_socket_server_new(void)
{
    face_socket_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return NULL;
    if (pipe(server->wake) != 0) {
        free(server);
        return NULL;
    }
    if (!set_nonblocking(server->wake[0]) || !set_nonblocking(server->wake[1])) {
        close(server->wake[0]);
        close(server->wake[1]);
        free(server);
        return NULL;
    }
    atomic_init(&server->stop, 0);
    return server;
}

static void drop_frames(endpoint *ep)
{
    free(ep->payload);
    free(ep->output);
    ep->payload = ep->output = NULL;
    ep->header_have = ep->payload_len = ep->payload_have = 0;
    ep->output_len = ep->output_sent = 0;
}

/* The card is reset when a client leaves so the next one starts from a clean card. */
static void disconnect_client(endpoint *ep)
{
    if (ep->client_fd < 0)
        return;
    close(ep->client_fd);
    ep->client_fd = -1;
    drop_frames(ep);
    euicc_card_reset(ep->card);
}

void face_socket_server_free(face_socket_server *server)
{
    if (server == NULL)
        return;
    for (size_t i = 0; i < server->count; i++) {
        endpoint *ep = &server->endpoints[i];
        disconnect_client(ep);
        close(ep->listen_fd);
        if (ep->unix_path != NULL)
            unlink(ep->unix_path);
        free(ep->unix_path);
    }
    close(server->wake[0]);
    close(server->wake[1]);
    free(server->endpoints);
    free(server->fds);
    free(server);
}

static rsp_status add_endpoint(face_socket_server *server, euicc_card *card, int listen_fd,
                               char *unix_path, rsp_error *err)
{
    endpoint *grown = realloc(server->endpoints, (server->count + 1) * sizeof *grown);
    if (grown == NULL)
        goto no_memory;
    server->endpoints = grown;
    struct pollfd *fds = realloc(server->fds, (server->count + 2) * sizeof *fds);
    if (fds == NULL)
        goto no_memory;
    server->fds = fds;
    endpoint *ep = &server->endpoints[server->count++];
    memset(ep, 0, sizeof *ep);
    ep->card = card;
    ep->listen_fd = listen_fd;
    ep->unix_path = unix_path;
    ep->client_fd = -1;
    return RSP_OK;

no_memory:
    close(listen_fd);
    if (unix_path != NULL)
        unlink(unix_path);
    free(unix_path);
    return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory adding an endpoint");
}

rsp_status face_socket_listen_unix(face_socket_server *server, euicc_card *card, const char *path,
                                   rsp_error *err)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (server == NULL || card == NULL || path == NULL || strlen(path) >= sizeof address.sun_path)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad Unix socket path");
    memcpy(address.sun_path, path, strlen(path) + 1);

    /* Replace a socket left behind by an earlier run, never any other kind of file. */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    char *owned_path = strdup(path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (owned_path == NULL || fd < 0) {
        free(owned_path);
        if (fd >= 0)
            close(fd);
        return io_error(err, "socket");
    }
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        rsp_status status = io_error(err, "bind");
        close(fd);
        free(owned_path);
        return status;
    }
    if (listen(fd, 8) != 0 || !set_nonblocking(fd)) {
        rsp_status status = io_error(err, "listen");
        close(fd);
        unlink(owned_path);
        free(owned_path);
        return status;
    }
    return add_endpoint(server, card, fd, owned_path, err);
}

rsp_status face_socket_listen_tcp(face_socket_server *server, euicc_card *card, uint16_t port,
                                  uint16_t *bound_port, rsp_error *err)
{
    if (server == NULL || card == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no server or card");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return io_error(err, "socket");
    int yes = 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t address_len = sizeof address;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 8) != 0 ||
        !set_nonblocking(fd) || getsockname(fd, (struct sockaddr *)&address, &address_len) != 0) {
        rsp_status status = io_error(err, "TCP listen on 127.0.0.1");
        close(fd);
        return status;
    }
    if (bound_port != NULL)
        *bound_port = ntohs(address.sin_port);
    return add_endpoint(server, card, fd, NULL, err);
}

void face_socket_stop(face_socket_server *server)
{
    atomic_store(&server->stop, 1);
    uint8_t byte = 1;
    ssize_t ignored = write(server->wake[1], &byte, 1); /* a full pipe already wakes the loop */
    (void)ignored;
}

/* ---------------------------------------------------------------------------------------- */

/* Builds the one answer frame for a received payload; false means "close the connection"
 * (unknown control, or out of memory). */
static bool answer_frame(endpoint *ep)
{
    ep->output = malloc(FRAME_HEADER + RESPONSE_CAPACITY);
    if (ep->output == NULL)
        return false;
    uint8_t *body = ep->output + FRAME_HEADER;
    size_t body_len = 0;
    if (ep->payload_len == 1) {
        uint8_t control = ep->payload[0];
        if (control == FACE_CONTROL_POWER_OFF || control == FACE_CONTROL_POWER_ON ||
            control == FACE_CONTROL_RESET)
            euicc_card_reset(ep->card);
        if (control == FACE_CONTROL_POWER_ON || control == FACE_CONTROL_RESET ||
            control == FACE_CONTROL_GET_ATR) {
            const uint8_t *atr = euicc_card_atr(ep->card, &body_len);
            memcpy(body, atr, body_len);
        } else if (control != FACE_CONTROL_POWER_OFF) {
            return false;
        }
    } else if (ep->payload_len > 1) {
        body_len =
            euicc_card_transmit(ep->card, ep->payload, ep->payload_len, body, RESPONSE_CAPACITY);
    }
    ep->output[0] = (uint8_t)(body_len >> 8);
    ep->output[1] = (uint8_t)body_len;
    ep->output_len = FRAME_HEADER + body_len;
    ep->output_sent = 0;
    return true;
}

/* Reads what is available; returns false when the client is gone or broke the protocol. */
static bool receive(endpoint *ep)
{
    for (;;) {
        uint8_t *target;
        size_t want;
        if (ep->header_have < FRAME_HEADER) {
            target = ep->header + ep->header_have;
            want = FRAME_HEADER - ep->header_have;
        } else {
            target = ep->payload + ep->payload_have;
            want = ep->payload_len - ep->payload_have;
        }
        if (want > 0) {
            ssize_t got = recv(ep->client_fd, target, want, 0);
            if (got == 0)
                return false;
            if (got < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
            if (ep->header_have < FRAME_HEADER) {
                ep->header_have += (size_t)got;
                if (ep->header_have < FRAME_HEADER)
                    continue;
                ep->payload_len = (size_t)ep->header[0] << 8 | ep->header[1];
                ep->payload = malloc(ep->payload_len ? ep->payload_len : 1);
                if (ep->payload == NULL)
                    return false;
            } else {
                ep->payload_have += (size_t)got;
            }
            if (ep->payload_have < ep->payload_len)
                continue;
        }
        /* A whole frame: answer it before reading on (one command at a time). */
        bool ok = answer_frame(ep);
        free(ep->payload);
        ep->payload = NULL;
        ep->header_have = ep->payload_len = ep->payload_have = 0;
        return ok;
    }
}

/* Sends what the socket takes; returns false when the client is gone. */
static bool transmit_pending(endpoint *ep)
{
    while (ep->output_sent < ep->output_len) {
        ssize_t sent = send(ep->client_fd, ep->output + ep->output_sent,
                            ep->output_len - ep->output_sent, MSG_NOSIGNAL);
        if (sent < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        ep->output_sent += (size_t)sent;
    }
    free(ep->output);
    ep->output = NULL;
    ep->output_len = ep->output_sent = 0;
    return true;
}

static void accept_client(endpoint *ep)
{
    int fd = accept(ep->listen_fd, NULL, NULL);
    if (fd < 0)
        return; /* the client gave up meanwhile, or a transient error: poll again */
    if (!set_nonblocking(fd)) {
        close(fd);
        return;
    }
    ep->client_fd = fd;
    euicc_card_reset(ep->card);
}

static void service_endpoint(endpoint *ep, short revents)
{
    if (ep->client_fd < 0) {
        if (revents & POLLIN)
            accept_client(ep);
        return;
    }
    bool alive = true;
    if (ep->output != NULL && (revents & (POLLOUT | POLLERR | POLLHUP)))
        alive = transmit_pending(ep);
    else if (ep->output == NULL && (revents & (POLLIN | POLLERR | POLLHUP)))
        alive = receive(ep) && (ep->output == NULL || transmit_pending(ep));
    if (!alive)
        disconnect_client(ep);
}

rsp_status face_socket_poll(face_socket_server *server, int timeout_ms, rsp_error *err)
{
    if (server == NULL || server->fds == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no endpoint to serve");
    if (atomic_load(&server->stop))
        return RSP_ERR_STATE;
    struct pollfd *fds = server->fds;
    fds[0] = (struct pollfd){.fd = server->wake[0], .events = POLLIN};
    for (size_t i = 0; i < server->count; i++) {
        endpoint *ep = &server->endpoints[i];
        if (ep->client_fd < 0)
            fds[i + 1] = (struct pollfd){.fd = ep->listen_fd, .events = POLLIN};
        else
            fds[i + 1] = (struct pollfd){.fd = ep->client_fd,
                                         .events = ep->output != NULL ? POLLOUT : POLLIN};
    }
    int ready = poll(fds, server->count + 1, timeout_ms);
    if (ready < 0) {
        if (errno == EINTR)
            return atomic_load(&server->stop) ? RSP_ERR_STATE : RSP_OK;
        return io_error(err, "poll");
    }
    if (atomic_load(&server->stop))
        return RSP_ERR_STATE;
    for (size_t i = 0; i < server->count; i++)
        if (fds[i + 1].revents != 0)
            service_endpoint(&server->endpoints[i], fds[i + 1].revents);
    return RSP_OK;
}

rsp_status face_socket_run(face_socket_server *server, rsp_error *err)
{
    rsp_status status;
    do
        status = face_socket_poll(server, -1, err);
    while (status == RSP_OK);
    return status == RSP_ERR_STATE ? RSP_OK : status;
}
