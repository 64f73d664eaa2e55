/* Certificates issued on the fly for the certificate tests (crypto/pki_generate.h). */
#ifndef RSPKIT_TESTS_CRYPTO_ISSUE_FIXTURE_H
#define RSPKIT_TESTS_CRYPTO_ISSUE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"

/* Issues request for subject_key, or for a fresh key when it is NULL; a request without an
 * issuer key is signed by that fresh key (a self-signed CI), one without not_before starts a
 * minute before now. *key_out (may be NULL) receives the fresh private key. */
static inline rsp_certificate *fixture_issue(rsp_pki_certificate_request *request,
                                             const rsp_public_key *subject_key, time_t now,
                                             rsp_private_key **key_out)
{
    rsp_error err = {0};
    rsp_private_key *key = NULL;
    rsp_public_key *fresh_public_key = NULL;
    rsp_certificate *cert = NULL;
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &key, &err), RSP_OK);
    if (subject_key == NULL) {
        assert_int_equal(rsp_private_key_public(key, &fresh_public_key, &err), RSP_OK);
        subject_key = fresh_public_key;
    }
    request->subject_key = subject_key;
    if (request->not_before == 0)
        request->not_before = now - 60;
    if (request->issuer_key == NULL)
        request->issuer_key = key;
    if (rsp_pki_issue_certificate(request, &cert, &err) != RSP_OK)
        fail_msg("issue: %s", err.message);
    rsp_public_key_free(fresh_public_key);
    if (key_out != NULL)
        *key_out = key;
    else
        rsp_private_key_free(key);
    return cert;
}

#endif
