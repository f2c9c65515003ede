/*
** nerve_lua.h - nerve for C hosts that run their own lua_State (games,
** editors, tools). Link libnerve.a (pkg-config --libs nerve) and Lua 5.4.
**
**   lua_State *L = luaL_newstate();      (or lua_newstate with your allocator)
**   luaL_openlibs(L);
**   nerve_lua_open(L);                   once per state, before any require
**   ...  require "nerve"  from Lua: no files are read, the Lua layer is
**        compiled into the library
**   lua_close(L);                         frees everything nerve made
**
** Guarantees (tested in spec/host): every byte nerve uses comes from the
** state's allocator (lua_getallocf), so a capped allocator turns into an
** ordinary Lua error "not enough memory" and nothing leaks; nerve keeps no
** global state besides the kernel table chosen once from CPUID, so states
** in different threads are independent (one state per thread at a time,
** as Lua requires); nerve prints nothing unless asked (fit's progress
** option, print in your own scripts); programmer errors are Lua errors,
** bad data from outside returns nil, message; lua_close releases it all.
**
** The engine alone (nerve.h) needs no Lua at all: see examples/host/nolua.c.
*/
#ifndef NERVE_LUA_H
#define NERVE_LUA_H

#include "nerve.h"

#ifdef __cplusplus
extern "C" {
#endif

#include <lua.h>

/* Registers nerve's modules in package.preload of L, as linit.c describes
** for hosts: "nerve.core" (the C binding) and "nerve" with every
** "nerve.NAME" of the Lua layer (every lua/nerve/NAME.lua at build time).
** Nothing is loaded or run until a script requires it, and no global is
** set. Returns 0 (it has the lua_CFunction shape, so a host that wants
** memory errors as a status can lua_pcall it). Call it after
** luaL_openlibs (it needs package); calling it twice is harmless.
** Raises only on a memory error. */
NERVE_API int nerve_lua_open(lua_State *L);

/* The module function of nerve.core, for hosts that want only the C
** binding (register it in package.preload yourself). */
NERVE_API int luaopen_nerve_core(lua_State *L);

/* The engine context of L (one per state, made by nerve.core, which this
** opens if no script has yet). Networks made with it live in the state's
** allocator, like the ones scripts make. The context allocates through L
** as it is when you call this, so call it again after running Lua code
** (a coroutine may have run) and before the next engine calls; it is
** owned by the state: never free it. Raises only on a memory error. */
NERVE_API nerve_ctx *nerve_lua_ctx(lua_State *L);

/* Pushes net as a nerve.Net value and TAKES OWNERSHIP of it: the state
** frees it when the value is collected or closed, and the host must not
** free it. A network of the state's own context (nerve_lua_ctx) is
** wrapped as it is; one of any other context is copied into the state's
** context and then freed, so after the call always reach it through the
** Lua value (nerve_lua_tonet). On a memory error net is freed and the
** error is raised. */
NERVE_API void nerve_lua_pushnet(lua_State *L, nerve_net *net);

/* BORROWS the network of the nerve.Net at index idx: valid while that
** value stays reachable from Lua and is not closed (keep it in the
** registry or a global while you use the pointer), never freed by the
** host. Engine calls on it (nerve_net_forward, ...) allocate through L as
** described for nerve_lua_ctx. Returns NULL when the value is not an open
** network or a Lua call on it is running. Never raises. */
NERVE_API nerve_net *nerve_lua_tonet(lua_State *L, int idx);

/* Like nerve_lua_tonet, but raises a Lua argument error ("nerve.Net
** expected") instead of returning NULL; for the host's own C functions. */
NERVE_API nerve_net *nerve_lua_checknet(lua_State *L, int arg);

#ifdef __cplusplus
}
#endif

#endif
