/* libipa: the IoT Profile Assistant in the device (IPAd, SGP.32 v1.2 section 2.1.1).
 *
 * The IPA is a courier between the eIM (ESipa over HTTPS, ASN.1 or JSON binding) and the eUICC's
 * ISD-R (ES10 over APDUs). It needs no cryptography of its own: every signed structure is relayed
 * as the exact bytes it arrived in.
 *
 * Portability: the library depends only on rspkit_core and on the platform hooks below (APDU
 * transport, HTTP(S) POST, persistent key/value storage, allocation, randomness). It has no
 * global state; any number of instances may live in one process.
 *
 * Concurrency model (decision): the hooks are blocking and a flow runs to completion inside
 * one call (ipa_poll_once). What must survive an interruption is persisted through the storage
 * hook before anything is sent, so an event-driven host can run every instance in its own
 * worker, or replace the hooks by ones that suspend a coroutine, without changing the flows.
 *
 * Never losing a result: an eUICC-signed result is written to storage ("pending") before it
 * is sent to the eIM, and removed only after the eIM answered ProvideEimPackageResult. A
 * pending result is delivered before any new package is fetched, so a package is never run
 * twice and a result is never sent twice after it was acknowledged. Before a package reaches
 * the eUICC an "operation in progress" marker is written; if the IPA dies between the eUICC
 * executing the package and the result being stored, the next poll recovers the result from
 * the eUICC's own list of eUICC Package Results (RetrieveNotificationsList, SGP.32 v1.2
 * section 5.9.11). */
#ifndef RSPKIT_IPA_IPA_H
#define RSPKIT_IPA_IPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"

typedef struct ipa ipa_instance;

/* One HTTP POST towards the eIM (or an SM-DP+). */
typedef struct {
    const char *url;
    const char *content_type; /* also the Accept value */
    der_view body;
    /* TLS trust from the eIM configuration (trustedPublicKeyDataTls, SGP.32 v1.2 section
     * 2.11.1.1.1): when one of them is non-empty the server's key must match it. */
    der_view trusted_public_key;  /* SubjectPublicKeyInfo DER (30 ...) */
    der_view trusted_certificate; /* Certificate DER (30 ...) */
} ipa_http_request;

/* Storage keys the IPA uses (a few hundred bytes to a few KiB each). */
#define IPA_STORAGE_PENDING     "pending"     /* ProvideEimPackageResult DER not yet delivered */
#define IPA_STORAGE_IN_PROGRESS "in_progress" /* eUICC Package being executed */
#define IPA_STORAGE_ROLLBACK    "rollback"    /* enable with rollback flag awaiting eIM contact */

typedef struct {
    /* Allocation (NULL: libc realloc/free). realloc_fn(ctx, p, 0) frees. */
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size);
    void *alloc_ctx;

    /* One command APDU to the eUICC, the response APDU (data + SW1 SW2) back. */
    rsp_status (*apdu_transmit)(void *ctx, const uint8_t *command, size_t command_len,
                                uint8_t *response, size_t response_cap, size_t *response_len,
                                rsp_error *err);
    void *apdu_ctx;

    /* HTTP POST. Appends the response body to `response` and sets *http_status. RSP_ERR_IO (or
     * any error) when no HTTP response was received. */
    rsp_status (*http_post)(void *ctx, const ipa_http_request *request, der_writer *response,
                            long *http_status, rsp_error *err);
    void *http_ctx;

    /* Persistent storage: read appends the value to out (RSP_ERR_NOT_FOUND when absent);
     * write replaces atomically (a reader sees the old or the new value, never a mix). */
    rsp_status (*storage_read)(void *ctx, const char *key, der_writer *out, rsp_error *err);
    rsp_status (*storage_write)(void *ctx, const char *key, der_view value, rsp_error *err);
    rsp_status (*storage_remove)(void *ctx, const char *key, rsp_error *err);
    void *storage_ctx;

    /* Randomness for back-off jitter (NULL: a per-instance xorshift seeded from the EID). */
    uint32_t (*random_fn)(void *ctx);
    void *random_ctx;
} ipa_platform;

/* ESipa binding towards the eIM (SGP.32 v1.2 sections 6.1 and 6.4). */
typedef enum {
    /* ASN.1, switching to JSON for the rest of the instance's life when the eIM answers the
     * ASN.1 path with HTTP 404 or 415 (the eIM configuration has no field naming the
     * binding: EimSupportedProtocol only says HTTPS or CoAPS, retrieve or inject). */
    IPA_ESIPA_BINDING_AUTO = 0,
    IPA_ESIPA_BINDING_ASN1, /* POST /gsma/rsp2/asn1, application/x-gsma-rsp-asn1 */
    IPA_ESIPA_BINDING_JSON, /* POST /gsma/rsp2/esipa/<function>, application/json */
} ipa_esipa_binding;

typedef struct {
    /* eIM endpoint; NULL: "https://<eimFqdn>/gsma/rsp2/asn1" from the eUICC's eIM
     * configuration (SGP.32 v1.2 section 6.1). The JSON binding uses its origin
     * (scheme://host[:port]) followed by /gsma/rsp2/esipa/<function>. */
    const char *eim_url;
    ipa_esipa_binding esipa_binding;
    /* Which associated eIM to poll (eimId); NULL: the first one configured. */
    const char *eim_id;
    /* DeviceInfo for ctxParams1 and IpaEuiccData (SGP.22 v2.5 section 4.2): TAC, 4 octets. */
    uint8_t tac[4];
    /* Largest number of packages handled in one poll (0: 16). */
    unsigned max_packages_per_poll;
    /* Back-off after failures: base * 2^n, capped, with +-25% jitter (0: 5 s, 1 h). */
    uint32_t backoff_base_ms;
    uint32_t backoff_max_ms;
    /* Rollback (SGP.32 v1.2 section 5.9.16): after an enable with the rollback flag, this
     * many consecutive polls that cannot reach the eIM trigger ProfileRollback (0: 3). */
    unsigned rollback_after_failures;
    /* Profile download straight to the SM-DP+ over ES9+ JSON (directRspServerCommunication)
     * instead of relayed by the eIM; ignored when the eIM configuration asks for indirect
     * download (indirectProfileDownload, SGP.32 v1.2 section 2.11.1.1.1). */
    bool direct_download;
    /* Logical channel use: false opens a logical channel for the ISD-R (MANAGE CHANNEL),
     * true selects it on the basic channel (cards or modems without logical channels). */
    bool basic_channel;
} ipa_config;

/* What one poll did. */
typedef struct {
    unsigned packages;           /* eIM packages handled */
    unsigned results_delivered;  /* ProvideEimPackageResult accepted by the eIM */
    unsigned notifications_sent; /* notifications delivered and removed from the eUICC */
    unsigned acknowledged;       /* seqNumbers acknowledged by the eIM and removed */
    bool pending_left;           /* a result is still waiting for delivery */
    bool rolled_back;            /* ProfileRollback was executed during this poll */
    int64_t last_euicc_error;    /* last eUICC/eIM error code met (0: none) */
} ipa_poll_report;

rsp_status ipa_new(const ipa_platform *platform, const ipa_config *config, ipa_instance **out,
                   rsp_error *err);
/* Closes the logical channel if open. */
void ipa_free(ipa_instance *ipa);

/* Opens the ISD-R (logical channel + SELECT) and reads the EID. Called implicitly by the
 * functions below when needed. */
rsp_status ipa_open(ipa_instance *ipa, rsp_error *err);
/* Closes the logical channel (MANAGE CHANNEL close). */
void ipa_close(ipa_instance *ipa);
const uint8_t *ipa_eid(const ipa_instance *ipa); /* 16 octets, valid after ipa_open */

/* One ES10 command TLV to the ISD-R (STORE DATA segmentation, GET RESPONSE); the response
 * TLV is appended to response. A status word other than 9000/61xx is RSP_ERR_IO with the SW
 * in err->tag. (SGP.22 v2.5 section 5.7.2) */
rsp_status ipa_es10(ipa_instance *ipa, der_view command, der_writer *response, rsp_error *err);

/* One poll: delivers what is pending, then fetches and runs eIM packages until the eIM has
 * none (SGP.32 v1.2 section 3.1.1.1, GetEimPackage / ProvideEimPackageResult). */
rsp_status ipa_poll_once(ipa_instance *ipa, ipa_poll_report *report, rsp_error *err);

/* The state-change to report on the next GetEimPackage (notifyStateChange + cause, SGP.32
 * v1.2 section 6.3.2.6), e.g. after a fallback the device's connectivity logic triggered. */
void ipa_set_state_change(ipa_instance *ipa, int64_t cause);

/* The registered PLMN (MCC/MNC as in 3GPP TS 24.008, 3 octets) reported in GetEimPackage
 * (rPLMN); NULL stops reporting it. */
void ipa_set_rplmn(ipa_instance *ipa, const uint8_t plmn[3]);

/* Delay before the next attempt after `failures` consecutive failures (0: the poll
 * interval is the caller's). */
uint32_t ipa_backoff_ms(ipa_instance *ipa, unsigned failures);

/* ---- Local operations for installers and the device's connectivity logic --------------- */

/* AddInitialEim (SGP.32 v1.2 section 5.9.4): request is the BF57 TLV; the response TLV is
 * appended. */
rsp_status ipa_add_initial_eim(ipa_instance *ipa, der_view request, der_writer *response,
                               rsp_error *err);
/* GetEimConfigurationData (SGP.32 v1.2 section 5.9.18), all eIMs; response TLV appended. */
rsp_status ipa_get_eim_configuration(ipa_instance *ipa, der_writer *response, rsp_error *err);
/* ProfileInfoListRequest with no criteria (SGP.22 v2.5 section 5.7.15). */
rsp_status ipa_list_profiles(ipa_instance *ipa, der_writer *response, rsp_error *err);
/* ExecuteFallbackMechanism / ReturnFromFallback (SGP.32 v1.2 sections 5.9.20, 5.9.21); the
 * eUICC's result code in *result. The next GetEimPackage reports the state change. */
rsp_status ipa_execute_fallback(ipa_instance *ipa, int64_t *result, rsp_error *err);
rsp_status ipa_return_from_fallback(ipa_instance *ipa, int64_t *result, rsp_error *err);
/* EnableEmergencyProfile / DisableEmergencyProfile (SGP.32 v1.2 sections 5.9.22, 5.9.23), for
 * the device's eCall logic; reported as state change cause emergencyProfile. */
rsp_status ipa_enable_emergency_profile(ipa_instance *ipa, int64_t *result, rsp_error *err);
rsp_status ipa_disable_emergency_profile(ipa_instance *ipa, int64_t *result, rsp_error *err);
/* Sends every pending notification of the eUICC to the eIM (HandleNotification) and removes
 * the delivered ones (SGP.32 v1.2 section 3.7). */
rsp_status ipa_deliver_notifications(ipa_instance *ipa, unsigned *delivered, rsp_error *err);

/* Heap bytes held right now by the instance (its own struct included). */
size_t ipa_bytes_held(const ipa_instance *ipa);
/* Highest ipa_bytes_held seen since creation. */
size_t ipa_peak_bytes(const ipa_instance *ipa);

#endif
