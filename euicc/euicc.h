/* The software eUICC object: identity, trust anchors, persistent state and the ISD-R, behind
 * either an APDU interface (euicc_transmit, through euicc/apdu.h) or direct ES10 calls
 * (euicc_process) for in-process users.
 *
 * Many instances may live in one process (a fleet simulator runs 100,000): an idle instance
 * holds its state blobs, a copy of its two certificates and a few hundred bytes; keys and CI
 * certificates are borrowed so that instances can share them. An instance is not thread-safe;
 * distinct instances are independent.
 *
 * The ES10 handler files (es10a.c, es10b_*.c, es10c_*.c, ...) reach the eUICC's parts only
 * through the accessors below; see euicc/isdr.h for how a handler is plugged in. */
#ifndef RSPKIT_EUICC_EUICC_H
#define RSPKIT_EUICC_EUICC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/der.h"
#include "core/error.h"
#include "core/sgp32_version.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "euicc/apdu.h"
#include "euicc/state.h"

typedef struct euicc euicc;

/* Time source for certificate validity checks. Returns seconds since the epoch; 0 means "no
 * trusted time" and skips validity periods, as an eUICC without a clock does. */
typedef time_t (*euicc_clock_fn)(void *context);

typedef struct {
    uint8_t eid[EUICC_EID_SIZE];
    /* SK.EUICC.ECDSA; borrowed, must outlive the eUICC. */
    const rsp_private_key *euicc_key;
    /* CERT.EUICC.ECDSA and CERT.EUM.ECDSA (DER); copied. */
    der_view euicc_certificate;
    der_view eum_certificate;
    /* Trusted CI certificates; the array and the certificates are borrowed. Their subject key
     * identifiers form euiccCiPKIdListForVerification and ...ForSigning, in this order. */
    const rsp_certificate *const *ci_certificates;
    size_t ci_count;
    /* SGP.32 version claimed in EUICCInfo2.iotSpecificInfo; 0 means SGP32_VERSION_1_2. */
    sgp32_version_number sgp32_version;
    /* Initial addresses for a new state (NULL: none / "lpa.ds.gsma.com" for the root SM-DS). A
     * loaded state keeps its own. */
    const char *default_dp_address;
    const char *root_ds_address;
    /* State file; NULL keeps the state in memory only. */
    const char *state_path;
    /* false skips fsync on commit (fleet simulation: atomic against process death, not
     * against power loss). */
    bool durable;
    /* Time for certificate checks: clock(clock_context) when clock is set, else fixed_time. */
    euicc_clock_fn clock;
    void *clock_context;
    time_t fixed_time;
} euicc_config;

/* Creates an eUICC from config and its state file (created on first commit when absent).
 * A state file with a stored identity for a different EID is an RSP_ERR_STATE error. */
rsp_status euicc_new(const euicc_config *config, euicc **out, rsp_error *err);
void euicc_free(euicc *e);

/* One APDU in, one response APDU out (data + SW1 SW2); returns the response length, 0 when
 * resp_cap < 2. See euicc/apdu.h. */
size_t euicc_transmit(euicc *e, const uint8_t *apdu, size_t len, uint8_t *resp, size_t resp_cap);
/* Card reset (power cycle): closes channels, drops every session. */
void euicc_reset(euicc *e);
/* The card front end, for the faces (euicc/face_socket.h, euicc/face_vpcd.h); borrowed. */
euicc_card *euicc_get_card(euicc *e);
/* ATR of the card face (static storage). */
const uint8_t *euicc_atr(const euicc *e, size_t *len);

/* One ES10 command TLV on the basic channel without APDUs; the response TLV is appended to
 * response. Errors are the same statuses the APDU face maps to status words. */
rsp_status euicc_process(euicc *e, der_view es10_command, der_writer *response);
/* Same on a given logical channel (0-3), for tests of per-channel sessions. */
rsp_status euicc_process_on_channel(euicc *e, unsigned channel, der_view es10_command,
                                    der_writer *response);

/* ---- Accessors ------------------------------------------------------------------------- */

const uint8_t *euicc_eid(const euicc *e); /* 16 octets */
euicc_state *euicc_get_state(euicc *e);
const euicc_state *euicc_get_state_const(const euicc *e);
const rsp_private_key *euicc_key(const euicc *e);
der_view euicc_certificate_der(const euicc *e);
der_view euicc_eum_certificate_der(const euicc *e);
const rsp_certificate *const *euicc_ci_certificates(const euicc *e, size_t *count);
/* Subject key identifiers of the trusted CIs (order of the configuration). */
const der_view *euicc_ci_key_ids(const euicc *e, size_t *count);
const sgp32_version_profile *euicc_sgp32_version(const euicc *e);
/* Current time per the configured clock (0: none). */
time_t euicc_now(const euicc *e);
const char *euicc_state_path(const euicc *e);
bool euicc_durable(const euicc *e);
/* Heap bytes held by this instance beyond sizeof(struct): state, certificates, card. */
size_t euicc_bytes_held(const euicc *e);

/* ---- Per-channel sessions -------------------------------------------------------------- */

/* Session data an ES10 module keeps between commands on one logical channel (a download
 * session, a BPP being loaded, ...). It is freed with free_fn when the channel is closed, the
 * ISD-R is reselected on it, the card is reset, a new value is set, or the eUICC is freed. */
typedef enum {
    EUICC_SESSION_DOWNLOAD = 0, /* ES10b download session (euicc-download) */
    EUICC_SESSION_PACKAGE,      /* SGP.32 eUICC package processing (euicc-sgp32) */
    EUICC_SESSION__COUNT
} euicc_session_id;

typedef void (*euicc_session_free_fn)(void *data);

void *euicc_session_get(euicc *e, unsigned channel, euicc_session_id id);
/* Replaces the session (freeing the previous one). data NULL clears it. */
void euicc_session_set(euicc *e, unsigned channel, euicc_session_id id, void *data,
                       euicc_session_free_fn free_fn);

#endif
