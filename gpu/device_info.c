/* Describing Vulkan physical devices and choosing one.
 *
 * Selection order: an explicit spec (--device / $VKREEL_DEVICE: index in
 * Vulkan enumeration order, UUID, or case-insensitive name substring) picks
 * among ALL devices. Without one, devices hidden by CUDA_VISIBLE_DEVICES (or
 * SLURM_JOB_GPUS when that is unset) are skipped, and the best remaining usable
 * device wins: discrete > integrated > virtual > CPU, then the larger
 * device-local heap, then the lower index. */
#include "gpu/gpu_internal.h"
#include "gpu/vk_compat.h"

#include "common/log.h"
#include "common/status.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NVIDIA_VENDOR_ID 0x10de

int vkr_has_device_extension(VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *ext = calloc(n, sizeof *ext);
    if (!ext)
        return 0;
    int found = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

static void describe_coopmat(VkInstance inst, VkPhysicalDevice pd, vkr_device_info *info)
{
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR get =
        (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)vkGetInstanceProcAddr(
            inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
    uint32_t n = 0;
    if (!get || get(pd, &n, NULL) != VK_SUCCESS || n == 0)
        return;
    VkCooperativeMatrixPropertiesKHR *p = calloc(n, sizeof *p);
    if (!p)
        return;
    for (uint32_t i = 0; i < n; i++)
        p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
    if (get(pd, &n, p) == VK_SUCCESS) {
        for (uint32_t i = 0; i < n && info->n_coopmat < VKR_MAX_COOPMAT; i++) {
            vkr_coopmat_shape *s = &info->coopmat_shapes[info->n_coopmat++];
            s->m = p[i].MSize, s->n = p[i].NSize, s->k = p[i].KSize;
            s->a_type = p[i].AType, s->b_type = p[i].BType;
            s->c_type = p[i].CType, s->result_type = p[i].ResultType;
            s->saturating = p[i].saturatingAccumulation;
            s->scope = p[i].scope;
        }
    }
    free(p);
}

int vkr_device_describe(VkInstance inst, VkPhysicalDevice pd, uint32_t index, vkr_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->index = index;

    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(pd, &base);
    snprintf(info->name, sizeof info->name, "%s", base.deviceName);
    info->type = base.deviceType;
    info->api_version = base.apiVersion;
    info->driver_version = base.driverVersion;
    info->vendor_id = base.vendorID;
    info->device_id = base.deviceID;
    const VkPhysicalDeviceLimits *lim = &base.limits;
    info->max_storage_buffer_range = lim->maxStorageBufferRange;
    info->min_storage_buffer_offset_alignment = lim->minStorageBufferOffsetAlignment;
    for (int i = 0; i < 3; i++) {
        info->max_workgroup_count[i] = lim->maxComputeWorkGroupCount[i];
        info->max_workgroup_size[i] = lim->maxComputeWorkGroupSize[i];
    }
    info->max_workgroup_invocations = lim->maxComputeWorkGroupInvocations;
    info->max_push_constants = lim->maxPushConstantsSize;
    info->timestamp_period_ns = lim->timestampPeriod;

    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    info->n_heaps = mem.memoryHeapCount < VKR_MAX_HEAPS ? mem.memoryHeapCount : VKR_MAX_HEAPS;
    for (uint32_t i = 0; i < info->n_heaps; i++) {
        info->heap_size[i] = mem.memoryHeaps[i].size;
        info->heap_device_local[i] = !!(mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
    }

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, NULL);
    VkQueueFamilyProperties qf[32];
    if (nq > 32)
        nq = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf);
    int has_compute = 0;
    for (uint32_t i = 0; i < nq; i++)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
            has_compute = 1;
            if (qf[i].timestampValidBits)
                info->timestamps = 1;
        }

    if (VK_API_VERSION_MINOR(base.apiVersion) < 2 && VK_API_VERSION_MAJOR(base.apiVersion) == 1)
        return VKR_OK; /* listed, not usable: vkreel needs Vulkan 1.2 */
    info->usable = has_compute;

    /* The instance asks for Vulkan 1.2, so 1.3 core features are not available
     * as core: subgroup size control is usable only through its extension. */
    int has_sgsc = vkr_has_device_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    info->coopmat = vkr_has_device_extension(pd, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
    int has_bf16 = vkr_has_device_extension(pd, VK_KHR_SHADER_BFLOAT16_EXTENSION_NAME);
    info->has_pci = vkr_has_device_extension(pd, VK_EXT_PCI_BUS_INFO_EXTENSION_NAME);
    info->push_descriptor = vkr_has_device_extension(pd, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);

    /* properties2 chain */
    VkPhysicalDevicePCIBusInfoPropertiesEXT pci = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT};
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sgsc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT,
        .pNext = info->has_pci ? &pci : NULL};
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
        .pNext = has_sgsc ? (void *)&sgsc : (info->has_pci ? (void *)&pci : NULL)};
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
                                            .pNext = &sg};
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &drv};
    VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES,
                                       .pNext = &m3};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &id};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    memcpy(info->uuid, id.deviceUUID, 16);
    for (int i = 0; i < 16; i++)
        info->has_uuid |= id.deviceUUID[i] != 0;
    info->max_memory_allocation_size = m3.maxMemoryAllocationSize;
    snprintf(info->driver_name, sizeof info->driver_name, "%s", drv.driverName);
    snprintf(info->driver_info, sizeof info->driver_info, "%s", drv.driverInfo);
    info->subgroup_size = info->subgroup_min = info->subgroup_max = sg.subgroupSize;
    if (has_sgsc) {
        info->subgroup_min = sgsc.minSubgroupSize;
        info->subgroup_max = sgsc.maxSubgroupSize;
    }
    if (info->has_pci) {
        info->pci_domain = pci.pciDomain, info->pci_bus = pci.pciBus;
        info->pci_device = pci.pciDevice, info->pci_function = pci.pciFunction;
    }

    /* features2 chain */
    VkPhysicalDeviceShaderBfloat16FeaturesKHR bf16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_BFLOAT16_FEATURES_KHR};
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR cm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
        .pNext = has_bf16 ? &bf16 : NULL};
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT,
        .pNext = info->coopmat ? (void *)&cm : (has_bf16 ? (void *)&bf16 : NULL)};
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                            .pNext = has_sgsc ? (void *)&sgf : sgf.pNext};
    VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                            .pNext = &f12};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11};
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    info->storage_16bit = f11.storageBuffer16BitAccess;
    info->shader_int16 = f2.features.shaderInt16;
    info->shader_fp16 = f12.shaderFloat16;
    info->shader_int8 = f12.shaderInt8;
    info->storage_8bit = f12.storageBuffer8BitAccess;
    info->subgroup_size_control = has_sgsc && sgf.subgroupSizeControl && sgf.computeFullSubgroups;
    info->bf16 = has_bf16 && bf16.shaderBFloat16Type;
    info->coopmat = info->coopmat && cm.cooperativeMatrix;
    if (info->coopmat)
        describe_coopmat(inst, pd, info);
    return VKR_OK;
}

/* ---- names ---- */

const char *vkr_device_type_name(int t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:   return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:    return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:            return "cpu";
    default:                                     return "other";
    }
}

const char *vkr_component_type_name(int t)
{
    static const char *names[] = {"f16", "f32", "f64", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"};
    if (t >= 0 && t < (int)(sizeof names / sizeof names[0]))
        return names[t];
    if (t == 1000141000)
        return "bf16";
    if (t == 1000491002)
        return "e4m3";
    if (t == 1000491003)
        return "e5m2";
    return "?";
}

void vkr_uuid_format(const uint8_t u[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[u[i] >> 4];
        *p++ = hex[u[i] & 15];
    }
    *p = 0;
}

/* ---- selection ---- */

/* Does `token` (a UUID, possibly "GPU-" prefixed and/or truncated, dashes
 * optional) name the device? nvidia-smi accepts unique prefixes, so do we. */
static int uuid_matches(const vkr_device_info *d, const char *token)
{
    if (!d->has_uuid)
        return 0;
    if (strncasecmp(token, "GPU-", 4) == 0)
        token += 4;
    char want[33], have[37];
    size_t n = 0;
    for (const char *p = token; *p && n < 32; p++) {
        if (*p == '-')
            continue;
        if (!isxdigit((unsigned char)*p))
            return 0;
        want[n++] = (char)tolower((unsigned char)*p);
    }
    if (n < 8) /* too short to be a deliberate UUID prefix */
        return 0;
    want[n] = 0;
    vkr_uuid_format(d->uuid, have);
    char flat[33];
    size_t m = 0;
    for (const char *p = have; *p; p++)
        if (*p != '-')
            flat[m++] = *p;
    flat[m] = 0;
    return strncmp(flat, want, n) == 0;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static int is_integer(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int cmp_pci(const vkr_device_info *a, const vkr_device_info *b)
{
    uint64_t ka = ((uint64_t)a->pci_domain << 32) | (a->pci_bus << 16) | (a->pci_device << 8) | a->pci_function;
    uint64_t kb = ((uint64_t)b->pci_domain << 32) | (b->pci_bus << 16) | (b->pci_device << 8) | b->pci_function;
    return ka < kb ? -1 : ka > kb;
}

/* CUDA_VISIBLE_DEVICES / SLURM_JOB_GPUS: comma-separated UUIDs ("GPU-...") or
 * ordinals. They describe NVIDIA GPUs only, so other vendors stay visible.
 * Ordinals count NVIDIA devices in PCI bus order (nvidia-smi's numbering) when
 * VK_EXT_pci_bus_info is available, else in Vulkan enumeration order. */
static void apply_visibility(vkr_device_info *devs, int n)
{
    for (int i = 0; i < n; i++)
        devs[i].visible = 1;
    const char *env = getenv("CUDA_VISIBLE_DEVICES");
    const char *var = "CUDA_VISIBLE_DEVICES";
    if (!env) {
        env = getenv("SLURM_JOB_GPUS");
        var = "SLURM_JOB_GPUS";
    }
    if (!env)
        return;
    int n_nv = 0;
    int order[64];
    for (int i = 0; i < n && n_nv < 64; i++)
        if (devs[i].vendor_id == NVIDIA_VENDOR_ID) {
            devs[i].visible = 0;
            int j = n_nv++;
            while (j > 0 && devs[order[j - 1]].has_pci && devs[i].has_pci &&
                   cmp_pci(&devs[order[j - 1]], &devs[i]) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", env);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (is_integer(tok)) {
            long k = strtol(tok, NULL, 10);
            if (k >= 0 && k < n_nv)
                devs[order[k]].visible = 1;
            continue;
        }
        int hit = 0;
        for (int i = 0; i < n; i++)
            if (devs[i].vendor_id == NVIDIA_VENDOR_ID && uuid_matches(&devs[i], tok))
                devs[i].visible = hit = 1;
        if (!hit && n_nv)
            vkr_warn("%s entry '%s' matches no Vulkan device", var, tok);
    }
}

static int type_rank(int t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:   return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:    return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:            return 1;
    default:                                     return 0;
    }
}

static uint64_t local_heap(const vkr_device_info *d)
{
    uint64_t best = 0;
    for (uint32_t i = 0; i < d->n_heaps; i++)
        if (d->heap_device_local[i] && d->heap_size[i] > best)
            best = d->heap_size[i];
    return best;
}

int vkr_device_pick(vkr_device_info *devs, int n, const char *spec, int *picked)
{
    *picked = -1;
    apply_visibility(devs, n);
    if (!spec || !*spec)
        spec = getenv("VKREEL_DEVICE");
    if (spec && *spec) {
        int found = -1;
        if (is_integer(spec)) {
            long k = strtol(spec, NULL, 10);
            if (k < n)
                found = (int)k;
        } else {
            for (int i = 0; i < n && found < 0; i++)
                if (uuid_matches(&devs[i], spec))
                    found = i;
            for (int i = 0; i < n && found < 0; i++)
                if (contains_nocase(devs[i].name, spec))
                    found = i;
        }
        if (found < 0)
            return vkr_fail(VKR_E_USAGE, "device '%s' not found (%d Vulkan device%s; see 'vkreel devices')",
                            spec, n, n == 1 ? "" : "s");
        if (!devs[found].usable)
            return vkr_fail(VKR_E_TEMPFAIL, "device %d (%s) is not usable: vkreel needs Vulkan 1.2 compute",
                            found, devs[found].name);
        *picked = found;
        return VKR_OK;
    }
    for (int i = 0; i < n; i++) {
        if (!devs[i].usable || !devs[i].visible)
            continue;
        if (*picked < 0) {
            *picked = i;
            continue;
        }
        const vkr_device_info *b = &devs[*picked];
        int ri = type_rank(devs[i].type), rb = type_rank(b->type);
        if (ri > rb || (ri == rb && local_heap(&devs[i]) > local_heap(b)))
            *picked = i;
    }
    if (*picked < 0)
        return vkr_fail(VKR_E_TEMPFAIL, "no usable Vulkan device (%d found%s)", n,
                        getenv("CUDA_VISIBLE_DEVICES") || getenv("SLURM_JOB_GPUS")
                            ? ", some hidden by CUDA_VISIBLE_DEVICES/SLURM_JOB_GPUS"
                            : "");
    return VKR_OK;
}

int vkr_gpu_list_devices(const char *spec, vkr_device_info **list, int *count, int *picked)
{
    *list = NULL, *count = 0, *picked = -1;
    VkInstance inst = VK_NULL_HANDLE;
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "vkreel",
                             .apiVersion = VK_API_VERSION_1_2};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkResult r = vkCreateInstance(&ci, NULL, &inst);
    if (r != VK_SUCCESS)
        return vkr_fail(VKR_E_TEMPFAIL, "vkCreateInstance: %s (no Vulkan driver?)", vkr_vk_result_name(r));
    uint32_t n = 0;
    int rc = VKR_OK;
    VkPhysicalDevice *pds = NULL;
    vkr_device_info *devs = NULL;
    r = vkEnumeratePhysicalDevices(inst, &n, NULL);
    if (r != VK_SUCCESS) {
        rc = vkr_fail(VKR_E_TEMPFAIL, "vkEnumeratePhysicalDevices: %s", vkr_vk_result_name(r));
        goto fail;
    }
    pds = calloc(n ? n : 1, sizeof *pds);
    devs = calloc(n ? n : 1, sizeof *devs);
    if (!pds || !devs) {
        rc = vkr_fail(VKR_E_TEMPFAIL, "out of memory");
        goto fail;
    }
    if (n && (r = vkEnumeratePhysicalDevices(inst, &n, pds)) != VK_SUCCESS) {
        rc = vkr_fail(VKR_E_TEMPFAIL, "vkEnumeratePhysicalDevices: %s", vkr_vk_result_name(r));
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++)
        vkr_device_describe(inst, pds[i], i, &devs[i]);
    *list = devs, *count = (int)n;
    devs = NULL;
    rc = vkr_device_pick(*list, *count, spec, picked);
fail:
    free(devs);
    free(pds);
    vkDestroyInstance(inst, NULL);
    return rc;
}
