/* pipeline/t2v.h additions for long shots, on the tiny real-layout model
 * (tests/golden/pipeline_t2v, lavapipe):
 *  - known_latents / known_frames (temporal inpainting): the pinned latent
 *    frames end exactly on the known latents, for each sampler, so the next
 *    window's first decoded frame is the previous window's last;
 *  - the sampler override changes the schedule; the progress callback reports
 *    every stage and step in order;
 *  - vkr_gpu_memory_reset_peak restarts the peaks. */
#include "check.h"
#include "gpu_test.h"

#include "pipeline/t2v.h"
#include "sched/noise.h"

#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/golden/pipeline_t2v"
#define NLAT (4 * 4 * 8 * 8) /* (1, 4, 4, 8, 8) */
#define HW (8 * 8)
#define FRAME_PX (64 * 64 * 3)

typedef struct {
    int calls, text, decode, done, steps, last_step, order_ok;
} trace;

static void on_progress(void *ctx, vkr_t2v_stage stage, int step, int n_steps)
{
    trace *t = ctx;
    t->calls++;
    switch (stage) {
    case VKR_T2V_STAGE_TEXT: t->order_ok &= t->calls == 1; t->text++; break;
    case VKR_T2V_STAGE_DENOISE:
        /* step 0 once before the loop, then 1, 2, ..., n_steps */
        t->order_ok &= t->text == 1 && step == t->steps + (t->last_step >= 0) && step <= n_steps;
        if (step > 0)
            t->steps++;
        t->last_step = step;
        break;
    case VKR_T2V_STAGE_DECODE: t->order_ok &= t->steps == n_steps; t->decode++; break;
    case VKR_T2V_STAGE_DONE: t->order_ok &= t->decode == 1; t->done++; break;
    }
}

static void test_continuation(vkr_gpu *gpu, vkr_t2v *p, vkr_sampler_kind kind)
{
    const char *name = vkr_sampler_kind_name(kind);
    vkr_sched_config sc;
    if (vkr_t2v_scheduler_for(p, kind, &sc)) {
        CHECK(0, "%s: scheduler: %s", name, vkr_last_error());
        return;
    }
    CHECK(sc.kind == kind, "%s: scheduler kind %d", name, (int)sc.kind);
    /* from_config: the file's betas carry over whatever the sampler. */
    CHECK_NEAR(sc.beta_start, 0.00085, 1e-12);
    CHECK_NEAR(sc.beta_end, 0.012, 1e-12);
    CHECK_EQ_INT(sc.beta_schedule, VKR_BETAS_SCALED_LINEAR);

    float *n0 = malloc(NLAT * sizeof(float)), *n1 = malloc(NLAT * sizeof(float)), *known = malloc(4 * HW * sizeof(float));
    vkr_t2v_output o0 = {0}, o1 = {0};
    if (!n0 || !n1 || !known)
        goto done;
    vkr_noise_normal(9, 0, 0, n0, NLAT);
    vkr_noise_normal(9, 1, 0, n1, NLAT);
    vkr_t2v_params prm = vkr_t2v_default_params();
    prm.prompt = "an otter on a plane using wifi";
    prm.negative_prompt = "blurry";
    prm.num_frames = 4, prm.height = 64, prm.width = 64, prm.num_inference_steps = 2;
    prm.latents = n0;
    prm.sched = &sc;
    trace tr = {.order_ok = 1, .last_step = -1};
    prm.progress = on_progress;
    prm.progress_ctx = &tr;
    int rc = vkr_t2v_run(gpu, p, &prm, &o0);
    CHECK(rc == VKR_OK, "%s window 0: %s", name, vkr_last_error());
    if (rc)
        goto done;
    CHECK(tr.order_ok && tr.text == 1 && tr.steps == 2 && tr.decode == 1 && tr.done == 1,
          "%s: progress trace text %d steps %d decode %d done %d order %d", name, tr.text, tr.steps, tr.decode,
          tr.done, tr.order_ok);
    /* The last latent frame of window 0 (C, F=4): frame 3 of every channel. */
    const float *x0 = o0.latents_after_step[o0.num_steps - 1];
    for (int c = 0; c < 4; c++)
        memcpy(known + c * HW, x0 + (c * 4 + 3) * HW, HW * sizeof(float));

    prm.latents = n1;
    prm.known_latents = known;
    prm.known_frames = 1;
    prm.final_latents_only = 1;
    prm.progress = NULL;
    rc = vkr_t2v_run(gpu, p, &prm, &o1);
    CHECK(rc == VKR_OK, "%s window 1: %s", name, vkr_last_error());
    if (rc)
        goto done;
    CHECK(o1.latents_after_step[0] == NULL && o1.latents_after_step[1] != NULL,
          "%s: final_latents_only kept intermediate latents", name);
    const float *x1 = o1.latents_after_step[o1.num_steps - 1];
    int pinned_bad = 0, free_same = 0;
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < HW; k++) {
            pinned_bad += x1[(c * 4 + 0) * HW + k] != known[c * HW + k];
            free_same += x1[(c * 4 + 1) * HW + k] == x0[(c * 4 + 1) * HW + k];
        }
    CHECK(pinned_bad == 0, "%s: %d pinned latents differ from the known ones", name, pinned_bad);
    CHECK(free_same < 4, "%s: %d free latents equal window 0's", name, free_same);
    /* The VAE decodes frame by frame: the seam frame is decoded identically. */
    double worst = 0;
    for (int k = 0; k < FRAME_PX; k++) {
        double e = fabs(o1.frames[k] - o0.frames[3 * FRAME_PX + k]);
        worst = e > worst ? e : worst;
    }
    CHECK(worst <= 1e-5, "%s: window 1 frame 0 vs window 0 frame 3: max |diff| %g", name, worst);
done:
    vkr_t2v_output_free(&o0);
    vkr_t2v_output_free(&o1);
    vkr_sched_config_free(&sc);
    free(n0), free(n1), free(known);
}

static void test_reset_peak(vkr_gpu *gpu)
{
    vkr_gpu_mem_stats st;
    const int64_t ne[VKR_DIMS] = {1, 1, 1, 1, 1 << 20};
    vkr_tensor t = {0};
    CHECK_EQ_INT(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &t), VKR_OK);
    vkr_tensor_free(gpu, &t);
    vkr_gpu_memory_stats(gpu, &st);
    CHECK(st.tensors_in_use_peak >= st.tensors_in_use + (4u << 20), "peak %llu does not include the 4 MiB tensor",
          (unsigned long long)st.tensors_in_use_peak);
    vkr_gpu_memory_reset_peak(gpu);
    vkr_gpu_memory_stats(gpu, &st);
    CHECK(st.tensors_in_use_peak == st.tensors_in_use && st.device_allocated_peak == st.device_allocated,
          "after reset: in use %llu peak %llu, allocated %llu peak %llu", (unsigned long long)st.tensors_in_use,
          (unsigned long long)st.tensors_in_use_peak, (unsigned long long)st.device_allocated,
          (unsigned long long)st.device_allocated_peak);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    vkr_t2v *p = NULL;
    int rc = vkr_t2v_load(gpu, GOLDEN_DIR, VKR_F32, &p);
    CHECK(rc == VKR_OK, "load: %s", vkr_last_error());
    if (!rc) {
        test_continuation(gpu, p, VKR_SAMPLER_DDIM);
        test_continuation(gpu, p, VKR_SAMPLER_EULER);
        test_continuation(gpu, p, VKR_SAMPLER_DPMPP_2M);
    }
    test_reset_peak(gpu);
    vkr_t2v_free(p);
    gt_close(gpu);
    return check_summary("test_t2v_continuation");
}
