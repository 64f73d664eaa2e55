/* The JSON-over-HTTP conventions of SGP.22 v2.5 section 6.5.1 (ES9+, ES2+), which the SGP.32
 * ESipa JSON binding follows too: POST, Content-Type application/json, an X-Admin-Protocol
 * header on requests and answers, HTTP 200 with a JSON body or 204 without one.
 *
 * Ownership: json_t results are new references (json_decref). */
#ifndef RSPKIT_NET_JSON_HTTP_H
#define RSPKIT_NET_JSON_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"

/* True when a Content-Type value names application/json (parameters such as charset allowed,
 * media type case-insensitive). */
bool rsp_json_is_json_content_type(const char *content_type);

/* Server side: parses the request body as a JSON object after checking the Content-Type.
 * Errors: RSP_ERR_UNSUPPORTED for a wrong content type (answer 415), RSP_ERR_BAD_VALUE for a
 * body that is not a strict JSON object (answer 400). */
rsp_status rsp_json_read_request(const http_request *request, size_t max_len, json_t **out,
                                 rsp_error *err);

/* Server side: serialises body into an owned reply with Content-Type RSP_JSON_CONTENT_TYPE and
 * X-Admin-Protocol: admin_protocol (a string that outlives the handler call, NULL to omit).
 * body NULL gives an empty reply (use status 204). */
rsp_status rsp_json_reply(http_reply *reply, int status, const json_t *body,
                          const char *admin_protocol);

/* Client side: POSTs request as JSON with the admin protocol header (plus extra_headers, a
 * NULL-terminated "Name: value" list or NULL) and parses the answer. *status receives the HTTP
 * status. A 204 or an empty body gives *response_body NULL; a non-empty body must be a JSON
 * object with a JSON Content-Type (else RSP_ERR_BAD_VALUE). Transport failures are RSP_ERR_IO
 * with *error_class set when error_class is not NULL. */
rsp_status rsp_json_call(http_client *client, const char *url, const json_t *request,
                         const char *admin_protocol, const char *const *extra_headers,
                         size_t max_len, long *status, json_t **response_body,
                         http_client_error *error_class, rsp_error *err);

#endif
