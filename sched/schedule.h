/* Noise-schedule configuration and training-schedule tables (betas, alphas_cumprod),
 * reproducing diffusers 0.27.2 (DDIMScheduler, EulerDiscreteScheduler,
 * DPMSolverMultistepScheduler) bit for bit where diffusers is deterministic.
 *
 * A checkpoint's scheduler/scheduler_config.json names a class (`_class_name`) and
 * lists some of its constructor arguments. Keys that are absent take the class
 * defaults of diffusers 0.27.2. The user may pick another sampler for the same
 * checkpoint; then, exactly like diffusers' `OtherScheduler.from_config(config)`,
 * the keys present in the file are kept (betas, prediction type, steps_offset,
 * an explicit timestep_spacing, ...) and every absent key takes the *chosen*
 * class's default (so a sparse DDIM config used with Euler or DPM-Solver++ gets
 * timestep_spacing "linspace"). See docs/samplers.md. */
#ifndef VKR_SCHEDULE_H
#define VKR_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    VKR_SAMPLER_DDIM = 0,  /* DDIMScheduler, eta 0 */
    VKR_SAMPLER_EULER,     /* EulerDiscreteScheduler, s_churn 0 */
    VKR_SAMPLER_DPMPP_2M,  /* DPMSolverMultistepScheduler (solver_order 2, dpmsolver++ by default) */
    VKR_SAMPLER_COUNT
} vkr_sampler_kind;

typedef enum { VKR_BETAS_LINEAR = 0, VKR_BETAS_SCALED_LINEAR, VKR_BETAS_SQUAREDCOS_CAP_V2, VKR_BETAS_TRAINED } vkr_beta_schedule;
typedef enum { VKR_PRED_EPSILON = 0, VKR_PRED_V, VKR_PRED_SAMPLE } vkr_prediction_type;
typedef enum { VKR_SPACING_LEADING = 0, VKR_SPACING_LINSPACE, VKR_SPACING_TRAILING } vkr_timestep_spacing;
typedef enum { VKR_DPM_ALGO_DPMSOLVERPP = 0, VKR_DPM_ALGO_DPMSOLVER } vkr_dpm_algorithm;
typedef enum { VKR_DPM_SOLVER_MIDPOINT = 0, VKR_DPM_SOLVER_HEUN } vkr_dpm_solver_type;
typedef enum { VKR_FINAL_SIGMA_ZERO = 0, VKR_FINAL_SIGMA_MIN } vkr_final_sigmas_type;

/* Every field that one of the three classes reads. Fields a class does not have
 * are left at their defaults and ignored by that class's sampler. */
typedef struct {
    vkr_sampler_kind kind; /* the class whose defaults and step rule apply */

    /* shared by all three classes */
    int num_train_timesteps;            /* 1000 */
    double beta_start, beta_end;        /* 0.0001, 0.02 */
    vkr_beta_schedule beta_schedule;    /* linear */
    float *trained_betas;               /* owned; num_train_timesteps entries when beta_schedule == TRAINED */
    vkr_prediction_type prediction_type;/* epsilon */
    vkr_timestep_spacing timestep_spacing; /* DDIM leading; Euler, DPM linspace */
    int steps_offset;                   /* 0 */
    bool rescale_betas_zero_snr;        /* false */
    bool thresholding;                  /* false (dynamic thresholding: not supported, rejected) */

    /* DDIMScheduler */
    bool clip_sample;                   /* true */
    double clip_sample_range;           /* 1.0 */
    bool set_alpha_to_one;              /* true */

    /* EulerDiscreteScheduler */
    bool use_karras_sigmas;             /* false (Euler and DPM) */
    double sigma_min, sigma_max;        /* NAN = null (Euler karras only) */
    bool timestep_type_continuous;      /* "discrete" */

    /* DPMSolverMultistepScheduler */
    int solver_order;                   /* 2 (1..3 supported) */
    vkr_dpm_algorithm algorithm_type;   /* dpmsolver++ */
    vkr_dpm_solver_type solver_type;    /* midpoint */
    bool lower_order_final;             /* true */
    bool euler_at_final;                /* false */
    bool use_lu_lambdas;                /* false */
    vkr_final_sigmas_type final_sigmas_type; /* zero */
    double lambda_min_clipped;          /* -inf */
} vkr_sched_config;

/* The diffusers 0.27.2 constructor defaults of `kind`. Cannot fail. */
void vkr_sched_config_defaults(vkr_sched_config *c, vkr_sampler_kind kind);

/* Parses a scheduler_config.json text. `kind` < 0: the class named by
 * `_class_name` (DDIMScheduler when absent); otherwise that sampler, with the
 * from_config semantics described above. Accepts Python's JSON extensions
 * Infinity / -Infinity / NaN (diffusers writes `"lambda_min_clipped": -Infinity`).
 * Unknown keys are ignored; an unsupported value of a known key (thresholding,
 * learned variance, log_linear interpolation, ...) is VKR_E_DATA naming the key.
 * On failure *c holds nothing to free. */
int vkr_sched_config_parse(vkr_sched_config *c, const char *json, size_t len, int kind);
int vkr_sched_config_load(vkr_sched_config *c, const char *path, int kind);
void vkr_sched_config_free(vkr_sched_config *c);
/* Deep copy (trained_betas duplicated). */
int vkr_sched_config_copy(vkr_sched_config *dst, const vkr_sched_config *src);
/* The scheduler of sampler `kind` for a checkpoint whose scheduler_config.json
 * is `path` and parses to `own`: `own` copied when kind is its class, else the
 * file re-read as diffusers' OtherScheduler.from_config(config) builds it (the
 * keys the file has are kept, absent keys take the chosen class's defaults).
 * Free with vkr_sched_config_free. */
int vkr_sched_config_for_kind(const vkr_sched_config *own, const char *path, vkr_sampler_kind kind,
                              vkr_sched_config *out);

/* "ddim", "euler", "dpmpp_2m". */
const char *vkr_sampler_kind_name(vkr_sampler_kind k);
/* Accepts the short names above, "dpm++2m", "dpmpp2m", "dpm-solver++", and the
 * diffusers class names. VKR_E_USAGE for an unknown name. */
int vkr_sampler_kind_from_name(const char *name, vkr_sampler_kind *out);

/* betas and alphas_cumprod (num_train_timesteps floats each, caller-allocated),
 * computed as diffusers does in float32 torch ops on CPU: torch.linspace's
 * float32 kernel, alphas = 1 - betas in float32, cumprod accumulated in double
 * and stored as float32. Includes the rescale_betas_zero_snr transform and, for
 * Euler / DPM, its alphas_cumprod[-1] = 2^-24 clamp. */
int vkr_sched_alphas_cumprod(const vkr_sched_config *c, float *betas, float *alphas_cumprod);

/* torch.linspace(start, end, n, dtype=float32) on CPU (torch 1.13, AVX2 kernel),
 * exposed for tests. */
void vkr_torch_linspace_f32(double start, double end, int n, float *out);

#endif
