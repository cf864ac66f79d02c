// How the commands talk to the user: the console every message goes through (text or JSON,
// quiet or verbose), set from the options of the command being run.
import ArgumentParser
import CommerceETL
import Logging
import Synchronization

private let current = Mutex(Console())

/// The console of the command being run.
func console() -> Console { current.withLock { $0 } }

/// Every message goes through here, with the run's secrets taken out.
func printError(_ text: String) {
    console().log(.error, text, plain: true)
}

/// Output that shows what a pipeline names (the plan, a run's summary), with secrets taken out:
/// a URL may carry a password.
func printOutput(_ text: String, fields: Logger.Metadata = [:]) {
    console().output(text, fields: fields)
}

extension LogFormat: ExpressibleByArgument {}

/// The options every command that runs a pipeline shares.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Also print progress lines (every --progress-interval seconds when not on a terminal) and each retry.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    @Option(name: .customLong("log-format"), help: "text, or json: every message one JSON object (time, level, stage, message, fields).")
    var logFormat: LogFormat = .text

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet cannot be used together") }
    }

    /// Makes this command's console the one every message goes through.
    @discardableResult
    func install() -> Console {
        let made = Console(format: logFormat, verbosity: quiet ? .quiet : verbose ? .verbose : .normal)
        current.withLock { $0 = made }
        return made
    }

    /// A logger for the library, at this verbosity.
    func logger() -> Logger {
        var logger = Logger(label: "commerce-etl")
        logger.logLevel = console().verbosity.level
        return logger
    }
}
