// The database files of a run, each opened once and shared by the loads that name it.
import CSQLite
import Foundation
import Synchronization

/// One database file of a run: one connection and one transaction, shared by every load that
/// names the file, committed when the run publishes its outputs.
final class SharedDatabase: @unchecked Sendable {
    // Every use of `db` and the counters happens under `lock`.
    private let lock = NSLock()
    let path: String
    private var db: SQLiteDatabase?
    private let createdFile: Bool
    private var writers = 0
    private var finished = 0

    init(path: String) throws {
        self.path = path
        createdFile = !FileManager.default.fileExists(atPath: path)
        let db = try SQLiteDatabase(path: path)
        do {
            try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;")
            try db.execute("BEGIN IMMEDIATE")
        } catch {
            db.close()
            throw error
        }
        self.db = db
    }

    func join() { lock.withLock { writers += 1 } }

    func use<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try lock.withLock {
            guard let db else { throw ETLError("the SQLite database \(path) is already closed") }
            return try body(db)
        }
    }

    /// A writer is done; the last one gets the commit to run when the outputs are published.
    func leave() -> CommitAction? {
        lock.withLock {
            finished += 1
            guard finished == writers else { return nil }
            return CommitAction(target: path, commit: { try self.commit() }, rollback: { self.rollback(keepFile: true) })
        }
    }

    /// Commits what is written so far and opens the next transaction.
    func commitCheckpoint() throws {
        try lock.withLock {
            guard let db else { throw ETLError("the SQLite database \(path) is already closed") }
            try db.execute("COMMIT")
            try db.execute("BEGIN IMMEDIATE")
        }
    }

    private func commit() throws {
        try lock.withLock {
            guard let db else { return }
            try db.execute("COMMIT")
            try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            self.db = nil
        }
    }

    /// Drops what was written since the last commit; a file this run created is removed unless
    /// `keepFile` (an interrupted run's checkpoints live in it).
    func rollback(keepFile: Bool = false) {
        lock.withLock {
            guard let db else { return }
            try? db.execute("ROLLBACK")
            db.close()
            self.db = nil
            if createdFile, !keepFile {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
        }
    }
}

/// The SQLite files of one run, by final path (a run resource: loads naming one file share it).
final class SQLiteFiles: Sendable {
    private let files = Mutex<[String: SharedDatabase]>([:])
    init() {}

    func open(path: String, run: RunContext) throws -> SharedDatabase {
        let final = try OutputPath.final(path, run: run)
        return try files.withLock { files in
            if let shared = files[final] {
                shared.join()
                return shared
            }
            try run.directories.prepare(for: final)
            let shared = try SharedDatabase(path: final)
            shared.join()
            files[final] = shared
            return shared
        }
    }
}
