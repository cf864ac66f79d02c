// Applies a transform stage's steps to one batch, honouring each step's `on_error`.

/// Applies a stage's steps to a batch, honouring each step's `on_error`.
struct StepRunner: Sendable {
    let steps: [ConfiguredStep]
    let stage: String
    let run: RunContext

    func apply(_ batch: [Record]) throws -> StepOutput {
        var records = batch
        var quarantined: [(path: String, record: Record)] = []
        var skipped = 0
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
                    case .skip:
                        skipped += 1
                    case .quarantine(let path):
                        quarantined.append((path, QuarantineLoad.record(stage: stage, step: configured.name, reason: describe(error), record: record)))
                    }
                }
            }
            records = kept
        }
        return StepOutput(records: records, quarantined: quarantined, skipped: skipped)
    }
}
