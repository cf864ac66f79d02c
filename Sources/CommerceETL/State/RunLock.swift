// One run of a pipeline at a time: a run (and `state reset`) holds an exclusive lock on
// `<state directory>/lock`, so a second run started while the first is going (an overlapping
// cron job) stops with a clear error instead of continuing the first one's checkpoint under it.
// The kernel drops the lock when the process dies, so a killed run never leaves it held.
import Foundation

public final class RunLock {
    private var fd: Int32
    private let path: String
    /// Directories the lock created (removed again on release if left empty).
    private let created: [String]

    public init(directory: String, pipeline: String) throws {
        var missing: [String] = []
        var dir = URL(fileURLWithPath: directory)
        while !FileManager.default.fileExists(atPath: dir.path), dir.path != "/" {
            missing.append(dir.path)
            dir = dir.deletingLastPathComponent()
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ETLError("cannot create the state directory \(directory): \((error as NSError).localizedDescription)")
        }
        created = missing
        path = URL(fileURLWithPath: directory).appendingPathComponent("lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ETLError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            fd = -1
            throw RunInProgress(pipeline: pipeline, lock: path)
        }
    }

    /// Unlocks; removes the lock file and the directories it created when nothing else is in them.
    public func release() {
        guard fd >= 0 else { return }
        unlink(path)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
        var prune = created
        // The default `.commerce-etl/state/<pipeline>` goes when empty, whichever run created it.
        let stateDir = URL(fileURLWithPath: path).deletingLastPathComponent()
        if stateDir.deletingLastPathComponent().path.hasSuffix("/.commerce-etl/state") {
            prune += [stateDir.path, stateDir.deletingLastPathComponent().path, stateDir.deletingLastPathComponent().deletingLastPathComponent().path]
        }
        for dir in prune where (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    deinit { release() }
}

/// Another run of the pipeline holds its state directory: the CLI exits with its own code (3),
/// so a scheduler can tell "still running" from "failed".
public struct RunInProgress: Error, CustomStringConvertible {
    public var pipeline: String
    public var lock: String
    public var description: String { "another run of '\(pipeline)' is in progress (\(lock) is locked); wait for it to finish" }
}
