# sluice — build, test, run, benchmark, install.
#
#   make            build everything (C11, -Wall -Wextra -Werror -O2)
#   make check      install missing test tools, build, run the whole suite
#   make check SAN=1    the same, built with ASan and UBSan
#   make run        build and start a mail server on 127.0.0.1:2525 (PORT=,
#                   VAR=./var; as root, servers run as SLUICE_USER=sluice)
#   make bench      print throughput and memory figures, next to Postfix
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
LIBS_libexec/sluice-smtpd = -lcares $(if $(filter 1,$(SAN)),,-static)

# The programs exec'd once per connection or per message.  Starting a
# glibc program costs 0.4-0.6 ms here (its CPU probing traps in a VM);
# a static musl program starts in about 0.1 ms.  So, when musl-gcc is
# there (.ci/deps installs musl-tools) and this is the default gcc build,
# these are linked static against musl.  tinycdb's archive is used as it
# is: it needs only calls musl provides for the glibc ABI.  FAST=0 turns
# this off; clang and SAN=1 builds use their own compiler for everything.
MUSL_CC := $(shell command -v musl-gcc 2>/dev/null)
FAST ?= $(if $(and $(MUSL_CC),$(filter cc gcc,$(notdir $(CC))),$(if $(filter 1,$(SAN)),,yes)),1,0)
# sluice-retry, the policy stage, ends every chain: one more exec per batch.
FAST_PROGS = libexec/sluice-smtpd libexec/sluice-enqueue libexec/sluice-retry
# Those of one file; a program with a folder has its own rule below.
FAST_ONE = $(filter $(patsubst %.c,%,$(wildcard libexec/*.c)),$(FAST_PROGS))
LIBCDB_A = $(shell $(CC) -print-file-name=libcdb.a)
MUSL_OBJ = $(patsubst lib/%.c,lib/musl/%.o,$(filter-out lib/dns.c lib/tls.c,$(LIB_SRC)))
MUSL_LIBA = lib/musl/libsluice.a
MUSL_CFLAGS = -std=c11 $(OPT) $(WARN) $(DEFS) -Ilib -Ilib/musl $(CFLAGS)

all: $(PROGS) $(CONF_CDB)

# Rebuild everything when the compiler or its flags change (SAN=1 and back).
.build-flags: FORCE
	@echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL)' | cmp -s - $@ || \
	  echo '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL)' > $@
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
$(foreach d,$(LIBEXEC_DIRS),$(eval $(call libexec_dir,$(d))))
bin/sendmail: $(SUBMIT_SRC) bin/submit/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ibin/submit $(LDFLAGS_ALL) -o $@ $(SUBMIT_SRC) $(LIBA) $(LIBS)
# libexec/smtpd/ makes libexec/sluice-smtpd, static: with glibc here (LIBS_
# above), with musl below when FAST=1.
ifneq ($(FAST),1)
libexec/sluice-smtpd: $(SMTPD_SRC) libexec/smtpd/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(SMTPD_SRC) $(LIBA) $(LIBS_$@) $(LIBS)
endif
libexec/sluice-smtp: $(SMTP_SRC) libexec/smtp/*.h $(LIBA) .build-flags
	$(CC) $(CFLAGS_ALL) -Ilibexec/smtp $(LDFLAGS_ALL) -o $@ $(SMTP_SRC) $(LIBA) $(LIBS_$@) $(LIBS)
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

conf/%.cdb: conf/% bin/sluice-mkcdb
	bin/sluice-mkcdb -o $@ $<

deps:
	@.ci/deps

# Under SAN=1 a sanitizer report makes a program exit 66, which no test
# expects.  Leak checking is off: the programs are short-lived filters that
# free their memory by exiting, and reports of that would bury real ones.
ifeq ($(SAN),1)
export ASAN_OPTIONS ?= detect_leaks=0:exitcode=66
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif

check: deps
	$(MAKE) all $(TESTPROGS)
	prove -j2 -f t/

run: deps
	$(MAKE) all
	@SLUICE_USER=$(SLUICE_USER) t/tools/run.sh

bench: deps
	$(MAKE) all
	@t/bench/run.sh

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

distclean: clean
	rm -rf var

.PHONY: all check run bench install uninstall clean distclean deps FORCE
