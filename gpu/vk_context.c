/* The Vulkan context: instance (+ validation layer and debug messenger when
 * VKREEL_VALIDATE=1), device selection, logical device with the optional
 * features vkreel uses, one compute queue. Memory, pipelines, recording and
 * profiling are set up by their own files (memory.c, pipeline.c, record.c,
 * profiler.c). */
#include "gpu/gpu_internal.h"
#include "gpu/vk_compat.h"

#include "common/log.h"
#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

const char *vkr_vk_result_name(VkResult r)
{
    switch (r) {
#define C(x) case x: return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY) C(VK_ERROR_INITIALIZATION_FAILED)
    C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED) C(VK_ERROR_LAYER_NOT_PRESENT)
    C(VK_ERROR_EXTENSION_NOT_PRESENT) C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
    C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_FRAGMENTED_POOL)
    C(VK_ERROR_UNKNOWN) C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    C(VK_ERROR_FRAGMENTATION) C(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS) C(VK_PIPELINE_COMPILE_REQUIRED)
#undef C
    default: return "VK_ERROR_(unknown)";
    }
}

int vkr_vk_check(vkr_gpu *gpu, VkResult r, const char *what)
{
    if (r == VK_SUCCESS)
        return VKR_OK;
    switch (r) {
    case VK_ERROR_DEVICE_LOST:
        if (gpu)
            gpu->lost = 1;
        return vkr_fail(VKR_E_TEMPFAIL, "%s: %s (GPU reset or driver crash; retry)", what,
                        vkr_vk_result_name(r));
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTATION:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_TOO_MANY_OBJECTS:
        return vkr_fail(VKR_E_TEMPFAIL, "%s: %s (out of GPU memory; retry with a smaller job or a "
                        "free GPU)", what, vkr_vk_result_name(r));
    case VK_ERROR_INITIALIZATION_FAILED:
    case VK_ERROR_INCOMPATIBLE_DRIVER:
        return vkr_fail(VKR_E_TEMPFAIL, "%s: %s (no usable Vulkan driver)", what, vkr_vk_result_name(r));
    default:
        return vkr_fail(VKR_E_INTERNAL, "%s: %s", what, vkr_vk_result_name(r));
    }
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                       VkDebugUtilsMessageTypeFlagsEXT type,
                                                       const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                       void *user)
{
    vkr_gpu *gpu = user;
    const char *msg = data && data->pMessage ? data->pMessage : "(no message)";
    int serious = sev & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT);
    if (serious && (type & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                            VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT))) {
        gpu->validation_count++;
        snprintf(gpu->validation_last, sizeof gpu->validation_last, "%s", msg);
        vkr_warn("vulkan validation: %s", msg);
    } else {
        vkr_debug("vulkan: %s", msg);
    }
    return VK_FALSE;
}

static int has_instance_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n)
        return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(p[i].layerName, name) == 0;
    free(p);
    return found;
}

static int has_instance_extension(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || !n)
        return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceExtensionProperties(NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static int create_instance(vkr_gpu *gpu)
{
    const char *layers[1];
    const char *exts[2];
    uint32_t n_layers = 0, n_exts = 0;
    VkInstanceCreateFlags flags = 0;
    if (gpu->validate) {
        if (has_instance_layer(VALIDATION_LAYER) && has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
            layers[n_layers++] = VALIDATION_LAYER;
            exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        } else {
            vkr_warn("VKREEL_VALIDATE: %s is not installed; running without validation", VALIDATION_LAYER);
            gpu->validate = 0;
        }
    }
    if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    /* Synchronization validation checks the barrier tracker (record.c). */
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    const char *mode = getenv("VKREEL_VALIDATE");
    int sync = !(mode && strcmp(mode, "nosync") == 0); /* its tracking is the slow part */
    VkValidationFeaturesEXT vf = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                  .enabledValidationFeatureCount = (uint32_t)sync,
                                  .pEnabledValidationFeatures = enables};
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .pNext = &vf,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_debug_message,
        .pUserData = gpu};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "vkreel",
                             .pEngineName = "vkreel", .apiVersion = VK_API_VERSION_1_2};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = gpu->validate ? &mci : NULL, /* covers create/destroy too */
                               .flags = flags,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = n_layers,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = n_exts,
                               .ppEnabledExtensionNames = exts};
    int rc = vkr_vk_check(gpu, vkCreateInstance(&ci, NULL, &gpu->instance), "vkCreateInstance");
    if (rc)
        return vkr_fail_context(rc, "no Vulkan driver");
    if (gpu->validate) {
        PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            gpu->instance, "vkCreateDebugUtilsMessengerEXT");
        mci.pNext = NULL;
        if (!create)
            return vkr_fail(VKR_E_INTERNAL, "vkCreateDebugUtilsMessengerEXT missing");
        rc = vkr_vk_check(gpu, create(gpu->instance, &mci, NULL, &gpu->messenger),
                          "vkCreateDebugUtilsMessengerEXT");
    }
    return rc;
}

static int select_device(vkr_gpu *gpu, const char *spec)
{
    uint32_t n = 0;
    int rc = vkr_vk_check(gpu, vkEnumeratePhysicalDevices(gpu->instance, &n, NULL), "vkEnumeratePhysicalDevices");
    if (rc)
        return rc;
    if (n == 0)
        return vkr_fail(VKR_E_TEMPFAIL, "no Vulkan device found");
    VkPhysicalDevice *pds = calloc(n, sizeof *pds);
    vkr_device_info *devs = calloc(n, sizeof *devs);
    int picked = -1;
    if (!pds || !devs) {
        rc = vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
        goto fail;
    }
    if ((rc = vkr_vk_check(gpu, vkEnumeratePhysicalDevices(gpu->instance, &n, pds), "vkEnumeratePhysicalDevices")))
        goto fail;
    for (uint32_t i = 0; i < n; i++)
        vkr_device_describe(gpu->instance, pds[i], i, &devs[i]);
    if ((rc = vkr_device_pick(devs, (int)n, spec, &picked)))
        goto fail;
    gpu->phys = pds[picked];
    gpu->info = devs[picked];
    if (gpu->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU && !(spec && *spec) && !getenv("VKREEL_DEVICE"))
        vkr_warn("no GPU found: running on the CPU Vulkan device '%s' (slow)", gpu->info.name);
fail:
    free(pds);
    free(devs);
    return rc;
}

static int create_device(vkr_gpu *gpu)
{
    const vkr_device_info *info = &gpu->info;
    uint32_t nq = 0;
    VkQueueFamilyProperties qf[32];
    vkGetPhysicalDeviceQueueFamilyProperties(gpu->phys, &nq, NULL);
    if (nq > 32)
        nq = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(gpu->phys, &nq, qf);
    int family = -1;
    for (uint32_t i = 0; i < nq; i++)
        if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) &&
            (family < 0 || (qf[i].timestampValidBits && !qf[family].timestampValidBits)))
            family = (int)i;
    if (family < 0)
        return vkr_fail(VKR_E_TEMPFAIL, "%s has no compute queue", info->name);
    gpu->queue_family = (uint32_t)family;
    if (!qf[family].timestampValidBits)
        gpu->info.timestamps = 0;

    const char *exts[8];
    uint32_t n_exts = 0;
    if (info->push_descriptor && !env_flag("VKREEL_NO_PUSH_DESCRIPTOR"))
        exts[n_exts++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
    /* Enabled as an extension even on 1.3 devices: the instance targets Vulkan
     * 1.2, which caps the device's effective API version at 1.2. */
    if (info->subgroup_size_control)
        exts[n_exts++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
    if (info->coopmat)
        exts[n_exts++] = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
    if (info->bf16)
        exts[n_exts++] = VK_KHR_SHADER_BFLOAT16_EXTENSION_NAME;
    if (vkr_has_device_extension(gpu->phys, "VK_KHR_portability_subset"))
        exts[n_exts++] = "VK_KHR_portability_subset";

    /* Enable exactly what vkreel uses (not everything supported: e.g. robust
     * buffer access costs performance). */
    VkPhysicalDeviceShaderBfloat16FeaturesKHR bf16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_BFLOAT16_FEATURES_KHR,
        .shaderBFloat16Type = VK_TRUE};
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR cm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
        .pNext = info->bf16 ? &bf16 : NULL, .cooperativeMatrix = VK_TRUE};
    void *tail = info->coopmat ? (void *)&cm : (info->bf16 ? (void *)&bf16 : NULL);
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgsc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT,
        .pNext = tail, .subgroupSizeControl = VK_TRUE, .computeFullSubgroups = VK_TRUE};
    if (info->subgroup_size_control)
        tail = &sgsc;
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                            .pNext = tail,
                                            .shaderFloat16 = (VkBool32)info->shader_fp16,
                                            .shaderInt8 = (VkBool32)info->shader_int8,
                                            .storageBuffer8BitAccess = (VkBool32)info->storage_8bit};
    VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                            .pNext = &f12,
                                            .storageBuffer16BitAccess = (VkBool32)info->storage_16bit};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11,
                                    .features = {.shaderInt16 = (VkBool32)info->shader_int16}};
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = gpu->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &f2,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = n_exts,
                              .ppEnabledExtensionNames = exts};
    int rc = vkr_vk_check(gpu, vkCreateDevice(gpu->phys, &dci, NULL, &gpu->device), "vkCreateDevice");
    if (rc)
        return rc;
    vkGetDeviceQueue(gpu->device, gpu->queue_family, 0, &gpu->queue);
    gpu->use_push_descriptor = 0;
    for (uint32_t i = 0; i < n_exts; i++)
        if (strcmp(exts[i], VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME) == 0) {
            gpu->cmd_push_descriptor = (PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(
                gpu->device, "vkCmdPushDescriptorSetKHR");
            gpu->use_push_descriptor = gpu->cmd_push_descriptor != NULL;
        }
    return VKR_OK;
}

int vkr_gpu_create(const vkr_gpu_options *opt, vkr_gpu **out)
{
    static const vkr_gpu_options defaults = {0};
    if (!opt)
        opt = &defaults;
    *out = NULL;
    vkr_gpu *gpu = calloc(1, sizeof *gpu);
    if (!gpu)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    gpu->validate = opt->validate ? opt->validate > 0 : env_flag("VKREEL_VALIDATE");
    gpu->profile = opt->profile ? opt->profile > 0 : env_flag("VKREEL_PROFILE");
    gpu->dry_run = opt->dry_run ? opt->dry_run > 0 : env_flag("VKREEL_DRY_RUN");
    gpu->block_size = opt->block_size;
    gpu->staging_size = opt->staging_size;
    gpu->max_range = opt->max_binding_range;
    int rc;
    if ((rc = create_instance(gpu)) || (rc = select_device(gpu, opt->device)) || (rc = create_device(gpu)))
        goto fail;
    if (gpu->dry_run) {
        /* Planning for another device: only the recorder and the allocator
         * read these two limits, and a dry run records nothing. */
        uint64_t lim = opt->dry_run_limit;
        const char *env = getenv("VKREEL_DRY_RUN_LIMIT_MIB");
        if (!lim && env && *env)
            lim = strtoull(env, NULL, 10) << 20;
        if (lim) {
            gpu->info.max_memory_allocation_size = lim;
            gpu->info.max_storage_buffer_range = lim < 0xffffffffull ? lim : 0xffffffffull;
        }
        gpu->dry_run_heap = opt->dry_run_heap;
        env = getenv("VKREEL_DRY_RUN_HEAP_MIB");
        if (!gpu->dry_run_heap && env && *env)
            gpu->dry_run_heap = strtoull(env, NULL, 10) << 20;
    }
    if ((rc = vkr_mem_init(gpu)) || (rc = vkr_pipelines_init(gpu)) || (rc = vkr_recorder_init(gpu)) ||
        (rc = vkr_prof_init(gpu)))
        goto fail;
    if (gpu->dry_run)
        vkr_info("GPU dry run: memory is allocated as usual, no kernel runs (downloads read zeros)");
    vkr_debug("GPU: %s (%s, %s), push descriptors %s", gpu->info.name, vkr_device_type_name(gpu->info.type),
              gpu->info.driver_name, gpu->use_push_descriptor ? "yes" : "no");
    *out = gpu;
    return VKR_OK;
fail:
    vkr_gpu_destroy(gpu);
    return rc;
}

void vkr_gpu_destroy(vkr_gpu *gpu)
{
    if (!gpu)
        return;
    if (gpu->device) {
        if (gpu->recording && !gpu->lost)
            vkr_gpu_submit_and_wait(gpu);
        vkDeviceWaitIdle(gpu->device);
        vkr_debug("GPU memory peak: %.1f MiB in blocks, %.1f MiB in tensors", (double)gpu->allocated_peak / 1048576.0,
                  (double)gpu->in_use_peak / 1048576.0);
        if (gpu->profile)
            vkr_prof_print(gpu);
        vkr_prof_destroy(gpu);
        vkr_recorder_destroy(gpu);
        vkr_pipelines_destroy(gpu);
        vkr_mem_destroy(gpu);
        vkDestroyDevice(gpu->device, NULL);
    }
    if (gpu->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            gpu->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy)
            destroy(gpu->instance, gpu->messenger, NULL);
    }
    if (gpu->instance)
        vkDestroyInstance(gpu->instance, NULL);
    free(gpu);
}

unsigned vkr_gpu_validation_count(const vkr_gpu *gpu, const char **last)
{
    if (last)
        *last = gpu->validation_last;
    return gpu->validation_count;
}

const vkr_device_info *vkr_gpu_device(const vkr_gpu *gpu) { return &gpu->info; }

int vkr_gpu_is_dry_run(const vkr_gpu *gpu) { return gpu->dry_run; }
