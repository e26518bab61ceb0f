# ensign: `make` builds, `make check` tests, `make run` runs, `make fuzz` builds fuzz targets.
# Sources are found by wildcard: each src/<module>/ is one static library.

.DEFAULT_GOAL := all

CC       ?= cc
CLANG    ?= clang
PYTEST   ?= /usr/bin/python3 -m pytest
FUZZ_SECONDS ?= 30

MODULES  := $(foreach m,log dns zone dnssec keys store server ctl api daemon,$(if $(wildcard src/$(m)/*.c),$(m)))
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
# p11-kit: PKCS#11 URIs (RFC 7512) and module loading for the PKCS#11 keystore.
P11KIT_CFLAGS := $(shell pkg-config --cflags p11-kit-1 2>/dev/null || echo -I/usr/include/p11-kit-1)
BASEFLAGS := -std=c17 -D_GNU_SOURCE -Isrc $(P11KIT_CFLAGS) -MMD -MP $(WARN)
LDLIBS   := -lcurl -lyaml -lmicrohttpd -ljansson -lsqlite3 -lurcu-memb -lurcu-common -lp11-kit -lcrypto \
            -lpthread -lm
B        ?= build

REL_CFLAGS  := $(BASEFLAGS) -O2 -g
ASAN_CFLAGS := $(BASEFLAGS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := $(BASEFLAGS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

define module_srcs
$(sort $(wildcard src/$(1)/*.c))
endef

LIB_SRCS  := $(foreach m,$(MODULES),$(call module_srcs,$(m)))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))

# $(call variant_rules,NAME,CC,CFLAGS)
define variant_rules
$(B)/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(2) $(3) -c $$< -o $$@

$(B)/$(1)/obj/gen/assets.o: $(B)/gen/assets.c
	@mkdir -p $$(dir $$@)
	$(2) $(3) -c $$< -o $$@

$(B)/$(1)/ensign: $(patsubst %.c,$(B)/$(1)/obj/%.o,$(CLI_SRCS)) \
    $(foreach m,$(call reverse,$(MODULES)),$(B)/$(1)/libens_$(m).a)
	$(2) $(3) -o $$@ $$^ $(LDLIBS)

-include $(shell find $(B)/$(1)/obj -name '*.d' 2>/dev/null)
endef

# Files built into the program (scripts/embed.sh): docs/openapi.yaml, served at
# /api/v1/openapi.yaml (also as ens_cli_openapi), and the dashboard's files in src/api/ui/,
# served at /ui/. The table is part of libens_api.
UI_ASSETS := $(sort $(wildcard src/api/ui/*))
$(B)/gen/assets.c: docs/openapi.yaml $(UI_ASSETS) scripts/embed.sh $(B)/gen/assets.list
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ docs/openapi.yaml=openapi.yaml=ens_cli_openapi \
	    $(foreach f,$(UI_ASSETS),$(f)=ui/$(notdir $(f)))

# The list of files, rewritten only when it changes, so a file removed from src/api/ui/ leaves.
$(B)/gen/assets.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(UI_ASSETS)' | cmp -s - $@ || echo '$(UI_ASSETS)' > $@
FORCE:

# $(call lib_rule,VARIANT,MODULE)
define lib_rule
$(B)/$(1)/libens_$(2).a: $(patsubst %.c,$(B)/$(1)/obj/%.o,$(wildcard src/$(2)/*.c)) \
    $(if $(filter api,$(2)),$(B)/$(1)/obj/gen/assets.o)
	@rm -f $$@
	ar rcs $$@ $$^
endef

reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
LIBS_REL  := $(foreach m,$(call reverse,$(MODULES)),$(B)/rel/libens_$(m).a)
LIBS_ASAN := $(foreach m,$(call reverse,$(MODULES)),$(B)/asan/libens_$(m).a)
LIBS_FUZZ := $(foreach m,$(call reverse,$(MODULES)),$(B)/fuzz/libens_$(m).a)

.SECONDARY:
$(foreach v,rel asan fuzz,$(foreach m,$(MODULES),$(eval $(call lib_rule,$(v),$(m)))))
$(eval $(call variant_rules,rel,$(CC),$(REL_CFLAGS)))
$(eval $(call variant_rules,asan,$(CC),$(ASAN_CFLAGS)))
$(eval $(call variant_rules,fuzz,$(CLANG),$(FUZZ_CFLAGS)))

UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(UNIT_SRCS))
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/asan/tools/%,$(TOOL_SRCS))
FUZZ_BINS := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))

$(B)/asan/tests/%: $(B)/asan/obj/tests/unit/%.o $(LIBS_ASAN)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(B)/asan/tools/%: $(B)/asan/obj/tests/tools/%.o $(LIBS_ASAN)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz/%: $(B)/fuzz/obj/fuzz/%.o $(LIBS_FUZZ)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

.PHONY: all deps clients asan fuzz check unit integration fuzz-check lint run bench clean FORCE \
        install deb package-check monitoring-check
all: $(B)/rel/ensign
	@ln -sf rel/ensign $(B)/ensign

deps:
	@sh scripts/deps.sh

# the npm packages of the client tests, from tests/clients/package-lock.json
clients:
	@sh scripts/clients.sh

asan: $(B)/asan/ensign $(UNIT_BINS) $(TOOL_BINS)

fuzz: $(FUZZ_BINS)

SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

unit: asan
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $(SAN_ENV) $$t; done

integration: asan all clients
	$(SAN_ENV) ENSIGN_BIN=$(abspath $(B))/asan/ensign ENSIGN_TOOLS=$(abspath $(B))/asan/tools \
	    $(PYTEST) -q tests/integration

fuzz-check: fuzz
	@sh scripts/fuzz-check.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

lint:
	@sh scripts/lint.sh

check: deps
	$(MAKE) lint
	$(MAKE) all asan fuzz
	$(MAKE) unit
	$(MAKE) monitoring-check
	$(MAKE) integration
	$(MAKE) package-check
	$(MAKE) fuzz-check

# The alert rules parse and pass their unit tests (promtool); the dashboard uses only metrics
# ensign exports (a running ensign is scraped), and promtool finds nothing in the scrape.
monitoring-check: all
	promtool check rules monitoring/ensign_rules.yml
	cd monitoring && promtool test rules ensign_rules_test.yml
	/usr/bin/python3 monitoring/check_dashboard.py monitoring/grafana/ensign-dashboard.json \
	    $(B)/rel/ensign

# Installation: make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
# [UNITDIR=$(PREFIX)/lib/systemd/system]. The configuration file is installed only when there
# is none; the service's user is made by the Debian package (or by hand: adduser --system
# --group --home /var/lib/ensign --no-create-home ensign).
PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/ensign
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(DOCDIR)/runbooks $(DESTDIR)$(DOCDIR)/monitoring/grafana \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/ensign
	install -m 0755 $(B)/rel/ensign $(DESTDIR)$(BINDIR)/ensign
	install -m 0644 docs/man/ensign.1 $(DESTDIR)$(MANDIR)/man1/ensign.1
	install -m 0644 docs/man/ensign.conf.5 $(DESTDIR)$(MANDIR)/man5/ensign.conf.5
	install -m 0644 docs/runbooks/*.md $(DESTDIR)$(DOCDIR)/runbooks/
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 dist/ensign.conf $(DESTDIR)$(DOCDIR)/ensign.conf.example
	for f in ensign_rules.yml ensign_rules_test.yml; do \
	    sed 's#runbook_url: docs/runbooks/#runbook_url: file://$(DOCDIR)/runbooks/#' \
	        monitoring/$$f > $(DESTDIR)$(DOCDIR)/monitoring/$$f && \
	    chmod 0644 $(DESTDIR)$(DOCDIR)/monitoring/$$f; done
	install -m 0644 monitoring/grafana/ensign-dashboard.json $(DESTDIR)$(DOCDIR)/monitoring/grafana/
	install -m 0644 monitoring/prometheus.yml $(DESTDIR)$(DOCDIR)/monitoring/prometheus.yml.example
	sed 's#@BINDIR@#$(BINDIR)#g; s#@SYSCONFDIR@#$(SYSCONFDIR)#g' dist/ensign.service.in \
	    > $(DESTDIR)$(UNITDIR)/ensign.service && chmod 0644 $(DESTDIR)$(UNITDIR)/ensign.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/ensign/ensign.conf ] || \
	    install -m 0644 dist/ensign.conf $(DESTDIR)$(SYSCONFDIR)/ensign/ensign.conf

# The Debian package (dpkg-deb): build/ensign_VERSION_ARCH.deb.
deb: all
	sh scripts/deb.sh

# The package built, its contents checked, unpacked into a scratch root and run there; as
# root also installed for real (apt-get), run as the service runs it, and purged again.
package-check: deb
	sh scripts/package-check.sh

run: deps all
	@sh scripts/run.sh

bench: deps all
	@sh bench/parse.sh

clean:
	rm -rf $(B)
