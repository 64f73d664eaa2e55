/* SGP.32 v1.2 catalogue: every top-level message round-trips from a hand-written encoding
 * that follows the ASN.1 of SGP32Definitions (tags worked out by hand from AUTOMATIC TAGS),
 * every ESipa function also round-trips through its envelope, and malformed inputs fail with
 * the right error.
 *
 * Encodings are written in a small notation so nobody has to count lengths by hand:
 * `BF51{30{80{'eim'} 81{05}}}` is tag BF51 around tag 30 around 80 03 65 69 6D and 81 01 05.
 * HEX{...} is a TLV whose length the helper computes, bare HEX are raw bytes, '...' is ASCII.
 * The helper is independent of the DER writer under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sgp32.h"
#include "core/sgp32_version.h"

/* ---- Notation -> bytes --------------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void append(uint8_t *out, size_t cap, size_t *used, const uint8_t *data, size_t len)
{
    assert_true(*used + len <= cap);
    memcpy(out + *used, data, len);
    *used += len;
}

/* Parses items until `end` ('}' or '\0'); returns the position after it. */
static const char *notation_items(const char *p, char end, uint8_t *out, size_t cap, size_t *used)
{
    for (;;) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (*p == end)
            return end ? p + 1 : p;
        assert_true(*p != '\0' && *p != '}');
        if (*p == '\'') {
            const char *close = strchr(p + 1, '\'');
            assert_non_null(close);
            append(out, cap, used, (const uint8_t *)p + 1, (size_t)(close - p - 1));
            p = close + 1;
            continue;
        }
        uint8_t bytes[64];
        size_t n = 0;
        while (hex_value(p[0]) >= 0) {
            assert_true(hex_value(p[1]) >= 0);
            assert_true(n < sizeof bytes);
            bytes[n++] = (uint8_t)(hex_value(p[0]) << 4 | hex_value(p[1]));
            p += 2;
        }
        assert_true(n > 0);
        if (*p != '{') {
            append(out, cap, used, bytes, n);
            continue;
        }
        uint8_t *inner = malloc(cap);
        size_t inner_len = 0;
        assert_non_null(inner);
        p = notation_items(p + 1, '}', inner, cap, &inner_len);
        append(out, cap, used, bytes, n);
        uint8_t header[4];
        size_t h = 0;
        if (inner_len < 0x80) {
            header[h++] = (uint8_t)inner_len;
        } else if (inner_len < 0x100) {
            header[h++] = 0x81;
            header[h++] = (uint8_t)inner_len;
        } else {
            assert_true(inner_len < 0x10000);
            header[h++] = 0x82;
            header[h++] = (uint8_t)(inner_len >> 8);
            header[h++] = (uint8_t)inner_len;
        }
        append(out, cap, used, header, h);
        append(out, cap, used, inner, inner_len);
        free(inner);
    }
}

static size_t notation(const char *text, uint8_t *out, size_t cap)
{
    size_t used = 0;
    notation_items(text, '\0', out, cap, &used);
    return used;
}

/* ---- Building blocks (values are arbitrary but valid for their types) ---------------- */

#define TID         "0102030405060708090A0B0C0D0E0F10"
#define EID         "89049032123451234512345678901235"
#define ICCID       "989410325476981032F4"
#define CHALLENGE   "00112233445566778899AABBCCDDEEFF"
#define SKI_VALUE   "F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
#define HASH32      "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
#define OID         "2B06010401"
#define CERT        "30{020105}"
#define SIGNATURE   "5F37{AABBCCDD}"
#define EUICC_INFO1 "BF20{82{020300} A9{04{" SKI_VALUE "}} AA{04{" SKI_VALUE "}}}"
#define EUICC_INFO2                                                                                \
    "BF22{81{020300} 82{020300} 83{010000} 84{0101} 85{0780} 88{0410} A9{04{" SKI_VALUE "}}"       \
    " AA{04{" SKI_VALUE "}} 04{020300} 0C{'SAS-1'} 90{00} B4{A0{04{010200}} 81{} 82{}}}"
#define CTX_PARAMS1    "A0{80{'ABCD-1234'} A1{80{35290611} A1{}}}"
#define SERVER_SIGNED1 "30{80{" TID "} 81{" CHALLENGE "} 83{'smdp.example.com'} 84{" CHALLENGE "}}"
#define EUICC_SIGNED1                                                                              \
    "30{80{" TID "} 83{'smdp.example.com'} 84{" CHALLENGE "} " EUICC_INFO2 " " CTX_PARAMS1 "}"
#define EUICC_SIGNED2         "30{80{" TID "} 5F49{04AABB}}"
#define NOTIFICATION_METADATA "BF2F{80{01} 81{0780} 0C{'smdp.example.com'} 5A{" ICCID "}}"
#define PROFILE_INSTALLATION_RESULT                                                                \
    "BF37{BF27{80{" TID "} " NOTIFICATION_METADATA " 06{" OID "}"                                  \
    " A2{A0{4F{A0000005591010FFFFFFFF8900001000} 04{9000}}}} " SIGNATURE "}"
#define OTHER_SIGNED_NOTIFICATION                                                                  \
    "30{BF2F{80{02} 81{0640} 0C{'smdp.example.com'} 5A{" ICCID "}} " SIGNATURE " " CERT " " CERT "}"
#define EIM_CONFIGURATION                                                                          \
    "80{'eim2.example.com'} 81{'eim2.example.com'} 82{02} 83{01} 84{07}"                           \
    " A5{A0{30{06{2A8648CE3D0201}} 03{0004AA}}} A6{A1{020105}} 87{0540} 88{" SKI_VALUE "} 89{}"
#define PSMO_LIST                                                                                  \
    "A0{A3{5A{" ICCID "} 05{}} A4{5A{" ICCID "}} A5{5A{" ICCID "}}"                                \
    " BF2D{A0{5A{" ICCID "}} 5C{5A9F70}} A6{} A7{80{} 81{" OID "} 82{'smdp.example.com'}}"         \
    " A8{5A{" ICCID "}} A9{} BF65{80{'smdp.example.com'}}}"
#define EUICC_PACKAGE_REQUEST                                                                      \
    "BF51{30{80{'eim.example.com'} 5A{" EID "} 81{05} 82{" TID "} " PSMO_LIST "} " SIGNATURE "}"
#define ECO_PACKAGE_REQUEST                                                                        \
    "BF51{30{80{'eim.example.com'} 5A{" EID "} 81{06} A1{A8{" EIM_CONFIGURATION "}"                \
    " A9{80{'eim2'}} AA{80{'eim.example.com'} 83{07}} AB{}}} " SIGNATURE "}"
#define PROFILE_INFO                                                                               \
    "E3{5A{" ICCID "} 4F{A0000005591010FFFFFFFF8900001000} 9F70{01} 90{'nick'} 91{'SP'}"           \
    " 92{'Profile'} 93{01} 94{89504E47} 95{02} B6{30{80{0780} 81{'smdp.example.com'}}}"            \
    " B7{80{130014} 81{AB}} B8{80{" OID "}} 99{0560} BF22{30{80{" OID "} A1{04{AA}}}}"             \
    " 9F7B{FF} 9F26{FF} 9F67{FF}}"
#define EUICC_RESULTS                                                                              \
    "30{83{00} 84{01} 85{02} BF2D{A0{" PROFILE_INFO "}} A6{30{80{0560} A1{30{80{130014}}}"         \
    " 82{0780}}} 87{00} A8{84{07}} 89{00} 8A{00} AB{A0{30{80{'eim.example.com'} 82{02}}}}"         \
    " 8C{00} 8D{00} 8E{00} 02{02} BF65{80{00}}}"
#define EPR_SIGNED                                                                                 \
    "BF51{A0{30{80{'eim.example.com'} 81{05} 82{" TID "} 83{0A} " EUICC_RESULTS "} " SIGNATURE "}" \
    "}"
#define EPR_SIGNED_OTHER_ALTERNATIVES                                                              \
    "BF51{A0{30{80{'eim'} 81{06} 83{0B} 30{BF2D{81{0B}} A8{02{02}} AB{81{7F}}}} " SIGNATURE "}}"
#define EPR_ERROR_SIGNED                                                                           \
    "BF51{A1{30{80{'eim.example.com'} 81{05} 82{" TID "} 02{06}} " SIGNATURE "}}"
#define EPR_UNSIGNED "BF51{A2{80{'eim.example.com'} 82{" TID "} 84{07}}}"
#define IPA_EUICC_DATA_REQUEST                                                                     \
    "BF52{5C{80BF20BF228384A5A688A9} 04{" SKI_VALUE "} A1{80{03}} A2{80{04}} 83{" TID "}}"
#define IPA_EUICC_DATA                                                                             \
    "A0{A0{" PROFILE_INSTALLATION_RESULT "} 81{'smdp.example.com'} A2{" EPR_ERROR_SIGNED           \
    "} " EUICC_INFO1 " " EUICC_INFO2 " 83{'smds.example.com'} 84{07} A5{020105} A6{020105}"        \
    " 87{" TID "} A8{80{0204} 81{0320}} A9{80{35290611} A1{}}}"
#define PDT_RESULT    "BF54{82{" TID "} " PROFILE_INSTALLATION_RESULT "}"
#define COMPACT_PIR   "A0{A0{80{" TID "} 02{05} 01{00} A2{A0{4F{1000}}}} " SIGNATURE "}"
#define COMPACT_OTHER "A1{5A{" EID "} " NOTIFICATION_METADATA " " SIGNATURE "}"

typedef struct {
    const schema_type *type;
    const char *encoding;
} vector;

static const vector vectors[] = {
    /* ESipa, section 6.3 */
    {&sgp32_initiate_authentication_request_esipa_type,
     "BF39{81{" CHALLENGE "} 83{'smdp.example.com'} " EUICC_INFO1 " 82{" TID "}}"},
    {&sgp32_initiate_authentication_request_esipa_type, "BF39{81{" CHALLENGE "}}"},
    {&sgp32_initiate_authentication_response_esipa_type,
     "BF39{A0{80{" TID "} " SERVER_SIGNED1 " " SIGNATURE " 04{" SKI_VALUE "} " CERT
     " 0C{'ABCD-1234'} A2{" CTX_PARAMS1 "}}}"},
    {&sgp32_initiate_authentication_response_esipa_type, "BF39{81{34}}"},
    {&sgp32_authenticate_client_request_esipa_type,
     "BF3B{80{" TID "} BF38{A0{" EUICC_SIGNED1 " " SIGNATURE " " CERT " " CERT "}}}"},
    {&sgp32_authenticate_client_request_esipa_type,
     "BF3B{80{" TID "} BF38{A2{A0{84{0101} A2{" CTX_PARAMS1 "}} " SIGNATURE "}}}"},
    {&sgp32_authenticate_client_response_esipa_type,
     "BF3B{A0{80{" TID "} BF25{5A{" ICCID "} 91{'SP'} 92{'Profile'}} 30{80{" TID
     "} 01{00}} " SIGNATURE " " CERT " 04{" HASH32 "}}}"},
    {&sgp32_authenticate_client_response_esipa_type,
     "BF3B{A1{80{" TID "} BF54{A0{80{'1$smdp.example.com$CODE'}}}}}"},
    {&sgp32_authenticate_client_response_esipa_type, "BF3B{82{08}}"},
    {&sgp32_get_bound_profile_package_request_esipa_type,
     "BF3A{80{" TID "} BF21{A0{" EUICC_SIGNED2 " " SIGNATURE "}}}"},
    {&sgp32_get_bound_profile_package_request_esipa_type,
     "BF3A{80{" TID "} BF21{A2{30{5F49{04AABB} 04{" HASH32 "}} " SIGNATURE "}}}"},
    {&sgp32_get_bound_profile_package_request_esipa_type,
     "BF3A{80{" TID "} BF21{A1{80{" TID "} 02{08}}}}"},
    {&sgp32_get_bound_profile_package_response_esipa_type,
     "BF3A{A0{80{" TID "} BF36{BF23{82{01}}}}}"},
    {&sgp32_get_bound_profile_package_response_esipa_type, "BF3A{81{5F}}"},
    {&sgp32_cancel_session_request_esipa_type,
     "BF41{80{" TID "} A1{A0{30{80{" TID "} 81{" OID "} 82{05}} " SIGNATURE "}}}"},
    {&sgp32_cancel_session_request_esipa_type, "BF41{80{" TID "} A1{81{05}}}"},
    {&sgp32_cancel_session_request_esipa_type,
     "BF41{80{" TID "} A1{A2{30{80{05}} " SIGNATURE "}}}"},
    {&sgp32_cancel_session_response_esipa_type, "BF41{A0{}}"},
    {&sgp32_cancel_session_response_esipa_type, "BF41{81{02}}"},
    {&sgp32_handle_notification_esipa_type, "BF3D{A0{" PROFILE_INSTALLATION_RESULT "}}"},
    {&sgp32_handle_notification_esipa_type, "BF3D{A0{" OTHER_SIGNED_NOTIFICATION "}}"},
    {&sgp32_handle_notification_esipa_type, "BF3D{A0{" COMPACT_PIR "}}"},
    {&sgp32_handle_notification_esipa_type, "BF3D{A0{" COMPACT_OTHER "}}"},
    {&sgp32_handle_notification_esipa_type, "BF3D{BF50{5A{" EID "} " EPR_SIGNED "}}"},
    {&sgp32_transfer_eim_package_request_type, "BF4E{" EUICC_PACKAGE_REQUEST "}"},
    {&sgp32_transfer_eim_package_request_type, "BF4E{" IPA_EUICC_DATA_REQUEST "}"},
    {&sgp32_transfer_eim_package_request_type, "BF4E{BF53{80{01} 80{02}}}"},
    {&sgp32_transfer_eim_package_request_type, "BF4E{BF54{A0{81{}}}}"},
    {&sgp32_transfer_eim_package_response_type, "BF4E{" EPR_SIGNED "}"},
    {&sgp32_transfer_eim_package_response_type,
     "BF4E{30{" EPR_SIGNED " A0{" PROFILE_INSTALLATION_RESULT "}}}"},
    {&sgp32_transfer_eim_package_response_type, "BF4E{BF52{A1{80{" TID "} 02{01}}}}"},
    {&sgp32_transfer_eim_package_response_type, "BF4E{05{}}"},
    {&sgp32_transfer_eim_package_response_type, "BF4E{02{02}}"},
    {&sgp32_get_eim_package_request_type, "BF4F{5A{" EID "} 80{} 81{02} 82{130014}}"},
    {&sgp32_get_eim_package_request_type, "BF4F{5A{" EID "}}"},
    {&sgp32_get_eim_package_response_type, "BF4F{" ECO_PACKAGE_REQUEST "}"},
    {&sgp32_get_eim_package_response_type, "BF4F{" IPA_EUICC_DATA_REQUEST "}"},
    {&sgp32_get_eim_package_response_type,
     "BF4F{BF54{A0{A2{80{'smds.example.com'}}} 82{" TID "}}}"},
    {&sgp32_get_eim_package_response_type, "BF4F{02{01}}"},
    {&sgp32_provide_eim_package_result_type, "BF50{5A{" EID "} " EPR_SIGNED "}"},
    {&sgp32_provide_eim_package_result_type,
     "BF50{30{" EPR_ERROR_SIGNED " A0{" OTHER_SIGNED_NOTIFICATION "}}}"},
    {&sgp32_provide_eim_package_result_type, "BF50{BF52{" IPA_EUICC_DATA "}}"},
    {&sgp32_provide_eim_package_result_type, "BF50{5A{" EID "} " PDT_RESULT "}"},
    {&sgp32_provide_eim_package_result_type, "BF50{A0{80{" TID "} 02{02}}}"},
    {&sgp32_provide_eim_package_result_response_type, "BF50{BF53{80{05}}}"},
    {&sgp32_provide_eim_package_result_response_type, "BF50{30{}}"},
    {&sgp32_provide_eim_package_result_response_type, "BF50{02{03}}"},
    /* eIM packages, section 2.11 */
    {&sgp32_euicc_package_request_type, EUICC_PACKAGE_REQUEST},
    {&sgp32_euicc_package_request_type, ECO_PACKAGE_REQUEST},
    {&sgp32_euicc_package_result_type, EPR_SIGNED},
    {&sgp32_euicc_package_result_type, EPR_SIGNED_OTHER_ALTERNATIVES},
    {&sgp32_euicc_package_result_type, EPR_ERROR_SIGNED},
    {&sgp32_euicc_package_result_type, EPR_UNSIGNED},
    {&sgp32_ipa_euicc_data_request_type, IPA_EUICC_DATA_REQUEST},
    {&sgp32_ipa_euicc_data_request_type, "BF52{5C{A0} A1{81{0780}}}"},
    {&sgp32_ipa_euicc_data_response_type, "BF52{" IPA_EUICC_DATA "}"},
    {&sgp32_ipa_euicc_data_response_type, "BF52{A1{80{" TID "} 02{68}}}"},
    {&sgp32_profile_download_trigger_request_type,
     "BF54{A0{80{'1$smdp.example.com$CODE'}} 82{" TID "}}"},
    {&sgp32_profile_download_trigger_request_type, "BF54{A0{81{}}}"},
    {&sgp32_profile_download_trigger_request_type, "BF54{A0{A2{}}}"},
    {&sgp32_profile_download_trigger_request_type, "BF54{}"},
    {&sgp32_profile_download_trigger_result_type, PDT_RESULT},
    {&sgp32_profile_download_trigger_result_type, "BF54{30{80{68} 04{AABB}}}"},
    {&sgp32_eim_acknowledgements_type, "BF53{80{01} 80{0200}}"},
    {&sgp32_eim_acknowledgements_type, "BF53{}"},
    /* ES10b, section 5.9 */
    {&sgp32_get_eim_configuration_data_request_type, "BF55{A0{80{'eim.example.com'}}}"},
    {&sgp32_get_eim_configuration_data_request_type, "BF55{}"},
    {&sgp32_get_eim_configuration_data_response_type,
     "BF55{A0{30{" EIM_CONFIGURATION "} 30{80{'eim3'}}}}"},
    {&sgp32_get_certs_request_type, "BF56{80{" SKI_VALUE "}}"},
    {&sgp32_get_certs_request_type, "BF56{}"},
    {&sgp32_get_certs_response_type, "BF56{A0{A5{020105} A6{020105}}}"},
    {&sgp32_get_certs_response_type, "BF56{81{01}}"},
    {&sgp32_add_initial_eim_request_type, "BF57{A0{30{" EIM_CONFIGURATION "}}}"},
    {&sgp32_add_initial_eim_response_type, "BF57{A0{84{07} 05{}}}"},
    {&sgp32_add_initial_eim_response_type, "BF57{81{02}}"},
    {&sgp32_profile_rollback_request_type, "BF58{80{FF}}"},
    {&sgp32_profile_rollback_response_type, "BF58{02{00} " EPR_SIGNED_OTHER_ALTERNATIVES "}"},
    {&sgp32_profile_rollback_response_type, "BF58{02{01}}"},
    {&sgp32_configure_immediate_profile_enabling_request_type,
     "BF59{80{} 81{" OID "} 82{'smdp.example.com'}}"},
    {&sgp32_configure_immediate_profile_enabling_request_type, "BF59{}"},
    {&sgp32_configure_immediate_profile_enabling_response_type, "BF59{80{02}}"},
    {&sgp32_immediate_enable_request_type, "BF5A{80{00}}"},
    {&sgp32_immediate_enable_response_type, "BF5A{80{04}}"},
    {&sgp32_enable_emergency_profile_request_type, "BF5B{80{FF}}"},
    {&sgp32_enable_emergency_profile_response_type, "BF5B{80{08}}"},
    {&sgp32_disable_emergency_profile_request_type, "BF5C{80{00}}"},
    {&sgp32_disable_emergency_profile_response_type, "BF5C{80{02}}"},
    {&sgp32_execute_fallback_mechanism_request_type, "BF5D{80{FF}}"},
    {&sgp32_execute_fallback_mechanism_response_type, "BF5D{80{68}}"},
    {&sgp32_return_from_fallback_request_type, "BF5E{80{FF}}"},
    {&sgp32_return_from_fallback_response_type, "BF5E{80{06}}"},
    {&sgp32_get_connectivity_parameters_request_type, "BF5F{}"},
    {&sgp32_get_connectivity_parameters_response_type, "BF5F{A0{81{0102}}}"},
    {&sgp32_get_connectivity_parameters_response_type, "BF5F{A0{}}"},
    {&sgp32_get_connectivity_parameters_response_type, "BF5F{81{01}}"},
    {&sgp32_euicc_memory_reset_request_type, "BF64{82{017E}}"},
    {&sgp32_euicc_memory_reset_response_type, "BF64{80{00} 81{02} 82{01}}"},
    {&sgp32_euicc_memory_reset_response_type, "BF64{80{68}}"},
    {&sgp32_set_default_dp_address_request_type, "BF65{80{'smdp.example.com'}}"},
    {&sgp32_set_default_dp_address_response_type, "BF65{80{7F}}"},
    {&sgp32_ipae_activation_request_type, "BF42{80{0780}}"},
    {&sgp32_ipae_activation_response_type, "BF42{80{01}}"},
    {&sgp32_retrieve_notifications_list_request_type, "BF2B{A0{80{05}}}"},
    {&sgp32_retrieve_notifications_list_request_type, "BF2B{A0{81{0780}}}"},
    {&sgp32_retrieve_notifications_list_request_type, "BF2B{A0{82{}}}"},
    {&sgp32_retrieve_notifications_list_request_type, "BF2B{}"},
    {&sgp32_retrieve_notifications_list_response_type,
     "BF2B{A0{" PROFILE_INSTALLATION_RESULT " " OTHER_SIGNED_NOTIFICATION " " COMPACT_PIR
     " " COMPACT_OTHER "}}"},
    {&sgp32_retrieve_notifications_list_response_type, "BF2B{81{7F}}"},
    {&sgp32_retrieve_notifications_list_response_type, "BF2B{A2{" EPR_UNSIGNED "}}"},
    {&sgp32_isdr_proprietary_application_template_iot_type, "E1{80{0640}}"},
    {&sgp32_euicc_info2_type, EUICC_INFO2},
    {&sgp32_profile_info_list_response_type, "BF2D{A0{" PROFILE_INFO " E3{9F70{00}}}}"},
    {&sgp32_profile_info_list_response_type, "BF2D{81{01}}"},
    {&sgp32_authenticate_server_response_type,
     "BF38{A0{" EUICC_SIGNED1 " " SIGNATURE " " CERT " " CERT "}}"},
    {&sgp32_authenticate_server_response_type, "BF38{A1{80{" TID "} 02{01}}}"},
    {&sgp32_authenticate_server_response_type, "BF38{A2{A0{84{0101}} " SIGNATURE "}}"},
    {&sgp32_authenticate_server_response_type,
     "BF38{A2{" EUICC_SIGNED1 " " SIGNATURE " A1{020105} A2{020105}}}"},
    {&sgp32_prepare_download_response_type, "BF21{A0{" EUICC_SIGNED2 " " SIGNATURE "}}"},
    {&sgp32_prepare_download_response_type, "BF21{A1{80{" TID "} 02{01}}}"},
    {&sgp32_prepare_download_response_type,
     "BF21{A2{30{5F49{04AA} 04{" HASH32 "}} " SIGNATURE "}}"},
    {&sgp32_prepare_download_response_type, "BF21{A2{30{} " SIGNATURE "}}"},
    {&sgp32_cancel_session_response_type,
     "BF41{A0{30{80{" TID "} 81{" OID "} 82{05}} " SIGNATURE "}}"},
    {&sgp32_cancel_session_response_type, "BF41{81{05}}"},
    {&sgp32_cancel_session_response_type, "BF41{A2{30{80{05}} " SIGNATURE "}}"},
};

#define BUFFER_SIZE 8192
#define ARENA_SIZE  32768

static void *arena_buffer;

static int setup(void **state)
{
    (void)state;
    arena_buffer = malloc(ARENA_SIZE);
    return arena_buffer == NULL;
}

static int teardown(void **state)
{
    (void)state;
    free(arena_buffer);
    return 0;
}

/* Decodes der as type into value, re-encodes it and checks the bytes are identical. */
static void round_trip(const schema_type *type, const uint8_t *der, size_t len, void *value,
                       const char *what)
{
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, ARENA_SIZE);
    rsp_error err = {0};
    rsp_status st = schema_decode(type, der_view_make(der, len), value, &arena, &err);
    if (st != RSP_OK) {
        char text[200];
        print_error("%s as %s: %s\n", what, type->name, rsp_error_format(&err, text, sizeof text));
    }
    assert_int_equal(st, RSP_OK);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(type, value, &w), RSP_OK);
    if (w.len != len || memcmp(w.buf, der, len) != 0)
        print_error("%s as %s: re-encoding differs\n", what, type->name);
    assert_int_equal(w.len, len);
    assert_memory_equal(w.buf, der, len);
    der_writer_free(&w);
}

static void *value_buffer(const schema_type *type)
{
    void *value = calloc(1, schema_value_size(type) + 8);
    assert_non_null(value);
    return value;
}

/* Every vector decodes and re-encodes to the same bytes. */
static void test_vectors_round_trip(void **state)
{
    (void)state;
    uint8_t *der = malloc(BUFFER_SIZE);
    assert_non_null(der);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t len = notation(vectors[i].encoding, der, BUFFER_SIZE);
        void *value = value_buffer(vectors[i].type);
        char what[32];
        snprintf(what, sizeof what, "vector %zu", i);
        round_trip(vectors[i].type, der, len, value, what);
        free(value);
    }
    free(der);
}

/* No top-level message lacks a vector. */
static void test_every_message_has_a_vector(void **state)
{
    (void)state;
    assert_true(sgp32_message_count >= 60);
    for (size_t m = 0; m < sgp32_message_count; m++) {
        const schema_type *type = sgp32_messages[m];
        bool found = false;
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0] && !found; i++)
            found = vectors[i].type == type;
        /* the envelopes are covered by test_envelopes below */
        if (type == &sgp32_esipa_message_from_ipa_to_eim_type ||
            type == &sgp32_esipa_message_from_eim_to_ipa_type)
            found = true;
        if (!found)
            print_error("no vector for %s\n", type->name);
        assert_true(found);
    }
}

/* Every alternative of every CHOICE message is exercised by at least one vector. */
static void test_every_alternative_is_covered(void **state)
{
    (void)state;
    uint8_t *der = malloc(BUFFER_SIZE);
    assert_non_null(der);
    for (size_t m = 0; m < sgp32_message_count; m++) {
        const schema_type *type = sgp32_messages[m];
        if (type->kind != SCHEMA_CHOICE || type->tag == 0)
            continue;
        unsigned seen = 0;
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
            if (vectors[i].type != type)
                continue;
            size_t len = notation(vectors[i].encoding, der, BUFFER_SIZE);
            schema_arena arena;
            schema_arena_init(&arena, arena_buffer, ARENA_SIZE);
            void *value = value_buffer(type);
            assert_int_equal(schema_decode(type, der_view_make(der, len), value, &arena, NULL),
                             RSP_OK);
            seen |= 1u << (*(int *)value - 1);
            free(value);
        }
        if (seen != (1u << type->field_count) - 1)
            print_error("%s: alternatives seen %#x\n", type->name, seen);
        assert_int_equal(seen, (1u << type->field_count) - 1);
    }
    free(der);
}

/* Each ESipa function also round-trips inside the envelope of its direction, which selects
 * the alternative with the function's tag. */
static void test_envelopes(void **state)
{
    (void)state;
    const schema_type *envelopes[] = {&sgp32_esipa_message_from_ipa_to_eim_type,
                                      &sgp32_esipa_message_from_eim_to_ipa_type};
    uint8_t *der = malloc(BUFFER_SIZE);
    assert_non_null(der);
    for (size_t e = 0; e < 2; e++) {
        const schema_type *envelope = envelopes[e];
        unsigned seen = 0;
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
            size_t alternative = envelope->field_count;
            for (size_t a = 0; a < envelope->field_count; a++)
                if (envelope->fields[a].type == vectors[i].type)
                    alternative = a;
            if (alternative == envelope->field_count)
                continue;
            size_t len = notation(vectors[i].encoding, der, BUFFER_SIZE);
            void *value = value_buffer(envelope);
            round_trip(envelope, der, len, value, envelope->name);
            assert_int_equal(*(int *)value, (int)alternative + 1);
            seen |= 1u << alternative;
            free(value);
        }
        assert_int_equal(seen, (1u << envelope->field_count) - 1);
    }
    free(der);
}

/* Decoded values land in the fields the ASN.1 names. */
static void test_decoded_values(void **state)
{
    (void)state;
    uint8_t *der = malloc(BUFFER_SIZE);
    assert_non_null(der);
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, ARENA_SIZE);

    sgp32_euicc_package_request request;
    size_t len = notation(EUICC_PACKAGE_REQUEST, der, BUFFER_SIZE);
    assert_int_equal(schema_decode(&sgp32_euicc_package_request_type, der_view_make(der, len),
                                   &request, &arena, NULL),
                     RSP_OK);
    const sgp32_euicc_package_signed *signed_part = &request.euicc_package_signed;
    assert_int_equal(signed_part->counter_value, 5);
    assert_int_equal(signed_part->eid_value.len, 16);
    assert_true(signed_part->has_eim_transaction_id);
    assert_int_equal(signed_part->euicc_package.choice, SGP32_EUICC_PACKAGE_PSMO_LIST);
    const schema_list *psmos = &signed_part->euicc_package.u.psmo_list;
    assert_int_equal(psmos->count, 9);
    const sgp32_psmo *psmo = psmos->items;
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(psmo[i].choice, (int)i + 1);
    assert_true(psmo[0].u.enable.has_rollback_flag);
    assert_int_equal(psmo[0].u.enable.iccid.len, 10);
    assert_true(psmo[3].u.list_profile_info.has_tag_list);
    assert_true(psmo[5].u.configure_immediate_enable.has_immediate_enable_flag);
    assert_memory_equal(psmo[8].u.set_default_dp_address.default_dp_address.data,
                        "smdp.example.com", 16);

    sgp32_euicc_package_result result;
    len = notation(EPR_SIGNED, der, BUFFER_SIZE);
    schema_arena_init(&arena, arena_buffer, ARENA_SIZE);
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_type, der_view_make(der, len),
                                   &result, &arena, NULL),
                     RSP_OK);
    assert_int_equal(result.choice, SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED);
    const sgp32_euicc_package_result_data_signed *data =
        &result.u.euicc_package_result_signed.euicc_package_result_data_signed;
    assert_int_equal(data->seq_number, 10);
    assert_int_equal(data->euicc_result.count, 15);
    const sgp32_euicc_result_data *results = data->euicc_result.items;
    assert_int_equal(results[0].choice, SGP32_EUICC_RESULT_DATA_ENABLE_RESULT);
    assert_int_equal(results[2].u.delete_result,
                     SGP32_DELETE_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE);
    assert_int_equal(results[13].choice, SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED);
    assert_int_equal(results[13].u.processing_terminated,
                     SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND);
    const sgp32_profile_info *info =
        results[3].u.list_profile_info_result.u.profile_info_list_ok.items;
    assert_true(info->has_ecall_indication && info->ecall_indication);
    assert_true(info->has_fallback_attribute && info->fallback_attribute);
    assert_true(info->has_fallback_allowed && info->fallback_allowed);
    assert_int_equal(results[6].u.add_eim_result.u.association_token, 7);
    free(der);
}

/* The tables print: every field name reachable from a vector, named values by name. */
static void test_print(void **state)
{
    (void)state;
    uint8_t *der = malloc(BUFFER_SIZE);
    assert_non_null(der);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t len = notation(vectors[i].encoding, der, BUFFER_SIZE);
        void *value = value_buffer(vectors[i].type);
        schema_arena arena;
        schema_arena_init(&arena, arena_buffer, ARENA_SIZE);
        assert_int_equal(
            schema_decode(vectors[i].type, der_view_make(der, len), value, &arena, NULL), RSP_OK);
        char *text = NULL;
        size_t text_len = 0;
        FILE *out = open_memstream(&text, &text_len);
        assert_non_null(out);
        schema_print(vectors[i].type, value, out, 0);
        fclose(out);
        assert_non_null(strstr(text, vectors[i].type->name));
        if (strcmp(vectors[i].encoding, EPR_SIGNED) == 0) {
            assert_non_null(strstr(text, "unknownOrDamagedCommand"));
            assert_non_null(strstr(text, "fallbackAllowed"));
        }
        free(text);
        free(value);
    }
    free(der);
}

/* ---- Negative cases ------------------------------------------------------------------ */

static rsp_status decode_notation(const schema_type *type, const char *text, rsp_error *err)
{
    uint8_t *der = malloc(BUFFER_SIZE);
    assert_non_null(der);
    size_t len = notation(text, der, BUFFER_SIZE);
    void *value = value_buffer(type);
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, ARENA_SIZE);
    rsp_error_clear(err);
    rsp_status st = schema_decode(type, der_view_make(der, len), value, &arena, err);
    free(value);
    free(der);
    return st;
}

static void test_missing_field(void **state)
{
    (void)state;
    rsp_error err;
    /* EuiccPackageSigned without counterValue */
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID "} " PSMO_LIST "} " SIGNATURE "}",
                                     &err),
                     RSP_ERR_MISSING_FIELD);
    /* EuiccPackageRequest without eimSignature */
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID "} 81{01} " PSMO_LIST "}}", &err),
                     RSP_ERR_MISSING_FIELD);
    /* GetEimPackageRequest without eidValue */
    assert_int_equal(decode_notation(&sgp32_get_eim_package_request_type, "BF4F{80{}}", &err),
                     RSP_ERR_MISSING_FIELD);
    /* CHOICE value with no alternative chosen cannot be encoded */
    sgp32_psmo empty = {0};
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp32_psmo_type, &empty, &w), RSP_ERR_MISSING_FIELD);
    der_writer_free(&w);
}

static void test_wrong_eid_size(void **state)
{
    (void)state;
    rsp_error err;
    assert_int_equal(decode_notation(&sgp32_get_eim_package_request_type,
                                     "BF4F{5A{890490321234512345123456789012}}", &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(err.tag, 0x5A);
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID "00} 81{01} " PSMO_LIST
                                     "} " SIGNATURE "}",
                                     &err),
                     RSP_ERR_BAD_VALUE);
    /* eimId is SIZE(1..128) */
    assert_int_equal(
        decode_notation(&sgp32_euicc_package_request_type,
                        "BF51{30{80{} 5A{" EID "} 81{01} " PSMO_LIST "} " SIGNATURE "}", &err),
        RSP_ERR_BAD_VALUE);
}

static void test_unknown_alternatives(void **state)
{
    (void)state;
    rsp_error err;
    /* [15] is no PSMO */
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID "} 81{01} A0{A3{5A{" ICCID
                                     "}} AF{}}} " SIGNATURE "}",
                                     &err),
                     RSP_ERR_UNEXPECTED_TAG);
    assert_int_equal(err.tag, 0xAF);
    /* [12] is no eCO */
    assert_int_equal(
        decode_notation(&sgp32_euicc_package_request_type,
                        "BF51{30{80{'eim'} 5A{" EID "} 81{01} A1{AC{}}} " SIGNATURE "}", &err),
        RSP_ERR_UNEXPECTED_TAG);
    assert_int_equal(err.tag, 0xAC);
    /* a bare SEQUENCE under BF51 is not one of the [0]/[1]/[2] result alternatives */
    assert_int_equal(
        decode_notation(&sgp32_euicc_package_result_type,
                        "BF51{30{30{80{'eim'} 81{01} 83{01} 30{83{00}}} " SIGNATURE "}}", &err),
        RSP_ERR_UNEXPECTED_TAG);
    /* an ESipa envelope with a tag no function has */
    assert_int_equal(decode_notation(&sgp32_esipa_message_from_ipa_to_eim_type, "BF60{}", &err),
                     RSP_ERR_UNEXPECTED_TAG);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    rsp_error err;
    assert_int_equal(decode_notation(&sgp32_eim_acknowledgements_type, "BF53{80{01}} 00", &err),
                     RSP_ERR_TRAILING);
    assert_int_equal(
        decode_notation(&sgp32_euicc_package_request_type, EUICC_PACKAGE_REQUEST " 9000", &err),
        RSP_ERR_TRAILING);
    /* two values inside an explicit CHOICE wrapper */
    assert_int_equal(decode_notation(&sgp32_euicc_package_result_type,
                                     "BF51{A2{80{'eim'}} A2{80{'eim'}}}", &err),
                     RSP_ERR_TRAILING);
}

static void test_counter_value_range(void **state)
{
    (void)state;
    rsp_error err;
    /* 2^64: nine content octets, beyond any INTEGER this implementation represents */
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID
                                     "} 81{010000000000000000} " PSMO_LIST "} " SIGNATURE "}",
                                     &err),
                     RSP_ERR_INTEGER_RANGE);
    assert_int_equal(err.tag, 0x81);
    /* the largest int64 is accepted and round-trips */
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID "} 81{7FFFFFFFFFFFFFFF} " PSMO_LIST
                                     "} " SIGNATURE "}",
                                     &err),
                     RSP_OK);
    /* non-minimal INTEGER encodings are not DER */
    assert_int_equal(decode_notation(&sgp32_euicc_package_request_type,
                                     "BF51{30{80{'eim'} 5A{" EID "} 81{0005} " PSMO_LIST
                                     "} " SIGNATURE "}",
                                     &err),
                     RSP_ERR_NON_MINIMAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_round_trip),
        cmocka_unit_test(test_every_message_has_a_vector),
        cmocka_unit_test(test_every_alternative_is_covered),
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_decoded_values),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_missing_field),
        cmocka_unit_test(test_wrong_eid_size),
        cmocka_unit_test(test_unknown_alternatives),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_counter_value_range),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
