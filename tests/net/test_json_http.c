/* JSON over HTTP (SGP.22 section 6.5.1 conventions) end to end over loopback: request
 * content-type and body checks on the server, JSON answers with X-Admin-Protocol, 204 answers,
 * and the client call that parses them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "net/json_http.h"

static http_server *server;
static char base_url[64];

/* Answers {"header": Executed-Success, "transactionId": <echo of the request's>}. */
static int initiate_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)user;
    json_t *body = NULL;
    rsp_error err;
    rsp_error_clear(&err);
    rsp_status st = rsp_json_read_request(request, 4096, &body, &err);
    if (st == RSP_ERR_UNSUPPORTED) {
        http_reply_borrowed(reply, 415, "text/plain", "json only\n", 10);
        return 0;
    }
    if (st != RSP_OK) {
        http_reply_borrowed(reply, 400, "text/plain", "bad json\n", 9);
        return 0;
    }
    uint8_t id[16];
    size_t id_len = 0;
    json_t *answer = json_object();
    int rc = -1;
    if (rsp_json_get_hex(body, "transactionId", true, 1, 16, id, sizeof id, &id_len, NULL, &err) ==
            RSP_OK &&
        json_object_set_new(answer, "header",
                            rsp_json_response_header(RSP_EXECUTION_SUCCESS, NULL)) == 0 &&
        rsp_json_set_hex(answer, "transactionId", id, id_len) == RSP_OK &&
        rsp_json_reply(reply, 200, answer, RSP_ADMIN_PROTOCOL_SGP22_V2_5) == RSP_OK)
        rc = 0;
    json_decref(answer);
    json_decref(body);
    return rc;
}

static int notification_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)request;
    (void)user;
    return rsp_json_reply(reply, 204, NULL, RSP_ADMIN_PROTOCOL_SGP22_V2_5) == RSP_OK ? 0 : -1;
}

static int text_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)request;
    (void)user;
    http_reply_borrowed(reply, 200, "text/html", "<p>hi</p>", 9);
    return 0;
}

static bool ready;

static bool is_ready(void *user)
{
    return *(bool *)user;
}

static void collect_custom(metrics_text *out, void *user)
{
    (void)user;
    metrics_text_family(out, "rspkit_test_custom", "A component's own gauge", "gauge");
    metrics_text_sample_i64(out, "rspkit_test_custom", NULL, 7);
}

static metrics_registry *registry;

static int setup_group(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    log_set_level(LOG_LEVEL_WARN);
    http_server_config config = {.name = "json", .listen = "127.0.0.1:0", .threads = 1};
    server = http_server_new(&config, &err);
    if (server == NULL ||
        http_server_route(server, "POST", "/gsma/rsp2/es9plus/initiateAuthentication", false,
                          initiate_handler, NULL, &err) != RSP_OK ||
        http_server_route(server, "POST", "/gsma/rsp2/es9plus/handleNotification", false,
                          notification_handler, NULL, &err) != RSP_OK ||
        http_server_route(server, "POST", "/text", false, text_handler, NULL, &err) != RSP_OK ||
        (registry = metrics_registry_new()) == NULL ||
        !metrics_registry_add(registry, collect_custom, NULL) ||
        http_server_add_health_route(server, "/health", is_ready, &ready, &err) != RSP_OK ||
        http_server_add_metrics_route(server, "/metrics", registry, &err) != RSP_OK ||
        http_server_start(server, &err) != RSP_OK)
        return -1;
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%u", http_server_port(server));
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    http_server_free(server);
    metrics_registry_free(registry);
    return 0;
}

static void test_health_and_metrics_routes(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_client *client = http_client_new(NULL, &err);
    assert_non_null(client);
    char url[128];
    http_response response;
    snprintf(url, sizeof url, "%s/health", base_url);
    ready = false;
    assert_int_equal(http_client_get(client, url, NULL, &response, &err), RSP_OK);
    assert_int_equal(response.status, 503);
    assert_int_equal(response.body_len, strlen("{\"status\":\"DOWN\"}"));
    http_response_free(&response);
    ready = true;
    assert_int_equal(http_client_get(client, url, NULL, &response, &err), RSP_OK);
    assert_int_equal(response.status, 200);
    http_response_free(&response);

    /* The server's own families, then the extra registry's. */
    snprintf(url, sizeof url, "%s/metrics", base_url);
    assert_int_equal(http_client_get(client, url, NULL, &response, &err), RSP_OK);
    assert_int_equal(response.status, 200);
    char *text = strndup((const char *)response.body, response.body_len);
    assert_non_null(text);
    char *own = strstr(text, "rspkit_http_requests_total{server=\"json\",route=\"/health\","
                             "method=\"GET\",code=\"503\"} 1\n");
    char *custom = strstr(text, "rspkit_test_custom 7\n");
    assert_non_null(own);
    assert_non_null(custom);
    assert_true(own < custom);
    free(text);
    http_response_free(&response);
    http_client_free(client);
}

static void test_content_type_matching(void **state)
{
    (void)state;
    assert_true(rsp_json_is_json_content_type("application/json"));
    assert_true(rsp_json_is_json_content_type("application/json;charset=UTF-8"));
    assert_true(rsp_json_is_json_content_type("Application/JSON; charset=utf-8"));
    assert_false(rsp_json_is_json_content_type("application/jsonx"));
    assert_false(rsp_json_is_json_content_type("text/json"));
    assert_false(rsp_json_is_json_content_type(""));
    assert_false(rsp_json_is_json_content_type(NULL));
}

static void test_json_call_round_trip(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_client *client = http_client_new(NULL, &err);
    assert_non_null(client);
    char url[128];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es9plus/initiateAuthentication", base_url);
    json_t *request = json_pack("{s:s}", "transactionId", "0A0B0C");
    long status = 0;
    json_t *answer = NULL;
    http_client_error error_class;
    assert_int_equal(rsp_json_call(client, url, request, RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL, 4096,
                                   &status, &answer, &error_class, &err),
                     RSP_OK);
    assert_int_equal(status, 200);
    assert_int_equal(error_class, HTTP_CLIENT_OK);
    assert_non_null(answer);
    rsp_execution_status execution;
    rsp_status_code_data data;
    assert_int_equal(rsp_json_parse_response_header(answer, &execution, &data, &err), RSP_OK);
    assert_int_equal(execution, RSP_EXECUTION_SUCCESS);
    const char *id;
    assert_int_equal(rsp_json_get_string(answer, "transactionId", true, &id, NULL, &err), RSP_OK);
    assert_string_equal(id, "0A0B0C");
    json_decref(answer);
    json_decref(request);

    /* A request the handler cannot use: 500 from the server, no JSON body. */
    request = json_pack("{s:i}", "transactionId", 5);
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_json_call(client, url, request, NULL, NULL, 4096, &status, &answer, NULL, &err),
        RSP_ERR_BAD_VALUE); /* text/plain body is not JSON */
    assert_int_equal(status, 500);
    assert_null(answer);
    json_decref(request);

    /* 204: no body. */
    snprintf(url, sizeof url, "%s/gsma/rsp2/es9plus/handleNotification", base_url);
    request = json_pack("{s:s}", "pendingNotification", "vzcA");
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_call(client, url, request, RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL, 4096,
                                   &status, &answer, NULL, &err),
                     RSP_OK);
    assert_int_equal(status, 204);
    assert_null(answer);

    /* An answer that is not JSON is refused. */
    snprintf(url, sizeof url, "%s/text", base_url);
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_json_call(client, url, request, NULL, NULL, 4096, &status, &answer, NULL, &err),
        RSP_ERR_BAD_VALUE);
    assert_non_null(strstr(err.message, "text/html"));
    json_decref(request);
    http_client_free(client);
}

static void test_server_checks_requests(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_client *client = http_client_new(NULL, &err);
    assert_non_null(client);
    char url[128];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es9plus/initiateAuthentication", base_url);
    http_response response;
    const char body[] = "{\"transactionId\":\"01\"}";
    assert_int_equal(
        http_client_post(client, url, "text/plain", body, sizeof body - 1, NULL, &response, &err),
        RSP_OK);
    assert_int_equal(response.status, 415);
    http_response_free(&response);
    const char broken[] = "{\"transactionId\":\"01\",}";
    assert_int_equal(http_client_post(client, url, RSP_JSON_CONTENT_TYPE, broken, sizeof broken - 1,
                                      NULL, &response, &err),
                     RSP_OK);
    assert_int_equal(response.status, 400);
    http_response_free(&response);
    assert_int_equal(http_client_post(client, url, "application/json", body, sizeof body - 1, NULL,
                                      &response, &err),
                     RSP_OK);
    assert_int_equal(response.status, 200);
    char value[64];
    assert_true(http_response_header(&response, RSP_ADMIN_PROTOCOL_HEADER, value, sizeof value));
    assert_string_equal(value, RSP_ADMIN_PROTOCOL_SGP22_V2_5);
    assert_string_equal(response.content_type, RSP_JSON_CONTENT_TYPE);
    http_response_free(&response);
    http_client_free(client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type_matching),
        cmocka_unit_test(test_json_call_round_trip),
        cmocka_unit_test(test_server_checks_requests),
        cmocka_unit_test(test_health_and_metrics_routes),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
