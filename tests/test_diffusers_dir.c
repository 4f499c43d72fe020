/* Diffusers directory layout: the golden pipeline directories (real Hub
 * layouts), the real checkpoint configs in tests/model/real-configs, weight
 * resolution order (fp16 variant, shards, .bin) on synthetic folders, and the
 * error codes for missing and malformed pieces. */
#include "check.h"
#include "common/status.h"
#include "model/diffusers_dir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_pipeline_t2v(void)
{
    const char *dir = "tests/golden/pipeline_t2v";
    vkr_model_index mi;
    int rc = vkr_model_index_load(&mi, dir);
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    CHECK_EQ_STR(mi.class_name, "TextToVideoSDPipeline");
    CHECK_EQ_INT(mi.n_components, 5);
    const vkr_component *u = vkr_model_index_find(&mi, "unet");
    CHECK(u && strcmp(u->library, "diffusers") == 0 &&
              strcmp(u->class_name, "UNet3DConditionModel") == 0,
          "unet component");
    const vkr_component *te = vkr_model_index_find(&mi, "text_encoder");
    CHECK(te && strcmp(te->library, "transformers") == 0 &&
              strcmp(te->class_name, "CLIPTextModel") == 0,
          "text_encoder component");
    CHECK(vkr_model_index_find(&mi, "vocoder") == NULL, "t2v has no vocoder");
    vkr_model_index_free(&mi);

    vkr_weight_files f;
    rc = vkr_resolve_weights("tests/golden/pipeline_t2v/unet", VKR_VARIANT_DEFAULT, &f);
    CHECK(rc == 0 && f.n_paths == 1 &&
              ends_with(f.paths[0], "unet/diffusion_pytorch_model.safetensors") && !f.is_torch &&
              !f.is_fp16_variant && !f.index_path,
          "unet weights: %s", rc ? vkr_last_error() : f.paths[0]);
    if (rc == 0)
        vkr_weight_files_free(&f);
    rc = vkr_resolve_weights("tests/golden/pipeline_t2v/text_encoder", VKR_VARIANT_FP16, &f);
    CHECK(rc == 0 && f.n_paths == 1 && ends_with(f.paths[0], "text_encoder/model.safetensors") &&
              !f.is_fp16_variant,
          "text_encoder weights (fp16 asked, fp32 fallback): %s",
          rc ? vkr_last_error() : f.paths[0]);
    if (rc == 0)
        vkr_weight_files_free(&f);
    rc = vkr_resolve_weights("tests/golden/pipeline_t2v/tokenizer", VKR_VARIANT_DEFAULT, &f);
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "no weights found") &&
              strstr(vkr_last_error(), "diffusion_pytorch_model.safetensors") &&
              strstr(vkr_last_error(), "pytorch_model.fp16.bin"),
          "tokenizer has no weights: rc %d %s", rc, vkr_last_error());

    /* Config and weights agree: conv_in is (block_out_channels[0], in_channels, 3, 3). */
    vkr_config cfg;
    rc = vkr_cfg_load_component(&cfg, dir, "unet");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    int boc[8], nboc = 0, in_ch = 0, lpb = 0, heads[8];
    CHECK_EQ_INT(vkr_cfg_int_array(&cfg, "block_out_channels", NULL, 0, boc, 8, &nboc), 0);
    CHECK_EQ_INT(vkr_cfg_int(&cfg, "in_channels", 4, &in_ch), 0);
    CHECK_EQ_INT(vkr_cfg_int(&cfg, "layers_per_block", 2, &lpb), 0);
    CHECK_EQ_INT(nboc, 2);
    CHECK_EQ_INT(boc[0], 24);
    CHECK_EQ_INT(boc[1], 48);
    CHECK_EQ_INT(lpb, 1);
    CHECK_EQ_INT(vkr_cfg_int_per_block(&cfg, "attention_head_dim", nboc, 64, heads), 0);
    CHECK(heads[0] == 8 && heads[1] == 8, "attention_head_dim broadcast");
    vkr_weights *w;
    rc = vkr_open_component_weights(dir, "unet", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        const vkr_st_tensor *t;
        CHECK_EQ_INT(vkr_weights_get(w, "conv_in.weight", VKR_SHAPE(boc[0], in_ch, 3, 3), &t), 0);
        CHECK_EQ_INT(vkr_weights_count(w), 466);
        vkr_weights_close(w);
    }
    vkr_cfg_free(&cfg);

    rc = vkr_cfg_load_component(&cfg, dir, "scheduler");
    CHECK(rc == 0 && ends_with(cfg.path, "scheduler/scheduler_config.json"), "scheduler cfg: %s",
          vkr_last_error());
    if (rc == 0) {
        const char *cls;
        double beta_start;
        CHECK_EQ_INT(vkr_cfg_string(&cfg, "_class_name", NULL, &cls), 0);
        CHECK_EQ_STR(cls, "DDIMScheduler");
        CHECK_EQ_INT(vkr_cfg_double(&cfg, "beta_start", 0.0001, &beta_start), 0);
        CHECK_NEAR(beta_start, 0.00085, 1e-12);
        vkr_cfg_free(&cfg);
    }
}

static void test_pipeline_audioldm(void)
{
    const char *dir = "tests/golden/pipeline_audioldm";
    vkr_model_index mi;
    int rc = vkr_model_index_load(&mi, dir);
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    CHECK_EQ_STR(mi.class_name, "AudioLDMPipeline");
    CHECK_EQ_INT(mi.n_components, 6);
    const vkr_component *v = vkr_model_index_find(&mi, "vocoder");
    CHECK(v && strcmp(v->class_name, "SpeechT5HifiGan") == 0, "vocoder component");
    /* Every component but the tokenizer and scheduler resolves to weights. */
    for (int i = 0; i < mi.n_components; i++) {
        const char *name = mi.components[i].name;
        int want = strcmp(name, "tokenizer") && strcmp(name, "scheduler");
        vkr_weights *w;
        rc = vkr_open_component_weights(dir, name, VKR_VARIANT_DEFAULT, &w);
        CHECK(want ? rc == 0 : rc == VKR_E_NOINPUT, "%s: rc %d %s", name, rc, vkr_last_error());
        if (rc == 0) {
            CHECK(vkr_weights_count(w) > 0, "%s: no tensors", name);
            vkr_weights_close(w);
        }
        vkr_config cfg;
        rc = vkr_cfg_load_component(&cfg, dir, name);
        CHECK(strcmp(name, "tokenizer") ? rc == 0 : rc == VKR_E_NOINPUT, "%s config: rc %d %s",
              name, rc, vkr_last_error());
        if (rc == 0)
            vkr_cfg_free(&cfg);
    }
    vkr_model_index_free(&mi);

    /* CLAP's I64 position_ids buffer is accepted and readable. */
    vkr_weights *w;
    rc = vkr_open_component_weights(dir, "text_encoder", VKR_VARIANT_DEFAULT, &w);
    if (rc == 0) {
        int64_t *ids = NULL;
        CHECK_EQ_INT(vkr_weights_load_i64(w, "text_model.embeddings.position_ids",
                                          VKR_SHAPE(1, 514), &ids),
                     0);
        CHECK(ids && ids[0] == 0 && ids[513] == 513, "position_ids");
        free(ids);
        vkr_weights_close(w);
    }

    vkr_config cfg;
    rc = vkr_cfg_load_component(&cfg, dir, "vocoder");
    if (rc == 0) {
        int rates[8], n = 0;
        double slope;
        bool norm;
        CHECK_EQ_INT(vkr_cfg_int_array(&cfg, "upsample_rates", NULL, 0, rates, 8, &n), 0);
        CHECK(n >= 1 && rates[0] > 1, "upsample_rates");
        CHECK_EQ_INT(vkr_cfg_double(&cfg, "leaky_relu_slope", 0.1, &slope), 0);
        CHECK_EQ_INT(vkr_cfg_bool(&cfg, "normalize_before", true, &norm), 0);
        CHECK(!norm, "normalize_before false");
        vkr_cfg_free(&cfg);
    }
}

static void test_real_configs(void)
{
    const char *root = "tests/model/real-configs";
    char dir[PATH_MAX];
    vkr_config cfg;
    snprintf(dir, sizeof dir, "%s/damo-vilab__text-to-video-ms-1.7b", root);
    vkr_model_index mi;
    int rc = vkr_model_index_load(&mi, dir);
    CHECK(rc == 0 && mi.n_components == 5, "ms-1.7b model_index: %s", vkr_last_error());
    if (rc == 0)
        vkr_model_index_free(&mi);

    rc = vkr_cfg_load_component(&cfg, dir, "unet");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        int boc[8], n, lpb, groups, heads[8], xdim;
        const char *down[8], *up[8];
        int nd, nu;
        double eps;
        bool upcast;
        const char *act;
        CHECK_EQ_INT(vkr_cfg_int_array(&cfg, "block_out_channels", NULL, 0, boc, 8, &n), 0);
        CHECK(n == 4 && boc[0] == 320 && boc[1] == 640 && boc[2] == 1280 && boc[3] == 1280,
              "block_out_channels");
        CHECK_EQ_INT(vkr_cfg_int(&cfg, "layers_per_block", 1, &lpb), 0);
        CHECK_EQ_INT(lpb, 2);
        CHECK_EQ_INT(vkr_cfg_int(&cfg, "norm_num_groups", 16, &groups), 0);
        CHECK_EQ_INT(groups, 32);
        CHECK_EQ_INT(vkr_cfg_int(&cfg, "cross_attention_dim", 0, &xdim), 0);
        CHECK_EQ_INT(xdim, 1024);
        CHECK_EQ_INT(vkr_cfg_int_per_block(&cfg, "attention_head_dim", 4, 8, heads), 0);
        CHECK(heads[0] == 64 && heads[3] == 64, "attention_head_dim");
        /* Sparse real config: absent keys give the defaults. */
        CHECK_EQ_INT(vkr_cfg_int_per_block(&cfg, "num_attention_heads", 4, 8, heads), 0);
        CHECK(heads[0] == 8, "num_attention_heads default");
        CHECK_EQ_INT(vkr_cfg_bool(&cfg, "upcast_attention", false, &upcast), 0);
        CHECK(!upcast, "upcast default");
        CHECK_EQ_INT(vkr_cfg_double(&cfg, "norm_eps", 1e-6, &eps), 0);
        CHECK_NEAR(eps, 1e-5, 1e-15);
        CHECK_EQ_INT(vkr_cfg_string(&cfg, "act_fn", "gelu", &act), 0);
        CHECK_EQ_STR(act, "silu");
        CHECK_EQ_INT(vkr_cfg_string_array(&cfg, "down_block_types", NULL, 0, down, 8, &nd), 0);
        CHECK_EQ_INT(vkr_cfg_string_array(&cfg, "up_block_types", NULL, 0, up, 8, &nu), 0);
        CHECK(nd == 4 && strcmp(down[0], "CrossAttnDownBlock3D") == 0 &&
                  strcmp(down[3], "DownBlock3D") == 0,
              "down_block_types");
        CHECK(nu == 4 && strcmp(up[0], "UpBlock3D") == 0, "up_block_types");

        /* Type errors name the key and the file. */
        int x;
        rc = vkr_cfg_int(&cfg, "block_out_channels", 0, &x);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "\"block_out_channels\"") &&
                  strstr(vkr_last_error(), "unet/config.json"),
              "int from array: %s", vkr_last_error());
        rc = vkr_cfg_int(&cfg, "norm_eps", 0, &x);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "\"norm_eps\" must be an integer"),
              "int from 1e-5: %s", vkr_last_error());
        rc = vkr_cfg_bool(&cfg, "act_fn", false, &upcast);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "\"act_fn\" must be true or false"),
              "%s", vkr_last_error());
        rc = vkr_cfg_string(&cfg, "in_channels", NULL, &act);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "\"in_channels\" must be a string"),
              "%s", vkr_last_error());
        rc = vkr_cfg_string_array(&cfg, "block_out_channels", NULL, 0, down, 8, &nd);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "\"block_out_channels\"[0]"), "%s",
              vkr_last_error());
        rc = vkr_cfg_int_array(&cfg, "block_out_channels", NULL, 0, boc, 3, &n);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "at most 3"), "%s", vkr_last_error());
        rc = vkr_cfg_int_per_block(&cfg, "block_out_channels", 3, 0, heads);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "expected one per block (3)"), "%s",
              vkr_last_error());
        rc = vkr_cfg_double(&cfg, "act_fn", 0, &eps);
        CHECK(rc == VKR_E_DATA, "double from string");
        vkr_cfg_free(&cfg);
    }

    /* AudioLDM: cross_attention_dim is a per-block list, nulls give defaults. */
    snprintf(dir, sizeof dir, "%s/cvssp__audioldm-m-full", root);
    rc = vkr_cfg_load_component(&cfg, dir, "unet");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        int xdim[4], nce, pdim;
        bool concat;
        const char *cet;
        CHECK_EQ_INT(vkr_cfg_int_per_block(&cfg, "cross_attention_dim", 4, 1280, xdim), 0);
        CHECK(xdim[0] == 192 && xdim[3] == 960, "cross_attention_dim list");
        CHECK_EQ_INT(vkr_cfg_int(&cfg, "num_class_embeds", -7, &nce), 0);
        CHECK_EQ_INT(nce, -7); /* null -> default */
        CHECK(!vkr_cfg_has(&cfg, "num_class_embeds") && vkr_cfg_has(&cfg, "class_embed_type"),
              "has");
        CHECK_EQ_INT(vkr_cfg_bool(&cfg, "class_embeddings_concat", false, &concat), 0);
        CHECK(concat, "class_embeddings_concat");
        CHECK_EQ_INT(vkr_cfg_string(&cfg, "class_embed_type", NULL, &cet), 0);
        CHECK_EQ_STR(cet, "simple_projection");
        CHECK_EQ_INT(vkr_cfg_int(&cfg, "projection_class_embeddings_input_dim", 0, &pdim), 0);
        CHECK_EQ_INT(pdim, 512);
        vkr_cfg_free(&cfg);
    }
    snprintf(dir, sizeof dir, "%s/cvssp__audioldm/vocoder/config.json", root);
    rc = vkr_cfg_load(&cfg, dir);
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        int k[8], n;
        CHECK_EQ_INT(vkr_cfg_int_array(&cfg, "upsample_kernel_sizes", NULL, 0, k, 8, &n), 0);
        CHECK(n == 5 && k[0] == 16 && k[4] == 4, "upsample_kernel_sizes");
        rc = vkr_cfg_int_array(&cfg, "resblock_dilation_sizes", NULL, 0, k, 8, &n);
        CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "\"resblock_dilation_sizes\"[0]"),
              "nested list as int array: %s", vkr_last_error());
        vkr_cfg_free(&cfg);
    }
    snprintf(dir, sizeof dir, "%s/cerspense__zeroscope_v2_XL", root);
    rc = vkr_cfg_load_component(&cfg, dir, "unet");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        int pad;
        CHECK_EQ_INT(vkr_cfg_int(&cfg, "downsample_padding", 0, &pad), 0);
        CHECK_EQ_INT(pad, 1);
        vkr_cfg_free(&cfg);
    }
    snprintf(dir, sizeof dir, "%s/cerspense__zeroscope_v2_576w", root);
    rc = vkr_model_index_load(&mi, dir);
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        /* The folder holds configs only: weights are missing, with a clear code. */
        vkr_weights *w;
        rc = vkr_open_component_weights(dir, "unet", VKR_VARIANT_DEFAULT, &w);
        CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "component folder not found"),
              "rc %d %s", rc, vkr_last_error());
        vkr_model_index_free(&mi);
    }
}

/* ---- synthetic folders for the resolution order ---- */

static char tmp[] = "/tmp/vkr_dd_XXXXXX";

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* A safetensors file holding one F32 tensor `name` of n elements = value. */
static void write_st(const char *dir, const char *file, const char *name, int n, float value)
{
    char hdr[256], path[PATH_MAX];
    int len = snprintf(hdr, sizeof hdr,
                       "{\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%d]}}", name,
                       n, 4 * n);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    uint64_t hl = (uint64_t)len;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < n; i++)
        fwrite(&value, 4, 1, f);
    fclose(f);
}

static void copy_file(const char *src, const char *dir, const char *name)
{
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

static char *mkcomp(const char *name)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    mkdir(path, 0755);
    return path;
}

/* Resolves dir and returns the basename of the first file (or "" / error). */
static const char *resolved(const char *dir, vkr_variant v, vkr_weight_files *f)
{
    static char name[256];
    int rc = vkr_resolve_weights(dir, v, f);
    if (rc) {
        snprintf(name, sizeof name, "error %d", rc);
        return name;
    }
    snprintf(name, sizeof name, "%s", strrchr(f->paths[0], '/') + 1);
    return name;
}

/* (A helper, so that CHECK's repeated evaluation does not resolve twice.) */
static void expect_resolved(const char *dir, vkr_variant v, const char *want, vkr_weight_files *f)
{
    const char *got = resolved(dir, v, f);
    CHECK(strcmp(got, want) == 0, "%s (variant %d) resolved to %s, expected %s", dir, (int)v, got,
          want);
}

static void test_resolution(void)
{
    vkr_weight_files f;
    char *d = mkcomp("both");
    write_st(d, "diffusion_pytorch_model.safetensors", "w", 2, 1.0f);
    write_st(d, "diffusion_pytorch_model.fp16.safetensors", "w", 2, 2.0f);
    copy_file("tests/model/torch_nested.bin", d, "diffusion_pytorch_model.bin");
    expect_resolved(d, VKR_VARIANT_DEFAULT, "diffusion_pytorch_model.safetensors", &f);
    CHECK(!f.is_fp16_variant && !f.is_torch, "flags");
    vkr_weight_files_free(&f);
    expect_resolved(d, VKR_VARIANT_FP16, "diffusion_pytorch_model.fp16.safetensors", &f);
    CHECK(f.is_fp16_variant, "fp16 flag");
    vkr_weight_files_free(&f);

    d = mkcomp("only_fp16");
    write_st(d, "model.fp16.safetensors", "w", 2, 2.0f);
    expect_resolved(d, VKR_VARIANT_DEFAULT, "model.fp16.safetensors", &f);
    vkr_weight_files_free(&f);

    d = mkcomp("only_bin");
    copy_file("tests/model/torch_nested.bin", d, "pytorch_model.bin");
    copy_file("tests/model/torch_nested.bin", d, "pytorch_model.fp16.bin");
    expect_resolved(d, VKR_VARIANT_DEFAULT, "pytorch_model.bin", &f);
    CHECK(f.is_torch, "is_torch");
    vkr_weight_files_free(&f);
    expect_resolved(d, VKR_VARIANT_FP16, "pytorch_model.fp16.bin", &f);
    vkr_weight_files_free(&f);
    vkr_weights *w;
    int rc = vkr_open_component_weights(tmp, "only_bin", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == 0 && vkr_weights_find(w, "w"), "open .bin component: %s", vkr_last_error());
    if (rc == 0)
        vkr_weights_close(w);

    /* safetensors beats .bin even when only its fp16 variant exists. */
    d = mkcomp("fp16_st_and_bin");
    write_st(d, "diffusion_pytorch_model.fp16.safetensors", "w", 2, 2.0f);
    copy_file("tests/model/torch_nested.bin", d, "diffusion_pytorch_model.bin");
    expect_resolved(d, VKR_VARIANT_DEFAULT, "diffusion_pytorch_model.fp16.safetensors", &f);
    vkr_weight_files_free(&f);

    d = mkcomp("sharded");
    write_st(d, "diffusion_pytorch_model-00001-of-00002.safetensors", "a.weight", 3, 1.0f);
    write_st(d, "diffusion_pytorch_model-00002-of-00002.safetensors", "b.weight", 2, 5.0f);
    write_text(d, "diffusion_pytorch_model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":20},\"weight_map\":{"
               "\"a.weight\":\"diffusion_pytorch_model-00001-of-00002.safetensors\","
               "\"b.weight\":\"diffusion_pytorch_model-00002-of-00002.safetensors\"}}");
    expect_resolved(d, VKR_VARIANT_DEFAULT, "diffusion_pytorch_model-00001-of-00002.safetensors", &f);
    CHECK(f.n_paths == 2 && f.index_path && ends_with(f.index_path, ".index.json"), "shards");
    vkr_weight_files_free(&f);
    rc = vkr_open_component_weights(tmp, "sharded", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == 0, "sharded: %s", vkr_last_error());
    if (rc == 0) {
        float b[2];
        CHECK_EQ_INT(vkr_weights_count(w), 2);
        CHECK_EQ_INT(vkr_weights_read_f32(w, "b.weight", VKR_SHAPE(2), b), 0);
        CHECK(b[0] == 5.0f, "b.weight from shard 2");
        vkr_weights_close(w);
    }

    /* Index promising a tensor the shards lack. */
    d = mkcomp("sharded_lie");
    write_st(d, "s1.safetensors", "a.weight", 1, 1.0f);
    write_text(d, "model.safetensors.index.json",
               "{\"weight_map\":{\"a.weight\":\"s1.safetensors\",\"ghost\":\"s1.safetensors\"}}");
    rc = vkr_open_component_weights(tmp, "sharded_lie", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "tensor 'ghost' is listed"), "%s",
          vkr_last_error());
    d = mkcomp("sharded_missing");
    write_text(d, "model.safetensors.index.json", "{\"weight_map\":{\"a\":\"gone.safetensors\"}}");
    rc = vkr_open_component_weights(tmp, "sharded_missing", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "shard 'gone.safetensors'"), "%s",
          vkr_last_error());
    d = mkcomp("sharded_escape");
    write_text(d, "model.safetensors.index.json",
               "{\"weight_map\":{\"a\":\"../only_bin/pytorch_model.bin\"}}");
    rc = vkr_open_component_weights(tmp, "sharded_escape", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "not a file name in the folder"), "%s",
          vkr_last_error());
    d = mkcomp("sharded_bad_json");
    write_text(d, "model.safetensors.index.json", "{\"weight_map\": [");
    rc = vkr_open_component_weights(tmp, "sharded_bad_json", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "invalid JSON"), "%s", vkr_last_error());

    d = mkcomp("empty");
    rc = vkr_resolve_weights(d, VKR_VARIANT_DEFAULT, &f);
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "no weights found"), "%s",
          vkr_last_error());
    rc = vkr_open_component_weights(tmp, "nonexistent", VKR_VARIANT_DEFAULT, &w);
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "nonexistent: component folder not found"),
          "%s", vkr_last_error());

    /* model_index / config errors */
    vkr_model_index mi;
    rc = vkr_model_index_load(&mi, "tests/model/no-such-model");
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "model directory not found"), "%s",
          vkr_last_error());
    rc = vkr_model_index_load(&mi, tmp);
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "no model_index.json"), "%s",
          vkr_last_error());
    write_text(tmp, "model_index.json", "{\"_class_name\": \"X\", \"unet\": [\"diffusers\"]}");
    rc = vkr_model_index_load(&mi, tmp);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "component \"unet\""), "%s",
          vkr_last_error());
    write_text(tmp, "model_index.json", "[1, 2]");
    rc = vkr_model_index_load(&mi, tmp);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "not a JSON object"), "%s",
          vkr_last_error());
    write_text(tmp, "model_index.json",
               "{\"_class_name\": \"P\", \"requires_safety_checker\": true, "
               "\"safety_checker\": [null, null], \"vae\": [\"diffusers\", \"AutoencoderKL\"]}");
    rc = vkr_model_index_load(&mi, tmp);
    CHECK(rc == 0 && mi.n_components == 2, "%s", vkr_last_error());
    if (rc == 0) {
        const vkr_component *sc = vkr_model_index_find(&mi, "safety_checker");
        CHECK(sc && sc->library == NULL && sc->class_name == NULL, "null component");
        vkr_model_index_free(&mi);
    }
    vkr_config cfg;
    rc = vkr_cfg_load_component(&cfg, tmp, "empty");
    CHECK(rc == VKR_E_NOINPUT && strstr(vkr_last_error(), "no config.json"), "%s",
          vkr_last_error());
    write_text(mkcomp("badcfg"), "config.json", "{\"a\": 1,}");
    rc = vkr_cfg_load_component(&cfg, tmp, "badcfg");
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "badcfg/config.json: invalid JSON"), "%s",
          vkr_last_error());
}

int main(void)
{
    test_pipeline_t2v();
    test_pipeline_audioldm();
    test_real_configs();
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    test_resolution();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_diffusers_dir");
}
