#ifndef PSPF_CSQLITE_SHIM_H
#define PSPF_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro around a cast of -1; Swift cannot import it.
static inline sqlite3_destructor_type pspf_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_config is variadic; this sets the one option the daemon needs.
static inline int pspf_sqlite_config_multithread(void) { return sqlite3_config(SQLITE_CONFIG_MULTITHREAD); }

// sqlite3_db_config is variadic. Defensive mode turns off the features that let plain SQL corrupt a
// database file on purpose (PRAGMA writable_schema, journal_mode=OFF, writes to shadow tables).
static inline int pspf_sqlite_db_config_defensive(sqlite3 *db, int enable) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, enable, (int *)0);
}

// Names the calling thread (the dedicated SQLite thread), so it shows in `top -H`, gdb and crash
// reports. glibc declares pthread_setname_np only under _GNU_SOURCE, which a module header must not
// define, so the prototype is repeated here. Linux keeps at most 15 bytes of the name.
#include <pthread.h>
#if defined(__APPLE__)
static inline int pspf_set_current_thread_name(const char *name) { return pthread_setname_np(name); }
#elif defined(__linux__)
extern int pthread_setname_np(pthread_t thread, const char *name);
static inline int pspf_set_current_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }
#else
static inline int pspf_set_current_thread_name(const char *name) { (void)name; return 0; }
#endif
#endif
