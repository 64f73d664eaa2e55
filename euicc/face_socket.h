/* Serves software eUICCs over local stream sockets (Unix domain or TCP on 127.0.0.1), the way
 * our IPA reaches a card without PC/SC. The wire protocol is described in
 * docs/euicc-socket-protocol.md: every frame is a 2-byte big-endian length and a payload; a
 * 1-byte payload is a control (power off, power on, reset, get ATR), anything else an APDU.
 * Every frame a client sends gets exactly one frame back.
 *
 * Each card has its own endpoint and serves one client at a time; further clients wait in the
 * listen backlog and are served in turn. A client connecting or going away resets the card,
 * so nobody inherits another client's channels.
 *
 * One thread runs the loop (face_socket_run); face_socket_stop may be called from any thread
 * or from a signal handler. */
#ifndef RSPKIT_EUICC_FACE_SOCKET_H
#define RSPKIT_EUICC_FACE_SOCKET_H

#include <stdint.h>

#include "core/error.h"
#include "euicc/apdu.h"

/* Control payloads (one byte), the same values vsmartcard's vpcd uses. */
enum {
    FACE_CONTROL_POWER_OFF = 0x00, /* answered with an empty frame */
    FACE_CONTROL_POWER_ON = 0x01,  /* answered with the ATR */
    FACE_CONTROL_RESET = 0x02,     /* answered with the ATR */
    FACE_CONTROL_GET_ATR = 0x04,   /* answered with the ATR, card state unchanged */
};

typedef struct face_socket_server face_socket_server;

face_socket_server *face_socket_server_new(void);
/* Closes every socket and removes the Unix socket files it created. Cards are borrowed and
 * stay with the caller. */
void face_socket_server_free(face_socket_server *server);

/* Serves card at a Unix socket path; an existing socket file at path is replaced. */
rsp_status face_socket_listen_unix(face_socket_server *server, euicc_card *card, const char *path,
                                   rsp_error *err);
/* Serves card at 127.0.0.1:port; port 0 picks a free port, reported in *bound_port (may be
 * NULL). */
rsp_status face_socket_listen_tcp(face_socket_server *server, euicc_card *card, uint16_t port,
                                  uint16_t *bound_port, rsp_error *err);

/* One round: waits up to timeout_ms (-1: until something happens) and handles what is ready.
 * Returns RSP_ERR_STATE once face_socket_stop was called. */
rsp_status face_socket_poll(face_socket_server *server, int timeout_ms, rsp_error *err);
/* Loops until face_socket_stop; RSP_OK after a stop, an error if polling itself fails. */
rsp_status face_socket_run(face_socket_server *server, rsp_error *err);
/* Async-signal-safe and thread-safe. */
void face_socket_stop(face_socket_server *server);

#endif
