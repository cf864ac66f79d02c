// Helpers shared by the tests: scratch directories, the package's sample files, independent
// readers for the outputs (zlib inflate, SQLite queries) and running the CLI binary.
import CSQLite
import CZlib
import Foundation
import Testing
@testable import CommerceETL

enum Fixtures {
    /// The package root, found from this file's location.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static func sample(_ name: String) -> URL {
        packageRoot.appendingPathComponent("samples/aurora-xml/\(name)")
    }

    /// A fresh directory with `samples` and `pipelines` linked in, removed by the caller.
    /// A state directory of its own (not yet created) for a run whose outputs are in memory.
    static func scratchState() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("commerce-etl-state-\(UUID().uuidString)").path
    }

    static func workspace() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commerce-etl-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["samples", "pipelines"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name),
                                                       withDestinationURL: packageRoot.appendingPathComponent(name))
        }
        return dir
    }

    /// Every file under `dir`, relative, sorted (hidden temporary files included).
    static func files(in dir: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
        return e.compactMap { $0 as? String }.filter { !$0.hasPrefix("samples") && !$0.hasPrefix("pipelines") }.sorted()
    }
}

/// Loads a pipeline from YAML text, failing the test with the diagnostics if it is invalid.
func loadPipeline(_ yaml: String, file: String = "test.yml", environment: [String: String] = [:]) throws -> Pipeline {
    let outcome = PipelineLoader.load(yaml: yaml, file: file, environment: environment)
    guard let pipeline = outcome.pipeline, !outcome.hasErrors else {
        throw ETLError("invalid pipeline: \(outcome.diagnostics.map(\.description).joined(separator: "\n"))")
    }
    return pipeline
}

func quietLog() -> RunLog {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return RunLog(logger: logger)
}

import Logging

/// Decompresses a whole gzip file with zlib's inflate (independent of the writer's deflate code):
/// every member in turn (a file of several members is one gzip file, RFC 1952 2.2), and fails on
/// a truncated member or bytes after the last one.
func gunzip(_ url: URL) throws -> Data {
    let compressed = try Data(contentsOf: url)
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw ETLError("inflateInit failed")
    }
    defer { inflateEnd(&stream) }
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var input = [UInt8](compressed)
    var rc: Int32 = Z_OK
    input.withUnsafeMutableBufferPointer { inBuf in
        stream.next_in = inBuf.baseAddress
        stream.avail_in = uInt(inBuf.count)
        repeat {
            buffer.withUnsafeMutableBufferPointer { outBuf in
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                rc = inflate(&stream, Z_NO_FLUSH)
                output.append(outBuf.baseAddress!, count: outBuf.count - Int(stream.avail_out))
            }
            // The end of one member: the next starts right after it.
            if rc == Z_STREAM_END, stream.avail_in > 0 { rc = inflateReset(&stream) }
        } while rc == Z_OK
    }
    guard rc == Z_STREAM_END else { throw ETLError("invalid gzip data (zlib \(rc))") }
    return output
}

/// Runs a query and returns every row as text (NULL as nil), plus each value's storage class.
func sqliteRows(_ path: String, _ sql: String) throws -> [[String?]] {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { throw ETLError("cannot open \(path)") }
    defer { sqlite3_close(db) }
    var stmt: OpaquePointer?
    guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
        throw ETLError("bad query: \(String(cString: sqlite3_errmsg(db)))")
    }
    defer { sqlite3_finalize(stmt) }
    var rows: [[String?]] = []
    while sqlite3_step(stmt) == SQLITE_ROW {
        var row: [String?] = []
        for i in 0..<sqlite3_column_count(stmt) {
            row.append(sqlite3_column_text(stmt, i).map { String(cString: $0) })
        }
        rows.append(row)
    }
    return rows
}

struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The built `commerce-etl` binary; it sits beside the test bundle.
func cliBinary() -> URL {
    let buildDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = buildDir.appendingPathComponent("commerce-etl")
    if FileManager.default.fileExists(atPath: binary.path) { return binary }
    return Fixtures.packageRoot.appendingPathComponent(".build/debug/commerce-etl")
}

/// The CLI set up to run in `directory` with `environment` added to this process's.
func cliProcess(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) -> Process {
    let process = Process()
    process.executableURL = cliBinary()
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = crashesEndTheProcess(env)
    return process
}

/// The environment with Swift's crash backtracer off (unless the caller set it): a crashed run
/// then ends at once with its signal, and the test fails. With it on, the backtracer attaches to
/// the crashed process, and a test waiting for that process to end can wait for as long as the
/// backtracer takes, which once was forever.
func crashesEndTheProcess(_ environment: [String: String]) -> [String: String] {
    var environment = environment
    if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
    return environment
}

/// Runs the CLI in `directory` and collects its output.
func runCLI(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CLIResult {
    let process = cliProcess(arguments, in: directory, environment: environment)
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLIResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
}

/// Parses one step from YAML, as a pipeline's `steps:` entry would give it, prepared for a run in
/// the package root (so `samples/...` paths resolve).
func parseStep(_ yaml: String) throws -> any TransformStep {
    let pipeline = try loadPipeline("""
        version: 1
        name: t
        connections: { r: { type: files, dialect: aurora-xml, paths: [x.xml] } }
        extract: { o: { connection: r, resource: orders } }
        transform:
          s:
            input: o
            steps:
              - \(yaml)
        load: { l: { input: s, csv: { path: x.csv } } }
        """)
    guard case .transform(let steps, _)? = pipeline.stage("s")?.role, let first = steps.first else { throw ETLError("no step") }
    let run = RunContext(runID: "t", pipelineName: "t", workingDirectory: Fixtures.packageRoot.path, logger: quietLog())
    return try first.step.prepared(for: run)
}

/// Runs the CLI without blocking a thread of the test's executor (so an in-process server keeps
/// answering), killing it after `limit`: a run that hangs fails its test instead of the suite.
func runCLIAsync(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                 limit: Duration = .seconds(60)) async throws -> CLIResult {
    let process = cliProcess(arguments, in: directory, environment: environment)
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let collected = Mutex<(Data, Data)>((Data(), Data()))
    let readers = DispatchGroup()
    for (pipe, isOut) in [(out, true), (err, false)] {
        readers.enter()
        DispatchQueue.global().async {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { if isOut { $0.0 = data } else { $0.1 = data } }
            readers.leave()
        }
    }
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        process.terminationHandler = { _ in done.resume() }
        do { try process.run() } catch { done.resume() }
        let pid = process.processIdentifier
        Task {
            try? await Task.sleep(for: limit)
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in readers.notify(queue: .global()) { done.resume() } }
    let (o, e) = collected.withLock { $0 }
    return CLIResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

import Synchronization
