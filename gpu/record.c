/* Recording: one command buffer per step, submitted at sync points.
 *
 * Barrier policy: every recorded access (a dispatch binding or a copy range) is
 * remembered until the next barrier. A new op gets one global memory barrier
 * (compute+transfer -> compute+transfer) before it only when
 *   - it reads or writes bytes written since the last barrier (RAW, WAW), or
 *   - it writes bytes read since the last barrier (WAR: needed because the
 *     activation allocator hands freed memory to the next op immediately).
 * Independent ops thus run back to back without barriers. Ranges are byte
 * spans of the bound windows (conservative for strided views). With
 * VKREEL_PROFILE=1 every op is fenced by a barrier so its timestamps measure it
 * alone. Descriptors are pushed (VK_KHR_push_descriptor) or, without it,
 * allocated from per-step pools that are reset after the fence.
 *
 * Dry run (gpu.h): the command buffer is begun, ended and submitted as usual,
 * but dispatches and copies return before recording anything, so it stays
 * empty; allocation order (and so every memory statistic) is unchanged. */
#include "gpu/gpu_internal.h"

#include "common/status.h"

#include <stdlib.h>
#include <string.h>

#define DESC_POOL_SETS 1024

int vkr_recorder_init(vkr_gpu *gpu)
{
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                   .queueFamilyIndex = gpu->queue_family};
    int rc = vkr_vk_check(gpu, vkCreateCommandPool(gpu->device, &pci, NULL, &gpu->cmd_pool), "vkCreateCommandPool");
    if (rc)
        return rc;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = gpu->cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    if ((rc = vkr_vk_check(gpu, vkAllocateCommandBuffers(gpu->device, &ai, &gpu->cmd), "vkAllocateCommandBuffers")))
        return rc;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    return vkr_vk_check(gpu, vkCreateFence(gpu->device, &fci, NULL, &gpu->fence), "vkCreateFence");
}

void vkr_recorder_destroy(vkr_gpu *gpu)
{
    for (uint32_t i = 0; i < gpu->n_desc_pools; i++)
        vkDestroyDescriptorPool(gpu->device, gpu->desc_pools[i], NULL);
    free(gpu->desc_pools);
    free(gpu->acc);
    if (gpu->fence)
        vkDestroyFence(gpu->device, gpu->fence, NULL);
    if (gpu->cmd_pool)
        vkDestroyCommandPool(gpu->device, gpu->cmd_pool, NULL);
}

int vkr_gpu_begin(vkr_gpu *gpu)
{
    if (gpu->lost)
        return vkr_fail(VKR_E_TEMPFAIL, "GPU device lost earlier; recreate the context");
    if (gpu->recording)
        return VKR_OK;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    int rc = vkr_vk_check(gpu, vkBeginCommandBuffer(gpu->cmd, &bi), "vkBeginCommandBuffer");
    if (rc)
        return rc;
    gpu->recording = 1;
    gpu->n_acc = 0;
    gpu->host_read_pending = 0;
    vkr_prof_reset_pool(gpu);
    return VKR_OK;
}

static void barrier(vkr_gpu *gpu, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = dst_access};
    vkCmdPipelineBarrier(gpu->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
    gpu->n_barriers++;
    gpu->n_acc = 0;
}

static void full_barrier(vkr_gpu *gpu)
{
    barrier(gpu, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                VK_ACCESS_TRANSFER_WRITE_BIT);
}

int vkr_gpu_submit_and_wait(vkr_gpu *gpu)
{
    if (gpu->lost)
        return vkr_fail(VKR_E_TEMPFAIL, "GPU device lost earlier; recreate the context");
    if (!gpu->recording)
        return VKR_OK;
    gpu->recording = 0;
    if (gpu->host_read_pending)
        barrier(gpu, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    int rc = vkr_vk_check(gpu, vkEndCommandBuffer(gpu->cmd), "vkEndCommandBuffer");
    if (rc)
        return rc;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &gpu->cmd};
    if ((rc = vkr_vk_check(gpu, vkQueueSubmit(gpu->queue, 1, &si, gpu->fence), "vkQueueSubmit"))) {
        /* the step's work is dropped; leave the recorder reusable */
        vkResetCommandPool(gpu->device, gpu->cmd_pool, 0);
        vkr_staging_reset(gpu);
        return rc;
    }
    if ((rc = vkr_vk_check(gpu, vkWaitForFences(gpu->device, 1, &gpu->fence, VK_TRUE, UINT64_MAX),
                           "vkWaitForFences")))
        return rc;
    vkr_prof_collect(gpu);
    if ((rc = vkr_vk_check(gpu, vkResetFences(gpu->device, 1, &gpu->fence), "vkResetFences")) ||
        (rc = vkr_vk_check(gpu, vkResetCommandPool(gpu->device, gpu->cmd_pool, 0), "vkResetCommandPool")))
        return rc;
    for (uint32_t i = 0; i < gpu->n_desc_pools; i++)
        vkResetDescriptorPool(gpu->device, gpu->desc_pools[i], 0);
    gpu->cur_desc_pool = 0;
    gpu->n_acc = 0;
    vkr_staging_reset(gpu);
    return VKR_OK;
}

static int overlaps(const vkr_access *a, const vkr_access *b)
{
    return a->buffer == b->buffer && a->start < b->end && b->start < a->end;
}

/* Barrier (if needed) before an op with accesses acc[0..n), then remember them. */
static int track(vkr_gpu *gpu, const vkr_access *acc, uint32_t n)
{
    int need = gpu->profile && gpu->n_acc > 0;
    for (uint32_t i = 0; i < n && !need; i++)
        for (uint32_t j = 0; j < gpu->n_acc && !need; j++)
            need = (acc[i].write || gpu->acc[j].write) && overlaps(&acc[i], &gpu->acc[j]);
    if (need)
        full_barrier(gpu);
    if (gpu->n_acc + n > gpu->cap_acc) {
        uint32_t cap = gpu->cap_acc ? 2 * gpu->cap_acc : 64;
        while (cap < gpu->n_acc + n)
            cap *= 2;
        vkr_access *p = realloc(gpu->acc, cap * sizeof *p);
        if (!p)
            return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
        gpu->acc = p;
        gpu->cap_acc = cap;
    }
    memcpy(gpu->acc + gpu->n_acc, acc, n * sizeof *acc);
    gpu->n_acc += n;
    return VKR_OK;
}

int vkr_record_copy(vkr_gpu *gpu, struct vkr_mem_block *src, uint64_t src_off, struct vkr_mem_block *dst,
                    uint64_t dst_off, uint64_t size, int to_host)
{
    int rc = vkr_gpu_begin(gpu);
    if (rc || gpu->dry_run)
        return rc;
    vkr_access acc[2] = {{src->buffer, src_off, src_off + size, 0}, {dst->buffer, dst_off, dst_off + size, 1}};
    if ((rc = track(gpu, acc, 2)))
        return rc;
    int slot = vkr_prof_begin(gpu, to_host ? "download" : "upload", 0, (double)size);
    VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
    vkCmdCopyBuffer(gpu->cmd, src->buffer, dst->buffer, 1, &region);
    vkr_prof_end(gpu, slot);
    gpu->host_read_pending |= to_host;
    return VKR_OK;
}

static int alloc_descriptor_set(vkr_gpu *gpu, VkDescriptorSet *set)
{
    for (;;) {
        if (gpu->cur_desc_pool == gpu->n_desc_pools) {
            VkDescriptorPool *p = realloc(gpu->desc_pools, (gpu->n_desc_pools + 1) * sizeof *p);
            if (!p)
                return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
            gpu->desc_pools = p;
            VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, DESC_POOL_SETS * VKR_MAX_BINDINGS};
            VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                             .maxSets = DESC_POOL_SETS,
                                             .poolSizeCount = 1,
                                             .pPoolSizes = &ps};
            int rc = vkr_vk_check(gpu, vkCreateDescriptorPool(gpu->device, &ci, NULL, &p[gpu->n_desc_pools]),
                                  "vkCreateDescriptorPool");
            if (rc)
                return rc;
            gpu->n_desc_pools++;
        }
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = gpu->desc_pools[gpu->cur_desc_pool],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &gpu->set_layout};
        VkResult r = vkAllocateDescriptorSets(gpu->device, &ai, set);
        if (r == VK_SUCCESS)
            return VKR_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return vkr_vk_check(gpu, r, "vkAllocateDescriptorSets");
        gpu->cur_desc_pool++; /* this pool is full for this step: next one */
    }
}

int vkr_dispatch(vkr_gpu *gpu, const vkr_kernel *k, const vkr_binding *b, uint32_t n_bindings, const void *push,
                 uint32_t push_size, const uint32_t groups[3], double flops, double bytes)
{
    if (n_bindings > VKR_MAX_BINDINGS || push_size > VKR_MAX_PUSH || (push_size & 3))
        return vkr_fail(VKR_E_INTERNAL, "kernel %s: %u bindings, %u push bytes", k->name, n_bindings, push_size);
    if (!groups[0] || !groups[1] || !groups[2])
        return VKR_OK; /* empty grid: nothing to do */
    if (gpu->dry_run) {
        for (uint32_t i = 0; i < n_bindings; i++) /* the same binding checks as a real dispatch */
            if (b[i].offset % gpu->info.min_storage_buffer_offset_alignment ||
                b[i].range > gpu->info.max_storage_buffer_range || b[i].offset + b[i].range > b[i].block->size)
                return vkr_fail(VKR_E_INTERNAL, "kernel %s: binding %u window [%llu, +%llu) is invalid", k->name, i,
                                (unsigned long long)b[i].offset, (unsigned long long)b[i].range);
        gpu->n_dispatches++;
        return vkr_gpu_begin(gpu);
    }
    VkPipeline pipeline;
    int rc = vkr_pipeline_get(gpu, k, &pipeline);
    if (rc || (rc = vkr_gpu_begin(gpu)))
        return rc;
    vkr_access acc[VKR_MAX_BINDINGS];
    VkDescriptorBufferInfo bi[VKR_MAX_BINDINGS];
    VkWriteDescriptorSet w[VKR_MAX_BINDINGS];
    for (uint32_t i = 0; i < n_bindings; i++) {
        if (b[i].offset % gpu->info.min_storage_buffer_offset_alignment || b[i].range > gpu->info.max_storage_buffer_range ||
            b[i].offset + b[i].range > b[i].block->size)
            return vkr_fail(VKR_E_INTERNAL, "kernel %s: binding %u window [%llu, +%llu) is invalid", k->name, i,
                            (unsigned long long)b[i].offset, (unsigned long long)b[i].range);
        acc[i] = (vkr_access){b[i].block->buffer, b[i].offset, b[i].offset + b[i].range, b[i].write};
        bi[i] = (VkDescriptorBufferInfo){b[i].block->buffer, b[i].offset, b[i].range};
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstBinding = i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &bi[i]};
    }
    if ((rc = track(gpu, acc, n_bindings)))
        return rc;
    int slot = vkr_prof_begin(gpu, k->name, flops, bytes);
    vkCmdBindPipeline(gpu->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    if (gpu->use_push_descriptor) {
        gpu->cmd_push_descriptor(gpu->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->pipeline_layout, 0, n_bindings, w);
    } else {
        VkDescriptorSet set;
        if ((rc = alloc_descriptor_set(gpu, &set)))
            return rc;
        for (uint32_t i = 0; i < n_bindings; i++)
            w[i].dstSet = set;
        vkUpdateDescriptorSets(gpu->device, n_bindings, w, 0, NULL);
        vkCmdBindDescriptorSets(gpu->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->pipeline_layout, 0, 1, &set, 0, NULL);
    }
    uint8_t pc[VKR_MAX_PUSH] = {0}; /* always push the whole range: no stale bytes */
    if (push_size)
        memcpy(pc, push, push_size);
    vkCmdPushConstants(gpu->cmd, gpu->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, VKR_MAX_PUSH, pc);
    vkCmdDispatch(gpu->cmd, groups[0], groups[1], groups[2]);
    vkr_prof_end(gpu, slot);
    gpu->n_dispatches++;
    return VKR_OK;
}

int vkr_dispatch_1d(vkr_gpu *gpu, const vkr_kernel *k, const vkr_binding *b, uint32_t n_bindings, const void *push,
                    uint32_t push_size, uint64_t n_items, double flops, double bytes)
{
    uint32_t wg = k->n_spec ? k->spec[0] : 0, groups[3];
    if (!wg)
        return vkr_fail(VKR_E_INTERNAL, "kernel %s: spec[0] (workgroup size) is 0", k->name);
    int rc = vkr_grid_1d(gpu, (n_items + wg - 1) / wg, groups);
    return rc ? rc : vkr_dispatch(gpu, k, b, n_bindings, push, push_size, groups, flops, bytes);
}

int vkr_grid_1d(vkr_gpu *gpu, uint64_t n_groups, uint32_t groups[3])
{
    const uint32_t *max = gpu->info.max_workgroup_count;
    if (n_groups == 0) {
        groups[0] = groups[1] = groups[2] = 0;
        return VKR_OK;
    }
    uint64_t x = n_groups < max[0] ? n_groups : max[0];
    uint64_t rest = (n_groups + x - 1) / x;
    uint64_t y = rest < max[1] ? rest : max[1];
    uint64_t z = (rest + y - 1) / y;
    if (z > max[2])
        return vkr_fail(VKR_E_INTERNAL, "%llu workgroups exceed the device's grid", (unsigned long long)n_groups);
    groups[0] = (uint32_t)x, groups[1] = (uint32_t)y, groups[2] = (uint32_t)z;
    return VKR_OK;
}
