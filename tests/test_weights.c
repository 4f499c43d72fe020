/* Uniform weight source: shape-checked fetches with clear messages, used-
 * tensor tracking, both formats behind one API, shard merging. */
#include "check.h"
#include "common/status.h"
#include "model/weights.h"

#include <stdlib.h>

static void test_fetch_and_usage(void)
{
    vkr_weights *w;
    int rc = vkr_weights_open(&w, "tests/golden/vae_decoder/weights.safetensors");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    CHECK_EQ_INT(vkr_weights_count(w), 124);
    const vkr_st_tensor *t;
    /* decoder.conv_in: (block_out[-1]=48, latent 4, 3, 3) per config.json */
    CHECK_EQ_INT(vkr_weights_get(w, "decoder.conv_in.weight", VKR_SHAPE(48, 4, 3, 3), &t), 0);
    CHECK(t && t->numel == 48 * 4 * 9, "numel");
    CHECK_EQ_INT(vkr_weights_get(w, "decoder.conv_in.bias", VKR_SHAPE(-1), &t), 0);

    rc = vkr_weights_get(w, "encoder.conv_in.weight", VKR_SHAPE(32, 4, 3, 3), &t);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(),
                                     "tensor 'encoder.conv_in.weight' has shape [32, 3, 3, 3], "
                                     "expected [32, 4, 3, 3]"),
          "shape mismatch message: %s", vkr_last_error());
    rc = vkr_weights_get(w, "encoder.conv_in.weight", VKR_SHAPE(32, 3, 9), &t);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "expected [32, 3, 9]"), "ndim: %s",
          vkr_last_error());
    rc = vkr_weights_get(w, "decoder.conv_in.wieght", VKR_SHAPE(48, 4, 3, 3), &t);
    CHECK(rc == VKR_E_DATA &&
              strstr(vkr_last_error(), "missing tensor 'decoder.conv_in.wieght'") &&
              strstr(vkr_last_error(), "vae_decoder/weights.safetensors"),
          "missing message: %s", vkr_last_error());

    /* A failed fetch does not mark the tensor used. */
    const char *names[4];
    CHECK_EQ_INT(vkr_weights_unused(w, names, 4), 122);
    CHECK_EQ_STR(names[0], "decoder.conv_norm_out.bias");
    rc = vkr_weights_check_all_used(w);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "122 unexpected tensors: "
                                                       "decoder.conv_norm_out.bias, "),
          "%s", vkr_last_error());

    float *enc = NULL;
    CHECK_EQ_INT(vkr_weights_load_f32(w, "encoder.conv_in.weight", VKR_SHAPE(32, 3, 3, 3), &enc),
                 0);
    const vkr_st_tensor *raw = vkr_weights_find(w, "encoder.conv_in.weight");
    CHECK(enc && raw && memcmp(enc, raw->data, raw->nbytes) == 0, "load_f32 copies F32 exactly");
    free(enc);

    int n_enc = 0;
    for (int i = 0; i < vkr_weights_count(w); i++)
        n_enc += strncmp(vkr_weights_at(w, i)->name, "encoder.", 8) == 0;
    CHECK(n_enc > 10, "encoder tensors: %d", n_enc);
    CHECK_EQ_INT(vkr_weights_skip_prefix(w, "encoder."), n_enc);
    CHECK_EQ_INT(vkr_weights_unused(w, names, 4), 124 - 2 - n_enc); /* decoder.conv_in.* fetched */
    CHECK_EQ_INT(vkr_weights_skip(w, "no.such"), 0);
    int left = vkr_weights_unused(w, names, 4);
    for (int i = 0; i < vkr_weights_count(w); i++)
        vkr_weights_skip(w, vkr_weights_at(w, i)->name);
    CHECK(left > 0, "left %d", left);
    CHECK_EQ_INT(vkr_weights_unused(w, names, 4), 0);
    CHECK_EQ_INT(vkr_weights_check_all_used(w), 0);
    vkr_weights_close(w);
}

static void test_torch_format(void)
{
    vkr_weights *w;
    int rc = vkr_weights_open(&w, "tests/model/torch_small.bin");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    float h[5];
    CHECK_EQ_INT(vkr_weights_read_f32(w, "half", VKR_SHAPE(5), h), 0);
    CHECK(h[0] == 1.0f && h[1] == -2.5f && h[2] == 65504.0f, "half -> f32: %g %g %g", h[0], h[1],
          h[2]);
    float *f = NULL;
    rc = vkr_weights_load_f32(w, "position_ids", VKR_SHAPE(1, 7), &f);
    CHECK(rc == VKR_E_DATA && f == NULL && strstr(vkr_last_error(), "expected a float type"),
          "int tensor as float: %s", vkr_last_error());
    int64_t *ids = NULL;
    CHECK_EQ_INT(vkr_weights_load_i64(w, "position_ids", VKR_SHAPE(1, 7), &ids), 0);
    CHECK(ids && ids[0] == 0 && ids[6] == 6, "position_ids");
    free(ids);
    rc = vkr_weights_load_i64(w, "matrix", VKR_SHAPE(4, 5), &ids);
    CHECK(rc == VKR_E_DATA && ids == NULL, "float tensor as int64 must fail");
    float mt[20], m[20];
    CHECK_EQ_INT(vkr_weights_read_f32(w, "matrix", VKR_SHAPE(4, 5), m), 0);
    CHECK_EQ_INT(vkr_weights_read_f32(w, "matrix_t", VKR_SHAPE(5, 4), mt), 0);
    int bad = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            bad += mt[j * 4 + i] != m[i * 5 + j];
    CHECK(bad == 0, "matrix_t is not the transpose of matrix (%d differences)", bad);
    vkr_weights_close(w);

    /* The same file twice: every name collides. */
    const char *two[] = {"tests/model/torch_small.bin", "tests/model/torch_small_p4.bin"};
    rc = vkr_weights_open_files(&w, two, 2, "pair");
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "is in more than one file"), "%s",
          vkr_last_error());
    /* A safetensors file and a .bin merged: formats mix freely. */
    const char *mixed[] = {"tests/model/torch_nested.bin",
                           "tests/golden/vae_decoder/weights.safetensors"};
    rc = vkr_weights_open_files(&w, mixed, 2, "mixed");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc == 0) {
        CHECK_EQ_INT(vkr_weights_count(w), 125);
        CHECK(vkr_weights_find(w, "w") && vkr_weights_find(w, "decoder.conv_in.bias"), "mixed");
        CHECK_EQ_STR(vkr_weights_name(w), "mixed");
        vkr_weights_close(w);
    }
    rc = vkr_weights_open(&w, "tests/model/missing.safetensors");
    CHECK(rc == VKR_E_NOINPUT && w == NULL, "missing file rc %d", rc);
}

int main(void)
{
    test_fetch_and_usage();
    test_torch_format();
    return check_summary("test_weights");
}
