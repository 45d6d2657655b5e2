# Makefile: build, install and test the inbox extension with PGXS.
#
#   make && make install                 the extension and inbox-worker
#   make installcheck                    pg_regress + isolation tests against a running server
#                                        (the server must preload inbox: shared_preload_libraries)

EXTENSION = inbox
MODULE_big = inbox
# the C files of inbox.so, layer by layer from the bottom (see extension/inbox.h;
# test/layers.sh checks that no file needs one above it)
OBJS = \
	extension/plan_cache.o \
	extension/tuple.o \
	extension/message_enums.o \
	extension/arguments.o \
	extension/actor.o \
	extension/lookups.o \
	extension/cluster.o \
	extension/space_settings.o \
	extension/availability.o \
	extension/channel_cache.o \
	extension/security.o \
	extension/notify_relay.o \
	extension/worker_shmem.o \
	extension/worker_pause.o \
	extension/events.o \
	extension/agent_state.o \
	extension/counts.o \
	extension/assignment_policy.o \
	extension/auto_close.o \
	extension/rules_conversation.o \
	extension/snooze.o \
	extension/rules_contact.o \
	extension/rules_message.o \
	extension/rules_comment.o \
	extension/notify.o \
	extension/rules_space.o \
	extension/rules_agent.o \
	extension/api.o \
	extension/views.o \
	extension/history.o \
	extension/contact_details.o \
	extension/comments.o \
	extension/merge.o \
	extension/automation.o \
	extension/worker_loop.o \
	extension/worker_launcher.o \
	extension/inbox.o

DATA = $(wildcard extension/inbox--*.sql) $(wildcard extension/inbox--*.control)
PGFILEDESC = "inbox - team messaging inbox rules in C"

REGRESS = setup comments api_basics auto_open user_reply assignment close_conversation \
	unread last_message message_status events reply_to messaging_window errors \
	views history merge channels security event_kinds \
	channel_kinds space_first plain_writes contact_details custom_views comments_mentions \
	contact_list_rows input_checks search_by_space configure_space assignment_policy availability auto_close
REGRESS_OPTS = --inputdir=. --load-extension=pg_trgm --load-extension=btree_gin --load-extension=inbox

# isolation specs, named after the race they stage (test/isolation/specs)
ISOLATION = first_message_same_sender second_message_opens_once two_agents_reply \
	close_vs_incoming assign_vs_close status_reports_race same_external_id_two_contacts \
	channel_cache delete_vs_incoming two_agents_edit_custom_keys comment_vs_merge \
	concurrent_opens_respect_cap two_seats_free_at_once seat_vs_locked_contact
ISOLATION_OPTS = --inputdir=test/isolation

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/extension
PG_CFLAGS = -Wall -Wmissing-prototypes -Wpointer-arith -Wendif-labels $(if $(WERROR),-Werror)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object includes the headers (PGXS tracks no header dependencies: an
# object built against an older worker.h would read the shared memory with
# another layout)
$(OBJS): $(srcdir)/extension/inbox.h $(srcdir)/extension/worker.h

# inbox-worker, the client daemon (worker/).  PGXS builds a PROGRAM or a
# MODULE_big, not both, so it has its own rule; "all", "install",
# "uninstall" and "clean" take it along.  It needs libpq and libpqtypes only.
WORKER = worker/inbox-worker
WORKER_SRCS = $(wildcard $(srcdir)/worker/*.c)
WORKER_CFLAGS = $(filter-out -fPIC,$(CFLAGS)) -Wextra $(if $(WERROR),-Werror) \
	-DINBOX_VERSION='"$(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(srcdir)/inbox.control)"'
# make install also links inbox-worker into this directory, on PATH (PGXS
# installs programs into PostgreSQL's own bindir, which is not); empty: no link
WORKER_LINK_DIR ?= /usr/local/bin

all: $(WORKER)

$(WORKER): $(WORKER_SRCS) $(srcdir)/worker/worker.h $(srcdir)/inbox.control
	$(CC) $(WORKER_CFLAGS) -I$(includedir) -o $@ $(WORKER_SRCS) $(LDFLAGS) -lpqtypes -lpq

install: install-worker
install-worker: $(WORKER)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(WORKER) '$(DESTDIR)$(bindir)/inbox-worker'
	$(if $(WORKER_LINK_DIR),$(MKDIR_P) '$(DESTDIR)$(WORKER_LINK_DIR)' && ln -sf '$(bindir)/inbox-worker' '$(DESTDIR)$(WORKER_LINK_DIR)/inbox-worker')

uninstall: uninstall-worker
uninstall-worker:
	rm -f '$(DESTDIR)$(bindir)/inbox-worker'
	$(if $(WORKER_LINK_DIR),rm -f '$(DESTDIR)$(WORKER_LINK_DIR)/inbox-worker')

clean: clean-worker
clean-worker:
	rm -f $(WORKER)

.PHONY: install-worker uninstall-worker clean-worker

# make bench: every benchmark test/bench/*_bench.sh, one after the other (each
# starts its own cluster with the installed inbox and writes
# test/bench/results/<name>.md); fails if any of them missed its goal.
bench:
	@failed=0; for b in $(srcdir)/test/bench/*_bench.sh; do \
		echo "== $$b"; bash $$b || failed=1; \
	done; exit $$failed

.PHONY: bench

# make valgrind-check: the regress and isolation suites against a server of its
# own (port 5479) running under valgrind memcheck with the installed inbox;
# fails on any valgrind error through inbox.so, a failed test or a dead backend.
# Slow (about 6 minutes on 2 cores); not part of test/run.sh.
valgrind-check:
	bash $(srcdir)/test/valgrind/valgrind_check.sh

.PHONY: valgrind-check
