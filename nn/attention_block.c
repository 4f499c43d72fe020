/* Multi-head attention module around the fused attention kernel. */
#include "nn/attention_block.h"

#include <stdio.h>
#include <string.h>

const vkr_attention_names vkr_attention_names_clip = {"q_proj", "k_proj", "v_proj", "out_proj", true, true, true, true};
const vkr_attention_names vkr_attention_names_bert = {"self.query", "self.key", "self.value", "output.dense",
                                                      true, true, true, true};
const vkr_attention_names vkr_attention_names_diffusers = {"to_q", "to_k", "to_v", "to_out.0",
                                                           false, false, false, true};

static int load_proj(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, const char *sub,
                     int64_t in, int64_t out, bool bias, vkr_linear *lin)
{
    char name[512];
    int n = snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", sub);
    if (n < 0 || (size_t)n >= sizeof name)
        return vkr_fail(VKR_E_INTERNAL, "attention block: module name too long");
    return vkr_linear_load(gpu, w, dtype, name, in, out, bias, lin);
}

int vkr_attention_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                             const vkr_attention_names *names, int64_t dim, int64_t kv_dim, int64_t inner_dim,
                             int64_t heads, vkr_attention_block *blk)
{
    int rc;
    memset(blk, 0, sizeof *blk);
    if (heads <= 0 || inner_dim <= 0 || inner_dim % heads)
        return vkr_fail(VKR_E_DATA, "%s: attention width %lld is not divisible by %lld heads", prefix,
                        (long long)inner_dim, (long long)heads);
    blk->dim = dim;
    blk->kv_dim = kv_dim;
    blk->inner_dim = inner_dim;
    blk->heads = heads;
    if ((rc = load_proj(gpu, w, dtype, prefix, names->q, dim, inner_dim, names->q_bias, &blk->q)) ||
        (rc = load_proj(gpu, w, dtype, prefix, names->k, kv_dim, inner_dim, names->k_bias, &blk->k)) ||
        (rc = load_proj(gpu, w, dtype, prefix, names->v, kv_dim, inner_dim, names->v_bias, &blk->v)) ||
        (rc = load_proj(gpu, w, dtype, prefix, names->out, inner_dim, dim, names->out_bias, &blk->out)))
        return rc;
    return VKR_OK;
}

/* A contiguous activation tensor like `like` with the last dim replaced. */
static int alloc_rows(vkr_gpu *gpu, const vkr_tensor *like, int64_t last, vkr_tensor *t)
{
    int64_t ne[VKR_DIMS];
    memcpy(ne, like->ne, sizeof ne);
    ne[VKR_DIM_W] = last;
    return vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, like->dtype, ne, t);
}

int vkr_attention_block_forward(vkr_gpu *gpu, const vkr_attention_block *blk, const vkr_tensor *x,
                                const vkr_tensor *context, const vkr_attention_block_args *args,
                                const vkr_tensor *out)
{
    static const vkr_attention_block_args no_args;
    const vkr_tensor *ctx = context ? context : x;
    vkr_tensor q = {0}, k = {0}, v = {0}, o = {0};
    vkr_tensor qh, kh, vh, oh;
    int rc;

    if (!args)
        args = &no_args;
    if (x->ne[VKR_DIM_W] != blk->dim || ctx->ne[VKR_DIM_W] != blk->kv_dim || out->ne[VKR_DIM_W] != blk->dim)
        return vkr_fail(VKR_E_INTERNAL, "attention block: widths x %lld, context %lld, out %lld; expected %lld, %lld",
                        (long long)x->ne[VKR_DIM_W], (long long)ctx->ne[VKR_DIM_W],
                        (long long)out->ne[VKR_DIM_W], (long long)blk->dim, (long long)blk->kv_dim);
    if ((rc = alloc_rows(gpu, x, blk->inner_dim, &q)) || (rc = alloc_rows(gpu, ctx, blk->inner_dim, &k)) ||
        (rc = alloc_rows(gpu, ctx, blk->inner_dim, &v)) || (rc = alloc_rows(gpu, x, blk->inner_dim, &o)))
        goto fail;
    /* q, k and v are independent: the barrier tracker records them back to back. */
    if ((rc = vkr_linear_forward(gpu, &blk->q, x, VKR_UNARY_IDENTITY, NULL, &q)) ||
        (rc = vkr_linear_forward(gpu, &blk->k, ctx, VKR_UNARY_IDENTITY, NULL, &k)) ||
        (rc = vkr_linear_forward(gpu, &blk->v, ctx, VKR_UNARY_IDENTITY, NULL, &v)))
        goto fail;
    /* Heads are read in place through strided [B, H, L, D] views. */
    if ((rc = vkr_attention_split_heads(&q, blk->heads, &qh)) ||
        (rc = vkr_attention_split_heads(&k, blk->heads, &kh)) ||
        (rc = vkr_attention_split_heads(&v, blk->heads, &vh)) ||
        (rc = vkr_attention_split_heads(&o, blk->heads, &oh)))
        goto fail;
    vkr_attention_params ap = {.scale = args->scale, .causal = args->causal, .mask = args->mask};
    if ((rc = vkr_op_attention(gpu, &qh, &kh, &vh, &ap, &oh)))
        goto fail;
    rc = vkr_linear_forward(gpu, &blk->out, &o, VKR_UNARY_IDENTITY, args->residual, out);
fail:
    vkr_tensor_free(gpu, &q);
    vkr_tensor_free(gpu, &k);
    vkr_tensor_free(gpu, &v);
    vkr_tensor_free(gpu, &o);
    return rc;
}
