// The command-line interface: parses arguments and calls the library. Exit codes:
// 0 success, 1 the run failed, 2 bad usage or an invalid pipeline.
import ArgumentParser
import CommerceETL
import Foundation
import Logging

enum ExitStatus {
    static let failed: Int32 = 1
    static let invalid: Int32 = 2
    static let interrupted: Int32 = 130
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Loads and validates pipeline files, printing every diagnostic; nil if any had errors.
func loadPipeline(_ file: String) -> Pipeline? {
    let outcome = PipelineLoader.load(file: file)
    for diagnostic in outcome.diagnostics { printError(diagnostic.description) }
    return outcome.hasErrors ? nil : outcome.pipeline
}

struct CommerceETLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commerce-etl",
        abstract: "Export bulk data from e-commerce platform APIs with declarative pipelines.",
        subcommands: [Run.self, Validate.self, Plan.self]
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline: extract, transform and load, publishing outputs only if every stage succeeds.")

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Flag(name: .shortAndLong, help: "Log progress to standard error.")
    var verbose = false

    func run() async throws {
        guard let pipeline = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
        var logger = Logger(label: "commerce-etl")
        logger.logLevel = verbose ? .info : .warning
        let runner = PipelineRunner(pipeline: pipeline, log: RunLog(logger: logger))

        // Ctrl-C cancels the run (which removes its temporary files) instead of killing the process.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let task = Task { try await runner.run() }
        interrupt.setEventHandler { task.cancel() }
        interrupt.resume()
        defer { interrupt.cancel() }

        do {
            let report = try await task.value
            print(Summary.render(report))
        } catch is CancellationError {
            printError("interrupted: no output was changed")
            throw ExitCode(ExitStatus.interrupted)
        } catch {
            printError("error: \(error)")
            printError("the run failed; no output was changed")
            throw ExitCode(ExitStatus.failed)
        }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check pipeline files without running them (no network, no files read but the pipelines).")

    @Argument(help: "Pipeline files (YAML).")
    var pipelines: [String]

    func run() throws {
        var failed = false
        for file in pipelines {
            if loadPipeline(file) != nil {
                print("\(file): ok")
            } else {
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.invalid) }
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a pipeline's stage graph and each load's target.")

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    func run() throws {
        guard let pipeline = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
        print(Summary.plan(pipeline))
    }
}

// Bad usage exits 2, as invalid pipelines do, rather than ArgumentParser's 64.
do {
    var command = try CommerceETLCommand.parseAsRoot()
    if let run = command as? Run {
        try await run.run()
    } else {
        try command.run()
    }
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch {
    let code = CommerceETLCommand.exitCode(for: error)
    if code == .success {
        CommerceETLCommand.exit(withError: error)
    }
    printError(CommerceETLCommand.fullMessage(for: error))
    Foundation.exit(ExitStatus.invalid)
}
