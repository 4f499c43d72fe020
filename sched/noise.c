/* Counter-based noise (see noise.h for the specification). */
#include "sched/noise.h"

#include "common/status.h"
#include "model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

void vkr_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) { /* the key schedule bumps the key before rounds 2..10 */
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        const uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        const uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        const uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

static void normals_of_block(uint64_t seed, uint64_t stream, uint64_t block, float z[4])
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t w[4];
    vkr_philox4x32_10(ctr, key, w);
    for (int p = 0; p < 2; p++) {
        const double u_r = ((double)w[2 * p] + 0.5) * 0x1p-32;
        const double u_t = ((double)w[2 * p + 1] + 0.5) * 0x1p-32;
        const double r = sqrt(-2.0 * log(u_r));
        const double theta = 2.0 * M_PI * u_t;
        z[2 * p] = (float)(r * cos(theta));
        z[2 * p + 1] = (float)(r * sin(theta));
    }
}

void vkr_noise_normal(uint64_t seed, uint64_t stream, uint64_t first, float *out, size_t n)
{
    size_t k = 0;
    while (k < n) {
        const uint64_t idx = first + k;
        const uint64_t block = idx / 4;
        const unsigned lane = (unsigned)(idx % 4);
        float z[4];
        normals_of_block(seed, stream, block, z);
        for (unsigned j = lane; j < 4 && k < n; j++)
            out[k++] = z[j];
    }
}

/* Shape with leading 1-sized dimensions dropped. */
static int squeeze_leading(const int64_t *shape, int ndim, const int64_t **out)
{
    while (ndim > 1 && shape[0] == 1)
        shape++, ndim--;
    *out = shape;
    return ndim;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "(");
    for (int d = 0; d < ndim && o < len; d++)
        o += (size_t)snprintf(buf + o, len - o, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (o < len)
        snprintf(buf + o, len - o, ")");
}

int vkr_noise_load_latents(const char *path, const int64_t *shape, int ndim, float *out)
{
    vkr_safetensors st;
    int rc = vkr_st_open(&st, path);
    if (rc)
        return rc;
    const vkr_st_tensor *t = vkr_st_find(&st, "latents");
    if (!t)
        t = vkr_st_find(&st, "in.latents");
    if (!t && st.n_tensors == 1)
        t = &st.tensors[0];
    if (!t) {
        rc = vkr_fail(VKR_E_DATA, "%s: no tensor named \"latents\" (and %d tensors, not one)", path, st.n_tensors);
        goto done;
    }
    const int64_t *a, *b;
    int na = squeeze_leading(t->shape, t->ndim, &a), nb = squeeze_leading(shape, ndim, &b);
    if (na != nb || memcmp(a, b, (size_t)na * sizeof *a) != 0) {
        char have[160], want[160];
        shape_str(t->shape, t->ndim, have, sizeof have);
        shape_str(shape, ndim, want, sizeof want);
        rc = vkr_fail(VKR_E_DATA, "%s: tensor \"%s\" has shape %s, the render needs latents of shape %s", path,
                      t->name, have, want);
        goto done;
    }
    rc = vkr_st_to_f32(t, out);
    if (rc)
        rc = vkr_fail_context(rc, "%s: tensor \"%s\"", path, t->name);
done:
    vkr_st_close(&st);
    return rc;
}
