/* Kernel benchmarks (`vkreel bench kernels`): each op family lists its cases at
 * the real-model shapes in gpu/bench_<family>.c as
 *
 *   const vkr_bench_case vkr_bench_cases_<family>[];
 *   const size_t vkr_bench_n_cases_<family>;
 *
 * and gpu/bench.c's family table points at the lists. The runner sets a case
 * up once, runs it once to warm up (pipeline creation, first touch), then
 * repeats it until at least `min_seconds` have passed and at least `min_runs`
 * runs were made (at most `max_runs`), and reports the median time of one run.
 * Each run is its own submission: the time is taken with GPU timestamps around
 * the recorded work when the device has them, else with the host clock around
 * submit + wait.
 *
 * Output rows (one JSON object per line with --json) have exactly the schema of
 * tools/bench_torch.py, so tools/bench_compare.py can join the two:
 *   {"op", "shape", "dtype", "impl", "threads", "ms", "gflops", "gbps"}
 * The op names and shape strings must match bench_torch.py's for the same
 * --quick setting (the shapes are duplicated there on purpose). */
#ifndef VKR_BENCH_H
#define VKR_BENCH_H

#include "common/dtype.h"
#include "gpu/gpu.h"
#include "gpu/tensor.h"

#include <stddef.h>
#include <stdio.h>

/* Real-model constants shared by the cases (Zeroscope 576x320 -> latent 72x40, 24 frames). */
#define VKR_BENCH_LAT_H 40
#define VKR_BENCH_LAT_W 72
#define VKR_BENCH_FRAMES 24
#define VKR_BENCH_TOKENS (VKR_BENCH_LAT_H * VKR_BENCH_LAT_W)

typedef struct {
    int quick;       /* --quick: frame/batch dims divided by 4, as bench_torch.py --quick */
    vkr_dtype dtype; /* storage dtype of activations and weights (--dtype) */
} vkr_bench_config;

/* What one case measures at a given config (no GPU needed: used by --list). */
typedef struct {
    char shape[128]; /* bench_torch.py's shape string */
    double flops;    /* per run; 0 = not a flop-bound op (gflops is null) */
    double bytes;    /* per run; 0 = gbps is null */
} vkr_bench_info;

typedef struct vkr_bench_case {
    const char *op; /* name, as bench_torch.py prints it ("gemm", ...) */
    void (*describe)(const vkr_bench_config *cfg, vkr_bench_info *info);
    /* Allocates and fills the inputs; *state is passed to run/teardown. */
    int (*setup)(vkr_gpu *gpu, const vkr_bench_config *cfg, void **state);
    /* Records the op(s) of one run (no submit: the runner does it). */
    int (*run)(vkr_gpu *gpu, void *state);
    /* Frees what setup allocated (also after a failed setup/run; state may be NULL). */
    void (*teardown)(vkr_gpu *gpu, void *state);
} vkr_bench_case;

typedef struct {
    int json;            /* JSON lines instead of a table */
    int quick;
    vkr_dtype dtype;     /* VKR_F32 (default) or VKR_F16 */
    const char *only;    /* comma-separated op names; NULL or "": all */
    double min_seconds;  /* 0: 1 s */
    int min_runs;        /* 0: 3 */
    int max_runs;        /* 0: 50 */
    int list;            /* print the cases (op, shape, GFLOP) and return, no GPU */
} vkr_bench_options;

/* One measurement. */
typedef struct {
    double ms;       /* median wall time of one run */
    int runs;
    int gpu_timed;   /* 1: GPU timestamps, 0: host clock */
} vkr_bench_result;

/* Runs one case (setup, warm-up, timed runs, teardown). */
/* Fills t with uniform values in [lo, hi) from a xorshift64 stream (seed != 0)
 * and waits for the upload. */
int vkr_bench_fill_uniform(vkr_gpu *gpu, const vkr_tensor *t, uint64_t seed, float lo, float hi);

int vkr_bench_run_case(vkr_gpu *gpu, const vkr_bench_case *c, const vkr_bench_config *cfg,
                       const vkr_bench_options *opt, vkr_bench_result *res);

/* Runs every selected case of every family, printing rows to `out`. gpu may be
 * NULL only with opt->list. An unknown name in opt->only is VKR_E_USAGE. */
int vkr_bench_kernels(vkr_gpu *gpu, const vkr_bench_options *opt, FILE *out);

/* Every family's cases, for the runner and for tests. */
typedef struct {
    const char *family;
    const vkr_bench_case *cases;
    const size_t *n_cases;
} vkr_bench_family;
extern const vkr_bench_family vkr_bench_families[];
extern const size_t vkr_bench_n_families;

/* The matmul family (gpu/bench_matmul.c). */
extern const vkr_bench_case vkr_bench_cases_matmul[];
extern const size_t vkr_bench_n_cases_matmul;
/* The normalisation family (gpu/bench_norm.c). */
extern const vkr_bench_case vkr_bench_cases_norm[];
extern const size_t vkr_bench_n_cases_norm;
/* The convolution family (gpu/bench_conv.c). */
extern const vkr_bench_case vkr_bench_cases_conv[];
extern const size_t vkr_bench_n_cases_conv;

extern const vkr_bench_case vkr_bench_cases_attention[];
extern const size_t vkr_bench_n_cases_attention;

#endif
