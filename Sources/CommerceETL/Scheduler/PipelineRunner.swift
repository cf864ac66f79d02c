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
        let base = AtomicFile.resolve(pipeline.baseDirectory ?? ".", in: workingDirectory)
        let stateDir = resolvedStateDirectory
        let lock = try RunLock(directory: stateDir, pipeline: pipeline.name)
        defer { lock.release() }
        let state = try PipelineState(directory: stateDir)
        let saved = try interruptedRun(stateDir)
        if resume, saved == nil { log.note("nothing to resume: no interrupted run of '\(pipeline.name)' in \(stateDir); starting a new run") }
        let runID = saved?.runID ?? Self.makeRunID(startedAt)
        var context = RunContext(runID: runID, pipelineName: pipeline.name, workingDirectory: workingDirectory, logger: log,
                                 outputBase: base, started: startedAt, runDate: saved?.runDate, embeddedStores: EmbeddedStores(launcher: storeLauncher))
        context.state = state
        context.resuming = saved != nil
        if let saved { log.note("continuing the interrupted \(saved.summary)") }
        do {
            let report: RunReport
            if let saved, let publishing = saved.publishing {
                report = try await finishPublishing(publishing, context: context, stateDir: stateDir, started: started, startedAt: startedAt)
            } else {
                report = try await run(context: context, saved: saved, stateDir: stateDir, started: started, startedAt: startedAt)
            }
            await context.embeddedStores.stopAll()
            return report
        } catch {
            await context.embeddedStores.stopAll()
            throw error
        }
    }

    /// The checkpoint of an interrupted run of this pipeline, if any (and only if the file is unchanged).
    func interruptedRun(_ stateDir: String) throws -> SavedCheckpoint? {
        guard let saved = try SavedCheckpoint.load(directory: stateDir) else { return nil }
        guard saved.pipelineDigest == pipeline.digest else {
            throw ETLError("\(pipeline.file): the file changed since run \(saved.runID) was interrupted; restore it to finish that run, or discard the run with 'commerce-etl state reset \(pipeline.file)'")
        }
        return saved
    }

    /// Takes back what an interrupted run wrote (temporary files, rows committed at checkpoints)
    /// and forgets its checkpoint. Returns its summary, or nil when there was none.
    public func discardInterruptedRun() throws -> String? {
        let stateDir = resolvedStateDirectory
        guard FileManager.default.fileExists(atPath: SavedCheckpoint.path(in: stateDir)) else { return nil }
        let lock = try RunLock(directory: stateDir, pipeline: pipeline.name)
        defer { lock.release() }
        guard let saved = try SavedCheckpoint.load(directory: stateDir) else { return nil }
        let context = RunContext(runID: saved.runID, pipelineName: pipeline.name, workingDirectory: workingDirectory, logger: log,
                                 outputBase: AtomicFile.resolve(pipeline.baseDirectory ?? ".", in: workingDirectory), runDate: saved.runDate)
        for (extract, e) in saved.extracts { discard(e.outputs, extract: extract, context: context) }
        if case .array(let files)? = saved.publishing?["files"] {
            for case .array(let pair) in files { if let tmp = pair.first?.string { try? FileManager.default.removeItem(atPath: tmp) } }
        }
        try SavedCheckpoint.remove(directory: stateDir)
        return saved.summary
    }

    /// Removes the outputs an interrupted run wrote for one extract.
    private func discard(_ outputs: [String: Value], extract: String, context: RunContext) {
        for (output, state) in outputs {
            if case .load(_, let load)? = pipeline.stage(output)?.role {
                load.discard(state, run: context)
            } else {
                discardTemporaryFiles(state)
            }
        }
    }

    /// Per extract, the outputs that must report each of its marks: its loads and quarantine files.
    private func checkpointOutputs() -> [String: Set<String>] {
        var outputs: [String: Set<String>] = [:]
        for stage in pipeline.stages {
            let root = pipeline.root(of: stage.id)
            switch stage.role {
            case .extract: outputs[root, default: []].formUnion([])
            case .load: outputs[root, default: []].insert(stage.id)
            case .transform(let steps, _):
                for path in Self.quarantinePaths(steps) { outputs[root, default: []].insert("quarantine:" + path) }
            }
        }
        return outputs
    }

    static func quarantinePaths(_ steps: [ConfiguredStep]) -> [String] {
        var paths: [String] = []
        for step in steps { if case .quarantine(let path) = step.onError, !paths.contains(path) { paths.append(path) } }
        return paths
    }

    /// Which extracts continue from their saved marks; the others start over (and lose what they wrote).
    private func resumePlan(_ saved: SavedCheckpoint?, context: RunContext) -> ResumePlan {
        var plan = ResumePlan(extracts: [:])
        guard let saved else { return plan }
        for stage in pipeline.stages {
            guard case .extract(_, _, let extractor, _) = stage.role, let e = saved.extracts[stage.id] else { continue }
            let stateful = pipeline.stages.contains { s in
                if case .transform(let steps, _) = s.role, pipeline.root(of: s.id) == stage.id { return steps.contains { $0.step.isStateful } }
                return false
            }
            if e.seq > 0, !e.final, !extractor.resumable || stateful {
                log.note("stage '\(stage.id)' cannot continue part way (\(stateful ? "a step below it remembers earlier records" : "its source has no resumable position")); it starts over")
                discard(e.outputs, extract: stage.id, context: context)
                continue
            }
            if e.seq == 0 {
                discard(e.outputs, extract: stage.id, context: context)
                continue
            }
            plan.extracts[stage.id] = e
        }
        return plan
    }

    private func run(context: RunContext, saved: SavedCheckpoint?, stateDir: String,
                     started: ContinuousClock.Instant, startedAt: Date) async throws -> RunReport {
        let runID = context.runID
        var plan = resumePlan(saved, context: context)
        // What the outputs held before the run began (kept from the interrupted run when continuing one).
        if let saved {
            plan.bases = saved.bases
        } else {
            for stage in pipeline.stages {
                if case .load(_, let load) = stage.role, let base = try load.base(context) { plan.bases[stage.id] = base }
            }
        }
        for (output, base) in plan.bases where plan.extracts[pipeline.root(of: output)] == nil {
            // An extract that starts over takes back what the interrupted run committed for it.
            if saved != nil, case .load(_, let load)? = pipeline.stage(output)?.role { load.discard(.object(["base": base]), run: context) }
        }
        let checkpoints = CheckpointCoordinator(
            checkpoint: SavedCheckpoint(runID: runID, runDate: context.runDate, pipelineDigest: pipeline.digest, extracts: plan.extracts,
                                        bases: plan.bases),
            outputs: checkpointOutputs(), directory: stateDir)
        try checkpoints.save()
        var quarantineStates: [String: Value] = [:]
        for (_, e) in plan.extracts {
            for (output, state) in e.outputs where output.hasPrefix("quarantine:") { quarantineStates[String(output.dropFirst(11))] = state }
        }
        context.quarantine.resume(quarantineStates)

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
        let stages = StageContext(run: context, plan: plan, checkpoints: checkpoints, writers: writers, results: results)

        let stats: [StageStats]
        do {
            stats = try await withThrowingTaskGroup(of: StageStats.self) { group in
                for stage in pipeline.stages {
                    let outputs = outboxes[stage.id] ?? []
                    let input = inbox[stage.id]
                    group.addTask {
                        do {
                            return try await runStage(stage, input: input, outputs: outputs, in: stages)
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
            throw stopped(error, checkpoints: checkpoints, writers: writers, context: context)
        }

        // Every stage succeeded: publish all outputs together.
        let staged: [StagedFile]
        do {
            staged = results.all.flatMap(\.staged) + (try context.quarantine.finish(run: context))
        } catch {
            throw stopped(error, checkpoints: checkpoints, writers: writers, context: context)
        }
        let order = pipeline.stages.map(\.id)
        let sorted = stats.sorted { order.firstIndex(of: $0.id)! < order.firstIndex(of: $1.id)! }
        let publishing = Publishing(files: staged, obsolete: results.all.flatMap(\.obsolete), stages: sorted,
                                    bookmarks: context.state?.proposals ?? [:], acknowledgements: context.afterCommit.count > 0)
        // Database transactions first (the likelier to fail), then the file renames.
        let commits = results.all.compactMap(\.commit)
        // Every target is checked before anything is committed, so that publishing does all or nothing.
        do {
            try checkTargets(publishing, context: context)
            try checkpoints.publishing(publishing.value)
        } catch {
            throw stopped(error, checkpoints: checkpoints, writers: writers, context: context)
        }
        var committed = 0
        do {
            for action in commits {
                try action.commit()
                committed += 1
            }
        } catch {
            // Every row is committed at the final marks; what is left (swapping rebuilt tables in) is redone by the next run.
            for action in commits.dropFirst(committed + 1) { action.rollback() }
            throw RunStopped(underlying: ETLError("could not commit \(commits[committed].target)\(committed > 0 ? " (\(committed) database(s) were committed)" : ""): \(describe(error))"),
                             saved: checkpoints.current.summary)
        }
        return try await publish(publishing, databases: commits.map(\.target), context: context, started: started, startedAt: startedAt)
    }

    private func report(_ publishing: Publishing, databases: [String], context: RunContext, started: ContinuousClock.Instant) -> RunReport {
        RunReport(runID: context.runID, stages: publishing.stages, warnings: log.warnings,
                  seconds: (ContinuousClock.now - started).seconds, published: databases + publishing.files.map(\.final))
    }

    /// Checks every file target and the manifest's (OutputTargets), before anything is committed.
    private func checkTargets(_ publishing: Publishing, context: RunContext) throws {
        let manifestPath = try Manifest.path(pipeline: pipeline, stages: publishing.stages, run: context)
        try OutputTargets.check(publishing.files.map(\.final) + (manifestPath.map { [$0] } ?? []))
    }

    /// The run stopped: with checkpoints saved, its outputs are kept for a resumed run; without, removed.
    private func stopped(_ error: any Error, checkpoints: CheckpointCoordinator, writers: WriterRegistry, context: RunContext) -> any Error {
        if checkpoints.hasProgress {
            writers.suspendAll()
            context.quarantine.suspend()
            return RunStopped(underlying: error, saved: checkpoints.current.summary)
        }
        writers.abortAll()
        context.quarantine.abort()
        context.directories.removeEmpty()
        try? checkpoints.remove()
        return error
    }

    /// Renames the files and the manifest into place and records the run (bookmarks), then forgets the checkpoint.
    private func publish(_ publishing: Publishing, databases: [String], context: RunContext,
                         started: ContinuousClock.Instant, startedAt: Date) async throws -> RunReport {
        var report = report(publishing, databases: databases, context: context, started: started)
        var renamed = 0
        do {
            // Written under its temporary name from the files' temporaries (and the committed
            // databases), renamed with them.
            let sources = Dictionary(publishing.files.map { ($0.final, $0.temporary) }, uniquingKeysWith: { a, _ in a })
            let manifest: PreparedManifest?
            do {
                manifest = try Manifest.prepare(pipeline: pipeline, report: report, run: context, startedAt: startedAt, finishedAt: Date(), sources: sources)
            } catch {
                throw ETLError("the manifest could not be written: \(describe(error))")
            }
            report.manifest = manifest?.path
            for file in publishing.files {
                // Already renamed when a run interrupted while publishing is finished.
                if !FileManager.default.fileExists(atPath: file.temporary), FileManager.default.fileExists(atPath: file.final), context.resuming {
                    renamed += 1
                    continue
                }
                try AtomicFile.publish(temporary: file.temporary, final: file.final)
                renamed += 1
            }
            try manifest?.commit()
            for stale in publishing.obsolete { try? FileManager.default.removeItem(atPath: stale) }
        } catch {
            throw RunStopped(underlying: ETLError("could not publish outputs (\(renamed) of \(publishing.files.count) file(s) were put in place, the rest are kept under their temporary names): \(describe(error))"),
                             saved: "unfinished run \(context.runID) (publishing)")
        }
        // Bookmarks move only now, after every output is committed.
        do {
            for (stage, mark) in publishing.bookmarks { context.state?.propose(stage, mark) }
            try context.state?.commit()
        } catch {
            throw ETLError("the outputs were published, but the pipeline state could not be saved (the next run will export these records again): \(describe(error))")
        }
        try? SavedCheckpoint.remove(directory: resolvedStateDirectory)
        do {
            try await context.afterCommit.run()
        } catch {
            throw ETLError("the outputs were published, but \(describe(error))")
        }
        return report
    }

    /// Finishes a run interrupted while publishing: its outputs were complete.
    private func finishPublishing(_ value: Value, context: RunContext, stateDir: String,
                                  started: ContinuousClock.Instant, startedAt: Date) async throws -> RunReport {
        guard let publishing = Publishing(value) else {
            throw ETLError("\(SavedCheckpoint.path(in: stateDir)): the checkpoint is not of this tool's shape; discard it with 'commerce-etl state reset'")
        }
        try checkTargets(publishing, context: context)
        var databases: [String] = []
        for stage in pipeline.stages {
            guard case .load(_, let load as SQLiteLoad) = stage.role else { continue }
            let path = try OutputPath.final(load.path, run: context)
            let db = try SQLiteDatabase(path: path)
            defer { db.close() }
            try db.execute("BEGIN IMMEDIATE")
            do {
                try load.complete(db)
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
            if !databases.contains(path) { databases.append(path) }
        }
        if publishing.acknowledgements {
            log.warning("the interrupted run had exported orders to acknowledge as sent; they stay unsent and are exported again by the next run")
        }
        return try await publish(publishing, databases: databases, context: context, started: started, startedAt: startedAt)
    }

    /// What one stage task needs besides its channels.
    private struct StageContext: Sendable {
        let run: RunContext
        let plan: ResumePlan
        let checkpoints: CheckpointCoordinator
        let writers: WriterRegistry
        let results: LoadResults
    }

    private func runStage(_ stage: Stage, input: BoundedChannel<Batch>?, outputs: [BoundedChannel<Batch>],
                          in stages: StageContext) async throws -> StageStats {
        let context = stages.run
        let fanOut = FanOut(outputs: outputs)
        let root = pipeline.root(of: stage.id)
        switch stage.role {
        case .extract(_, _, let extractor, let batchSize):
            let resume = stages.plan.extracts[stage.id]
            let emitter = RecordEmitter(batchSize: batchSize, extract: stage.id, checkpointEvery: pipeline.checkpointEvery,
                                        resume: resume, maxPages: stage.maxPages) { batch in try await fanOut.send(batch) }
            if resume?.final != true || extractor.resumable {
                try await extractor.run(emitter, context: context)
            }
            try await emitter.flush()
            if resume?.final != true { try await emitter.end(resume?.position ?? .object(["done": .bool(true)])) }
            fanOut.finish()
            // Counts include what an interrupted run this one continues had read.
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
            let quarantinePaths = Self.quarantinePaths(steps)
            // Quarantined records are written in record order, and their files checkpointed at each mark.
            let checkpoints = stages.checkpoints
            let sink = TransformSink(fanOut: fanOut) { output in
                for (path, lines) in output.quarantined.grouped() {
                    try context.quarantine.write(path: path, run: context, lines: lines.bytes, count: lines.count)
                }
                guard let mark = output.mark else { return }
                for path in quarantinePaths {
                    if mark.restart { context.quarantine.restart(path: path) }
                    try checkpoints.report(output: "quarantine:" + path, mark: mark, state: try context.quarantine.checkpoint(path: path, run: context))
                }
            }
            // A step that remembers earlier records needs the batches one at a time, in order.
            let parallel = steps.contains { $0.step.isStateful } ? 1 : workers
            let counts = try await Self.transform(input: input, apply: apply.apply, workers: parallel, sink: sink)
            fanOut.finish()
            return StageStats(id: stage.id, kind: stage.kind, recordsIn: counts.in, recordsOut: counts.out,
                              skipped: tally.skipped, quarantined: tally.quarantined)

        case .load(let format, let load):
            guard let input else { throw ETLError("stage '\(stage.id)' has no input") }
            let resume = stages.plan.state(of: stage.id, extract: root) ?? stages.plan.bases[stage.id].map { Value.object(["base": $0]) }
            let writer = try load.makeWriter(context, resume: resume)
            stages.writers.add(writer)
            while let batch = try await input.receive() {
                if !batch.records.isEmpty { try writer.write(batch.records) }
                if let mark = batch.mark {
                    if mark.restart { try writer.restart() }
                    try stages.checkpoints.report(output: stage.id, mark: mark, state: try writer.checkpoint(final: mark.final))
                }
            }
            let result = try writer.finish()
            stages.results.add(result)
            // Rows include what an interrupted run this one continues had written.
            return StageStats(id: stage.id, kind: stage.kind, recordsIn: result.rows, recordsOut: result.rows,
                              rows: result.rows, bytes: result.staged.isEmpty ? nil : result.bytes, target: load.target,
                              format: format, files: result.staged.map(\.final) + (result.commit.map { [$0.target] } ?? []))
        }
    }

    /// Applies the steps to batches on up to `workers` tasks at once, passing results to `sink` in input order.
    static func transform(input: BoundedChannel<Batch>, apply: @escaping @Sendable ([Record]) throws -> StepOutput, workers: Int,
                          sink: TransformSink) async throws -> (in: Int, out: Int) {
        var countIn = 0
        var countOut = 0
        try await withThrowingTaskGroup(of: (Int, StepOutput).self) { group in
            var nextToSend = 0
            var submitted = 0
            var done: [Int: StepOutput] = [:]
            func drain() async throws {
                while let ready = done.removeValue(forKey: nextToSend) {
                    nextToSend += 1
                    countOut += ready.records.count
                    try await sink.take(ready)
                }
            }
            while let batch = try await input.receive() {
                countIn += batch.records.count
                if submitted - nextToSend - done.count >= workers, let (seq, out) = try await group.next() {
                    done[seq] = out
                    try await drain()
                }
                let seq = submitted
                submitted += 1
                let mark = batch.mark
                group.addTask {
                    var output = batch.records.isEmpty ? StepOutput(records: []) : try apply(batch.records)
                    output.mark = mark
                    return (seq, output)
                }
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

/// A run stopped by an error or an interrupt after it had saved a checkpoint: its outputs so far
/// are kept, and running the pipeline again continues it.
public struct RunStopped: Error, CustomStringConvertible {
    public var underlying: any Error
    /// What the checkpoint holds.
    public var saved: String
    public var description: String { describe(underlying) }
}

/// A transform stage's result for one batch: records for the next stages, quarantine lines for
/// the files, and the mark that followed the batch.
struct StepOutput: Sendable {
    var records: [Record]
    var quarantined: [(path: String, line: [UInt8])] = []
    var mark: CheckpointMark? = nil
}

extension [(path: String, line: [UInt8])] {
    /// Lines per path, in order.
    func grouped() -> [(String, (bytes: [UInt8], count: Int))] {
        var out: [(String, (bytes: [UInt8], count: Int))] = []
        for (path, line) in self {
            if let i = out.firstIndex(where: { $0.0 == path }) {
                out[i].1.bytes += line
                out[i].1.count += 1
            } else {
                out.append((path, (line, 1)))
            }
        }
        return out
    }
}

/// Where a transform stage's results go, in order: quarantine lines and checkpoints first, then the records.
struct TransformSink: Sendable {
    let fanOut: FanOut
    let record: @Sendable (StepOutput) throws -> Void

    init(fanOut: FanOut, record: @escaping @Sendable (StepOutput) throws -> Void) {
        self.fanOut = fanOut
        self.record = record
    }

    func take(_ output: StepOutput) async throws {
        try record(output)
        if !output.records.isEmpty || output.mark != nil { try await fanOut.send(Batch(records: output.records, mark: output.mark)) }
    }
}

/// What finishing a run's publication needs, saved in the checkpoint before it starts.
struct Publishing: Sendable {
    var files: [StagedFile]
    var obsolete: [String]
    var stages: [StageStats]
    var bookmarks: [String: Timestamp]
    var acknowledgements = false

    init(files: [StagedFile], obsolete: [String], stages: [StageStats], bookmarks: [String: Timestamp], acknowledgements: Bool = false) {
        self.files = files
        self.obsolete = obsolete
        self.stages = stages
        self.bookmarks = bookmarks
        self.acknowledgements = acknowledgements
    }

    var value: Value {
        var marks = Record()
        for (stage, t) in bookmarks.sorted(by: { $0.key < $1.key }) { marks[stage] = .string(t.description) }
        return .object(["files": .array(files.map { .array([.string($0.temporary), .string($0.final)]) }),
                        "obsolete": .array(obsolete.map { .string($0) }),
                        "stages": .array(stages.map(\.value)), "bookmarks": .object(marks), "acknowledgements": .bool(acknowledgements)])
    }

    init?(_ value: Value) {
        guard case .array(let files)? = value["files"], case .array(let obsolete)? = value["obsolete"],
              case .array(let stages)? = value["stages"], case .object(let marks)? = value["bookmarks"] else { return nil }
        self.files = files.compactMap { f in
            guard case .array(let pair) = f, pair.count == 2, let t = pair[0].string, let final = pair[1].string else { return nil }
            return StagedFile(temporary: t, final: final)
        }
        self.obsolete = obsolete.compactMap(\.string)
        self.stages = stages.compactMap(StageStats.init(value:))
        var bookmarks: [String: Timestamp] = [:]
        for (stage, v) in marks.fields { if let text = v.string, case .dateTime(let t)? = DateParser.parse(text) { bookmarks[stage] = t } }
        self.bookmarks = bookmarks
        self.acknowledgements = value["acknowledgements"]?.bool ?? false
    }
}

extension StageStats {
    var value: Value {
        var r: Record = ["id": .string(id), "kind": .string(kind), "records_in": .integer(Int64(recordsIn)),
                         "records_out": .integer(Int64(recordsOut)), "skipped": .integer(Int64(skipped)),
                         "quarantined": .integer(Int64(quarantined)), "files": .array(files.map { .string($0) })]
        if let rows { r["rows"] = .integer(Int64(rows)) }
        if let bytes { r["bytes"] = .integer(bytes) }
        if let target { r["target"] = .string(target) }
        if let pages { r["pages"] = .integer(Int64(pages)) }
        if let format { r["format"] = .string(format) }
        return .object(r)
    }

    init?(value: Value) {
        guard let id = value["id"]?.string, let kind = value["kind"]?.string else { return nil }
        self.init(id: id, kind: kind, recordsIn: value["records_in"]?.int ?? 0, recordsOut: value["records_out"]?.int ?? 0)
        rows = value["rows"]?.int
        if case .integer(let b)? = value["bytes"] { bytes = b }
        target = value["target"]?.string
        skipped = value["skipped"]?.int ?? 0
        quarantined = value["quarantined"]?.int ?? 0
        pages = value["pages"]?.int
        format = value["format"]?.string
        if case .array(let f)? = value["files"] { files = f.compactMap(\.string) }
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

    func apply(_ batch: [Record]) throws -> StepOutput {
        var records = batch
        var quarantined: [(path: String, line: [UInt8])] = []
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
                        quarantined.append((path, QuarantineFiles.line(stage: stage, step: configured.name, reason: describe(error), record: record)))
                        tally.quarantine()
                    }
                }
            }
            records = kept
        }
        return StepOutput(records: records, quarantined: quarantined)
    }
}

/// Sends each batch to every reader of a stage, in order.
struct FanOut: Sendable {
    let outputs: [BoundedChannel<Batch>]

    func send(_ batch: Batch) async throws {
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

    func suspendAll() {
        for w in writers.withLock({ $0 }) { w.writer.suspend() }
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
