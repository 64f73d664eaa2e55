/* rspkit ipa: the IPA daemon and its installer commands (SGP.32 v1.2 IPAd).
 *   rspkit ipa run  [--config FILE] [options]     poll loop with back-off (SIGINT/SIGTERM stop)
 *   rspkit ipa once [--config FILE] [options]     one poll, for cron and tests
 *   rspkit ipa info [--config FILE] [options]     EID, eIM list, profiles as JSON
 *   rspkit ipa add-initial-eim FILE [...]         AddInitialEim (BF57 as DER or hex in FILE)
 *   rspkit ipa fallback|return-from-fallback [...] for the device's connectivity logic
 * Options (also JSON keys of the config file): --card socket:PATH|tcp:PORT|pcsc[:READER]|
 * modem:DEV|modem-cgla:DEV, --state DIR, --eim-url URL, --eim-id ID, --ca FILE,
 * --interval SECONDS, --tac HEX8, --log-level LEVEL, --direct yes|no (profile download straight
 * to the SM-DP+ over ES9+ unless the eIM asks for indirect download), --binding auto|asn1|json
 * (ESipa binding; auto: ASN.1, JSON once the eIM answers the ASN.1 path 404/415).
 * Log lines are JSON (core/log.h). Exit status: 0 ok, 1 failure, 2 usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "core/log.h"
#include "core/sgp32.h"
#include "ipa/ipa.h"
#include "ipa/platform/platform.h"
#include "net/json.h"

#define TEXT_MAX 512

typedef struct {
    char card[TEXT_MAX];
    char state_dir[TEXT_MAX];
    char eim_url[TEXT_MAX];
    char eim_id[TEXT_MAX];
    char ca_file[TEXT_MAX];
    long interval_s;
    uint8_t tac[4];
    bool has_tac;
    bool direct;
    ipa_esipa_binding binding;
} options;

typedef struct {
    ipa_card *card;
    ipa_http *http;
    ipa_file_storage storage;
    ipa_platform platform;
    ipa_instance *ipa;
} daemon_parts;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: rspkit ipa run|once|info [--config FILE] [--card SPEC] [--state DIR]\n"
            "                  [--eim-url URL] [--eim-id ID] [--ca FILE] [--interval S]\n"
            "                  [--tac HEX8] [--log-level LEVEL] [--direct yes|no]\n"
            "                  [--binding auto|asn1|json]\n"
            "       rspkit ipa add-initial-eim FILE [options]\n"
            "       rspkit ipa fallback|return-from-fallback [options]\n"
            "card SPEC: socket:PATH | tcp:PORT | pcsc[:READER] | modem:DEV | modem-cgla:DEV\n");
    return 2;
}

static int fail(const char *what, const rsp_error *err)
{
    char text[256];
    LOG_ERROR("ipa", what, LOG_STR("error", rsp_error_format(err, text, sizeof text)));
    return 1;
}

static bool set_text(char *dst, const char *value)
{
    if (strlen(value) >= TEXT_MAX)
        return false;
    strcpy(dst, value);
    return true;
}

static bool set_option(options *o, const char *key, const char *value)
{
    if (strcmp(key, "card") == 0)
        return set_text(o->card, value);
    if (strcmp(key, "state") == 0 || strcmp(key, "state_dir") == 0)
        return set_text(o->state_dir, value);
    if (strcmp(key, "eim-url") == 0 || strcmp(key, "eim_url") == 0)
        return set_text(o->eim_url, value);
    if (strcmp(key, "eim-id") == 0 || strcmp(key, "eim_id") == 0)
        return set_text(o->eim_id, value);
    if (strcmp(key, "ca") == 0 || strcmp(key, "ca_file") == 0)
        return set_text(o->ca_file, value);
    if (strcmp(key, "interval") == 0 || strcmp(key, "poll_interval") == 0) {
        o->interval_s = atol(value);
        return o->interval_s > 0;
    }
    if (strcmp(key, "direct") == 0 || strcmp(key, "direct_download") == 0) {
        o->direct = strcmp(value, "yes") == 0 || strcmp(value, "true") == 0;
        return o->direct || strcmp(value, "no") == 0 || strcmp(value, "false") == 0;
    }
    if (strcmp(key, "binding") == 0 || strcmp(key, "esipa_binding") == 0) {
        static const struct {
            const char *name;
            ipa_esipa_binding binding;
        } bindings[] = {{"auto", IPA_ESIPA_BINDING_AUTO},
                        {"asn1", IPA_ESIPA_BINDING_ASN1},
                        {"json", IPA_ESIPA_BINDING_JSON}};
        for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++)
            if (strcmp(value, bindings[i].name) == 0) {
                o->binding = bindings[i].binding;
                return true;
            }
        return false;
    }
    if (strcmp(key, "tac") == 0) {
        o->has_tac = der_hex_decode(value, o->tac, sizeof o->tac) == 4;
        return o->has_tac;
    }
    if (strcmp(key, "log-level") == 0 || strcmp(key, "log_level") == 0) {
        log_level level;
        if (!log_level_parse(value, &level))
            return false;
        log_set_level(level);
        return true;
    }
    return false;
}

/* The config file is one JSON object whose string (or integer) members are the options. */
static bool load_config(options *o, const char *path)
{
    FILE *f = fopen(path, "rb");
    char text[8192];
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f)
        fclose(f);
    rsp_error err = {0};
    json_t *root = len > 0 ? rsp_json_parse_object(text, len, sizeof text, &err) : NULL;
    if (!root) {
        fprintf(stderr, "rspkit ipa: cannot read config %s: %s\n", path, err.message);
        return false;
    }
    bool ok = true;
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        char number[32];
        const char *v = json_is_string(value) ? json_string_value(value) : NULL;
        if (json_is_boolean(value))
            v = json_is_true(value) ? "true" : "false";
        if (json_is_integer(value)) {
            snprintf(number, sizeof number, "%lld", (long long)json_integer_value(value));
            v = number;
        }
        if (!v || !set_option(o, key, v)) {
            fprintf(stderr, "rspkit ipa: bad config member \"%s\"\n", key);
            ok = false;
        }
    }
    json_decref(root);
    return ok;
}

/* Parses argv from index first; positional arguments are returned through *positional. */
static bool parse_options(int argc, char **argv, int first, options *o, const char **positional)
{
    memset(o, 0, sizeof *o);
    strcpy(o->state_dir, "ipa-state");
    o->interval_s = 3600;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (!load_config(o, argv[++i]))
                return false;
        } else if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc) {
            if (!set_option(o, argv[i] + 2, argv[i + 1])) {
                fprintf(stderr, "rspkit ipa: bad option %s\n", argv[i]);
                return false;
            }
            i++;
        } else if (positional && !*positional && argv[i][0] != '-') {
            *positional = argv[i];
        } else {
            fprintf(stderr, "rspkit ipa: unexpected argument %s\n", argv[i]);
            return false;
        }
    }
    return true;
}

static rsp_status open_card(const options *o, ipa_card **card, bool *basic_channel, rsp_error *err)
{
    const char *spec = o->card;
    *basic_channel = false;
    if (strncmp(spec, "socket:", 7) == 0)
        return ipa_card_open_socket(spec + 7, card, err);
    if (strncmp(spec, "tcp:", 4) == 0)
        return ipa_card_open_socket(spec, card, err);
    if (strncmp(spec, "pcsc", 4) == 0)
        return ipa_card_open_pcsc(spec[4] == ':' ? spec + 5 : NULL, card, err);
    if (strncmp(spec, "modem:", 6) == 0)
        return ipa_card_open_modem(spec + 6, IPA_MODEM_CSIM, card, err);
    if (strncmp(spec, "modem-cgla:", 11) == 0) {
        *basic_channel = true;
        return ipa_card_open_modem(spec + 11, IPA_MODEM_CGLA, card, err);
    }
    return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                         "no --card given (socket:PATH, tcp:PORT, pcsc[:READER], modem:DEV)");
}

static rsp_status start(const options *o, daemon_parts *d, rsp_error *err)
{
    memset(d, 0, sizeof *d);
    ipa_config config = {0};
    rsp_status st = open_card(o, &d->card, &config.basic_channel, err);
    if (st == RSP_OK)
        st = ipa_file_storage_init(&d->storage, o->state_dir, true, err);
    if (st == RSP_OK) {
        d->http = ipa_http_new(o->ca_file[0] ? o->ca_file : NULL, 60000, err);
        st = d->http ? RSP_OK : RSP_ERR_NO_MEMORY;
    }
    if (st == RSP_OK) {
        ipa_platform_linux(&d->platform, d->card, d->http, &d->storage);
        config.eim_url = o->eim_url[0] ? o->eim_url : NULL;
        config.eim_id = o->eim_id[0] ? o->eim_id : NULL;
        config.direct_download = o->direct;
        config.esipa_binding = o->binding;
        if (o->has_tac)
            memcpy(config.tac, o->tac, sizeof config.tac);
        st = ipa_new(&d->platform, &config, &d->ipa, err);
    }
    return st;
}

static void stop(daemon_parts *d)
{
    ipa_free(d->ipa);
    ipa_http_free(d->http);
    ipa_card_close(d->card);
}

static rsp_status poll_and_log(daemon_parts *d, rsp_error *err)
{
    ipa_poll_report r;
    rsp_status st = ipa_poll_once(d->ipa, &r, err);
    char text[256];
    LOG_INFO("ipa", "poll", LOG_STR("status", rsp_status_name(st)),
             LOG_STR("error", st == RSP_OK ? NULL : rsp_error_format(err, text, sizeof text)),
             LOG_UINT("packages", r.packages), LOG_UINT("resultsDelivered", r.results_delivered),
             LOG_UINT("notificationsSent", r.notifications_sent),
             LOG_UINT("acknowledged", r.acknowledged), LOG_BOOL("pendingLeft", r.pending_left),
             LOG_BOOL("rolledBack", r.rolled_back), LOG_INT("lastError", r.last_euicc_error));
    return st;
}

static void sleep_ms(uint64_t ms)
{
    while (ms > 0 && !stop_requested) {
        uint64_t step = ms < 500 ? ms : 500;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static int run_loop(daemon_parts *d, const options *o)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    unsigned failures = 0;
    LOG_INFO("ipa", "started", LOG_STR("card", o->card), LOG_INT("interval", o->interval_s));
    while (!stop_requested) {
        rsp_error err = {0};
        failures = poll_and_log(d, &err) == RSP_OK ? 0 : failures + 1;
        uint64_t wait =
            failures ? ipa_backoff_ms(d->ipa, failures) : (uint64_t)o->interval_s * 1000u;
        sleep_ms(wait);
    }
    LOG_INFO("ipa", "stopped");
    return 0;
}

static void print_hex_field(const char *name, der_view v, bool comma)
{
    char hex[2 * 256 + 1];
    size_t n = v.len < 256 ? v.len : 256;
    der_hex_encode(v.data, n, hex, true);
    printf("\"%s\":\"%s\"%s", name, hex, comma ? "," : "");
}

/* ICCID as printed on the card: BCD with swapped nibbles, F padding dropped (ITU-T E.118). */
static void print_iccid_field(der_view v)
{
    printf("\"iccid\":\"");
    for (size_t i = 0; i < v.len; i++) {
        uint8_t low = v.data[i] & 0x0F, high = v.data[i] >> 4;
        if (low <= 9)
            printf("%u", low);
        if (high <= 9)
            printf("%u", high);
    }
    printf("\",");
}

static void print_text_field(const char *name, der_view v, bool comma)
{
    printf("\"%s\":\"", name);
    for (size_t i = 0; i < v.len; i++)
        printf(v.data[i] >= 0x20 && v.data[i] != '"' && v.data[i] != '\\' ? "%c" : "?", v.data[i]);
    printf("\"%s", comma ? "," : "");
}

static void print_eims(der_view response, schema_arena *arena)
{
    sgp32_get_eim_configuration_data_response eims;
    rsp_error err = {0};
    printf("\"eims\":[");
    if (schema_decode(&sgp32_get_eim_configuration_data_response_type, response, &eims, arena,
                      &err) == RSP_OK) {
        const sgp32_eim_configuration_data *items = eims.eim_configuration_data_list.items;
        for (size_t i = 0; i < eims.eim_configuration_data_list.count; i++) {
            printf("%s{", i ? "," : "");
            print_text_field("eimId", items[i].eim_id, items[i].has_eim_fqdn);
            if (items[i].has_eim_fqdn)
                print_text_field("eimFqdn", items[i].eim_fqdn, false);
            if (items[i].has_counter_value)
                printf(",\"counterValue\":%lld", (long long)items[i].counter_value);
            printf("}");
        }
    }
    printf("]");
}

static void print_profiles(der_view response, schema_arena *arena)
{
    sgp32_profile_info_list_response list;
    rsp_error err = {0};
    printf("\"profiles\":[");
    if (schema_decode(&sgp32_profile_info_list_response_type, response, &list, arena, &err) ==
            RSP_OK &&
        list.choice == SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK) {
        const sgp32_profile_info *items = list.u.profile_info_list_ok.items;
        for (size_t i = 0; i < list.u.profile_info_list_ok.count; i++) {
            printf("%s{", i ? "," : "");
            print_iccid_field(items[i].iccid);
            if (items[i].has_profile_name)
                print_text_field("name", items[i].profile_name, true);
            printf("\"state\":\"%s\"}", items[i].has_profile_state && items[i].profile_state == 1
                                            ? "enabled"
                                            : "disabled");
        }
    }
    printf("]");
}

static int info(daemon_parts *d)
{
    rsp_error err = {0};
    der_writer eims, profiles;
    static uint8_t arena_buf[256 * 1024];
    schema_arena arena;
    der_writer_init_dynamic(&eims, NULL);
    der_writer_init_dynamic(&profiles, NULL);
    rsp_status st = ipa_open(d->ipa, &err);
    if (st == RSP_OK)
        st = ipa_get_eim_configuration(d->ipa, &eims, &err);
    if (st == RSP_OK)
        st = ipa_list_profiles(d->ipa, &profiles, &err);
    if (st == RSP_OK) {
        printf("{");
        print_hex_field("eid", der_view_make(ipa_eid(d->ipa), 16), true);
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        print_eims(der_writer_view(&eims), &arena);
        printf(",");
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        print_profiles(der_writer_view(&profiles), &arena);
        printf("}\n");
    }
    der_writer_free(&eims);
    der_writer_free(&profiles);
    return st == RSP_OK ? 0 : fail("info failed", &err);
}

/* DER, or hex text, from a file. */
static long read_der_file(const char *path, uint8_t *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    if (n > 0 && (out[0] == 0xBF || out[0] == 0x30))
        return (long)n;
    out[n] = 0;
    static uint8_t decoded[65536];
    long len = der_hex_decode((const char *)out, decoded, sizeof decoded);
    if (len > 0 && (size_t)len <= cap)
        memcpy(out, decoded, (size_t)len);
    return len;
}

static int add_initial_eim(daemon_parts *d, const char *path)
{
    static uint8_t request[65536];
    long len = path ? read_der_file(path, request, sizeof request) : -1;
    if (len <= 0) {
        fprintf(stderr, "rspkit ipa: cannot read an AddInitialEimRequest from %s\n",
                path ? path : "(none)");
        return 2;
    }
    rsp_error err = {0};
    der_writer response;
    der_writer_init_dynamic(&response, NULL);
    rsp_status st =
        ipa_add_initial_eim(d->ipa, der_view_make(request, (size_t)len), &response, &err);
    if (st == RSP_OK) {
        char hex[1024];
        size_t n = response.len < 500 ? response.len : 500;
        der_hex_encode(response.buf, n, hex, true);
        printf("{\"addInitialEimResponse\":\"%s\"}\n", hex);
    }
    der_writer_free(&response);
    return st == RSP_OK ? 0 : fail("add-initial-eim failed", &err);
}

static int fallback(daemon_parts *d, bool execute)
{
    rsp_error err = {0};
    int64_t result = -1;
    rsp_status st = execute ? ipa_execute_fallback(d->ipa, &result, &err)
                            : ipa_return_from_fallback(d->ipa, &result, &err);
    if (st != RSP_OK)
        return fail("fallback command failed", &err);
    printf("{\"result\":%lld}\n", (long long)result);
    if (result == 0) {
        /* tell the eIM at once (notifyStateChange, SGP.32 v1.2 section 6.3.2.6) */
        poll_and_log(d, &err);
    }
    return result == 0 ? 0 : 1;
}

int cli_ipa(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *command = argv[1];
    static const char *const commands[] = {
        "run", "once", "info", "add-initial-eim", "fallback", "return-from-fallback"};
    bool known = false;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        known = known || strcmp(command, commands[i]) == 0;
    if (!known)
        return usage();
    const char *positional = NULL;
    options o;
    if (!parse_options(argc, argv, 2, &o, &positional))
        return usage();
    daemon_parts d;
    rsp_error err = {0};
    if (start(&o, &d, &err) != RSP_OK) {
        stop(&d);
        return fail("cannot start the IPA", &err);
    }
    int rc;
    if (strcmp(command, "run") == 0)
        rc = run_loop(&d, &o);
    else if (strcmp(command, "once") == 0)
        rc = poll_and_log(&d, &err) == RSP_OK ? 0 : 1;
    else if (strcmp(command, "info") == 0)
        rc = info(&d);
    else if (strcmp(command, "add-initial-eim") == 0)
        rc = add_initial_eim(&d, positional);
    else if (strcmp(command, "fallback") == 0)
        rc = fallback(&d, true);
    else if (strcmp(command, "return-from-fallback") == 0)
        rc = fallback(&d, false);
    else
        rc = usage();
    stop(&d);
    return rc;
}
