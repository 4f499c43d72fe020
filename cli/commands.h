/* vkreel subcommands. Each takes the arguments after the subcommand name
 * (argv[0] is the subcommand) and returns the process exit code (status.h). */
#ifndef VKR_COMMANDS_H
#define VKR_COMMANDS_H

int cmd_validate(int argc, char **argv); /* cli/cmd_validate.c */
int cmd_plan(int argc, char **argv);     /* cli/cmd_plan.c */
int cmd_render(int argc, char **argv);   /* cli/cmd_render.c */
int cmd_sfx(int argc, char **argv);      /* cli/cmd_sfx.c */
int cmd_verify(int argc, char **argv);   /* cli/cmd_verify.c */
int cmd_devices(int argc, char **argv);  /* cli/cmd_devices.c */
int cmd_bench(int argc, char **argv);    /* cli/cmd_bench.c */
int cmd_version(int argc, char **argv);  /* cli/cmd_version.c */
int cmd_golden(int argc, char **argv);   /* cli/cmd_golden.c */

/* Helpers shared by the subcommands (cli/cli.c). */

/* True when argv contains -h or --help (before a "--"). */
int cli_wants_help(int argc, char **argv);

/* Prints "vkreel: <message>" and, for usage errors, a hint to run --help. Returns code. */
int cli_error(int code, const char *subcommand);

/* Prints "vkreel <sub>: <fmt...>" plus the --help hint; returns VKR_E_USAGE. */
int cli_usage(const char *subcommand, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last path component of a model directory ("zeroscope_v2_576w"), for
 * metadata. malloc'd; NULL when out of memory. */
char *cli_model_name(const char *dir);

#endif
