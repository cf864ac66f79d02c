// Runs a pipeline's stage graph: every stage is a task, joined by bounded channels that carry
// batches of records. A stage's output is sent to each of its readers in turn (fan-out), so the
// slowest reader sets the pace. Order is kept everywhere, so the same input gives the same bytes.
// The first error cancels every stage; outputs are published (renamed into place) only when
// every stage has succeeded.
import Foundation
import Synchronization

public struct StageStats: Sendable {
    public var id: String
    public var kind: String
    public var recordsIn: Int
    public var recordsOut: Int
    public var rows: Int? = nil
    public var bytes: Int64? = nil
    public var target: String? = nil
    /// Records its steps dropped (`on_error: skip`) or quarantined.
    public var skipped = 0
    public var quarantined = 0
    /// Extracts: pages (API responses or files) read.
    public var pages: Int? = nil
    /// Loads: the format and the files written, once published.
    public var format: String? = nil
    public var files: [String] = []
}

public struct RunReport: Sendable {
    public var runID: String
    public var stages: [StageStats]
    public var warnings: [String]
    public var seconds: Double
    public var published: [String]
    /// Where the run's manifest was written.
    public var manifest: String? = nil
}

public struct PipelineRunner: Sendable {
    public var pipeline: Pipeline
    public var log: RunLog
    public var workingDirectory: String
    public var storeLauncher: (any EmbeddedStoreLauncher)?
    /// Where the pipeline's state (bookmarks) lives; nil: `.commerce-etl/state/<pipeline>`.
    public var stateDirectory: String?

    public init(pipeline: Pipeline, log: RunLog, workingDirectory: String = FileManager.default.currentDirectoryPath,
                storeLauncher: (any EmbeddedStoreLauncher)? = nil, stateDirectory: String? = nil) {
        self.pipeline = pipeline
        self.log = log
        self.workingDirectory = workingDirectory
        self.storeLauncher = storeLauncher
        self.stateDirectory = stateDirectory
    }

    private typealias Batch = [Record]

    public func run() async throws -> RunReport {
        let started = ContinuousClock.now
        let startedAt = Date()
        let runID = Self.makeRunID(startedAt)
        let base = AtomicFile.resolve(pipeline.baseDirectory ?? ".", in: workingDirectory)
        let stateDir = stateDirectory.map { AtomicFile.resolve($0, in: workingDirectory) }
            ?? PipelineState.defaultDirectory(pipeline: pipeline.name, workingDirectory: workingDirectory)
        let state = try PipelineState(directory: stateDir)
        var context = RunContext(runID: runID, pipelineName: pipeline.name, workingDirectory: workingDirectory, logger: log,
                                 outputBase: base, started: startedAt, embeddedStores: EmbeddedStores(launcher: storeLauncher))
        context.state = state
        do {
            let report = try await run(context: context, started: started, startedAt: startedAt)
            await context.embeddedStores.stopAll()
            return report
        } catch {
            await context.embeddedStores.stopAll()
            throw error
        }
    }

    private func run(context: RunContext, started: ContinuousClock.Instant, startedAt: Date) async throws -> RunReport {
        let runID = context.runID

        // One channel per (producer, reader) edge.
        var inbox: [String: BoundedChannel<Batch>] = [:]
        var outboxes: [String: [BoundedChannel<Batch>]] = [:]
        for stage in pipeline.stages {
            guard let input = stage.input, let producer = pipeline.stage(input) else { continue }
            let channel = BoundedChannel<Batch>(capacity: producer.buffer)
            inbox[stage.id] = channel
            outboxes[input, default: []].append(channel)
        }
        let allChannels = Array(inbox.values)
        let results = LoadResults()
        let writers = WriterRegistry()

        let stats: [StageStats]
        do {
            stats = try await withThrowingTaskGroup(of: StageStats.self) { group in
                for stage in pipeline.stages {
                    let outputs = outboxes[stage.id] ?? []
                    let input = inbox[stage.id]
                    group.addTask {
                        do {
                            return try await runStage(stage, input: input, outputs: outputs, context: context,
                                                      writers: writers, results: results)
                        } catch {
                            let wrapped: any Error = (error is CancellationError || error is StageError)
                                ? error : StageError(stage: stage.id, underlying: error)
                            for channel in allChannels { channel.fail(wrapped) }
                            throw wrapped
                        }
                    }
                }
                var collected: [StageStats] = []
                do {
                    while let s = try await group.next() { collected.append(s) }
                } catch {
                    group.cancelAll()
                    // Wait for every stage to stop before cleaning up, and report the first real error.
                    var first = error
                    while true {
                        do {
                            guard try await group.next() != nil else { break }
                        } catch let other {
                            if first is CancellationError, !(other is CancellationError) { first = other }
                        }
                    }
                    throw first
                }
                return collected
            }
        } catch {
            writers.abortAll()
            context.quarantine.abort()
            context.directories.removeEmpty()
            throw error
        }

        // Every stage succeeded: publish all outputs together.
        var published: [String] = []
        let staged: [StagedFile]
        do {
            staged = results.all.flatMap(\.staged) + (try context.quarantine.finish())
        } catch {
            for file in results.all.flatMap(\.staged) { try? FileManager.default.removeItem(atPath: file.temporary) }
            context.quarantine.abort()
            context.directories.removeEmpty()
            throw error
        }
        // Database transactions first (the likelier to fail), then the file renames.
        let commits = results.all.compactMap(\.commit)
        var committed = 0
        do {
            for action in commits {
                try action.commit()
                committed += 1
                published.append(action.target)
            }
        } catch {
            for action in commits.dropFirst(committed + 1) { action.rollback() }
            for file in staged { try? FileManager.default.removeItem(atPath: file.temporary) }
            context.directories.removeEmpty()
            throw ETLError("could not commit \(commits[committed].target)\(committed > 0 ? " (\(committed) database(s) were committed)" : ""): \(describe(error))")
        }
        do {
            for file in staged {
                try AtomicFile.publish(temporary: file.temporary, final: file.final)
                published.append(file.final)
            }
            for stale in results.all.flatMap(\.obsolete) { try? FileManager.default.removeItem(atPath: stale) }
        } catch {
            for file in staged { try? FileManager.default.removeItem(atPath: file.temporary) }
            context.directories.removeEmpty()
            throw ETLError("could not publish outputs (\(published.count) of \(staged.count) were published): \(describe(error))")
        }
        let order = pipeline.stages.map(\.id)
        let sorted = stats.sorted { order.firstIndex(of: $0.id)! < order.firstIndex(of: $1.id)! }
        var report = RunReport(runID: runID, stages: sorted, warnings: log.warnings,
                               seconds: (ContinuousClock.now - started).seconds, published: published)
        do {
            report.manifest = try Manifest.write(pipeline: pipeline, report: report, run: context, startedAt: startedAt, finishedAt: Date())
        } catch {
            throw ETLError("the outputs were published, but the manifest could not be written: \(describe(error))")
        }
        // Bookmarks move only now, after every output is committed.
        do {
            try context.state?.commit()
        } catch {
            throw ETLError("the outputs were published, but the pipeline state could not be saved (the next run will export these records again): \(describe(error))")
        }
        do {
            try await context.afterCommit.run()
        } catch {
            throw ETLError("the outputs were published, but \(describe(error))")
        }
        return report
    }

    private func runStage(_ stage: Stage, input: BoundedChannel<Batch>?, outputs: [BoundedChannel<Batch>],
                          context: RunContext, writers: WriterRegistry, results: LoadResults) async throws -> StageStats {
        let fanOut = FanOut(outputs: outputs)
        switch stage.role {
        case .extract(_, _, let extractor, let batchSize):
            let emitter = RecordEmitter(batchSize: batchSize) { batch in try await fanOut.send(batch) }
            try await extractor.run(emitter, context: context)
            try await emitter.flush()
            fanOut.finish()
            return StageStats(id: stage.id, kind: stage.kind, recordsIn: 0, recordsOut: emitter.count, pages: emitter.pages)

        case .transform(let configured, let workers):
            guard let input else { throw ETLError("stage '\(stage.id)' has no input") }
            let steps = try configured.map { c in
                do {
                    return ConfiguredStep(name: c.name, step: try c.step.prepared(for: context), onError: c.onError)
                } catch {
                    throw ETLError("step \(c.name): \(describe(error))")
                }
            }
            let tally = StepTally()
            let apply = StepRunner(steps: steps, stage: stage.id, run: context, tally: tally)
            // A step that remembers earlier records needs the batches one at a time, in order.
            let parallel = steps.contains { $0.step.isStateful } ? 1 : workers
            let counts = try await Self.transform(input: input, apply: apply.apply, workers: parallel, fanOut: fanOut)
            fanOut.finish()
            return StageStats(id: stage.id, kind: stage.kind, recordsIn: counts.in, recordsOut: counts.out,
                              skipped: tally.skipped, quarantined: tally.quarantined)

        case .load(let format, let load):
            guard let input else { throw ETLError("stage '\(stage.id)' has no input") }
            let writer = try load.makeWriter(context)
            writers.add(writer)
            var count = 0
            while let batch = try await input.receive() {
                try writer.write(batch)
                count += batch.count
            }
            let result = try writer.finish()
            results.add(result)
            return StageStats(id: stage.id, kind: stage.kind, recordsIn: count, recordsOut: result.rows,
                              rows: result.rows, bytes: result.staged.isEmpty ? nil : result.bytes, target: load.target,
                              format: format, files: result.staged.map(\.final) + (result.commit.map { [$0.target] } ?? []))
        }
    }

    /// Applies the steps to batches on up to `workers` tasks at once, emitting results in input order.
    static func transform(input: BoundedChannel<[Record]>, apply: @escaping @Sendable ([Record]) throws -> [Record], workers: Int,
                          fanOut: FanOut) async throws -> (in: Int, out: Int) {
        var countIn = 0
        var countOut = 0
        try await withThrowingTaskGroup(of: (Int, [Record]).self) { group in
            var nextToSend = 0
            var submitted = 0
            var done: [Int: [Record]] = [:]
            func drain() async throws {
                while let ready = done.removeValue(forKey: nextToSend) {
                    nextToSend += 1
                    countOut += ready.count
                    if !ready.isEmpty { try await fanOut.send(ready) }
                }
            }
            while let batch = try await input.receive() {
                countIn += batch.count
                if submitted - nextToSend - done.count >= workers, let (seq, out) = try await group.next() {
                    done[seq] = out
                    try await drain()
                }
                let seq = submitted
                submitted += 1
                group.addTask { (seq, try apply(batch)) }
            }
            while let (seq, out) = try await group.next() {
                done[seq] = out
                try await drain()
            }
        }
        return (countIn, countOut)
    }

    static func makeRunID(_ now: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(formatter.string(from: now))-\(suffix)"
    }
}

/// Counts what the steps of one stage skipped or quarantined.
final class StepTally: Sendable {
    private let counts = Mutex((skipped: 0, quarantined: 0))
    func skip() { counts.withLock { $0.skipped += 1 } }
    func quarantine() { counts.withLock { $0.quarantined += 1 } }
    var skipped: Int { counts.withLock { $0.skipped } }
    var quarantined: Int { counts.withLock { $0.quarantined } }
}

/// Applies a stage's steps to a batch, honouring each step's `on_error`.
struct StepRunner: Sendable {
    let steps: [ConfiguredStep]
    let stage: String
    let run: RunContext
    let tally: StepTally

    func apply(_ batch: [Record]) throws -> [Record] {
        var records = batch
        for configured in steps {
            do {
                records = try configured.step.apply(records)
                continue
            } catch {
                if configured.onError == .fail { throw ETLError("step \(configured.name): \(describe(error))") }
            }
            // The batch failed: redo it record by record and set aside only the ones that fail.
            var kept: [Record] = []
            kept.reserveCapacity(records.count)
            for record in records {
                do {
                    kept += try configured.step.apply([record])
                } catch {
                    switch configured.onError {
                    case .fail: throw ETLError("step \(configured.name): \(describe(error))")
                    case .skip: tally.skip()
                    case .quarantine(let path):
                        try run.quarantine.write(path: path, run: run, stage: stage, step: configured.name, reason: describe(error), record: record)
                        tally.quarantine()
                    }
                }
            }
            records = kept
        }
        return records
    }
}

/// Sends each batch to every reader of a stage, in order.
struct FanOut: Sendable {
    let outputs: [BoundedChannel<[Record]>]

    func send(_ batch: [Record]) async throws {
        for output in outputs { try await output.send(batch) }
    }

    func finish() {
        for output in outputs { output.finish() }
    }
}

/// Finished loads' results, in the order they finished.
final class LoadResults: Sendable {
    private let results = Mutex<[LoadResult]>([])
    func add(_ result: LoadResult) { results.withLock { $0.append(result) } }
    var all: [LoadResult] { results.withLock { $0 } }
}

/// Every writer opened during a run, so a failed run can remove what they wrote.
final class WriterRegistry: Sendable {
    private let writers = Mutex<[UnsafeWriter]>([])

    struct UnsafeWriter: @unchecked Sendable {
        // Touched here only after the task that owned it has ended.
        let writer: any LoadWriter
    }

    func add(_ writer: any LoadWriter) { writers.withLock { $0.append(UnsafeWriter(writer: writer)) } }

    func abortAll() {
        for w in writers.withLock({ $0 }) { w.writer.abort() }
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
