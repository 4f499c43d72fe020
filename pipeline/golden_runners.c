/* The golden-case runner registry. A component becomes testable with
 * `vkreel golden CASE_DIR` by putting its run function here (one line);
 * NULL entries are known case kinds whose component this build lacks. */
#include "pipeline/golden.h"
#include "pipeline/golden_audio.h"
#include "pipeline/golden_text.h"
#include "pipeline/golden_vae.h"

#include <string.h>

static const vkr_golden_runner runners[] = {
    {"schedulers", "DDIM / Euler / DPM-Solver++ 2M loop with the fake model", vkr_golden_run_schedulers},
    {"tokenizer_clip", "CLIP BPE tokenizer (HF slow, no ftfy), both pad conventions", vkr_golden_run_tokenizer_clip},
    {"tokenizer_roberta", "RoBERTa byte-level BPE tokenizer (CLAP)", vkr_golden_run_tokenizer_roberta},
    {"clip_text_quickgelu", "CLIPTextModel, quick_gelu", vkr_golden_run_clip_text},
    {"clip_text_gelu", "CLIPTextModel, gelu", vkr_golden_run_clip_text},
    {"clap_text", "ClapTextModelWithProjection", vkr_golden_run_clap_text},
    {"vae_decoder", "AutoencoderKL (SD image VAE) decode / encode", vkr_golden_run_vae},
    {"vae_mel", "AutoencoderKL (AudioLDM mel VAE) decode / encode", vkr_golden_run_vae},
    {"unet3d", "UNet3DConditionModel (ModelScope / Zeroscope)", vkr_golden_run_unet3d},
    {"unet2d_audioldm", "UNet2DConditionModel (AudioLDM)", vkr_golden_run_unet2d},
    {"hifigan", "SpeechT5HifiGan vocoder", vkr_golden_run_hifigan},
    {"pipeline_t2v", "TextToVideoSDPipeline end to end", vkr_golden_run_pipeline_t2v},
    {"pipeline_audioldm", "AudioLDMPipeline end to end", NULL},
};

const vkr_golden_runner *vkr_golden_runners(int *count)
{
    *count = (int)(sizeof runners / sizeof runners[0]);
    return runners;
}

const vkr_golden_runner *vkr_golden_find_runner(const char *name)
{
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++)
        if (strcmp(runners[i].name, name) == 0)
            return &runners[i];
    return NULL;
}
