/* Linux implementations of the libipa platform hooks (ipa/ipa.h): APDU transports (software
 * eUICC socket, PC/SC reader, AT-command serial modem), HTTPS through libcurl with the eIM's
 * TLS trust, and file storage. They live outside libipa so that a device build brings its own.
 */
#ifndef RSPKIT_IPA_PLATFORM_PLATFORM_H
#define RSPKIT_IPA_PLATFORM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "ipa/ipa.h"

/* ---- APDU transports ------------------------------------------------------------------- */

typedef struct ipa_card ipa_card;

/* Software eUICC over docs/euicc-socket-protocol.md: a Unix socket path, or "tcp:PORT" for
 * 127.0.0.1:PORT. Powers the card on (control 01). */
rsp_status ipa_card_open_socket(const char *address, ipa_card **out, rsp_error *err);
/* PC/SC reader: NULL or "" = first reader, a decimal number = that index in the reader list,
 * anything else = first reader whose name contains the text. RSP_ERR_UNSUPPORTED when built
 * without pcsclite. */
rsp_status ipa_card_open_pcsc(const char *reader, ipa_card **out, rsp_error *err);

typedef enum {
    IPA_MODEM_CSIM = 0, /* AT+CSIM: raw APDUs, the IPA manages the logical channel itself */
    IPA_MODEM_CGLA,     /* AT+CCHO / AT+CGLA / AT+CCHC: the modem opens the channel */
} ipa_modem_mode;
/* Serial modem speaking 3GPP TS 27.007 AT commands (device path, e.g. /dev/ttyUSB2). In
 * IPA_MODEM_CGLA mode the IPA must run with ipa_config.basic_channel = true: MANAGE CHANNEL
 * and SELECT are answered locally and the modem's channel carries the STORE DATA. */
rsp_status ipa_card_open_modem(const char *device, ipa_modem_mode mode, ipa_card **out,
                               rsp_error *err);
void ipa_card_close(ipa_card *card);
/* The ipa_platform.apdu_transmit hook; ctx is the ipa_card. */
rsp_status ipa_card_transmit(void *ctx, const uint8_t *command, size_t command_len,
                             uint8_t *response, size_t response_cap, size_t *response_len,
                             rsp_error *err);

/* ---- HTTPS ----------------------------------------------------------------------------- */

typedef struct ipa_http ipa_http;

/* ca_file: PEM roots for the eIM when the eUICC's configuration carries no TLS key (NULL:
 * system store); timeout_ms bounds each whole exchange (0: 30 s). */
ipa_http *ipa_http_new(const char *ca_file, long timeout_ms, rsp_error *err);
void ipa_http_free(ipa_http *http);
/* The ipa_platform.http_post hook; ctx is the ipa_http. trustedPublicKeyDataTls: a public key,
 * or a certificate of the eIM itself, becomes a libcurl public key pin (SHA-256 of the
 * SubjectPublicKeyInfo) that alone decides; a CA certificate becomes the trust anchor for the
 * chain and host name. */
rsp_status ipa_http_post(void *ctx, const ipa_http_request *request, der_writer *response,
                         long *http_status, rsp_error *err);

/* ---- File storage ---------------------------------------------------------------------- */

typedef struct {
    char directory[256];
    bool durable; /* fsync file and directory on every write */
} ipa_file_storage;

rsp_status ipa_file_storage_init(ipa_file_storage *storage, const char *directory, bool durable,
                                 rsp_error *err);
rsp_status ipa_file_storage_read(void *ctx, const char *key, der_writer *out, rsp_error *err);
rsp_status ipa_file_storage_write(void *ctx, const char *key, der_view value, rsp_error *err);
rsp_status ipa_file_storage_remove(void *ctx, const char *key, rsp_error *err);

/* Fills platform with the hooks above (libc allocation). */
void ipa_platform_linux(ipa_platform *platform, ipa_card *card, ipa_http *http,
                        ipa_file_storage *storage);

#endif
