#include "status.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[4096];

int vkr_failv(int code, const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    return code;
}

int vkr_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vkr_failv(code, fmt, ap);
    va_end(ap);
    return code;
}

int vkr_fail_context(int code, const char *fmt, ...)
{
    char prev[sizeof last_error];
    memcpy(prev, last_error, sizeof prev);
    char ctx[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    /* Truncating an over-long message is intended; using the result keeps
     * GCC's -Wformat-truncation quiet. */
    int n;
    if (prev[0])
        n = snprintf(last_error, sizeof last_error, "%s: %s", ctx, prev);
    else
        n = snprintf(last_error, sizeof last_error, "%s", ctx);
    (void)n;
    return code;
}

const char *vkr_last_error(void) { return last_error; }
void vkr_clear_error(void) { last_error[0] = 0; }

const char *vkr_status_name(int code)
{
    switch (code) {
    case VKR_OK:           return "ok";
    case VKR_E_USAGE:      return "usage error";
    case VKR_E_DATA:       return "invalid data";
    case VKR_E_NOINPUT:    return "missing input";
    case VKR_E_INTERNAL:   return "internal error";
    case VKR_E_CANTCREATE: return "cannot create output";
    case VKR_E_TEMPFAIL:   return "temporary failure";
    default:               return "error";
    }
}
