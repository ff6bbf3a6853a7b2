/* modes/modes.h: entry points of the modes; acra.c dispatches to them. */
#ifndef ACRA_MODES_MODES_H
#define ACRA_MODES_MODES_H

typedef int (*mode_main_fn)(int argc, char **argv);

/* Each returns the process exit status: 0 ok, 1 failure, 2 usage error. argv[0] is the
 * service name ("acra-server"), argv[1..] the flags. */
int addzone_main(int argc, char **argv);
int connector_main(int argc, char **argv);
int keymaker_main(int argc, char **argv);
int keys_main(int argc, char **argv);
int rotate_main(int argc, char **argv);
int poisonrecordmaker_main(int argc, char **argv);
int reader_main(int argc, char **argv);
int server_main(int argc, char **argv);
int translator_main(int argc, char **argv);
int writer_main(int argc, char **argv);

#endif
