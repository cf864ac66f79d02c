// Runs a pipeline: takes its state directory (continuing an interrupted run when there is
// one), runs the stage graph, and publishes the outputs only when every stage has succeeded.
// Order is kept everywhere, so the same input gives the same bytes.
import Foundation

public struct PipelineRunner: Sendable {
    public var pipeline: Pipeline
    public var log: RunLog
    public var workingDirectory: String
    public var storeLauncher: (any EmbeddedStoreLauncher)?
    /// Where the pipeline's state (bookmarks, checkpoint) lives; nil: `.commerce-etl/state/<pipeline>`.
    public var stateDirectory: String?
    /// `--resume`: the user expects to continue an interrupted run (a run continues one anyway;
    /// this only adds a note when there is none).
    public var resume = false

    public init(pipeline: Pipeline, log: RunLog, workingDirectory: String = FileManager.default.currentDirectoryPath,
                storeLauncher: (any EmbeddedStoreLauncher)? = nil, stateDirectory: String? = nil, resume: Bool = false) {
        self.pipeline = pipeline
        self.log = log
        self.workingDirectory = workingDirectory
        self.storeLauncher = storeLauncher
        self.stateDirectory = stateDirectory
        self.resume = resume
    }

    var resolvedStateDirectory: String {
        stateDirectory.map { AtomicFile.resolve($0, in: workingDirectory) }
            ?? PipelineState.defaultDirectory(pipeline: pipeline.name, workingDirectory: workingDirectory)
    }

    public func run() async throws -> RunReport {
        let started = ContinuousClock.now
        let startedAt = Date()
        let session = try RunSession(pipeline: pipeline, log: log, directory: resolvedStateDirectory)
        defer { session.release() }
        let saved = session.saved
        if resume, saved == nil { log.note("nothing to resume: no interrupted run of '\(pipeline.name)' in \(session.directory); starting a new run") }
        var context = RunContext(runID: saved?.runID ?? Self.makeRunID(startedAt), pipelineName: pipeline.name,
                                 workingDirectory: workingDirectory, logger: log, outputBase: outputBase, started: startedAt,
                                 runDate: saved?.runDate, embeddedStores: EmbeddedStores(launcher: storeLauncher))
        context.state = try PipelineState(directory: session.directory)
        context.resuming = saved != nil
        if let saved { log.note("continuing the interrupted \(saved.summary)") }
        let publisher = Publisher(pipeline: pipeline, log: log, session: session, context: context, started: started, startedAt: startedAt)
        do {
            let report: RunReport
            if let publishing = saved?.publishing {
                report = try await publisher.finishInterrupted(publishing)
            } else {
                report = try await run(session, context: context, publisher: publisher)
            }
            await context.embeddedStores.stopAll()
            return report
        } catch {
            await context.embeddedStores.stopAll()
            writeFailedManifest(error, context: context, startedAt: startedAt)
            throw error
        }
    }

    private func run(_ session: RunSession, context: RunContext, publisher: Publisher) async throws -> RunReport {
        let plan = try await session.plan(context)
        let checkpoints = try session.checkpoints(plan, context: context)
        let services = RunServices(run: context, plan: plan, checkpoints: checkpoints, checkpointEvery: pipeline.checkpointEvery,
                                   writers: WriterRegistry(), results: LoadResults())
        let stop = { (error: any Error) in session.stopped(error, checkpoints: checkpoints, writers: services.writers, context: context) }
        let stats: [StageStats]
        do {
            stats = try await pipeline.graph(services).run()
        } catch {
            throw stop(error)
        }
        return try await publisher.publish(stats, results: services.results.all, checkpoints: checkpoints, stop: stop)
    }

    /// Records in the manifest that this run did not publish, and why.
    private func writeFailedManifest(_ error: any Error, context: RunContext, startedAt: Date) {
        let stopped = error as? RunStopped
        let cause = stopped?.underlying ?? error
        let interrupted = cause is CancellationError
        do {
            // Stopped while renaming outputs into place: some may be new already (the next run finishes).
            let publishing = stopped?.saved.contains("(publishing)") == true
            try Manifest.writeFailed(pipeline: pipeline, run: context, status: interrupted ? "interrupted" : "failed",
                                     error: interrupted ? "interrupted (a signal stopped the run)" : describe(cause), saved: stopped?.saved,
                                     outputsChanged: publishing ? nil : false,
                                     progress: log.progress.stages, warnings: log.warnings, startedAt: startedAt)
        } catch {
            log.warning("the manifest of the failed run could not be written: \(describe(error))")
        }
    }

    private var outputBase: String { AtomicFile.resolve(pipeline.baseDirectory ?? ".", in: workingDirectory) }

    /// Takes back what an interrupted run wrote (temporary files, rows committed at checkpoints)
    /// and forgets its checkpoint. Returns its summary, or nil when there was none.
    public func discardInterruptedRun() async throws -> String? {
        let stateDir = resolvedStateDirectory
        guard FileManager.default.fileExists(atPath: SavedCheckpoint.path(in: stateDir)) else { return nil }
        let session = try RunSession(pipeline: pipeline, log: log, directory: stateDir, continuing: false)
        defer { session.release() }
        guard let saved = session.saved else { return nil }
        let context = RunContext(runID: saved.runID, pipelineName: pipeline.name, workingDirectory: workingDirectory, logger: log,
                                 outputBase: outputBase, runDate: saved.runDate)
        return try await session.discardInterruptedRun(context)
    }

    static func makeRunID(_ now: Date) -> String {
        // "2026-12-02T22:03:20+00:00" without its separators and offset. Not a DateFormatter:
        // that loads ICU's locale and calendar data, megabytes of memory for one string.
        let utc = Timestamp(epochSeconds: Int64(now.timeIntervalSince1970.rounded(.down))).description
        let stamp = utc.prefix(19).filter { $0 != "-" && $0 != ":" } + "Z"
        // Eight hex digits always, so every run id has the same width (they sort and line up).
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let suffix = String(repeating: "0", count: 8 - hex.count) + hex
        return "\(stamp)-\(suffix)"
    }
}

/// A run stopped by an error or an interrupt after it had saved a checkpoint: its outputs so far
/// are kept, and running the pipeline again continues it.
public struct RunStopped: Error, CustomStringConvertible {
    public var underlying: any Error
    /// What the checkpoint holds.
    public var saved: String
    public var description: String { describe(underlying) }
}
