/* The model-driven picture source: a vkr_frame_source (pipeline/render.h) that
 * renders every shot of a timeline with a vkr_video_generator
 * (pipeline/video_generator.h; the text-to-video pipeline in production) and
 * turns the model's frames into output frames. docs/render.md specifies it;
 * in short, for output frame f of shot i:
 *
 *   - shot i's picture runs from a_i (the first frame of the crossfade into it,
 *     else frame_begin) to b_i (the last frame of the crossfade out of it, else
 *     frame_end); its local time at f is (f - a_i) / output_fps;
 *   - the model frame position is p = local time x model fps; the picture is the
 *     linear blend of model frames floor(p) and floor(p) + 1 (exact integer
 *     weights), so a shot needs ceil((b_i - a_i - 1) x model_fps / output_fps) + 1
 *     model frames;
 *   - the blend is scaled to the output size by libswscale (bicubic), covering
 *     the frame and centre-cropping the excess (aspect kept, no bars);
 *   - inside a crossfade range the two shots' pictures are mixed exactly as the
 *     test card mixes its colours: weight (k + 0.5) / n on the incoming shot at
 *     the k-th of the range's n frames.
 *
 * Frames must be requested in increasing order (vkr_render does). A shot is
 * generated when its first frame (or its incoming crossfade) is reached and
 * dropped when it can no longer be needed; at most two shots' model frames (8-bit
 * RGB at the model's size) are held at a time. */
#ifndef VKR_VIDEO_SOURCE_H
#define VKR_VIDEO_SOURCE_H

#include "pipeline/render.h"
#include "pipeline/storyboard.h"
#include "pipeline/timeline.h"
#include "pipeline/video_generator.h"

#include <stdint.h>

typedef struct vkr_video_source vkr_video_source;

/* sb, tl and the generator's context must outlive the source. VKR_E_DATA for an
 * unusable timeline or output size. */
int vkr_video_source_create(const vkr_storyboard *sb, const vkr_timeline *tl, const vkr_video_generator *gen,
                            vkr_video_source **out);
void vkr_video_source_free(vkr_video_source *vs);

vkr_frame_source vkr_video_source_frames(vkr_video_source *vs);

/* Output frames shot i's picture spans: [*begin, *end) = [a_i, b_i) above. */
void vkr_video_source_shot_span(const vkr_timeline *tl, int i, int64_t *begin, int64_t *end);

/* Model frames shot i needs at `model_fps` (0 when its span is empty). */
int vkr_video_source_model_frames(const vkr_timeline *tl, int i, int model_fps);

/* Seconds spent inside the generator so far (the rest of the frame source's
 * time is compositing: resampling, scaling, crossfades). */
double vkr_video_source_generator_seconds(const vkr_video_source *vs);

#endif
