/* lib/version.h: the product version, and the Acra version whose behaviour it follows. */
#ifndef ACRA_LIB_VERSION_H
#define ACRA_LIB_VERSION_H

#define ACRA_VERSION "0.1.0"
/* Config files written by Acra carry `version: X.Y.Z`; these are the releases we follow. */
#define ACRA_COMPAT_VERSION "0.96.0"

#endif
