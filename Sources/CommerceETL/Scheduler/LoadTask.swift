// A load stage: writes every batch through its format's writer, makes it durable at each
// checkpoint mark, and hands the finished temporary output to the publisher.
import Synchronization

struct LoadTask: StageTask {
    let id: String
    /// `load`, or `quarantine` for a quarantine file (kept apart in the summary and manifest).
    let kind: String
    let format: String
    let load: any LoadFormat
    /// The writer state to continue from (an interrupted run's mark, or the output's base).
    let resume: Value?
    let services: RunServices

    func run(input: BoundedChannel<Batch>?, output: StageOutputs) async throws -> StageStats {
        guard let input else { throw ETLError("stage '\(id)' has no input") }
        var context = services.run
        context.logger = context.logger.stage(id)
        let progress = context.logger.progress
        progress.start(id, kind: kind)
        let writer = try await load.makeWriter(context, resume: resume)
        services.writers.add(writer)
        var written = 0
        while let batch = try await input.receive() {
            if !batch.records.isEmpty {
                try await writer.write(batch.records)
                batch.retire()
                written += batch.records.count
                progress.update(id) { [written] in $0.records = written }
            }
            if let mark = batch.mark {
                if mark.restart { try await writer.restart() }
                try services.checkpoints.report(output: id, mark: mark, state: try await writer.checkpoint(final: mark.final))
            }
        }
        let result = try await writer.finish()
        services.results.add(result)
        progress.update(id) { $0.finished = true }
        // Rows include what an interrupted run this one continues had written.
        return StageStats(id: id, kind: kind, recordsIn: result.rows, recordsOut: result.rows,
                          rows: result.rows, bytes: result.staged.isEmpty ? nil : result.bytes, target: load.target,
                          format: format, files: result.staged.map(\.final) + (result.commit.flatMap { $0.isFile ? [$0.target] : nil } ?? []))
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
