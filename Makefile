# sluice — build, test, run, benchmark, install.
#
#   make            build everything (C11, -Wall -Wextra -Werror -O2)
#   make check      install missing test tools, build, run the whole suite
#   make check SAN=1    the same, built with ASan and UBSan (LeakSanitizer
#                   for the long-running programs: t/asan/README)
#   make check VALGRIND=1   the program tests with each program run under
#                   valgrind (slow: T='t/20-*.t ...' picks the tests)
#   make fuzz       build the fuzz targets of t/fuzz with clang and libFuzzer
#                   and run each for FUZZ_TIME seconds (default 60);
#                   FUZZ_TARGETS='addr mime' picks some (doc/fuzzing.md)
#   make run        build and start a mail server on 127.0.0.1:2525 (PORT=,
#                   VAR=./var; as root, servers run as SLUICE_USER=sluice)
#   make bench      print throughput and memory figures, next to Postfix
#   make soak       the soak test, SOAK_TIME=seconds (default 3600) of mixed
#                   load and kill -9 (t/soak/soak.sh; figures in SOAK_OUT=./soak-out)
#   make install    PREFIX=/usr/local DESTDIR= (stages go to libexec/sluice;
#                   newaliases is a link to sendmail; systemd units go to
#                   SYSTEMDUNITDIR, daemontools run scripts to
#                   PREFIX/share/sluice/daemontools)
#                   SLUICE_USER=sluice: owns the spool; sluice-enqueue is
#                   made set-user-ID to it when make install runs as root
#   make uninstall  remove what make install put in place, but for the
#                   configuration and the spool
#   make clean      remove what the build made (make distclean: ./var too)

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc/sluice
SPOOLDIR ?= /var/spool/sluice
BINDIR = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/sluice
MANDIR = $(PREFIX)/share/man
SLUICE_USER ?= sluice
SLUICE_GROUP ?= $(SLUICE_USER)
MAILROOT ?= /var/mail/sluice
LOGDIR ?= /var/log/sluice
# systemd looks here for units of /usr/local as well as of /usr.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# daemontools run scripts and the root drop-in of sluice-runq.service.
SERVICEDIR = $(PREFIX)/share/sluice

CC ?= cc
ifeq ($(origin CC),default)
CC = cc
endif
OPT ?= -O2
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEFS = -D_GNU_SOURCE -DSLUICE_CONFDIR='"$(SYSCONFDIR)"' \
       -DSLUICE_SPOOLDIR='"$(SPOOLDIR)"' -DSLUICE_LIBEXECDIR='"$(LIBEXECDIR)"' \
       -DSLUICE_BINDIR='"$(BINDIR)"'
CFLAGS_ALL = -std=c11 $(OPT) $(WARN) $(DEFS) -Ilib $(CFLAGS)
LDFLAGS_ALL = $(LDFLAGS)
# VALGRIND=1: dynamic glibc programs (valgrind replaces malloc only
# there), with their symbols, so that its reports name the lines.
ifeq ($(VALGRIND),1)
CFLAGS_ALL += -g -DSLUICE_NO_BUF_POOL
endif
ifeq ($(SAN),1)
OPT = -O1 -g
CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_ALL += -fsanitize=address,undefined
endif

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:.c=.o)
LIBA = lib/libsluice.a
PROGS = $(patsubst %.c,%,$(wildcard bin/*.c libexec/*.c))
# A program of several modules has a folder named after their prefix
# (file = module = function prefix): bin/import/ makes bin/sluice-import.
# A folder cannot share its name with the program beside it, so a
# program's folder may be named after its job: bin/submit/ makes sendmail.
IMPORT_SRC = $(wildcard bin/import/*.c)
PROGS += $(if $(IMPORT_SRC),bin/sluice-import)
# The same for a stage: libexec/scan/ makes libexec/sluice-scan.
# (libexec/smtpd/, libexec/smtp/ and libexec/dnsbl/ have rules of their own.)
LIBEXEC_DIRS = $(filter-out smtpd smtp dnsbl,$(patsubst libexec/%/,%,$(sort $(dir $(wildcard libexec/*/*.c)))))
PROGS += $(addprefix libexec/sluice-,$(LIBEXEC_DIRS))
SUBMIT_SRC = $(wildcard bin/submit/*.c)
PROGS += $(if $(SUBMIT_SRC),bin/sendmail)
SMTPD_SRC = $(wildcard libexec/smtpd/*.c)
PROGS += $(if $(SMTPD_SRC),libexec/sluice-smtpd)
# libexec/smtp/ makes libexec/sluice-smtp.
SMTP_SRC = $(wildcard libexec/smtp/*.c)
PROGS += $(if $(SMTP_SRC),libexec/sluice-smtp)
DNSBL_SRC = $(wildcard libexec/dnsbl/*.c)
PROGS += $(if $(DNSBL_SRC),libexec/sluice-dnsbl)
QUEUE_SRC = $(wildcard bin/queue/*.c)
PROGS += $(if $(QUEUE_SRC),bin/sluice-queue)
TESTPROGS = $(patsubst %.c,%,$(wildcard t/*.c))
# conf/systemd/ and conf/daemontools/ hold service files, not tables;
# pattern tables (header_checks, body_checks) are read as text, never compiled.
CONF_REGEX = $(wildcard conf/*_checks)
CONF_TEXT = $(filter-out %.cdb %.in $(CONF_REGEX) $(patsubst %/,%,$(wildcard conf/*/)),$(wildcard conf/*))
SERVICE_SUBST = sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SPOOLDIR@|$(SPOOLDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@MAILROOT@|$(MAILROOT)|g' \
	-e 's|@LOGDIR@|$(LOGDIR)|g' -e 's|@SLUICE_USER@|$(SLUICE_USER)|g' \
	-e 's|@SLUICE_GROUP@|$(SLUICE_GROUP)|g'
CONF_CDB = $(addsuffix .cdb,$(CONF_TEXT))

# Libraries each program needs beyond libsluice and tinycdb.
LIBS = -lcdb
LIBS_libexec/sluice-smtp = -lcares -lssl -lcrypto
LIBS_t/dest = -lcares
LIBS_libexec/sluice-pop3 = -lssl -lcrypto
# Exec'd per connection, before sluice-smtpd: c-ares only, linked static.
LIBS_libexec/sluice-dnsbl = -lcares $(if $(filter 1,$(SAN)),,-static)
# TLS for sluice-smtpd is a program of its own, so that sluice-smtpd stays
# static and free of OpenSSL; so are the password checks (libcrypt).
LIBS_libexec/sluice-tlsd = -lssl -lcrypto
LIBS_libexec/sluice-auth = -lcrypt
# Exec'd per connection: static linking saves about 0.2 ms each (not with SAN=1).
# c-ares serves the access rules' DNS lookups, made only when a rule needs them.
LIBS_libexec/sluice-smtpd = -lcares $(if $(filter 1,$(SAN) $(VALGRIND)),,-static)

# The programs exec'd once per connection or per message.  Starting a
# glibc program costs 0.4-0.6 ms here (its CPU probing traps in a VM);
# a static musl program starts in about 0.1 ms.  So, when musl-gcc is
# there (.ci/deps installs musl-tools) and this is the default gcc build,
# these are linked static against musl.  tinycdb's archive is used as it
# is: it needs only calls musl provides for the glibc ABI.  FAST=0 turns
# this off; clang, SAN=1 and VALGRIND=1 builds use their own compiler for
# everything.
MUSL_CC := $(shell command -v musl-gcc 2>/dev/null)
FAST ?= $(if $(and $(MUSL_CC),$(filter cc gcc,$(notdir $(CC))),$(if $(filter 1,$(SAN) $(VALGRIND)),,yes)),1,0)
# Every stage of the default chain is exec'd once per batch (seven execs a
# batch): at 0.4-5 ms each for glibc against 0.1-0.6 ms for musl, that was
# most of the chain's cost per message (doc/performance.md), so the chain's
# stages are here too, sluice-smtp with OpenSSL and c-ares (Debian's
# archives, as sluice-dnsbl's c-ares below), and the content stages that
# join the chain when configured; sluice-disclaimer leaves its charset
# conversions to sluice-iconv, built with glibc (musl's iconv knows fewer
# charsets and does not transliterate).  musl reads users and groups from
# /etc/passwd and /etc/group only (no NSS): sluice-local's pipe and file
# deliveries run as a user named there; a site whose users live in LDAP
# builds with FAST=0.
FAST_PROGS = libexec/sluice-smtpd libexec/sluice-enqueue libexec/sluice-retry \
	libexec/sluice-envelope libexec/sluice-alias libexec/sluice-route \
	libexec/sluice-bsmtp-encode libexec/sluice-local libexec/sluice-smtp \
	libexec/sluice-scan libexec/sluice-attach libexec/sluice-disclaimer
# Those of one file; a program with a folder has its own rule below.
FAST_ONE = $(filter $(patsubst %.c,%,$(wildcard libexec/*.c)),$(FAST_PROGS))
# Those with a folder of modules (libexec/local/ ...) and no rule of their own.
FAST_DIRS = $(filter $(patsubst libexec/sluice-%,%,$(FAST_PROGS)),$(LIBEXEC_DIRS))
LIBCDB_A = $(shell $(CC) -print-file-name=libcdb.a)
MUSL_OBJ = $(patsubst lib/%.c,lib/musl/%.o,$(filter-out lib/dns.c lib/tls.c,$(LIB_SRC)))
MUSL_LIBA = lib/musl/libsluice.a
MUSL_CFLAGS = -std=c11 $(OPT) $(WARN) $(DEFS) -Ilib -Ilib/musl $(CFLAGS)

all: $(PROGS) $(CONF_CDB)

# Rebuild everything when the compiler or its flags change (SAN=1 and back).
.build-flags: FORCE
	@echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) FAST=$(FAST)' | cmp -s - $@ || \
	  echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) FAST=$(FAST)' > $@
FORCE:

lib/%.o: lib/%.c lib/*.h .build-flags
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

bin/%: bin/%.c $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_$@) $(LIBS)
libexec/%: libexec/%.c $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_$@) $(LIBS)
bin/sluice-import: $(IMPORT_SRC) bin/import/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ibin/import $(LDFLAGS_ALL) -o $@ $(IMPORT_SRC) $(LIBA) $(LIBS)
define libexec_dir
libexec/sluice-$(1): $$(wildcard libexec/$(1)/*.c libexec/$(1)/*.h) $$(LIBA) .build-flags
	$$(CC) $$(CFLAGS_ALL) -Ilibexec/$(1) $$(LDFLAGS_ALL) -o $$@ $$(wildcard libexec/$(1)/*.c) $$(LIBA) $$(LIBS_$$@) $$(LIBS)
endef
$(foreach d,$(if $(filter 1,$(FAST)),$(filter-out $(FAST_DIRS),$(LIBEXEC_DIRS)),$(LIBEXEC_DIRS)),$(eval $(call libexec_dir,$(d))))
bin/sendmail: $(SUBMIT_SRC) bin/submit/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ibin/submit $(LDFLAGS_ALL) -o $@ $(SUBMIT_SRC) $(LIBA) $(LIBS)
# libexec/smtpd/ makes libexec/sluice-smtpd, static: with glibc here (LIBS_
# above), with musl below when FAST=1.
ifneq ($(FAST),1)
libexec/sluice-smtpd: $(SMTPD_SRC) libexec/smtpd/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(SMTPD_SRC) $(LIBA) $(LIBS_$@) $(LIBS)
endif
ifneq ($(FAST),1)
libexec/sluice-smtp: $(SMTP_SRC) libexec/smtp/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ilibexec/smtp $(LDFLAGS_ALL) -o $@ $(SMTP_SRC) $(LIBA) $(LIBS_$@) $(LIBS)
endif
ifneq ($(FAST),1)
libexec/sluice-dnsbl: $(DNSBL_SRC) libexec/dnsbl/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ilibexec/dnsbl $(LDFLAGS_ALL) -o $@ $(DNSBL_SRC) $(LIBA) $(LIBS_$@) $(LIBS)
endif
bin/sluice-queue: $(QUEUE_SRC) bin/queue/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ibin/queue $(LDFLAGS_ALL) -o $@ $(QUEUE_SRC) $(LIBA) $(LIBS)
# mailq was a link to sendmail before it was a program of its own: the
# linker would write through such a link, over sendmail, so it goes first.
bin/mailq: bin/mailq.c $(LIBA) .build-flags $(if $(shell test -L bin/mailq && echo y),FORCE)
	rm -f $@
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS)

ifeq ($(FAST),1)
lib/musl/cdb.h: /usr/include/cdb.h
	@mkdir -p lib/musl
	cp $< $@
lib/musl/%.o: lib/%.c lib/*.h lib/musl/cdb.h .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -c -o $@ $<
$(MUSL_LIBA): $(MUSL_OBJ)
	rm -f $@
	ar rcs $@ $(MUSL_OBJ)
$(FAST_ONE): libexec/%: libexec/%.c $(MUSL_LIBA) .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -static -o $@ $< $(MUSL_LIBA) $(LIBCDB_A)
define musl_dir
libexec/sluice-$(1): $$(wildcard libexec/$(1)/*.c libexec/$(1)/*.h) $$(MUSL_LIBA) .build-flags
	$$(MUSL_CC) $$(MUSL_CFLAGS) -Ilibexec/$(1) -static -o $$@ $$(wildcard libexec/$(1)/*.c) $$(MUSL_LIBA) $$(LIBCDB_A)
endef
$(foreach d,$(FAST_DIRS),$(eval $(call musl_dir,$(d))))
# sluice-smtp: OpenSSL's archives as c-ares's (their few glibc calls, and
# the ucontext calls of its async jobs, which sluice never starts, are in
# lib/compat/glibc.c).  Its headers are copied as c-ares's are.
lib/musl/openssl/ssl.h: /usr/include/openssl/ssl.h
	@mkdir -p lib/musl/openssl
	cp /usr/include/openssl/*.h lib/musl/openssl/
	cp /usr/include/$(shell $(CC) -print-multiarch)/openssl/*.h lib/musl/openssl/
lib/musl/tls.o: lib/tls.c lib/*.h lib/compat/glibc.h lib/musl/openssl/ssl.h lib/musl/cdb.h .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -include lib/compat/glibc.h -c -o $@ $<
libexec/sluice-smtp: $(SMTP_SRC) libexec/smtp/*.h lib/musl/dns.o lib/musl/tls.o lib/musl/compat.o $(MUSL_LIBA) .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -Ilibexec/smtp -static -o $@ $(SMTP_SRC) lib/musl/dns.o lib/musl/tls.o \
	    lib/musl/compat.o $(MUSL_LIBA) $(shell $(CC) -print-file-name=libssl.a) \
	    $(shell $(CC) -print-file-name=libcrypto.a) $(shell $(CC) -print-file-name=libcares.a) \
	    $(LIBCDB_A)
# sluice-dnsbl is exec'd per connection too, and needs c-ares: Debian's
# libcares.a, built for glibc, links against musl given the few glibc
# calls it makes (lib/compat/glibc.c).  It starts in about 0.07 ms more
# than an empty program, against 0.6-0.9 ms linked static with glibc.
lib/musl/ares.h: /usr/include/ares.h
	@mkdir -p lib/musl
	cp /usr/include/ares*.h lib/musl/
lib/musl/dns.o: lib/dns.c lib/*.h lib/compat/glibc.h lib/musl/ares.h lib/musl/cdb.h .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -include lib/compat/glibc.h -c -o $@ $<
lib/musl/compat.o: lib/compat/glibc.c lib/compat/glibc.h .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -c -o $@ $<
libexec/sluice-dnsbl: $(DNSBL_SRC) libexec/dnsbl/*.h lib/musl/dns.o lib/musl/compat.o $(MUSL_LIBA) .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -Ilibexec/dnsbl -static -o $@ $(DNSBL_SRC) lib/musl/dns.o \
	    lib/musl/compat.o $(MUSL_LIBA) $(shell $(CC) -print-file-name=libcares.a) \
	    $(shell $(CC) -print-file-name=libcdb.a)
# sluice-smtpd the same way: c-ares for the access rules' DNS lookups
# costs a session nothing until a rule asks (sluice-smtpd(8), ACCESS).
libexec/sluice-smtpd: $(SMTPD_SRC) libexec/smtpd/*.h lib/musl/dns.o lib/musl/compat.o $(MUSL_LIBA) .build-flags
	$(MUSL_CC) $(MUSL_CFLAGS) -static -o $@ $(SMTPD_SRC) lib/musl/dns.o \
	    lib/musl/compat.o $(MUSL_LIBA) $(shell $(CC) -print-file-name=libcares.a) $(LIBCDB_A)
endif
# The unit test of sluice-smtp's report line links that module.
t/smtp-report: t/smtp-report.c libexec/smtp/smtp_report.c libexec/smtp/smtp.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ilibexec/smtp $(LDFLAGS_ALL) -o $@ $< libexec/smtp/smtp_report.c $(LIBA) $(LIBS)
t/%: t/%.c $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_$@) $(LIBS)

# ---- fuzz targets (t/fuzz, doc/fuzzing.md) ----
# Each t/fuzz/NAME.c is linked twice: with t/fuzz/main.c, which replays
# files (make check runs every corpus through it), and with libFuzzer.
FUZZ_COMMON = t/fuzz/util.c t/fuzz/txncheck.c
FUZZ_NAMES = $(basename $(notdir $(filter-out t/fuzz/main.c $(FUZZ_COMMON),$(wildcard t/fuzz/*.c))))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_TIME ?= 60
FUZZ_SRC_import = $(filter-out bin/import/sluice-import.c,$(IMPORT_SRC))
FUZZ_INC_import = -Ibin/import
FUZZ_SRC_bsmtp = $(addprefix libexec/bsmtp-decode/,head.c unwrap.c batch.c)
FUZZ_INC_bsmtp = -Ilibexec/bsmtp-decode
FUZZ_LDFLAGS_bsmtp = $(foreach f,rbuf_init rbuf_free wbuf_init wbuf_free txn_init header_init header_free,-Wl,--wrap=$(f))
FUZZ_SRC_pop3 = libexec/pop3/session.c
FUZZ_INC_pop3 = -Ilibexec/pop3
FUZZ_LIBS_pop3 = -lssl -lcrypto
# The whole server, its main and queue hand-off included with names changed
# (t/fuzz/smtpd.c); its ends jump back, fork fails, the clock is the target's.
FUZZ_SRC_smtpd = $(filter-out libexec/smtpd/sluice-smtpd.c libexec/smtpd/smtpd_queue.c,$(SMTPD_SRC))
FUZZ_INC_smtpd = -Ilibexec/smtpd
FUZZ_DEPS_smtpd = libexec/smtpd/sluice-smtpd.c libexec/smtpd/smtpd_queue.c libexec/smtpd/*.h
FUZZ_LDFLAGS_smtpd = $(foreach f,_exit fork clock_now_ms,-Wl,--wrap=$(f))
FUZZ_LIBS_smtpd = -lcares
# The client's reply reader and session, smtp_conn.c and main included with
# names changed (t/fuzz/smtp.c).
FUZZ_SRC_smtp = $(filter-out libexec/smtp/sluice-smtp.c libexec/smtp/smtp_conn.c,$(SMTP_SRC))
FUZZ_INC_smtp = -Ilibexec/smtp
FUZZ_DEPS_smtp = libexec/smtp/sluice-smtp.c libexec/smtp/smtp_conn.c libexec/smtp/*.h
FUZZ_LIBS_smtp = -lssl -lcrypto -lcares
FUZZ_REPLAY = $(addprefix t/fuzz/build/replay-,$(FUZZ_NAMES))
FUZZ_CC ?= clang
FUZZ_SAN = address,undefined
FUZZ_CFLAGS = -std=c11 -g -O1 -fno-omit-frame-pointer $(WARN) $(DEFS) -Ilib -It/fuzz \
	-fno-sanitize-recover=undefined
FUZZ_LIB_OBJ = $(patsubst lib/%.c,t/fuzz/build/lib/%.o,$(LIB_SRC))
FUZZ_LIBA = t/fuzz/build/libsluice-fuzz.a

t/fuzz/build/lib/%.o: lib/%.c lib/*.h
	@mkdir -p t/fuzz/build/lib
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c -o $@ $<
$(FUZZ_LIBA): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJ)
define fuzz_target
t/fuzz/build/replay-$(1): t/fuzz/$(1).c t/fuzz/main.c $$(FUZZ_COMMON) t/fuzz/*.h $$(FUZZ_SRC_$(1)) $$(FUZZ_DEPS_$(1)) $$(LIBA) .build-flags
	@mkdir -p t/fuzz/build
	$$(CC) $$(CFLAGS_ALL) -It/fuzz $$(FUZZ_INC_$(1)) $$(LDFLAGS_ALL) $$(FUZZ_LDFLAGS_$(1)) -o $$@ t/fuzz/$(1).c t/fuzz/main.c $$(FUZZ_COMMON) $$(FUZZ_SRC_$(1)) $$(LIBA) $$(FUZZ_LIBS_$(1)) $$(LIBS)
t/fuzz/build/fuzz-$(1): t/fuzz/$(1).c $$(FUZZ_COMMON) t/fuzz/*.h $$(FUZZ_SRC_$(1)) $$(FUZZ_DEPS_$(1)) $$(FUZZ_LIBA)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_INC_$(1)) -fsanitize=fuzzer,$$(FUZZ_SAN) $$(FUZZ_LDFLAGS_$(1)) -o $$@ t/fuzz/$(1).c $$(FUZZ_COMMON) $$(FUZZ_SRC_$(1)) $$(FUZZ_LIBA) $$(FUZZ_LIBS_$(1)) $$(LIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_target,$(f))))

fuzz: deps
	$(MAKE) $(addprefix t/fuzz/build/fuzz-,$(FUZZ_TARGETS))
	t/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

conf/%.cdb: conf/% bin/sluice-mkcdb
	bin/sluice-mkcdb -o $@ $<

deps:
	@.ci/deps

# Under SAN=1 a sanitizer report makes a program exit 66, which no test
# expects, and is written into t/wrap/log/ (a daemon's exit status is seen
# by no test): make check fails when one is there.  Leak checking is on for
# the long-running programs only, each named by a file in t/asan/ (see
# its README): the others are short-lived filters that free their memory
# by exiting, and reports of that would bury real ones.
ifeq ($(SAN),1)
export ASAN_OPTIONS ?= detect_leaks=0:exitcode=66:log_path=$(CURDIR)/t/wrap/log/asan:include_if_exists=$(CURDIR)/t/asan/%b
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/t/wrap/log/ubsan
endif

# VALGRIND=1 puts a script per program first on PATH that runs it under
# valgrind (t/tools/mkwrap.sh).  Under SAN=1 and VALGRIND=1, a report in
# t/wrap/log/ fails the check.  T= names the tests to run.
T ?= t/
check: deps
	$(MAKE) all $(TESTPROGS) $(FUZZ_REPLAY)
ifeq ($(VALGRIND),1)
	t/tools/mkwrap.sh valgrind t/wrap
	SLUICE_TEST_WRAP=$(CURDIR)/t/wrap SLUICE_SMTPD=$(CURDIR)/t/wrap/sluice-smtpd \
	  prove -j2 -f $(T); rc=$$?; t/tools/wraplog.sh t/wrap/log && exit $$rc
else ifeq ($(SAN),1)
	rm -rf t/wrap/log && mkdir -p t/wrap/log && chmod 1777 t/wrap/log
	prove -j2 -f $(T); rc=$$?; t/tools/wraplog.sh t/wrap/log && exit $$rc
else
	prove -j2 -f $(T)
endif

run: deps
	$(MAKE) all
	@SLUICE_USER=$(SLUICE_USER) t/tools/run.sh

bench: deps
	$(MAKE) all
	@t/bench/run.sh

# Not part of check: it runs for SOAK_TIME seconds (default an hour).
SOAK_TIME ?= 3600
soak: deps
	$(MAKE) all
	SOAK_TIME=$(SOAK_TIME) t/soak/soak.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSCONFDIR)
	for p in $(filter bin/%,$(PROGS)); do install -m 755 $$p $(DESTDIR)$(BINDIR)/; done
	ln -sf sendmail $(DESTDIR)$(BINDIR)/newaliases
	for p in $(filter libexec/%,$(PROGS)); do install -m 755 $$p $(DESTDIR)$(LIBEXECDIR)/; done
	for f in $(CONF_TEXT); do t=$(DESTDIR)$(SYSCONFDIR)/$${f#conf/}; \
	  [ -e $$t ] || install -m 644 $$f $$t; \
	  [ -e $$t.cdb ] || bin/sluice-mkcdb -o $$t.cdb $$t; done
	for f in $(CONF_REGEX); do t=$(DESTDIR)$(SYSCONFDIR)/$${f#conf/}; \
	  [ -e $$t ] || install -m 644 $$f $$t; done
	for s in 1 5 7 8; do install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  for m in man/*.$$s; do [ ! -e $$m ] || install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done; done
	install -d -m 750 $(DESTDIR)$(SPOOLDIR) $(DESTDIR)$(MAILROOT)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SERVICEDIR)/systemd
	for u in conf/systemd/*.service.in; do n=$${u##*/}; \
	  $(SERVICE_SUBST) $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$${n%.in}; \
	  chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${n%.in}; done
	$(SERVICE_SUBST) conf/systemd/sluice-runq-root.conf.in > $(DESTDIR)$(SERVICEDIR)/systemd/sluice-runq-root.conf
	for r in conf/daemontools/*/run.in conf/daemontools/*/log/run.in; do \
	  t=$(DESTDIR)$(SERVICEDIR)/daemontools/$${r#conf/daemontools/}; t=$${t%.in}; \
	  install -d $${t%/run}; $(SERVICE_SUBST) $$r > $$t; chmod 755 $$t; done
	@e=$(DESTDIR)$(LIBEXECDIR)/sluice-enqueue; s=$(DESTDIR)$(SPOOLDIR); m=$(DESTDIR)$(MAILROOT); \
	if [ "$$(id -u)" = 0 ] && id -u $(SLUICE_USER) >/dev/null 2>&1; then \
	  echo "chown $(SLUICE_USER): $$s $$m; chown $(SLUICE_USER) $$e; chmod 4755 $$e"; \
	  chown $(SLUICE_USER): $$s $$m && chown $(SLUICE_USER) $$e && chmod 4755 $$e; \
	else \
	  echo "make install: not root, or no user $(SLUICE_USER): $$e is not set-user-ID,"; \
	  echo "so only root and the spool's owner can queue mail.  As root:"; \
	  echo "  id $(SLUICE_USER) || useradd -r -M -d /nonexistent -s /usr/sbin/nologin $(SLUICE_USER)"; \
	  echo "  chown $(SLUICE_USER): $$s $$m && chown $(SLUICE_USER) $$e && chmod 4755 $$e"; \
	fi
	@echo "TLS, AUTH, submission (587) and SMTPS (465) with a real certificate:"
	@echo "  in $(SYSCONFDIR)/config: smtpd_tls_cert $(SYSCONFDIR)/tls/cert.pem, smtpd_tls_key"
	@echo "  $(SYSCONFDIR)/tls/key.pem (mode 600, owner $(SLUICE_USER)), smtpd_auth yes; users in"
	@echo "  $(SYSCONFDIR)/smtpd_passwords (name crypt-hash, mode 600, owner $(SLUICE_USER));"
	@echo "  systemctl enable --now sluice-submission sluice-smtps (ports 587 and 465), or the"
	@echo "  run scripts in $(SERVICEDIR)/daemontools/ (doc/operations.md, \"TLS, submission and SMTPS\"); then:"
	@echo "  swaks -s HOST -p 587 --tls --auth PLAIN --auth-user USER --to SOMEONE"

# uninstall removes what install put in place: the programs, the
# newaliases link, the man pages, the systemd units and the daemontools run
# scripts.  Never the configuration (edited by the administrator), the
# spool nor the mailboxes (they hold mail).
uninstall:
	for p in $(notdir $(filter bin/%,$(PROGS))) newaliases; do \
	  rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for p in $(notdir $(filter libexec/%,$(PROGS))); do \
	  rm -f $(DESTDIR)$(LIBEXECDIR)/$$p; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null
	for m in $(notdir $(wildcard man/*.[1578])); do \
	  rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done
	for u in $(notdir $(basename $(wildcard conf/systemd/*.service.in))); do \
	  rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done
	rm -rf $(DESTDIR)$(SERVICEDIR)
	@echo "make uninstall: $(DESTDIR)$(SYSCONFDIR), $(DESTDIR)$(SPOOLDIR) and $(DESTDIR)$(MAILROOT) are kept."

# clean keeps ./var: it holds the queue and the mailboxes of make run.
clean:
	rm -rf lib/musl
	rm -f lib/*.o $(LIBA) $(PROGS) $(TESTPROGS) conf/*.cdb .build-flags
	rm -rf t/fuzz/build t/wrap

distclean: clean
	rm -rf var soak-out

.PHONY: all check fuzz run bench soak install uninstall clean distclean deps FORCE
