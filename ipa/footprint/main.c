/* Footprint probe: a program that reaches the whole public API of libipa, built with -Os and
 * --gc-sections so that its size (minus baseline.c built the same way) is what libipa and the
 * parts of rspkit_core it needs cost on a device. The hooks fail every call: the program is
 * measured, not run. */
#include <stdio.h>

#include "ipa/ipa.h"

static rsp_status no_apdu(void *ctx, const uint8_t *command, size_t command_len, uint8_t *response,
                          size_t response_cap, size_t *response_len, rsp_error *err)
{
    (void)ctx, (void)command, (void)command_len, (void)response, (void)response_cap;
    *response_len = 0;
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "no card");
}

static rsp_status no_http(void *ctx, const ipa_http_request *request, der_writer *response,
                          long *http_status, rsp_error *err)
{
    (void)ctx, (void)request, (void)response, (void)http_status;
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "no network");
}

static rsp_status no_read(void *ctx, const char *key, der_writer *out, rsp_error *err)
{
    (void)ctx, (void)out;
    return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s", key);
}

static rsp_status no_write(void *ctx, const char *key, der_view value, rsp_error *err)
{
    (void)ctx, (void)value;
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s", key);
}

static rsp_status no_remove(void *ctx, const char *key, rsp_error *err)
{
    (void)ctx;
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s", key);
}

int main(int argc, char **argv)
{
    ipa_platform platform = {
        .apdu_transmit = no_apdu,
        .http_post = no_http,
        .storage_read = no_read,
        .storage_write = no_write,
        .storage_remove = no_remove,
    };
    ipa_config config = {.eim_url = argc > 1 ? argv[1] : NULL};
    ipa_instance *ipa = NULL;
    rsp_error err = {0};
    if (ipa_new(&platform, &config, &ipa, &err) != RSP_OK)
        return 1;
    ipa_poll_report report;
    der_writer w;
    int64_t result = 0;
    unsigned delivered = 0;
    der_writer_init_dynamic(&w, NULL);
    ipa_poll_once(ipa, &report, &err);
    ipa_add_initial_eim(ipa, der_writer_view(&w), &w, &err);
    ipa_get_eim_configuration(ipa, &w, &err);
    ipa_list_profiles(ipa, &w, &err);
    ipa_execute_fallback(ipa, &result, &err);
    ipa_return_from_fallback(ipa, &result, &err);
    ipa_enable_emergency_profile(ipa, &result, &err);
    ipa_disable_emergency_profile(ipa, &result, &err);
    ipa_set_rplmn(ipa, (const uint8_t *)argv[0]);
    ipa_deliver_notifications(ipa, &delivered, &err);
    ipa_set_state_change(ipa, 1);
    printf("%u %zu\n", ipa_backoff_ms(ipa, 3), ipa_peak_bytes(ipa));
    der_writer_free(&w);
    ipa_free(ipa);
    return 0;
}
