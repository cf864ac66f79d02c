// `preview`: a pipeline tried on its first records, nothing written.
import ArgumentParser
import CommerceETL
import DemoStore
import Foundation

struct PreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Show the first records a pipeline's stages pass on (one page of each source), writing nothing.",
        discussion: "Without --stage, shows what each load would receive. No output is written, no state (bookmark, checkpoint) is read or saved, and no order is acknowledged.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, ndjson }

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Option(help: "The stage whose records to show (an extract, a transform, or a load: what it receives).")
    var stage: String?

    @Option(help: "The most records read from each source (1-1000).")
    var limit = 20

    @Option(help: "table (fits the terminal; long and nested values shortened), json or ndjson.")
    var format: Format = .table

    @Flag(help: "List the field paths the records hold, with their types and an example value, instead of the records.")
    var fields = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000, found \(limit)") }
    }

    func run() async throws {
        output.install()
        guard let pipeline = loadPipeline(pipeline) else { throw ExitCode(ExitStatus.invalid) }
        let preview = Preview(pipeline: pipeline, limit: limit, log: RunLog(logger: output.logger()), storeLauncher: DemoStoreLauncher())
        var shown: [(stage: String, loads: [String])]
        if let stage {
            guard pipeline.stage(stage) != nil else {
                printError("error: \(self.pipeline) has no stage '\(stage)' (stages: \(pipeline.stages.map(\.id).joined(separator: ", ")))")
                throw ExitCode(ExitStatus.invalid)
            }
            shown = [(stage, [])]
        } else {
            shown = preview.defaultStages
        }
        if format == .ndjson, shown.count > 1, !fields {
            printError("error: the loads read \(shown.count) different stages (\(shown.map(\.stage).joined(separator: ", "))); pick one with --stage for ndjson")
            throw ExitCode(ExitStatus.invalid)
        }
        let records: [String: [Record]]
        do {
            records = try await preview.records(of: shown.map(\.stage))
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.failed)
        }
        var text: [String] = []
        if fields || format == .table {
            for (stage, loads) in shown {
                let got = records[stage] ?? []
                let what = loads.isEmpty ? "stage \(stage)" : "\(stage), as \(loads.joined(separator: ", ")) receive\(loads.count == 1 ? "s" : "") it"
                if shown.count > 1 || !fields { text.append("\(what): \(got.count) record\(got.count == 1 ? "" : "s")") }
                text.append(fields ? RecordTable.fields(got) : RecordTable.render(got, width: Console.terminalWidth(1)))
                text.append("")
            }
            text.removeLast()
        } else if format == .json {
            var all: Record = [:]
            for (stage, _) in shown { all[stage] = .array((records[stage] ?? []).map { .object($0) }) }
            text.append(JSONWriter.pretty(.object(all)).trimmingCharacters(in: .newlines))
        } else {
            for record in records[shown[0].stage] ?? [] {
                var bytes: [UInt8] = []
                JSONWriter.write(record, into: &bytes)
                text.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        // Records are data: written as they are (no JSON wrapping with --log-format json).
        if !text.isEmpty { FileHandle.standardOutput.write(Data((Secrets.redact(text.joined(separator: "\n")) + "\n").utf8)) }
    }
}
