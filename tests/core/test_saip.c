/* SAIP profile packages: the four GSMA TS.48 test profiles walk, name and decode as their
 * published value notation says; personalisation touches exactly the ICCID/IMSI bytes;
 * unknown elements are reported, malformed packages rejected with offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/saip.h"

static const char *const package_names[] = {"NoBERTLV", "NoBERTLV_NoRAMRFM", "BERTLV_SUCI",
                                            "BERTLV_SUCI_NoRAMRFM"};

static const uint8_t ts48_iccid[10] = {0x89, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0x01, 0x23, 0x41};

static uint8_t *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size + 1);
        if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            data = NULL;
        }
        if (data != NULL) {
            data[size] = 0;
            *len = (size_t)size;
        }
    }
    fclose(f);
    return data;
}

static uint8_t *load_package(const char *stem, const char *extension, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/%s%s", RSPKIT_SHARED_DIR, stem, extension);
    return read_whole_file(path, len);
}

static bool shared_data_present(void)
{
    size_t len;
    uint8_t *data = load_package(package_names[0], ".der", &len);
    if (data == NULL) {
        printf("SKIPPED: TS.48 packages not found under %s/testdata/ts48 (shared folder "
               "absent)\n",
               RSPKIT_SHARED_DIR);
        return false;
    }
    free(data);
    return true;
}

/* Element names in order, from the "valueN ProfileElement ::= name :" lines. */
static size_t expected_names(const char *text, char names[][32], size_t max)
{
    size_t count = 0;
    const char *line = text;
    while (line != NULL && *line != '\0' && count < max) {
        char name[32];
        if (sscanf(line, "value%*u ProfileElement ::= %31s :", name) == 1)
            memcpy(names[count++], name, sizeof name);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return count;
}

static void check_one_package(const char *stem)
{
    size_t len = 0, text_len = 0;
    uint8_t *der = load_package(stem, ".der", &len);
    char *text = (char *)load_package(stem, ".asn1.txt", &text_len);
    assert_non_null(der);
    assert_non_null(text);
    static char names[128][32];
    size_t expected = expected_names(text, names, 128);
    assert_true(expected > 10);

    rsp_error err = {0};
    size_t count = 0;
    assert_int_equal(saip_validate(der_view_make(der, len), &count, &err), RSP_OK);
    assert_int_equal(count, expected);

    saip_walker walker;
    saip_element element;
    saip_walker_init(&walker, der_view_make(der, len));
    size_t i = 0;
    while (saip_walker_next(&walker, &element, &err) == RSP_OK) {
        assert_string_equal(element.name, names[i]);
        char summary[512];
        assert_int_equal(saip_element_summary(&element, summary, sizeof summary, &err), RSP_OK);
        assert_true(strlen(summary) > 0);
        i++;
    }
    assert_int_equal(i, expected);
    assert_int_equal(err.code, RSP_OK);

    /* header: typed decode, expected values, exact round trip */
    saip_walker_init(&walker, der_view_make(der, len));
    assert_int_equal(saip_walker_next(&walker, &element, &err), RSP_OK);
    uint8_t arena_buffer[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_header header;
    assert_int_equal(saip_header_decode(element.tlv.whole, &header, &arena, &err), RSP_OK);
    assert_int_equal(header.major_version, 2);
    assert_int_equal(header.minor_version, 3);
    assert_int_equal(header.iccid.len, 10);
    assert_memory_equal(header.iccid.data, ts48_iccid, 10);
    assert_true(header.mandatory_services.present[1]);  /* usim */
    assert_false(header.mandatory_services.present[0]); /* contactless */
    assert_true(header.mandatory_gfste_list.count >= 10);
    char digits[21];
    assert_int_equal(saip_iccid_digits(header.iccid, digits, &err), RSP_OK);
    assert_string_equal(digits, "89000123456789012341");
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&saip_header_type, &header, &w), RSP_OK);
    assert_int_equal(w.len, element.tlv.whole.len);
    assert_memory_equal(w.buf, element.tlv.whole.data, w.len);
    der_writer_free(&w);

    /* EF.ICCID holds the same digits, nibble-swapped; EF.IMSI is found in the USIM */
    saip_file_content content;
    assert_int_equal(
        saip_find_file_content(der_view_make(der, len), SAIP_PE_MF, "ef-iccid", 0, &content, &err),
        RSP_OK);
    uint8_t ef_iccid[10];
    assert_true(saip_encode_iccid_ef(digits, ef_iccid));
    assert_int_equal(content.content.len, 10);
    assert_memory_equal(content.content.data, ef_iccid, 10);
    assert_int_equal(
        saip_find_file_content(der_view_make(der, len), SAIP_PE_USIM, "ef-imsi", 0, &content, &err),
        RSP_OK);
    assert_int_equal(content.content.len, 9);
    free(der);
    free(text);
}

static void test_ts48_packages(void **state)
{
    (void)state;
    if (!shared_data_present())
        skip();
    for (size_t i = 0; i < sizeof package_names / sizeof package_names[0]; i++)
        check_one_package(package_names[i]);
}

static void test_encodings(void **state)
{
    (void)state;
    const uint8_t imsi[9] = {0x08, 0x09, 0x10, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98};
    const uint8_t ef[10] = {0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14};
    const uint8_t short_imsi[9] = {0x04, 0x11, 0x32, 0x54, 0xF6, 0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t padded[10] = {0x89, 0x44, 0x99, 0x99, 0x99, 0x99, 0x99, 0x00, 0x02, 0x3F};
    uint8_t out[10];
    assert_true(saip_encode_imsi_ef("001010123456789", out));
    assert_memory_equal(out, imsi, 9);
    assert_true(saip_encode_imsi_ef("123456", out)); /* even: parity nibble 1 */
    assert_memory_equal(out, short_imsi, 9);
    assert_true(saip_encode_iccid_ef("89000123456789012341", out));
    assert_memory_equal(out, ef, 10);
    assert_true(saip_encode_iccid_header("8944999999999900023", out));
    assert_memory_equal(out, padded, 10);
    char digits[21];
    assert_int_equal(saip_iccid_digits(der_view_make(padded, 10), digits, NULL), RSP_OK);
    assert_string_equal(digits, "8944999999999900023");
    assert_false(saip_encode_iccid_ef("89000123456789A12341", out));
    assert_false(saip_encode_iccid_ef("123", out));
    assert_false(saip_encode_imsi_ef("1234567890123456", out));
    assert_int_equal(saip_element_type_from_tag(0xA0), SAIP_PE_HEADER);
    assert_int_equal(saip_element_type_from_tag(0xB0), SAIP_PE_MF);
    assert_int_equal(saip_element_type_from_tag(0xBF1F), SAIP_PE_DF_5GPROSE);
    assert_int_equal(saip_element_type_from_tag(0xBF21), SAIP_PE_OPT_IOT);
    assert_int_equal(saip_element_type_from_tag(0xBF22), SAIP_PE_UNKNOWN);
    assert_int_equal(saip_element_type_from_tag(0x30), SAIP_PE_UNKNOWN);
    assert_string_equal(saip_element_type_name(SAIP_PE_OPT_USIM), "opt-usim");
    assert_int_equal(saip_element_type_from_name("gsm-access"), SAIP_PE_GSM_ACCESS);
}

/* Every byte outside [a, a+10), [b, b+10) and the IMSI ranges must be unchanged. */
static bool only_patched_differ(const uint8_t *x, const uint8_t *y, size_t len,
                                const size_t *offsets, const size_t *lengths, size_t count)
{
    for (size_t i = 0; i < len; i++) {
        bool patched = false;
        for (size_t k = 0; k < count; k++)
            patched |= i >= offsets[k] && i < offsets[k] + lengths[k];
        if (!patched && x[i] != y[i])
            return false;
    }
    return true;
}

static void test_set_iccid_and_imsi(void **state)
{
    (void)state;
    if (!shared_data_present())
        skip();
    size_t len;
    uint8_t *der = load_package("BERTLV_SUCI", ".der", &len);
    der_view package = der_view_make(der, len);
    rsp_error err = {0};
    saip_file_content iccid_file, imsi_file;
    assert_int_equal(saip_find_file_content(package, SAIP_PE_MF, "ef-iccid", 0, &iccid_file, &err),
                     RSP_OK);
    assert_int_equal(saip_find_file_content(package, SAIP_PE_USIM, "ef-imsi", 0, &imsi_file, &err),
                     RSP_OK);

    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    saip_identity identity = {"8944999999999900023", "262019876543210"};
    assert_int_equal(saip_personalise(package, &identity, &w, &err), RSP_OK);
    assert_int_equal(w.len, len);

    uint8_t arena_buffer[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_walker a, b;
    saip_element ea, eb;
    saip_walker_init(&a, package);
    saip_walker_init(&b, der_writer_view(&w));
    size_t changed = 0;
    while (saip_walker_next(&a, &ea, &err) == RSP_OK) {
        assert_int_equal(saip_walker_next(&b, &eb, &err), RSP_OK);
        assert_int_equal(ea.tlv.tag, eb.tlv.tag);
        assert_int_equal(ea.tlv.whole.len, eb.tlv.whole.len);
        if (!der_view_equal(ea.tlv.whole, eb.tlv.whole)) {
            changed++;
            assert_true(ea.type == SAIP_PE_HEADER || ea.type == SAIP_PE_MF ||
                        ea.type == SAIP_PE_USIM);
        }
    }
    assert_int_equal(changed, 3);

    saip_header header;
    saip_walker_init(&b, der_writer_view(&w));
    assert_int_equal(saip_walker_next(&b, &eb, &err), RSP_OK);
    assert_int_equal(saip_header_decode(eb.tlv.whole, &header, &arena, &err), RSP_OK);
    char digits[21];
    assert_int_equal(saip_iccid_digits(header.iccid, digits, &err), RSP_OK);
    assert_string_equal(digits, "8944999999999900023");
    uint8_t expected[10];
    assert_true(saip_encode_iccid_ef("8944999999999900023", expected));
    assert_memory_equal(w.buf + iccid_file.offset, expected, 10);
    assert_true(saip_encode_imsi_ef("262019876543210", expected));
    assert_memory_equal(w.buf + imsi_file.offset, expected, 9);
    size_t offsets[3] = {(size_t)(header.iccid.data - w.buf), iccid_file.offset, imsi_file.offset};
    size_t lengths[3] = {10, 10, 9};
    assert_true(only_patched_differ(der, w.buf, len, offsets, lengths, 3));

    /* saip_set_iccid keeps the IMSI */
    der_writer_free(&w);
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(saip_set_iccid(package, "89000123456789012349", &w, &err), RSP_OK);
    assert_memory_equal(w.buf + imsi_file.offset, der + imsi_file.offset, 9);
    assert_int_not_equal(memcmp(w.buf + iccid_file.offset, der + iccid_file.offset, 10), 0);
    assert_int_equal(saip_set_iccid(package, "12", &w, &err), RSP_ERR_INVALID_ARGUMENT);
    der_writer_free(&w);
    free(der);
}

/* header(2.3, iccid) + an alternative from the future ([40]) + end */
static const uint8_t synthetic[] = {
    0xA0, 0x16, 0x80, 0x01, 0x02, 0x81, 0x01, 0x03, 0x83, 0x0A, 0x89, 0x00, 0x01, 0x23, 0x45, 0x67,
    0x89, 0x01, 0x23, 0x41, 0xA5, 0x00, 0xA6, 0x00,
    /* [40] { [0] { [1] 7 }, [1] 'AB' } */
    0xBF, 0x28, 0x08, 0xA0, 0x03, 0x81, 0x01, 0x07, 0x81, 0x01, 0xAB,
    /* end { end-header { identification 9 } } */
    0xAA, 0x05, 0xA0, 0x03, 0x81, 0x01, 0x09};

static void test_unknown_element_reported(void **state)
{
    (void)state;
    rsp_error err = {0};
    size_t count = 0;
    assert_int_equal(saip_validate(der_view_make(synthetic, sizeof synthetic), &count, &err),
                     RSP_OK);
    assert_int_equal(count, 3);
    saip_walker walker;
    saip_element element;
    saip_walker_init(&walker, der_view_make(synthetic, sizeof synthetic));
    const char *names[] = {"header", "unknown", "end"};
    char summary[256];
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(saip_walker_next(&walker, &element, &err), RSP_OK);
        assert_string_equal(element.name, names[i]);
        assert_int_equal(saip_element_summary(&element, summary, sizeof summary, &err), RSP_OK);
    }
    assert_int_equal(element.type, SAIP_PE_END);
    assert_string_equal(summary, "id 9");
    assert_int_equal(saip_walker_next(&walker, &element, &err), RSP_ERR_NOT_FOUND);
    /* no EF.ICCID anywhere: personalisation refuses rather than half-writing */
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(saip_set_iccid(der_view_make(synthetic, sizeof synthetic),
                                    "89000123456789012341", &w, &err),
                     RSP_ERR_NOT_FOUND);
    assert_int_equal(w.len, 0);
    der_writer_free(&w);
}

static void test_malformed_rejected(void **state)
{
    (void)state;
    rsp_error err = {0};
    /* cut inside the end element */
    assert_int_equal(saip_validate(der_view_make(synthetic, sizeof synthetic - 2), NULL, &err),
                     RSP_ERR_LENGTH_OVERRUN);
    assert_int_equal(err.offset, 35);
    /* garbage after the last element */
    uint8_t trailing[sizeof synthetic + 1];
    memcpy(trailing, synthetic, sizeof synthetic);
    trailing[sizeof synthetic] = 0xFF;
    rsp_error_clear(&err);
    assert_int_not_equal(saip_validate(der_view_make(trailing, sizeof trailing), NULL, &err),
                         RSP_OK);
    assert_int_equal(err.offset, sizeof synthetic);
    /* a primitive element */
    const uint8_t primitive[] = {0x80, 0x01, 0x00};
    rsp_error_clear(&err);
    assert_int_equal(saip_validate(der_view_make(primitive, sizeof primitive), NULL, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    /* a package not starting with the header */
    rsp_error_clear(&err);
    assert_int_equal(saip_validate(der_view_make(synthetic + 24, 11), NULL, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    /* malformed content inside an element (inner length overruns) */
    uint8_t inner[sizeof synthetic];
    memcpy(inner, synthetic, sizeof synthetic);
    inner[28] = 0x09; /* the [40] element's inner A0 claims 9 bytes */
    rsp_error_clear(&err);
    assert_int_not_equal(saip_validate(der_view_make(inner, sizeof inner), NULL, &err), RSP_OK);
    assert_int_equal(err.offset, 27);
    /* empty input */
    rsp_error_clear(&err);
    assert_int_not_equal(saip_validate(der_view_make(synthetic, 0), NULL, &err), RSP_OK);

    if (!shared_data_present())
        return;
    size_t len;
    uint8_t *der = load_package("NoBERTLV", ".der", &len);
    /* every truncation of a real package fails, and says where */
    for (size_t cut = 1; cut < len; cut += 97) {
        rsp_error_clear(&err);
        size_t count = 0;
        rsp_status st = saip_validate(der_view_make(der, cut), &count, &err);
        if (st == RSP_OK)
            continue; /* the cut fell exactly between two elements */
        assert_true(err.offset < cut);
    }
    rsp_error_clear(&err);
    assert_int_not_equal(saip_validate(der_view_make(der, len - 1), NULL, &err), RSP_OK);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts48_packages),      cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_set_iccid_and_imsi), cmocka_unit_test(test_unknown_element_reported),
        cmocka_unit_test(test_malformed_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
