# The library itself: a release build of crates/jac-capi, staged under
# build/lib with the versioned names an installed copy has, and `make install`.

LIBDIR := $(BUILD)/lib
SONAME := libjac.so.$(MAJOR)
REALNAME := libjac.so.$(VERSION)

.PHONY: lib install-c
lib:
	$(CARGO) build --release -p jac-capi
	mkdir -p $(LIBDIR)
	# Copy, then rename over the old file: a program still running on the
	# old library keeps its mapping instead of crashing (SIGBUS).
	cp -f target/release/libjac.so $(LIBDIR)/.$(REALNAME).tmp
	mv -f $(LIBDIR)/.$(REALNAME).tmp $(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libjac.so
	cp -f target/release/libjac.a $(LIBDIR)/.libjac.a.tmp
	mv -f $(LIBDIR)/.libjac.a.tmp $(LIBDIR)/libjac.a

# `make install PREFIX=/opt/jac` (DESTDIR for staged installs) runs this and
# whatever the bindings add to INSTALL_TARGETS (the rule is in the Makefile,
# after every mk/ file has added its part): the shared library with its
# soname links, the static library, jac.h and jac.pc.
install-c: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(LIBDIR)/$(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libjac.so
	install -m 644 $(LIBDIR)/libjac.a $(DESTDIR)$(PREFIX)/lib/libjac.a
	install -m 644 include/jac.h $(DESTDIR)$(PREFIX)/include/jac.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pkgconfig/jac.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/jac.pc
