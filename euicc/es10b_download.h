/* The eUICC's download session (SGP.22 v2.5 section 3.1.3): what the ISD-R remembers on one
 * logical channel between GetEUICCChallenge, AuthenticateServer, PrepareDownload and the
 * LoadBoundProfilePackage segments. It lives in the per-channel session storage
 * (EUICC_SESSION_DOWNLOAD) and is dropped with the channel, on reset, or when a download
 * ends. Shared by es10b_download.c, bpp_loader.c and profile_install.c. */
#ifndef RSPKIT_EUICC_ES10B_DOWNLOAD_H
#define RSPKIT_EUICC_ES10B_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/sgp22.h"
#include "crypto/bsp.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "euicc/euicc.h"

#define EUICC_DOWNLOAD_CHALLENGE_SIZE 16
#define EUICC_DOWNLOAD_TID_MAX        16
#define EUICC_DOWNLOAD_ADDRESS_MAX    255
#define EUICC_DOWNLOAD_OID_MAX        32

typedef enum {
    EUICC_DOWNLOAD_CHALLENGED = 1, /* GetEUICCChallenge answered */
    EUICC_DOWNLOAD_AUTHENTICATED,  /* AuthenticateServer answered */
    EUICC_DOWNLOAD_PREPARED,       /* PrepareDownload answered: one-time key made */
    EUICC_DOWNLOAD_LOADING,        /* InitialiseSecureChannel verified, segments flowing */
} euicc_download_stage;

/* Which BPP piece the loader accepts next (SGP.22 v2.5 section 2.5.5 order). */
typedef enum {
    EUICC_BPP_EXPECT_CONFIGURE_ISDP = 0, /* A0 */
    EUICC_BPP_EXPECT_METADATA_HEADER,    /* A1 header */
    EUICC_BPP_EXPECT_METADATA_SEGMENT,   /* 88 */
    EUICC_BPP_EXPECT_KEYS_OR_PROFILE,    /* A2 whole or A3 header */
    EUICC_BPP_EXPECT_PROFILE_HEADER,     /* A3 header (after A2) */
    EUICC_BPP_EXPECT_PROFILE_SEGMENT,    /* 86 */
} euicc_bpp_expect;

typedef struct {
    euicc_download_stage stage;
    uint8_t euicc_challenge[EUICC_DOWNLOAD_CHALLENGE_SIZE];
    uint8_t transaction_id[EUICC_DOWNLOAD_TID_MAX];
    size_t transaction_id_len;
    uint8_t server_address[EUICC_DOWNLOAD_ADDRESS_MAX];
    size_t server_address_len;
    uint8_t server_challenge[EUICC_DOWNLOAD_CHALLENGE_SIZE];
    uint8_t smdp_oid[EUICC_DOWNLOAD_OID_MAX]; /* content octets, from CERT.DPauth */
    size_t smdp_oid_len;
    rsp_curve curve; /* curve of the agreed CI */
    der_view ci_id;  /* agreed CI key identifier (borrowed from the eUICC's list) */
    uint8_t euicc_signature1[RSP_EC_SIGNATURE_SIZE]; /* what smdpSignature2 also covers */
    rsp_public_key *dppb_key;                        /* PK.DPpb.ECDSA after PrepareDownload */
    rsp_private_key *otsk;                           /* otSK.EUICC.ECKA */
    uint8_t otpk[RSP_EC_POINT_SIZE];                 /* otPK.EUICC.ECKA */
    /* loading */
    euicc_bpp_expect expect;
    size_t sequence_remaining; /* bytes of the open A1 / A3 value still to come */
    rsp_bsp_session bsp;
    bool bsp_ready;
    der_writer metadata; /* StoreMetadataRequest, from the 88 segments */
    der_writer package;  /* unprotected profile package, from the 86 segments */
    bool has_iccid;      /* ICCID of the metadata, once verified */
    uint8_t iccid[10];
} euicc_download_session;

/* The channel's session, or NULL. */
euicc_download_session *euicc_download_session_get(euicc *e, unsigned channel);
/* Ends the channel's download session (frees keys and buffers). */
void euicc_download_session_end(euicc *e, unsigned channel);

/* CRLs stored by LoadCRL, loaded for certificate checks; release with
 * euicc_download_crls_free. */
rsp_status euicc_download_crls_load(const euicc *e, rsp_crl ***crls, size_t *count);
void euicc_download_crls_free(rsp_crl **crls, size_t count);

#endif
