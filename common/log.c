#include "log.h"

#include <stdio.h>

static int log_level = VKR_LOG_INFO;

void vkr_log_set_level(int level) { log_level = level; }
int vkr_log_level(void) { return log_level; }

static void vlog(int level, const char *prefix, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    fprintf(stderr, "vkreel: %s", prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

#define DEFINE_LOG(name, level, prefix)                                                            \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vlog(level, prefix, fmt, ap);                                                              \
        va_end(ap);                                                                                \
    }

DEFINE_LOG(vkr_warn, VKR_LOG_WARN, "warning: ")
DEFINE_LOG(vkr_info, VKR_LOG_INFO, "")
DEFINE_LOG(vkr_debug, VKR_LOG_DEBUG, "debug: ")
