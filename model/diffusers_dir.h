/* Hugging Face model directories (diffusers pipelines, transformers models):
 * model_index.json, component folders, weight-file resolution and typed
 * access to config.json.
 *
 *   <model>/model_index.json      {"_class_name": "...", "unet": ["diffusers", "UNet3DConditionModel"], ...}
 *   <model>/<component>/config.json (scheduler/: scheduler_config.json)
 *   <model>/<component>/<weights>  resolved by vkr_resolve_weights() (order in docs/checkpoints.md)
 *
 * Missing folders and files are VKR_E_NOINPUT naming what was expected;
 * malformed JSON, wrong value types and bad shard indexes are VKR_E_DATA
 * naming the file and the key. */
#ifndef VKR_DIFFUSERS_DIR_H
#define VKR_DIFFUSERS_DIR_H

#include "model/weights.h"

#include <stdbool.h>

/* ---- model_index.json ---- */

typedef struct {
    char *name;       /* "unet", "vae", "text_encoder", "tokenizer", "scheduler", "vocoder" */
    char *library;    /* "diffusers", "transformers"; NULL when the entry is [null, null] */
    char *class_name; /* "UNet3DConditionModel"; NULL when null */
} vkr_component;

typedef struct {
    char *dir;
    char *class_name;  /* "_class_name": "TextToVideoSDPipeline" */
    vkr_component *components; /* in file order */
    int n_components;
} vkr_model_index;

int vkr_model_index_load(vkr_model_index *mi, const char *model_dir);
void vkr_model_index_free(vkr_model_index *mi);
/* NULL when the pipeline has no such component. */
const vkr_component *vkr_model_index_find(const vkr_model_index *mi, const char *name);

/* ---- weight files ---- */

typedef enum {
    VKR_VARIANT_DEFAULT = 0, /* full-precision files; the fp16 variant only when it is all there is */
    VKR_VARIANT_FP16,        /* the *.fp16.* variant first, full precision as a fallback */
} vkr_variant;

typedef struct {
    char **paths;     /* one file, or the shards in first-use order of the index */
    int n_paths;
    char *index_path; /* the *.index.json of a sharded checkpoint, else NULL */
    bool is_torch;    /* .bin (torch.save) rather than .safetensors */
    bool is_fp16_variant;
} vkr_weight_files;

/* Finds the weights in a component folder. VKR_E_NOINPUT listing the names
 * tried when there are none; VKR_E_DATA for a malformed shard index. */
int vkr_resolve_weights(const char *component_dir, vkr_variant variant, vkr_weight_files *out);
void vkr_weight_files_free(vkr_weight_files *f);

/* Resolves and opens the weights of the component folder `dir` (or the golden
 * cases' single weights.safetensors when the folder has no diffusers-named
 * file). For a sharded checkpoint, also checks that every tensor of the
 * index's weight_map is present. */
int vkr_open_dir_weights(const char *dir, vkr_variant variant, vkr_weights **w);
/* The same for <model_dir>/<component>. */
int vkr_open_component_weights(const char *model_dir, const char *component, vkr_variant variant,
                               vkr_weights **w);

/* ---- config.json ---- */

typedef struct {
    char *path;
    void *root; /* cJSON object */
} vkr_config;

/* VKR_E_NOINPUT when missing; VKR_E_DATA when not a JSON object. */
int vkr_cfg_load(vkr_config *cfg, const char *path);
/* <model_dir>/<component>/config.json, or scheduler_config.json when that is
 * what the folder has (diffusers schedulers). */
int vkr_cfg_load_component(vkr_config *cfg, const char *model_dir, const char *component);
void vkr_cfg_free(vkr_config *cfg);

/* A component folder: `dir`/config.json into *cfg and its weights opened as by
 * vkr_open_dir_weights. On failure both are left empty. */
int vkr_open_component_dir(const char *dir, vkr_variant variant, vkr_config *cfg, vkr_weights **w);

/* Typed getters. A key that is absent or null gives the default; a value of
 * the wrong type is VKR_E_DATA naming the key and the file. */
bool vkr_cfg_has(const vkr_config *cfg, const char *key); /* present and not null */
int vkr_cfg_int(const vkr_config *cfg, const char *key, int def, int *out);
int vkr_cfg_double(const vkr_config *cfg, const char *key, double def, double *out);
int vkr_cfg_bool(const vkr_config *cfg, const char *key, bool def, bool *out);
/* *out points into cfg (valid until vkr_cfg_free) or is def. */
int vkr_cfg_string(const vkr_config *cfg, const char *key, const char *def, const char **out);
/* Arrays: at most `max` elements (more is VKR_E_DATA); *n gets the count.
 * When absent or null, def[0..n_def) is copied. */
int vkr_cfg_int_array(const vkr_config *cfg, const char *key, const int *def, int n_def, int *out,
                      int max, int *n);
int vkr_cfg_string_array(const vkr_config *cfg, const char *key, const char *const *def, int n_def,
                         const char **out, int max, int *n);
/* Keys that diffusers accepts as an int or a per-block list
 * (attention_head_dim, num_attention_heads, cross_attention_dim, ...): an
 * int is repeated n times, a list must have exactly n entries, absent/null
 * repeats def. */
int vkr_cfg_int_per_block(const vkr_config *cfg, const char *key, int n, int def, int *out);

#endif
