/* Every ESipa function over the JSON binding (SGP.32 v1.2 section 6.4) between the IPA (libipa
 * with the Linux HTTPS and file hooks) and the real eIM server, which relays the download to the
 * real SM-DP+ server: a complete indirect TS.48 download, an eUICC package (enable) with its
 * result and acknowledgements, IPA eUICC data, notifications, and a download the SM-DP+ refuses
 * (CancelSession). The HTTP hook is wrapped to prove no ASN.1 binding request was sent. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/json_min.h"
#include "core/saip.h"
#include "core/sgp22.h"
#include "euicc/face_socket.h"
#include "real_eim.h"

int cli_ipa(int argc, char **argv);

typedef struct {
    real_eim_fixture chain;
    /* the Linux HTTP hook, wrapped */
    rsp_status (*http_post)(void *ctx, const ipa_http_request *request, der_writer *response,
                            long *http_status, rsp_error *err);
    void *http_ctx;
    unsigned asn1_posts;
    char functions[16][40]; /* JSON functions called, each once */
    size_t function_count;
    bool header_ok; /* every JSON request had the SGP.22 request header */
} fixture;

static int setup(void **state)
{
    static fixture fx;
    memset(&fx, 0, sizeof fx);
    *state = &fx;
    return real_eim_setup(&fx.chain);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    return real_eim_teardown(&fx->chain);
}

/* Counts the binding each IPA request used and the JSON functions called, then forwards it
 * to the Linux HTTPS hook. */
static rsp_status recording_post(void *ctx, const ipa_http_request *request, der_writer *response,
                                 long *http_status, rsp_error *err)
{
    fixture *f = ctx;
    const char *path = strstr(request->url, "/gsma/rsp2/esipa/");
    if (path == NULL) {
        f->asn1_posts++;
    } else {
        const char *name = path + strlen("/gsma/rsp2/esipa/");
        bool known = false;
        for (size_t i = 0; i < f->function_count; i++)
            known = known || strcmp(f->functions[i], name) == 0;
        if (!known && f->function_count < 16)
            snprintf(f->functions[f->function_count++], sizeof f->functions[0], "%s", name);
        der_view header, requester;
        if (json_min_validate(request->body, 8, NULL) != RSP_OK ||
            json_min_member(request->body, "header", &header, NULL) != RSP_OK ||
            json_min_member(header, "functionRequesterIdentifier", &requester, NULL) != RSP_OK)
            f->header_ok = false;
    }
    return f->http_post(f->http_ctx, request, response, http_status, err);
}

static bool called(const fixture *f, const char *function)
{
    for (size_t i = 0; i < f->function_count; i++)
        if (strcmp(f->functions[i], function) == 0)
            return true;
    return false;
}

static void start_ipa(fixture *fx)
{
    real_eim_fixture *f = &fx->chain;
    rsp_error err = {0};
    char state_dir[128];
    snprintf(state_dir, sizeof state_dir, "%s/ipa-state", f->dir);
    real_eim_check(ipa_file_storage_init(&f->storage, state_dir, false, &err), &err, "storage");
    f->http = ipa_http_new(NULL, 30000, &err);
    assert_non_null(f->http);
    ipa_platform platform;
    ipa_platform_linux(&platform, NULL, f->http, &f->storage);
    platform.apdu_transmit = real_eim_card_transmit;
    platform.apdu_ctx = f;
    fx->http_post = platform.http_post;
    fx->http_ctx = platform.http_ctx;
    platform.http_post = recording_post;
    platform.http_ctx = fx;
    fx->header_ok = true;
    ipa_config config = {.tac = {0x35, 0x29, 0x06, 0x11}, .esipa_binding = IPA_ESIPA_BINDING_JSON};
    real_eim_check(ipa_new(&platform, &config, &f->ipa, &err), &err, "ipa_new");
}

/* Disables and enables the profile with ES10c straight on the card (SGP.22 v2.5 sections
 * 5.7.16, 5.7.17), as a local management action would: two notifications that no eIM result
 * carries, so the IPA delivers them by HandleNotification. */
static void local_disable_and_enable(real_eim_fixture *f, const char *iccid)
{
    uint8_t iccid_bytes[10];
    assert_true(saip_encode_iccid_ef(iccid, iccid_bytes));
    sgp22_disable_profile_request disable = {
        .profile_identifier = {.choice = SGP22_PROFILE_IDENTIFIER_ICCID,
                               .u.iccid = der_view_make(iccid_bytes, sizeof iccid_bytes)}};
    sgp22_enable_profile_request enable = {.profile_identifier = disable.profile_identifier};
    const schema_type *types[] = {&sgp22_disable_profile_request_type,
                                  &sgp22_enable_profile_request_type};
    const void *values[] = {&disable, &enable};
    for (size_t i = 0; i < 2; i++) {
        der_writer command, response;
        der_writer_init_dynamic(&command, NULL);
        der_writer_init_dynamic(&response, NULL);
        assert_int_equal(schema_encode(types[i], values[i], &command), RSP_OK);
        assert_int_equal(euicc_process(f->card, der_writer_view(&command), &response), RSP_OK);
        /* BF3x 03 80 01 00: result ok */
        assert_true(response.len >= 6);
        assert_int_equal(response.buf[response.len - 1], 0);
        der_writer_free(&command);
        der_writer_free(&response);
    }
}

static void test_every_esipa_function_over_json(void **state)
{
    fixture *fx = *state;
    real_eim_fixture *f = &fx->chain;
    char path[512];
    if (!real_eim_ts48_path(path, sizeof path, RSPKIT_SHARED_DIR, "BERTLV_SUCI.der"))
        skip();
    rsp_error err = {0};
    real_eim_start_card(f);
    real_eim_start_servers(f);
    start_ipa(fx);
    real_eim_register_device(f, real_eim_associate(f));

    /* indirect download: getEimPackage, initiateAuthentication, authenticateClient,
     * getBoundProfilePackage, provideEimPackageResult */
    char iccid[SMDP_ICCID_SIZE];
    real_eim_download(f, path, iccid);
    ipa_poll_report report;
    char buf[32];
    /* the BPP arrives as base64 text and is decoded beside it: still within the device
     * target of 64 KiB of heap */
    print_message("peak heap of the JSON download: %zu B\n", ipa_peak_bytes(f->ipa));
    assert_true(ipa_peak_bytes(f->ipa) <= 64 * 1024);

    /* an eUICC package: the signed result and its notifications, then the acknowledgements */
    int64_t enable =
        real_eim_operation(f, json_pack("{s:s, s:s}", "type", "enable", "iccid", iccid));
    real_eim_poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    assert_string_equal(real_eim_order_state(f, enable, buf, sizeof buf), "succeeded");
    int64_t data = real_eim_operation(f, json_pack("{s:s}", "type", "euiccData"));
    real_eim_poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    assert_string_equal(real_eim_order_state(f, data, buf, sizeof buf), "succeeded");

    /* a matching ID the SM-DP+ does not know: AuthenticateClient is refused and the IPA
     * cancels the session (cancelSession) before reporting the failure */
    char code[200];
    snprintf(code, sizeof code, "1$%s$NOSUCH-MATCH-ING-ID000", smdp_server_address(f->smdp));
    int64_t refused =
        real_eim_operation(f, json_pack("{s:s, s:s}", "type", "download", "activationCode", code));
    rsp_status st = ipa_poll_once(f->ipa, &report, &err);
    if (st != RSP_OK)
        print_message("refused download poll: %s\n", err.message);
    assert_string_equal(real_eim_order_state(f, refused, buf, sizeof buf), "failed");

    /* the eIM acknowledged every notification that came with a result; two local changes
     * leave notifications that go by handleNotification */
    local_disable_and_enable(f, iccid);
    unsigned delivered = 0;
    memset(&err, 0, sizeof err);
    real_eim_check(ipa_deliver_notifications(f->ipa, &delivered, &err), &err, "notifications");
    assert_int_equal(delivered, 2);

    for (size_t i = 0; i < fx->function_count; i++)
        print_message("JSON function called: %s\n", fx->functions[i]);
    static const char *const every[] = {
        "getEimPackage",      "provideEimPackageResult", "initiateAuthentication",
        "authenticateClient", "getBoundProfilePackage",  "cancelSession",
        "handleNotification",
    };
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++)
        if (!called(fx, every[i]))
            fail_msg("ESipa JSON function %s was never called", every[i]);
    assert_int_equal(fx->asn1_posts, 0);
    assert_true(fx->header_ok);

    real_eim_assert_enabled_and_settled(f);
}

static void *serve_card(void *arg)
{
    rsp_error err = {0};
    face_socket_run(arg, &err);
    return NULL;
}

/* `rspkit ipa once` with the eUICC on its socket face; the eIM URL names a path the eIM does
 * not serve, which only the JSON binding ignores (it keeps the origin). */
static int run_cli(real_eim_fixture *f, const char *socket_path, const char *binding)
{
    char card[160], state_dir[128], url[96];
    snprintf(card, sizeof card, "socket:%s", socket_path);
    snprintf(state_dir, sizeof state_dir, "%s/cli-state", f->dir);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/not/served", eim_server_port(f->eim));
    char *argv[] = {"ipa",       "once",          "--card", card,        "--state",
                    state_dir,   "--log-level",   "error",  "--eim-url", url,
                    "--binding", (char *)binding, NULL};
    return cli_ipa(12, argv);
}

static void test_cli_binding_option(void **state)
{
    fixture *fx = *state;
    real_eim_fixture *f = &fx->chain;
    rsp_error err = {0};
    real_eim_start_card(f);
    real_eim_start_servers(f);
    start_ipa(fx);
    real_eim_register_device(f, real_eim_associate(f));
    char socket_path[128];
    snprintf(socket_path, sizeof socket_path, "%s/card.sock", f->dir);
    face_socket_server *server = face_socket_server_new();
    pthread_t thread;
    real_eim_check(face_socket_listen_unix(server, euicc_get_card(f->card), socket_path, &err),
                   &err, "socket face");
    assert_int_equal(pthread_create(&thread, NULL, serve_card, server), 0);
    int64_t data = real_eim_operation(f, json_pack("{s:s}", "type", "euiccData"));
    assert_int_equal(run_cli(f, socket_path, "xml"), 2);
    assert_int_equal(run_cli(f, socket_path, "asn1"), 1);
    char buf[32];
    assert_string_not_equal(real_eim_order_state(f, data, buf, sizeof buf), "succeeded");
    assert_int_equal(run_cli(f, socket_path, "json"), 0);
    assert_string_equal(real_eim_order_state(f, data, buf, sizeof buf), "succeeded");
    face_socket_stop(server);
    pthread_join(thread, NULL);
    face_socket_server_free(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_esipa_function_over_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_binding_option, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
