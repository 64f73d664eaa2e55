/* Profile binding (SGP.22 v2.5 sections 2.5 and 5.5): the StoreMetadata request of a profile
 * and the Bound Profile Package built from a profile package, the one-time keys and the
 * DPpb key, plus the split of a BPP into the pieces an LPA/IPA sends to the eUICC one
 * ES10b.LoadBoundProfilePackage at a time (section 2.5.5).
 *
 * Ownership: inputs are borrowed; output is appended to the caller's der_writer; split
 * pieces are views into the caller's BPP. */
#ifndef RSPKIT_SMDP_BINDING_H
#define RSPKIT_SMDP_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "crypto/kdf.h"
#include "crypto/key.h"
#include "smdp/download.h"

#define SMDP_EID_SIZE       16 /* EID as 16 bytes (32 BCD digits), the KDF's EID */
#define SMDP_BPP_PIECES_MAX 4096

/* SGP.22 v2.5 section 2.5.3 StoreMetadataRequest (BF25) for order: ICCID from the package
 * header, names, icon, class, PPRs, and notification configuration information sending
 * install/enable/disable/delete notifications to notification_address. */
rsp_status smdp_metadata_build(const smdp_order *order, const char *notification_address,
                               der_writer *out, rsp_error *err);

typedef struct {
    der_view transaction_id;
    const uint8_t *euicc_otpk; /* otPK.EUICC.ECKA, 65 bytes */
    const uint8_t *eid;        /* SMDP_EID_SIZE bytes */
    const rsp_private_key *dppb_key;
    der_view metadata; /* StoreMetadataRequest TLV (BF25) */
    der_view package;  /* unprotected profile package */
    /* ReplaceSessionKeys: when set the package is protected with these profile protection
     * keys (sent in A2) instead of the session keys. */
    const rsp_bsp_keys *ppk;
} smdp_binding_input;

/* SGP.22 v2.5 section 2.5.4: BoundProfilePackage (BF36) appended to bpp; a fresh
 * otPK/otSK.DP.ECKA pair on the curve of the DPpb key, session keys from ECKA + X9.63 KDF. */
rsp_status smdp_bind_profile_package(const smdp_binding_input *input, der_writer *bpp,
                                     rsp_error *err);
/* The same, and *kept receives what smdp_rebind_profile_package needs (input->ppk included). */
rsp_status smdp_bind_profile_package_kept(const smdp_binding_input *input, der_writer *bpp,
                                          smdp_binding_secrets *kept, rsp_error *err);
/* The BPP that smdp_bind_profile_package_kept made with kept, again byte for byte from the same
 * input (metadata and package; input->euicc_otpk, dppb_key and ppk are not used). */
rsp_status smdp_rebind_profile_package(const smdp_binding_input *input,
                                       const smdp_binding_secrets *kept, der_writer *bpp,
                                       rsp_error *err);

/* EID digits (32) to the 16 bytes the KDF takes. */
rsp_status smdp_eid_bytes(const char *eid, uint8_t out[SMDP_EID_SIZE], rsp_error *err);

/* SGP.22 v2.5 section 2.5.5: the pieces of a BPP in sending order: BF36 header followed by
 * InitialiseSecureChannelRequest; firstSequenceOf87 whole; sequenceOf88 header; each 88;
 * secondSequenceOf87 whole (if present); sequenceOf86 header; each 86. */
rsp_status smdp_bpp_split(der_view bpp, der_view *pieces, size_t cap, size_t *count,
                          rsp_error *err);

#endif
