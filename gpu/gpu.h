/* vkreel GPU runtime: one explicit context object (no globals) that owns the
 * Vulkan instance, the chosen device, its compute queue, the memory arenas,
 * the pipeline cache and the command recorder.
 *
 *   vkr_gpu *gpu;
 *   if ((rc = vkr_gpu_create(&(vkr_gpu_options){.device = "0"}, &gpu))) return rc;
 *   ... vkr_tensor_alloc / upload / ops (recorded) / download ...
 *   rc = vkr_gpu_submit_and_wait(gpu);
 *   vkr_gpu_destroy(gpu);
 *
 * Ops are recorded into one command buffer per step; the first recorded op opens
 * it, vkr_gpu_submit_and_wait() ends, submits and waits. Downloads are implicit
 * sync points. See docs/gpu.md for the architecture and how to add a kernel.
 *
 * A context is not thread-safe: use it from one thread at a time. */
#ifndef VKR_GPU_H
#define VKR_GPU_H

#include <stddef.h>
#include <stdint.h>

typedef struct vkr_gpu vkr_gpu;

typedef struct {
    const char *device;      /* index | name substring | UUID; NULL: $VKREEL_DEVICE, else auto */
    int validate;            /* 0: from $VKREEL_VALIDATE, 1: force on, -1: force off */
    int profile;             /* 0: from $VKREEL_PROFILE, 1: force on, -1: force off */
    uint64_t block_size;     /* device memory block size (0: 256 MiB, capped by the driver) */
    uint64_t staging_size;   /* host-visible staging ring size (0: 64 MiB) */
    uint64_t max_binding_range; /* 0: the driver's maxStorageBufferRange; smaller values
                                 * (tests) force the multi-range code paths */
    int dry_run;             /* 0: from $VKREEL_DRY_RUN, 1: force on, -1: force off (see below) */
    uint64_t dry_run_limit;  /* dry run only: bytes to use as maxMemoryAllocationSize and
                              * maxStorageBufferRange (capped at 4 GiB - 1) instead of the
                              * device's (0: $VKREEL_DRY_RUN_LIMIT_MIB, else the device's) */
    uint64_t dry_run_heap;   /* dry run only: device memory blocks fail to allocate beyond this
                              * many bytes in all, as on a GPU with that much memory (0:
                              * $VKREEL_DRY_RUN_HEAP_MIB, else unlimited) */
} vkr_gpu_options;

/* Creates a context on the selected device; opt may be NULL (all defaults,
 * i.e. everything from the environment). No usable device, out of memory or
 * a lost device are VKR_E_TEMPFAIL (the CLI exits 75); a bad --device spec is
 * VKR_E_USAGE. */
int vkr_gpu_create(const vkr_gpu_options *opt, vkr_gpu **out);

/* Dry run (memory planning): tensors are allocated and freed exactly as in a
 * real run, in the same order and from the same arenas, but dispatches and
 * copies are not recorded (no pipelines are built, nothing runs) and
 * downloads return zeros. Everything the memory statistics report is then
 * what a real run of the same work reports, with no compute: a full-size
 * UNet step or VAE decode can be planned on lavapipe in seconds. Only code
 * whose allocations depend on downloaded values would differ (none of the
 * models do). dry_run_limit plans for a device whose allocation / binding
 * limits are larger than this one's (lavapipe: 2 GiB / 128 MiB; discrete
 * GPUs: about 4 GiB for both); dry_run_heap, for a device with less memory:
 * a block that would exceed it fails as out of device memory, so the
 * allocator's own recovery (release empty blocks, retry without slack) runs
 * as it would there, and the run says whether the work fits. */
int vkr_gpu_is_dry_run(const vkr_gpu *gpu);

/* Waits for the device, prints the profile table (VKREEL_PROFILE=1), saves the
 * pipeline cache and frees everything. NULL is fine. */
void vkr_gpu_destroy(vkr_gpu *gpu);

/* Opens the step's command buffer if it is not open yet (ops do this themselves). */
int vkr_gpu_begin(vkr_gpu *gpu);

/* Ends, submits and waits for everything recorded since the last sync point.
 * Releases the staging ring. No-op when nothing was recorded. */
int vkr_gpu_submit_and_wait(vkr_gpu *gpu);

/* Validation messages (warnings + errors) seen so far; the test harness fails a
 * test when this is non-zero. `last` (may be NULL) gets the last message. */
unsigned vkr_gpu_validation_count(const vkr_gpu *gpu, const char **last);

/* Device memory statistics in bytes: allocated now / at peak (VkDeviceMemory),
 * and in use by tensors now / at peak (sub-allocations). */
typedef struct {
    uint64_t device_allocated, device_allocated_peak;
    uint64_t tensors_in_use, tensors_in_use_peak;
    uint64_t staging_size;
    unsigned device_blocks;
} vkr_gpu_mem_stats;
void vkr_gpu_memory_stats(const vkr_gpu *gpu, vkr_gpu_mem_stats *st);
/* Resets both peaks (device_allocated_peak, tensors_in_use_peak) to the
 * current values, so the next stats call reports the peak of one stage. */
void vkr_gpu_memory_reset_peak(vkr_gpu *gpu);

/* Restarts both peaks at the current values, so that the next
 * vkr_gpu_memory_stats() reports the peak of one phase (per-stage reports). */
void vkr_gpu_memory_reset_peak(vkr_gpu *gpu);

/* Releases activation blocks that are completely free (after a phase ends). */
int vkr_gpu_trim(vkr_gpu *gpu);

/* ---- Device description (vkreel devices, selection) ---- */

#define VKR_MAX_HEAPS 16
#define VKR_MAX_COOPMAT 64

typedef struct {
    uint32_t m, n, k;
    int a_type, b_type, c_type, result_type; /* VkComponentTypeKHR values */
    int saturating;
    int scope; /* VkScopeKHR */
} vkr_coopmat_shape;

typedef struct {
    uint32_t index; /* Vulkan enumeration order */
    char name[256];
    int type;               /* VkPhysicalDeviceType */
    char driver_name[256];
    char driver_info[256];
    uint32_t api_version, driver_version, vendor_id, device_id;
    uint8_t uuid[16];
    int has_uuid;
    int has_pci;
    uint32_t pci_domain, pci_bus, pci_device, pci_function;
    uint32_t n_heaps;
    uint64_t heap_size[VKR_MAX_HEAPS];
    int heap_device_local[VKR_MAX_HEAPS];
    uint32_t subgroup_size, subgroup_min, subgroup_max;
    int subgroup_size_control;
    int shader_fp16, storage_16bit, shader_int16, shader_int8, storage_8bit, bf16;
    int push_descriptor;
    int timestamps;
    float timestamp_period_ns;
    int coopmat;
    uint32_t n_coopmat;
    vkr_coopmat_shape coopmat_shapes[VKR_MAX_COOPMAT];
    uint64_t max_storage_buffer_range, max_memory_allocation_size;
    uint64_t min_storage_buffer_offset_alignment;
    uint32_t max_workgroup_count[3], max_workgroup_size[3], max_workgroup_invocations;
    uint32_t max_push_constants;
    int usable; /* Vulkan >= 1.2 with a compute queue */
    int visible; /* not hidden by CUDA_VISIBLE_DEVICES / SLURM_JOB_GPUS */
} vkr_device_info;

/* Lists every Vulkan device (own temporary instance). *picked is the index that
 * vkr_gpu_create() would choose with this `spec` (NULL: $VKREEL_DEVICE / auto),
 * or -1 with the reason in vkr_last_error() (the list is still filled, so a
 * caller can show it). Free *list with free(). */
int vkr_gpu_list_devices(const char *spec, vkr_device_info **list, int *count, int *picked);

/* The device the context runs on. */
const vkr_device_info *vkr_gpu_device(const vkr_gpu *gpu);

/* Helpers for printing. */
const char *vkr_device_type_name(int vk_type);
const char *vkr_component_type_name(int vk_component_type);
void vkr_uuid_format(const uint8_t uuid[16], char out[37]);

#endif
