// Publishing a run's outputs once every stage has succeeded: every target is checked first, then
// database transactions are committed (the likelier to fail), the files and the manifest renamed
// into place, bookmarks moved and after-commit actions run. What finishing needs is saved in the
// checkpoint before it starts, so a run interrupted while publishing is finished by the next.
import Foundation

struct Publisher {
    let pipeline: Pipeline
    let log: RunLog
    let session: RunSession
    let context: RunContext
    let started: ContinuousClock.Instant
    let startedAt: Date

    /// Publishes the outputs of a run whose stages all succeeded. `stop` turns an error before
    /// anything is committed into the run's stopped error (outputs kept or removed).
    func publish(_ stats: [StageStats], results: [LoadResult], checkpoints: CheckpointCoordinator,
                 stop: (any Error) -> any Error) async throws -> RunReport {
        let publishing: Publishing
        do {
            let staged = results.flatMap(\.staged)
            publishing = Publishing(files: staged, obsolete: results.flatMap(\.obsolete), stages: stats,
                                    bookmarks: context.state?.proposals ?? [:], acknowledgements: context.afterCommit.count > 0)
            // Every target is checked before anything is committed, so that publishing does all or nothing.
            try checkTargets(publishing)
            try checkpoints.publishing(publishing.value)
        } catch {
            // Nothing is committed: the databases' final transactions are rolled back (their
            // connections closed) now, as when a commit fails, not whenever they are freed.
            for action in results.compactMap(\.commit) { action.rollback() }
            throw stop(error)
        }
        let commits = results.compactMap(\.commit)
        var committed = 0
        do {
            for action in commits {
                try await action.commit()
                committed += 1
            }
        } catch {
            // Every row is committed at the final marks; what is left (swapping rebuilt tables in) is redone by the next run.
            for action in commits.dropFirst(committed + 1) { action.rollback() }
            throw RunStopped(underlying: ETLError("could not commit \(commits[committed].target)\(committed > 0 ? " (\(committed) database(s) were committed)" : ""): \(describe(error))"),
                             saved: checkpoints.current.summary)
        }
        return try await publishFiles(publishing, databases: commits.map(\.target))
    }

    /// Finishes a run interrupted while publishing: its outputs were complete.
    func finishInterrupted(_ value: Value) async throws -> RunReport {
        guard let publishing = Publishing(value) else {
            throw ETLError("\(SavedCheckpoint.path(in: session.directory)): the checkpoint is not of this tool's shape; discard it with 'commerce-etl state reset'")
        }
        try checkTargets(publishing)
        var databases: [String] = []
        for output in pipeline.outputs {
            for target in try await output.load.completePublishing(context) where !databases.contains(target) { databases.append(target) }
        }
        if publishing.acknowledgements {
            log.warning("the interrupted run had exported orders to acknowledge as sent; they stay unsent and are exported again by the next run")
        }
        return try await publishFiles(publishing, databases: databases)
    }

    /// Checks every file target and the manifest's (OutputTargets), before anything is committed.
    private func checkTargets(_ publishing: Publishing) throws {
        let manifestPath = try Manifest.path(pipeline: pipeline, stages: publishing.stages, run: context)
        try OutputTargets.check(publishing.files.map(\.final) + (manifestPath.map { [$0] } ?? []))
    }

    /// Renames the files and the manifest into place and records the run (bookmarks), then forgets the checkpoint.
    private func publishFiles(_ publishing: Publishing, databases: [String]) async throws -> RunReport {
        var report = RunReport(runID: context.runID, stages: publishing.stages.filter { $0.kind != "quarantine" },
                               quarantine: publishing.stages.filter { $0.kind == "quarantine" }, warnings: log.warnings,
                               seconds: (ContinuousClock.now - started).seconds, published: databases + publishing.files.map(\.final))
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
        try? SavedCheckpoint.remove(directory: session.directory)
        do {
            try await context.afterCommit.run()
        } catch {
            throw ETLError("the outputs were published, but \(describe(error))")
        }
        return report
    }
}
