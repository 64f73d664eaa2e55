/* Private parts of libipa shared by its files. */
#ifndef RSPKIT_IPA_IPA_INTERNAL_H
#define RSPKIT_IPA_IPA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "ipa/ipa.h"

#define IPA_EID_SIZE     16
#define IPA_URL_MAX      300
#define IPA_APDU_BLOCK   255u  /* STORE DATA block payload (short Lc) */
#define IPA_DECODE_ARENA 8192u /* arena for decoding one eIM message's lists */
#define IPA_MAX_ACKS     64u   /* sequence numbers handled per acknowledgement */
#define IPA_MAX_TLS_PIN  2048u /* largest trustedPublicKeyDataTls kept */

struct ipa {
    ipa_platform platform;
    ipa_config config;
    der_allocator allocator; /* tracking allocator handed to every dynamic writer */
    size_t bytes_held;
    size_t peak_bytes;
    uint32_t random_state;

    bool open;
    unsigned channel;
    uint8_t eid[IPA_EID_SIZE];

    /* From GetEimConfigurationData of the eIM being polled. */
    bool eim_loaded;
    char eim_url[IPA_URL_MAX];
    uint8_t *tls_pin; /* owned: SPKI or certificate DER */
    size_t tls_pin_len;
    bool tls_pin_is_certificate;
    bool has_association_token;
    int64_t association_token;
    bool eim_wants_indirect;   /* indirectProfileDownload present */
    bool esipa_json;           /* the JSON binding is in use */
    unsigned esipa_json_calls; /* functionCallIdentifier of the last JSON request */

    bool has_state_change;
    int64_t state_change_cause;
    bool has_rplmn;
    uint8_t rplmn[3];
    unsigned unreachable_polls; /* consecutive polls without an eIM answer */
};

/* Tracking allocation (ipa.c). */
void *ipa_alloc(ipa_instance *ipa, size_t size);
void ipa_release(ipa_instance *ipa, void *ptr);
void ipa_writer_init(ipa_instance *ipa, der_writer *w);

/* Storage helpers (ipa.c); absent keys read as empty. */
rsp_status ipa_storage_read(ipa_instance *ipa, const char *key, der_writer *out, rsp_error *err);
rsp_status ipa_storage_write(ipa_instance *ipa, const char *key, der_view value, rsp_error *err);
rsp_status ipa_storage_remove(ipa_instance *ipa, const char *key, rsp_error *err);

/* ES10 helpers (es10.c). */
rsp_status ipa_es10_simple(ipa_instance *ipa, uint32_t tag, der_writer *response, rsp_error *err);
/* LoadBoundProfilePackage split at TLV boundaries (SGP.22 v2.5 section 2.5.5); the last
 * response (ProfileInstallationResult) is appended to result. */
rsp_status ipa_es10_load_bpp(ipa_instance *ipa, der_view bpp, der_writer *result, rsp_error *err);
/* Finds the first child with tag inside a constructed TLV (whole TLV). */
bool ipa_find_child(der_view parent, uint32_t tag, der_view *child);
/* The value of the first child with tag. */
bool ipa_find_child_value(der_view parent, uint32_t tag, der_view *value);
/* RemoveNotificationFromList (SGP.22 v2.5 section 5.7.11). */
rsp_status ipa_es10_remove_notification(ipa_instance *ipa, int64_t seq_number, rsp_error *err);
rsp_status ipa_es10_cancel_session(ipa_instance *ipa, der_view transaction_id, int64_t reason,
                                   der_writer *response, rsp_error *err);

/* ESipa (esipa.c): POSTs one EsipaMessageFromIpaToEim TLV, appends the eIM's answer TLV.
 * RSP_ERR_IO when the eIM was not reached; RSP_ERR_BAD_VALUE etc. when it answered garbage. */
rsp_status ipa_esipa_load_config(ipa_instance *ipa, rsp_error *err);
rsp_status ipa_esipa_exchange(ipa_instance *ipa, der_view message, der_writer *answer,
                              rsp_error *err);

/* One HTTPS POST to the eIM with its configured TLS trust; RSP_ERR_IO when no HTTP answer
 * came (counted as an unreachable eIM). The body is appended to response. */
rsp_status ipa_esipa_post(ipa_instance *ipa, const char *url, const char *content_type,
                          der_view body, der_writer *response, long *http_status, rsp_error *err);
/* The same exchange as ipa_esipa_exchange over the JSON binding (esipa_json.c): the message
 * and the appended answer keep their ASN.1 binding shapes. */
rsp_status ipa_esipa_json_exchange(ipa_instance *ipa, der_view message, der_writer *answer,
                                   rsp_error *err);

/* ES9+ JSON binding to the SM-DP+ for the direct download (es9_json.c): message is an
 * ESipa-shaped ES9+ request (BF39, BF3B, BF3A, BF41) or a PendingNotification (BF37) for
 * handleNotification; the answer is appended in the ESipa shape. */
rsp_status ipa_es9_exchange(ipa_instance *ipa, const char *smdp_address, der_view message,
                            der_writer *answer, rsp_error *err);

/* Flows. */
rsp_status ipa_run_euicc_package(ipa_instance *ipa, der_view request, der_writer *result,
                                 rsp_error *err); /* package.c */
rsp_status ipa_run_ipa_euicc_data(ipa_instance *ipa, der_view request, der_writer *result,
                                  rsp_error *err); /* package.c */
rsp_status ipa_run_download_trigger(ipa_instance *ipa, der_view request, der_writer *result,
                                    rsp_error *err); /* download.c */
/* Appends the PendingNotification TLVs of the eUICC (RetrieveNotificationsList without
 * criteria) to out, each complete. */
rsp_status ipa_collect_notifications(ipa_instance *ipa, der_writer *out, rsp_error *err);

/* Pending results (pending.c). */
rsp_status ipa_pending_append(ipa_instance *ipa, der_view provide_result, rsp_error *err);
/* The "in_progress" marker: the eUICC Package about to run, with the eIM it came from. */
rsp_status ipa_mark_in_progress(ipa_instance *ipa, der_view package, rsp_error *err);
rsp_status ipa_pending_deliver(ipa_instance *ipa, ipa_poll_report *report, rsp_error *err);
rsp_status ipa_process_acknowledgements(ipa_instance *ipa, der_view answer, ipa_poll_report *report,
                                        rsp_error *err);
rsp_status ipa_recover_in_progress(ipa_instance *ipa, rsp_error *err);

#endif
