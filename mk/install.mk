# install.mk - install and uninstall, and the checks of the rock
# and of an installed tree (the Makefile includes it).

# The Lua layer's folders under lua/: nerve, and its modules' parts
# (nerve/fit); each file goes to the same place under LUA_LMOD.
LUA_DIRS = $(patsubst lua/%/,%,$(sort $(dir $(LUA_SRC))))

install: $(CORE) $(LIB)
	install -d $(DESTDIR)$(LUA_CMOD)/nerve \
	  $(addprefix $(DESTDIR)$(LUA_LMOD)/,$(LUA_DIRS)) \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(CORE) $(DESTDIR)$(LUA_CMOD)/nerve/core.so
	for f in $(LUA_SRC); do \
	  install -m 644 $$f $(DESTDIR)$(LUA_LMOD)/$${f#lua/} || exit 1; \
	done
	install -m 644 src/nerve.h $(DESTDIR)$(PREFIX)/include/nerve.h
	install -m 644 src/binding/nerve_lua.h $(DESTDIR)$(PREFIX)/include/nerve_lua.h
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libnerve.a
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' nerve.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nerve.pc

uninstall:
	rm -rf $(DESTDIR)$(LUA_CMOD)/nerve $(DESTDIR)$(LUA_LMOD)/nerve
	rm -f $(DESTDIR)$(PREFIX)/include/nerve.h $(DESTDIR)$(PREFIX)/lib/libnerve.a \
	  $(DESTDIR)$(PREFIX)/include/nerve_lua.h \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/nerve.pc

# The rock into a temporary tree, required from a fresh Lua (needs
# Debian's luarocks).
ROCK_TREE ?= /tmp/nerve-rock-tree
rockcheck:
	@rm -rf $(ROCK_TREE)
	@luarocks --lua-version 5.4 --tree $(ROCK_TREE) make nerve-$(VERSION)-1.rockspec >/dev/null
	@eval "$$(luarocks --lua-version 5.4 --tree $(ROCK_TREE) path 2>/dev/null)" && cd / && \
	  $(LUA) -e 'local n = require "nerve"; assert(package.searchpath("nerve.core", package.cpath):find("$(ROCK_TREE)", 1, true)); assert(#n.mlp{2, 3, 1}:forward{1, 2} == 1); print("rockcheck: nerve " .. n.version .. " from the rock tree")'
	@rm -rf $(ROCK_TREE)

# make install into a temporary prefix, then the host examples built
# from there with pkg-config alone (the engine-only one without Lua).
INST ?= /tmp/nerve-install
installcheck: $(CORE) $(LIB)
	@rm -rf $(INST)
	@$(MAKE) --no-print-directory -s install PREFIX=$(INST) \
	  LUA_LMOD=$(INST)/share/lua/5.4 LUA_CMOD=$(INST)/lib/lua/5.4 >/dev/null
	@export PKG_CONFIG_PATH=$(INST)/lib/pkgconfig && \
	  $(CC) -std=c11 examples/host/nolua.c $$(pkg-config --cflags --libs nerve) \
	    -o $(INST)/nolua && \
	  $(CC) -std=c11 examples/host/game.c \
	    $$(pkg-config --cflags --libs nerve lua5.4) -o $(INST)/game && \
	  $(INST)/nolua >/dev/null && $(INST)/game examples/host/game.lua 10 >/dev/null
	@echo "installcheck: headers, libnerve.a and nerve.pc build both host examples"
	@rm -rf $(INST)
