/* PLACEHOLDER: replaced by the owner of this subcommand before it lands. */
#include "commands.h"
#include "common/status.h"
#include <stdio.h>
int cmd_render(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "vkreel render: not built yet\n");
    return VKR_E_INTERNAL;
}
