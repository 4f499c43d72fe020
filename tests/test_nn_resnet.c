/* nn/resnet: ResnetBlock2D with a time embedding (the UNets' use), a channel
 * change (conv_shortcut) and output_scale_factor, on a 2-frame video with
 * per-batch temb, vs a host composition of the plain-C references
 * (gpu/ref_*: group norm, conv2d, matmul). The VAE goldens cover temb-less
 * blocks; this covers the rest. Weights go through a safetensors file. */
#include "gpu_test.h"

#include "gpu/ref_conv.h"
#include "gpu/ref_matmul.h"
#include "gpu/ref_norm.h"
#include "nn/resnet.h"

#include <unistd.h>

enum { N = 2, CI = 8, CO = 12, F = 2, H = 5, W = 7, T = 6, G = 4 };

typedef struct {
    const char *name;
    int ndim;
    int64_t shape[4];
    float *data;
    int64_t n;
} param;

static void write_safetensors(const char *path, param *p, int np)
{
    char header[4096];
    int len = snprintf(header, sizeof header, "{");
    int64_t off = 0;
    for (int i = 0; i < np; i++) {
        len += snprintf(header + len, sizeof header - (size_t)len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "",
                        p[i].name);
        for (int d = 0; d < p[i].ndim; d++)
            len += snprintf(header + len, sizeof header - (size_t)len, "%s%lld", d ? "," : "", (long long)p[i].shape[d]);
        len += snprintf(header + len, sizeof header - (size_t)len, "],\"data_offsets\":[%lld,%lld]}", (long long)off,
                        (long long)(off + p[i].n * 4));
        off += p[i].n * 4;
    }
    len += snprintf(header + len, sizeof header - (size_t)len, "}");
    while (len % 8)
        header[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    uint64_t hl = (uint64_t)len;
    fwrite(&hl, 8, 1, f);
    fwrite(header, 1, (size_t)len, f);
    for (int i = 0; i < np; i++)
        fwrite(p[i].data, 4, (size_t)p[i].n, f);
    fclose(f);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    uint64_t seed = 11;
    param p[] = {
        {"b.norm1.weight", 1, {CI}}, {"b.norm1.bias", 1, {CI}},
        {"b.conv1.weight", 4, {CO, CI, 3, 3}}, {"b.conv1.bias", 1, {CO}},
        {"b.time_emb_proj.weight", 2, {CO, T}}, {"b.time_emb_proj.bias", 1, {CO}},
        {"b.norm2.weight", 1, {CO}}, {"b.norm2.bias", 1, {CO}},
        {"b.conv2.weight", 4, {CO, CO, 3, 3}}, {"b.conv2.bias", 1, {CO}},
        {"b.conv_shortcut.weight", 4, {CO, CI, 1, 1}}, {"b.conv_shortcut.bias", 1, {CO}},
    };
    const int np = (int)(sizeof p / sizeof p[0]);
    for (int i = 0; i < np; i++) {
        p[i].n = 1;
        for (int d = 0; d < p[i].ndim; d++)
            p[i].n *= p[i].shape[d];
        p[i].data = malloc((size_t)p[i].n * sizeof(float));
        gt_rand(p[i].data, (size_t)p[i].n, -0.4, 0.4, &seed);
    }
    char path[] = "/tmp/vkr_test_nn_resnet_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return check_summary("test_nn_resnet");
    close(fd);
    write_safetensors(path, p, np);

    vkr_weights *w;
    vkr_resnet_block2d blk;
    GT_OK(vkr_weights_open(&w, path));
    const vkr_resnet_config cfg = {.in_channels = CI, .out_channels = CO, .temb_channels = T, .groups = G,
                                   .eps = 1e-5f, .output_scale_factor = 2.0f};
    GT_OK(vkr_resnet_block2d_load(gpu, w, "b", &cfg, VKR_F32, &blk));
    CHECK(vkr_weights_check_all_used(w) == 0, "%s", vkr_last_error());
    vkr_weights_close(w);

    const int64_t xne[5] = {N, CI, F, H, W}, yne[5] = {N, CO, F, H, W}, tne[5] = {1, 1, 1, N, T};
    size_t nx = N * CI * F * H * W, ny = N * CO * F * H * W;
    float *x = malloc(nx * 4), *temb = malloc(N * T * 4), *got = malloc(ny * 4);
    gt_rand(x, nx, -2, 2, &seed);
    gt_rand(temb, N * T, -2, 2, &seed);
    vkr_tensor tx, tt, ty;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, xne, &tx));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &tt));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, yne, &ty));
    GT_OK(vkr_tensor_upload(gpu, &tx, x, VKR_F32));
    GT_OK(vkr_tensor_upload(gpu, &tt, temb, VKR_F32));
    GT_OK(vkr_resnet_block2d_forward(gpu, &blk, &tx, &tt, &ty));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));

    /* host reference */
    float *a = malloc(nx * 4), *b = malloc(ny * 4), *sc = malloc(ny * 4), *want = malloc(ny * 4);
    float *ts = malloc(N * T * 4), *proj = malloc(N * CO * 4);
    vkr_host_tensor hx = vkr_host_contiguous(x, xne), ha = vkr_host_contiguous(a, xne);
    vkr_host_tensor hb = vkr_host_contiguous(b, yne), hsc = vkr_host_contiguous(sc, yne), hw = vkr_host_contiguous(want, yne);
    vkr_ref_group_norm(&hx, p[0].data, p[1].data, G, 1e-5, 1, 1, &ha);
    const int64_t w3a[5] = {1, CO, CI, 3, 3}, w3b[5] = {1, CO, CO, 3, 3}, w1[5] = {1, CO, CI, 1, 1};
    vkr_host_tensor hw1 = vkr_host_contiguous(p[2].data, w3a), hw2 = vkr_host_contiguous(p[8].data, w3b);
    vkr_host_tensor hws = vkr_host_contiguous(p[10].data, w1);
    const vkr_conv2d_params k3 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, k1 = {0};
    vkr_ref_conv2d(&ha, &hw1, p[3].data, NULL, &k3, &hb);
    /* temb: silu -> linear, broadcast over frames and pixels */
    for (int i = 0; i < N * T; i++)
        ts[i] = (float)vkr_ref_unary_value(VKR_UNARY_SILU, temb[i], 0, 0);
    const int64_t tsne[5] = {1, 1, 1, N, T}, wne[5] = {1, 1, 1, T, CO}, pne[5] = {1, 1, 1, N, CO};
    vkr_host_tensor hts = vkr_host_contiguous(ts, tsne), hp = vkr_host_contiguous(proj, pne);
    vkr_host_tensor hwt = vkr_host_contiguous(p[4].data, wne); /* (CO, T) read transposed */
    hwt.nb[3] = 1, hwt.nb[4] = T;
    const int64_t bne[5] = {1, 1, 1, 1, CO};
    vkr_host_tensor hbias = vkr_host_contiguous(p[5].data, bne);
    vkr_ref_matmul(&hts, &hwt, &hbias, VKR_UNARY_IDENTITY, NULL, 0, &hp, NULL);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < CO; c++)
            for (int i = 0; i < F * H * W; i++)
                b[(n * CO + c) * F * H * W + i] += proj[n * CO + c];
    vkr_ref_group_norm(&hb, p[6].data, p[7].data, G, 1e-5, 1, 1, &hb);
    vkr_ref_conv2d(&hx, &hws, p[11].data, NULL, &k1, &hsc);
    const vkr_conv2d_params k3o = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1,
                                   .output_scale_factor = 2.0f};
    vkr_ref_conv2d(&hb, &hw2, p[9].data, &hsc, &k3o, &hw);
    gt_compare("resnet temb + shortcut + scale", VKR_F32, got, want, yne, &(gt_tol){1e-4, 1e-4, 1e-9});

    /* a temb-requiring block without temb is a caller error */
    CHECK(vkr_resnet_block2d_forward(gpu, &blk, &tx, NULL, &ty) == VKR_E_INTERNAL, "missing temb accepted");

    vkr_tensor_free(gpu, &tx);
    vkr_tensor_free(gpu, &tt);
    vkr_tensor_free(gpu, &ty);
    for (int i = 0; i < np; i++)
        free(p[i].data);
    free(x), free(temb), free(got), free(a), free(b), free(sc), free(want), free(ts), free(proj);
    remove(path);
    gt_close(gpu);
    return check_summary("test_nn_resnet");
}
