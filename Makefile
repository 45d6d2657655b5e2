# Makefile: build, install and test the inbox extension with PGXS.
#
#   make && make install                 the extension and inbox-worker
#   make installcheck                    pg_regress + isolation tests against a running server
#                                        (the server must preload inbox: shared_preload_libraries)

EXTENSION = inbox
MODULE_big = inbox
OBJS = \
	extension/inbox.o \
	extension/actor.o \
	extension/plan_cache.o \
	extension/rules_contact.o \
	extension/rules_conversation.o \
	extension/rules_message.o \
	extension/events.o \
	extension/notify.o \
	extension/api.o

DATA = $(wildcard extension/inbox--*.sql)
PGFILEDESC = "inbox - team messaging inbox rules in C"

REGRESS = setup api_basics auto_open user_reply assignment close_conversation \
	unread last_message message_status events errors
REGRESS_OPTS = --inputdir=. --load-extension=pg_trgm --load-extension=inbox

# isolation specs, named after the race they stage (test/isolation/specs)
ISOLATION = first_message_same_sender second_message_opens_once two_agents_reply \
	close_vs_incoming assign_vs_close status_reports_race
ISOLATION_OPTS = --inputdir=test/isolation

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/extension
PG_CFLAGS = -Wall -Wmissing-prototypes -Wpointer-arith -Wendif-labels $(if $(WERROR),-Werror)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
