/*
 * milter.h — tiketti as a Postfix milter.
 */
#ifndef TIKETTI_MILTER_H
#define TIKETTI_MILTER_H

/*
 * Runs the milter until SIGTERM: config is the file to (re)load (NULL:
 * built-in defaults), socket overrides milter_socket (unix:PATH or
 * inet:PORT@HOST), foreground keeps it attached and logging to stderr.
 * Returns an exit code.
 */
int milter_main(const char *config, int must_exist, const char *socket,
    int foreground);

#endif
