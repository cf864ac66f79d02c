// Runs of the CLI killed with SIGKILL (no chance to clean up) at many moments, each run started
// again in the same directory, until one is let finish: the resume tests' common part.
import Foundation

/// Starts the CLI in `dir` with its output in `log`; the environment is this process's plus `environment`.
func startCLI(_ arguments: [String], in dir: URL, log: URL, environment: [String: String] = [:]) throws -> Process {
    let process = Process()
    process.executableURL = cliBinary()
    process.arguments = arguments
    process.currentDirectoryURL = dir
    process.environment = crashesEndTheProcess(ProcessInfo.processInfo.environment.merging(environment) { $1 })
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}

struct KilledRuns {
    /// Runs ended by SIGKILL.
    var kills = 0
    /// Runs that said they continued an interrupted one.
    var continued = 0
    /// The exit status of the run let finish (nil: none finished), and its output.
    var status: Int32?
    var lastLog = ""

    /// Runs `arguments` in `dir` up to `attempts` times, killing each after a delay that differs
    /// from run to run, or (every third run) just after `checkpoint` changes; from run
    /// `letFinishAfter` on, a run is let finish (a slow machine may not have got far in between).
    /// A run killed after it had published (its `manifest` is there) counts as finished: another
    /// run would be a new one, appending again.
    /// It waits on a thread of its own, not one of the test executor's (of which a 2-core machine
    /// has two): an in-process demo store, or another test, keeps running meanwhile.
    static func run(_ arguments: [String], in dir: URL, checkpoint: URL, manifest: URL, logs: URL, environment: [String: String] = [:],
                    letFinishAfter: Int = 24) async throws -> KilledRuns {
        try await withCheckedThrowingContinuation { done in
            Thread {
                done.resume(with: Result {
                    try loop(arguments, in: dir, checkpoint: checkpoint, manifest: manifest, logs: logs, environment: environment,
                             letFinishAfter: letFinishAfter)
                })
            }.start()
        }
    }

    private static func loop(_ arguments: [String], in dir: URL, checkpoint: URL, manifest: URL, logs: URL, environment: [String: String],
                             letFinishAfter: Int) throws -> KilledRuns {
        var result = KilledRuns()
        for attempt in 0...letFinishAfter {
            let log = logs.appendingPathComponent("run-\(attempt).log")
            let process = try startCLI(arguments, in: dir, log: log, environment: environment)
            if attempt == letFinishAfter {
                // Let finish, within a bound: a run that hangs is killed and the test fails.
                let deadline = Date().addingTimeInterval(300)
                while process.isRunning, Date() < deadline { usleep(10_000) }
            } else if attempt % 3 == 2 {
                let before = try? FileManager.default.attributesOfItem(atPath: checkpoint.path)[.modificationDate] as? Date
                let deadline = Date().addingTimeInterval(3)
                while process.isRunning, Date() < deadline {
                    let now = try? FileManager.default.attributesOfItem(atPath: checkpoint.path)[.modificationDate] as? Date
                    if let now, now != before { break }
                    usleep(2_000)
                }
            } else {
                usleep(UInt32(40_000 + (attempt * 37_000) % 400_000 + attempt * 10_000))
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal { result.kills += 1 }
            } else {
                process.waitUntilExit()
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if text.contains("continuing the interrupted") { result.continued += 1 }
            if process.terminationReason == .exit {
                result.status = process.terminationStatus
                result.lastLog = text
                break
            }
            if FileManager.default.fileExists(atPath: manifest.path), !FileManager.default.fileExists(atPath: checkpoint.path) {
                result.status = 0
                result.lastLog = text
                break
            }
        }
        return result
    }
}
