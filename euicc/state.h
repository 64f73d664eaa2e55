/* The persistent data model of the software eUICC: everything that must survive a power cut.
 *
 * Representation: every variable-size record (a profile, a pending notification, an eIM
 * configuration, a package result, a CRL, ...) is kept as one immutable, reference-counted
 * DER blob in the encoding of its private schema (state_codec.c, documented there). Scalars
 * (sequence counters) live in the struct. That gives three properties at once:
 *  - the file is the concatenation of the blobs under one SEQUENCE, so a commit is one
 *    encode plus one atomic file replacement (write FILE.tmp, fsync, rename, fsync dir);
 *  - a transaction (euicc_state_begin) only copies pointer arrays and takes references, so
 *    undo of a failed command is O(number of records), never a copy of profile bytes;
 *  - readers decode a record on demand into schema structs that borrow from the blob.
 *
 * Mutators replace whole blobs; a blob is never modified in place. Every mutator sets
 * `dirty`; the ISD-R dispatcher commits a dirty state BEFORE it answers the command and rolls
 * back when the handler fails or the commit fails, so after a crash the file holds the state
 * either before or after a command, and memory always matches the last answer given.
 *
 * Ownership: the state owns its blobs. Views returned by accessors borrow from a blob and stay
 * valid until the record is replaced or removed (or the transaction holding it is rolled back
 * and ended). Decoded records borrow from the blob and from the caller's arena. */
#ifndef RSPKIT_EUICC_STATE_H
#define RSPKIT_EUICC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "core/schema.h"
#include "core/sgp22.h"
#include "core/sgp32.h"

#define EUICC_STATE_FORMAT_VERSION 1
#define EUICC_EID_SIZE             16
#define EUICC_ICCID_SIZE           10
#define EUICC_AID_MAX              16

/* Immutable reference-counted bytes. */
typedef struct euicc_blob euicc_blob;

/* New blob holding a copy of data (len may be 0); NULL when out of memory. refs = 1. */
euicc_blob *euicc_blob_new(const uint8_t *data, size_t len);
euicc_blob *euicc_blob_ref(euicc_blob *blob);
void euicc_blob_unref(euicc_blob *blob);          /* NULL accepted */
der_view euicc_blob_view(const euicc_blob *blob); /* {NULL, 0} for NULL */

typedef struct {
    euicc_blob **items;
    size_t count;
    size_t cap;
} euicc_blob_list;

/* Which record list of the state. */
typedef enum {
    EUICC_LIST_PROFILES = 0,    /* StoredProfile (euicc_profile_record) */
    EUICC_LIST_NOTIFICATIONS,   /* StoredNotification (euicc_notification_record) */
    EUICC_LIST_EIMS,            /* SGP.32 EimConfigurationData, tag 30 */
    EUICC_LIST_PACKAGE_RESULTS, /* StoredPackageResult (euicc_package_result_record) */
    EUICC_LIST_CRLS,            /* X.509 CertificateList DER, as loaded by LoadCRL */
    EUICC_LIST__COUNT
} euicc_list_id;

/* Single optional records, each one DER TLV whose content the owning module defines. */
typedef enum {
    EUICC_SLOT_IDENTITY = 0,     /* euicc_identity_record (CLI: identity taken from a PKI) */
    EUICC_SLOT_DEFAULT_DP,       /* default SM-DP+ address, UTF-8 bytes (not a TLV) */
    EUICC_SLOT_ROOT_DS,          /* root SM-DS address, UTF-8 bytes (not a TLV) */
    EUICC_SLOT_IMMEDIATE_ENABLE, /* SGP.32 immediate-enable configuration (euicc-sgp32) */
    EUICC_SLOT_FALLBACK,         /* SGP.32 fallback / emergency state (euicc-sgp32) */
    EUICC_SLOT_ROLLBACK,         /* SGP.32 rollback snapshot (euicc-sgp32) */
    EUICC_SLOT__COUNT
} euicc_slot_id;

/* Sequence counters. Each holds the LAST value handed out (0 = none yet). */
typedef enum {
    /* SGP.22 NotificationMetadata.seqNumber and SGP.32 EuiccPackageResult seqNumber: one
     * number space, so RemoveNotificationFromList names exactly one record */
    EUICC_COUNTER_NOTIFICATION = 0,
    EUICC_COUNTER_PACKAGE_RESULT, /* reserved (results use EUICC_COUNTER_NOTIFICATION) */
    EUICC_COUNTER_ASSOCIATION_TOKEN, /* SGP.32 v1.2: the last associationToken issued */
    EUICC_COUNTER_SPARE2,
    EUICC_COUNTER__COUNT
} euicc_counter_id;

typedef struct euicc_state_undo euicc_state_undo;

typedef struct {
    int64_t counters[EUICC_COUNTER__COUNT];
    euicc_blob *slots[EUICC_SLOT__COUNT];
    euicc_blob_list lists[EUICC_LIST__COUNT];
    bool dirty;             /* changed since the last commit / load */
    euicc_state_undo *undo; /* open transaction, NULL when none */
} euicc_state;

/* ---- Records (private schema, state_codec.c) ------------------------------------------ */

/* One element of the installed SAIP package: which ProfileElement and where its TLV sits in
 * saip_package (file-system elements are kept as data: their bytes are in the package). */
typedef struct {
    int64_t element_type; /* saip_element_type (context tag number of the PE) */
    int64_t offset;
    int64_t length;
} euicc_stored_element;

/* An installed profile. info carries everything GetProfilesInfo reports (SGP.32 ProfileInfo:
 * the SGP.22 fields plus ecallIndication / fallbackAttribute / fallbackAllowed). */
typedef struct {
    sgp32_profile_info info; /* iccid and isdp_aid and profile_state are always present */
    bool has_smdp_address;
    der_view smdp_address; /* SM-DP+ that installed it (notification fallback address) */
    bool has_smdp_oid;
    der_view smdp_oid;
    bool has_saip_package;
    der_view saip_package; /* the unprotected profile package as installed */
    bool has_elements;
    schema_list elements; /* of euicc_stored_element */
} euicc_profile_record;

/* A pending notification (SGP.22 v2.5 section 3.5): metadata kept beside the signed form so
 * listing and searching need no decode of the signed structure. */
typedef struct {
    int64_t seq_number;
    schema_bits event; /* NotificationEvent, one bit set */
    der_view notification_address;
    bool has_iccid;
    der_view iccid;
    der_view pending_notification; /* whole TLV: BF37 ProfileInstallationResult or 30
                                      OtherSignedNotification */
} euicc_notification_record;

/* An SGP.32 eUICC Package Result waiting for the eIM's acknowledgement. */
typedef struct {
    int64_t seq_number;
    bool has_eim_id;
    der_view eim_id;
    der_view result; /* whole EuiccPackageResult TLV (BF51) */
} euicc_package_result_record;

/* Identity taken from a PKI folder, so a restarted eUICC keeps its EID, key and
 * certificates (CLI `rspkit euicc serve --pki`). */
typedef struct {
    der_view eid;                /* 16 octets */
    der_view private_key_pem;    /* PKCS#8 PEM text */
    der_view euicc_certificate;  /* DER, whole TLV */
    der_view eum_certificate;    /* DER, whole TLV */
    schema_list ci_certificates; /* of der_view (whole DER certificates) */
    bool has_pki_directory;
    der_view pki_directory;
} euicc_identity_record;

extern const schema_type euicc_stored_element_type;
extern const schema_type euicc_profile_record_type;
extern const schema_type euicc_notification_record_type;
extern const schema_type euicc_package_result_record_type;
extern const schema_type euicc_identity_record_type;
/* StoredProfile decoding profileInfo only (later fields skipped). */
extern const schema_type euicc_profile_info_only_type;

/* ---- Life cycle, persistence --------------------------------------------------------- */

void euicc_state_init(euicc_state *s);
/* Releases everything (an open transaction is discarded: memory keeps the current values). */
void euicc_state_clear(euicc_state *s);

/* Whole-state encoding (state_codec.c). decode replaces s only on success. */
rsp_status euicc_state_encode(const euicc_state *s, der_writer *out);
rsp_status euicc_state_decode(euicc_state *s, der_view encoded, rsp_error *err);

/* Loads path into s. RSP_ERR_NOT_FOUND when the file does not exist (s untouched); decoding
 * errors when it is damaged. A leftover path.tmp from a crash is ignored (and removed). */
rsp_status euicc_state_load(euicc_state *s, const char *path, rsp_error *err);
/* Writes s to path atomically (path.tmp, fsync when durable, rename, fsync of the directory
 * when durable) and clears dirty. path NULL: memory only, just clears dirty. */
rsp_status euicc_state_commit(euicc_state *s, const char *path, bool durable, rsp_error *err);

/* Transactions: begin remembers the current state (references only); rollback restores it;
 * end forgets it (after a successful commit). begin while one is open is an error. */
rsp_status euicc_state_begin(euicc_state *s);
void euicc_state_rollback(euicc_state *s);
void euicc_state_end(euicc_state *s);

/* Savepoints inside a command (e.g. one SGP.32 PSMO that fails while the others stand):
 * take one, and either restore it (consumes it) or free it. Cost: references only. */
typedef struct euicc_state_undo euicc_state_snapshot;
rsp_status euicc_state_snapshot_take(const euicc_state *s, euicc_state_snapshot **out);
void euicc_state_snapshot_restore(euicc_state *s, euicc_state_snapshot *snapshot);
void euicc_state_snapshot_free(euicc_state_snapshot *snapshot);

/* ---- Generic record access ------------------------------------------------------------ */

size_t euicc_state_count(const euicc_state *s, euicc_list_id list);
der_view euicc_state_get(const euicc_state *s, euicc_list_id list, size_t index);
/* Copies record (one DER TLV) into a new blob; append / replace at index / remove. */
rsp_status euicc_state_append(euicc_state *s, euicc_list_id list, der_view record);
rsp_status euicc_state_replace(euicc_state *s, euicc_list_id list, size_t index, der_view record);
rsp_status euicc_state_remove(euicc_state *s, euicc_list_id list, size_t index);
/* Encodes value with type and appends / replaces it. */
rsp_status euicc_state_append_value(euicc_state *s, euicc_list_id list, const schema_type *type,
                                    const void *value);
rsp_status euicc_state_replace_value(euicc_state *s, euicc_list_id list, size_t index,
                                     const schema_type *type, const void *value);
/* Decodes record index of list with type into out (borrowing from the blob and arena). */
rsp_status euicc_state_decode_value(const euicc_state *s, euicc_list_id list, size_t index,
                                    const schema_type *type, void *out, schema_arena *arena,
                                    rsp_error *err);

der_view euicc_state_slot(const euicc_state *s, euicc_slot_id slot); /* {NULL,0} if unset */
/* Sets (copy) or, with data NULL, clears a slot. */
rsp_status euicc_state_set_slot(euicc_state *s, euicc_slot_id slot, const uint8_t *data,
                                size_t len);
/* Increments counter and returns the new value in *value. */
rsp_status euicc_state_next_counter(euicc_state *s, euicc_counter_id counter, int64_t *value);

/* ---- Profiles ------------------------------------------------------------------------- */

/* Index of the profile with that ICCID (10 octets) / ISD-P AID, or -1. */
long euicc_state_find_profile_by_iccid(const euicc_state *s, der_view iccid);
long euicc_state_find_profile_by_aid(const euicc_state *s, der_view isdp_aid);
/* Index of the enabled profile, or -1. */
long euicc_state_find_enabled_profile(const euicc_state *s);
/* Decodes profile index into out with the caller's arena. */
rsp_status euicc_state_profile_decode(const euicc_state *s, size_t index, euicc_profile_record *out,
                                      schema_arena *arena, rsp_error *err);
/* A decoded profile with an arena sized for its blob (heap; release it). With info_only the
 * fields after profileInfo are skipped (cheap lookups), and the record must not be written
 * back. */
typedef struct {
    euicc_profile_record record;
    void *arena_buf;
} euicc_loaded_profile;
rsp_status euicc_state_profile_load(const euicc_state *s, size_t index, bool info_only,
                                    euicc_loaded_profile *out, rsp_error *err);
void euicc_loaded_profile_release(euicc_loaded_profile *profile);
rsp_status euicc_state_profile_add(euicc_state *s, const euicc_profile_record *record);
rsp_status euicc_state_profile_update(euicc_state *s, size_t index,
                                      const euicc_profile_record *record);
/* Sets the profile state (SGP22_PROFILE_STATE_*) of profile index. */
rsp_status euicc_state_profile_set_state(euicc_state *s, size_t index, int64_t state);
/* A new ISD-P AID not used by any installed profile (SGP.22 v2.5 section 2.2.3 form
 * A0000005591010FFFFFFFF89 00 00 1x 00). */
rsp_status euicc_state_allocate_isdp_aid(const euicc_state *s, uint8_t aid[EUICC_AID_MAX],
                                         size_t *aid_len);

/* ---- Notifications and package results ----------------------------------------------- */

long euicc_state_find_notification(const euicc_state *s, int64_t seq_number);
rsp_status euicc_state_notification_decode(const euicc_state *s, size_t index,
                                           euicc_notification_record *out, rsp_error *err);
long euicc_state_find_package_result(const euicc_state *s, int64_t seq_number);
rsp_status euicc_state_package_result_decode(const euicc_state *s, size_t index,
                                             euicc_package_result_record *out, rsp_error *err);

/* Heap bytes held by the state (blobs, arrays), for memory reports. */
size_t euicc_state_bytes_held(const euicc_state *s);

#endif
