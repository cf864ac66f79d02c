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

    /// Writes a small file whole: a temporary file beside it, synced, then renamed over it.
    public static func write(_ bytes: [UInt8], to path: String, temporary: String) throws {
        let file = try OutputFile(creating: temporary)
        do {
            try file.write(bytes)
            try file.close()
            try publish(temporary: temporary, final: path)
        } catch {
            file.discard()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
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

/// A buffered, append-only file with a byte count: what a load writes its temporary output with.
public final class OutputFile {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var bytesWritten: Int64 = 0
    private let capacity = 1 << 18

    public init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ETLError("cannot create \(path): \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(capacity)
    }

    /// Reopens a file an interrupted run wrote, cut back to `offset` (its last checkpoint), to append to it.
    public init(continuing path: String, at offset: Int64) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ETLError("cannot continue \(path) (written by the interrupted run): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, Int64(info.st_size) >= offset else {
            Foundation.close(fd)
            throw ETLError("cannot continue \(path): it is shorter than its checkpoint (\(offset) bytes); discard the interrupted run with 'commerce-etl state reset'")
        }
        guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            Foundation.close(fd)
            throw ETLError("cannot cut \(path) back to its checkpoint: \(String(cString: strerror(errno)))")
        }
        bytesWritten = offset
        buffer.reserveCapacity(capacity)
    }

    public func write(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
        if buffer.count >= capacity { try flush() }
    }

    /// `write` for bytes a writer has already gathered: 64 KiB or more go to the file as they
    /// are, without a copy into the buffer first.
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        guard bytes.count >= 1 << 16 else {
            try write(bytes[...])    // the buffered `write`
            return
        }
        try flush()
        try writeAll(UnsafeRawBufferPointer(bytes))
        bytesWritten += Int64(bytes.count)
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
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

    /// Flushes and syncs to disk, leaving the file open.
    public func sync() throws {
        guard fd >= 0 else { return }
        try flush()
        guard fsync(fd) == 0 else { throw ETLError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Flushes, syncs to disk and closes.
    public func close() throws {
        guard fd >= 0 else { return }
        try flush()
        guard fsync(fd) == 0 else { throw ETLError("cannot sync \(path): \(String(cString: strerror(errno)))") }
        Foundation.close(fd)
        fd = -1
    }

    /// Closes without caring about errors (for aborts).
    public func discard() {
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

/// One output's temporary file, beside its final name: a load writes the temporary one, and the
/// run renames it into place when every stage has succeeded.
public struct StagedOutput: Sendable {
    public let final: String
    public let temporary: String

    /// `path` as a pipeline file wrote it (placeholders filled in, kept inside the output base).
    public init(path: String, run: RunContext) throws {
        final = try OutputPath.final(path, run: run)
        temporary = AtomicFile.temporaryPath(for: final, runID: run.runID)
        try run.directories.prepare(for: final)
    }

    public var staged: StagedFile { StagedFile(temporary: temporary, final: final) }

    public func abort() {
        try? FileManager.default.removeItem(atPath: temporary)
    }
}

/// Output paths: `{run_date}` (UTC, YYYY-MM-DD), `{run_id}` and `{pipeline}` are filled in, and
/// the result must stay inside the output base (the working directory, or the pipeline's
/// `base_dir`), so a pipeline cannot write over files elsewhere.
public enum OutputPath {
    static let placeholders = ["run_date", "run_id", "pipeline"]

    /// Checks a path as written in a pipeline file (no file system access).
    static func check(_ value: ConfigValue?, _ path: String?) {
        guard let value, let path else { return }
        var rest = Substring(path)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                value.error("'\(value.path)': unclosed '{' in '\(path)'")
                return
            }
            let name = String(rest[rest.index(after: open)..<close])
            if !placeholders.contains(name) {
                let hint = nearest(name, in: placeholders).map { " (did you mean '{\($0)}'?)" } ?? ""
                value.error("'\(value.path)': unknown placeholder '{\(name)}'\(hint); placeholders are {run_date}, {run_id}, {pipeline}")
                return
            }
            rest = rest[rest.index(after: close)...]
        }
        if !path.hasPrefix("/"), escapes(path) {
            value.error("'\(value.path)': '\(path)' leads outside the output directory; outputs stay inside the working directory or base_dir")
        }
    }

    /// Whether a relative path climbs above its starting directory.
    static func escapes(_ relative: String) -> Bool {
        var depth = 0
        for part in relative.split(separator: "/") {
            if part == ".." { depth -= 1 } else if part != "." { depth += 1 }
            if depth < 0 { return true }
        }
        return false
    }

    static func render(_ path: String, run: RunContext) -> String {
        path.replacingOccurrences(of: "{run_date}", with: run.runDate)
            .replacingOccurrences(of: "{run_id}", with: run.runID)
            .replacingOccurrences(of: "{pipeline}", with: run.pipelineName)
    }

    static func final(_ path: String, run: RunContext) throws -> String {
        let base = run.outputBase
        let final = AtomicFile.resolve(render(path, run: run), in: base)
        let prefix = base.hasSuffix("/") ? base : base + "/"
        guard final.hasPrefix(prefix), staysInside(final, base: base) else {
            throw ETLError("output '\(path)' is outside \(base)\(final.hasPrefix(prefix) ? " (through a symbolic link)" : ""); outputs stay inside the working directory or base_dir")
        }
        return final
    }

    /// Whether `path`, with every symbolic link on the way resolved, lies inside `base` (itself
    /// resolved): a link inside the output directory must not lead the run's writes elsewhere.
    static func staysInside(_ path: String, base: String) -> Bool {
        guard let realBase = realPath(base) else { return true }
        // The deepest part of the path that exists (as a file, a directory or a link).
        var existing = path
        var info = stat()
        while lstat(existing, &info) != 0 {
            let parent = URL(fileURLWithPath: existing).deletingLastPathComponent().path
            if parent == existing { return false }
            existing = parent
        }
        // A link that leads nowhere could still be created through (SQLite opens through links).
        guard let real = realPath(existing) else { return false }
        return real == realBase || real.hasPrefix(realBase.hasSuffix("/") ? realBase : realBase + "/")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
