/*
** nerve_lua_src.h - the Lua layer compiled into the library: one entry per
** lua/nerve/NAME.lua file, written at build time by tools/embed_lua.lua.
*/
#ifndef NERVE_LUA_SRC_H
#define NERVE_LUA_SRC_H

#include <stddef.h>

typedef struct nerve_lua_src {
  const char *module; /* "nerve", "nerve.fit", ... */
  const char *chunk;  /* chunk name for messages: "@nerve/fit.lua" */
  const char *text;
  size_t len;
} nerve_lua_src;

/* Ends with an entry whose module is NULL. */
extern const nerve_lua_src nerve_lua_sources[];

#endif
