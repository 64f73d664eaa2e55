/* SAIP profile packages: the TCA "eUICC Profile Package: Interoperable Format" (ASN.1 module
 * PEDefinitions, v3.3.1; the TS.48 test profiles are v2.3). An unprotected profile package is
 * a plain concatenation of ProfileElement TLVs, a CHOICE whose alternative number is the
 * context tag of each element (header = A0, mf = B0, opt-usim = B4, df-5gprose = BF1F, ...).
 *
 * What this module does for an SM-DP+ and for tools: walk a package strictly, name every
 * element (unknown alternatives are reported, not rejected, since the CHOICE is extensible),
 * decode the header into a typed struct (round-trippable through core/schema.h), summarise
 * elements in one line, locate EF contents (EF.ICCID, EF.IMSI) and personalise a copy of a
 * package with a new ICCID / IMSI.
 *
 * Memory: every view borrows from the caller's package bytes; header lists come from the
 * caller's schema_arena. */
#ifndef RSPKIT_CORE_SAIP_H
#define RSPKIT_CORE_SAIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/schema.h"

/* ProfileElement alternatives (= context tag numbers), SAIP v3.3.1 PEDefinitions */
typedef enum {
    SAIP_PE_UNKNOWN = -1,
    SAIP_PE_HEADER = 0,
    SAIP_PE_GENERIC_FILE_MANAGEMENT = 1,
    SAIP_PE_PIN_CODES = 2,
    SAIP_PE_PUK_CODES = 3,
    SAIP_PE_AKA_PARAMETER = 4,
    SAIP_PE_CDMA_PARAMETER = 5,
    SAIP_PE_SECURITY_DOMAIN = 6,
    SAIP_PE_RFM = 7,
    SAIP_PE_APPLICATION = 8,
    SAIP_PE_NON_STANDARD = 9,
    SAIP_PE_END = 10,
    SAIP_PE_MF = 16,
    SAIP_PE_CD = 17,
    SAIP_PE_TELECOM = 18,
    SAIP_PE_USIM = 19,
    SAIP_PE_OPT_USIM = 20,
    SAIP_PE_ISIM = 21,
    SAIP_PE_OPT_ISIM = 22,
    SAIP_PE_PHONEBOOK = 23,
    SAIP_PE_GSM_ACCESS = 24,
    SAIP_PE_CSIM = 25,
    SAIP_PE_OPT_CSIM = 26,
    SAIP_PE_EAP = 27,
    SAIP_PE_DF_5GS = 28,
    SAIP_PE_DF_SAIP = 29,
    SAIP_PE_DF_SNPN = 30,
    SAIP_PE_DF_5GPROSE = 31,
    SAIP_PE_IOT = 32,
    SAIP_PE_OPT_IOT = 33,
} saip_element_type;

#define SAIP_ELEMENT_NAME_COUNT 34
#define SAIP_SERVICE_COUNT      30

typedef struct {
    const char *const *names;
    size_t count;
} saip_name_table;

/* Alternative names by context tag number ("header", "mf", ...). */
extern const char *const saip_element_names[SAIP_ELEMENT_NAME_COUNT];
/* Field names of each template-based file-system PE (mf, usim, ...), by alternative; index =
 * field tag number, so [0] is the PE header and [1] templateID. Empty for other PEs. */
extern const saip_name_table saip_template_fields[SAIP_ELEMENT_NAME_COUNT];
/* ServicesList flag names, index = context tag number ("contactless", "usim", ...). */
extern const char *const saip_service_names[SAIP_SERVICE_COUNT];

/* Alternative for an element tag, or SAIP_PE_UNKNOWN. */
saip_element_type saip_element_type_from_tag(uint32_t tag);
/* "header", "mf", ... or "unknown". */
const char *saip_element_type_name(saip_element_type type);
/* Alternative for a name ("usim"), or SAIP_PE_UNKNOWN. */
saip_element_type saip_element_type_from_name(const char *name);

/* ---- walking ------------------------------------------------------------------------ */

typedef struct {
    size_t index;           /* 0-based position in the package */
    saip_element_type type; /* SAIP_PE_UNKNOWN for an alternative this version does not know */
    const char *name;       /* saip_element_type_name(type) */
    der_tlv tlv;            /* tag, content and whole element; offset within the package */
} saip_element;

typedef struct {
    der_reader reader;
    size_t index;
} saip_walker;

void saip_walker_init(saip_walker *walker, der_view package);
/* Reads the next element: a well-formed, depth-bounded constructed TLV. Returns RSP_OK, or
 * RSP_ERR_NOT_FOUND at the end of the package, or the decoding error (with its offset). */
rsp_status saip_walker_next(saip_walker *walker, saip_element *out, rsp_error *err);
/* Walks the whole package; *count receives the number of elements. A package must hold at
 * least one element and start with the header. */
rsp_status saip_validate(der_view package, size_t *count, rsp_error *err);

/* ---- header ------------------------------------------------------------------------- */

typedef struct {
    bool present[SAIP_SERVICE_COUNT]; /* indexed like saip_service_names */
} saip_services;

typedef struct {
    der_view aid;     /* ApplicationIdentifier (5..16 bytes) */
    der_view version; /* 2 bytes */
} saip_mandatory_aid;

typedef struct {
    der_view pix; /* 7..11 bytes */
} saip_iot_options;

/* ProfileHeader, SAIP v3.3.1 PEDefinitions */
typedef struct {
    int64_t major_version;
    int64_t minor_version;
    bool has_profile_type;
    der_view profile_type; /* UTF-8 */
    der_view iccid;        /* 10 bytes: the ICCID digits in plain BCD order, 'F'-padded */
    bool has_pol;
    der_view pol;
    saip_services mandatory_services;
    schema_list mandatory_gfste_list; /* der_view: OID content octets */
    bool has_connectivity_parameters;
    der_view connectivity_parameters;
    bool has_mandatory_aids;
    schema_list mandatory_aids; /* saip_mandatory_aid */
    bool has_iot_options;
    saip_iot_options iot_options;
} saip_header;

/* The header alternative of ProfileElement ([0] ProfileHeader, tag A0). */
extern const schema_type saip_header_type;

/* Decodes the header element (the whole TLV, tag A0). */
rsp_status saip_header_decode(der_view element, saip_header *out, schema_arena *arena,
                              rsp_error *err);
/* ICCID digits from the header iccid (plain BCD, trailing 'F' dropped) into out[21]. */
rsp_status saip_iccid_digits(der_view iccid, char out[21], rsp_error *err);

/* ---- summaries ---------------------------------------------------------------------- */

/* One-line summary of an element into buf: PE identification number, then for file-system
 * PEs the template OID and the files present, for securityDomain/application/rfm the AIDs,
 * for akaParameter the algorithm, for pin/puk codes the key references. Returns the decode
 * status; on an error buf still holds what was understood. */
rsp_status saip_element_summary(const saip_element *element, char *buf, size_t size,
                                rsp_error *err);

/* ---- file contents and personalisation -------------------------------------------- */

typedef struct {
    size_t element_index; /* element holding the file */
    der_view content;     /* first fillFileContent of the file */
    size_t offset;        /* offset of content within the package */
} saip_file_content;

/* Finds the first fillFileContent (written at file offset 0) of file `file_name` (e.g.
 * "ef-iccid") in the first element of `type` (e.g. SAIP_PE_MF) that creates the file.
 * RSP_ERR_NOT_FOUND when no such element, file or content exists. */
rsp_status saip_find_file_content(der_view package, saip_element_type type, const char *file_name,
                                  size_t start_element, saip_file_content *out, rsp_error *err);

typedef struct {
    const char *iccid; /* 19 or 20 decimal digits */
    const char *imsi;  /* NULL to keep the package's IMSI; else 6..15 decimal digits */
} saip_identity;

/* Writes a copy of package to out with the header iccid and MF/EF.ICCID rewritten, and when
 * identity->imsi is set, EF.IMSI of every USIM (and IoT) PE. Every other byte is copied
 * unchanged. Fails without writing a partial result when a field is absent or sized
 * unexpectedly (EF.ICCID content must be 10 bytes, EF.IMSI 9). */
rsp_status saip_personalise(der_view package, const saip_identity *identity, der_writer *out,
                            rsp_error *err);
rsp_status saip_set_iccid(der_view package, const char *iccid, der_writer *out, rsp_error *err);

/* Encodings (TS 102 221 EF.ICCID / TS 31.102 EF.IMSI); return false on bad digits. */
bool saip_encode_iccid_header(const char *digits, uint8_t out[10]);
bool saip_encode_iccid_ef(const char *digits, uint8_t out[10]);
bool saip_encode_imsi_ef(const char *digits, uint8_t out[9]);

#endif
