/* lib/err.c: text for error codes. */
#include "lib/err.h"

const char *acra_strerror(int rc)
{
	switch (rc) {
	case ACRA_OK:
		return "success";
	case ACRA_ENOMEM:
		return "out of memory";
	case ACRA_EINVAL:
		return "invalid argument";
	case ACRA_EPROTO:
		return "malformed input";
	case ACRA_ECRYPTO:
		return "decryption or authentication failed";
	case ACRA_ENOKEY:
		return "key not found";
	case ACRA_EIO:
		return "input/output error";
	case ACRA_EPERM:
		return "not permitted";
	case ACRA_EEXIST:
		return "already exists";
	case ACRA_ERANGE:
		return "value out of range";
	}
	return "unknown error";
}
