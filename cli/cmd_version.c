#include "commands.h"

#include "common/status.h"
#include "common/version.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <sndfile.h>
#include <stdio.h>
#include <vulkan/vulkan.h>

int cmd_version(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("Usage: vkreel version\n\nPrints the vkreel version and the versions of the libraries it runs on.\n");
        return VKR_OK;
    }
    if (argc > 1)
        return cli_usage("version", "unexpected argument '%s'", argv[1]);
    unsigned avf = avformat_version(), avc = avcodec_version();
    printf("vkreel %s\n", VKR_VERSION);
    printf("libavformat %u.%u.%u, libavcodec %u.%u.%u\n", avf >> 16, (avf >> 8) & 255, avf & 255,
           avc >> 16, (avc >> 8) & 255, avc & 255);
    printf("%s\n", sf_version_string());
    printf("Vulkan headers 1.%u.%u\n", VK_API_VERSION_MINOR(VK_HEADER_VERSION_COMPLETE),
           VK_HEADER_VERSION);
    return VKR_OK;
}
