/* StoreMetadataRequest of a profile, the profile data an SM-DP+ binds into sequenceOf88. */
#include <string.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "smdp/binding.h"

/* NotificationEvent bits install(0), enable(1), disable(2), delete(3): one entry asking for
 * every notification of the profile's life at the SM-DP+ that installed it. */
static const uint8_t all_notification_events = 0xF0;

/* Minimal DER named-bit encoding of a one-octet bit mask (trailing zero bits dropped). */
static void one_octet_bits(const uint8_t *octet, schema_bits *bits)
{
    if (*octet == 0) {
        bits->bytes = der_view_make(octet, 0);
        bits->unused_bits = 0;
        return;
    }
    uint8_t unused = 0;
    while (((*octet >> unused) & 1u) == 0)
        unused++;
    bits->bytes = der_view_make(octet, 1);
    bits->unused_bits = unused;
}

/* SGP.22 v2.5 section 2.5.3: StoreMetadataRequest */
/* The ICCID digits of the package's ProfileHeader. */
static rsp_status package_iccid(der_view package, char digits[21], rsp_error *err)
{
    saip_element header_element;
    saip_walker walker;
    saip_walker_init(&walker, package);
    rsp_status status = saip_walker_next(&walker, &header_element, err);
    if (status != RSP_OK)
        return status;
    uint8_t arena_buffer[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_header header;
    status = saip_header_decode(header_element.tlv.whole, &header, &arena, err);
    if (status != RSP_OK)
        return status;
    return saip_iccid_digits(header.iccid, digits, err);
}

static rsp_status copy_digits(const char *iccid, char digits[21], rsp_error *err)
{
    size_t len = strlen(iccid);
    if (len < 18 || len > 20)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "metadata: bad ICCID %s", iccid);
    memcpy(digits, iccid, len + 1);
    return RSP_OK;
}

rsp_status smdp_metadata_build(const smdp_order *order, const char *notification_address,
                               der_writer *out, rsp_error *err)
{
    if (order == NULL || notification_address == NULL || order->service_provider_name == NULL ||
        order->profile_name == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "metadata: missing input");

    char digits[21];
    rsp_status status = order->iccid != NULL ? copy_digits(order->iccid, digits, err)
                                             : package_iccid(order->package, digits, err);
    if (status != RSP_OK)
        return status;
    uint8_t iccid[10];
    if (!saip_encode_iccid_ef(digits, iccid))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "metadata: bad ICCID %s", digits);

    sgp22_store_metadata_request metadata;
    memset(&metadata, 0, sizeof metadata);
    metadata.iccid = der_view_make(iccid, sizeof iccid);
    metadata.service_provider_name = der_view_make((const uint8_t *)order->service_provider_name,
                                                   strlen(order->service_provider_name));
    metadata.profile_name =
        der_view_make((const uint8_t *)order->profile_name, strlen(order->profile_name));
    if (order->has_icon) {
        metadata.has_icon_type = true;
        metadata.icon_type = order->icon_type;
        metadata.has_icon = true;
        metadata.icon = order->icon;
    }
    /* profileClass DEFAULT operational: DER leaves the default out */
    if (order->profile_class != SGP22_PROFILE_CLASS_OPERATIONAL) {
        metadata.has_profile_class = true;
        metadata.profile_class = order->profile_class;
    }
    sgp22_notification_configuration_information notification;
    one_octet_bits(&all_notification_events, &notification.profile_management_operation);
    notification.notification_address =
        der_view_make((const uint8_t *)notification_address, strlen(notification_address));
    metadata.has_notification_configuration_info = true;
    metadata.notification_configuration_info.count = 1;
    metadata.notification_configuration_info.items = &notification;
    if (order->has_profile_policy_rules) {
        metadata.has_profile_policy_rules = true;
        one_octet_bits(&order->profile_policy_rules, &metadata.profile_policy_rules);
    }
    status = schema_encode(&sgp22_store_metadata_request_type, &metadata, out);
    if (status != RSP_OK)
        rsp_error_set(err, status, 0xBF25, 0, "metadata: cannot encode StoreMetadataRequest");
    return status;
}
