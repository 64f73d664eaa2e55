#include "net/json_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool rsp_json_is_json_content_type(const char *content_type)
{
    static const char media_type[] = "application/json";
    size_t len = sizeof media_type - 1;
    if (content_type == NULL)
        return false;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    if (strncasecmp(content_type, media_type, len) != 0)
        return false;
    char next = content_type[len];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* SGP.22 v2.5 section 6.5.1 */
rsp_status rsp_json_read_request(const http_request *request, size_t max_len, json_t **out,
                                 rsp_error *err)
{
    *out = NULL;
    const char *content_type = http_request_header(request, "Content-Type");
    if (!rsp_json_is_json_content_type(content_type))
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                             "request Content-Type '%s' is not application/json",
                             content_type ? content_type : "");
    *out = rsp_json_parse_object((const char *)request->body, request->body_len, max_len, err);
    return *out != NULL ? RSP_OK : err != NULL ? err->code : RSP_ERR_BAD_VALUE;
}

/* SGP.22 v2.5 section 6.5.1 */
rsp_status rsp_json_reply(http_reply *reply, int status, const json_t *body,
                          const char *admin_protocol)
{
    if (body == NULL) {
        http_reply_borrowed(reply, status, NULL, NULL, 0);
    } else {
        size_t len = 0;
        char *text = rsp_json_dump(body, &len);
        if (text == NULL)
            return RSP_ERR_NO_MEMORY;
        http_reply_owned(reply, status, RSP_JSON_CONTENT_TYPE, (uint8_t *)text, len);
    }
    if (admin_protocol != NULL &&
        !http_reply_add_header(reply, RSP_ADMIN_PROTOCOL_HEADER, admin_protocol))
        return RSP_ERR_BUFFER_TOO_SMALL;
    return RSP_OK;
}

/* SGP.22 v2.5 section 6.5.1 */
rsp_status rsp_json_call(http_client *client, const char *url, const json_t *request,
                         const char *admin_protocol, const char *const *extra_headers,
                         size_t max_len, long *status, json_t **response_body,
                         http_client_error *error_class, rsp_error *err)
{
    enum { MAX_EXTRA = 14 };
    const char *headers[MAX_EXTRA + 2];
    char protocol_line[128];
    size_t count = 0;
    *status = 0;
    *response_body = NULL;
    if (error_class != NULL)
        *error_class = HTTP_CLIENT_OK;
    if (admin_protocol != NULL) {
        snprintf(protocol_line, sizeof protocol_line, "%s: %s", RSP_ADMIN_PROTOCOL_HEADER,
                 admin_protocol);
        headers[count++] = protocol_line;
    }
    for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++) {
        if (i >= MAX_EXTRA)
            return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, 0, "more than %d extra headers",
                                 MAX_EXTRA);
        headers[count++] = extra_headers[i];
    }
    headers[count] = NULL;

    size_t len = 0;
    char *text = rsp_json_dump(request, &len);
    if (text == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "cannot serialise JSON request");
    http_response response;
    rsp_status st =
        http_client_post(client, url, RSP_JSON_CONTENT_TYPE, text, len, headers, &response, err);
    free(text);
    if (error_class != NULL)
        *error_class = response.error;
    if (st != RSP_OK)
        return st;
    *status = response.status;
    if (response.status != 204 && response.body_len > 0) {
        if (!rsp_json_is_json_content_type(response.content_type))
            st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                               "HTTP %ld answer with Content-Type '%s', not JSON", response.status,
                               response.content_type);
        else {
            *response_body =
                rsp_json_parse_object((const char *)response.body, response.body_len, max_len, err);
            if (*response_body == NULL)
                st = err != NULL ? err->code : RSP_ERR_BAD_VALUE;
        }
    }
    http_response_free(&response);
    return st;
}
