#include <sqlite3.h>

// sqlite3_config is variadic, which Swift cannot call. Turning off SQLite's memory statistics
// (which nothing here reads) spares a global mutex on every allocation; it must happen before
// SQLite is first used in the process, and is harmless (SQLITE_MISUSE) after.
static inline int commerce_etl_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
