/* set_timesteps of the three diffusers 0.27.2 schedulers: the timestep and sigma
 * tables, plus init / scale_model_input. The step rules are in ddim.c, euler.c
 * and dpm_solver.c.
 *
 * numpy computes the timesteps in float64 (np.linspace, np.arange, .round() =
 * round-half-even) and np.interp maps them onto the float32 sigma table in
 * float64; the helpers below follow numpy 1.24's formulas exactly, because a
 * timestep that rounds differently is a different model input. */
#include "sched/sampler.h"

#include "common/status.h"
#include "sched/sampler_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/fp_strict.h"

/* np.linspace(start, stop, num) in float64 (numpy 1.24 function_base.py):
 * y[i] = i*step + start with step = (stop-start)/(num-1), y[-1] = stop. */
static void np_linspace(double start, double stop, int num, double *y)
{
    if (num <= 0)
        return;
    if (num == 1) {
        y[0] = start;
        return;
    }
    const int div = num - 1;
    const double delta = stop - start, step = delta / div;
    for (int i = 0; i < num; i++)
        y[i] = (step == 0 ? (double)i / div * delta : (double)i * step) + start;
    y[num - 1] = stop;
}

/* np.arange(start, stop, step) for a float step: length ceil((stop-start)/step);
 * element i is start + i*delta with delta = (start + step) - start (the DOUBLE
 * fill function). Returns the length (<= cap). */
static int np_arange(double start, double stop, double step, double *y, int cap)
{
    double len_d = ceil((stop - start) / step);
    int len = len_d > 0 ? (len_d > cap ? cap : (int)len_d) : 0;
    if (len >= 1)
        y[0] = start;
    if (len >= 2) {
        y[1] = start + step;
        const double delta = y[1] - y[0];
        for (int i = 2; i < len; i++)
            y[i] = start + i * delta;
    }
    return len;
}

/* np.interp(x, arange(len(fp)), fp) in float64 (numpy 1.24 compiled_base.c). */
static double np_interp_index(double x, const float *fp, int n)
{
    if (isnan(x))
        return x;
    if (x <= 0)
        return fp[0];
    if (x >= n - 1)
        return fp[n - 1];
    int j = (int)floor(x);
    if ((double)j == x)
        return fp[j];
    const double slope = ((double)fp[j + 1] - (double)fp[j]) / 1.0;
    double r = slope * (x - j) + fp[j];
    if (isnan(r)) {
        r = slope * (x - (j + 1)) + fp[j + 1];
        if (isnan(r) && fp[j] == fp[j + 1])
            r = fp[j];
    }
    return r;
}

/* EulerDiscreteScheduler._sigma_to_t (shared by DPM-Solver), float64 with the
 * float32 log_sigmas table: note (low - high) is a float32 subtraction. */
static double sigma_to_t(double sigma, const float *log_sigmas, int n)
{
    const double log_sigma = log(sigma > 1e-10 ? sigma : 1e-10);
    int low = 0;
    for (int j = 0; j < n; j++)
        if (log_sigma - (double)log_sigmas[j] >= 0)
            low = j; /* argmax of the cumsum of (dists >= 0): the last such j */
    if (low > n - 2)
        low = n - 2;
    const int high = low + 1;
    const float lo = log_sigmas[low], hi = log_sigmas[high];
    double w = ((double)lo - log_sigma) / (double)(lo - hi);
    w = w < 0 ? 0 : (w > 1 ? 1 : w);
    return (1 - w) * low + w * high;
}

/* _convert_to_karras: rho = 7 ramp between sigma_max and sigma_min (float64). */
static void karras_sigmas(double sigma_min, double sigma_max, int n, double *out)
{
    const double rho = 7.0;
    np_linspace(0, 1, n, out);
    const double min_inv_rho = pow(sigma_min, 1 / rho), max_inv_rho = pow(sigma_max, 1 / rho);
    for (int i = 0; i < n; i++)
        out[i] = pow(max_inv_rho + out[i] * (min_inv_rho - max_inv_rho), rho);
}

/* Timesteps of DDIMScheduler.set_timesteps (int64). */
static int ddim_timesteps(const vkr_sched_config *c, int N, double *ts, double *tmp, int *count)
{
    *count = N;
    const int T = c->num_train_timesteps;
    switch (c->timestep_spacing) {
    case VKR_SPACING_LINSPACE:
        np_linspace(0, T - 1, N, tmp);
        for (int i = 0; i < N; i++)
            ts[i] = nearbyint(tmp[N - 1 - i]);
        break;
    case VKR_SPACING_LEADING: {
        const int ratio = T / N;
        for (int i = 0; i < N; i++)
            ts[i] = (double)(N - 1 - i) * ratio + c->steps_offset;
        break;
    }
    case VKR_SPACING_TRAILING:
        *count = np_arange(T, 0, -((double)T / N), tmp, N + 1);
        for (int i = 0; i < *count; i++)
            ts[i] = nearbyint(tmp[i]) - 1;
        break;
    }
    return VKR_OK;
}

/* Timesteps (float32 values) and sigmas of EulerDiscreteScheduler.set_timesteps. */
static int euler_tables(vkr_sampler *s, const float *base_sigmas, double *tmp)
{
    const vkr_sched_config *c = &s->cfg;
    const int T = c->num_train_timesteps;
    int N = s->num_steps;
    double *ts = s->timesteps;
    switch (c->timestep_spacing) {
    case VKR_SPACING_LINSPACE: /* np.linspace(..., dtype=float32): float64, then cast */
        np_linspace(0, T - 1, N, tmp);
        for (int i = 0; i < N; i++)
            ts[i] = (float)tmp[N - 1 - i];
        break;
    case VKR_SPACING_LEADING: {
        const int ratio = T / N;
        for (int i = 0; i < N; i++)
            ts[i] = (float)((float)((double)(N - 1 - i) * ratio) + (float)c->steps_offset);
        break;
    }
    case VKR_SPACING_TRAILING:
        s->num_steps = N = np_arange(T, 0, -((double)T / N), tmp, N + 1);
        for (int i = 0; i < N; i++)
            ts[i] = (float)((float)nearbyint(tmp[i]) - 1.0f);
        break;
    }
    /* np.interp(timesteps, arange(T), sigmas) in float64 */
    for (int i = 0; i < N; i++)
        tmp[i] = np_interp_index(ts[i], base_sigmas, T);
    if (c->use_karras_sigmas) {
        /* the ramp has the requested count even where trailing spacing gave N+1 */
        const double smin = isnan(c->sigma_min) ? tmp[N - 1] : c->sigma_min;
        s->num_steps = N = s->num_inference_steps;
        const double smax = isnan(c->sigma_max) ? tmp[0] : c->sigma_max;
        float *log_sigmas = malloc((size_t)T * sizeof *log_sigmas);
        if (!log_sigmas)
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        for (int t = 0; t < T; t++)
            log_sigmas[t] = logf(base_sigmas[t]);
        karras_sigmas(smin, smax, N, tmp);
        for (int i = 0; i < N; i++)
            ts[i] = (float)sigma_to_t(tmp[i], log_sigmas, T);
        free(log_sigmas);
    }
    for (int i = 0; i < N; i++)
        s->sigmas[i] = (float)tmp[i];
    s->sigmas[N] = 0.0f;
    if (c->timestep_type_continuous && c->prediction_type == VKR_PRED_V)
        for (int i = 0; i < N; i++)
            ts[i] = 0.25f * logf(s->sigmas[i]);

    float max_sigma = 0;
    for (int i = 0; i <= N; i++)
        if (s->sigmas[i] > max_sigma)
            max_sigma = s->sigmas[i];
    s->init_noise_sigma = c->timestep_spacing == VKR_SPACING_LEADING ? sqrtf(max_sigma * max_sigma + 1.0f) : max_sigma;
    return VKR_OK;
}

/* Timesteps (int64) and sigmas of DPMSolverMultistepScheduler.set_timesteps. */
static int dpm_tables(vkr_sampler *s, const float *base_sigmas, double *tmp)
{
    const vkr_sched_config *c = &s->cfg;
    const int T = c->num_train_timesteps;
    int N = s->num_steps;
    double *ts = s->timesteps;
    float *log_sigmas = NULL;
    int rc = VKR_OK;

    /* lambda_t = log(sqrt(ac)) - log(sqrt(1 - ac)) (float32); timesteps whose
     * lambda falls below lambda_min_clipped are cut from the top. */
    int clipped = 0;
    if (!(isinf(c->lambda_min_clipped) && c->lambda_min_clipped < 0)) {
        for (int t = T - 1; t >= 0; t--) { /* searchsorted(flip(lambda_t), v), side left */
            const float ac = s->alphas_cumprod[t];
            const float lambda = logf(sqrtf(ac)) - logf(sqrtf(1.0f - ac));
            if ((double)lambda < c->lambda_min_clipped)
                clipped++;
            else
                break;
        }
    }
    const int last_timestep = T - clipped;

    switch (c->timestep_spacing) {
    case VKR_SPACING_LINSPACE:
        np_linspace(0, last_timestep - 1, N + 1, tmp);
        for (int i = 0; i < N; i++)
            ts[i] = nearbyint(tmp[N - i]);
        break;
    case VKR_SPACING_LEADING: {
        const int ratio = last_timestep / (N + 1);
        for (int i = 0; i < N; i++)
            ts[i] = (double)(N - i) * ratio + c->steps_offset;
        break;
    }
    case VKR_SPACING_TRAILING:
        /* fewer than N when lambda_min_clipped cut the schedule */
        s->num_steps = N = np_arange(last_timestep, 0, -((double)T / N), tmp, N + 1);
        if (N < 1)
            return vkr_fail(VKR_E_DATA, "no timesteps left above lambda_min_clipped");
        for (int i = 0; i < N; i++)
            ts[i] = nearbyint(tmp[i]) - 1;
        break;
    }

    if (c->use_karras_sigmas || c->use_lu_lambdas) {
        s->num_steps = N = s->num_inference_steps; /* the ramp has the requested count */
        log_sigmas = malloc((size_t)T * sizeof *log_sigmas);
        if (!log_sigmas)
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        for (int t = 0; t < T; t++)
            log_sigmas[t] = logf(base_sigmas[t]);
        if (c->use_karras_sigmas) {
            karras_sigmas(base_sigmas[0], base_sigmas[T - 1], N, tmp);
        } else { /* _convert_to_lu: uniform in log-SNR, rho = 1 */
            const double lmin = log_sigmas[0], lmax = log_sigmas[T - 1];
            np_linspace(0, 1, N, tmp);
            for (int i = 0; i < N; i++)
                tmp[i] = exp(lmax + tmp[i] * (lmin - lmax));
        }
        for (int i = 0; i < N; i++)
            ts[i] = nearbyint(sigma_to_t(tmp[i], log_sigmas, T));
        free(log_sigmas);
    } else {
        for (int i = 0; i < N; i++)
            tmp[i] = np_interp_index(ts[i], base_sigmas, T);
    }
    for (int i = 0; i < N; i++)
        s->sigmas[i] = (float)tmp[i];
    if (c->final_sigmas_type == VKR_FINAL_SIGMA_MIN)
        s->sigmas[N] = sqrtf((1.0f - s->alphas_cumprod[0]) / s->alphas_cumprod[0]);
    else
        s->sigmas[N] = 0.0f;
    s->init_noise_sigma = 1.0f;
    return rc;
}

int vkr_sampler_init(vkr_sampler *s, const vkr_sched_config *cfg, int num_steps)
{
    int rc;
    double *tmp = NULL;
    float *base_sigmas = NULL;
    memset(s, 0, sizeof *s);
    if ((rc = vkr_sched_config_copy(&s->cfg, cfg)))
        return rc;
    const int T = cfg->num_train_timesteps;
    if (num_steps < 1 || num_steps > T) {
        rc = vkr_fail(VKR_E_USAGE, "%d inference steps: must be in [1, %d]", num_steps, T);
        goto fail;
    }
    if (cfg->kind == VKR_SAMPLER_DPMPP_2M && cfg->use_karras_sigmas && cfg->use_lu_lambdas) {
        rc = vkr_fail(VKR_E_DATA, "scheduler config: use_karras_sigmas and use_lu_lambdas are exclusive");
        goto fail;
    }
    /* Room for one extra step: numpy's arange yields N+1 trailing timesteps for some
     * N (61, 103, 121, ...; the last one is -1), and diffusers runs them all. */
    s->num_steps = num_steps;
    s->num_inference_steps = num_steps;
    s->timesteps = calloc((size_t)num_steps + 1, sizeof *s->timesteps);
    s->betas = malloc((size_t)T * sizeof *s->betas);
    s->alphas_cumprod = malloc((size_t)T * sizeof *s->alphas_cumprod);
    base_sigmas = malloc((size_t)T * sizeof *base_sigmas);
    tmp = malloc((size_t)(num_steps + 2 > T ? num_steps + 2 : T) * sizeof *tmp);
    if (cfg->kind != VKR_SAMPLER_DDIM)
        s->sigmas = calloc((size_t)num_steps + 2, sizeof *s->sigmas);
    if (!s->timesteps || !s->betas || !s->alphas_cumprod || !base_sigmas || !tmp ||
        (cfg->kind != VKR_SAMPLER_DDIM && !s->sigmas)) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    if ((rc = vkr_sched_alphas_cumprod(&s->cfg, s->betas, s->alphas_cumprod)))
        goto fail;
    /* ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5 in float32 */
    for (int t = 0; t < T; t++)
        base_sigmas[t] = sqrtf((1.0f - s->alphas_cumprod[t]) / s->alphas_cumprod[t]);

    switch (cfg->kind) {
    case VKR_SAMPLER_DDIM:
        s->timesteps_are_integer = true;
        rc = ddim_timesteps(&s->cfg, num_steps, s->timesteps, tmp, &s->num_steps);
        s->init_noise_sigma = 1.0f;
        s->final_alpha_cumprod = cfg->set_alpha_to_one ? 1.0f : s->alphas_cumprod[0];
        break;
    case VKR_SAMPLER_EULER:
        s->timesteps_are_integer = false;
        rc = euler_tables(s, base_sigmas, tmp);
        break;
    case VKR_SAMPLER_DPMPP_2M:
        s->timesteps_are_integer = true;
        rc = dpm_tables(s, base_sigmas, tmp);
        break;
    default:
        rc = vkr_fail(VKR_E_INTERNAL, "sampler kind %d", (int)cfg->kind);
    }
    if (rc)
        goto fail;
    /* DDIM indexes alphas_cumprod with the timestep: -1 is diffusers' trailing quirk
     * (alphas_cumprod[-1]), anything else outside the table an IndexError there.
     * Euler and DPM-Solver go through np.interp, which clamps. */
    for (int i = 0; i < s->num_steps; i++)
        if (cfg->kind == VKR_SAMPLER_DDIM && (s->timesteps[i] < -1 || s->timesteps[i] > T - 1)) {
            rc = vkr_fail(VKR_E_DATA, "timestep %.0f outside [0, %d] (steps_offset %d, %d steps)", s->timesteps[i],
                          T - 1, cfg->steps_offset, num_steps);
            goto fail;
        }
    free(tmp);
    free(base_sigmas);
    return VKR_OK;
fail:
    free(tmp);
    free(base_sigmas);
    vkr_sampler_free(s);
    return rc;
}

void vkr_sampler_free(vkr_sampler *s)
{
    if (!s)
        return;
    vkr_sched_config_free(&s->cfg);
    free(s->timesteps);
    free(s->betas);
    free(s->alphas_cumprod);
    free(s->sigmas);
    for (int k = 0; k < 3; k++)
        free(s->model_outputs[k]);
    memset(s, 0, sizeof *s);
}

void vkr_sampler_reset(vkr_sampler *s)
{
    s->next_step = 0;
    s->lower_order_nums = 0;
    s->state_n = 0;
}

void vkr_sampler_init_latents(const vkr_sampler *s, const float *noise, float *x, size_t n)
{
    const float sigma = s->init_noise_sigma;
    for (size_t k = 0; k < n; k++)
        x[k] = noise[k] * sigma;
}

void vkr_sampler_scale_input(const vkr_sampler *s, int i, const float *x, float *out, size_t n)
{
    if (s->cfg.kind == VKR_SAMPLER_EULER && i >= 0 && i < s->num_steps) {
        const float sigma = s->sigmas[i];
        const float denom = sqrtf(sigma * sigma + 1.0f);
        for (size_t k = 0; k < n; k++)
            out[k] = x[k] / denom;
    } else if (out != x) {
        memmove(out, x, n * sizeof *out);
    }
}

int vkr_sampler_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0)
{
    if (i != s->next_step || i >= s->num_steps)
        return vkr_fail(VKR_E_INTERNAL, "sampler step %d out of order (expected %d of %d)", i, s->next_step,
                        s->num_steps);
    if (i == 0)
        s->state_n = n;
    else if (n != s->state_n)
        return vkr_fail(VKR_E_INTERNAL, "sampler step %d: %zu elements, previous steps had %zu", i, n, s->state_n);
    int rc;
    switch (s->cfg.kind) {
    case VKR_SAMPLER_DDIM:
        rc = vkr_ddim_step(s, i, model_output, x, n, pred_x0);
        break;
    case VKR_SAMPLER_EULER:
        rc = vkr_euler_step(s, i, model_output, x, n, pred_x0);
        break;
    case VKR_SAMPLER_DPMPP_2M:
        rc = vkr_dpm_solver_step(s, i, model_output, x, n, pred_x0);
        break;
    default:
        rc = vkr_fail(VKR_E_INTERNAL, "sampler kind %d", (int)s->cfg.kind);
    }
    if (rc == VKR_OK)
        s->next_step = i + 1;
    return rc;
}

const char *vkr_sampler_describe(const vkr_sampler *s, char *buf, size_t len)
{
    static const char *const spacing[] = {"leading", "linspace", "trailing"};
    static const char *const pred[] = {"epsilon", "v_prediction", "sample"};
    snprintf(buf, len, "%s, %d steps, %s spacing, %s, t %g..%g", vkr_sampler_kind_name(s->cfg.kind), s->num_steps,
             spacing[s->cfg.timestep_spacing], pred[s->cfg.prediction_type], s->num_steps ? s->timesteps[0] : 0.0,
             s->num_steps ? s->timesteps[s->num_steps - 1] : 0.0);
    return buf;
}
