/* Pending notifications: numbering, signing and queuing (SGP.22 v2.5 sections 3.5, 5.7.10). */
#include "euicc/notification.h"

#include <string.h>

#include "crypto/ecdsa.h"

/* NotificationEvent is a named BIT STRING; DER drops trailing zero bits, so event n is
 * encoded with n + 1 bits. */
static schema_bits event_bits(unsigned event, uint8_t *storage)
{
    schema_bits bits;
    *storage = (uint8_t)(0x80u >> event);
    bits.bytes = der_view_make(storage, 1);
    bits.unused_bits = (uint8_t)(7u - event);
    return bits;
}

rsp_status euicc_notification_next_seq(euicc *e, int64_t *seq_number)
{
    return euicc_state_next_counter(euicc_get_state(e), EUICC_COUNTER_NOTIFICATION, seq_number);
}

/* SGP.22 v2.5 section 2.4a.1.1: NotificationConfigurationInformation */
bool euicc_notification_address_for(const euicc_profile_record *profile, unsigned event,
                                    der_view *address)
{
    if (!profile->info.has_notification_configuration_info)
        return false;
    const sgp22_notification_configuration_information *items =
        profile->info.notification_configuration_info.items;
    for (size_t i = 0; i < profile->info.notification_configuration_info.count; i++) {
        if (schema_bits_get(&items[i].profile_management_operation, event)) {
            *address = items[i].notification_address;
            return true;
        }
    }
    return false;
}

/* SGP.22 v2.5 section 5.7.10: OtherSignedNotification */
rsp_status euicc_notification_build_other(euicc *e, int64_t seq_number, unsigned event,
                                          der_view address, der_view iccid, der_writer *out,
                                          rsp_error *err)
{
    uint8_t event_storage;
    sgp22_notification_metadata tbs;
    memset(&tbs, 0, sizeof(tbs));
    tbs.seq_number = seq_number;
    tbs.profile_management_operation = event_bits(event, &event_storage);
    tbs.notification_address = address;
    tbs.has_iccid = iccid.len > 0;
    tbs.iccid = iccid;

    der_writer tbs_writer;
    der_writer_init_dynamic(&tbs_writer, NULL);
    rsp_status status = schema_encode(&sgp22_notification_metadata_type, &tbs, &tbs_writer);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    if (status == RSP_OK)
        status = rsp_ecdsa_sign(euicc_key(e), tbs_writer.buf, tbs_writer.len, signature, err);
    if (status == RSP_OK) {
        size_t mark = der_begin(out, 0x30);
        der_put_raw(out, tbs_writer.buf, tbs_writer.len);
        der_put_tlv(out, 0x5F37, signature, sizeof(signature));
        der_view cert = euicc_certificate_der(e);
        der_put_raw(out, cert.data, cert.len);
        der_view eum = euicc_eum_certificate_der(e);
        der_put_raw(out, eum.data, eum.len);
        der_end(out, mark);
        status = der_writer_status(out);
    }
    der_writer_free(&tbs_writer);
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "cannot build the notification");
    return status;
}

rsp_status euicc_notification_queue(euicc *e, int64_t seq_number, unsigned event, der_view address,
                                    der_view iccid, der_view pending_notification)
{
    uint8_t event_storage;
    euicc_notification_record record;
    memset(&record, 0, sizeof(record));
    record.seq_number = seq_number;
    record.event = event_bits(event, &event_storage);
    record.notification_address = address;
    record.has_iccid = iccid.len > 0;
    record.iccid = iccid;
    record.pending_notification = pending_notification;
    return euicc_state_append_value(euicc_get_state(e), EUICC_LIST_NOTIFICATIONS,
                                    &euicc_notification_record_type, &record);
}

rsp_status euicc_notification_for_profile(euicc *e, const euicc_profile_record *profile,
                                          unsigned event)
{
    der_view address;
    if (!euicc_notification_address_for(profile, event, &address))
        return RSP_OK;
    der_view iccid = profile->info.has_iccid ? profile->info.iccid : der_view_make(NULL, 0);
    int64_t seq_number = 0;
    rsp_status status = euicc_notification_next_seq(e, &seq_number);
    if (status != RSP_OK)
        return status;
    der_writer signed_form;
    der_writer_init_dynamic(&signed_form, NULL);
    rsp_error err = {0};
    status =
        euicc_notification_build_other(e, seq_number, event, address, iccid, &signed_form, &err);
    if (status == RSP_OK)
        status = euicc_notification_queue(e, seq_number, event, address, iccid,
                                          der_writer_view(&signed_form));
    der_writer_free(&signed_form);
    return status;
}
