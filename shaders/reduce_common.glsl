/* Workgroup reductions for the normalisation / reduction kernels (groupnorm_*,
 * layernorm, softmax, l2norm, reduce_rows). Include after common.glsl and after
 * `layout(local_size_x_id = 0) in;`. The workgroup size must be a power of two
 * (the host wrappers only pick 32, 64, 128 or 256). Every function ends with a
 * barrier, so the shared arrays can be reused by the next call right away. */

shared float vkr_red_a[gl_WorkGroupSize.x];
shared float vkr_red_b[gl_WorkGroupSize.x];
shared float vkr_red_c[gl_WorkGroupSize.x];

float vkr_wg_sum(float v)
{
    uint t = gl_LocalInvocationID.x;
    vkr_red_a[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s)
            vkr_red_a[t] += vkr_red_a[t + s];
        barrier();
    }
    float r = vkr_red_a[0];
    barrier();
    return r;
}

float vkr_wg_max(float v)
{
    uint t = gl_LocalInvocationID.x;
    vkr_red_a[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s)
            vkr_red_a[t] = max(vkr_red_a[t], vkr_red_a[t + s]);
        barrier();
    }
    float r = vkr_red_a[0];
    barrier();
    return r;
}

/* Chan et al.'s parallel combination of two (count, mean, M2) partials, where
 * M2 = sum (x - mean)^2. Stable for any split: no E[x^2] - E[x]^2. */
void vkr_chan_merge(inout float n, inout float mean, inout float m2, float nb, float meanb, float m2b)
{
    float nn = n + nb;
    if (nb == 0.0)
        return;
    if (n == 0.0) {
        n = nb, mean = meanb, m2 = m2b;
        return;
    }
    float delta = meanb - mean;
    float fb = nb / nn;
    mean = mean + delta * fb;
    m2 = m2 + m2b + delta * delta * n * fb;
    n = nn;
}

/* Workgroup-wide Chan merge of per-invocation Welford partials; every
 * invocation gets the totals. */
void vkr_wg_welford(inout float n, inout float mean, inout float m2)
{
    uint t = gl_LocalInvocationID.x;
    vkr_red_a[t] = n;
    vkr_red_b[t] = mean;
    vkr_red_c[t] = m2;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            float na = vkr_red_a[t], ma = vkr_red_b[t], qa = vkr_red_c[t];
            vkr_chan_merge(na, ma, qa, vkr_red_a[t + s], vkr_red_b[t + s], vkr_red_c[t + s]);
            vkr_red_a[t] = na, vkr_red_b[t] = ma, vkr_red_c[t] = qa;
        }
        barrier();
    }
    n = vkr_red_a[0], mean = vkr_red_b[0], m2 = vkr_red_c[0];
    barrier();
}

/* Coordinates of row r in the 4 outer dims (extents ne0..ne3), W is the row. */
void vkr_row_coords(uint r, uint ne[5], out uint c[4])
{
    c[3] = r % ne[3];
    r /= ne[3];
    c[2] = r % ne[2];
    r /= ne[2];
    c[1] = r % ne[1];
    c[0] = r / ne[1];
}

uint vkr_row_offset(uint c[4], uint nb[5])
{
    return c[0] * nb[0] + c[1] * nb[1] + c[2] * nb[2] + c[3] * nb[3];
}
