// The command-line interface: parses arguments and calls the library. Exit codes:
// 0 success, 1 the run failed, 2 bad usage or an invalid pipeline, 3 another run of the
// pipeline is in progress, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP.
import ArgumentParser
import CommerceETL
import DemoStore
import Foundation
import Logging

enum ExitStatus {
    static let failed: Int32 = 1
    static let invalid: Int32 = 2
    /// Another run of the same pipeline holds its state directory.
    static let busy: Int32 = 3
    static let interrupted: Int32 = 130
    static let terminated: Int32 = 143
    static let hungUp: Int32 = 129
}

/// SIGINT, SIGTERM and SIGHUP, caught so that a run can stop cleanly; remembers which came first.
final class StopSignals: @unchecked Sendable {
    enum Kind: CaseIterable {
        case interrupt, terminate, hangUp
        var signal: Int32 {
            switch self {
            case .interrupt: SIGINT
            case .terminate: SIGTERM
            case .hangUp: SIGHUP
            }
        }
        var name: String {
            switch self {
            case .interrupt: "interrupted"
            case .terminate: "terminated (SIGTERM)"
            case .hangUp: "terminated (SIGHUP: the terminal went away)"
            }
        }
        var exitCode: Int32 {
            switch self {
            case .interrupt: ExitStatus.interrupted
            case .terminate: ExitStatus.terminated
            case .hangUp: ExitStatus.hungUp
            }
        }
    }

    private let sources: [DispatchSourceSignal]
    private let lock = NSLock()
    private var first: Kind? = nil

    init(_ stop: @escaping @Sendable () -> Void) {
        var sources: [DispatchSourceSignal] = []
        for kind in Kind.allCases {
            signal(kind.signal, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: kind.signal, queue: .global()))
        }
        self.sources = sources
        for (source, kind) in zip(sources, Kind.allCases) {
            source.setEventHandler { [weak self] in
                self?.note(kind)
                stop()
            }
            source.resume()
        }
    }

    private func note(_ kind: Kind) {
        lock.lock()
        if first == nil { first = kind }
        lock.unlock()
    }

    /// The signal that stopped the run (a cancellation with none is taken as Ctrl-C).
    var received: Kind {
        lock.lock()
        defer { lock.unlock() }
        return first ?? .interrupt
    }

    func cancel() { sources.forEach { $0.cancel() } }
}

/// Loads and validates pipeline files, printing every diagnostic; nil if any had errors.
func loadPipeline(_ file: String) -> Pipeline? {
    let outcome = PipelineLoader.load(file: file)
    for d in outcome.diagnostics {
        console().log(d.severity == .error ? .error : .warning, d.description, fields: ["file": "\(d.location.file)", "line": "\(d.location.line)", "column": "\(d.location.column)"], plain: true)
    }
    if outcome.omitted > 0 { printError("\(file): \(outcome.omitted) more problem(s) not shown") }
    return outcome.hasErrors ? nil : outcome.pipeline
}

struct CommerceETLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commerce-etl",
        abstract: "Export bulk data from e-commerce platform APIs with declarative pipelines.",
        version: CommerceETLVersion.current,
        subcommands: [Run.self, PreviewCommand.self, CheckCommand.self, Validate.self, Plan.self, StateCommand.self, SchemaCommand.self, DocsCommand.self, DemoStoreCommand.self, BenchCommand.self]
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline: extract, transform and load, publishing outputs only if every stage succeeds.")

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @OptionGroup var output: OutputOptions

    @Option(help: "Seconds between progress lines when standard error is not a terminal (with -v).")
    var progressInterval = 10

    @Option(help: "Where the pipeline keeps its state (default .commerce-etl/state/<pipeline>).")
    var stateDir: String?

    @Flag(help: "Continue the interrupted run (a run does so anyway when one is found; this adds a note when there is none).")
    var resume = false

    func validate() throws {
        guard (1...86_400).contains(progressInterval) else { throw ValidationError("--progress-interval must be from 1 to 86400 seconds, found \(progressInterval)") }
    }

    func run() async throws {
        let console = output.install()
        guard let pipeline = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
        let file = self.pipeline
        let progress = RunProgress()
        let runner = PipelineRunner(pipeline: pipeline, log: RunLog(logger: output.logger(), progress: progress), storeLauncher: DemoStoreLauncher(),
                                    stateDirectory: stateDir, resume: resume)

        // Ctrl-C, and the SIGTERM that cron, systemd and Kubernetes send, cancel the run (which
        // removes its temporary files, or keeps its checkpoint) instead of killing the process.
        let task = Task { try await runner.run() }
        let signals = StopSignals { task.cancel() }
        defer { signals.cancel() }
        let display = ProgressDisplay.start(progress, console: console, interval: .seconds(progressInterval))
        func stopDisplay() async {
            display?.cancel()
            await display?.value
            console.clearLive()
        }

        do {
            let report = try await task.value
            await stopDisplay()
            if console.verbosity != .quiet { printOutput(Summary.render(report), fields: Summary.fields(report)) }
        } catch is CancellationError {
            await stopDisplay()
            printError("\(signals.received.name): no output was changed")
            throw ExitCode(signals.received.exitCode)
        } catch let stopped as RunStopped {
            await stopDisplay()
            let interrupted = stopped.underlying is CancellationError
            printError(interrupted ? signals.received.name : "error: \(stopped)")
            printError("the run stopped; what it wrote up to its last checkpoint is kept (\(stopped.saved)): run the same command again to continue it, or discard it with 'commerce-etl state reset \(file)'")
            throw ExitCode(interrupted ? signals.received.exitCode : ExitStatus.failed)
        } catch {
            await stopDisplay()
            printError("error: \(error)")
            printError("the run failed; no output was changed")
            throw ExitCode(error is RunInProgress ? ExitStatus.busy : ExitStatus.failed)
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
        printOutput(Summary.plan(pipeline))
    }
}


/// `50ms`, `2s`, `1.5s`; at most an hour.
func parseDuration(_ text: String) -> Duration? {
    var milliseconds: Double
    if text.hasSuffix("ms"), let n = Double(text.dropLast(2)) {
        milliseconds = n
    } else if text.hasSuffix("s"), let n = Double(text.dropLast(1)) {
        milliseconds = n * 1000
    } else {
        return nil
    }
    guard milliseconds.isFinite, milliseconds >= 0, milliseconds <= 3_600_000 else { return nil }
    milliseconds.round()
    return .milliseconds(Int64(milliseconds))
}

// The library's messages go through the console of the command being run.
LoggingSystem.bootstrap { _ in ConsoleLogHandler(console: console) }

// Bad usage exits 2, as invalid pipelines do, rather than ArgumentParser's 64.
do {
    var command = try CommerceETLCommand.parseAsRoot()
    // Each asynchronous command by name: through `any AsyncParsableCommand`, `run()` would be
    // ParsableCommand's synchronous one (which prints the help).
    if let run = command as? Run {
        try await run.run()
    } else if let check = command as? CheckCommand {
        try await check.run()
    } else if let preview = command as? PreviewCommand {
        try await preview.run()
    } else if let store = command as? DemoStoreCommand {
        try await store.run()
    } else if let bench = command as? BenchCommand {
        try await bench.run()
    } else if let reset = command as? StateCommand.Reset {
        try await reset.run()
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
