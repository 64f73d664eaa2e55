/* Internals shared by the eIM server's interface files (ESipa, relay, REST, campaigns,
 * webhooks). Not installed, not for other components. */
#ifndef RSPKIT_EIM_SERVER_PRIVATE_H
#define RSPKIT_EIM_SERVER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "crypto/certificate.h"
#include "crypto/key.h"
#include "core/der.h"
#include "eim/server.h"
#include "net/http_server.h"
#include "net/metrics.h"
#include "store/store.h"

#define EIM_ASN1_CONTENT_TYPE "application/x-gsma-rsp-asn1"
#define EIM_ARENA_SIZE        (256u * 1024u)
#define EIM_MAX_CIS           8
#define EIM_KEY_CACHE_SLOTS   16384

/* Parsed eUICC public keys by device (parsing a certificate costs more than verifying a
 * signature). Entries are reference counted: a key in use survives its eviction. */
typedef struct eim_cached_key {
    int64_t device_id;
    uint8_t *certificate; /* owned DER the key came from: a changed certificate misses */
    size_t certificate_len;
    rsp_public_key *key;
    unsigned refs; /* users + 1 while in the cache */
} eim_cached_key;

struct eim_server {
    eim_server_config config;
    store *st;
    rsp_private_key *eim_key;
    rsp_certificate *cis[EIM_MAX_CIS];
    size_t ci_count;
    http_server *http;
    metrics_registry *metrics;
    metrics_counter polls_empty;
    metrics_counter packages_sent;
    metrics_counter packages_resent;
    metrics_counter results_accepted;
    metrics_counter results_refused;
    metrics_counter relay_calls;
    metrics_counter relay_failures;
    metrics_counter webhooks_delivered;
    metrics_counter webhooks_failed;
    pthread_mutex_t key_cache_lock;
    eim_cached_key *key_cache[EIM_KEY_CACHE_SLOTS];
    pthread_t worker;
    bool worker_running;
    atomic_bool stopping;
    pthread_mutex_t worker_lock;
    pthread_cond_t worker_wake;
};

/* Route handlers (user = eim_server). */
int eim_esipa_asn1_handle(const http_request *request, http_reply *reply, void *user);
int eim_rest_handle(const http_request *request, http_reply *reply, void *user);

/* One ESipa request (EsipaMessageFromIpaToEim, DER) answered into out; *no_content for the
 * functions without an answer (HandleNotification). Both bindings go through it. */
rsp_status eim_esipa_dispatch(eim_server *server, der_view message, der_writer *out,
                              bool *no_content, rsp_error *err);
int eim_esipa_json_handle(const http_request *request, http_reply *reply, void *user);

/* ESipa functions on decoded messages; each writes the ESipa answer (DER) to out. */
rsp_status eim_esipa_get_package(eim_server *server, der_view eid, der_writer *out, rsp_error *err);
/* result: the whole ProvideEimPackageResult TLV (BF50) as received. */
rsp_status eim_esipa_provide_result(eim_server *server, der_view result, der_writer *out,
                                    rsp_error *err);

/* Download relay (relay.c): message is the ESipa request TLV (BF39, BF3B, BF3A, BF41, BF3D
 * pending notification); writes the ESipa response TLV (nothing for a notification). */
rsp_status eim_relay_handle(eim_server *server, der_view message, der_writer *out, rsp_error *err);
/* One PendingNotification of a known device sent with a result (SGP.32 v1.2 section 6.3.2.7),
 * forwarded by eim_relay_notification_forward and then recorded by
 * eim_relay_notification_record inside the caller's transaction (the result's own commit), so
 * that it is durable before the caller acknowledges seq_number. */
typedef struct {
    int64_t device_id;
    der_view notification;                    /* borrowed: the request's bytes */
    char address[256];                        /* notificationAddress, "" when none */
    char digest_hex[2 * RSP_SHA256_SIZE + 1]; /* the outbox's unique key */
    bool allowed;                             /* an SM-DP+ the eIM may reach for the device */
    bool forwarded;                           /* an attempt was made now (not a repeat) */
    bool delivered;                           /* the SM-DP+ took it */
    int64_t attempts;
    int64_t next_attempt_at;
    const char *reason; /* static text, NULL when delivered */
    int64_t seq_number;
} eim_relay_forwarded;

/* Decodes, resolves and forwards (when allowed and not a repeat); no connection is held. The
 * caller writes the device's history entry. */
rsp_status eim_relay_notification_forward(eim_server *server, int64_t device_id,
                                          der_view notification, eim_relay_forwarded *out,
                                          rsp_error *err);
/* The outbox row (with the forwarding outcome) and the audit record, on conn inside the
 * caller's transaction. */
rsp_status eim_relay_notification_record(store_conn *conn, const eim_relay_forwarded *forwarded,
                                         rsp_error *err);

/* Background work (campaign.c, webhook.c). */
void eim_campaign_release_due(eim_server *server);
void eim_webhook_deliver_due(eim_server *server);
/* Forwards the notifications in the relay outbox whose next attempt is due (relay.c). */
void eim_relay_notifications_due(eim_server *server);

/* The eUICC key for device_id, from its point on curve (curve not NULL) or else from its
 * certificate DER; from the cache when the same bytes were seen. Release with
 * eim_key_cache_release. NULL when the bytes give no usable key. */
eim_cached_key *eim_key_cache_get(eim_server *server, int64_t device_id, const char *curve,
                                  const uint8_t *data, size_t len);
/* The certificate's key as curve name and uncompressed point (what eim_devices stores). */
bool eim_key_point_from_certificate(const uint8_t *der, size_t len, const char **curve,
                                    uint8_t point[RSP_EC_POINT_SIZE]);
void eim_key_cache_release(eim_server *server, eim_cached_key *entry);
void eim_key_cache_clear(eim_server *server);

/* EID as 32 decimal digits from the 16-byte eidValue; false when not BCD. */
bool eim_eid_text(der_view eid, char out[33]);

#endif
