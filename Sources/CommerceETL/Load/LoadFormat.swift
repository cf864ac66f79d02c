import Foundation

/// A load format (`csv:`, `ndjson_gz:`, `sqlite:`).
public protocol LoadFormat: Sendable {
    /// The output a run of this load produces, for `plan` and the summary.
    var target: String { get }
    /// Opens the output under a temporary name; nothing is visible until `publish`. With
    /// `resume` (a state its writer returned from `checkpoint`), continues an interrupted run's
    /// output from that state.
    func makeWriter(_ run: RunContext, resume: Value?) async throws -> any LoadWriter
    /// Removes what an abandoned interrupted run wrote, given its writer's last state.
    func discard(_ state: Value, run: RunContext) async
    /// What the output holds before a run, when taking a run back needs it (an append table's rowids).
    func base(_ run: RunContext) async throws -> Value?
    /// Redoes the work this format does when outputs are published (a database load's commit:
    /// swapping rebuilt tables in), for a run that was interrupted while publishing. Returns the
    /// outputs it committed.
    func completePublishing(_ run: RunContext) async throws -> [String]
    /// `check`: whether a run could write the target, without writing anything; throws what
    /// stands in the way, returns what was found ("out/x.csv: the directory out exists and is writable").
    func checkTarget(_ run: RunContext) async throws -> String
    /// When every run replaces the whole output (a fixed file name, a rebuilt table): why, and
    /// what to write instead, so an incremental extract cannot shrink it to one run's changes.
    var replacedEachRun: (reason: String, instead: String)? { get }
    /// The output's path as the pipeline file writes it (placeholders unfilled), for the
    /// manifest of a run that failed before publishing; nil when it writes no file.
    var outputPath: String? { get }
}

extension LoadFormat {
    public func discard(_ state: Value, run: RunContext) { discardTemporaryFiles(state) }
    public func base(_ run: RunContext) throws -> Value? { nil }
    public func completePublishing(_ run: RunContext) throws -> [String] { [] }
    public func checkTarget(_ run: RunContext) throws -> String { "\(target): nothing to check" }
    public var replacedEachRun: (reason: String, instead: String)? { nil }
    public var outputPath: String? { nil }
}

/// A file output whose path names the same file every run replaces it every run.
func replacedEachRun(path: String) -> (reason: String, instead: String)? {
    guard !path.contains("{run_date}"), !path.contains("{run_id}") else { return nil }
    let dot = path.lastIndex(of: ".").flatMap { path[$0...].contains("/") ? nil : $0 } ?? path.endIndex
    return ("its path '\(path)' names the same file every run", "put {run_date} or {run_id} in the path (such as '\(path[..<dot])-{run_date}\(path[dot...])')")
}

/// Whether a file could be written at `path` (as a pipeline file wrote it): it stays inside the
/// output base, and the nearest existing directory above it is writable (or, when the file
/// exists, it is a regular file in a writable directory). Creates nothing.
public func checkWritableFile(_ path: String, run: RunContext) throws -> String {
    let final = try OutputPath.final(path, run: run)
    var info = stat()
    if lstat(final, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
        throw ETLError("\(final) exists and is not a regular file")
    }
    var dir = URL(fileURLWithPath: final).deletingLastPathComponent().path
    var missing = 0
    while stat(dir, &info) != 0 {
        let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
        guard parent != dir else { throw ETLError("no directory above \(final) exists") }
        dir = parent
        missing += 1
    }
    guard (info.st_mode & S_IFMT) == S_IFDIR else { throw ETLError("\(dir) is not a directory, so \(final) cannot be written") }
    guard access(dir, W_OK | X_OK) == 0 else { throw ETLError("\(dir) is not writable (\(String(cString: strerror(errno))))") }
    return missing == 0 ? "\(final): \(dir) is writable" : "\(final): \(dir) is writable (the run creates the \(missing) missing director\(missing == 1 ? "y" : "ies") below it)"
}

/// Removes the temporary files a writer state lists under `temporary`.
func discardTemporaryFiles(_ state: Value) {
    guard case .array(let files)? = state["temporary"] else { return }
    for case .string(let path) in files { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes one load's output. Used by a single task, so it need not be thread safe. The methods
/// that do the work are `async` so that a writer to a database server can wait for it without
/// holding a thread; a file writer's synchronous methods satisfy them as they are. `abort` and
/// `suspend` stay synchronous: they must work from a cancelled task (a server rolls back what a
/// closed connection left uncommitted).
public protocol LoadWriter: AnyObject {
    func write(_ records: [Record]) async throws
    /// Makes everything written so far durable (synced, gzip member closed, transaction
    /// committed) and returns the state a resumed run continues from. `final`: no records follow.
    func checkpoint(final: Bool) async throws -> Value
    /// Drops everything this run wrote (its extract starts over).
    func restart() async throws
    /// Completes the temporary output; returns the files ready to be renamed into place.
    func finish() async throws -> LoadResult
    /// Removes everything written so far. Must be safe to call at any point, more than once.
    func abort()
    /// Stops, keeping what the last checkpoint made durable for a resumed run (drops the rest).
    func suspend()
}

public struct LoadResult: Sendable {
    public var staged: [StagedFile]
    public var rows: Int
    public var bytes: Int64
    /// Files of an earlier run this run's outputs replace (rotated parts beyond the new last one),
    /// removed once the new files are published.
    public var obsolete: [String]
    /// Work to do when the outputs are published (a database transaction to commit).
    public var commit: CommitAction?

    public init(staged: [StagedFile], rows: Int, bytes: Int64, obsolete: [String] = [], commit: CommitAction? = nil) {
        self.staged = staged
        self.rows = rows
        self.bytes = bytes
        self.obsolete = obsolete
        self.commit = commit
    }
}

/// A transaction held open for the whole run, committed with the other outputs or rolled back.
public struct CommitAction: Sendable {
    /// The file it changes (or, when `isFile` is false, the database server's table).
    public var target: String
    /// Whether `target` is a file (listed with the run's files, in the manifest with its digest).
    public var isFile = true
    public var commit: @Sendable () async throws -> Void
    public var rollback: @Sendable () -> Void
}

/// A finished temporary file and the name it gets when the whole run has succeeded.
public struct StagedFile: Sendable {
    public var temporary: String
    public var final: String
}
