// `preview`: a pipeline tried on a few records. Each extract that a shown stage needs reads its
// first page (at most `limit` records), the transform steps run on them as a run would apply
// them, and the records each shown stage would pass on are returned. Nothing is written: no load
// opens its target, no state is read or saved (so no bookmark moves and no checkpoint is kept),
// and no order is acknowledged (that happens only when a run publishes).
import Foundation
import Logging
import Synchronization

public struct Preview: Sendable {
    public var pipeline: Pipeline
    /// The most records read from each extract.
    public var limit: Int
    public var workingDirectory: String
    public var storeLauncher: (any EmbeddedStoreLauncher)?
    public var log: RunLog

    public init(pipeline: Pipeline, limit: Int, log: RunLog, workingDirectory: String = FileManager.default.currentDirectoryPath,
                storeLauncher: (any EmbeddedStoreLauncher)? = nil) {
        self.pipeline = pipeline
        self.limit = limit
        self.log = log
        self.workingDirectory = workingDirectory
        self.storeLauncher = storeLauncher
    }

    /// What is shown by default: the input of each load (records as the load would receive them),
    /// each once, with the loads it feeds.
    public var defaultStages: [(stage: String, loads: [String])] {
        var shown: [(stage: String, loads: [String])] = []
        for stage in pipeline.stages {
            guard case .load = stage.role, let input = stage.input else { continue }
            if let i = shown.firstIndex(where: { $0.stage == input }) { shown[i].loads.append(stage.id) } else { shown.append((input, [stage.id])) }
        }
        return shown
    }

    /// The records `stageIDs` pass on (a load stage: the records it receives), in order.
    public func records(of stageIDs: [String]) async throws -> [String: [Record]] {
        let stores = EmbeddedStores(launcher: storeLauncher)
        let context = RunContext(runID: "preview", pipelineName: pipeline.name, workingDirectory: workingDirectory, logger: log,
                                 outputBase: workingDirectory, embeddedStores: stores)
        var computed: [String: [Record]] = [:]
        do {
            for id in stageIDs {
                guard let stage = pipeline.stage(id) else { throw ETLError("the pipeline has no stage '\(id)'") }
                let source = if case .load = stage.role { stage.input ?? id } else { id }
                computed[id] = try await output(of: source, context: context, memo: &computed)
            }
        } catch {
            await stores.stopAll()
            throw error
        }
        await stores.stopAll()
        return computed.filter { stageIDs.contains($0.key) }
    }

    private func output(of id: String, context: RunContext, memo: inout [String: [Record]]) async throws -> [Record] {
        if let done = memo[id] { return done }
        guard let stage = pipeline.stage(id) else { throw ETLError("the pipeline has no stage '\(id)'") }
        let records: [Record]
        switch stage.role {
        case .extract(_, _, let extractor, _):
            records = try await firstPage(of: extractor, stage: id, context: context)
        case .transform(let steps, _):
            guard let input = stage.input else { throw ETLError("stage '\(id)' has no input") }
            let upstream = try await output(of: input, context: context, memo: &memo)
            var stageContext = context
            stageContext.logger = context.logger.stage(id)
            let prepared = try steps.map { c in
                do {
                    return ConfiguredStep(name: c.name, step: try c.step.prepared(for: stageContext), onError: c.onError)
                } catch {
                    throw ETLError("stage '\(id)': step \(c.name): \(describe(error))")
                }
            }
            do {
                records = try StepRunner(steps: prepared, stage: id, run: stageContext).apply(upstream).records
            } catch {
                throw ETLError("stage '\(id)': \(describe(error))")
            }
        case .load:
            return try await output(of: stage.input ?? id, context: context, memo: &memo)
        }
        memo[id] = records
        return records
    }

    private func firstPage(of extractor: any Extractor, stage: String, context: RunContext) async throws -> [Record] {
        try await Self.firstPage(of: extractor, stage: stage, limit: limit, context: context)
    }

    /// Up to `limit` records of the extract's first page.
    static func firstPage(of extractor: any Extractor, stage: String, limit: Int, context: RunContext) async throws -> [Record] {
        let collected = Mutex<[Record]>([])
        var stageContext = context
        stageContext.logger = context.logger.stage(stage)
        let emitter = RecordEmitter(batchSize: 1, extract: stage, checkpointEvery: Int.max) { batch in
            let full = collected.withLock { records -> Bool in
                records += batch.records.prefix(limit - records.count)
                return records.count >= limit
            }
            if full { throw EnoughRead() }
        }
        emitter.stopAfterPages = 1
        do {
            try await extractor.run(emitter, context: stageContext)
            try await emitter.flush()
        } catch {
            // Stopping the extractor after what was needed is not an error, however it came back.
            guard emitter.stoppedEarly || collected.withLock({ $0.count >= limit }) else {
                throw ETLError("stage '\(stage)': \(describe(error))")
            }
        }
        return collected.withLock { $0 }
    }
}

/// What `preview` throws into an extractor to stop it once it has read enough.
struct EnoughRead: Error {}
