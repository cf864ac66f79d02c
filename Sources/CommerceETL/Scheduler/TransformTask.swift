// A transform stage: applies its steps to batches on up to `workers` tasks at once and passes
// the results on in input order. Records a step cannot process go by the step's `on_error`;
// quarantined ones are written (in record order) before the batch that followed them is sent.

struct TransformTask: StageTask {
    let id: String
    let steps: [ConfiguredStep]
    let workers: Int
    let run: RunContext
    let checkpoints: CheckpointCoordinator

    func run(input: BoundedChannel<Batch>?, output: FanOut) async throws -> StageStats {
        guard let input else { throw ETLError("stage '\(id)' has no input") }
        let context = run
        let steps = try self.steps.map { c in
            do {
                return ConfiguredStep(name: c.name, step: try c.step.prepared(for: context), onError: c.onError)
            } catch {
                throw ETLError("step \(c.name): \(describe(error))")
            }
        }
        let tally = StepTally()
        let apply = StepRunner(steps: steps, stage: id, run: context, tally: tally)
        let quarantinePaths = ErrorPolicy.quarantinePaths(steps)
        // Quarantined records are written in record order, and their files checkpointed at each mark.
        let checkpoints = self.checkpoints
        let sink = TransformSink(fanOut: output) { output in
            for (path, lines) in output.quarantined.grouped() {
                try context.quarantine.write(path: path, run: context, lines: lines.bytes, count: lines.count)
            }
            guard let mark = output.mark else { return }
            for path in quarantinePaths {
                if mark.restart { context.quarantine.restart(path: path) }
                try checkpoints.report(output: QuarantineFiles.outputID(path), mark: mark, state: try context.quarantine.checkpoint(path: path, run: context))
            }
        }
        // A step that remembers earlier records needs the batches one at a time, in order.
        let parallel = steps.contains { $0.step.isStateful } ? 1 : workers
        let counts = try await Self.transform(input: input, apply: apply.apply, workers: parallel, sink: sink)
        output.finish()
        return StageStats(id: id, kind: "transform", recordsIn: counts.in, recordsOut: counts.out,
                          skipped: tally.skipped, quarantined: tally.quarantined)
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
