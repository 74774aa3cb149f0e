#ifndef CLIENTLEDGER_CSQLITE_SHIM_H
#define CLIENTLEDGER_CSQLITE_SHIM_H

#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro around a cast Swift cannot import.
static inline sqlite3_destructor_type clientledger_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/// sqlite3_db_config is variadic; Swift cannot call it directly.
static inline int clientledger_sqlite_db_config_int(sqlite3 *db, int op, int value, int *result) {
    return sqlite3_db_config(db, op, value, result);
}

/// Returns memory the C allocator holds but no longer uses to the system (glibc only).
#if defined(__GLIBC__)
#include <malloc.h>
static inline void clientledger_release_free_memory(void) { malloc_trim(0); }
#else
static inline void clientledger_release_free_memory(void) {}
#endif

#endif
