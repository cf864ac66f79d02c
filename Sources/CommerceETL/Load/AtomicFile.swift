// Outputs are written under a temporary name beside their target and renamed into place only
// when the whole run has succeeded, so readers never see a half-written file.
import Foundation
import Synchronization

public enum AtomicFile {
    /// `dir/.name.tmp-RUNID` beside `final`.
    public static func temporaryPath(for final: String, runID: String) -> String {
        let url = URL(fileURLWithPath: final)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(runID)").path
    }

    /// Resolves a pipeline path against the working directory.
    public static func resolve(_ path: String, in workingDirectory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: workingDirectory).appendingPathComponent(path).standardized.path
    }

    public static func publish(temporary: String, final: String) throws {
        guard rename(temporary, final) == 0 else {
            throw ETLError("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))")
        }
        let dir = URL(fileURLWithPath: final).deletingLastPathComponent().path
        let fd = open(dir, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// A buffered, append-only file with a byte count.
final class OutputFile {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var bytesWritten: Int64 = 0
    private let capacity = 1 << 18

    init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ETLError("cannot create \(path): \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(capacity)
    }

    func write(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
        if buffer.count >= capacity { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ETLError("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs to disk and closes.
    func close() throws {
        guard fd >= 0 else { return }
        try flush()
        guard fsync(fd) == 0 else { throw ETLError("cannot sync \(path): \(String(cString: strerror(errno)))") }
        Foundation.close(fd)
        fd = -1
    }

    /// Closes without caring about errors (for aborts).
    func discard() {
        buffer.removeAll()
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }
}

/// Directories a run created for its outputs, so a failed run can remove them again.
/// Shared by every load of a run, as several may write into the same new directory.
public final class OutputDirectories: Sendable {
    private let created = Mutex<[String]>([])

    public init() {}

    /// Creates the directory `final` goes into, and any missing parents.
    func prepare(for final: String) throws {
        try created.withLock { created in
            var dir = URL(fileURLWithPath: final).deletingLastPathComponent()
            var missing: [URL] = []
            while !FileManager.default.fileExists(atPath: dir.path) {
                missing.append(dir)
                dir = dir.deletingLastPathComponent()
            }
            for url in missing.reversed() {
                do {
                    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
                } catch {
                    throw ETLError("cannot create directory \(url.path): \((error as NSError).localizedDescription)")
                }
                created.append(url.path)
            }
        }
    }

    /// Removes the directories this run created, innermost first, where they are empty.
    public func removeEmpty() {
        created.withLock { created in
            for dir in created.reversed() where (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: dir)
            }
            created.removeAll()
        }
    }
}

/// One output's temporary file, beside its final name.
struct StagedOutput {
    let final: String
    let temporary: String

    init(path: String, run: RunContext) throws {
        final = AtomicFile.resolve(path, in: run.workingDirectory)
        temporary = AtomicFile.temporaryPath(for: final, runID: run.runID)
        try run.directories.prepare(for: final)
    }

    var staged: StagedFile { StagedFile(temporary: temporary, final: final) }

    func abort() {
        try? FileManager.default.removeItem(atPath: temporary)
    }
}
