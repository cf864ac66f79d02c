// `check`: can this pipeline run now? One line per connection and per load; exit 0 only if all pass.
import ArgumentParser
import CommerceETL
import DemoStore
import Foundation
import Logging

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check that each connection is reachable and takes its credentials, and that each load's target can be written.",
        discussion: "Each connection gets one request (the first page of the first extract using it); nothing is written, no state is read or saved. Exit 0 only if every check passes, 1 otherwise.")

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @OptionGroup var output: OutputOptions

    func run() async throws {
        output.install()
        guard let pipeline = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
        let results = await PipelineCheck(pipeline: pipeline, log: RunLog(logger: output.logger()), storeLauncher: DemoStoreLauncher()).run()
        let width = results.map(\.subject.count).max() ?? 0
        for result in results {
            let line = "\(result.passed ? "ok  " : "FAIL") \(result.subject.padding(toLength: width, withPad: " ", startingAt: 0))  \(result.detail)"
            printOutput(line, fields: ["subject": "\(result.subject)", "passed": "\(result.passed)", "detail": "\(result.detail)"])
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(ExitStatus.failed) }
    }
}
