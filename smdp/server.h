/* The SM-DP+ server: ES9+ (SGP.22 v2.5 section 6.5.2, JSON over HTTPS, towards LPAs, IPAs and
 * eIMs) and ES2+ (section 5.3 / 6.5.2, towards operators) on one HTTPS listener with the
 * DPtls certificate, the inventory and sessions in one database (smdp/inventory.h), /health,
 * /metrics (Prometheus text), structured logs, a callback sender for
 * ES2+.HandleDownloadProgressInfo, and a graceful stop.
 *
 * Any number of server processes may share one PostgreSQL database: every ES9+ step loads the
 * session from the database and stores the next one with a compare-and-set, so a transaction
 * can continue on any process and a restart loses nothing.
 *
 * Configuration is JSON (docs/smdp.md); smdp_config_from_pki() builds the zero-config form
 * from a folder made by `rspkit pki init`. */
#ifndef RSPKIT_SMDP_SERVER_H
#define RSPKIT_SMDP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"
#include "net/metrics.h"
#include "smdp/download.h"
#include "smdp/inventory.h"

#define SMDP_PATH_MAX       512
#define SMDP_MAX_IDENTITIES 4
#define SMDP_MAX_OPERATORS  32

/* Files of the SM-DP+ credentials under one CI (one per curve). */
typedef struct {
    char ci[SMDP_PATH_MAX];
    char dpauth_certificate[SMDP_PATH_MAX];
    char dpauth_key[SMDP_PATH_MAX];
    char dppb_certificate[SMDP_PATH_MAX];
    char dppb_key[SMDP_PATH_MAX];
    char crl[SMDP_PATH_MAX]; /* "" for none */
} smdp_identity_files;

typedef struct {
    char listen[128];             /* "127.0.0.1:8443"; port 0 = ephemeral */
    char address[256];            /* SM-DP+ address as in activation codes; "" = localhost:<port> */
    char database[SMDP_PATH_MAX]; /* store_open URL; default "sqlite:smdp.db" */
    char tls_certificate[SMDP_PATH_MAX];
    char tls_key[SMDP_PATH_MAX];
    char es2_client_ca[SMDP_PATH_MAX]; /* "" = no TLS client certificates */
    char callback_ca[SMDP_PATH_MAX];   /* trust for callback receivers; "" = system store */
    smdp_identity_files identities[SMDP_MAX_IDENTITIES];
    size_t identity_count;
    smdp_operator operators[SMDP_MAX_OPERATORS];
    size_t operator_count;
    unsigned threads;                    /* HTTP event-loop threads; 0: 2 */
    unsigned db_pool;                    /* database connections; 0: threads + 2 */
    size_t max_body;                     /* request limit; 0: 1 MiB */
    unsigned confirmation_code_attempts; /* 0: 5 */
    unsigned download_attempts;          /* 0: 10 */
    int64_t session_ttl_seconds;         /* 0: 600 */
    int64_t order_ttl_seconds;           /* confirmed orders expire after this; 0: never */
    unsigned callback_interval_ms;       /* outbox poll; 0: 500 */
    unsigned callback_max_attempts;      /* 0: 10 */
    char log_level[16];                  /* "" = leave as is */
    /* SQLite only: "normal" trades the last commits before a power loss (not a process crash:
     * WAL keeps those) for one fsync per checkpoint instead of one per commit. "" = full. */
    char sqlite_synchronous[16];
    smdp_clock_fn clock; /* tests; NULL: time(NULL) */
    void *clock_user;
} smdp_config;

/* Defaults for every field (listen 127.0.0.1:8443, database sqlite:smdp.db, ...). */
void smdp_config_init(smdp_config *config);
/* Reads a JSON configuration file (docs/smdp.md); relative paths are taken relative to the
 * file's folder. Unknown keys are refused so a typo does not silently change behaviour. */
rsp_status smdp_config_load_file(const char *path, smdp_config *config, rsp_error *err);
/* Same from JSON text; base_dir resolves relative paths (NULL: as given). */
rsp_status smdp_config_parse(const char *text, size_t len, const char *base_dir,
                             smdp_config *config, rsp_error *err);
/* Fills TLS and credentials from a `rspkit pki init` folder: nist/ (and brainpool/ when
 * present) CERT_CI_ECDSA, CERT_S_SM_DPauth_ECDSA, CERT_S_SM_DPpb_ECDSA (+ SK_*), CRL_CI, and
 * nist/CERT_S_SM_DP_TLS for TLS. */
rsp_status smdp_config_use_pki(smdp_config *config, const char *pki_dir, rsp_error *err);
/* Adds an operator; api_key and certificate_file may be NULL. */
rsp_status smdp_config_add_operator(smdp_config *config, const char *id, const char *api_key,
                                    const char *certificate_file, const char *callback_url,
                                    rsp_error *err);

/* ---- ES9+ and ES2+ route sets (used by the server; public for tests and benchmarks) ---- */

#define SMDP_ES9_FUNCTIONS 5

typedef struct {
    metrics_counter requests[SMDP_ES9_FUNCTIONS];
    metrics_counter failures[SMDP_ES9_FUNCTIONS];
    metrics_histogram latency[SMDP_ES9_FUNCTIONS];
    metrics_counter downloads;     /* BPPs handed out */
    metrics_counter bpp_resent;    /* the same BPP answered again to a retried request */
    metrics_counter installations; /* successful install results */
} smdp_es9plus_metrics;

/* Route binding: which set and which function a registered route serves. */
typedef struct {
    void *owner;
    unsigned index;
} smdp_route;

typedef struct {
    smdp_inventory *inventory;
    const smdp_credentials *credentials;
    size_t max_body;
    smdp_es9plus_metrics metrics;
    smdp_route routes[SMDP_ES9_FUNCTIONS];
} smdp_es9plus;

/* POST /gsma/rsp2/es9plus/{initiateAuthentication, authenticateClient,
 * getBoundProfilePackage, handleNotification, cancelSession}. */
rsp_status smdp_es9plus_register(http_server *http, smdp_es9plus *es9, rsp_error *err);
void smdp_es9plus_collect_metrics(metrics_text *out, void *es9);

typedef struct {
    smdp_inventory *inventory;
    size_t max_body;
    metrics_counter requests;
    metrics_counter failures;
    metrics_counter unauthenticated;
    smdp_route routes[4];
} smdp_es2plus;

/* POST /gsma/rsp2/es2plus/{downloadOrder, confirmOrder, cancelOrder, releaseProfile}. The
 * operator is the one whose TLS client certificate (SHA-256 of its DER) or X-API-Key header
 * (SHA-256 of the key) matches. */
rsp_status smdp_es2plus_register(http_server *http, smdp_es2plus *es2, rsp_error *err);
void smdp_es2plus_collect_metrics(metrics_text *out, void *es2);
/* The header carrying an operator's API key. */
#define SMDP_API_KEY_HEADER "X-API-Key"

/* Delivers due outbox items (ES2+.HandleDownloadProgressInfo, SGP.22 v2.5 section 5.3.5)
 * with client; a 2xx answer counts as delivered. *delivered may be NULL. */
rsp_status smdp_callbacks_deliver(smdp_inventory *inventory, http_client *client,
                                  unsigned max_attempts, size_t *delivered, rsp_error *err);

/* ---- JSON binding helpers shared by ES9+ and ES2+ (SGP.22 v2.5 section 6.5.1) ---- */

/* Checks the request (POST, Content-Type application/json, X-Admin-Protocol gsma/rsp/v...)
 * and parses its body as one JSON object. On failure the reply is set (405, 415 or 400 with
 * a one-line text) and NULL is returned; else a new reference. */
json_t *smdp_json_request(const http_request *request, http_reply *reply, size_t max_body);
/* Sends body (borrowed; NULL for an empty 204) with Content-Type application/json and
 * X-Admin-Protocol. Returns the handler's return value. */
int smdp_json_reply(http_reply *reply, int status, const json_t *body);
/* HTTP 200 {"header": {"functionExecutionStatus": {"status": "Failed", "statusCodeData":
 * {subjectCode, reasonCode, message}}}}. */
int smdp_json_reply_failed(http_reply *reply, const char *subject_code, const char *reason_code,
                           const char *message);
/* Same with the smdp_status table entry. */
int smdp_json_reply_status(http_reply *reply, smdp_status status);

/* ---- the server ---- */

typedef struct smdp_server smdp_server;

/* Loads certificates and keys, opens and migrates the database. */
smdp_server *smdp_server_new(const smdp_config *config, rsp_error *err);
/* Binds, starts the HTTP threads and the callback sender. */
rsp_status smdp_server_start(smdp_server *server, rsp_error *err);
uint16_t smdp_server_port(const smdp_server *server);
/* The SM-DP+ address in use (for activation codes). */
const char *smdp_server_address(const smdp_server *server);
smdp_inventory *smdp_server_inventory(smdp_server *server);
/* Graceful: stops accepting, lets requests in progress finish (grace_ms), stops the callback
 * sender. Idempotent. */
void smdp_server_stop(smdp_server *server, unsigned grace_ms);
void smdp_server_free(smdp_server *server);

/* Activation code "LPA:1$<address>$<matching ID>" into out. */
rsp_status smdp_activation_code(const char *address, const char *matching_id, char *out,
                                size_t size, rsp_error *err);
/* Writes the QR code of text as a PNG (libqrencode + libpng), scale pixels per module. */
rsp_status smdp_write_qr_png(const char *text, const char *path, unsigned scale, rsp_error *err);

#endif
