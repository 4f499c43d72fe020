/* vkreel devices: list every Vulkan device with what vkreel cares about, and
 * which one it would pick. */
#include "commands.h"

#include "common/status.h"
#include "gpu/gpu.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

static void usage(void)
{
    printf("Usage: vkreel devices [--json] [--device SPEC]\n\n"
           "Lists every Vulkan device: index, name, type, driver, API version, UUID, memory\n"
           "heaps, subgroup sizes, f16/bf16/int8 support, cooperative-matrix shapes, binding\n"
           "and allocation limits, and marks the one vkreel would use.\n\n"
           "Options:\n"
           "  --json         machine-readable output\n"
           "  --device SPEC  show which device SPEC selects (index, UUID or name substring;\n"
           "                 default: $VKREEL_DEVICE, else the best visible GPU)\n\n"
           "Selection honours CUDA_VISIBLE_DEVICES / SLURM_JOB_GPUS for NVIDIA devices.\n"
           "Exit status: 0 ok, 64 unknown --device, 75 no Vulkan driver.\n");
}

static void version_string(uint32_t v, char *out, size_t n)
{
    snprintf(out, n, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

static void coopmat_string(const vkr_coopmat_shape *s, char *out, size_t n)
{
    snprintf(out, n, "%ux%ux%u %s*%s+%s->%s%s", s->m, s->n, s->k, vkr_component_type_name(s->a_type),
             vkr_component_type_name(s->b_type), vkr_component_type_name(s->c_type),
             vkr_component_type_name(s->result_type), s->saturating ? " sat" : "");
}

static const char *yes(int b) { return b ? "yes" : "no"; }

static void print_text(const vkr_device_info *d, int n, int picked, const char *why)
{
    if (picked >= 0)
        printf("%d Vulkan device%s; vkreel uses %d (*)\n\n", n, n == 1 ? "" : "s", picked);
    else
        printf("%d Vulkan device%s; vkreel would use none: %s\n\n", n, n == 1 ? "" : "s", why);
    for (int i = 0; i < n; i++) {
        const vkr_device_info *x = &d[i];
        char ver[32], uuid[37];
        version_string(x->api_version, ver, sizeof ver);
        vkr_uuid_format(x->uuid, uuid);
        printf("%s %u: %s\n", i == picked ? "*" : " ", x->index, x->name);
        printf("    type %s, vendor 0x%04x device 0x%04x, Vulkan %s%s%s\n", vkr_device_type_name(x->type), x->vendor_id,
               x->device_id, ver, x->usable ? "" : " (not usable: needs Vulkan 1.2 compute)",
               x->visible ? "" : " (hidden by CUDA_VISIBLE_DEVICES/SLURM_JOB_GPUS)");
        printf("    driver %s (%s)\n", x->driver_name[0] ? x->driver_name : "?", x->driver_info);
        printf("    uuid %s%s\n", x->has_uuid ? uuid : "(none)", x->has_uuid ? "" : "");
        if (x->has_pci)
            printf("    pci %04x:%02x:%02x.%x\n", x->pci_domain, x->pci_bus, x->pci_device, x->pci_function);
        for (uint32_t h = 0; h < x->n_heaps; h++)
            printf("    heap %u: %.1f GiB%s\n", h, (double)x->heap_size[h] / (1 << 30),
                   x->heap_device_local[h] ? " device-local" : "");
        if (x->subgroup_size_control)
            printf("    subgroup size %u (control: %u..%u)\n", x->subgroup_size, x->subgroup_min, x->subgroup_max);
        else
            printf("    subgroup size %u (no size control)\n", x->subgroup_size);
        printf("    f16 arithmetic %s, 16-bit storage %s, bf16 %s, int8 %s, int16 %s\n", yes(x->shader_fp16),
               yes(x->storage_16bit), yes(x->bf16), yes(x->shader_int8), yes(x->shader_int16));
        printf("    cooperative matrix %s", yes(x->coopmat));
        for (uint32_t c = 0; c < x->n_coopmat; c++) {
            char s[96];
            coopmat_string(&x->coopmat_shapes[c], s, sizeof s);
            printf("%s%s", c ? ", " : ": ", s);
        }
        printf("\n    maxStorageBufferRange %.1f MiB, maxMemoryAllocationSize %.1f MiB\n",
               (double)x->max_storage_buffer_range / (1 << 20), (double)x->max_memory_allocation_size / (1 << 20));
        printf("    push descriptors %s, timestamps %s\n\n", yes(x->push_descriptor), yes(x->timestamps));
    }
}

static cJSON *device_json(const vkr_device_info *x, int picked)
{
    cJSON *o = cJSON_CreateObject();
    char ver[32], uuid[37], s[96];
    version_string(x->api_version, ver, sizeof ver);
    vkr_uuid_format(x->uuid, uuid);
    cJSON_AddNumberToObject(o, "index", x->index);
    cJSON_AddStringToObject(o, "name", x->name);
    cJSON_AddStringToObject(o, "type", vkr_device_type_name(x->type));
    cJSON_AddNumberToObject(o, "vendor_id", x->vendor_id);
    cJSON_AddNumberToObject(o, "device_id", x->device_id);
    cJSON_AddStringToObject(o, "api_version", ver);
    cJSON_AddStringToObject(o, "driver_name", x->driver_name);
    cJSON_AddStringToObject(o, "driver_info", x->driver_info);
    if (x->has_uuid)
        cJSON_AddStringToObject(o, "uuid", uuid);
    else
        cJSON_AddNullToObject(o, "uuid");
    if (x->has_pci) {
        snprintf(s, sizeof s, "%04x:%02x:%02x.%x", x->pci_domain, x->pci_bus, x->pci_device, x->pci_function);
        cJSON_AddStringToObject(o, "pci", s);
    }
    cJSON *heaps = cJSON_AddArrayToObject(o, "memory_heaps");
    for (uint32_t h = 0; h < x->n_heaps; h++) {
        cJSON *hj = cJSON_CreateObject();
        cJSON_AddNumberToObject(hj, "size", (double)x->heap_size[h]);
        cJSON_AddBoolToObject(hj, "device_local", x->heap_device_local[h]);
        cJSON_AddItemToArray(heaps, hj);
    }
    cJSON *sg = cJSON_AddObjectToObject(o, "subgroup");
    cJSON_AddNumberToObject(sg, "size", x->subgroup_size);
    cJSON_AddNumberToObject(sg, "min", x->subgroup_min);
    cJSON_AddNumberToObject(sg, "max", x->subgroup_max);
    cJSON_AddBoolToObject(sg, "size_control", x->subgroup_size_control);
    cJSON_AddBoolToObject(o, "shader_float16", x->shader_fp16);
    cJSON_AddBoolToObject(o, "storage_16bit", x->storage_16bit);
    cJSON_AddBoolToObject(o, "bfloat16", x->bf16);
    cJSON_AddBoolToObject(o, "int8", x->shader_int8);
    cJSON_AddBoolToObject(o, "int16", x->shader_int16);
    cJSON *cm = cJSON_AddObjectToObject(o, "cooperative_matrix");
    cJSON_AddBoolToObject(cm, "supported", x->coopmat);
    cJSON *shapes = cJSON_AddArrayToObject(cm, "shapes");
    for (uint32_t c = 0; c < x->n_coopmat; c++) {
        const vkr_coopmat_shape *m = &x->coopmat_shapes[c];
        cJSON *mj = cJSON_CreateObject();
        cJSON_AddNumberToObject(mj, "m", m->m);
        cJSON_AddNumberToObject(mj, "n", m->n);
        cJSON_AddNumberToObject(mj, "k", m->k);
        cJSON_AddStringToObject(mj, "a", vkr_component_type_name(m->a_type));
        cJSON_AddStringToObject(mj, "b", vkr_component_type_name(m->b_type));
        cJSON_AddStringToObject(mj, "c", vkr_component_type_name(m->c_type));
        cJSON_AddStringToObject(mj, "result", vkr_component_type_name(m->result_type));
        cJSON_AddBoolToObject(mj, "saturating", m->saturating);
        cJSON_AddNumberToObject(mj, "scope", m->scope);
        cJSON_AddItemToArray(shapes, mj);
    }
    cJSON_AddNumberToObject(o, "max_storage_buffer_range", (double)x->max_storage_buffer_range);
    cJSON_AddNumberToObject(o, "max_memory_allocation_size", (double)x->max_memory_allocation_size);
    cJSON_AddBoolToObject(o, "push_descriptor", x->push_descriptor);
    cJSON_AddBoolToObject(o, "timestamps", x->timestamps);
    cJSON_AddBoolToObject(o, "usable", x->usable);
    cJSON_AddBoolToObject(o, "visible", x->visible);
    cJSON_AddBoolToObject(o, "picked", (int)x->index == picked);
    return o;
}

static int print_json(const vkr_device_info *d, int n, int picked, const char *why)
{
    cJSON *root = cJSON_CreateObject();
    if (picked >= 0)
        cJSON_AddNumberToObject(root, "picked", picked);
    else {
        cJSON_AddNullToObject(root, "picked");
        cJSON_AddStringToObject(root, "reason", why);
    }
    cJSON *arr = cJSON_AddArrayToObject(root, "devices");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, device_json(&d[i], picked));
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return vkr_fail(VKR_E_INTERNAL, "out of memory writing JSON");
    printf("%s\n", s);
    free(s);
    return VKR_OK;
}

int cmd_devices(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage();
        return VKR_OK;
    }
    int json = 0;
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            spec = argv[++i];
        else if (strncmp(argv[i], "--device=", 9) == 0)
            spec = argv[i] + 9;
        else
            return cli_usage("devices", "unexpected argument '%s'", argv[i]);
    }
    vkr_device_info *devs = NULL;
    int n = 0, picked = -1;
    int rc = vkr_gpu_list_devices(spec, &devs, &n, &picked);
    if (rc && !devs)
        return cli_error(rc, "devices"); /* no driver at all */
    char why[512];
    snprintf(why, sizeof why, "%s", rc ? vkr_last_error() : "");
    if (rc == VKR_E_USAGE) {
        free(devs);
        return cli_error(rc, "devices");
    }
    int out = json ? print_json(devs, n, picked, why) : (print_text(devs, n, picked, why), VKR_OK);
    free(devs);
    return out ? cli_error(out, "devices") : VKR_OK;
}
