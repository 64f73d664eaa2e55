/* SGP.32 versions: the one place that knows which version a table set implements and how the
 * versions differ. Code elsewhere picks a profile (sgp32_version_find) and uses its message
 * table, so a v1.0 table set plugs in as one more profile, without conditionals in callers.
 *
 * Implemented: v1.2 (core/sgp32.h). v1.0 is described, not implemented: its differences from
 * v1.2 (renamed fields, moved tags, restructured types) are listed as data in
 * sgp32_v1_0_differences so that a v1.0 table set can be written from them. */
#ifndef RSPKIT_CORE_SGP32_VERSION_H
#define RSPKIT_CORE_SGP32_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/schema.h"

typedef enum {
    SGP32_VERSION_1_0 = 0x010000,
    SGP32_VERSION_1_2 = 0x010200,
} sgp32_version_number;

/* Which interface a message belongs to; the same tag is used on several (BF51 is both
 * EuiccPackageRequest and EuiccPackageResult), so lookups name the interface and direction. */
typedef enum {
    SGP32_INTERFACE_ESIPA,       /* IPA <-> eIM */
    SGP32_INTERFACE_EIM_PACKAGE, /* eIM -> eUICC packages and their results */
    SGP32_INTERFACE_ES10B,       /* IPA <-> eUICC */
} sgp32_interface;

typedef struct {
    const schema_type *type;
    sgp32_interface interface;
    bool response; /* sent by the responder: eIM on ESipa, eUICC on ES10b and for packages */
} sgp32_message_info;

/* One encoding or naming difference between v1.0 and v1.2 */
typedef struct {
    const char *element; /* ASN.1 type or Type.field */
    const char *v1_0;    /* what v1.0 has */
    const char *v1_2;    /* what v1.2 has (the implemented tables) */
} sgp32_version_difference;

typedef struct {
    sgp32_version_number number;
    const char *name;       /* "1.2" */
    uint8_t iot_version[3]; /* value of IoTSpecificInfo.iotVersion for this version */
    bool implemented;       /* false: described only, message tables absent */
    const sgp32_message_info *messages;
    size_t message_count;
    const sgp32_version_difference *differences_from_v1_0; /* NULL for v1.0 itself */
    size_t difference_count;
} sgp32_version_profile;

extern const sgp32_version_profile sgp32_versions[];
extern const size_t sgp32_version_count;
extern const sgp32_version_difference sgp32_v1_0_differences[];
extern const size_t sgp32_v1_0_difference_count;

/* Profile of an exact version, or NULL. */
const sgp32_version_profile *sgp32_version_find(sgp32_version_number number);
/* Profile matching an IoTSpecificInfo.iotVersion VersionType (3 octets: major, minor,
 * revision; the revision is ignored), or NULL when unknown. */
const sgp32_version_profile *sgp32_version_from_iot_version(der_view version_type);
/* The implemented profile that should serve a peer announcing the given profile: the profile
 * itself when implemented, else the newest implemented one. */
const sgp32_version_profile *sgp32_version_effective(const sgp32_version_profile *announced);
/* The message type carried under tag on interface in the given direction, or NULL. The ESipa
 * envelopes are untagged CHOICEs and are not found by tag. */
const schema_type *sgp32_message_find(const sgp32_version_profile *profile,
                                      sgp32_interface interface, uint32_t tag, bool response);

#endif
