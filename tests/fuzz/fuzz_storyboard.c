/* libFuzzer target: the storyboard parser (pipeline/storyboard.c + json_dom.c).
 *
 * Any input must give either a valid storyboard or at least one diagnostic,
 * without crashing, leaking or reading out of bounds; a valid storyboard's
 * canonical JSON must parse back to the same canonical JSON. */
#include "common/status.h"
#include "pipeline/storyboard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink)
        sink = fopen("/dev/null", "w");
    vkr_storyboard sb;
    vkr_diags diags = {0};
    int rc = vkr_storyboard_parse("fuzz.json", (const char *)data, size, &sb, &diags);
    if (rc == VKR_OK) {
        if (diags.n != 0 || !sb.canonical_json || sb.n_shots < 1)
            abort();
        for (int i = 0; i < sb.n_shots; i++) {
            char *p = vkr_shot_full_prompt(&sb, &sb.shots[i]);
            char *n = vkr_shot_full_negative_prompt(&sb, &sb.shots[i]);
            if (!p || !n)
                abort();
            free(p);
            free(n);
        }
        vkr_storyboard again;
        vkr_diags d2 = {0};
        if (vkr_storyboard_parse("canonical", sb.canonical_json, strlen(sb.canonical_json), &again,
                                 &d2) != VKR_OK) {
            vkr_diags_print(&d2, "canonical", stderr);
            abort();
        }
        if (strcmp(again.canonical_json, sb.canonical_json) != 0)
            abort();
        vkr_storyboard_free(&again);
        vkr_diags_free(&d2);
    } else if (rc == VKR_E_DATA) {
        if (diags.n == 0 && diags.dropped == 0)
            abort(); /* invalid, but no reason given */
        if (sb.shots || sb.canonical_json)
            abort(); /* must be left empty */
    } else {
        abort(); /* out of memory is the only other outcome, and fuzz inputs are small */
    }
    if (sink)
        vkr_diags_print(&diags, "fuzz.json", sink);
    vkr_diags_free(&diags);
    vkr_storyboard_free(&sb);
    return 0;
}
