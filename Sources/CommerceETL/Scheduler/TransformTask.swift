// A transform stage: applies its steps to batches on up to `workers` tasks at once and passes
// the results on in input order. Records a step cannot process go by the step's `on_error`;
// quarantined ones go to the side output of their file (in record order), with every checkpoint
// mark, before the batch that followed them is sent on.

struct TransformTask: StageTask {
    let id: String
    let steps: [ConfiguredStep]
    let workers: Int
    let run: RunContext
    /// The counts of the interrupted run this one continues, at its mark (in, out, skipped, quarantined).
    var resumed: [Int] = [0, 0, 0, 0]

    /// Records in, out, skipped and quarantined so far (a continued run's included).
    struct Counts {
        var recordsIn = 0, recordsOut = 0, skipped = 0, quarantined = 0
        var list: [Int] { [recordsIn, recordsOut, skipped, quarantined] }
    }

    func run(input: BoundedChannel<Batch>?, output: StageOutputs) async throws -> StageStats {
        guard let input else { throw ETLError("stage '\(id)' has no input") }
        var context = run
        context.logger = run.logger.stage(id)
        let progress = run.logger.progress
        let base = resumed.count == 4 ? Counts(recordsIn: resumed[0], recordsOut: resumed[1], skipped: resumed[2], quarantined: resumed[3]) : Counts()
        progress.start(id, kind: "transform", records: base.recordsOut)
        let steps = try self.steps.map { c in
            do {
                return ConfiguredStep(name: c.name, step: try c.step.prepared(for: context), onError: c.onError)
            } catch {
                throw ETLError("step \(c.name): \(describe(error))")
            }
        }
        let apply = StepRunner(steps: steps, stage: id, run: context)
        let sink = TransformSink(output: output)
        // A step that remembers earlier records needs the batches one at a time, in order.
        let parallel = steps.contains { $0.step.isStateful } ? 1 : workers
        let id = self.id
        let counts = try await Self.transform(input: input, apply: apply.apply, workers: parallel, sink: sink, stage: id, base: base) { out in
            progress.update(id) { $0.records = out }
        }
        output.finish()
        progress.update(id) { $0.finished = true }
        return StageStats(id: id, kind: "transform", recordsIn: counts.recordsIn, recordsOut: counts.recordsOut,
                          skipped: counts.skipped, quarantined: counts.quarantined)
    }

    /// Applies the steps to batches on up to `workers` tasks at once, passing results to `sink` in
    /// input order; each checkpoint mark leaves with the stage's counts up to it.
    static func transform(input: BoundedChannel<Batch>, apply: @escaping @Sendable ([Record]) throws -> StepOutput, workers: Int,
                          sink: TransformSink, stage: String = "", base: Counts = Counts(),
                          counted: (Int) -> Void = { _ in }) async throws -> Counts {
        var counts = base
        var received = base.recordsIn
        try await withThrowingTaskGroup(of: (Int, StepOutput).self) { group in
            var nextToSend = 0
            var submitted = 0
            var done: [Int: StepOutput] = [:]
            // Records received up to and including each batch in flight.
            var receivedAt: [Int: Int] = [:]
            func drain() async throws {
                while var ready = done.removeValue(forKey: nextToSend) {
                    counts.recordsIn = receivedAt.removeValue(forKey: nextToSend) ?? counts.recordsIn
                    counts.recordsOut += ready.records.count
                    counts.skipped += ready.skipped
                    counts.quarantined += ready.quarantined.count
                    if ready.mark != nil { ready.mark?.transforms[stage] = counts.list }
                    nextToSend += 1
                    try await sink.take(ready)
                    counted(counts.recordsOut)
                }
            }
            while let batch = try await input.receive() {
                received += batch.records.count
                if submitted - nextToSend - done.count >= workers, let (seq, out) = try await group.next() {
                    done[seq] = out
                    try await drain()
                }
                let seq = submitted
                submitted += 1
                receivedAt[seq] = received
                let mark = batch.mark
                group.addTask {
                    var output = batch.records.isEmpty ? StepOutput(records: []) : try apply(batch.records)
                    batch.retire()
                    output.mark = mark
                    return (seq, output)
                }
            }
            while let (seq, out) = try await group.next() {
                done[seq] = out
                try await drain()
            }
        }
        return counts
    }
}

/// A transform stage's result for one batch: records for the next stages, records for the
/// quarantine files, and the mark that followed the batch.
struct StepOutput: Sendable {
    var records: [Record]
    var quarantined: [(path: String, record: Record)] = []
    /// Records the steps dropped (`on_error: skip`).
    var skipped = 0
    var mark: CheckpointMark? = nil
}

/// Where a transform stage's results go, in order: quarantined records and marks to the side
/// outputs first, then the records and the mark to the readers.
struct TransformSink: Sendable {
    let output: StageOutputs

    func take(_ result: StepOutput) async throws {
        var byPath: [String: [Record]] = [:]
        for (path, record) in result.quarantined { byPath[path, default: []].append(record) }
        for (path, records) in byPath.sorted(by: { $0.key < $1.key }) {
            guard let side = output.side[path] else { throw ETLError("no quarantine file \(path) is open") }
            try await side.send(Batch(records: records))
        }
        if let mark = result.mark { try await output.sendToSides(Batch(records: [], mark: mark)) }
        if !result.records.isEmpty || result.mark != nil { try await output.records.send(Batch(records: result.records, mark: result.mark)) }
    }
}
