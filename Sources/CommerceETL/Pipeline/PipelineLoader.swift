// Reads a pipeline file (format version 1) into a `Pipeline`, reporting every problem with its
// location. Nothing here touches the network or the files a pipeline names.
import Foundation
import Yams

public enum PipelineLoader {
    public struct Outcome {
        public var pipeline: Pipeline?
        public var diagnostics: [Diagnostic]
        /// Problems found beyond those listed (`Diagnostics.limit`).
        public var omitted = 0
        /// Per mapping, the keys read (see `ConfigContext.keysRead`).
        public var keysRead: [String: Set<String>] = [:]
        public var hasErrors: Bool { omitted > 0 || diagnostics.contains { $0.severity == .error } }
    }

    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            registry: StageRegistry = .standard) -> Outcome {
        let text: String
        do {
            // Real pipelines are kilobytes; the YAML composer takes about 20 times a file's size in
            // memory, so a file larger than this is refused rather than composed.
            let reader = try FileReader(path: file, limit: 8 << 20)
            var bytes: [UInt8] = []
            while let chunk = try reader.read(1 << 16) { bytes += chunk }
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                return failure(file, 1, 1, "the file is not UTF-8 text")
            }
            text = decoded
        } catch {
            return failure(file, 1, 1, "cannot read the pipeline file: \(error)")
        }
        return load(yaml: text, file: file, environment: environment, registry: registry)
    }

    public static func load(yaml: String, file: String, environment: [String: String],
                            registry: StageRegistry = .standard) -> Outcome {
        if let deep = YAMLDepth.check(yaml, file: file) { return Outcome(pipeline: nil, diagnostics: [deep]) }
        let root: Node?
        do {
            // The basic resolver tags every plain scalar a string: settings are read as text and
            // typed by their option (`ConfigValue`), so Yams' default resolver, which compiles
            // ICU regular expressions (megabytes of ICU data in memory) to guess types, is not needed.
            root = try Yams.compose(yaml: yaml, .basic)
        } catch let error as YamlError {
            return yamlFailure(error, file: file)
        } catch {
            return failure(file, 1, 1, "invalid YAML: \(error)")
        }
        let diagnostics = Diagnostics()
        let context = ConfigContext(file: file, environment: environment, diagnostics: diagnostics)
        guard let root else {
            return failure(file, 1, 1, "the pipeline file is empty")
        }
        guard let top = ConfigValue(node: root, path: "", context: context).map() else {
            return Outcome(pipeline: nil, diagnostics: diagnostics.sorted, omitted: diagnostics.omitted)
        }
        var pipeline = PipelineBuilder(top: top, context: context, registry: registry).build()
        pipeline?.digest = Manifest.sha256(Array(yaml.utf8))
        return Outcome(pipeline: diagnostics.hasErrors ? nil : pipeline, diagnostics: diagnostics.sorted, omitted: diagnostics.omitted,
                       keysRead: context.keysRead)
    }

    private static func failure(_ file: String, _ line: Int, _ column: Int, _ message: String) -> Outcome {
        Outcome(pipeline: nil, diagnostics: [Diagnostic(severity: .error, location: SourceLocation(file: file, line: line, column: column), message: message)])
    }

    private static func yamlFailure(_ error: YamlError, file: String) -> Outcome {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let extra = context.map { " \($0.text)" } ?? ""
            return failure(file, mark.line, mark.column, "invalid YAML: \(problem)\(extra)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return failure(file, context.mark.line, context.mark.column,
                           "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping")
        case .reader(let problem, _, _, _):
            return failure(file, 1, 1, "invalid YAML: \(problem)")
        default:
            return failure(file, 1, 1, "invalid YAML: \(error)")
        }
    }
}
