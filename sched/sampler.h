/* Diffusion samplers on host float arrays: DDIM (eta 0), Euler (EulerDiscrete,
 * s_churn 0) and DPM-Solver++ 2M (DPMSolverMultistep), reproducing diffusers
 * 0.27.2's set_timesteps / scale_model_input / step.
 *
 * Latents are small, so the model output is downloaded from the GPU and the step
 * runs here in plain C, where it is exact and testable. The step arithmetic is
 * float32, one rounding per torch op in diffusers' order; the timestep and sigma
 * tables are built in float64 where diffusers uses numpy float64 (np.linspace,
 * np.arange, np.interp) and in float32 where it uses torch float32.
 *
 * Usage (the diffusers pipeline loop):
 *     vkr_sampler s;
 *     vkr_sampler_init(&s, &cfg, steps);          // set_timesteps(steps)
 *     vkr_sampler_init_latents(&s, noise, x, n);   // x = noise * init_noise_sigma
 *     for (int i = 0; i < s.num_steps; i++) {
 *         vkr_sampler_scale_input(&s, i, x, x_in, n);
 *         model(x_in, s.timesteps[i]) -> eps       // (after classifier-free guidance)
 *         vkr_sampler_step(&s, i, eps, x, n, NULL);
 *     }
 *     vkr_sampler_free(&s);
 * Steps must be taken in order 0..num_steps-1 (DPM-Solver keeps the previous
 * model outputs); one sampler instance follows one latent tensor of n floats. */
#ifndef VKR_SAMPLER_H
#define VKR_SAMPLER_H

#include "sched/schedule.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    vkr_sched_config cfg; /* owned copy */
    int num_steps;           /* model evaluations: the number of timesteps, normally the
                              * requested count (see vkr_sampler_init for the exceptions) */
    int num_inference_steps; /* the requested count (DDIM's step size is T / this) */

    /* The value passed to the model as `timestep` at step i. DDIM and DPM-Solver
     * timesteps are integers (diffusers int64); Euler's are float32 values
     * (possibly fractional). Both are exact in a double. */
    double *timesteps;
    bool timesteps_are_integer;

    float *betas;          /* num_train_timesteps */
    float *alphas_cumprod; /* num_train_timesteps */
    float *sigmas;         /* Euler / DPM: num_steps + 1 entries (the last 0 or sigma_min), float32 as
                            * diffusers stores them; DDIM: NULL */
    float init_noise_sigma;
    float final_alpha_cumprod; /* DDIM */

    /* step state */
    int next_step;
    size_t state_n;
    float *model_outputs[3]; /* DPM: converted outputs of the last solver_order steps, newest last */
    int lower_order_nums;
} vkr_sampler;

/* Builds the timestep and sigma tables for `num_steps` inference steps
 * (1 <= num_steps <= num_train_timesteps), as diffusers' set_timesteps(num_steps).
 * Like diffusers, s->num_steps can differ from the request: trailing spacing
 * gives N+1 timesteps (the last -1) for the N where np.arange overshoots
 * (61, 103, 121, ...), and a finite lambda_min_clipped can leave fewer. Loop
 * over s->num_steps. */
int vkr_sampler_init(vkr_sampler *s, const vkr_sched_config *cfg, int num_steps);
void vkr_sampler_free(vkr_sampler *s);

/* Forgets the step history so the same tables serve another trajectory (the
 * next shot) from step 0. */
void vkr_sampler_reset(vkr_sampler *s);

/* x = noise * init_noise_sigma (float32). x may alias noise. */
void vkr_sampler_init_latents(const vkr_sampler *s, const float *noise, float *x, size_t n);

/* scale_model_input: out = x / sqrt(sigma_i^2 + 1) for Euler, a copy otherwise.
 * out may alias x. */
void vkr_sampler_scale_input(const vkr_sampler *s, int i, const float *x, float *out, size_t n);

/* One step: x (the sample at timesteps[i]) becomes prev_sample. model_output is
 * the (guided) model prediction of the configured prediction_type. When
 * pred_x0 is not NULL it receives the predicted original sample (DDIM, Euler
 * and DPM-Solver++; for DPM-Solver it is the data prediction derived from the
 * noise prediction). i must be the next step; n must not change. */
int vkr_sampler_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0);

/* A one-line summary, e.g. "euler, 25 steps, linspace, epsilon, t 999..0". */
const char *vkr_sampler_describe(const vkr_sampler *s, char *buf, size_t len);

#endif
