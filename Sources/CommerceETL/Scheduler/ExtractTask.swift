// An extract stage: runs its connector's extractor, which sends batches and checkpoint marks
// through a `RecordEmitter`; continues from an interrupted run's mark when there is one.

struct ExtractTask: StageTask {
    let id: String
    let extractor: any Extractor
    let batchSize: Int
    let maxPages: Int?
    let checkpointEvery: Int
    /// The mark an interrupted run reached, to continue from.
    let resume: SavedCheckpoint.Extract?
    let run: RunContext

    func run(input: BoundedChannel<Batch>?, output: StageOutputs) async throws -> StageStats {
        var context = run
        context.logger = run.logger.stage(id)
        let progress = run.logger.progress
        progress.start(id, kind: "extract", records: resume?.records ?? 0)
        let emitter = RecordEmitter(batchSize: batchSize, extract: id, checkpointEvery: checkpointEvery,
                                    resume: resume, maxPages: maxPages, progress: progress) { batch in try await output.records.send(batch) }
        if resume?.final != true || extractor.resumable {
            try await extractor.run(emitter, context: context)
        }
        try await emitter.flush()
        if resume?.final != true { try await emitter.end(resume?.position ?? .object(["done": .bool(true)])) }
        output.finish()
        progress.update(id) { $0.finished = true }
        // Counts include what an interrupted run this one continues had read.
        return StageStats(id: id, kind: "extract", recordsIn: 0, recordsOut: emitter.count, pages: emitter.pages)
    }
}
