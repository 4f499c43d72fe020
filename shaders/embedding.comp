/* Embedding lookup: y[r, :] = table[ids[r], :] (+ pos[r % seq, :]).
 * ids are int32 (uploaded by vkr_embedding_ids_upload, which checks the
 * range on the host). The table may exceed one binding window: the host
 * binds rows [row0, row0 + n_tab_rows) per dispatch and each invocation
 * writes only when its id falls in that window. One invocation per output
 * element. table: A_TYPE, pos: B_TYPE, y: D_TYPE. */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HAS_POS = 0;

layout(std430, binding = 0) readonly buffer BufI { int ids[]; };
layout(std430, binding = 1) readonly buffer BufT { A_T tab[]; };
layout(std430, binding = 2) readonly buffer BufP { B_T pos[]; };
layout(std430, binding = 3) writeonly buffer BufY { D_T y[]; };

layout(push_constant) uniform Push {
    uint rows, dim, seq;
    uint off_i, nb_i;
    uint off_t, nb_t_row, nb_t_col;
    uint off_p, nb_p_row, nb_p_col;
    uint off_y, nb_y_row, nb_y_col;
    int row0, n_tab_rows;
} p;

void main()
{
    uint i = VKR_GLOBAL_INDEX();
    if (i >= p.rows * p.dim)
        return;
    uint r = i / p.dim, c = i - r * p.dim;
    int id = ids[p.off_i + r * p.nb_i] - p.row0;
    if (id < 0 || id >= p.n_tab_rows)
        return; /* another dispatch covers this row of the table */
    float v = A_LOAD(tab[p.off_t + uint(id) * p.nb_t_row + c * p.nb_t_col]);
    if (HAS_POS != 0)
        v += B_LOAD(pos[p.off_p + (r % p.seq) * p.nb_p_row + c * p.nb_p_col]);
    y[p.off_y + r * p.nb_y_row + c * p.nb_y_col] = D_STORE(v);
}
