/* vkreel status codes and the last-error message.
 *
 * Every fallible function returns one of these codes (0 = success). They double
 * as the CLI's exit codes (sysexits.h values), so an error travels unchanged from
 * the place it is detected to the process exit status. The human-readable reason
 * is kept in a thread-local buffer set by vkr_fail(); library code never prints
 * errors itself and never calls exit(). */
#ifndef VKR_STATUS_H
#define VKR_STATUS_H

#include <stdarg.h>

enum {
    VKR_OK           = 0,
    VKR_E_USAGE      = 64, /* bad command line */
    VKR_E_DATA       = 65, /* invalid storyboard, checkpoint or media */
    VKR_E_NOINPUT    = 66, /* missing input file or model */
    VKR_E_INTERNAL   = 70, /* a bug: an invariant did not hold */
    VKR_E_CANTCREATE = 73, /* cannot create an output file */
    VKR_E_TEMPFAIL   = 75, /* out of device memory, device lost, no device: retry later */
};

#if defined(__GNUC__)
#define VKR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VKR_PRINTF(a, b)
#endif

/* Record a message for `code` and return `code`, so callers can write
 * `return vkr_fail(VKR_E_DATA, "%s: bad header", path);`. */
int vkr_fail(int code, const char *fmt, ...) VKR_PRINTF(2, 3);
int vkr_failv(int code, const char *fmt, va_list ap);

/* Prefix the current message with more context: "context: previous message". */
int vkr_fail_context(int code, const char *fmt, ...) VKR_PRINTF(2, 3);

/* The message of the most recent vkr_fail() on this thread ("" if none). */
const char *vkr_last_error(void);
void vkr_clear_error(void);

/* Short name of a status code ("invalid data", ...). */
const char *vkr_status_name(int code);

#endif
