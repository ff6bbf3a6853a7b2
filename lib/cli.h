/* lib/cli.h: small helpers of the command-line modes (keys, reader, writer, rotate). */
#ifndef ACRA_LIB_CLI_H
#define ACRA_LIB_CLI_H

#include <stdbool.h>

/* One error line on stderr: "<service>: <message>". */
void cli_fail(const char *service, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A string option that was given a non-empty value. */
bool cli_given(const char *s);

#endif
