// One run's hold on a pipeline's state directory: the lock, the interrupted run it continues (if
// any), what each extract continues from, and what becomes of the outputs when the run stops:
// kept for a resumed run once a checkpoint holds progress, removed otherwise.
import Foundation

struct RunSession {
    let pipeline: Pipeline
    let log: RunLog
    let directory: String
    /// The checkpoint of the interrupted run this one continues.
    let saved: SavedCheckpoint?
    private let lock: RunLock

    /// Takes the pipeline's lock and reads its interrupted run, if any. A run that continues it
    /// (`continuing`) is refused when the pipeline file changed since.
    init(pipeline: Pipeline, log: RunLog, directory: String, continuing: Bool = true) throws {
        self.pipeline = pipeline
        self.log = log
        self.directory = directory
        lock = try RunLock(directory: directory, pipeline: pipeline.name)
        do {
            saved = try SavedCheckpoint.load(directory: directory)
        } catch {
            lock.release()
            throw error
        }
        if continuing, let saved, saved.pipelineDigest != pipeline.digest {
            lock.release()
            throw ETLError("\(pipeline.file): the file changed since run \(saved.runID) was interrupted; restore it to finish that run, or discard the run with 'commerce-etl state reset \(pipeline.file)'")
        }
    }

    func release() { lock.release() }

    /// Takes back everything the interrupted run wrote (temporary files, rows committed at
    /// checkpoints) and forgets its checkpoint. Its summary, or nil when there was none.
    func discardInterruptedRun(_ context: RunContext) async throws -> String? {
        guard let saved else { return nil }
        for (extract, e) in saved.extracts { await discard(e.outputs, extract: extract, context: context) }
        if let publishing = saved.publishing.flatMap(Publishing.init) {
            for file in publishing.files { try? FileManager.default.removeItem(atPath: file.temporary) }
        }
        try SavedCheckpoint.remove(directory: directory)
        return saved.summary
    }

    /// Removes the outputs an interrupted run wrote for one extract.
    private func discard(_ outputs: [String: Value], extract: String, context: RunContext) async {
        for (output, state) in outputs {
            if let load = pipeline.output(output)?.load {
                await load.discard(state, run: context)
            } else {
                discardTemporaryFiles(state)
            }
        }
    }

    /// Which extracts continue from their saved marks (the others start over and lose what they
    /// wrote), and what the outputs held before the run.
    func plan(_ context: RunContext) async throws -> ResumePlan {
        var plan = ResumePlan(extracts: [:])
        if let saved {
            for stage in pipeline.stages {
                guard case .extract(_, _, let extractor, _) = stage.role, let e = saved.extracts[stage.id] else { continue }
                let stateful = pipeline.stages.contains { s in
                    if case .transform(let steps, _) = s.role, pipeline.root(of: s.id) == stage.id { return steps.contains { $0.step.isStateful } }
                    return false
                }
                if e.seq > 0, !e.final, !extractor.resumable || stateful {
                    log.note("stage '\(stage.id)' cannot continue part way (\(stateful ? "a step below it remembers earlier records" : "its source has no resumable position")); it starts over")
                    await discard(e.outputs, extract: stage.id, context: context)
                    continue
                }
                if e.seq == 0 {
                    await discard(e.outputs, extract: stage.id, context: context)
                    continue
                }
                plan.extracts[stage.id] = e
            }
            // What the outputs held before the run began, kept from the interrupted run.
            plan.bases = saved.bases
            for (output, base) in plan.bases where plan.extracts[pipeline.root(of: output)] == nil {
                // An extract that starts over takes back what the interrupted run committed for it.
                await pipeline.output(output)?.load.discard(.object(["base": base]), run: context)
            }
        } else {
            for output in pipeline.outputs {
                if let base = try await output.load.base(context) { plan.bases[output.id] = base }
            }
        }
        return plan
    }

    /// The run's checkpoints, saved at once so that a run killed from here on is found.
    func checkpoints(_ plan: ResumePlan, context: RunContext) throws -> CheckpointCoordinator {
        let checkpoints = CheckpointCoordinator(
            checkpoint: SavedCheckpoint(runID: context.runID, runDate: context.runDate, pipelineDigest: pipeline.digest,
                                        extracts: plan.extracts, bases: plan.bases),
            outputs: pipeline.checkpointOutputs, directory: directory)
        try checkpoints.save()
        return checkpoints
    }

    /// The run stopped: with checkpoints saved, its outputs are kept for a resumed run; without, removed.
    func stopped(_ error: any Error, checkpoints: CheckpointCoordinator, writers: WriterRegistry, context: RunContext) -> any Error {
        if checkpoints.hasProgress {
            writers.suspendAll()
            return RunStopped(underlying: error, saved: checkpoints.current.summary)
        }
        writers.abortAll()
        context.directories.removeEmpty()
        try? checkpoints.remove()
        return error
    }
}
