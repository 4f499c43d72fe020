/* PyTorch .bin reader: fixtures written by torch.save (tools/make_bin_fixture.py)
 * read back with the values torch itself recorded in torch_small.json; the
 * hostile corpus in tests/model/bad is rejected with the expected message;
 * truncated and bit-flipped archives never crash. */
#include "check.h"
#include "common/status.h"
#include "model/torch_bin.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

static int in_map(const vkr_torch_bin *tb, const vkr_st_tensor *t)
{
    const uint8_t *m = tb->map, *d = t->data;
    return d >= m && d < m + tb->map_len;
}

static void check_small(const char *path, const cJSON *expect)
{
    vkr_torch_bin tb;
    int rc = vkr_tb_open(&tb, path);
    CHECK(rc == 0, "%s: %s", path, vkr_last_error());
    if (rc)
        return;
    CHECK_EQ_INT(tb.n_tensors, cJSON_GetArraySize(expect));
    const cJSON *e;
    cJSON_ArrayForEach(e, expect)
    {
        const char *name = e->string;
        const vkr_st_tensor *t = vkr_tb_find(&tb, name);
        CHECK(t != NULL, "%s: tensor '%s' missing", path, name);
        if (!t)
            continue;
        vkr_dtype want;
        CHECK(vkr_dtype_from_name(cJSON_GetObjectItem(e, "dtype")->valuestring, &want), "dtype");
        CHECK(t->dtype == want, "%s '%s': dtype %s, expected %s", path, name,
              vkr_dtype_name(t->dtype), vkr_dtype_name(want));
        const cJSON *shape = cJSON_GetObjectItem(e, "shape");
        CHECK(t->ndim == cJSON_GetArraySize(shape), "%s '%s': ndim %d", path, name, t->ndim);
        for (int i = 0; i < t->ndim && i < cJSON_GetArraySize(shape); i++)
            CHECK(t->shape[i] == (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble,
                  "%s '%s': shape[%d] = %lld", path, name, i, (long long)t->shape[i]);
        const cJSON *values = cJSON_GetObjectItem(e, "values");
        CHECK(t->numel == cJSON_GetArraySize(values), "%s '%s': numel %lld", path, name,
              (long long)t->numel);
        if (t->numel != cJSON_GetArraySize(values))
            continue;
        float *f = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *f);
        int64_t *iv = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *iv);
        CHECK_EQ_INT(vkr_st_to_f32(t, f), 0);
        int is_int = t->dtype >= VKR_I64;
        if (is_int)
            CHECK_EQ_INT(vkr_st_to_i64(t, iv), 0);
        for (int64_t i = 0; i < t->numel; i++) {
            double v = cJSON_GetArrayItem(values, (int)i)->valuedouble;
            CHECK(f[i] == (float)v, "%s '%s'[%lld] = %.9g, torch says %.9g", path, name,
                  (long long)i, f[i], v);
            if (is_int)
                CHECK(iv[i] == (int64_t)v, "%s '%s'[%lld] = %lld, torch says %.17g", path, name,
                      (long long)i, (long long)iv[i], v);
        }
        free(f);
        free(iv);
    }
    /* Contiguous views are used in place; others were gathered into copies. */
    const char *in_place[] = {"conv.weight", "shared.a", "shared.b", "matrix", "param"};
    const char *copied[] = {"matrix_t", "shared.strided", "expanded"};
    for (size_t i = 0; i < sizeof in_place / sizeof *in_place; i++) {
        const vkr_st_tensor *t = vkr_tb_find(&tb, in_place[i]);
        CHECK(t && in_map(&tb, t), "%s '%s' should point into the mapping", path, in_place[i]);
    }
    for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
        const vkr_st_tensor *t = vkr_tb_find(&tb, copied[i]);
        CHECK(t && !in_map(&tb, t), "%s '%s' should be a contiguous copy", path, copied[i]);
    }
    CHECK(vkr_tb_find(&tb, "nope") == NULL, "found a missing tensor");
    vkr_tb_close(&tb);
}

static void test_good(void)
{
    char *json = read_file("tests/model/torch_small.json", NULL);
    cJSON *expect = json ? cJSON_Parse(json) : NULL;
    free(json);
    CHECK(expect != NULL, "cannot read tests/model/torch_small.json");
    if (!expect)
        return;
    check_small("tests/model/torch_small.bin", expect);
    check_small("tests/model/torch_small_p4.bin", expect);
    check_small("tests/model/torch_small_zip64.bin", expect);
    cJSON_Delete(expect);

    vkr_torch_bin tb;
    int rc = vkr_tb_open(&tb, "tests/model/torch_nested.bin");
    CHECK(rc == 0, "nested: %s", vkr_last_error());
    if (rc == 0) {
        const vkr_st_tensor *t = vkr_tb_find(&tb, "w");
        float v[2] = {0};
        CHECK(t && t->numel == 2 && vkr_st_to_f32(t, v) == 0 && v[0] == 1 && v[1] == 2,
              "nested state_dict 'w'");
        vkr_tb_close(&tb);
    }
    rc = vkr_tb_open(&tb, "tests/model/no-such.bin");
    CHECK(rc == VKR_E_NOINPUT, "missing file: rc %d", rc);
}

static void test_bad(void)
{
    char *json = read_file("tests/model/bad/expected.json", NULL);
    cJSON *expect = json ? cJSON_Parse(json) : NULL;
    free(json);
    CHECK(expect != NULL, "cannot read tests/model/bad/expected.json");
    if (!expect)
        return;
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, expect)
    {
        char path[256];
        snprintf(path, sizeof path, "tests/model/bad/%s", e->string);
        vkr_torch_bin tb;
        vkr_clear_error();
        int rc = vkr_tb_open(&tb, path);
        CHECK(rc == VKR_E_DATA, "%s: rc %d, expected 65 (%s)", path, rc, vkr_last_error());
        CHECK(strstr(vkr_last_error(), e->valuestring) != NULL,
              "%s: message lacks \"%s\": %s", path, e->valuestring, vkr_last_error());
        CHECK(strstr(vkr_last_error(), path) != NULL, "%s: message does not name the file",
              path);
        if (rc == 0)
            vkr_tb_close(&tb);
        n++;
    }
    CHECK(n >= 19, "only %d hostile files", n);
    cJSON_Delete(expect);
}

/* A real state dict converted to f16 by torch: every tensor matches the f32
 * golden file, each half equal to vkr_f32_to_f16 of the f32 value (torch's
 * rounding and ours agree), I64 buffers byte-identical. */
static void test_clap_fp16(void)
{
    vkr_torch_bin tb;
    vkr_safetensors st;
    int rc = vkr_tb_open(&tb, "tests/model/clap_text.fp16.bin");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    rc = vkr_st_open(&st, "tests/golden/clap_text/weights.safetensors");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc) {
        vkr_tb_close(&tb);
        return;
    }
    CHECK_EQ_INT(tb.n_tensors, st.n_tensors);
    long halves = 0, mismatches = 0;
    for (int i = 0; i < st.n_tensors && i < tb.n_tensors; i++) {
        const vkr_st_tensor *s = &st.tensors[i], *b = &tb.tensors[i];
        CHECK(strcmp(s->name, b->name) == 0, "tensor %d: '%s' vs '%s'", i, s->name, b->name);
        CHECK(s->ndim == b->ndim && memcmp(s->shape, b->shape, sizeof s->shape) == 0,
              "'%s': shapes differ", s->name);
        if (s->dtype == VKR_I64) {
            CHECK(b->dtype == VKR_I64 && b->nbytes == s->nbytes &&
                      memcmp(b->data, s->data, s->nbytes) == 0,
                  "'%s': I64 buffer differs", s->name);
            continue;
        }
        CHECK(s->dtype == VKR_F32 && b->dtype == VKR_F16, "'%s': dtypes %s / %s", s->name,
              vkr_dtype_name(s->dtype), vkr_dtype_name(b->dtype));
        if (b->dtype != VKR_F16 || s->numel != b->numel)
            continue;
        for (int64_t k = 0; k < s->numel; k++) {
            float f;
            uint16_t h;
            memcpy(&f, (const uint8_t *)s->data + 4 * k, 4);
            memcpy(&h, (const uint8_t *)b->data + 2 * k, 2);
            if (vkr_f32_to_f16(f) != h && mismatches++ < 5)
                fprintf(stderr, "'%s'[%lld]: %a -> 0x%04x, torch 0x%04x\n", s->name,
                        (long long)k, f, vkr_f32_to_f16(f), h);
            halves++;
        }
    }
    printf("clap fp16: %ld halves compared with torch\n", halves);
    CHECK(mismatches == 0 && halves > 50000, "%ld of %ld halves differ from torch", mismatches,
          halves);
    vkr_st_close(&st);
    vkr_tb_close(&tb);
}

/* Every truncation is rejected; bit flips are rejected or yield tensors
 * whose bytes can all be read (ASan checks the reads). */
static void test_mutations(void)
{
    size_t len;
    uint8_t *buf = (uint8_t *)read_file("tests/model/torch_small.bin", &len);
    CHECK(buf != NULL, "read torch_small.bin");
    if (!buf)
        return;
    vkr_torch_bin tb;
    int bad = 0, ok = 0;
    for (size_t n = 0; n < len; n += 5) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        int rc = vkr_tb_open_memory(&tb, cut, n, "cut");
        if (rc != VKR_E_DATA)
            bad++;
        if (rc == 0)
            vkr_tb_close(&tb);
        free(cut);
    }
    CHECK(bad == 0, "%d truncations were not rejected with 65", bad);
    bad = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint8_t save = buf[i];
        buf[i] ^= (uint8_t)(0x5a + i);
        int rc = vkr_tb_open_memory(&tb, buf, len, "flip");
        if (rc == 0) {
            ok++;
            for (int k = 0; k < tb.n_tensors; k++) {
                float *f = malloc((size_t)(tb.tensors[k].numel + 1) * sizeof *f);
                vkr_st_to_f32(&tb.tensors[k], f);
                free(f);
            }
            vkr_tb_close(&tb);
        } else if (rc != VKR_E_DATA) {
            bad++;
        }
        buf[i] = save;
    }
    CHECK(bad == 0, "%d bit flips gave a code other than 0 or 65", bad);
    printf("mutations: %zu bytes, %d flipped files still opened\n", len, ok);
    free(buf);
}

int main(void)
{
    test_good();
    test_bad();
    test_clap_fp16();
    test_mutations();
    return check_summary("test_torch_bin");
}
