#include "net/http_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TOTAL_TIMEOUT_MS   30000
#define DEFAULT_MAX_RESPONSE       (1024 * 1024)
#define MAX_HEADER_BYTES           (16 * 1024)

struct http_client {
    CURL *curl;
    struct curl_slist *resolve; /* must live as long as the handle uses it */
    /* Request header lines of the last call, kept because callers (the IPA, the eIM relay) send
     * the same ones every time: rebuilt only when they change. */
    struct curl_slist *request_headers;
    size_t max_response;
    char error_text[CURL_ERROR_SIZE];
    /* response being received */
    uint8_t *body;
    size_t body_len;
    size_t body_capacity;
    bool too_large;
    char *headers;
    size_t headers_len;
    size_t headers_capacity;
};

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_FAILED_INIT;

/* curl_global_init is not thread safe itself; run it exactly once. */
static void global_init(void)
{
    global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* `buffer` (of *capacity bytes) grown to hold `needed` bytes: from `first` (when empty) doubling,
 * never beyond `limit` (needed <= limit). NULL when out of memory, `buffer` then unchanged. */
static void *reserve(void *buffer, size_t *capacity, size_t needed, size_t first, size_t limit)
{
    if (needed <= *capacity)
        return buffer;
    size_t grown_capacity = *capacity ? *capacity : first;
    while (grown_capacity < needed)
        grown_capacity *= 2;
    if (grown_capacity > limit)
        grown_capacity = limit;
    void *grown = realloc(buffer, grown_capacity);
    if (grown != NULL)
        *capacity = grown_capacity;
    return grown;
}

/* The declared Content-Length (already checked against max_response through
 * CURLOPT_MAXFILESIZE) sizes the body buffer once instead of doubling it up to there. */
static size_t first_body_capacity(const http_client *client)
{
    curl_off_t declared = -1;
    if (curl_easy_getinfo(client->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared) ==
            CURLE_OK &&
        declared > 0 && (uint64_t)declared <= client->max_response)
        return (size_t)declared;
    return 1024;
}

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
    http_client *client = context;
    size_t len = size * count;
    if (len > client->max_response - client->body_len) {
        client->too_large = true;
        return 0; /* makes libcurl abort with CURLE_WRITE_ERROR */
    }
    size_t first = client->body_capacity == 0 ? first_body_capacity(client) : 0;
    uint8_t *body = reserve(client->body, &client->body_capacity, client->body_len + len, first,
                            client->max_response);
    if (body == NULL)
        return 0;
    client->body = body;
    memcpy(client->body + client->body_len, data, len);
    client->body_len += len;
    return len;
}

/* Keeps the header lines of the last response only: a new status line (after a 100 Continue,
 * for instance) starts over. */
static size_t on_header(char *data, size_t size, size_t count, void *context)
{
    http_client *client = context;
    size_t len = size * count;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
        client->headers_len = 0;
    if (len > MAX_HEADER_BYTES - client->headers_len)
        return len; /* beyond what is kept; libcurl enforces its own limits */
    char *headers = reserve(client->headers, &client->headers_capacity,
                            client->headers_len + len + 1, 512, MAX_HEADER_BYTES + 1);
    if (headers == NULL)
        return 0;
    client->headers = headers;
    memcpy(client->headers + client->headers_len, data, len);
    client->headers_len += len;
    client->headers[client->headers_len] = '\0';
    return len;
}

http_client *http_client_new(const http_client_config *config, rsp_error *err)
{
    static const http_client_config defaults = {0};
    if (config == NULL)
        config = &defaults;
    if ((config->client_cert_file == NULL) != (config->client_key_file == NULL)) {
        rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                      "client_cert_file and client_key_file go together");
        return NULL;
    }
    pthread_once(&global_init_once, global_init);
    if (global_init_result != CURLE_OK) {
        rsp_error_set(err, RSP_ERR_IO, 0, 0, "libcurl initialisation failed");
        return NULL;
    }
    http_client *client = calloc(1, sizeof *client);
    CURL *curl = client ? curl_easy_init() : NULL;
    if (curl == NULL) {
        free(client);
        rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "cannot create libcurl handle");
        return NULL;
    }
    client->curl = curl;
    client->max_response = config->max_response ? config->max_response : DEFAULT_MAX_RESPONSE;
    long connect_ms =
        config->connect_timeout_ms ? config->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    long total_ms = config->total_timeout_ms ? config->total_timeout_ms : DEFAULT_TOTAL_TIMEOUT_MS;
    CURLcode rc = CURLE_OK;
    /* Each option is checked: a libcurl built without a feature must fail here, loudly. */
#define SET(option, value)                                                                         \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(curl, option, value);                                            \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, client->error_text);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, client);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, client);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TIMEOUT_MS, total_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)client->max_response);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_USERAGENT, config->user_agent ? config->user_agent : "rspkit");
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (config->ca_file != NULL)
        SET(CURLOPT_CAINFO, config->ca_file);
    if (config->pinned_public_key != NULL) {
        SET(CURLOPT_PINNEDPUBLICKEY, config->pinned_public_key);
        if (config->ca_file == NULL) {
            /* The pin is the trust anchor: see the header. */
            SET(CURLOPT_SSL_VERIFYPEER, 0L);
            SET(CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    for (size_t i = 0; config->resolve != NULL && config->resolve[i] != NULL; i++) {
        struct curl_slist *grown = curl_slist_append(client->resolve, config->resolve[i]);
        if (grown == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            break;
        }
        client->resolve = grown;
    }
    if (client->resolve != NULL)
        SET(CURLOPT_RESOLVE, client->resolve);
    if (config->client_cert_file != NULL) {
        SET(CURLOPT_SSLCERT, config->client_cert_file);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY, config->client_key_file);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
#undef SET
    if (rc != CURLE_OK) {
        rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0, "libcurl option refused: %s",
                      curl_easy_strerror(rc));
        http_client_free(client);
        return NULL;
    }
    return client;
}

void http_client_free(http_client *client)
{
    if (client == NULL)
        return;
    curl_easy_cleanup(client->curl);
    curl_slist_free_all(client->resolve);
    curl_slist_free_all(client->request_headers);
    free(client->body);
    free(client->headers);
    free(client);
}

const char *http_client_error_name(http_client_error error)
{
    switch (error) {
    case HTTP_CLIENT_OK:
        return "ok";
    case HTTP_CLIENT_ERR_DNS:
        return "dns";
    case HTTP_CLIENT_ERR_CONNECT:
        return "connect";
    case HTTP_CLIENT_ERR_TLS:
        return "tls";
    case HTTP_CLIENT_ERR_TIMEOUT:
        return "timeout";
    case HTTP_CLIENT_ERR_TOO_LARGE:
        return "too-large";
    case HTTP_CLIENT_ERR_PROTOCOL:
        return "protocol";
    case HTTP_CLIENT_ERR_OTHER:
        break;
    }
    return "other";
}

static http_client_error classify(CURLcode rc, bool too_large)
{
    switch (rc) {
    case CURLE_OK:
        return HTTP_CLIENT_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_CLIENT_ERR_DNS;
    case CURLE_COULDNT_CONNECT:
        return HTTP_CLIENT_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_CLIENT_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return HTTP_CLIENT_ERR_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_CLIENT_ERR_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        return too_large ? HTTP_CLIENT_ERR_TOO_LARGE : HTTP_CLIENT_ERR_OTHER;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP_RETURNED_ERROR:
        return HTTP_CLIENT_ERR_PROTOCOL;
    default:
        return HTTP_CLIENT_ERR_OTHER;
    }
}

/* True when `list` holds exactly the lines request_header_list would build. */
static bool header_list_matches(const struct curl_slist *list, const char *content_type,
                                const char *const *headers)
{
    static const char prefix[] = "Content-Type: ";
    if (list == NULL || strcmp(list->data, "Expect:") != 0)
        return false;
    list = list->next;
    if (content_type != NULL) {
        if (list == NULL || strncmp(list->data, prefix, sizeof prefix - 1) != 0 ||
            strcmp(list->data + sizeof prefix - 1, content_type) != 0)
            return false;
        list = list->next;
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++, list = list->next) {
        if (list == NULL || strcmp(list->data, headers[i]) != 0)
            return false;
    }
    return list == NULL;
}

/* The request's header lines; the client keeps (and owns) the list for the next call. */
static rsp_status request_header_list(http_client *client, const char *content_type,
                                      const char *const *headers, struct curl_slist **out)
{
    if (header_list_matches(client->request_headers, content_type, headers)) {
        *out = client->request_headers;
        return RSP_OK;
    }
    curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(client->request_headers);
    client->request_headers = NULL;
    /* No "Expect: 100-continue" round trip: the bodies here are small. */
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    bool ok = list != NULL;
    if (ok && content_type != NULL) {
        size_t size = strlen("Content-Type: ") + strlen(content_type) + 1;
        char *line = malloc(size);
        ok = line != NULL;
        if (ok) {
            snprintf(line, size, "Content-Type: %s", content_type);
            ok = curl_slist_append(list, line) != NULL;
        }
        free(line);
    }
    for (size_t i = 0; ok && headers != NULL && headers[i] != NULL; i++)
        ok = curl_slist_append(list, headers[i]) != NULL;
    if (!ok) {
        curl_slist_free_all(list);
        return RSP_ERR_NO_MEMORY;
    }
    client->request_headers = list;
    *out = list;
    return RSP_OK;
}

/* Runs one transfer on the configured handle; the method options are set by the caller. */
static rsp_status perform(http_client *client, const char *url, const char *content_type,
                          const char *const *headers, http_response *response, rsp_error *err)
{
    memset(response, 0, sizeof *response);
    client->body = NULL;
    client->body_len = 0;
    client->body_capacity = 0;
    client->too_large = false;
    client->headers_len = 0;
    client->error_text[0] = '\0';

    struct curl_slist *list = NULL;
    rsp_status st = request_header_list(client, content_type, headers, &list);
    if (st != RSP_OK) {
        response->error = HTTP_CLIENT_ERR_OTHER;
        return rsp_error_set(err, st, 0, 0, "out of memory");
    }
    CURLcode rc = curl_easy_setopt(client->curl, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, list);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(client->curl);

    long connects = 0;
    curl_easy_getinfo(client->curl, CURLINFO_NUM_CONNECTS, &connects);
    response->new_connections = connects;
    response->error = classify(rc, client->too_large);
    if (rc != CURLE_OK) {
        free(client->body);
        client->body = NULL;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s %s: %s (%s)",
                             http_client_error_name(response->error), url,
                             client->error_text[0] ? client->error_text : curl_easy_strerror(rc),
                             curl_easy_strerror(rc));
    }
    curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, &response->status);
    char *type = NULL;
    if (curl_easy_getinfo(client->curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
        snprintf(response->content_type, sizeof response->content_type, "%s", type);
    response->body = client->body;
    response->body_len = client->body_len;
    client->body = NULL; /* ownership passes to the response */
    if (client->headers_len > 0) {
        response->headers = malloc(client->headers_len + 1);
        if (response->headers != NULL) {
            memcpy(response->headers, client->headers, client->headers_len + 1);
            response->headers_len = client->headers_len;
        }
    }
    return RSP_OK;
}

rsp_status http_client_post(http_client *client, const char *url, const char *content_type,
                            const void *body, size_t body_len, const char *const *headers,
                            http_response *response, rsp_error *err)
{
    static const char empty[1] = "";
    CURLcode rc = curl_easy_setopt(client->curl, CURLOPT_POST, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(client->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(client->curl, CURLOPT_POSTFIELDS, body ? body : empty);
    if (rc != CURLE_OK) {
        memset(response, 0, sizeof *response);
        response->error = HTTP_CLIENT_ERR_OTHER;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "libcurl: %s", curl_easy_strerror(rc));
    }
    return perform(client, url, content_type, headers, response, err);
}

rsp_status http_client_get(http_client *client, const char *url, const char *const *headers,
                           http_response *response, rsp_error *err)
{
    CURLcode rc = curl_easy_setopt(client->curl, CURLOPT_HTTPGET, 1L);
    if (rc != CURLE_OK) {
        memset(response, 0, sizeof *response);
        response->error = HTTP_CLIENT_ERR_OTHER;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "libcurl: %s", curl_easy_strerror(rc));
    }
    return perform(client, url, NULL, headers, response, err);
}

void http_response_free(http_response *response)
{
    if (response == NULL)
        return;
    free(response->body);
    free(response->headers);
    response->body = NULL;
    response->body_len = 0;
    response->headers = NULL;
    response->headers_len = 0;
}

bool http_response_header(const http_response *response, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    const char *line = response->headers;
    const char *end = line != NULL ? line + response->headers_len : NULL;
    while (line != NULL && line < end) {
        const char *next = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = next != NULL ? next : end;
        if ((size_t)(line_end - line) > name_len && line[name_len] == ':' &&
            strncasecmp(line, name, name_len) == 0) {
            const char *value = line + name_len + 1;
            const char *value_end = line_end;
            while (value < value_end && (*value == ' ' || *value == '\t'))
                value++;
            while (value_end > value &&
                   (value_end[-1] == '\r' || value_end[-1] == ' ' || value_end[-1] == '\t'))
                value_end--;
            size_t len = (size_t)(value_end - value);
            if (len + 1 > size)
                return false;
            memcpy(out, value, len);
            out[len] = '\0';
            return true;
        }
        line = next != NULL ? next + 1 : end;
    }
    return false;
}
