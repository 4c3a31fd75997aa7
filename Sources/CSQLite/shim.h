#ifndef PSPF_CSQLITE_SHIM_H
#define PSPF_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro around a cast of -1; Swift cannot import it.
static inline sqlite3_destructor_type pspf_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_config is variadic; this sets the one option the daemon needs.
static inline int pspf_sqlite_config_multithread(void) { return sqlite3_config(SQLITE_CONFIG_MULTITHREAD); }
#endif
