/* Private to the gpu/ sources: the context structure and the functions the runtime's
 * components (context, memory, pipelines, recorder, profiler) call on each
 * other. Op wrappers use gpu/kernel.h instead. */
#ifndef VKR_GPU_INTERNAL_H
#define VKR_GPU_INTERNAL_H

#include "gpu/kernel.h"

#include <vulkan/vulkan.h>

/* ---- memory (memory.c) ---- */

typedef struct {
    uint64_t off, size;
} vkr_free_range;

struct vkr_mem_block {
    VkDeviceMemory memory;
    VkBuffer buffer; /* one buffer spanning the whole allocation */
    uint64_t size;
    void *mapped;    /* staging only */
    int kind;        /* vkr_mem_kind, or -1 for staging */
    uint64_t used;   /* weights: bump pointer; activations: bytes allocated */
    vkr_free_range *free; /* activations: sorted, coalesced */
    uint32_t n_free, cap_free;
    struct vkr_mem_block *next;
};

int vkr_mem_init(vkr_gpu *gpu);
void vkr_mem_destroy(vkr_gpu *gpu);
/* Sub-allocates from the staging ring; VKR_E_TEMPFAIL-free: when the ring is
 * full it flushes (submit + wait) and starts over. *ptr is the mapped address. */
int vkr_staging_alloc(vkr_gpu *gpu, uint64_t size, uint64_t *offset, void **ptr);
void vkr_staging_reset(vkr_gpu *gpu);

/* ---- pipelines (pipeline.c) ---- */

typedef struct {
    const vkr_shader_code *shader;
    uint32_t spec[VKR_MAX_SPEC], n_spec, subgroup_size;
    VkPipeline pipeline;
} vkr_pipeline_entry;

int vkr_pipelines_init(vkr_gpu *gpu);
void vkr_pipelines_destroy(vkr_gpu *gpu);
int vkr_pipeline_get(vkr_gpu *gpu, const vkr_kernel *k, VkPipeline *out);

/* ---- recorder (record.c) ---- */

typedef struct {
    VkBuffer buffer;
    uint64_t start, end;
    int write;
} vkr_access;

int vkr_recorder_init(vkr_gpu *gpu);
void vkr_recorder_destroy(vkr_gpu *gpu);
/* Records buffer copies (uploads/downloads go through these). */
int vkr_record_copy(vkr_gpu *gpu, struct vkr_mem_block *src, uint64_t src_off,
                    struct vkr_mem_block *dst, uint64_t dst_off, uint64_t size, int to_host);

/* ---- profiler (profiler.c) ---- */

typedef struct {
    const char *name;
    uint64_t calls, timed; /* timed <= calls: the query pool may run out */
    double total_ns, flops, bytes; /* flops/bytes of the timed calls */
} vkr_prof_row;

int vkr_prof_init(vkr_gpu *gpu);
void vkr_prof_destroy(vkr_gpu *gpu);
/* Around a recorded op; returns the slot to pass to vkr_prof_end (-1: untimed). */
int vkr_prof_begin(vkr_gpu *gpu, const char *name, double flops, double bytes);
void vkr_prof_end(vkr_gpu *gpu, int slot);
void vkr_prof_reset_pool(vkr_gpu *gpu); /* recorded at command buffer begin */
void vkr_prof_collect(vkr_gpu *gpu);    /* after the fence */
void vkr_prof_print(vkr_gpu *gpu);

/* ---- the context ---- */

struct vkr_gpu {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    vkr_device_info info;
    int validate, profile, lost;
    int dry_run; /* vkr_gpu_options.dry_run: allocate, record nothing (gpu.h) */
    uint64_t dry_run_heap; /* dry run: emulated device memory size in bytes (0: none) */
    unsigned validation_count;
    char validation_last[1024];

    /* memory */
    uint64_t block_size, max_range, align;
    uint32_t device_type_index, staging_type_index;
    int staging_coherent;
    struct vkr_mem_block *weights, *activations, *staging;
    uint64_t staging_head, staging_size;
    uint64_t allocated, allocated_peak, in_use, in_use_peak;
    unsigned n_blocks;

    /* pipelines */
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout pipeline_layout;
    VkPipelineCache cache;
    char cache_path[1024];
    vkr_pipeline_entry *pipes;
    uint32_t n_pipes, cap_pipes;

    /* recorder */
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    int recording;
    vkr_access *acc;
    uint32_t n_acc, cap_acc;
    int host_read_pending;
    int use_push_descriptor;
    PFN_vkCmdPushDescriptorSetKHR cmd_push_descriptor;
    VkDescriptorPool *desc_pools; /* fallback without VK_KHR_push_descriptor */
    uint32_t n_desc_pools, cur_desc_pool;
    uint64_t n_dispatches, n_barriers;

    /* profiler */
    VkQueryPool query_pool;
    uint32_t n_queries, max_queries;
    struct vkr_prof_pending {
        int row;
    } *pending;
    vkr_prof_row *rows;
    uint32_t n_rows, cap_rows;
};

/* Maps a VkResult to a status (VK_SUCCESS -> 0; out of memory, device lost,
 * no driver -> VKR_E_TEMPFAIL; others -> VKR_E_INTERNAL) with "what: VK_...". */
int vkr_vk_check(vkr_gpu *gpu, VkResult r, const char *what);
const char *vkr_vk_result_name(VkResult r);

/* Device selection and description (device_info.c). */
int vkr_device_describe(VkInstance inst, VkPhysicalDevice pd, uint32_t index, vkr_device_info *info);
int vkr_device_pick(vkr_device_info *devs, int n, const char *spec, int *picked);

#endif
