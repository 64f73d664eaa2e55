/* Activation Codes: the SGP.22 section 4.1 examples parse and format back; malformed codes
 * are rejected with the offset of the bad character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/activation_code.h"

static void round_trip(const char *text, bool prefix)
{
    activation_code code;
    rsp_error err = {0};
    char buf[300];
    assert_int_equal(activation_code_parse(text, &code, &err), RSP_OK);
    assert_int_equal(activation_code_format(&code, prefix, buf, sizeof buf, &err), RSP_OK);
    assert_string_equal(buf, text);
}

static void test_spec_examples(void **state)
{
    (void)state;
    activation_code code;
    rsp_error err = {0};
    assert_int_equal(activation_code_parse("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815", &code, &err),
                     RSP_OK);
    assert_string_equal(code.smdp_address, "SMDP.GSMA.COM");
    assert_string_equal(code.matching_id, "04386-AGYFT-A74Y8-3F815");
    assert_false(code.has_smdp_oid);
    assert_false(code.confirmation_code_required);

    assert_int_equal(
        activation_code_parse("LPA:1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1", &code, &err),
        RSP_OK);
    assert_false(code.has_smdp_oid);
    assert_true(code.confirmation_code_required);

    assert_int_equal(
        activation_code_parse("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1", &code,
                              &err),
        RSP_OK);
    assert_true(code.has_smdp_oid);
    assert_string_equal(code.smdp_oid, "1.3.6.1.4.1.31746");
    assert_true(code.confirmation_code_required);

    assert_int_equal(activation_code_parse(
                         "1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746", &code, &err),
                     RSP_OK);
    assert_true(code.has_smdp_oid);
    assert_false(code.confirmation_code_required);

    /* empty AC_Token: the field is present, its value empty */
    assert_int_equal(activation_code_parse("1$smdp.example.com$", &code, &err), RSP_OK);
    assert_string_equal(code.matching_id, "");

    round_trip("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815", false);
    round_trip("LPA:1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1", true);
    round_trip("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1", false);
    round_trip("LPA:1$rsp.example.com$$2.999", true);
    /* host:port, as the loopback demo and test beds use */
    round_trip("LPA:1$127.0.0.1:8443$MATCHING-ID-1", true);
    round_trip("LPA:1$localhost:65535$ABC", true);
}

static void expect_rejected(const char *text, rsp_status code, size_t offset)
{
    activation_code parsed;
    rsp_error err = {0};
    assert_int_equal(activation_code_parse(text, &parsed, &err), code);
    assert_int_equal(err.offset, offset);
}

static void test_invalid_codes(void **state)
{
    (void)state;
    expect_rejected("2$SMDP.GSMA.COM$ABC", RSP_ERR_UNSUPPORTED, 0);
    expect_rejected("LPA:2$SMDP.GSMA.COM$ABC", RSP_ERR_UNSUPPORTED, 4);
    expect_rejected("11$SMDP.GSMA.COM$ABC", RSP_ERR_UNSUPPORTED, 0);
    expect_rejected("lpa:1$SMDP.GSMA.COM$ABC", RSP_ERR_UNSUPPORTED, 0);
    expect_rejected("1$SMDP.GSMA.COM", RSP_ERR_MISSING_FIELD, 15);
    expect_rejected("1", RSP_ERR_MISSING_FIELD, 1);
    expect_rejected("1$$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp_x.example.com$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp.example.com:0$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp.example.com:65536$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp.example.com:$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp.example.com:44a$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$:443$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$https://smdp.example.com$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$-smdp.example.com$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp..example.com$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp.example.com.$ABC", RSP_ERR_BAD_VALUE, 2);
    expect_rejected("1$smdp.example.com$abc", RSP_ERR_BAD_VALUE, 19);
    expect_rejected("1$smdp.example.com$A B", RSP_ERR_BAD_VALUE, 20);
    expect_rejected("1$smdp.example.com$ABC\n", RSP_ERR_BAD_VALUE, 22);
    expect_rejected("1$smdp.example.com$ABC$1.3.x", RSP_ERR_BAD_VALUE, 23);
    expect_rejected("1$smdp.example.com$ABC$3.1", RSP_ERR_BAD_VALUE, 23);
    expect_rejected("1$smdp.example.com$ABC$1.03", RSP_ERR_BAD_VALUE, 23);
    expect_rejected("1$smdp.example.com$ABC$1", RSP_ERR_BAD_VALUE, 23);
    expect_rejected("1$smdp.example.com$ABC$", RSP_ERR_BAD_VALUE, 23);
    expect_rejected("1$smdp.example.com$ABC$1.2$0", RSP_ERR_BAD_VALUE, 27);
    expect_rejected("1$smdp.example.com$ABC$1.2$", RSP_ERR_BAD_VALUE, 27);
    expect_rejected("1$smdp.example.com$ABC$1.2$1$X", RSP_ERR_BAD_VALUE, 29);

    /* 63-character labels pass, 64 fail; the whole code is capped at 255 */
    char text[400];
    memset(text, 'A', sizeof text);
    memcpy(text, "1$", 2);
    memcpy(text + 2 + 63, ".COM$X", 6);
    text[2 + 63 + 6] = '\0';
    activation_code code;
    rsp_error err = {0};
    assert_int_equal(activation_code_parse(text, &code, &err), RSP_OK);
    memset(text, 'A', sizeof text);
    memcpy(text, "1$", 2);
    memcpy(text + 2 + 64, ".COM$X", 6);
    text[2 + 64 + 6] = '\0';
    expect_rejected(text, RSP_ERR_BAD_VALUE, 2);
    memset(text, 'A', sizeof text);
    memcpy(text, "1$SMDP.COM$", 11);
    text[256] = '\0';
    expect_rejected(text, RSP_ERR_BAD_VALUE, 255);
    text[255] = '\0';
    assert_int_equal(activation_code_parse(text, &code, &err), RSP_OK);
    assert_int_equal(strlen(code.matching_id), 255 - 11);
}

static void test_format_rejects_bad_fields(void **state)
{
    (void)state;
    activation_code code = {0};
    rsp_error err = {0};
    char buf[64];
    strcpy(code.smdp_address, "smdp.example.com");
    strcpy(code.matching_id, "lower");
    assert_int_equal(activation_code_format(&code, false, buf, sizeof buf, &err),
                     RSP_ERR_BAD_VALUE);
    strcpy(code.matching_id, "UPPER");
    rsp_error_clear(&err);
    assert_int_equal(activation_code_format(&code, false, buf, 10, &err), RSP_ERR_BUFFER_TOO_SMALL);
    code.confirmation_code_required = true;
    assert_int_equal(activation_code_format(&code, true, buf, sizeof buf, &err), RSP_OK);
    assert_string_equal(buf, "LPA:1$smdp.example.com$UPPER$$1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_invalid_codes),
        cmocka_unit_test(test_format_rejects_bad_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
