/* Minimal test harness: CHECK* macros count failures and keep going; the test
 * program ends with `return check_summary("name");` which prints
 * "name: N passed, N failed" and returns the exit status. */
#ifndef VKR_CHECK_H
#define VKR_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    CHECK((long long)(a) == (long long)(b), "%s = %lld, expected %s = %lld", #a, (long long)(a),    \
          #b, (long long)(b))

#define CHECK_EQ_STR(a, b)                                                                         \
    CHECK(((a) && (b) && strcmp((a), (b)) == 0) || ((a) == NULL && (b) == NULL),                   \
          "%s = \"%s\", expected \"%s\"", #a, (a) ? (a) : "(null)", (b) ? (b) : "(null)")

#define CHECK_NEAR(a, b, tol)                                                                      \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, expected %.9g (tol %g)", #a,       \
          (double)(a), (double)(b), (double)(tol))

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
