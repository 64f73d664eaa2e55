/* The private, versioned DER encoding of the eUICC state file and of its records, written as
 * core/schema.h tables (AUTOMATIC TAGS style, every SEQUENCE extensible so a newer writer's
 * extra fields are skipped by an older reader):
 *
 *   EuiccState ::= SEQUENCE {
 *     magic          [0] UTF8String ("rspkit-euicc-state"),
 *     formatVersion  [1] INTEGER (EUICC_STATE_FORMAT_VERSION),
 *     counters       [2] SEQUENCE OF INTEGER,       -- euicc_counter_id order
 *     slots          [3] SEQUENCE OF Slot,          -- set slots only
 *     profiles       [4] SEQUENCE OF StoredProfile,
 *     notifications  [5] SEQUENCE OF StoredNotification,
 *     eims           [6] SEQUENCE OF EimConfigurationData,   -- SGP.32 v1.2 2.11.1.1.1
 *     packageResults [7] SEQUENCE OF StoredPackageResult,
 *     crls           [8] SEQUENCE OF CertificateList }
 *   Slot ::= SEQUENCE { id [0] INTEGER, value [1] OCTET STRING }
 *   StoredProfile ::= SEQUENCE {
 *     profileInfo [0] ProfileInfo,        -- SGP.32 v1.2 ProfileInfo, implicitly tagged
 *     smdpAddress [1] UTF8String OPTIONAL, smdpOid [2] OBJECT IDENTIFIER OPTIONAL,
 *     saipPackage [3] OCTET STRING OPTIONAL, elements [4] SEQUENCE OF StoredElement OPTIONAL }
 *   StoredElement ::= SEQUENCE { elementType [0] INTEGER, offset [1] INTEGER, length [2] INTEGER }
 *   StoredNotification ::= SEQUENCE { seqNumber [0] INTEGER, event [1] NotificationEvent,
 *     address [2] UTF8String, iccid [3] OCTET STRING OPTIONAL,
 *     pendingNotification [4] EXPLICIT PendingNotification }
 *   StoredPackageResult ::= SEQUENCE { seqNumber [0] INTEGER, eimId [1] OCTET STRING OPTIONAL,
 *     result [2] EXPLICIT EuiccPackageResult }
 *   StoredIdentity ::= SEQUENCE { eid [0] OCTET STRING (SIZE(16)), privateKeyPem [1] OCTET
 *     STRING, euiccCertificate [2] EXPLICIT Certificate, eumCertificate [3] EXPLICIT
 *     Certificate, ciCertificates [4] SEQUENCE OF Certificate,
 *     pkiDirectory [5] UTF8String OPTIONAL }
 *
 * Records are stored as their own TLVs inside the lists, so the in-memory blobs are exactly
 * the bytes of the file. */
#include <stdlib.h>
#include <string.h>

#include "euicc/state.h"

#define STATE_MAGIC "rspkit-euicc-state"

/* ---- record tables ----------------------------------------------------------------------- */

static const schema_type int_type = SCHEMA_INTEGER_TYPE("INTEGER", 0x02, 0, 0);

static const schema_field stored_element_fields[] = {
    SCHEMA_FIELD(euicc_stored_element, element_type, 0x80, int_type),
    SCHEMA_FIELD(euicc_stored_element, offset, 0x81, int_type),
    SCHEMA_FIELD(euicc_stored_element, length, 0x82, int_type),
};
const schema_type euicc_stored_element_type = SCHEMA_SEQUENCE_TYPE(
    "StoredElement", 0x30, euicc_stored_element, stored_element_fields, SCHEMA_EXTENSIBLE);

static const schema_type stored_element_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF StoredElement", 0x30, euicc_stored_element_type, 0, 0);

static const schema_field profile_record_fields[] = {
    SCHEMA_FIELD(euicc_profile_record, info, 0xA0, sgp32_profile_info_type),
    SCHEMA_OPT(euicc_profile_record, smdp_address, 0x81, schema_utf8),
    SCHEMA_OPT(euicc_profile_record, smdp_oid, 0x82, schema_oid),
    SCHEMA_OPT(euicc_profile_record, saip_package, 0x83, schema_octets),
    SCHEMA_OPT(euicc_profile_record, elements, 0xA4, stored_element_list_type),
};
const schema_type euicc_profile_record_type = SCHEMA_SEQUENCE_TYPE(
    "StoredProfile", 0x30, euicc_profile_record, profile_record_fields, SCHEMA_EXTENSIBLE);

static const schema_field profile_info_only_fields[] = {
    SCHEMA_FIELD(euicc_profile_record, info, 0xA0, sgp32_profile_info_type),
};
const schema_type euicc_profile_info_only_type = SCHEMA_SEQUENCE_TYPE(
    "StoredProfile", 0x30, euicc_profile_record, profile_info_only_fields, SCHEMA_EXTENSIBLE);

static const schema_field notification_record_fields[] = {
    SCHEMA_FIELD(euicc_notification_record, seq_number, 0x80, int_type),
    SCHEMA_FIELD(euicc_notification_record, event, 0x81, sgp22_notification_event_type),
    SCHEMA_FIELD(euicc_notification_record, notification_address, 0x82, schema_utf8),
    SCHEMA_OPT(euicc_notification_record, iccid, 0x83, schema_octets),
    SCHEMA_EXPLICIT_FIELD(euicc_notification_record, pending_notification, 0xA4, schema_raw_any),
};
const schema_type euicc_notification_record_type =
    SCHEMA_SEQUENCE_TYPE("StoredNotification", 0x30, euicc_notification_record,
                         notification_record_fields, SCHEMA_EXTENSIBLE);

static const schema_field package_result_record_fields[] = {
    SCHEMA_FIELD(euicc_package_result_record, seq_number, 0x80, int_type),
    SCHEMA_OPT(euicc_package_result_record, eim_id, 0x81, schema_octets),
    SCHEMA_EXPLICIT_FIELD(euicc_package_result_record, result, 0xA2, schema_raw_any),
};
const schema_type euicc_package_result_record_type =
    SCHEMA_SEQUENCE_TYPE("StoredPackageResult", 0x30, euicc_package_result_record,
                         package_result_record_fields, SCHEMA_EXTENSIBLE);

static const schema_type certificate_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF Certificate", 0x30, schema_raw_sequence, 0, 0);

static const schema_field identity_record_fields[] = {
    SCHEMA_FIELD(euicc_identity_record, eid, 0x80, sgp22_octet16_type),
    SCHEMA_FIELD(euicc_identity_record, private_key_pem, 0x81, schema_octets),
    SCHEMA_EXPLICIT_FIELD(euicc_identity_record, euicc_certificate, 0xA2, schema_raw_sequence),
    SCHEMA_EXPLICIT_FIELD(euicc_identity_record, eum_certificate, 0xA3, schema_raw_sequence),
    SCHEMA_FIELD(euicc_identity_record, ci_certificates, 0xA4, certificate_list_type),
    SCHEMA_OPT(euicc_identity_record, pki_directory, 0x85, schema_utf8),
};
const schema_type euicc_identity_record_type = SCHEMA_SEQUENCE_TYPE(
    "StoredIdentity", 0x30, euicc_identity_record, identity_record_fields, SCHEMA_EXTENSIBLE);

/* ---- whole state --------------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    der_view value;
} state_slot;

typedef struct {
    der_view magic;
    int64_t format_version;
    schema_list counters;                 /* of int64_t */
    schema_list slots;                    /* of state_slot */
    schema_list lists[EUICC_LIST__COUNT]; /* of der_view (whole record TLVs) */
} state_file;

static const schema_field slot_fields[] = {
    SCHEMA_FIELD(state_slot, id, 0x80, int_type),
    SCHEMA_FIELD(state_slot, value, 0x81, schema_octets),
};
static const schema_type slot_type =
    SCHEMA_SEQUENCE_TYPE("Slot", 0x30, state_slot, slot_fields, SCHEMA_EXTENSIBLE);

static const schema_type counter_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF INTEGER", 0x30, int_type, 0, 0);
static const schema_type slot_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF Slot", 0x30, slot_type, 0, 0);
static const schema_type record_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF Record", 0x30, schema_raw_any, 0, 0);

static const schema_field state_file_fields[] = {
    SCHEMA_FIELD(state_file, magic, 0x80, schema_utf8),
    SCHEMA_FIELD_NAMED("formatVersion", state_file, format_version, 0x81, int_type),
    SCHEMA_FIELD(state_file, counters, 0xA2, counter_list_type),
    SCHEMA_FIELD(state_file, slots, 0xA3, slot_list_type),
    SCHEMA_FIELD_NAMED("profiles", state_file, lists[EUICC_LIST_PROFILES], 0xA4, record_list_type),
    SCHEMA_FIELD_NAMED("notifications", state_file, lists[EUICC_LIST_NOTIFICATIONS], 0xA5,
                       record_list_type),
    SCHEMA_FIELD_NAMED("eims", state_file, lists[EUICC_LIST_EIMS], 0xA6, record_list_type),
    SCHEMA_FIELD_NAMED("packageResults", state_file, lists[EUICC_LIST_PACKAGE_RESULTS], 0xA7,
                       record_list_type),
    SCHEMA_FIELD_NAMED("crls", state_file, lists[EUICC_LIST_CRLS], 0xA8, record_list_type),
};
static const schema_type state_file_type =
    SCHEMA_SEQUENCE_TYPE("EuiccState", 0x30, state_file, state_file_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 itself does not define the eUICC's storage; this is rspkit's own format. */
rsp_status euicc_state_encode(const euicc_state *s, der_writer *out)
{
    state_file file;
    memset(&file, 0, sizeof(file));
    file.magic = der_view_make((const uint8_t *)STATE_MAGIC, strlen(STATE_MAGIC));
    file.format_version = EUICC_STATE_FORMAT_VERSION;
    file.counters.count = EUICC_COUNTER__COUNT;
    file.counters.items = (void *)s->counters;

    state_slot slots[EUICC_SLOT__COUNT];
    size_t slot_count = 0;
    for (size_t i = 0; i < EUICC_SLOT__COUNT; i++) {
        if (s->slots[i] == NULL)
            continue;
        slots[slot_count].id = (int64_t)i;
        slots[slot_count].value = euicc_blob_view(s->slots[i]);
        slot_count++;
    }
    file.slots.count = slot_count;
    file.slots.items = slots;

    rsp_status status = RSP_OK;
    der_view *views[EUICC_LIST__COUNT] = {0};
    for (size_t i = 0; i < EUICC_LIST__COUNT && status == RSP_OK; i++) {
        const euicc_blob_list *list = &s->lists[i];
        if (list->count == 0)
            continue;
        views[i] = malloc(list->count * sizeof(der_view));
        if (views[i] == NULL) {
            status = RSP_ERR_NO_MEMORY;
            break;
        }
        for (size_t j = 0; j < list->count; j++)
            views[i][j] = euicc_blob_view(list->items[j]);
        file.lists[i].count = list->count;
        file.lists[i].items = views[i];
    }
    if (status == RSP_OK)
        status = schema_encode(&state_file_type, &file, out);
    for (size_t i = 0; i < EUICC_LIST__COUNT; i++)
        free(views[i]);
    return status;
}

/* Builds the new lists and slots aside and swaps them in only when everything succeeded. */
static rsp_status adopt(euicc_state *s, const state_file *file, rsp_error *err)
{
    euicc_state fresh;
    euicc_state_init(&fresh);
    rsp_status status = RSP_OK;
    const int64_t *counters = file->counters.items;
    for (size_t i = 0; i < file->counters.count && i < EUICC_COUNTER__COUNT; i++)
        fresh.counters[i] = counters[i];
    const state_slot *slots = file->slots.items;
    for (size_t i = 0; i < file->slots.count && status == RSP_OK; i++) {
        if (slots[i].id < 0 || slots[i].id >= EUICC_SLOT__COUNT)
            continue; /* written by a newer version: not ours to interpret */
        status = euicc_state_set_slot(&fresh, (euicc_slot_id)slots[i].id, slots[i].value.data,
                                      slots[i].value.len);
    }
    for (size_t i = 0; i < EUICC_LIST__COUNT && status == RSP_OK; i++) {
        const der_view *records = file->lists[i].items;
        for (size_t j = 0; j < file->lists[i].count && status == RSP_OK; j++)
            status = euicc_state_append(&fresh, (euicc_list_id)i, records[j]);
    }
    if (status != RSP_OK) {
        euicc_state_clear(&fresh);
        return rsp_error_set(err, status, 0, 0, "out of memory loading the eUICC state");
    }
    fresh.dirty = false;
    euicc_state_clear(s);
    *s = fresh;
    return RSP_OK;
}

rsp_status euicc_state_decode(euicc_state *s, der_view encoded, rsp_error *err)
{
    /* Every list element is at least 2 bytes and takes at most 16 bytes of arena. */
    size_t arena_size = encoded.len * 8 + 256;
    void *arena_buf = malloc(arena_size);
    if (arena_buf == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for the state arena");
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, arena_size);
    state_file file;
    rsp_status status = schema_decode(&state_file_type, encoded, &file, &arena, err);
    if (status == RSP_OK && !der_view_equal(file.magic, der_view_make((const uint8_t *)STATE_MAGIC,
                                                                      strlen(STATE_MAGIC))))
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0x80, 0, "not an rspkit eUICC state file");
    if (status == RSP_OK && file.format_version != EUICC_STATE_FORMAT_VERSION)
        status = rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0x81, 0,
                               "eUICC state format %lld is not supported",
                               (long long)file.format_version);
    if (status == RSP_OK)
        status = adopt(s, &file, err);
    free(arena_buf);
    return status;
}
