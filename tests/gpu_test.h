/* GPU kernel test harness (checkasm / test-backend-ops style), on top of
 * tests/check.h. A kernel test:
 *
 *   vkr_gpu *gpu = gt_open(NULL);               // validation on; no device = FAIL
 *   gt_rand(x, n, -4, 4, &seed);                // fixed-seed inputs
 *   gt_round(x, n, VKR_F16);                    // what the device will store
 *   ... upload, record op, download into got; run the reference into want ...
 *   gt_compare("silu f16", VKR_F16, got, want, ne, NULL);  // NULL: default tolerance
 *   gt_close(gpu);                              // fails the test on validation messages
 *   return check_summary("test_gpu_x");
 *
 * Tolerances (gt_default_tol), for one rounding of the output to its storage
 * type after an f32 computation (ops with reductions pass their own):
 *   F32:  |got - want| <= 1e-5 + 1e-5 |want|, normalised MSE <= 1e-10
 *   F16:  |got - want| <= 1e-4 + 2e-3 |want|, normalised MSE <= 1e-6
 *   BF16: |got - want| <= 1e-3 + 1e-2 |want|, normalised MSE <= 5e-5
 * (f16/bf16 allow one ulp: some GPUs convert f32 -> f16 with round-to-zero.)
 * Normalised MSE = sum (got - want)^2 / (sum want^2 + n atol^2). Any NaN/Inf in `got` where
 * `want` is finite fails. A failure prints the tensor name, the 5-D index of
 * the worst element, expected and got. */
#ifndef VKR_GPU_TEST_H
#define VKR_GPU_TEST_H

#include "check.h"

#include "common/dtype.h"
#include "common/status.h"
#include "gpu/gpu.h"
#include "gpu/tensor.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    double atol, rtol, nmse;
} gt_tol;

static inline gt_tol gt_default_tol(vkr_dtype t)
{
    switch (t) {
    case VKR_F16:  return (gt_tol){1e-4, 2e-3, 1e-6};
    case VKR_BF16: return (gt_tol){1e-3, 1e-2, 5e-5};
    default:       return (gt_tol){1e-5, 1e-5, 1e-10};
    }
}

/* Creates a context with validation on (unless VKREEL_VALIDATE is set
 * otherwise). No device: the test FAILS (exit 1), unless VKREEL_ALLOW_NO_GPU=1
 * (then it exits 0 saying it skipped). */
static inline vkr_gpu *gt_open(const vkr_gpu_options *opt)
{
    setenv("VKREEL_VALIDATE", "1", 0);
    vkr_gpu *gpu = NULL;
    int rc = vkr_gpu_create(opt, &gpu);
    if (rc) {
        const char *allow = getenv("VKREEL_ALLOW_NO_GPU");
        if (allow && allow[0] == '1') {
            printf("SKIPPED: no Vulkan device (%s) and VKREEL_ALLOW_NO_GPU=1\n", vkr_last_error());
            exit(0);
        }
        fprintf(stderr, "FAIL: cannot create a Vulkan context: %s (status %d); set VKREEL_ALLOW_NO_GPU=1 "
                        "to skip GPU tests on machines without Vulkan\n", vkr_last_error(), rc);
        exit(1);
    }
    return gpu;
}

/* Checks that no validation message was emitted and destroys the context. */
static inline void gt_close(vkr_gpu *gpu)
{
    const char *last = NULL;
    unsigned n = vkr_gpu_validation_count(gpu, &last);
    CHECK(n == 0, "%u Vulkan validation message(s); last: %s", n, last ? last : "");
    vkr_gpu_destroy(gpu);
}

/* splitmix64: fixed-seed inputs, identical on every platform. */
static inline uint64_t gt_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void gt_rand(float *x, size_t n, float lo, float hi, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((gt_next(seed) >> 40) * (1.0 / 16777216.0));
}

/* Rounds values to what storage dtype t can hold (so reference and device see
 * identical inputs). */
static inline void gt_round(float *x, size_t n, vkr_dtype t)
{
    for (size_t i = 0; i < n; i++) {
        if (t == VKR_F16)
            x[i] = vkr_f16_to_f32(vkr_f32_to_f16(x[i]));
        else if (t == VKR_BF16)
            x[i] = vkr_bf16_to_f32(vkr_f32_to_bf16(x[i]));
    }
}

/* Compares got[] with want[] (nelem = product of ne, W fastest). Returns 1 if
 * within tolerance; otherwise prints the details, counts a failed check and
 * returns 0. tol NULL: gt_default_tol(dtype). */
static inline int gt_compare(const char *what, vkr_dtype dtype, const float *got, const float *want,
                             const int64_t ne[5], const gt_tol *tol)
{
    gt_tol t = tol ? *tol : gt_default_tol(dtype);
    size_t n = 1;
    for (int d = 0; d < 5; d++)
        n *= (size_t)ne[d];
    double err2 = 0, ref2 = 0, worst = -1, max_abs = 0;
    size_t worst_i = 0, n_bad = 0;
    int nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], e = fabs(g - w);
        if (!isfinite(g) && isfinite(w)) {
            e = INFINITY;
            nonfinite = 1;
        } else if (!isfinite(w)) {
            e = (isnan(w) && isnan(g)) || g == w ? 0 : INFINITY;
        } else {
            err2 += e * e;
            ref2 += w * w;
        }
        if (e > max_abs)
            max_abs = e;
        double excess = e - (t.atol + t.rtol * fabs(w));
        if (excess > 0) {
            n_bad++;
            if (excess > worst) {
                worst = excess;
                worst_i = i;
            }
        }
    }
    /* atol^2 per element in the denominator: tensors of near-zero values
     * (e.g. one f16 subnormal) are judged by the absolute tolerance alone. */
    double nmse = err2 / (ref2 + (double)n * t.atol * t.atol);
    int ok = n_bad == 0 && nmse <= t.nmse && !nonfinite;
    if (ok) {
        check_passed++;
        return 1;
    }
    check_failed++;
    size_t r = worst_i;
    int64_t idx[5];
    for (int d = 4; d >= 0; d--) {
        idx[d] = (int64_t)(r % (size_t)ne[d]);
        r /= (size_t)ne[d];
    }
    fprintf(stderr,
            "FAIL %s (%s, shape %lldx%lldx%lldx%lldx%lld): %zu element(s) out of tolerance%s; nmse %.3g "
            "(tol %.3g), max abs err %.3g\n  worst at [%lld,%lld,%lld,%lld,%lld] (flat %zu): expected %.9g, "
            "got %.9g\n",
            what, vkr_dtype_name(dtype), (long long)ne[0], (long long)ne[1], (long long)ne[2], (long long)ne[3],
            (long long)ne[4], n_bad, nonfinite ? ", NaN/Inf present" : "", nmse, t.nmse, max_abs,
            (long long)idx[0], (long long)idx[1], (long long)idx[2], (long long)idx[3], (long long)idx[4], worst_i,
            (double)want[worst_i], (double)got[worst_i]);
    return 0;
}

static inline size_t gt_nelem(const int64_t ne[5])
{
    size_t n = 1;
    for (int d = 0; d < 5; d++)
        n *= (size_t)ne[d];
    return n;
}

/* CHECK a status code; prints vkr_last_error() on failure. */
#define GT_OK(expr)                                                                                \
    do {                                                                                           \
        int gt_rc_ = (expr);                                                                       \
        CHECK(gt_rc_ == 0, "%s -> %d: %s", #expr, gt_rc_, vkr_last_error());                       \
    } while (0)

#endif
