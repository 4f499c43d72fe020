/* Progress and diagnostic messages to stderr. Library code uses these for
 * information and warnings only; errors travel as status codes (status.h). */
#ifndef VKR_LOG_H
#define VKR_LOG_H

#include "status.h"

enum { VKR_LOG_QUIET = 0, VKR_LOG_WARN = 1, VKR_LOG_INFO = 2, VKR_LOG_DEBUG = 3 };

void vkr_log_set_level(int level);
int vkr_log_level(void);
void vkr_warn(const char *fmt, ...) VKR_PRINTF(1, 2);
void vkr_info(const char *fmt, ...) VKR_PRINTF(1, 2);
void vkr_debug(const char *fmt, ...) VKR_PRINTF(1, 2);

#endif
