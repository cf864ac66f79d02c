// Builds a `Pipeline` from a pipeline file's top-level mapping: every section read through the
// keys it declares, each stage through its kind in the registry, then the graph checked as a
// whole. Every problem is reported with its location; nothing here touches files or the network.
import Foundation

struct PipelineBuilder {
    let top: ConfigMap
    let context: ConfigContext
    let registry: StageRegistry
    var diagnostics: Diagnostics { context.diagnostics }

    func build() -> Pipeline? {
        _ = top.read(PipelineKeys.version)
        let name = top.read(PipelineKeys.name) ?? ""
        if let nameValue = top.value(PipelineKeys.name.spec), !name.isEmpty {
            if !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) {
                diagnostics.error("'name' may hold only letters, digits, '-', '_' and '.' (it names state and output files), found \(nameValue.shown(name))", at: nameValue.location)
            } else if name.allSatisfy({ $0 == "." }) {
                diagnostics.error("'name' must not be '.' or '..' (it names a directory of state and output files); use letters or digits", at: nameValue.location)
            } else if name.utf8.count > 100 {
                diagnostics.error("'name' must be at most 100 characters (it names state and output files)", at: nameValue.location)
            }
        }
        let description = top.read(PipelineKeys.description)
        let baseDirectory = top.read(PipelineKeys.baseDirectory)
        let manifest = top.read(PipelineKeys.manifest)
        let checkpointEvery = top.read(PipelineKeys.checkpointEvery)

        var connections: [String: any Connection] = [:]
        var declaredConnections: Set<String> = []
        if let section = top.value(PipelineKeys.connections.name, required: true)?.map() {
            for entry in section.entries() {
                declaredConnections.insert(entry.key)
                guard let config = entry.value.map() else { continue }
                if let connection = parseConnection(config) { connections[entry.key] = connection }
            }
        }

        var stages: [Stage] = []
        var declared: [Declared] = []
        var seen: [String: SourceLocation] = [:]
        func claim(_ id: String, _ location: SourceLocation) -> Bool {
            if let first = seen[id] {
                diagnostics.error("stage id '\(id)' is already used at \(first.line):\(first.column); stage ids are shared by extract, transform and load", at: location)
                return false
            }
            guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                diagnostics.error("stage id '\(id)' may hold only letters, digits, '-' and '_'", at: location)
                return false
            }
            seen[id] = location
            return true
        }

        if let section = top.value(PipelineKeys.extract.name, required: true)?.map() {
            for entry in section.entries() where claim(entry.key, entry.keyLocation) {
                guard let config = entry.value.map() else { continue }
                declared.append(Declared(id: entry.key, role: "extract", location: entry.keyLocation, input: nil, inputLocation: nil))
                if let stage = parseExtract(entry.key, entry.keyLocation, config, connections: connections, declaredConnections: declaredConnections) {
                    stages.append(stage)
                }
            }
        }
        if let section = top.value(PipelineKeys.transform.name)?.map() {
            for entry in section.entries() where claim(entry.key, entry.keyLocation) {
                guard let config = entry.value.map() else { continue }
                declared.append(Declared(id: entry.key, role: "transform", location: entry.keyLocation,
                                         input: config.value("input")?.string(), inputLocation: config.value("input")?.location))
                if let stage = parseTransform(entry.key, entry.keyLocation, config) { stages.append(stage) }
            }
        }
        if let section = top.value(PipelineKeys.load.name, required: true)?.map() {
            if section.keys.isEmpty { diagnostics.error("'load' has no stages; a pipeline needs at least one load", at: section.location) }
            for entry in section.entries() where claim(entry.key, entry.keyLocation) {
                guard let config = entry.value.map() else { continue }
                declared.append(Declared(id: entry.key, role: "load", location: entry.keyLocation,
                                         input: config.has("input") ? config.value("input")?.string() : nil,
                                         inputLocation: config.value("input")?.location))
                if let stage = parseLoad(entry.key, entry.keyLocation, config) { stages.append(stage) }
            }
        }
        top.finish()
        checkGraph(declared)
        checkWhatStagesReceive(stages)
        return Pipeline(file: context.file, name: name, description: description, baseDirectory: baseDirectory, manifest: manifest, stages: stages,
                        checkpointEvery: checkpointEvery)
    }

    func parseConnection(_ config: ConfigMap) -> (any Connection)? {
        let names = registry.connections.map(\.name)
        guard let type = config.value(PipelineKeys.type.name, required: true)?.choice(names),
              let parser = registry.connections.first(where: { $0.name == type })?.parse else {
            // Without a known type the other keys cannot be judged; say nothing more about them.
            return nil
        }
        let connection = parser(config)
        config.finish()
        return connection
    }

    func parseExtract(_ id: String, _ location: SourceLocation, _ config: ConfigMap,
                      connections: [String: any Connection], declaredConnections: Set<String>) -> Stage? {
        let connectionName = config.read(PipelineKeys.connection)
        let batchSize = config.read(PipelineKeys.batchSize)
        let buffer = config.read(PipelineKeys.buffer)
        let maxPages = config.read(PipelineKeys.maxPages)
        // Without a connection the other keys cannot be judged; say nothing more about them.
        guard let connectionName else { return nil }
        guard let connection = connections[connectionName] else {
            // A declared but invalid connection was reported already; its extract settings cannot be judged.
            if !declaredConnections.contains(connectionName) {
                let hint = nearest(connectionName, in: declaredConnections.sorted()).map { " (did you mean '\($0)'?)" } ?? ""
                diagnostics.error("extract '\(id)' uses unknown connection '\(connectionName)'\(hint)", at: config.keyLocation(PipelineKeys.connection.spec.name))
            }
            return nil
        }
        let extractor = connection.extractor(stage: id, config: config)
        config.finish()
        guard let extractor else { return nil }
        return Stage(id: id, location: location, input: nil, inputLocation: nil,
                     role: .extract(connection: connectionName, summary: connection.summary, extractor: extractor, batchSize: batchSize),
                     buffer: buffer, maxPages: maxPages)
    }

    func parseTransform(_ id: String, _ location: SourceLocation, _ config: ConfigMap) -> Stage? {
        let input = config.read(PipelineKeys.input)
        let workers = config.read(PipelineKeys.workers)
        let buffer = config.read(PipelineKeys.buffer)
        var steps: [ConfiguredStep] = []
        var ok = true
        if let list = config.value(PipelineKeys.steps.name, required: true)?.list() {
            let names = registry.steps.map(\.name)
            for item in list {
                guard let stepMap = item.map() else { ok = false; continue }
                let entries = stepMap.entries().filter { $0.key != PipelineKeys.onError.name }
                guard entries.count == 1, let entry = entries.first else {
                    diagnostics.error("each step is a mapping with one step name (one of \(names.joined(separator: ", "))) and optionally on_error; found \(entries.count) step names", at: item.location)
                    ok = false
                    continue
                }
                guard let parser = registry.steps.first(where: { $0.name == entry.key })?.parse else {
                    let hint = nearest(entry.key, in: names).map { " (did you mean '\($0)'?)" } ?? ""
                    diagnostics.error("unknown transform step '\(entry.key)'\(hint); steps are \(names.joined(separator: ", "))", at: entry.keyLocation)
                    ok = false
                    continue
                }
                let policy = parseErrorPolicy(stepMap.value(PipelineKeys.onError.name))
                if let step = parser(entry.value), let policy {
                    steps.append(ConfiguredStep(name: entry.key, step: step, onError: policy, location: entry.keyLocation))
                } else {
                    ok = false
                }
            }
        } else {
            ok = false
        }
        config.finish()
        guard ok, let input else { return nil }
        return Stage(id: id, location: location, input: input, inputLocation: config.value("input")?.location, role: .transform(steps: steps, workers: workers), buffer: buffer)
    }

    /// `on_error: fail | skip | { quarantine: PATH }`.
    func parseErrorPolicy(_ value: ConfigValue?) -> ErrorPolicy? {
        guard let value else { return .fail }
        if case .scalar = value.node {
            switch value.string() {
            case "fail"?: return .fail
            case "skip"?: return .skip
            case let other?:
                value.error("'\(value.path)' must be fail, skip or { quarantine: PATH }, found \(value.shown(other))")
                return nil
            case nil: return nil
            }
        }
        guard let map = value.map() else { return nil }
        let path = map.read(PipelineKeys.quarantine)
        map.finish()
        return path.map { .quarantine($0) }
    }

    func parseLoad(_ id: String, _ location: SourceLocation, _ config: ConfigMap) -> Stage? {
        let input = config.value(PipelineKeys.input.spec.name)?.string()
        if input == nil, !config.has(PipelineKeys.input.spec.name) {
            diagnostics.error("load '\(id)' has no input; add 'input: STAGE' naming an extract or transform stage", at: location)
        }
        let formats = registry.loads.map(\.name)
        let present = formats.filter { config.has($0) }
        var result: (String, any LoadFormat)? = nil
        if present.isEmpty {
            diagnostics.error("load '\(id)' names no format; add one of \(formats.joined(separator: ", "))", at: location)
        } else if present.count > 1 {
            diagnostics.error("load '\(id)' names \(present.count) formats (\(present.joined(separator: ", "))); use one load stage per output", at: location)
        } else if let value = config.value(present[0]), let parser = registry.loads.first(where: { $0.name == present[0] })?.parse,
                  let format = parser(value) {
            result = (present[0], format)
        }
        for name in formats { _ = config.value(name) }
        config.finish()
        guard let input, let result else { return nil }
        return Stage(id: id, location: location, input: input, inputLocation: config.value("input")?.location, role: .load(format: result.0, load: result.1), buffer: PipelineKeys.buffer.value)
    }

    /// Every stage id in the file, valid or not, so references are judged against what was written.
    struct Declared {
        var id: String
        var role: String
        var location: SourceLocation
        var input: String?
        var inputLocation: SourceLocation?
    }

    /// Inputs name stages that exist and produce records; no cycles; every output is read.
    func checkGraph(_ stages: [Declared]) {
        let byID = Dictionary(stages.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let producers = stages.filter { $0.role != "load" }.map(\.id)
        for stage in stages {
            guard let input = stage.input else { continue }
            let inputLocation = stage.inputLocation ?? stage.location
            guard let source = byID[input] else {
                let hint = nearest(input, in: producers).map { " (did you mean '\($0)'?)" } ?? ""
                diagnostics.error("stage '\(stage.id)' reads unknown stage '\(input)'\(hint)", at: inputLocation)
                continue
            }
            if source.role == "load" {
                diagnostics.error("stage '\(stage.id)' reads load '\(input)', but a load produces no records", at: inputLocation)
            }
        }
        // Cycles can only run through transforms, which have exactly one input each.
        var inCycle: Set<String> = []
        for stage in stages where stage.role == "transform" && !inCycle.contains(stage.id) {
            var path = [stage.id]
            var current = stage.input
            while let next = current, let nextStage = byID[next], nextStage.role == "transform" {
                if next == stage.id {
                    inCycle.formUnion(path)
                    diagnostics.error("stages form a cycle: \((path + [next]).joined(separator: " -> "))", at: stage.location)
                    break
                }
                if path.contains(next) { break }
                path.append(next)
                current = nextStage.input
            }
        }
        for stage in stages where stage.role != "load" {
            if !stages.contains(where: { $0.input == stage.id }) {
                diagnostics.warning("nothing reads stage '\(stage.id)'; its records are discarded", at: stage.location)
            }
        }
    }

    /// What each stage receives is known from its extract's resource: a step that cannot apply to
    /// it, or a load an incremental extract would shrink to one run's changes, is reported here.
    func checkWhatStagesReceive(_ stages: [Stage]) {
        let byID = Dictionary(stages.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func root(_ id: String) -> Stage? {
            var current = byID[id]
            var seen: Set<String> = []
            while let stage = current, let input = stage.input, seen.insert(stage.id).inserted { current = byID[input] }
            return current
        }
        var kinds: [String: RecordKind?] = [:]
        func kind(of id: String, depth: Int) -> RecordKind? {
            if let known = kinds[id] { return known }
            guard depth < 1000, let stage = byID[id] else { return nil }
            var result: RecordKind? = nil
            switch stage.role {
            case .extract(_, _, let extractor, _):
                result = extractor.recordKind
            case .transform(let steps, _):
                result = stage.input.flatMap { kind(of: $0, depth: depth + 1) }
                let source = root(id).map { " from extract '\($0.id)'" } ?? ""
                for step in steps {
                    guard let input = result else { break }
                    do {
                        result = try step.step.output(for: input)
                    } catch {
                        diagnostics.error("step \(step.name) in stage '\(id)' cannot apply to what it receives (\(input)\(source)): \(describe(error))",
                                          at: step.location ?? stage.location)
                        result = nil
                    }
                }
            case .load:
                break
            }
            kinds[id] = result
            return result
        }
        for stage in stages { _ = kind(of: stage.id, depth: 0) }
        for stage in stages {
            guard case .load(_, let load) = stage.role, let replaced = load.replacedEachRun, let input = stage.input,
                  let extract = root(input), case .extract(_, _, let extractor, _) = extract.role, extractor.isIncremental else { continue }
            diagnostics.error("load '\(stage.id)' would replace the earlier runs' output with only the records changed since the last run: extract '\(extract.id)' is incremental and \(replaced.reason); \(replaced.instead)", at: stage.location)
        }
    }
}
