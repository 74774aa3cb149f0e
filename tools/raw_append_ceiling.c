/* The single-append ceiling: raw C SQLite committing one row per transaction, WAL mode,
   synchronous=FULL, the row shaped like the ledger's stored form (the `log` table: integer
   stream, version, 16-byte id, integer type and times, a JSON payload and metadata, a
   32-byte hash) with its two unique indexes. What a durable append costs SQLite alone.

   Build: cc -O2 tools/raw_append_ceiling.c -lsqlite3 -o /tmp/raw_append_ceiling
   Run:   /tmp/raw_append_ceiling [rows]          Prints: append_eps (one line) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 3000;
    char path[] = "/tmp/raw_append_ceiling_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", 0, 0, 0);
    sqlite3_exec(db,
        "CREATE TABLE log(position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, version INTEGER NOT NULL,"
        " event_id BLOB NOT NULL, type_id INTEGER NOT NULL, schema_version INTEGER NOT NULL,"
        " occurred_ms INTEGER NOT NULL, recorded_ms INTEGER NOT NULL, data TEXT NOT NULL, metadata TEXT,"
        " hash BLOB NOT NULL);"
        "CREATE UNIQUE INDEX log_stream_version ON log(stream_id, version);"
        "CREATE UNIQUE INDEX log_event_id ON log(event_id);", 0, 0, 0);
    sqlite3_stmt *insert;
    sqlite3_prepare_v2(db, "INSERT INTO log VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &insert, 0);
    unsigned char id[16], hash[32];
    unsigned long long r = 88172645463325252ULL;
    double start = now();
    for (int i = 0; i < rows; i++) {
        for (int k = 0; k < 16; k++) { r ^= r << 13; r ^= r >> 7; r ^= r << 17; id[k] = (unsigned char)r; }
        for (int k = 0; k < 32; k++) { r ^= r << 13; r ^= r >> 7; r ^= r << 17; hash[k] = (unsigned char)r; }
        sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
        sqlite3_bind_int64(insert, 1, i + 1);
        sqlite3_bind_int64(insert, 2, i % 10 + 1);
        sqlite3_bind_int64(insert, 3, i / 10 + 1);
        sqlite3_bind_blob(insert, 4, id, 16, SQLITE_TRANSIENT);
        sqlite3_bind_int64(insert, 5, 7);
        sqlite3_bind_int64(insert, 6, 1);
        sqlite3_bind_int64(insert, 7, 1748736000000LL + i);
        sqlite3_bind_int64(insert, 8, 1764576000000LL + i);
        sqlite3_bind_text(insert, 9, "{\"channel\":\"app\",\"kind\":\"inquiry\"}", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 10, "{\"actor\":\"crm\"}", -1, SQLITE_STATIC);
        sqlite3_bind_blob(insert, 11, hash, 32, SQLITE_TRANSIENT);
        if (sqlite3_step(insert) != SQLITE_DONE) { fprintf(stderr, "%s\n", sqlite3_errmsg(db)); return 1; }
        sqlite3_reset(insert);
        sqlite3_exec(db, "COMMIT", 0, 0, 0);
    }
    double elapsed = now() - start;
    printf("append_eps %.0f\n", rows / elapsed);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    char side[64];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path); unlink(side);
    snprintf(side, sizeof side, "%s-shm", path); unlink(side);
    return 0;
}
