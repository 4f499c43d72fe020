/* CLIPTextModel vs the transformers golden cases (tests/golden/clip_text_gelu,
 * clip_text_quickgelu) and the ModelScope-layout text_encoder/ of
 * pipeline_t2v: every output within case.json's recommended tolerances in f32
 * storage; one f16 run against a looser bound (F16_* below). Also the pooling
 * rule, config defaults and the loader's missing / unexpected tensor errors. */
#include "text_golden.h"

#include "text/clip_text.h"

#include <stdlib.h>
#include <unistd.h>

#define GOLDEN VKR_SOURCE_DIR "/tests/golden/"

/* f16 storage of weights and activations (f32 accumulation): each of the
 * ~12 roundings per layer adds ~2^-11 relative error to O(1) activations.
 * Measured on lavapipe (clip_text_gelu): max_abs 4.5e-3, rel_l2 7.9e-4; the
 * bound is ~5x that (docs/text_encoders.md). */
#define F16_MAX_ABS 2e-2
#define F16_REL_L2 4e-3

static void compare_outputs(vkr_gpu *gpu, const char *label, const vkr_clip_text_output *o, const vkr_safetensors *io,
                            const cJSON *cj, vkr_dtype dtype)
{
    char name[64], key[64];
    int f16 = dtype != VKR_F32;
#define TOL_ABS(k) (f16 ? F16_MAX_ABS : tg_tol(cj, "recommended_max_abs", k))
#define TOL_REL(k) (f16 ? F16_REL_L2 : tg_tol(cj, "recommended_rel_l2", k))
    tg_compare(gpu, label, &o->last_hidden_state, io, "out.last_hidden_state", TOL_ABS("last_hidden_state"),
               TOL_REL("last_hidden_state"));
    tg_compare(gpu, label, &o->pooler_output, io, "out.pooler_output", TOL_ABS("pooler_output"),
               TOL_REL("pooler_output"));
    int n_ref = 0;
    for (int j = 0; j < 64; j++) {
        snprintf(name, sizeof name, "out.hidden_states.%d", j);
        if (vkr_st_find(io, name))
            n_ref = j + 1;
    }
    CHECK_EQ_INT(o->n_hidden_states, n_ref);
    for (int j = 0; j < n_ref && j < o->n_hidden_states; j++) {
        snprintf(name, sizeof name, "out.hidden_states.%d", j);
        snprintf(key, sizeof key, "hidden_states.%d", j);
        tg_compare(gpu, label, &o->hidden_states[j], io, name, TOL_ABS(key), TOL_REL(key));
    }
#undef TOL_ABS
#undef TOL_REL
}

static void run_case(vkr_gpu *gpu, const char *case_name, vkr_dtype dtype)
{
    char path[512], label[96];
    vkr_config cfg = {0};
    vkr_clip_text_config c;
    vkr_weights *w = NULL;
    vkr_safetensors io = {0};
    vkr_clip_text m = {0};
    vkr_clip_text_output o = {0};
    int64_t *ids = NULL, shape[2] = {0, 0};
    cJSON *cj = NULL;
    int rc;

    snprintf(label, sizeof label, "%s %s", case_name, vkr_dtype_name(dtype));
    snprintf(path, sizeof path, GOLDEN "%s/case.json", case_name);
    if (!(cj = tg_read_json(path)))
        goto done;
    snprintf(path, sizeof path, GOLDEN "%s/config.json", case_name);
    rc = vkr_cfg_load(&cfg, path);
    if (!rc)
        rc = vkr_clip_text_config_read(&cfg, &c);
    CHECK(rc == 0, "%s: config: %s", label, vkr_last_error());
    if (rc)
        goto done;
    snprintf(path, sizeof path, GOLDEN "%s/weights.safetensors", case_name);
    rc = vkr_weights_open(&w, path);
    CHECK(rc == 0, "%s: %s", label, vkr_last_error());
    if (rc)
        goto done;
    snprintf(path, sizeof path, GOLDEN "%s/io.safetensors", case_name);
    rc = vkr_st_open(&io, path);
    CHECK(rc == 0, "%s: %s", label, vkr_last_error());
    if (rc || !(ids = tg_load_i64(&io, "in.input_ids", shape)))
        goto done;
    rc = vkr_clip_text_load(gpu, &c, w, dtype, &m);
    CHECK(rc == 0, "%s: load: %s", label, vkr_last_error());
    if (rc)
        goto done;
    rc = vkr_clip_text_forward(gpu, &m, ids, shape[0], shape[1], 1, &o);
    CHECK(rc == 0, "%s: forward: %s", label, vkr_last_error());
    if (rc)
        goto done;
    compare_outputs(gpu, label, &o, &io, cj, dtype);
done:
    vkr_clip_text_output_free(gpu, &o);
    vkr_clip_text_free(&m);
    vkr_gpu_weights_reset(gpu);
    free(ids);
    vkr_st_close(&io);
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    cJSON_Delete(cj);
}

/* The diffusers pipeline folder: config + model.safetensors resolved by name,
 * prompt_embeds = text_encoder(out.input_ids).last_hidden_state. */
static void run_pipeline_t2v(vkr_gpu *gpu)
{
    vkr_clip_text m = {0};
    vkr_clip_text_output o = {0};
    vkr_safetensors io = {0};
    int64_t *ids = NULL, shape[2] = {0, 0};
    cJSON *cj = tg_read_json(GOLDEN "pipeline_t2v/case.json");
    int rc = vkr_clip_text_load_dir(gpu, GOLDEN "pipeline_t2v/text_encoder", VKR_VARIANT_DEFAULT, VKR_F32, &m);
    CHECK(rc == 0, "pipeline_t2v text_encoder: %s", vkr_last_error());
    if (rc || !cj)
        goto done;
    CHECK_EQ_INT(m.config.vocab_size, 49408);
    CHECK_EQ_INT(m.config.hidden_act, VKR_UNARY_GELU_ERF);
    rc = vkr_st_open(&io, GOLDEN "pipeline_t2v/io.safetensors");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc || !(ids = tg_load_i64(&io, "out.input_ids", shape)))
        goto done;
    rc = vkr_clip_text_forward(gpu, &m, ids, shape[0], shape[1], 0, &o);
    CHECK(rc == 0, "pipeline_t2v forward: %s", vkr_last_error());
    CHECK(o.hidden_states == NULL, "hidden states kept without being asked for");
    if (!rc)
        tg_compare(gpu, "pipeline_t2v text_encoder", &o.last_hidden_state, &io, "out.prompt_embeds",
                   tg_tol(cj, "recommended_max_abs", "prompt_embeds"), tg_tol(cj, "recommended_rel_l2", "prompt_embeds"));
done:
    vkr_clip_text_output_free(gpu, &o);
    vkr_clip_text_free(&m);
    vkr_gpu_weights_reset(gpu);
    free(ids);
    vkr_st_close(&io);
    cJSON_Delete(cj);
}

static void test_eos_position(void)
{
    vkr_clip_text_config c = {.eos_token_id = 2};
    const int64_t pad_eos[] = {998, 5, 7, 999, 999, 999};
    const int64_t pad_zero[] = {998, 5, 7, 999, 0, 0};
    const int64_t no_eos[] = {3, 5, 7, 4, 0, 0};
    CHECK_EQ_INT(vkr_clip_text_eos_position(&c, pad_eos, 6), 3);  /* first maximum */
    CHECK_EQ_INT(vkr_clip_text_eos_position(&c, pad_zero, 6), 3);
    CHECK_EQ_INT(vkr_clip_text_eos_position(&c, no_eos, 6), 2);   /* argmax, whatever it is */
    c.eos_token_id = 999;
    CHECK_EQ_INT(vkr_clip_text_eos_position(&c, pad_eos, 6), 3);  /* first equal to eos */
    CHECK_EQ_INT(vkr_clip_text_eos_position(&c, no_eos, 6), 0);   /* none: position 0 */
    c.eos_token_id = 5;
    CHECK_EQ_INT(vkr_clip_text_eos_position(&c, pad_eos, 6), 1);  /* not the argmax */
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void test_config(void)
{
    char path[] = "/tmp/vkr_clip_cfg_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    vkr_config cfg = {0};
    vkr_clip_text_config c;
    /* Sparse: CLIPTextConfig defaults fill the rest (quick_gelu, 1e-5, 77 positions, ids 49406/49407). */
    CHECK(write_file(path, "{\"hidden_size\": 64, \"num_attention_heads\": 2, \"eos_token_id\": null}") == 0, "write");
    int rc = vkr_cfg_load(&cfg, path);
    if (!rc)
        rc = vkr_clip_text_config_read(&cfg, &c);
    CHECK(rc == 0, "sparse config: %s", vkr_last_error());
    if (!rc) {
        CHECK_EQ_INT(c.hidden_size, 64);
        CHECK_EQ_INT(c.num_attention_heads, 2);
        CHECK_EQ_INT(c.hidden_act, VKR_UNARY_QUICK_GELU);
        CHECK_EQ_INT(c.max_position_embeddings, 77);
        CHECK_EQ_INT(c.num_hidden_layers, 12);
        CHECK_EQ_INT(c.intermediate_size, 2048);
        CHECK_EQ_INT(c.vocab_size, 49408);
        CHECK_EQ_INT(c.eos_token_id, 49407);
        CHECK_NEAR(c.layer_norm_eps, 1e-5, 1e-12);
    }
    vkr_cfg_free(&cfg);
    CHECK(write_file(path, "{\"hidden_act\": \"mish\"}") == 0, "write");
    rc = vkr_cfg_load(&cfg, path);
    if (!rc)
        rc = vkr_clip_text_config_read(&cfg, &c);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "mish"), "unknown activation: rc %d (%s)", rc, vkr_last_error());
    vkr_cfg_free(&cfg);
    CHECK(write_file(path, "{\"hidden_size\": 30, \"num_attention_heads\": 4}") == 0, "write");
    rc = vkr_cfg_load(&cfg, path);
    if (!rc)
        rc = vkr_clip_text_config_read(&cfg, &c);
    CHECK(rc == VKR_E_DATA, "30 channels over 4 heads accepted: rc %d", rc);
    vkr_cfg_free(&cfg);
    unlink(path);
}

/* A config that disagrees with the checkpoint: fewer layers leave tensors
 * unused, more layers miss tensors; both are load errors naming a tensor. */
static void test_loader_errors(vkr_gpu *gpu)
{
    vkr_config cfg = {0};
    vkr_clip_text_config c;
    vkr_clip_text m;
    vkr_weights *w = NULL;
    int rc = vkr_cfg_load(&cfg, GOLDEN "clip_text_gelu/config.json");
    if (!rc)
        rc = vkr_clip_text_config_read(&cfg, &c);
    CHECK(rc == 0, "%s", vkr_last_error());
    vkr_cfg_free(&cfg);
    if (rc)
        return;
    c.num_hidden_layers = 1;
    rc = vkr_weights_open(&w, GOLDEN "clip_text_gelu/weights.safetensors");
    if (!rc)
        rc = vkr_clip_text_load(gpu, &c, w, VKR_F32, &m);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "text_model.encoder.layers.1.layer_norm1.bias"),
          "1 of 2 layers: rc %d (%s)", rc, vkr_last_error());
    vkr_weights_close(w);
    vkr_gpu_weights_reset(gpu);
    c.num_hidden_layers = 3;
    rc = vkr_weights_open(&w, GOLDEN "clip_text_gelu/weights.safetensors");
    if (!rc)
        rc = vkr_clip_text_load(gpu, &c, w, VKR_F32, &m);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "layers.2"), "3 of 2 layers: rc %d (%s)", rc,
          vkr_last_error());
    vkr_weights_close(w);
    vkr_gpu_weights_reset(gpu);
    c.num_hidden_layers = 2;
    c.intermediate_size = 64;
    rc = vkr_weights_open(&w, GOLDEN "clip_text_gelu/weights.safetensors");
    if (!rc)
        rc = vkr_clip_text_load(gpu, &c, w, VKR_F32, &m);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "fc1.weight"), "wrong MLP width: rc %d (%s)", rc,
          vkr_last_error());
    vkr_weights_close(w);
    vkr_gpu_weights_reset(gpu);
}

int main(void)
{
    test_eos_position();
    test_config();
    vkr_gpu *gpu = gt_open(NULL);
    test_loader_errors(gpu);
    run_case(gpu, "clip_text_gelu", VKR_F32);
    run_case(gpu, "clip_text_quickgelu", VKR_F32);
    run_pipeline_t2v(gpu);
    if (vkr_gpu_device(gpu)->storage_16bit) /* f16 storage needs storageBuffer16BitAccess */
        run_case(gpu, "clip_text_gelu", VKR_F16);
    else
        printf("  f16 run skipped: no 16-bit storage on this device\n");
    gt_close(gpu);
    return check_summary("test_clip_text_golden");
}
