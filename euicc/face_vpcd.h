/* Makes a software eUICC appear in a PC/SC reader: a client of vsmartcard's vpcd, the pcscd
 * reader driver that listens (default 127.0.0.1:35963) for a virtual card to connect.
 *
 * vpcd protocol (facts from frankmorgner/vsmartcard, virtualsmartcard/src/vpcd): frames are a
 * 2-byte big-endian length and a payload. A 1-byte payload from vpcd is a control: 00 power
 * off, 01 power on, 02 reset (none of them answered), 04 get ATR (answered with the ATR).
 * Any other payload is a command APDU, answered with the response APDU.
 *
 * The loop reconnects with exponential back-off (100 ms doubling to 5 s) whenever the
 * connection fails or drops, e.g. when pcscd restarts. Every new connection is a card
 * insertion and resets the card. */
#ifndef RSPKIT_EUICC_FACE_VPCD_H
#define RSPKIT_EUICC_FACE_VPCD_H

#include <stdint.h>

#include "core/error.h"
#include "euicc/apdu.h"

#define FACE_VPCD_DEFAULT_HOST   "127.0.0.1"
#define FACE_VPCD_DEFAULT_PORT   35963 /* 0x8C7B, vpcd's default channel */
#define FACE_VPCD_BACKOFF_MIN_MS 100
#define FACE_VPCD_BACKOFF_MAX_MS 5000

typedef struct face_vpcd face_vpcd;

/* card is borrowed. host NULL means FACE_VPCD_DEFAULT_HOST. */
face_vpcd *face_vpcd_new(euicc_card *card, const char *host, uint16_t port);
void face_vpcd_free(face_vpcd *vpcd);

/* Connects, serves and reconnects until face_vpcd_stop; then returns RSP_OK. */
rsp_status face_vpcd_run(face_vpcd *vpcd, rsp_error *err);
/* Async-signal-safe and thread-safe. */
void face_vpcd_stop(face_vpcd *vpcd);
/* Connections established so far (for logs and tests). */
unsigned face_vpcd_connections(const face_vpcd *vpcd);

#endif
