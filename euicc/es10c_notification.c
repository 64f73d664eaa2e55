/* ES10b notification functions (SGP.22 v2.5 sections 5.7.9 to 5.7.11, SGP.32 v1.2 section
 * 5.9.11). Notifications and SGP.32 eUICC Package Results share one sequence number space
 * (EUICC_COUNTER_NOTIFICATION), so RemoveNotificationFromList names exactly one record. */
#include <string.h>

#include "core/sgp22.h"
#include "core/sgp32.h"
#include "euicc/isdr.h"

/* The single event a stored notification reports (its first set bit). */
static unsigned record_event(const euicc_notification_record *r)
{
    for (unsigned bit = 0; bit < 8 * r->event.bytes.len; bit++)
        if (schema_bits_get(&r->event, bit))
            return bit;
    return 0;
}

static bool event_selected(const schema_bits *filter, const euicc_notification_record *r)
{
    return schema_bits_get(filter, record_event(r));
}

/* SGP.22 v2.5 section 4.5: NotificationMetadata (BF2F) of a stored notification */
static rsp_status write_metadata(const euicc_notification_record *r, der_writer *out)
{
    sgp22_notification_metadata metadata;
    memset(&metadata, 0, sizeof(metadata));
    metadata.seq_number = r->seq_number;
    metadata.profile_management_operation = r->event;
    metadata.notification_address = r->notification_address;
    metadata.has_iccid = r->has_iccid;
    metadata.iccid = r->iccid;
    return schema_encode(&sgp22_notification_metadata_type, &metadata, out);
}

/* SGP.22 v2.5 section 5.7.9: ListNotification */
rsp_status es10b_list_notification(euicc *e, unsigned channel, der_view command,
                                   der_writer *response)
{
    (void)channel;
    sgp22_list_notification_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_list_notification_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    const euicc_state *s = euicc_get_state_const(e);
    size_t outer = der_begin(response, 0xBF28);
    size_t list = der_begin(response, 0xA0);
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_NOTIFICATIONS) && status == RSP_OK;
         i++) {
        euicc_notification_record record;
        status = euicc_state_notification_decode(s, i, &record, &err);
        if (status == RSP_OK && (!request.has_profile_management_operation ||
                                 event_selected(&request.profile_management_operation, &record)))
            status = write_metadata(&record, response);
    }
    der_end(response, list);
    der_end(response, outer);
    return status;
}

static rsp_status write_package_results(const euicc_state *s, der_writer *response)
{
    rsp_status status = RSP_OK;
    size_t list = der_begin(response, 0xA2);
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_PACKAGE_RESULTS) && status == RSP_OK;
         i++) {
        euicc_package_result_record record;
        rsp_error err = {0};
        status = euicc_state_package_result_decode(s, i, &record, &err);
        if (status == RSP_OK)
            der_put_raw(response, record.result.data, record.result.len);
    }
    der_end(response, list);
    return status;
}

static bool notification_selected(const sgp32_retrieve_notifications_list_request *request,
                                  const euicc_notification_record *r)
{
    if (!request->has_search_criteria)
        return true;
    const sgp32_retrieve_notifications_search_criteria *c = &request->search_criteria;
    if (c->choice == SGP32_RETRIEVE_NOTIFICATIONS_SEARCH_CRITERIA_SEQ_NUMBER)
        return r->seq_number == c->u.seq_number;
    return event_selected(&c->u.profile_management_operation, r);
}

/* SGP.22 v2.5 section 5.7.10 / SGP.32 v1.2 section 5.9.11: RetrieveNotificationsList. The
 * SGP.32 criterion euiccPackageResults returns the unacknowledged package results instead. */
rsp_status es10b_retrieve_notifications_list(euicc *e, unsigned channel, der_view command,
                                             der_writer *response)
{
    (void)channel;
    sgp32_retrieve_notifications_list_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp32_retrieve_notifications_list_request_type, command,
                                      &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    const euicc_state *s = euicc_get_state_const(e);
    size_t outer = der_begin(response, 0xBF2B);
    if (request.has_search_criteria &&
        request.search_criteria.choice ==
            SGP32_RETRIEVE_NOTIFICATIONS_SEARCH_CRITERIA_EUICC_PACKAGE_RESULTS) {
        status = write_package_results(s, response);
    } else {
        size_t list = der_begin(response, 0xA0);
        for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_NOTIFICATIONS) && status == RSP_OK;
             i++) {
            euicc_notification_record record;
            status = euicc_state_notification_decode(s, i, &record, &err);
            if (status == RSP_OK && notification_selected(&request, &record))
                der_put_raw(response, record.pending_notification.data,
                            record.pending_notification.len);
        }
        der_end(response, list);
    }
    der_end(response, outer);
    return status;
}

/* SGP.22 v2.5 section 5.7.11: RemoveNotificationFromList (NotificationSent). In SGP.32 it
 * also acknowledges an eUICC Package Result with that sequence number. */
rsp_status es10b_remove_notification_from_list(euicc *e, unsigned channel, der_view command,
                                               der_writer *response)
{
    (void)channel;
    sgp22_notification_sent_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_notification_sent_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    euicc_state *s = euicc_get_state(e);
    int64_t result = SGP22_DELETE_NOTIFICATION_NOTHING_TO_DELETE;
    long index = euicc_state_find_notification(s, request.seq_number);
    if (index >= 0) {
        status = euicc_state_remove(s, EUICC_LIST_NOTIFICATIONS, (size_t)index);
        result = SGP22_DELETE_NOTIFICATION_OK;
    } else {
        index = euicc_state_find_package_result(s, request.seq_number);
        if (index >= 0) {
            status = euicc_state_remove(s, EUICC_LIST_PACKAGE_RESULTS, (size_t)index);
            result = SGP22_DELETE_NOTIFICATION_OK;
        }
    }
    if (status != RSP_OK)
        return status;
    sgp22_notification_sent_response answer = {result};
    return schema_encode(&sgp22_notification_sent_response_type, &answer, response);
}
