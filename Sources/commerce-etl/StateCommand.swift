// `state show` and `state reset`: what a pipeline remembers between runs.
import ArgumentParser
import CommerceETL
import Foundation
import Logging

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show or reset what a pipeline remembers between runs (the bookmarks of its incremental extracts).",
        subcommands: [Show.self, Reset.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each stage's bookmark.")
        @Argument(help: "The pipeline file (YAML).") var pipeline: String
        @Option(help: "The state directory (default .commerce-etl/state/<pipeline>).") var stateDir: String?

        func run() throws {
            guard let p = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
            let dir = stateDir ?? PipelineState.defaultDirectory(pipeline: p.name, workingDirectory: FileManager.default.currentDirectoryPath)
            do {
                let state = try PipelineState(directory: dir)
                print("state of \(p.name) in \(dir)")
                if state.bookmarks.isEmpty { print("  no bookmarks: the next run exports everything (or from each extract's start)") }
                for (stage, mark) in state.bookmarks.sorted(by: { $0.key < $1.key }) { print("  \(stage): after \(mark)") }
                if let checkpoint = try SavedCheckpoint.load(directory: dir) {
                    print("  \(checkpoint.summary); the next run continues it")
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(ExitStatus.failed)
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget the bookmarks (and discard an interrupted run), so the next run starts over.")
        @Argument(help: "The pipeline file (YAML).") var pipeline: String
        @Option(help: "Only this extract stage.") var stage: String?
        @Option(help: "The state directory (default .commerce-etl/state/<pipeline>).") var stateDir: String?

        func run() async throws {
            guard let p = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
            if let stage, p.stage(stage) == nil {
                printError("error: \(pipeline) has no stage '\(stage)'")
                throw ExitCode(ExitStatus.invalid)
            }
            let dir = stateDir ?? PipelineState.defaultDirectory(pipeline: p.name, workingDirectory: FileManager.default.currentDirectoryPath)
            do {
                var logger = Logger(label: "commerce-etl")
                logger.logLevel = .warning
                let runner = PipelineRunner(pipeline: p, log: RunLog(logger: logger), stateDirectory: dir)
                if let discarded = try await runner.discardInterruptedRun() {
                    print("discarded the \(discarded), and what it had written")
                }
                try PipelineState.reset(directory: dir, stage: stage)
                print(stage.map { "reset the bookmark of \($0)" } ?? "reset every bookmark of \(p.name)")
            } catch {
                printError("error: \(error)")
                throw ExitCode(error is RunInProgress ? ExitStatus.busy : ExitStatus.failed)
            }
        }
    }
}
