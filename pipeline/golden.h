/* Golden-case runner: runs one component on the inputs of a golden case
 * directory (tests/golden/README.md, PIPELINES.md) and compares what it produces
 * with the case's expected outputs and tolerances.
 *
 * A case directory identifies itself (vkr_golden_case_open):
 *   - case.json "case": "unet3d", "clip_text_gelu", "schedulers/<variant>",
 *     "pipeline_t2v" (with "kind": "pipeline"), ...; "schedulers/..." selects the
 *     "schedulers" runner, any other name the runner of that name (else the
 *     directory name's, else for a pipeline case its "pipeline_class");
 *   - no case.json but expected.json: a tokenizer case, named after the
 *     directory ("tokenizer_clip", "tokenizer_roberta") or, for a renamed copy,
 *     after its vocabulary files.
 * Expected outputs are io.safetensors' out.* tensors, or the tensors a runner
 * derives from expected.json (tokenizer cases). Every expected output must be
 * produced; outputs a runner produces that the case lacks are not compared.
 *
 * Adding a runner: write `int run(const vkr_golden_case *c, vkr_golden_result *r)`
 * that reads what it needs from c (dir, json, io) and adds its outputs with
 * vkr_golden_add_f32 / vkr_golden_add_i64, then put its function in the table
 * of pipeline/golden_runners.c (one line; entries with run == NULL report
 * "not implemented in this build", exit 70). */
#ifndef VKR_GOLDEN_H
#define VKR_GOLDEN_H

#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define VKR_GOLDEN_NAME_MAX 128

typedef enum { VKR_GOLDEN_F32, VKR_GOLDEN_I64 } vkr_golden_dtype;

/* How an output is judged. exact: every element equal (integer outputs, token
 * ids, timesteps); otherwise max|got-ref| <= max_abs and ||got-ref||/||ref|| <= rel_l2. */
typedef struct {
    int exact;
    double max_abs, rel_l2;
} vkr_golden_tol;

/* A host tensor: f32 or i64, C-contiguous, with its shape. */
typedef struct {
    char name[VKR_GOLDEN_NAME_MAX]; /* "out.samples" */
    vkr_golden_dtype dtype;
    int ndim;
    int64_t shape[VKR_MAX_DIMS];
    int64_t numel;
    float *f32;   /* dtype F32 */
    int64_t *i64; /* dtype I64 */
    /* A runner may fix the tolerance of an output the case states only in prose
     * (scheduler tables "to ~1e-6 relative", Euler's float timesteps "exactly"). */
    int has_tol;
    vkr_golden_tol tol;
} vkr_golden_tensor;

typedef struct {
    vkr_golden_tensor *v;
    int n, cap;
} vkr_golden_tensors;

/* The result of comparing one output. */
typedef struct {
    int shape_ok, dtype_ok;
    int64_t numel;
    double max_abs;      /* max |got - ref| (+inf when got has NaN/Inf) */
    int64_t worst_index; /* flat index of max_abs, -1 when numel == 0 */
    double worst_got, worst_ref;
    double rel_l2;       /* ||got - ref||2 / ||ref||2 (||got - ref||2 when ref == 0) */
    int64_t n_nonfinite; /* NaN / Inf elements in got */
    int64_t n_ref_nonfinite;
    int64_t n_mismatch;  /* elements that differ at all */
    int pass;
} vkr_golden_cmp;

/* Compares got with ref under tol. Shapes must match exactly (dimension by
 * dimension) and dtypes too; got must be finite everywhere; ref must be finite
 * (a non-finite reference fails). Pure function, no allocation. */
void vkr_golden_compare(const vkr_golden_tensor *got, const vkr_golden_tensor *ref, const vkr_golden_tol *tol,
                        vkr_golden_cmp *out);

typedef struct vkr_golden_case {
    char dir[4096];
    char name[256];   /* case identity: case.json "case", else the directory name */
    char runner[256];  /* registry key chosen from the identity */
    cJSON *json;      /* case.json, NULL for tokenizer cases */
    cJSON *expected;  /* expected.json (tokenizer cases), else NULL */
    vkr_safetensors io;
    int has_io;
    const char *device; /* --device SPEC for runners that use the GPU; may be NULL */
} vkr_golden_case;

/* One output line of a report. */
typedef struct {
    char name[VKR_GOLDEN_NAME_MAX];
    int produced;        /* 0: the runner did not produce an expected output */
    int ndim, ref_ndim;
    int64_t shape[VKR_MAX_DIMS], ref_shape[VKR_MAX_DIMS];
    vkr_golden_dtype dtype, ref_dtype;
    vkr_golden_tol tol;
    vkr_golden_cmp cmp;
    int pass;
} vkr_golden_line;

typedef struct {
    vkr_golden_tensors got;  /* filled by the runner */
    vkr_golden_tensors want; /* tokenizer runners: expected tensors derived from expected.json */
    char note[256];          /* optional runner note for the report ("timesteps via ...") */
} vkr_golden_result;

typedef int (*vkr_golden_run_fn)(const vkr_golden_case *c, vkr_golden_result *r);

typedef struct {
    const char *name;    /* registry key: "schedulers", "tokenizer_clip", "unet3d", ... */
    const char *summary; /* what it runs */
    vkr_golden_run_fn run; /* NULL: not implemented in this build */
} vkr_golden_runner;

/* The registry (pipeline/golden_runners.c). */
const vkr_golden_runner *vkr_golden_runners(int *count);
const vkr_golden_runner *vkr_golden_find_runner(const char *name);

typedef struct {
    char case_name[256];
    char runner[256];
    char dir[4096];
    char note[256];
    vkr_golden_line *lines;
    int n_lines;
    int status; /* 0 pass, VKR_E_DATA fail/malformed, VKR_E_NOINPUT missing, VKR_E_INTERNAL not implemented */
    char error[512]; /* why, when the case did not run to a comparison */
} vkr_golden_report;

/* Opens a case directory: identity, case.json / expected.json, io.safetensors.
 * VKR_E_NOINPUT when the directory or its files are missing, VKR_E_DATA when
 * malformed or of no known kind. */
int vkr_golden_case_open(vkr_golden_case *c, const char *dir);
void vkr_golden_case_close(vkr_golden_case *c);

/* Tolerance of output `name` ("out.x") from case.json "tolerance": a number
 * applies to every output, an object maps "x" to its bound; 0 means exact.
 * VKR_E_DATA when the case states none for it. */
int vkr_golden_case_tol(const vkr_golden_case *c, const char *name, vkr_golden_tol *tol);

/* Runs the case in `dir` and fills rep (free with vkr_golden_report_free).
 * Returns rep->status; every outcome is described in rep (error for cases that
 * could not be compared). */
int vkr_golden_run(const char *dir, const char *device, vkr_golden_report *rep);
void vkr_golden_report_free(vkr_golden_report *rep);

/* Result building (runners). Copies shape; the data pointer is taken over
 * (freed with the result, also on failure). */
int vkr_golden_add_f32(vkr_golden_tensors *ts, const char *name, int ndim, const int64_t *shape, float *data);
int vkr_golden_add_i64(vkr_golden_tensors *ts, const char *name, int ndim, const int64_t *shape, int64_t *data);
vkr_golden_tensor *vkr_golden_find(const vkr_golden_tensors *ts, const char *name);
void vkr_golden_tensors_free(vkr_golden_tensors *ts);

/* Loads tensor `name` of a safetensors file as a vkr_golden_tensor (F32 or I64). */
int vkr_golden_load_st(const vkr_safetensors *st, const char *name, vkr_golden_tensor *out);

/* Runners (pipeline/golden_sched.c, pipeline/golden_tokenizers.c). */
int vkr_golden_run_schedulers(const vkr_golden_case *c, vkr_golden_result *r);
int vkr_golden_run_tokenizer_clip(const vkr_golden_case *c, vkr_golden_result *r);
int vkr_golden_run_tokenizer_roberta(const vkr_golden_case *c, vkr_golden_result *r);
int vkr_golden_run_unet3d(const vkr_golden_case *c, vkr_golden_result *r); /* pipeline/golden_unet3d.c */
int vkr_golden_run_pipeline_t2v(const vkr_golden_case *c, vkr_golden_result *r); /* pipeline/golden_t2v.c */

/* The scheduler cases' fake model (case.json "fake_model"):
 * model_output = x_in * float32(0.1) + float32(0.5 * sin(double(t) / 100)),
 * two float32 roundings as torch computes it. */
void vkr_golden_fake_model(const float *x_in, double t, float *out, size_t n);

#endif
