// `check`: whether a pipeline could run now, without running it. Each connection gets one
// authenticated request (the first page of the first extract that uses it, stopped at its first
// record), reported as reachable or not and credentials accepted or not; each load's target is
// checked for writing (directory writable, database openable) without writing anything.
import Foundation

public struct PipelineCheck: Sendable {
    public struct Result: Sendable {
        /// "connection shop", "load lines_csv".
        public var subject: String
        public var passed: Bool
        public var detail: String
    }

    public var pipeline: Pipeline
    public var log: RunLog
    public var workingDirectory: String
    public var storeLauncher: (any EmbeddedStoreLauncher)?

    public init(pipeline: Pipeline, log: RunLog, workingDirectory: String = FileManager.default.currentDirectoryPath,
                storeLauncher: (any EmbeddedStoreLauncher)? = nil) {
        self.pipeline = pipeline
        self.log = log
        self.workingDirectory = workingDirectory
        self.storeLauncher = storeLauncher
    }

    public func run() async -> [Result] {
        let stores = EmbeddedStores(launcher: storeLauncher)
        let base = AtomicFile.resolve(pipeline.baseDirectory ?? ".", in: workingDirectory)
        let context = RunContext(runID: "check", pipelineName: pipeline.name, workingDirectory: workingDirectory, logger: log,
                                 outputBase: base, embeddedStores: stores)
        var results: [Result] = []
        var checked: Set<String> = []
        for stage in pipeline.stages {
            guard case .extract(let connection, let summary, let extractor, _) = stage.role, checked.insert(connection).inserted else { continue }
            let subject = "connection \(connection)"
            // Recorded files have nothing to reach and no credentials: they are read or not.
            let what = summary.hasPrefix("files") ? "readable" : "reachable, credentials accepted"
            do {
                let records = try await Preview.firstPage(of: extractor, stage: stage.id, limit: 1, context: context)
                results.append(Result(subject: subject, passed: true,
                                      detail: "\(what) (stage \(stage.id) read \(records.isEmpty ? "an empty first page" : "its first record"))"))
            } catch {
                let message = describe(error)
                results.append(Result(subject: subject, passed: false,
                                      detail: summary.hasPrefix("files") ? "not readable: \(message)" : Self.explain(message)))
            }
        }
        await stores.stopAll()
        for output in pipeline.outputs {
            let subject = output.kind == "quarantine" ? "quarantine file \(output.load.target)" : "load \(output.id)"
            do {
                results.append(Result(subject: subject, passed: true, detail: "writable: " + (try await output.load.checkTarget(context))))
            } catch {
                results.append(Result(subject: subject, passed: false, detail: "cannot be written: \(describe(error))"))
            }
        }
        return results
    }

    /// A failed request in the terms of the check: not reachable, credentials refused, or another failure.
    static func explain(_ message: String) -> String {
        if message.contains("cannot connect to") { return "not reachable: \(message)" }
        let refusals = ["HTTP 401", "HTTP 403", "authentication failed", "Unauthorized", "unknown client_id", "wrong client_secret"]
        if refusals.contains(where: { message.contains($0) }) { return "reachable, credentials refused: \(message)" }
        return "reachable, but the request failed: \(message)"
    }
}
