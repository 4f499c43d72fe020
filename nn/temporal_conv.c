#include "nn/temporal_conv.h"

#include "gpu/ops_conv.h"
#include "gpu/ops_norm.h"

#define TEMPORAL_GN_EPS 1e-5f

int vkr_temporal_conv_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t channels,
                           int groups, vkr_temporal_conv *tc)
{
    int rc;
    if (groups < 1 || channels % groups)
        return vkr_fail(VKR_E_DATA, "%s: %lld channels not divisible into %d groups", prefix, (long long)channels,
                        groups);
    tc->channels = channels;
    tc->groups = groups;
    for (int i = 0; i < 4; i++) {
        /* conv1 = Sequential(GroupNorm, SiLU, Conv3d); conv2..4 have a Dropout before the Conv3d. */
        int conv_idx = i == 0 ? 2 : 3;
        if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(channels), &tc->norm_weight[i], "%s.conv%d.0.weight", prefix,
                               i + 1)) ||
            (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(channels), &tc->norm_bias[i], "%s.conv%d.0.bias", prefix,
                               i + 1)) ||
            (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(channels, channels, 3, 1, 1), &tc->conv_weight[i],
                               "%s.conv%d.%d.weight", prefix, i + 1, conv_idx)) ||
            (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(channels), &tc->conv_bias[i], "%s.conv%d.%d.bias", prefix,
                               i + 1, conv_idx)))
            return rc;
    }
    return VKR_OK;
}

int vkr_temporal_conv_forward(vkr_gpu *gpu, const vkr_temporal_conv *tc, const vkr_tensor *x, const vkr_tensor *out)
{
    vkr_tensor a = {0}, b = {0};
    vkr_group_norm_params gp = {.groups = tc->groups, .eps = TEMPORAL_GN_EPS, .per_frame = 0, .silu = 1};
    int rc;
    if (x->ne[1] != tc->channels)
        return vkr_fail(VKR_E_INTERNAL, "temporal conv: %lld channels, expected %lld", (long long)x->ne[1],
                        (long long)tc->channels);
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &a)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &b)))
        goto fail;
    const vkr_tensor *in = x;
    for (int i = 0; i < 4; i++) {
        /* norm -> a, conv a -> b (the last conv adds the identity and writes out) */
        if ((rc = vkr_op_group_norm(gpu, in, &tc->norm_weight[i], &tc->norm_bias[i], &gp, &a)))
            goto fail;
        if (i < 3)
            rc = vkr_op_conv_temporal(gpu, &a, &tc->conv_weight[i], &tc->conv_bias[i], NULL, &b);
        else
            rc = vkr_op_conv_temporal(gpu, &a, &tc->conv_weight[i], &tc->conv_bias[i], x, out);
        if (rc)
            goto fail;
        in = &b;
    }
fail:
    vkr_tensor_free(gpu, &a);
    vkr_tensor_free(gpu, &b);
    return rc;
}
