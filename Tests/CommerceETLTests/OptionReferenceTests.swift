// The option declarations are the one source of the pipeline format: parsing reads exactly the
// keys they declare, the schema in the repository and the README's option reference are their
// output, and an independent validator agrees with the schema.
import Foundation
import Testing
@testable import CommerceETL

@Suite struct OptionReferenceTests {
    static let schemaHeader = "# yaml-language-server: $schema=../schema/pipeline.schema.json"
    static let docsBegin = "<!-- BEGIN option reference: the output of `commerce-etl docs` -->"
    static let docsEnd = "<!-- END option reference -->"

    @Test func theSchemaInTheRepositoryIsUpToDate() throws {
        let kept = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent(PipelineSchema.repositoryPath), encoding: .utf8)
        #expect(kept == PipelineSchema.text(), "schema/pipeline.schema.json is out of date: run 'swift run commerce-etl schema > schema/pipeline.schema.json'")
    }

    @Test func everyShippedPipelinePointsItsEditorAtTheSchema() throws {
        let dir = Fixtures.packageRoot.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yml") }.sorted()
        #expect(files.count >= 6)
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            #expect(text.split(separator: "\n").first.map(String.init) == Self.schemaHeader, "\(file) does not start with the schema line")
        }
    }

    @Test func theReadmeOptionReferenceIsTheDocsOutput() throws {
        let readme = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = try #require(readme.range(of: Self.docsBegin + "\n"))
        let end = try #require(readme.range(of: Self.docsEnd))
        let kept = String(readme[begin.upperBound..<end.lowerBound])
        #expect(kept == OptionReference.markdown(), "the README's option reference differs from 'commerce-etl docs': paste its output between the markers")
    }

    @Test func theCommandsPrintTheSchemaAndTheReference() throws {
        let schema = try runCLI(["schema"], in: Fixtures.packageRoot)
        #expect(schema.status == 0)
        #expect(schema.stdout == PipelineSchema.text())
        let parsed = try JSONReader.parse(Array(schema.stdout.utf8))
        #expect(parsed["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        let docs = try runCLI(["docs"], in: Fixtures.packageRoot)
        #expect(docs.status == 0)
        #expect(docs.stdout == OptionReference.markdown())
    }

    /// Every folder of the sources, tests and data is named in the README's "Project layout", and
    /// every folder named there exists.
    @Test func theProjectLayoutMatchesTheTree() throws {
        let readme = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Project layout").last?.components(separatedBy: "```").dropFirst().first)
        // Folders the block names, as paths: nesting is by indentation (two spaces a level).
        var named: Set<String> = [], stack: [(indent: Int, name: String)] = []
        for line in section.split(separator: "\n") {
            let indent = line.prefix { $0 == " " }.count
            guard let word = line.dropFirst(indent).split(separator: " ").first, word.hasSuffix("/"), indent < 20 else { continue }
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            let path = (stack.map(\.name) + [String(word.dropLast())]).joined(separator: "/")
            named.insert(path)
            stack.append((indent, path.components(separatedBy: "/").last!))
        }
        let fm = FileManager.default
        func folders(_ dir: String, depth: Int) -> [String] {
            guard depth > 0, let items = try? fm.contentsOfDirectory(atPath: Fixtures.packageRoot.appendingPathComponent(dir).path) else { return [] }
            return items.sorted().flatMap { item -> [String] in
                var isDir: ObjCBool = false
                let path = dir.isEmpty ? item : "\(dir)/\(item)"
                guard !item.hasPrefix("."), fm.fileExists(atPath: Fixtures.packageRoot.appendingPathComponent(path).path, isDirectory: &isDir), isDir.boolValue else { return [] }
                return [path] + folders(path, depth: depth - 1)
            }
        }
        let tree = Set(folders("Sources/CommerceETL", depth: 2) + folders("Tests", depth: 1) + folders("samples", depth: 1)
                       + ["Sources/DemoStore", "Sources/commerce-etl", "pipelines", "schema", "scripts"])
        for folder in tree.sorted() where !["Sources/CSQLite", "Sources/CZlib"].contains(folder) && !folder.hasPrefix("Tests/CommerceETLTests/") {
            #expect(named.contains(folder), "the README's Project layout does not name \(folder)/")
        }
        for folder in named.sorted() {
            #expect(fm.fileExists(atPath: Fixtures.packageRoot.appendingPathComponent(folder).path), "the README's Project layout names \(folder)/, which does not exist")
        }
    }

    static let validatorPresent: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import yaml; from jsonschema import Draft202012Validator"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { return false }
        probe.waitUntilExit()
        if probe.terminationStatus != 0 {
            print("skipped: the independent schema check needs python3 with jsonschema (draft 2020-12) and PyYAML; .ci/run installs them")
        }
        return probe.terminationStatus == 0
    }()

    @Test(.enabled(if: validatorPresent, "needs python3 with jsonschema and PyYAML (.ci/run installs them)"))
    func anIndependentValidatorAcceptsShippedPipelinesAndReadmeExamples() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scripts/check-schema.py", "."]
        process.currentDirectoryURL = Fixtures.packageRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.hasPrefix("ok: "))
    }

    /// For every declared key of every kind: a pipeline with the kind's required keys and that
    /// key (its example, or a value of its type) is valid, and nothing reads a key it does not declare.
    @Test func parsingReadsExactlyTheDeclaredKeys() throws {
        let registry = StageRegistry.standard
        var checked = 0
        for c in registry.connections {
            for option in [nil] + c.options.filter({ !$0.required }) {
                let connection = ["type": c.name] + Self.values(c.options, with: option)
                for extractOption in [nil] + (option == nil ? c.extractOptions.filter({ !$0.required }) : []) {
                    let extract = ["connection": "c"] + Self.values(c.extractOptions, with: extractOption)
                    let yaml = Self.pipeline(connection: connection, extract: extract, transform: nil, load: "csv: { path: \"out/x-{run_id}.csv\" }")
                    try Self.expectValid(yaml, declared: [
                        "connections.c": Set(["type"] + c.options.map(\.name)),
                        "extract.e": Set((PipelineKeys.extractOptions + c.extractOptions).map(\.name)),
                    ])
                    checked += 1
                }
            }
        }
        let files = ["type": "files", "dialect": "aurora-xml", "paths": "[x.xml]"]
        let orders = ["connection": "c", "resource": "orders"]
        for step in registry.steps {
            let variants: [String] = {
                guard case .options(let options) = step.value.type else { return [step.value.example ?? "{}"] }
                // Each key alone with the required ones (a step such as `filter` needs one of its keys).
                return options.filter { !$0.required }.map { one in Self.flow(Self.values(options, with: one)) } + [step.value.example ?? "{}"]
            }()
            for value in variants {
                let yaml = Self.pipeline(connection: files, extract: orders, transform: "{ input: e, steps: [ { \(step.name): \(value) } ] }", load: "csv: { path: out/x.csv }")
                var declared: [String: Set<String>] = [:]
                if case .options(let options) = step.value.type { declared["transform.t.steps[0].\(step.name)"] = Set(options.map(\.name)) }
                try Self.expectValid(yaml, declared: declared)
                checked += 1
            }
        }
        for load in registry.loads {
            guard case .options(let options) = load.value.type else { continue }
            for one in [nil] + options.filter({ !$0.required }) {
                let value = Self.flow(Self.values(options, with: one))
                let yaml = Self.pipeline(connection: files, extract: orders, transform: nil, load: "\(load.name): \(value)")
                try Self.expectValid(yaml, declared: ["load.l.\(load.name)": Set(options.map(\.name))])
                checked += 1
            }
        }
        #expect(checked > 80)
    }

    /// The required keys and `extra`, each with its example or a valid value of its type.
    static func values(_ options: [OptionSpec], with extra: OptionSpec?) -> [String: String] {
        var out: [String: String] = [:]
        for option in options where option.required || option.name == extra?.name { out[option.name] = value(option) }
        return out
    }

    static func value(_ option: OptionSpec) -> String {
        if let example = option.example { return example }
        switch option.type {
        case .integer(let range): return String(range.lowerBound == Int.min ? 1 : range.lowerBound)
        case .number(_, let maximum): return maximum
        case .boolean: return "true"
        case .choice(let choices): return choices[0]
        case .strings: return "[a]"
        case .stringMap: return "{ a: b }"
        case .options(let inner): return flow(values(inner, with: nil))
        default: return "x"
        }
    }

    static func flow(_ map: [String: String]) -> String {
        "{ " + map.sorted { $0.key < $1.key }.map { "\($0.key): \(flowScalar($0.value))" }.joined(separator: ", ") + " }"
    }

    /// A value as it can stand in a flow mapping: collections and quoted text as they are, other
    /// text quoted when it holds a flow indicator (`${VAR}`, `gte:2024`).
    static func flowScalar(_ text: String) -> String {
        if text.hasPrefix("{") || text.hasPrefix("[") || text.hasPrefix("\"") { return text }
        guard text.contains(where: { "{}[],:#".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func pipeline(connection: [String: String], extract: [String: String], transform: String?, load: String) -> String {
        """
        version: 1
        name: keys
        connections: { c: \(flow(connection)) }
        extract: { e: \(flow(extract)) }
        \(transform.map { "transform: { t: \($0) }" } ?? "")
        load: { l: { input: \(transform == nil ? "e" : "t"), \(load) } }
        """
    }

    static func expectValid(_ yaml: String, declared: [String: Set<String>]) throws {
        // Examples name environment variables (`${AURORA_TOKEN}`): set each one.
        let names = yaml.matches(of: /\$\{([A-Z_]+)/).map { String($0.output.1) }
        let environment = Dictionary(names.map { ($0, "demo") }, uniquingKeysWith: { a, _ in a })
        let outcome = PipelineLoader.load(yaml: yaml, file: "keys.yml", environment: environment)
        let errors = outcome.diagnostics.filter { $0.severity == .error }.map(\.description)
        #expect(errors.isEmpty, "\(yaml)\n\(errors.joined(separator: "\n"))")
        for (path, names) in declared {
            let read = outcome.keysRead[path] ?? []
            #expect(read.isSubset(of: names), "\(path) reads undeclared keys \(read.subtracting(names).sorted())")
        }
    }
}

private func + (a: [String: String], b: [String: String]) -> [String: String] { a.merging(b) { _, new in new } }
