/* nn/transformer: the BasicTransformerBlock's feed-forward run in row chunks
 * (ff_chunk_rows, what keeps the real-size UNet step inside 8 GB) gives the
 * same tokens as the unchunked block, for chunk sizes that do and do not
 * divide the token count, in f32 and f16 activations. The block's math itself
 * is proven by the UNet golden cases. */
#include "gpu_test.h"
#include "st_writer.h"

#include "model/weights.h"
#include "nn/transformer.h"

#include <unistd.h>

#define DIM 16
#define HEADS 2
#define MAX_PARAMS 32

static void add(st_param *p, int *n, const char *name, int64_t rows, int64_t cols, uint64_t *seed, float lo, float hi)
{
    st_param *q = &p[(*n)++];
    snprintf(q->name, sizeof q->name, "blk.%s", name);
    q->ndim = cols ? 2 : 1;
    q->shape[0] = rows;
    q->shape[1] = cols;
    q->data = malloc(st_nelem(q) * sizeof(float));
    gt_rand(q->data, st_nelem(q), lo, hi, seed);
}

static void run(vkr_gpu *gpu, const vkr_basic_transformer_block *blk0, vkr_dtype act, const float *x, int64_t S,
                int64_t L, int64_t chunk, float *out)
{
    vkr_basic_transformer_block blk = *blk0;
    blk.ff_chunk_rows = chunk;
    const int64_t ne[5] = {1, 1, S, L, DIM};
    vkr_tensor t = {0};
    int rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, act, ne, &t);
    if (!rc)
        rc = vkr_tensor_upload(gpu, &t, x, VKR_F32);
    if (!rc)
        rc = vkr_basic_transformer_block_forward(gpu, &blk, &t, NULL);
    if (!rc)
        rc = vkr_tensor_download(gpu, &t, out, VKR_F32);
    CHECK(rc == 0, "forward (chunk %lld): %s", (long long)chunk, vkr_last_error());
    vkr_tensor_free(gpu, &t);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    if (!gpu)
        return check_summary("test_nn_transformer");
    st_param p[MAX_PARAMS];
    int np = 0;
    uint64_t seed = 99;
    const char *norms[3] = {"norm1", "norm2", "norm3"};
    char name[96];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.weight", norms[i]);
        add(p, &np, name, DIM, 0, &seed, 0.5f, 1.5f);
        snprintf(name, sizeof name, "%s.bias", norms[i]);
        add(p, &np, name, DIM, 0, &seed, -0.2f, 0.2f);
    }
    for (int a = 1; a <= 2; a++) {
        const char *proj[3] = {"to_q", "to_k", "to_v"};
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "attn%d.%s.weight", a, proj[i]);
            add(p, &np, name, DIM, DIM, &seed, -0.3f, 0.3f);
        }
        snprintf(name, sizeof name, "attn%d.to_out.0.weight", a);
        add(p, &np, name, DIM, DIM, &seed, -0.3f, 0.3f);
        snprintf(name, sizeof name, "attn%d.to_out.0.bias", a);
        add(p, &np, name, DIM, 0, &seed, -0.1f, 0.1f);
    }
    add(p, &np, "ff.net.0.proj.weight", 8 * DIM, DIM, &seed, -0.3f, 0.3f);
    add(p, &np, "ff.net.0.proj.bias", 8 * DIM, 0, &seed, -0.1f, 0.1f);
    add(p, &np, "ff.net.2.weight", DIM, 4 * DIM, &seed, -0.2f, 0.2f);
    add(p, &np, "ff.net.2.bias", DIM, 0, &seed, -0.1f, 0.1f);

    char path[] = "/tmp/vkr_nn_transformer_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0)
        close(fd);
    vkr_weights *w = NULL;
    vkr_basic_transformer_block blk;
    int rc = fd < 0 || st_write(path, p, np) ? -1 : vkr_weights_open(&w, path);
    if (!rc)
        rc = vkr_basic_transformer_block_load(gpu, w, VKR_F32, "blk", DIM, HEADS, DIM / HEADS, 0, &blk);
    if (!rc)
        rc = vkr_weights_check_all_used(w);
    CHECK(rc == 0, "load: %s", vkr_last_error());
    if (!rc) {
        CHECK(blk.ff_chunk_rows == 0, "load leaves the automatic chunking");
        const int64_t S = 3, L = 13, n = S * L * DIM;
        float *x = malloc((size_t)n * sizeof *x), *whole = malloc((size_t)n * sizeof *x),
              *part = malloc((size_t)n * sizeof *x);
        gt_rand(x, (size_t)n, -2, 2, &seed);
        const int64_t ne[5] = {1, 1, S, L, DIM};
        const vkr_dtype acts[2] = {VKR_F32, VKR_F16};
        for (int a = 0; a < 2; a++) {
            run(gpu, &blk, acts[a], x, S, L, 0, whole);
            /* 1 row, a size dividing 39 (13) and sizes that leave a remainder. */
            const int64_t chunks[4] = {1, 13, 5, 38};
            for (int c = 0; c < 4; c++) {
                run(gpu, &blk, acts[a], x, S, L, chunks[c], part);
                char what[64];
                snprintf(what, sizeof what, "%s FF chunk %lld vs whole", vkr_dtype_name(acts[a]),
                         (long long)chunks[c]);
                gt_compare(what, acts[a], part, whole, ne, &(gt_tol){1e-6, 1e-6, 1e-12});
            }
        }
        free(x), free(whole), free(part);
    }
    vkr_gpu_weights_reset(gpu);
    vkr_weights_close(w);
    unlink(path);
    for (int i = 0; i < np; i++)
        free(p[i].data);
    gt_close(gpu);
    return check_summary("test_nn_transformer");
}
