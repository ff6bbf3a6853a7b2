/* lib/cli.c: small helpers of the command-line modes (see lib/cli.h). */
#include "lib/cli.h"

#include <stdarg.h>
#include <stdio.h>

void cli_fail(const char *service, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", service);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_given(const char *s)
{
	return s != NULL && s[0] != '\0';
}
