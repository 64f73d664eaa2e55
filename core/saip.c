/* SAIP profile packages: walking, header codec, element summaries, personalisation. Facts
 * (tags, field order, codings) from the TCA SAIP v3.3.1 ASN.1 module PEDefinitions; the
 * AUTOMATIC TAGS of that module number fields and alternatives in declaration order. */
#include "core/saip.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------------- */

saip_element_type saip_element_type_from_tag(uint32_t tag)
{
    unsigned number;
    if (tag >= 0xA0 && tag <= 0xBE)
        number = tag & 0x1Fu;
    else if ((tag >> 8) == 0xBF && (tag & 0x80u) == 0 && (tag & 0x7Fu) >= 31)
        number = tag & 0x7Fu;
    else
        return SAIP_PE_UNKNOWN;
    if (number >= SAIP_ELEMENT_NAME_COUNT)
        return SAIP_PE_UNKNOWN;
    return (saip_element_type)number;
}

const char *saip_element_type_name(saip_element_type type)
{
    if (type < 0 || type >= SAIP_ELEMENT_NAME_COUNT)
        return "unknown";
    return saip_element_names[type];
}

saip_element_type saip_element_type_from_name(const char *name)
{
    for (int i = 0; i < SAIP_ELEMENT_NAME_COUNT; i++)
        if (strcmp(saip_element_names[i], name) == 0)
            return (saip_element_type)i;
    return SAIP_PE_UNKNOWN;
}

/* Field number of a context tag (A0..BE, BF1F..BF7F, with or without the constructed bit),
 * or -1. */
static int context_number(uint32_t tag)
{
    if (tag >= 0x80 && tag <= 0xBE && (tag & 0x1Fu) != 0x1F)
        return (int)(tag & 0x1Fu);
    if (((tag >> 8) == 0xBF || (tag >> 8) == 0x9F) && (tag & 0x80u) == 0 && (tag & 0x7Fu) >= 31)
        return (int)(tag & 0x7Fu);
    return -1;
}

/* ---- walking ----------------------------------------------------------------------- */

void saip_walker_init(saip_walker *walker, der_view package)
{
    der_reader_init(&walker->reader, package, 0, 0);
    walker->index = 0;
}

/* SAIP v3.3.1 PEDefinitions: a package is a sequence of ProfileElement values */
rsp_status saip_walker_next(saip_walker *walker, saip_element *out, rsp_error *err)
{
    if (der_reader_at_end(&walker->reader))
        return RSP_ERR_NOT_FOUND;
    rsp_status st = der_reader_next(&walker->reader, &out->tlv, err);
    if (st != RSP_OK)
        return st;
    if (!out->tlv.constructed)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, out->tlv.tag, out->tlv.offset,
                             "profile element %zu is not constructed", walker->index);
    st = der_validate_tree(&out->tlv, walker->reader.depth, err);
    if (st != RSP_OK)
        return st;
    out->index = walker->index++;
    out->type = saip_element_type_from_tag(out->tlv.tag);
    out->name = saip_element_type_name(out->type);
    return RSP_OK;
}

rsp_status saip_validate(der_view package, size_t *count, rsp_error *err)
{
    saip_walker walker;
    saip_element element;
    rsp_status st;
    saip_walker_init(&walker, package);
    while ((st = saip_walker_next(&walker, &element, err)) == RSP_OK) {
        if (element.index == 0 && element.type != SAIP_PE_HEADER)
            return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, element.tlv.tag, element.tlv.offset,
                                 "a profile package starts with the header");
    }
    if (st != RSP_ERR_NOT_FOUND)
        return st;
    if (walker.index == 0)
        return rsp_error_set(err, RSP_ERR_TRUNCATED, 0, 0, "empty profile package");
    if (count != NULL)
        *count = walker.index;
    return RSP_OK;
}

/* ---- header ------------------------------------------------------------------------ */

static const schema_type uint8_type = SCHEMA_INTEGER_TYPE("UInt8", 0x02, 0, 255);
static const schema_type profile_type_type = SCHEMA_UTF8_TYPE("UTF8String", 0x0C, 1, 100);
static const schema_type iccid_type = SCHEMA_OCTETS_TYPE("OCTET STRING", 0x04, 10, 10);
static const schema_type aid_type = SCHEMA_OCTETS_TYPE("ApplicationIdentifier", 0x04, 5, 16);
static const schema_type version_type = SCHEMA_OCTETS_TYPE("OCTET STRING", 0x04, 2, 2);
static const schema_type pix_type = SCHEMA_OCTETS_TYPE("OCTET STRING", 0x04, 7, 11);

#define SERVICE(NAME, INDEX)                                                                       \
    {                                                                                              \
        NAME, 0x80 + (INDEX), 0, offsetof(saip_services, present[INDEX]), SCHEMA_OPTIONAL,         \
            &schema_null                                                                           \
    }

/* ServicesList, SAIP v3.3.1 PEDefinitions */
static const schema_field services_fields[SAIP_SERVICE_COUNT] = {
    SERVICE("contactless", 0),
    SERVICE("usim", 1),
    SERVICE("isim", 2),
    SERVICE("csim", 3),
    SERVICE("milenage", 4),
    SERVICE("tuak128", 5),
    SERVICE("cave", 6),
    SERVICE("gba-usim", 7),
    SERVICE("gba-isim", 8),
    SERVICE("mbms", 9),
    SERVICE("eap", 10),
    SERVICE("javacard", 11),
    SERVICE("multos", 12),
    SERVICE("multiple-usim", 13),
    SERVICE("multiple-isim", 14),
    SERVICE("multiple-csim", 15),
    SERVICE("tuak256", 16),
    SERVICE("usim-test-algorithm", 17),
    SERVICE("ber-tlv", 18),
    SERVICE("dfLink", 19),
    SERVICE("cat-tp", 20),
    SERVICE("get-identity", 21),
    SERVICE("profile-a-x25519", 22),
    SERVICE("profile-b-p256", 23),
    SERVICE("suciCalculatorApi", 24),
    SERVICE("dns-resolution", 25),
    SERVICE("scp11ac", 26),
    SERVICE("scp11c-authorization-mechanism", 27),
    SERVICE("s16mode", 28),
    SERVICE("eaka", 29),
};
static const schema_type services_type =
    SCHEMA_SEQUENCE_TYPE("ServicesList", 0x30, saip_services, services_fields, SCHEMA_EXTENSIBLE);

static const schema_type gfste_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF OBJECT IDENTIFIER", 0x30, schema_oid, 0, 0);

static const schema_field mandatory_aid_fields[] = {
    SCHEMA_FIELD(saip_mandatory_aid, aid, 0x80, aid_type),
    SCHEMA_FIELD(saip_mandatory_aid, version, 0x81, version_type),
};
static const schema_type mandatory_aid_type = SCHEMA_SEQUENCE_TYPE(
    "MandatoryAID", 0x30, saip_mandatory_aid, mandatory_aid_fields, SCHEMA_EXTENSIBLE);
static const schema_type mandatory_aids_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF MandatoryAID", 0x30, mandatory_aid_type, 0, 0);

static const schema_field iot_options_fields[] = {
    SCHEMA_FIELD(saip_iot_options, pix, 0x80, pix_type),
};
static const schema_type iot_options_type = SCHEMA_SEQUENCE_TYPE(
    "IotOptions", 0x30, saip_iot_options, iot_options_fields, SCHEMA_EXTENSIBLE);

/* ProfileHeader, SAIP v3.3.1 PEDefinitions */
static const schema_field header_fields[] = {
    SCHEMA_FIELD_NAMED("major-version", saip_header, major_version, 0x80, uint8_type),
    SCHEMA_FIELD_NAMED("minor-version", saip_header, minor_version, 0x81, uint8_type),
    SCHEMA_OPT_NAMED("profileType", saip_header, profile_type, 0x82, profile_type_type),
    SCHEMA_FIELD_NAMED("iccid", saip_header, iccid, 0x83, iccid_type),
    SCHEMA_OPT_NAMED("pol", saip_header, pol, 0x84, schema_octets),
    SCHEMA_FIELD_NAMED("eUICC-Mandatory-services", saip_header, mandatory_services, 0xA5,
                       services_type),
    SCHEMA_FIELD_NAMED("eUICC-Mandatory-GFSTEList", saip_header, mandatory_gfste_list, 0xA6,
                       gfste_list_type),
    SCHEMA_OPT_NAMED("connectivityParameters", saip_header, connectivity_parameters, 0x87,
                     schema_octets),
    SCHEMA_OPT_NAMED("eUICC-Mandatory-AIDs", saip_header, mandatory_aids, 0xA8,
                     mandatory_aids_type),
    SCHEMA_OPT_NAMED("iotOptions", saip_header, iot_options, 0xA9, iot_options_type),
};
const schema_type saip_header_type =
    SCHEMA_SEQUENCE_TYPE("ProfileHeader", 0xA0, saip_header, header_fields, SCHEMA_EXTENSIBLE);

rsp_status saip_header_decode(der_view element, saip_header *out, schema_arena *arena,
                              rsp_error *err)
{
    return schema_decode(&saip_header_type, element, out, arena, err);
}

/* The header iccid holds the digits in reading order; an odd-length ICCID ends in 'F'. */
rsp_status saip_iccid_digits(der_view iccid, char out[21], rsp_error *err)
{
    size_t n = 0;
    out[0] = '\0';
    if (iccid.len != 10)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ICCID of %zu bytes", iccid.len);
    for (size_t i = 0; i < 2 * iccid.len; i++) {
        uint8_t nibble = (uint8_t)((iccid.data[i / 2] >> (i % 2 ? 0 : 4)) & 0x0Fu);
        if (nibble == 0x0F && i == 2 * iccid.len - 1)
            break;
        if (nibble > 9) {
            out[0] = '\0';
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ICCID nibble %zu is not a digit",
                                 i);
        }
        out[n++] = (char)('0' + nibble);
    }
    out[n] = '\0';
    return RSP_OK;
}

/* ---- summaries --------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t size;
    size_t len;
} text_builder;

__attribute__((format(printf, 2, 3))) static void text_append(text_builder *t, const char *fmt, ...)
{
    if (t->size == 0 || t->len >= t->size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = (size_t)n >= t->size - t->len ? t->size - 1 : t->len + (size_t)n;
}

static void text_hex(text_builder *t, der_view v)
{
    for (size_t i = 0; i < v.len; i++)
        text_append(t, "%02X", v.data[i]);
}

static void text_oid(text_builder *t, der_view v)
{
    uint64_t arc = 0;
    bool first = true;
    for (size_t i = 0; i < v.len; i++) {
        arc = (arc << 7) | (v.data[i] & 0x7Fu);
        if (v.data[i] & 0x80u)
            continue;
        if (first) {
            unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            text_append(t, "%u.%llu", top, (unsigned long long)(arc - 40u * top));
            first = false;
        } else {
            text_append(t, ".%llu", (unsigned long long)arc);
        }
        arc = 0;
    }
}

/* Reads the children of a constructed TLV one by one. */
typedef struct {
    der_reader reader;
    rsp_error *err;
    rsp_status status;
} child_iterator;

static void children_begin(child_iterator *it, const der_tlv *parent, unsigned depth,
                           rsp_error *err)
{
    it->err = err;
    it->status = der_reader_enter(parent, depth, &it->reader, err);
}

static bool children_next(child_iterator *it, der_tlv *child)
{
    if (it->status != RSP_OK || der_reader_at_end(&it->reader))
        return false;
    it->status = der_reader_next(&it->reader, child, it->err);
    return it->status == RSP_OK;
}

/* Finds the first child with `tag`; false when absent. */
static bool find_child(const der_tlv *parent, unsigned depth, uint32_t tag, der_tlv *out,
                       rsp_error *err)
{
    child_iterator it;
    children_begin(&it, parent, depth, err);
    while (children_next(&it, out))
        if (out->tag == tag)
            return true;
    return false;
}

/* PEHeader identification (SAIP v3.3.1 PEDefinitions: PEHeader) */
static void summarise_pe_header(text_builder *t, const der_tlv *element)
{
    der_tlv header, field;
    int64_t id;
    if (!find_child(element, 0, 0xA0, &header, NULL))
        return;
    if (find_child(&header, 1, 0x81, &field, NULL) && der_decode_int64(&field, &id, NULL) == RSP_OK)
        text_append(t, "id %lld", (long long)id);
    if (find_child(&header, 1, 0x80, &field, NULL))
        text_append(t, " mandated");
}

static void summarise_template(text_builder *t, const saip_element *element, rsp_error *err)
{
    const saip_name_table *table = &saip_template_fields[element->type];
    child_iterator it;
    der_tlv child;
    bool listed = false;
    children_begin(&it, &element->tlv, 0, err);
    while (children_next(&it, &child)) {
        int number = context_number(child.tag);
        if (number == 1 && !child.constructed) {
            text_append(t, "; template ");
            text_oid(t, child.value);
        } else if (number >= 2) {
            text_append(t, "%s", listed ? " " : "; files: ");
            listed = true;
            if ((size_t)number < table->count)
                text_append(t, "%s", table->names[number]);
            else
                text_append(t, "[%d]", number);
        }
    }
}

static void summarise_generic_file_management(text_builder *t, const saip_element *element,
                                              rsp_error *err)
{
    der_tlv commands, command, item, field;
    size_t count = 0;
    if (!find_child(&element->tlv, 0, 0xA1, &commands, err))
        return;
    child_iterator outer;
    children_begin(&outer, &commands, 1, err);
    while (children_next(&outer, &command)) {
        child_iterator inner;
        count++;
        children_begin(&inner, &command, 2, err);
        while (children_next(&inner, &item)) {
            if (item.tag == 0x80) {
                text_append(t, "; path ");
                if (item.value.len == 0)
                    text_append(t, "MF");
                text_hex(t, item.value);
            } else if (item.tag == 0x62 && find_child(&item, 3, 0x83, &field, err)) {
                text_append(t, " create ");
                text_hex(t, field.value);
            }
        }
    }
    text_append(t, "; %zu command sequence%s", count, count == 1 ? "" : "s");
}

/* PINKeyReferenceValue / PUKKeyReferenceValue names, SAIP v3.3.1 PEDefinitions */
static void text_key_reference(text_builder *t, int64_t value, bool puk)
{
    if (value >= 1 && value <= 8)
        text_append(t, " %s%lld", puk ? "pukAppl" : "pinAppl", (long long)value);
    else if (value >= 129 && value <= 136)
        text_append(t, " %s%lld", puk ? "secondPUKAppl" : "secondPINAppl",
                    (long long)(value - 128));
    else if (!puk && value >= 10 && value <= 14)
        text_append(t, " adm%lld", (long long)(value - 9));
    else if (!puk && value >= 138 && value <= 142)
        text_append(t, " adm%lld", (long long)(value - 132));
    else
        text_append(t, " %lld", (long long)value);
}

/* PE-PINCodes / PE-PUKCodes, SAIP v3.3.1 PEDefinitions */
static void summarise_codes(text_builder *t, const saip_element *element, bool puk, rsp_error *err)
{
    der_tlv codes, list, config, reference;
    if (!find_child(&element->tlv, 0, 0xA1, &codes, err))
        return;
    const der_tlv *configs = &codes;
    unsigned depth = 1;
    if (!puk) {
        /* pinCodes is a tagged CHOICE: [1] { pinconfig [0] ... | filePath [1] ... } */
        if (find_child(&codes, 1, 0x81, &list, err)) {
            text_append(t, "; shared with ");
            text_hex(t, list.value);
            return;
        }
        if (!find_child(&codes, 1, 0xA0, &list, err))
            return;
        configs = &list;
        depth = 2;
    }
    text_append(t, puk ? "; puks:" : "; pins:");
    child_iterator it;
    children_begin(&it, configs, depth, err);
    while (children_next(&it, &config)) {
        int64_t value;
        if (find_child(&config, depth + 1, 0x80, &reference, err) &&
            der_decode_int64(&reference, &value, err) == RSP_OK)
            text_key_reference(t, value, puk);
    }
}

/* PE-AKAParameter, SAIP v3.3.1 PEDefinitions */
static void summarise_aka(text_builder *t, const saip_element *element, rsp_error *err)
{
    static const char *const algorithms[] = {"?", "milenage", "tuak", "usim-test-algorithm"};
    der_tlv configuration, choice, field;
    if (!find_child(&element->tlv, 0, 0xA1, &configuration, err))
        return;
    if (find_child(&configuration, 1, 0xA0, &choice, err)) {
        text_append(t, "; mapped from ");
        if (find_child(&choice, 2, 0x81, &field, err))
            text_hex(t, field.value);
        return;
    }
    int64_t id;
    if (find_child(&configuration, 1, 0xA1, &choice, err) &&
        find_child(&choice, 2, 0x80, &field, err) && der_decode_int64(&field, &id, err) == RSP_OK) {
        if (id >= 1 && id <= 3)
            text_append(t, "; algorithm %s", algorithms[id]);
        else
            text_append(t, "; algorithm %lld", (long long)id);
    }
}

/* The instanceAID of an ApplicationInstance: its third [APPLICATION 15] field. */
static void text_instance_aid(text_builder *t, const der_tlv *instance, unsigned depth,
                              rsp_error *err)
{
    child_iterator it;
    der_tlv child;
    int aids = 0;
    children_begin(&it, instance, depth, err);
    while (children_next(&it, &child))
        if (child.tag == 0x4F && ++aids == 3)
            text_hex(t, child.value);
}

static void summarise_security_domain(text_builder *t, const saip_element *element, rsp_error *err)
{
    der_tlv instance, keys, key;
    if (find_child(&element->tlv, 0, 0xA1, &instance, err)) {
        text_append(t, "; instance ");
        text_instance_aid(t, &instance, 1, err);
    }
    if (find_child(&element->tlv, 0, 0xA2, &keys, err)) {
        size_t count = 0;
        child_iterator it;
        children_begin(&it, &keys, 1, err);
        while (children_next(&it, &key))
            count++;
        text_append(t, "; %zu key%s", count, count == 1 ? "" : "s");
    }
}

static void summarise_application(text_builder *t, const saip_element *element, rsp_error *err)
{
    der_tlv load_block, aid, instances, instance;
    if (find_child(&element->tlv, 0, 0xA1, &load_block, err) &&
        find_child(&load_block, 1, 0x4F, &aid, err)) {
        text_append(t, "; load package ");
        text_hex(t, aid.value);
    }
    if (find_child(&element->tlv, 0, 0xA2, &instances, err)) {
        child_iterator it;
        text_append(t, "; instances:");
        children_begin(&it, &instances, 1, err);
        while (children_next(&it, &instance)) {
            text_append(t, " ");
            text_instance_aid(t, &instance, 2, err);
        }
    }
}

static void summarise_rfm(text_builder *t, const saip_element *element, rsp_error *err)
{
    der_tlv aid;
    if (find_child(&element->tlv, 0, 0x4F, &aid, err)) {
        text_append(t, "; instance ");
        text_hex(t, aid.value);
    }
}

static void summarise_header(text_builder *t, const saip_element *element, rsp_error *err)
{
    uint8_t arena_buffer[4096];
    schema_arena arena;
    saip_header header;
    char digits[21];
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    if (saip_header_decode(element->tlv.whole, &header, &arena, err) != RSP_OK)
        return;
    text_append(t, "version %lld.%lld; iccid ", (long long)header.major_version,
                (long long)header.minor_version);
    if (saip_iccid_digits(header.iccid, digits, NULL) == RSP_OK)
        text_append(t, "%s", digits);
    else
        text_hex(t, header.iccid);
    if (header.has_profile_type)
        text_append(t, "; type \"%.*s\"", (int)header.profile_type.len,
                    (const char *)header.profile_type.data);
}

rsp_status saip_element_summary(const saip_element *element, char *buf, size_t size, rsp_error *err)
{
    text_builder t = {buf, size, 0};
    rsp_error local = {0};
    if (size > 0)
        buf[0] = '\0';
    if (element->type == SAIP_PE_UNKNOWN) {
        text_append(&t, "unknown alternative (tag %X), %zu bytes", (unsigned)element->tlv.tag,
                    element->tlv.value.len);
        return RSP_OK;
    }
    if (element->type == SAIP_PE_HEADER) {
        summarise_header(&t, element, &local);
    } else {
        summarise_pe_header(&t, &element->tlv);
        if (element->type >= SAIP_PE_MF)
            summarise_template(&t, element, &local);
        else if (element->type == SAIP_PE_GENERIC_FILE_MANAGEMENT)
            summarise_generic_file_management(&t, element, &local);
        else if (element->type == SAIP_PE_PIN_CODES || element->type == SAIP_PE_PUK_CODES)
            summarise_codes(&t, element, element->type == SAIP_PE_PUK_CODES, &local);
        else if (element->type == SAIP_PE_AKA_PARAMETER)
            summarise_aka(&t, element, &local);
        else if (element->type == SAIP_PE_SECURITY_DOMAIN)
            summarise_security_domain(&t, element, &local);
        else if (element->type == SAIP_PE_APPLICATION)
            summarise_application(&t, element, &local);
        else if (element->type == SAIP_PE_RFM)
            summarise_rfm(&t, element, &local);
    }
    if (local.code != RSP_OK && err != NULL && err->code == RSP_OK)
        *err = local;
    return local.code;
}

/* ---- file contents ----------------------------------------------------------------- */

static int template_field_number(saip_element_type type, const char *file_name)
{
    if (type < 0 || type >= SAIP_ELEMENT_NAME_COUNT)
        return -1;
    const saip_name_table *table = &saip_template_fields[type];
    for (size_t i = 2; i < table->count; i++)
        if (strcmp(table->names[i], file_name) == 0)
            return (int)i;
    return -1;
}

/* File ::= SEQUENCE OF CHOICE { doNotCreate [0], fileDescriptor [1], fillFileOffset [2],
 * fillFileContent [3] } (SAIP v3.3.1 PEDefinitions); content written at file offset 0. */
static bool first_content(const der_tlv *file, der_tlv *content, rsp_error *err)
{
    child_iterator it;
    der_tlv item;
    children_begin(&it, file, 1, err);
    while (children_next(&it, &item)) {
        if (item.tag == 0x83) {
            *content = item;
            return true;
        }
        int64_t offset;
        if (item.tag == 0x82 && (der_decode_int64(&item, &offset, err) != RSP_OK || offset != 0))
            return false;
    }
    return false;
}

rsp_status saip_find_file_content(der_view package, saip_element_type type, const char *file_name,
                                  size_t start_element, saip_file_content *out, rsp_error *err)
{
    int number = template_field_number(type, file_name);
    if (number < 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "%s has no file %s",
                             saip_element_type_name(type), file_name);
    uint32_t file_tag = der_context_tag((unsigned)number, true);
    saip_walker walker;
    saip_element element;
    rsp_status st;
    saip_walker_init(&walker, package);
    while ((st = saip_walker_next(&walker, &element, err)) == RSP_OK) {
        der_tlv file, content;
        if (element.index < start_element || element.type != type ||
            !find_child(&element.tlv, 0, file_tag, &file, err) ||
            !first_content(&file, &content, err))
            continue;
        out->element_index = element.index;
        out->content = content.value;
        out->offset = (size_t)(content.value.data - package.data);
        return RSP_OK;
    }
    return st;
}

/* ---- personalisation --------------------------------------------------------------- */

static bool digits_valid(const char *digits, size_t min, size_t max)
{
    size_t n = digits != NULL ? strlen(digits) : 0;
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (digits[i] < '0' || digits[i] > '9')
            return false;
    return true;
}

static uint8_t digit_or_pad(const char *digits, size_t n, size_t i)
{
    return i < n ? (uint8_t)(digits[i] - '0') : 0x0F;
}

/* SAIP header iccid: the digits in reading order, one per nibble, high nibble first (as in
 * the TS.48 packages), 'F'-padded to 20 nibbles. */
bool saip_encode_iccid_header(const char *digits, uint8_t out[10])
{
    if (!digits_valid(digits, 19, 20))
        return false;
    size_t n = strlen(digits);
    for (size_t i = 0; i < 10; i++)
        out[i] =
            (uint8_t)(digit_or_pad(digits, n, 2 * i) << 4 | digit_or_pad(digits, n, 2 * i + 1));
    return true;
}

/* EF.ICCID, ETSI TS 102 221 section 13.2: BCD with the nibbles of each byte swapped. */
bool saip_encode_iccid_ef(const char *digits, uint8_t out[10])
{
    if (!digits_valid(digits, 19, 20))
        return false;
    size_t n = strlen(digits);
    for (size_t i = 0; i < 10; i++)
        out[i] =
            (uint8_t)(digit_or_pad(digits, n, 2 * i + 1) << 4 | digit_or_pad(digits, n, 2 * i));
    return true;
}

/* EF.IMSI, 3GPP TS 31.102 section 4.2.2: length byte, then the first digit beside the
 * parity/type nibble (odd '9', even '1'), then swapped BCD pairs, 'F'-padded. */
bool saip_encode_imsi_ef(const char *digits, uint8_t out[9])
{
    if (!digits_valid(digits, 6, 15))
        return false;
    size_t n = strlen(digits);
    memset(out, 0xFF, 9);
    out[0] = (uint8_t)((n + 2) / 2);
    out[1] = (uint8_t)(digit_or_pad(digits, n, 0) << 4 | (n % 2 ? 0x9u : 0x1u));
    for (size_t i = 1, k = 2; i < n; i += 2, k++)
        out[k] = (uint8_t)(digit_or_pad(digits, n, i + 1) << 4 | digit_or_pad(digits, n, i));
    return true;
}

#define SAIP_MAX_PATCHES 16

typedef struct {
    size_t offset;
    const uint8_t *bytes;
    size_t len;
} patch;

static rsp_status add_patch(patch *patches, size_t *count, size_t offset, const uint8_t *bytes,
                            size_t len, rsp_error *err)
{
    if (*count >= SAIP_MAX_PATCHES)
        return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, offset, "too many files to personalise");
    patches[*count].offset = offset;
    patches[*count].bytes = bytes;
    patches[*count].len = len;
    (*count)++;
    return RSP_OK;
}

static rsp_status patch_imsi(der_view package, const uint8_t imsi[9], patch *patches, size_t *count,
                             rsp_error *err)
{
    static const saip_element_type holders[] = {SAIP_PE_USIM, SAIP_PE_IOT};
    size_t found = 0;
    rsp_status st = RSP_OK;
    for (size_t h = 0; h < 2 && st == RSP_OK; h++) {
        saip_file_content content;
        size_t start = 0;
        while (st == RSP_OK && (st = saip_find_file_content(package, holders[h], "ef-imsi", start,
                                                            &content, err)) == RSP_OK) {
            if (content.content.len != 9)
                return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0x83, content.offset,
                                     "EF.IMSI content of %zu bytes, expected 9",
                                     content.content.len);
            st = add_patch(patches, count, content.offset, imsi, 9, err);
            start = content.element_index + 1;
            found++;
        }
        if (st == RSP_ERR_NOT_FOUND)
            st = RSP_OK;
    }
    if (st == RSP_OK && found == 0)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no EF.IMSI content in the package");
    return st;
}

/* The ICCID/IMSI personalisation of SAIP v3.3.1 (header iccid + MF/EF.ICCID, USIM/EF.IMSI) */
rsp_status saip_personalise(der_view package, const saip_identity *identity, der_writer *out,
                            rsp_error *err)
{
    uint8_t header_iccid[10], ef_iccid[10], ef_imsi[9];
    patch patches[SAIP_MAX_PATCHES];
    size_t count = 0;
    uint8_t arena_buffer[4096];
    schema_arena arena;
    saip_header header;
    saip_walker walker;
    saip_element first;
    saip_file_content content;
    rsp_status st;

    if (identity == NULL || !saip_encode_iccid_header(identity->iccid, header_iccid) ||
        !saip_encode_iccid_ef(identity->iccid, ef_iccid) ||
        (identity->imsi != NULL && !saip_encode_imsi_ef(identity->imsi, ef_imsi)))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "ICCID must be 19-20 digits, IMSI 6-15 digits");
    if ((st = saip_validate(package, NULL, err)) != RSP_OK)
        return st;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_walker_init(&walker, package);
    if ((st = saip_walker_next(&walker, &first, err)) != RSP_OK ||
        (st = saip_header_decode(first.tlv.whole, &header, &arena, err)) != RSP_OK ||
        (st = add_patch(patches, &count, (size_t)(header.iccid.data - package.data), header_iccid,
                        10, err)) != RSP_OK)
        return st;
    st = saip_find_file_content(package, SAIP_PE_MF, "ef-iccid", 0, &content, err);
    if (st == RSP_ERR_NOT_FOUND)
        st = saip_find_file_content(package, SAIP_PE_IOT, "ef-iccid", 0, &content, err);
    if (st == RSP_ERR_NOT_FOUND)
        return rsp_error_set(err, st, 0, 0, "no EF.ICCID content in the package");
    if (st != RSP_OK)
        return st;
    if (content.content.len != 10)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0x83, content.offset,
                             "EF.ICCID content of %zu bytes, expected 10", content.content.len);
    if ((st = add_patch(patches, &count, content.offset, ef_iccid, 10, err)) != RSP_OK)
        return st;
    if (identity->imsi != NULL &&
        (st = patch_imsi(package, ef_imsi, patches, &count, err)) != RSP_OK)
        return st;

    size_t start = out->len;
    der_put_raw(out, package.data, package.len);
    if ((st = der_writer_status(out)) != RSP_OK)
        return rsp_error_set(err, st, 0, 0, "output buffer");
    for (size_t i = 0; i < count; i++)
        memcpy(out->buf + start + patches[i].offset, patches[i].bytes, patches[i].len);
    return RSP_OK;
}

rsp_status saip_set_iccid(der_view package, const char *iccid, der_writer *out, rsp_error *err)
{
    saip_identity identity = {iccid, NULL};
    return saip_personalise(package, &identity, out, err);
}
