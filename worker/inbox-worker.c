/*-------------------------------------------------------------------------
 *
 * inbox-worker.c
 *	  inbox-worker: the client daemon of the inbox extension, for what runs
 *	  outside the server.  This file parses the command line and hands over
 *	  to one subcommand:
 *
 *	  listen --space N	 print the space's change notifications as JSON lines,
 *						 from the node that holds the space on a Citus cluster
 *						 (listen.c)
 *	  snooze			 wake snoozed contacts when the server cannot load
 *						 inbox's background worker (snooze.c)
 *	  deliver --exec CMD send pending outgoing messages through CMD (deliver.c)
 *
 * The connection comes from the PG* environment variables or -d, which
 * takes a database name, a connection string or a URI, as psql's does.
 * Exit status: 0 done or stopped by SIGINT/SIGTERM, 1 runtime or
 * connection failure, 2 usage error.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

static void
usage(void)
{
	printf("%s is the client daemon of the inbox PostgreSQL extension.\n\n", progname);
	printf("Usage:\n");
	printf("  %s listen --space N [OPTION]...\n", progname);
	printf("  %s snooze [OPTION]...\n", progname);
	printf("  %s deliver --exec CMD [OPTION]...\n", progname);
	printf("\nSubcommands:\n");
	printf("  listen      print each change notification of space N as one JSON line on\n"
		   "              stdout; after a lost connection, reconnect and print {\"op\":\"resync\"};\n"
		   "              on a Citus cluster listen at the node that holds the space\n"
		   "              (inbox.space_node(N), asked every second), follow it when it\n"
		   "              moves and print {\"op\":\"resync\"}\n");
	printf("  snooze      wake snoozed contacts when their time comes, for servers that\n"
		   "              cannot load inbox's background worker (managed PostgreSQL)\n");
	printf("  deliver     send pending outgoing messages: run CMD with each message as JSON\n"
		   "              on stdin, record it sent (exit 0) or failed (CMD's stderr)\n");
	printf("\nOptions:\n");
	printf("  -d, --dbname=CONNINFO    database name or connection string (default: from\n"
		   "                           PGHOST, PGPORT, PGDATABASE, PGUSER, ...)\n");
	printf("  -s, --space=N            listen: the space to listen to\n");
	printf("  -e, --exec=CMD           deliver: shell command that sends one message\n");
	printf("  -b, --batch=N            snooze: contacts woken per call (default 1000);\n"
		   "                           deliver: messages per transaction (default 1)\n");
	printf("  -i, --interval=SECONDS   deliver: look for messages this often when no\n"
		   "                           notification says so (default 1)\n");
	printf("  -t, --timeout=SECONDS    deliver: CMD is killed after this long and the\n"
		   "                           message recorded failed (default 60)\n");
	printf("      --once               snooze, deliver: do what is due now, then exit\n");
	printf("  -v, --verbose            log every step on stderr\n");
	printf("  -V, --version            print the version and exit\n");
	printf("  -h, --help               print this help and exit\n");
	printf("\nExit status: 0 done or stopped by SIGINT/SIGTERM, 1 runtime or connection\n"
		   "failure, 2 usage error.  A lost connection is retried with backoff (0.1 s\n"
		   "doubling to 5 s); the first connection is not.\n");
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", progname);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"%s --help\" for more information.\n", progname);
	return EXIT_USAGE;
}

static bool
parse_int64(const char *s, int64_t *value)
{
	char	   *end;

	errno = 0;
	*value = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

static bool
parse_seconds(const char *s, double *value)
{
	char	   *end;

	errno = 0;
	*value = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *value > 0 && *value < 1e6;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"space", required_argument, NULL, 's'},
		{"exec", required_argument, NULL, 'e'},
		{"batch", required_argument, NULL, 'b'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"once", no_argument, NULL, 1},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	WorkerOptions opts;
	const char *space_arg = NULL;
	const char *batch_arg = NULL;
	const char *interval_arg = NULL;
	const char *timeout_arg = NULL;
	int			c;
	int64_t		n;

	if (argc > 0 && argv[0] != NULL)
		progname = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	memset(&opts, 0, sizeof(opts));
	opts.interval = 1.0;
	opts.timeout = 60.0;

	while ((c = getopt_long(argc, argv, "d:s:e:b:i:t:vVh", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				opts.conninfo = optarg;
				break;
			case 's':
				space_arg = optarg;
				break;
			case 'e':
				opts.exec = optarg;
				break;
			case 'b':
				batch_arg = optarg;
				break;
			case 'i':
				interval_arg = optarg;
				break;
			case 't':
				timeout_arg = optarg;
				break;
			case 1:
				opts.once = true;
				break;
			case 'v':
				opts.verbose = true;
				break;
			case 'V':
				printf("inbox-worker (inbox) %s\n", INBOX_VERSION);
				return EXIT_OK;
			case 'h':
				usage();
				return EXIT_OK;
			default:
				/* getopt_long has said what was wrong */
				fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
				return EXIT_USAGE;
		}
	}

	if (optind >= argc)
		return usage_error("%sno subcommand given (listen, snooze or deliver)", "");
	if (argc - optind > 1)
		return usage_error("too many arguments, starting with \"%s\"", argv[optind + 1]);
	opts.subcommand = argv[optind];
	if (strcmp(opts.subcommand, "listen") != 0 && strcmp(opts.subcommand, "snooze") != 0 &&
		strcmp(opts.subcommand, "deliver") != 0)
		return usage_error("unknown subcommand \"%s\" (listen, snooze or deliver)", opts.subcommand);

	/* each option belongs to some subcommands only: say so rather than ignore it */
	if (space_arg && strcmp(opts.subcommand, "listen") != 0)
		return usage_error("--space applies to listen only, not %s", opts.subcommand);
	if (opts.exec && strcmp(opts.subcommand, "deliver") != 0)
		return usage_error("--exec applies to deliver only, not %s", opts.subcommand);
	if ((interval_arg || timeout_arg) && strcmp(opts.subcommand, "deliver") != 0)
		return usage_error("--interval and --timeout apply to deliver only, not %s", opts.subcommand);
	if ((batch_arg || opts.once) && strcmp(opts.subcommand, "listen") == 0)
		return usage_error("--batch and --once do not apply to %s", opts.subcommand);

	if (strcmp(opts.subcommand, "listen") == 0)
	{
		if (space_arg == NULL)
			return usage_error("%slisten needs --space N", "");
		if (!parse_int64(space_arg, &opts.space) || opts.space <= 0)
			return usage_error("invalid space id \"%s\": must be a positive integer", space_arg);
	}
	if (strcmp(opts.subcommand, "deliver") == 0)
	{
		if (opts.exec == NULL || opts.exec[0] == '\0')
			return usage_error("%sdeliver needs --exec CMD", "");
		if (interval_arg && !parse_seconds(interval_arg, &opts.interval))
			return usage_error("invalid interval \"%s\": must be a number of seconds > 0", interval_arg);
		if (timeout_arg && !parse_seconds(timeout_arg, &opts.timeout))
			return usage_error("invalid timeout \"%s\": must be a number of seconds > 0", timeout_arg);
	}
	opts.batch = strcmp(opts.subcommand, "snooze") == 0 ? 1000 : 1;
	if (batch_arg)
	{
		if (!parse_int64(batch_arg, &n) || n <= 0 || n > 1000000)
			return usage_error("invalid batch size \"%s\": must be an integer from 1 to 1000000", batch_arg);
		opts.batch = (int) n;
	}

	worker_setup_signals();
	if (strcmp(opts.subcommand, "listen") == 0)
		return worker_listen_main(&opts);
	if (strcmp(opts.subcommand, "snooze") == 0)
		return worker_snooze_main(&opts);
	return worker_deliver_main(&opts);
}
