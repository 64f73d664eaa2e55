/* ESipa client over HTTPS (SGP.32 v1.2 sections 6.1 and 6.3): the eIM's address and TLS trust
 * from the eUICC, the ASN.1 binding, and the choice of binding (JSON: esipa_json.c). */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "ipa/ipa_internal.h"

#define ESIPA_CONTENT_TYPE "application/x-gsma-rsp-asn1"
#define ESIPA_PATH         "/gsma/rsp2/asn1"

/* SGP.32 v1.2 section 2.11.1.1.1 trustedPublicKeyDataTls */
static rsp_status keep_tls_trust(ipa_instance *ipa, const sgp32_eim_configuration_data *config,
                                 rsp_error *err)
{
    ipa_release(ipa, ipa->tls_pin);
    ipa->tls_pin = NULL;
    ipa->tls_pin_len = 0;
    if (!config->has_trusted_public_key_data_tls)
        return RSP_OK;
    const sgp32_trusted_public_key_data_tls *trust = &config->trusted_public_key_data_tls;
    der_view v = trust->choice == SGP32_TRUSTED_PUBLIC_KEY_DATA_TLS_TRUSTED_EIM_PK_TLS
                     ? trust->u.trusted_eim_pk_tls
                     : trust->u.trusted_certificate_tls;
    if (v.len == 0 || v.len > IPA_MAX_TLS_PIN)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ipa: unusable trustedPublicKeyDataTls");
    ipa->tls_pin = ipa_alloc(ipa, v.len);
    if (!ipa->tls_pin)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
    memcpy(ipa->tls_pin, v.data, v.len);
    /* implicitly tagged [0]/[1] in the configuration: restore the universal SEQUENCE tag so
     * the TLS layer sees plain X.509 DER */
    ipa->tls_pin[0] = 0x30;
    ipa->tls_pin_len = v.len;
    ipa->tls_pin_is_certificate =
        trust->choice == SGP32_TRUSTED_PUBLIC_KEY_DATA_TLS_TRUSTED_CERTIFICATE_TLS;
    return RSP_OK;
}

static bool eim_matches(const ipa_instance *ipa, const sgp32_eim_configuration_data *config)
{
    const char *wanted = ipa->config.eim_id;
    return !wanted || (strlen(wanted) == config->eim_id.len &&
                       memcmp(wanted, config->eim_id.data, config->eim_id.len) == 0);
}

/* SGP.32 v1.2 sections 2.11.1.1.1 and 6.1: the eIM address from eimFqdn */
static rsp_status take_config(ipa_instance *ipa, const sgp32_eim_configuration_data *config,
                              rsp_error *err)
{
    if (ipa->config.eim_url) {
        if (strlen(ipa->config.eim_url) >= sizeof ipa->eim_url)
            return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "ipa: eIM URL too long");
        strcpy(ipa->eim_url, ipa->config.eim_url);
    } else if (!config->has_eim_fqdn) {
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0x81, 0,
                             "ipa: the eIM configuration has no eimFqdn and no URL is set");
    } else {
        int n =
            snprintf(ipa->eim_url, sizeof ipa->eim_url, "https://%.*s%s", (int)config->eim_fqdn.len,
                     (const char *)config->eim_fqdn.data, ESIPA_PATH);
        if (n < 0 || (size_t)n >= sizeof ipa->eim_url)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0x81, 0, "ipa: eimFqdn too long");
    }
    /* EimSupportedProtocol (SGP.32 v1.2 section 2.11.1.1.1) names transports, not bindings:
     * an eIM without eimRetrieveHttps is still polled, but the log says why it may fail */
    if (config->has_eim_supported_protocol && !schema_bits_get(&config->eim_supported_protocol, 0))
        LOG_WARN("ipa", "the eIM configuration does not offer eimRetrieveHttps",
                 LOG_STR("url", ipa->eim_url));
    if (ipa->config.esipa_binding != IPA_ESIPA_BINDING_AUTO)
        ipa->esipa_json = ipa->config.esipa_binding == IPA_ESIPA_BINDING_JSON;
    ipa->eim_wants_indirect = config->has_indirect_profile_download;
    ipa->has_association_token = config->has_association_token;
    ipa->association_token = config->association_token;
    return keep_tls_trust(ipa, config, err);
}

/* GetEimConfigurationData (SGP.32 v1.2 section 5.9.18): address and TLS trust of the eIM. */
rsp_status ipa_esipa_load_config(ipa_instance *ipa, rsp_error *err)
{
    if (ipa->eim_loaded)
        return RSP_OK;
    der_writer resp;
    sgp32_get_eim_configuration_data_response decoded;
    uint8_t *arena_buf = ipa_alloc(ipa, IPA_DECODE_ARENA);
    schema_arena arena;
    if (!arena_buf)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
    schema_arena_init(&arena, arena_buf, IPA_DECODE_ARENA);
    ipa_writer_init(ipa, &resp);
    rsp_status st = ipa_get_eim_configuration(ipa, &resp, err);
    if (st == RSP_OK)
        st = schema_decode(&sgp32_get_eim_configuration_data_response_type, der_writer_view(&resp),
                           &decoded, &arena, err);
    if (st == RSP_OK) {
        const sgp32_eim_configuration_data *items = decoded.eim_configuration_data_list.items;
        size_t i = 0;
        while (i < decoded.eim_configuration_data_list.count && !eim_matches(ipa, &items[i]))
            i++;
        if (i == decoded.eim_configuration_data_list.count && ipa->eim_url[0] != 0)
            /* the eIM was just removed (deleteEim): its last results still go to it */
            st = RSP_OK;
        else if (i == decoded.eim_configuration_data_list.count)
            st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0xBF55, 0,
                               "ipa: no eIM configured on the eUICC%s",
                               ipa->config.eim_id ? " with that eimId" : "");
        else
            st = take_config(ipa, &items[i], err);
    }
    ipa->eim_loaded = st == RSP_OK;
    der_writer_free(&resp);
    ipa_release(ipa, arena_buf);
    return st;
}

/* SGP.32 v1.2 section 6.1.1: HTTPS with the trust of trustedPublicKeyDataTls */
rsp_status ipa_esipa_post(ipa_instance *ipa, const char *url, const char *content_type,
                          der_view body, der_writer *response, long *http_status, rsp_error *err)
{
    ipa_http_request request = {
        .url = url,
        .content_type = content_type,
        .body = body,
    };
    if (ipa->tls_pin_is_certificate)
        request.trusted_certificate = der_view_make(ipa->tls_pin, ipa->tls_pin_len);
    else
        request.trusted_public_key = der_view_make(ipa->tls_pin, ipa->tls_pin_len);
    rsp_error local = {0};
    rsp_status st =
        ipa->platform.http_post(ipa->platform.http_ctx, &request, response, http_status, &local);
    if (st != RSP_OK) {
        ipa->unreachable_polls++;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: eIM unreachable: %s", local.message);
    }
    ipa->unreachable_polls = 0;
    return RSP_OK;
}

/* SGP.32 v1.2 section 6.1: one HTTPS POST per ESipa function, ASN.1 payload both ways. */
rsp_status ipa_esipa_exchange(ipa_instance *ipa, der_view message, der_writer *answer,
                              rsp_error *err)
{
    rsp_status st = ipa_esipa_load_config(ipa, err);
    if (st != RSP_OK)
        return st;
    if (ipa->esipa_json)
        return ipa_esipa_json_exchange(ipa, message, answer, err);
    long status = 0;
    size_t before = answer->len;
    st = ipa_esipa_post(ipa, ipa->eim_url, ESIPA_CONTENT_TYPE, message, answer, &status, err);
    if (st != RSP_OK)
        return st;
    if (ipa->config.esipa_binding == IPA_ESIPA_BINDING_AUTO && (status == 404 || status == 415)) {
        /* the eIM does not serve the ASN.1 binding there: nothing was processed, so the same
         * message goes out again over the JSON binding, which stays chosen */
        LOG_INFO("ipa", "eIM refused the ASN.1 binding, using the JSON binding",
                 LOG_INT("http_status", status));
        answer->len = before;
        ipa->esipa_json = true;
        return ipa_esipa_json_exchange(ipa, message, answer, err);
    }
    if (status == 204 && answer->len == before)
        return RSP_OK; /* functions without response data (HandleNotification) */
    if (status != 200)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: eIM answered HTTP %ld", status);
    der_tlv tlv;
    der_view body = der_view_make(answer->buf + before, answer->len - before);
    if (der_writer_status(answer) != RSP_OK)
        return rsp_error_set(err, der_writer_status(answer), 0, 0, "ipa: eIM answer too large");
    st = der_parse_single(body, &tlv, err);
    if (st == RSP_OK)
        st = der_validate_tree(&tlv, 0, err);
    if (st != RSP_OK)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "ipa: eIM answer is not one well-formed TLV");
    return RSP_OK;
}
