/* ES10a: the addresses the eUICC was configured with (SGP.22 v2.5 sections 5.7.3, 5.7.4). */
#include <string.h>

#include "core/sgp22.h"
#include "euicc/isdr.h"

/* SGP.22 v2.5 section 5.7.3: GetEuiccConfiguredAddresses */
rsp_status es10a_get_euicc_configured_addresses(euicc *e, unsigned channel, der_view command,
                                                der_writer *response)
{
    (void)channel;
    sgp22_euicc_configured_addresses_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp22_euicc_configured_addresses_request_type, command,
                                      &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    const euicc_state *s = euicc_get_state_const(e);
    sgp22_euicc_configured_addresses_response answer;
    memset(&answer, 0, sizeof(answer));
    answer.default_dp_address = euicc_state_slot(s, EUICC_SLOT_DEFAULT_DP);
    answer.has_default_dp_address = answer.default_dp_address.data != NULL;
    answer.root_ds_address = euicc_state_slot(s, EUICC_SLOT_ROOT_DS);
    if (answer.root_ds_address.data == NULL)
        answer.root_ds_address = der_view_make((const uint8_t *)"", 0);
    return schema_encode(&sgp22_euicc_configured_addresses_response_type, &answer, response);
}

/* SGP.22 v2.5 section 5.7.4: SetDefaultDpAddress. An empty address removes the default (the
 * request has no other way to express "none"). */
rsp_status es10a_set_default_dp_address(euicc *e, unsigned channel, der_view command,
                                        der_writer *response)
{
    (void)channel;
    sgp22_set_default_dp_address_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_set_default_dp_address_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    euicc_state *s = euicc_get_state(e);
    sgp22_set_default_dp_address_response answer = {SGP22_RESULT_OK};
    if (request.default_dp_address.len == 0)
        status = euicc_state_set_slot(s, EUICC_SLOT_DEFAULT_DP, NULL, 0);
    else
        status = euicc_state_set_slot(s, EUICC_SLOT_DEFAULT_DP, request.default_dp_address.data,
                                      request.default_dp_address.len);
    if (status != RSP_OK) {
        euicc_state_rollback(s);
        answer.set_default_dp_address_result = SGP22_RESULT_UNDEFINED_ERROR;
    }
    return schema_encode(&sgp22_set_default_dp_address_response_type, &answer, response);
}
