/* lib/err.h: error codes shared by every module. */
#ifndef ACRA_LIB_ERR_H
#define ACRA_LIB_ERR_H

/* Fallible functions return 0 (ACRA_OK) or one of these negative codes. */
enum acra_err {
	ACRA_OK = 0,
	ACRA_ENOMEM = -1,  /* allocation failed */
	ACRA_EINVAL = -2,  /* caller or user gave an invalid argument */
	ACRA_EPROTO = -3,  /* peer sent bytes that break the protocol or format */
	ACRA_ECRYPTO = -4, /* authentication or decryption failed */
	ACRA_ENOKEY = -5,  /* the key asked for does not exist */
	ACRA_EIO = -6,     /* I/O failed; errno has the detail */
	ACRA_EPERM = -7,   /* refused by policy (file permissions, poison record, firewall) */
	ACRA_EEXIST = -8,  /* the object already exists */
	ACRA_ERANGE = -9,  /* a value or length is out of its allowed range */
};

#define ACRA_MUSTCHECK __attribute__((warn_unused_result))

/* Short English text for an ACRA_E* code; never NULL. */
const char *acra_strerror(int rc);

#endif
