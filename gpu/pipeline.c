/* Pipelines: one descriptor-set layout and one pipeline layout shared by every
 * kernel (VKR_MAX_BINDINGS storage buffers + VKR_MAX_PUSH bytes of push
 * constants), compute pipelines created lazily per (SPIR-V module,
 * specialization constants, required subgroup size) and kept for the life of
 * the context, and a VkPipelineCache persisted in
 * $XDG_CACHE_HOME/vkreel (or ~/.cache/vkreel), one file per driver build
 * (vendor, device and pipelineCacheUUID in the name; the driver also validates
 * the header). VKREEL_PIPELINE_CACHE=0 disables the file. */
#include "gpu/gpu_internal.h"

#include "common/atomic_file.h"
#include "common/log.h"
#include "common/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CACHE_FILE (256u << 20)

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int bad = mkdir(path, 0755) != 0 && errno != EEXIST;
        *p = '/';
        if (bad)
            return -1;
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Sets gpu->cache_path (empty when disabled/unavailable) and creates its directory. */
static void cache_path(vkr_gpu *gpu, const VkPhysicalDeviceProperties *p)
{
    gpu->cache_path[0] = 0;
    const char *env = getenv("VKREEL_PIPELINE_CACHE");
    if (env && strcmp(env, "0") == 0)
        return;
    char dir[900];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/vkreel", xdg);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.cache/vkreel", home);
    else
        return;
    if (make_dirs(dir) != 0) {
        vkr_debug("pipeline cache disabled: cannot create %s", dir);
        return;
    }
    char uuid[37];
    vkr_uuid_format(p->pipelineCacheUUID, uuid);
    snprintf(gpu->cache_path, sizeof gpu->cache_path, "%s/pipelines-%04x-%04x-%s.bin", dir, p->vendorID,
             p->deviceID, uuid);
}

/* VkPipelineCacheHeaderVersionOne: a stale or foreign file is dropped here
 * rather than trusting every driver to reject it. */
static int cache_header_ok(const char *data, size_t len, const VkPhysicalDeviceProperties *p)
{
    uint32_t h[4];
    if (len < 32)
        return 0;
    memcpy(h, data, sizeof h);
    return h[0] >= 32 && h[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && h[2] == p->vendorID &&
           h[3] == p->deviceID && memcmp(data + 16, p->pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

int vkr_pipelines_init(vkr_gpu *gpu)
{
    VkDescriptorSetLayoutBinding b[VKR_MAX_BINDINGS];
    for (uint32_t i = 0; i < VKR_MAX_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .flags = gpu->use_push_descriptor ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
        .bindingCount = VKR_MAX_BINDINGS,
        .pBindings = b};
    int rc = vkr_vk_check(gpu, vkCreateDescriptorSetLayout(gpu->device, &dci, NULL, &gpu->set_layout),
                          "vkCreateDescriptorSetLayout");
    if (rc)
        return rc;
    if (gpu->info.max_push_constants < VKR_MAX_PUSH)
        return vkr_fail(VKR_E_TEMPFAIL, "%s: maxPushConstantsSize %u < %u", gpu->info.name,
                        gpu->info.max_push_constants, VKR_MAX_PUSH);
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VKR_MAX_PUSH};
    VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                      .setLayoutCount = 1,
                                      .pSetLayouts = &gpu->set_layout,
                                      .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &pcr};
    if ((rc = vkr_vk_check(gpu, vkCreatePipelineLayout(gpu->device, &lci, NULL, &gpu->pipeline_layout),
                           "vkCreatePipelineLayout")))
        return rc;

    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(gpu->phys, &props);
    cache_path(gpu, &props);
    char *data = NULL;
    size_t len = 0;
    if (gpu->cache_path[0] && vkr_read_file(gpu->cache_path, MAX_CACHE_FILE, &data, &len) == VKR_OK &&
        !cache_header_ok(data, len, &props)) {
        vkr_debug("ignoring stale pipeline cache %s", gpu->cache_path);
        len = 0;
    }
    vkr_clear_error();
    VkPipelineCacheCreateInfo cci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                     .initialDataSize = data ? len : 0,
                                     .pInitialData = data};
    rc = vkr_vk_check(gpu, vkCreatePipelineCache(gpu->device, &cci, NULL, &gpu->cache), "vkCreatePipelineCache");
    free(data);
    return rc;
}

static void save_cache(vkr_gpu *gpu)
{
    size_t size = 0;
    if (!gpu->cache_path[0] || !gpu->n_pipes ||
        vkGetPipelineCacheData(gpu->device, gpu->cache, &size, NULL) != VK_SUCCESS || !size)
        return;
    void *data = malloc(size);
    if (data && vkGetPipelineCacheData(gpu->device, gpu->cache, &size, data) == VK_SUCCESS &&
        vkr_write_file_atomic(gpu->cache_path, data, size) != VKR_OK)
        vkr_debug("pipeline cache not saved: %s", vkr_last_error());
    free(data);
}

void vkr_pipelines_destroy(vkr_gpu *gpu)
{
    if (gpu->cache) {
        save_cache(gpu);
        vkDestroyPipelineCache(gpu->device, gpu->cache, NULL);
    }
    for (uint32_t i = 0; i < gpu->n_pipes; i++)
        vkDestroyPipeline(gpu->device, gpu->pipes[i].pipeline, NULL);
    free(gpu->pipes);
    if (gpu->pipeline_layout)
        vkDestroyPipelineLayout(gpu->device, gpu->pipeline_layout, NULL);
    if (gpu->set_layout)
        vkDestroyDescriptorSetLayout(gpu->device, gpu->set_layout, NULL);
}

static int same_key(const vkr_pipeline_entry *e, const vkr_kernel *k)
{
    return e->shader == k->shader && e->n_spec == k->n_spec && e->subgroup_size == k->subgroup_size &&
           memcmp(e->spec, k->spec, k->n_spec * sizeof k->spec[0]) == 0;
}

static int create_pipeline(vkr_gpu *gpu, const vkr_kernel *k, VkPipeline *out)
{
    VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = k->shader->size,
                                    .pCode = k->shader->words};
    VkShaderModule module;
    int rc = vkr_vk_check(gpu, vkCreateShaderModule(gpu->device, &mci, NULL, &module), "vkCreateShaderModule");
    if (rc)
        return vkr_fail_context(rc, "shader %s", k->shader->name);
    VkSpecializationMapEntry map[VKR_MAX_SPEC];
    for (uint32_t i = 0; i < k->n_spec; i++)
        map[i] = (VkSpecializationMapEntry){.constantID = i, .offset = 4 * i, .size = 4};
    VkSpecializationInfo si = {.mapEntryCount = k->n_spec,
                               .pMapEntries = map,
                               .dataSize = 4 * k->n_spec,
                               .pData = k->spec};
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfoEXT sgs = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO_EXT,
        .requiredSubgroupSize = k->subgroup_size};
    if (k->subgroup_size && (!gpu->info.subgroup_size_control || k->subgroup_size < gpu->info.subgroup_min ||
                             k->subgroup_size > gpu->info.subgroup_max)) {
        vkDestroyShaderModule(gpu->device, module, NULL);
        return vkr_fail(VKR_E_INTERNAL, "%s: subgroup size %u not supported (%u..%u)", k->name,
                        k->subgroup_size, gpu->info.subgroup_min, gpu->info.subgroup_max);
    }
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .pNext = k->subgroup_size ? &sgs : NULL,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module,
                  .pName = "main",
                  .pSpecializationInfo = k->n_spec ? &si : NULL},
        .layout = gpu->pipeline_layout};
    rc = vkr_vk_check(gpu, vkCreateComputePipelines(gpu->device, gpu->cache, 1, &ci, NULL, out),
                      "vkCreateComputePipelines");
    vkDestroyShaderModule(gpu->device, module, NULL);
    return rc ? vkr_fail_context(rc, "shader %s", k->shader->name) : VKR_OK;
}

/* A linear scan: a whole model uses on the order of a hundred pipelines and the
 * lookup is tiny next to recording a dispatch. */
int vkr_pipeline_get(vkr_gpu *gpu, const vkr_kernel *k, VkPipeline *out)
{
    if (!k->shader || k->n_spec > VKR_MAX_SPEC)
        return vkr_fail(VKR_E_INTERNAL, "kernel %s: no shader or too many specialization constants",
                        k->name ? k->name : "?");
    for (uint32_t i = 0; i < gpu->n_pipes; i++)
        if (same_key(&gpu->pipes[i], k)) {
            *out = gpu->pipes[i].pipeline;
            return VKR_OK;
        }
    if (gpu->n_pipes == gpu->cap_pipes) {
        uint32_t cap = gpu->cap_pipes ? 2 * gpu->cap_pipes : 32;
        vkr_pipeline_entry *p = realloc(gpu->pipes, cap * sizeof *p);
        if (!p)
            return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
        gpu->pipes = p;
        gpu->cap_pipes = cap;
    }
    vkr_pipeline_entry *e = &gpu->pipes[gpu->n_pipes];
    memset(e, 0, sizeof *e);
    int rc = create_pipeline(gpu, k, &e->pipeline);
    if (rc)
        return rc;
    e->shader = k->shader;
    e->n_spec = k->n_spec;
    e->subgroup_size = k->subgroup_size;
    memcpy(e->spec, k->spec, k->n_spec * sizeof k->spec[0]);
    gpu->n_pipes++;
    *out = e->pipeline;
    return VKR_OK;
}
