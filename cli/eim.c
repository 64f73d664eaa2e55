/* rspkit eim: run the eIM server, and call its REST API for the common fleet tasks (tenants,
 * devices, operations, campaigns with a progress bar). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/commands.h"
#include "core/log.h"
#include "eim/server.h"
#include "net/http_client.h"
#include "net/json.h"


static void usage(void)
{
    fprintf(
        stderr,
        "usage: rspkit eim serve --config FILE\n"
        "       rspkit eim [--url URL] [--key KEY] [--ca FILE] COMMAND ...\n"
        "  tenant create NAME --admin-key KEY   create a tenant, print its API key\n"
        "  devices register EID [--cert DER] [--eum DER] [--label NAME=VALUE]...\n"
        "  devices import FILE.csv              EID[,certificate base64][,name=value;...]\n"
        "  devices list [--label NAME:VALUE] [--state active|blocked]\n"
        "  device show|history|block|unblock EID\n"
        "  op EID JSON                          e.g. '{\"type\":\"enable\",\"iccid\":\"...\"}'\n"
        "  order show ID\n"
        "  campaign start FILE.json [--watch]   POST the campaign, print its id\n"
        "  campaign watch ID                    progress bar until it ends\n"
        "  campaign show|pause|resume|cancel ID\n"
        "  audit [--action NAME]\n"
        "URL, KEY and CA also come from RSPKIT_EIM_URL, RSPKIT_EIM_KEY, RSPKIT_EIM_CA.\n");
}

/* ---- serve ---- */

static int serve(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    if (config_path == NULL) {
        usage();
        return 2;
    }
    eim_server_config_file file;
    rsp_error err = {0};
    if (eim_server_config_load(config_path, &file, &err) != RSP_OK) {
        fprintf(stderr, "rspkit eim: %s\n", err.message);
        return 1;
    }
    /* signals are taken by sigwait below, never by the server's threads */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    eim_server *server = NULL;
    int rc = 0;
    if (eim_server_new(&file.config, &server, &err) != RSP_OK ||
        eim_server_start(server, &err) != RSP_OK) {
        fprintf(stderr, "rspkit eim: %s\n", err.message);
        rc = 1;
    } else {
        LOG_INFO("eim", "serving", LOG_UINT("port", eim_server_port(server)));
        int received = 0;
        sigwait(&signals, &received);
        LOG_INFO("eim", "stopping", LOG_STR("signal", received == SIGINT ? "SIGINT" : "SIGTERM"));
    }
    eim_server_free(server);
    eim_server_config_free(&file);
    return rc;
}

/* ---- REST client ---- */

typedef struct {
    const char *url;
    const char *key;
    const char *ca;
    const char *admin_key;
    http_client *client;
} api;

/* Calls the API; prints the error and returns NULL unless the status is 2xx. */
static json_t *call(api *a, const char *method, const char *path, const char *type,
                    const char *body, size_t body_len)
{
    char url[512], auth[200], admin[200];
    snprintf(url, sizeof url, "%s/api/v1/%s", a->url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a->key != NULL ? a->key : "");
    snprintf(admin, sizeof admin, "X-Admin-Key: %s", a->admin_key != NULL ? a->admin_key : "");
    const char *headers[] = {auth, admin, NULL};
    http_response response = {0};
    rsp_error err = {0};
    rsp_status status =
        strcmp(method, "GET") == 0
            ? http_client_get(a->client, url, headers, &response, &err)
            : http_client_post(a->client, url, type, body, body_len, headers, &response, &err);
    json_t *answer = NULL;
    if (status != RSP_OK) {
        fprintf(stderr, "rspkit eim: %s\n", err.message);
    } else {
        answer = json_loadb((const char *)response.body, response.body_len, 0, NULL);
        if (response.status < 200 || response.status > 299) {
            json_t *message = json_object_get(answer, "error");
            fprintf(stderr, "rspkit eim: HTTP %ld: %s\n", response.status,
                    json_is_string(message) ? json_string_value(message) : "error");
            json_decref(answer);
            answer = NULL;
        } else if (answer == NULL) {
            answer = json_object();
        }
    }
    http_response_free(&response);
    return answer;
}

static json_t *post_json(api *a, const char *path, json_t *body)
{
    char *text = json_dumps(body != NULL ? body : json_object(), JSON_COMPACT);
    json_decref(body);
    json_t *answer = call(a, "POST", path, "application/json", text, strlen(text));
    free(text);
    return answer;
}

static int print_answer(json_t *answer)
{
    if (answer == NULL)
        return 1;
    char *text = json_dumps(answer, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    json_decref(answer);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *data = NULL;
    size_t cap = 0;
    *len = 0;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *grown = realloc(data, cap + n + 1);
        if (grown == NULL) {
            free(data);
            fclose(f);
            return NULL;
        }
        data = grown;
        memcpy(data + *len, chunk, n);
        *len += n;
        cap += n;
        data[*len] = '\0';
    }
    fclose(f);
    return data;
}

/* ---- commands ---- */

static int tenant_create(api *a, int argc, char **argv)
{
    if (argc < 1)
        return 2;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--admin-key") == 0)
            a->admin_key = argv[i + 1];
    return print_answer(post_json(a, "tenants", json_pack("{s:s}", "name", argv[0])));
}

static int devices_register(api *a, int argc, char **argv)
{
    if (argc < 1)
        return 2;
    json_t *device = json_pack("{s:s, s:{}}", "eid", argv[0], "labels");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--label") == 0) {
            char *eq = strchr(argv[i + 1], '=');
            if (eq == NULL) {
                json_decref(device);
                return 2;
            }
            *eq = '\0';
            json_object_set_new(json_object_get(device, "labels"), argv[i + 1],
                                json_string(eq + 1));
        } else if (strcmp(argv[i], "--cert") == 0 || strcmp(argv[i], "--eum") == 0) {
            size_t len = 0;
            char *der = read_file(argv[i + 1], &len);
            if (der == NULL) {
                fprintf(stderr, "rspkit eim: cannot read %s\n", argv[i + 1]);
                json_decref(device);
                return 1;
            }
            rsp_json_set_base64(
                device, strcmp(argv[i], "--cert") == 0 ? "euiccCertificate" : "eumCertificate",
                (const uint8_t *)der, len);
            free(der);
        } else {
            json_decref(device);
            return 2;
        }
    }
    return print_answer(post_json(a, "devices", device));
}

static int devices_import(api *a, const char *path)
{
    size_t len = 0;
    char *csv = read_file(path, &len);
    if (csv == NULL) {
        fprintf(stderr, "rspkit eim: cannot read %s\n", path);
        return 1;
    }
    int rc = print_answer(call(a, "POST", "devices/import", "text/csv", csv, len));
    free(csv);
    return rc;
}

static int devices_list(api *a, int argc, char **argv)
{
    char path[512] = "devices?limit=1000";
    for (int i = 0; i + 1 < argc; i += 2) {
        size_t n = strlen(path);
        if (strcmp(argv[i], "--label") == 0)
            snprintf(path + n, sizeof path - n, "&label=%s", argv[i + 1]);
        else if (strcmp(argv[i], "--state") == 0)
            snprintf(path + n, sizeof path - n, "&state=%s", argv[i + 1]);
        else
            return 2;
    }
    return print_answer(call(a, "GET", path, NULL, NULL, 0));
}

static int device_command(api *a, const char *what, const char *eid)
{
    char path[160];
    if (strcmp(what, "show") == 0) {
        snprintf(path, sizeof path, "devices/%s", eid);
        return print_answer(call(a, "GET", path, NULL, NULL, 0));
    }
    if (strcmp(what, "history") == 0) {
        snprintf(path, sizeof path, "devices/%s/history", eid);
        return print_answer(call(a, "GET", path, NULL, NULL, 0));
    }
    if (strcmp(what, "block") == 0 || strcmp(what, "unblock") == 0) {
        snprintf(path, sizeof path, "devices/%s/%s", eid, what);
        return print_answer(post_json(a, path, NULL));
    }
    return 2;
}

static int operation(api *a, const char *eid, const char *text)
{
    json_error_t error;
    json_t *op = json_loads(text, 0, &error);
    if (!json_is_object(op)) {
        fprintf(stderr, "rspkit eim: operation is not a JSON object: %s\n", error.text);
        json_decref(op);
        return 2;
    }
    char path[160];
    snprintf(path, sizeof path, "devices/%s/operations", eid);
    return print_answer(post_json(a, path, op));
}

/* One line: [#####.....]  42.0%  ok 420  failed 3  in flight 20  queued 557  running */
static void progress_line(const json_t *c, bool terminal)
{
    double progress = json_number_value(json_object_get(c, "progress"));
    int width = 30, filled = (int)(progress * width + 0.5);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    long long in_flight = json_integer_value(json_object_get(c, "pending")) +
                          json_integer_value(json_object_get(c, "delivered"));
    printf("%s[%s] %5.1f%%  ok %lld  failed %lld  in flight %lld  queued %lld  %s%s",
           terminal ? "\r" : "", bar, progress * 100.0,
           (long long)json_integer_value(json_object_get(c, "succeeded")),
           (long long)json_integer_value(json_object_get(c, "failed")), in_flight,
           (long long)json_integer_value(json_object_get(c, "queued")),
           json_string_value(json_object_get(c, "state")), terminal ? "   " : "\n");
    fflush(stdout);
}

static int campaign_watch(api *a, const char *id)
{
    char path[64];
    snprintf(path, sizeof path, "campaigns/%s", id);
    bool terminal = isatty(STDOUT_FILENO);
    for (;;) {
        json_t *c = call(a, "GET", path, NULL, NULL, 0);
        if (c == NULL)
            return 1;
        progress_line(c, terminal);
        const char *state = json_string_value(json_object_get(c, "state"));
        bool over =
            state == NULL || strcmp(state, "completed") == 0 || strcmp(state, "cancelled") == 0;
        json_decref(c);
        if (over) {
            if (terminal)
                printf("\n");
            return 0;
        }
        struct timespec second = {1, 0};
        nanosleep(&second, NULL);
    }
}

static int campaign_command(api *a, int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char path[64];
    if (strcmp(argv[0], "start") == 0) {
        size_t len = 0;
        char *text = read_file(argv[1], &len);
        if (text == NULL) {
            fprintf(stderr, "rspkit eim: cannot read %s\n", argv[1]);
            return 1;
        }
        json_t *answer = call(a, "POST", "campaigns", "application/json", text, len);
        free(text);
        if (answer == NULL)
            return 1;
        char id[32];
        snprintf(id, sizeof id, "%lld",
                 (long long)json_integer_value(json_object_get(answer, "id")));
        printf("campaign %s: %lld devices\n", id,
               (long long)json_integer_value(json_object_get(answer, "total")));
        json_decref(answer);
        return argc > 2 && strcmp(argv[2], "--watch") == 0 ? campaign_watch(a, id) : 0;
    }
    if (strcmp(argv[0], "watch") == 0)
        return campaign_watch(a, argv[1]);
    if (strcmp(argv[0], "show") == 0) {
        snprintf(path, sizeof path, "campaigns/%s", argv[1]);
        return print_answer(call(a, "GET", path, NULL, NULL, 0));
    }
    if (strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") == 0 ||
        strcmp(argv[0], "cancel") == 0) {
        snprintf(path, sizeof path, "campaigns/%s/%s", argv[1], argv[0]);
        return print_answer(post_json(a, path, NULL));
    }
    return 2;
}

static int dispatch(api *a, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "tenant") == 0 && strcmp(argv[1], "create") == 0)
        return tenant_create(a, argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[0], "devices") == 0 && strcmp(argv[1], "register") == 0)
        return devices_register(a, argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[0], "devices") == 0 && strcmp(argv[1], "import") == 0)
        return devices_import(a, argv[2]);
    if (argc >= 2 && strcmp(argv[0], "devices") == 0 && strcmp(argv[1], "list") == 0)
        return devices_list(a, argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[0], "device") == 0)
        return device_command(a, argv[1], argv[2]);
    if (argc == 3 && strcmp(argv[0], "op") == 0)
        return operation(a, argv[1], argv[2]);
    if (argc == 3 && strcmp(argv[0], "order") == 0 && strcmp(argv[1], "show") == 0) {
        char path[64];
        snprintf(path, sizeof path, "orders/%s", argv[2]);
        return print_answer(call(a, "GET", path, NULL, NULL, 0));
    }
    if (argc >= 1 && strcmp(argv[0], "campaign") == 0)
        return campaign_command(a, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "audit") == 0) {
        char path[128] = "audit";
        if (argc == 3 && strcmp(argv[1], "--action") == 0)
            snprintf(path, sizeof path, "audit?action=%s", argv[2]);
        return print_answer(call(a, "GET", path, NULL, NULL, 0));
    }
    return 2;
}

int cli_eim(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    api a = {.url = getenv("RSPKIT_EIM_URL"),
             .key = getenv("RSPKIT_EIM_KEY"),
             .ca = getenv("RSPKIT_EIM_CA")};
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            a.url = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0)
            a.key = argv[i + 1];
        else if (strcmp(argv[i], "--ca") == 0)
            a.ca = argv[i + 1];
        else
            break;
    }
    if (a.url == NULL || i >= argc) {
        usage();
        return 2;
    }
    http_client_config config = {.ca_file = a.ca, .total_timeout_ms = 600000};
    rsp_error err = {0};
    a.client = http_client_new(&config, &err);
    if (a.client == NULL) {
        fprintf(stderr, "rspkit eim: %s\n", err.message);
        return 1;
    }
    int rc = dispatch(&a, argc - i, argv + i);
    if (rc == 2)
        usage();
    http_client_free(a.client);
    return rc;
}
