/* A second ceiling: raw C SQLite inserting rows shaped like the ledger's own (the events
   table of schemas/events.sql: eleven columns, a 32-byte hash, a unique UUID event_id and
   the unique (stream, version) index), in one transaction, synchronous=FULL, the same page
   cache as the ledger. It shows what SQLite alone costs for the ledger's rows, with no JSON,
   no policies and no hashing.
   Build: cc -O2 tools/ledger_schema_ceiling.c -lsqlite3 -o /tmp/ledger_schema_ceiling
   Run:   /tmp/ledger_schema_ceiling [rows]      Prints: rows_per_s */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000000;
  char path[] = "/tmp/ledger_schema_ceiling_XXXXXX"; int fd = mkstemp(path); close(fd);
  sqlite3 *db; sqlite3_open(path, &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-262144;", 0, 0, 0);
  sqlite3_exec(db, "CREATE TABLE events(position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,"
                   " event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, schema_version INTEGER NOT NULL,"
                   " occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,"
                   " hash BLOB NOT NULL, UNIQUE(stream, version));", 0, 0, 0);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &st, 0);
  char stream[64], payload[256], eid[40]; unsigned char hash[32]; unsigned long long r = 88172645463325252ULL;
  double t0 = now();
  sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  for (int i = 0; i < n; i++) {
    snprintf(stream, sizeof stream, "client/C%06d", i % 1000);
    snprintf(payload, sizeof payload, "{\"orderId\":\"O-%d\",\"productId\":\"EQ-600519\",\"notional\":%d.25}", i, i % 99999);
    for (int k = 0; k < 32; k++) { r ^= r << 13; r ^= r >> 7; r ^= r << 17; hash[k] = (unsigned char)r; }
    snprintf(eid, sizeof eid, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(r >> 32), (unsigned)(r & 0xffff),
             (unsigned)((r >> 16) & 0xfff), (unsigned)((r >> 28) & 0xfff), r & 0xffffffffffffULL);
    sqlite3_bind_int64(st, 1, i + 1);
    sqlite3_bind_text(st, 2, stream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, i / 1000 + 1);
    sqlite3_bind_text(st, 4, eid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, "TradeExecuted", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, 1);
    sqlite3_bind_text(st, 7, "2026-03-02T09:31:00.000Z", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, "2026-11-25T10:00:00.000Z", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, payload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, "{\"actor\":\"oms\",\"channel\":\"app\"}", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 11, hash, 32, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) { fprintf(stderr, "%s\n", sqlite3_errmsg(db)); return 1; }
    sqlite3_reset(st);
  }
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
  printf("rows_per_s %.0f\n", n / (now() - t0));
  sqlite3_finalize(st); sqlite3_close(db);
  unlink(path); char side[64]; snprintf(side, sizeof side, "%s-wal", path); unlink(side); snprintf(side, sizeof side, "%s-shm", path); unlink(side);
  return 0;
}
