// Typed, located access to a pipeline file's YAML. Every stage kind reads its settings through
// these, so wrong types, unknown keys (with the nearest valid key suggested) and unset
// environment variables are reported the same way everywhere, with FILE:LINE:COL.
import Yams

/// What every node of one pipeline file shares.
public final class ConfigContext: @unchecked Sendable {
    public let file: String
    public let environment: [String: String]
    public let diagnostics: Diagnostics

    public init(file: String, environment: [String: String], diagnostics: Diagnostics) {
        self.file = file
        self.environment = environment
        self.diagnostics = diagnostics
    }

    /// Per mapping (by path), the keys its readers asked for: the tests check them against the
    /// keys each kind declares.
    public private(set) var keysRead: [String: Set<String>] = [:]

    func noteRead(_ key: String, in path: String) { keysRead[path, default: []].insert(key) }

    func location(of node: Node?) -> SourceLocation {
        SourceLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }
}

/// One YAML node with where it came from (`load.lines_csv.csv.path`) for messages.
public struct ConfigValue {
    public let node: Node
    public let path: String
    public let context: ConfigContext

    public var location: SourceLocation { context.location(of: node) }

    func error(_ message: String) { context.diagnostics.error(message, at: location) }

    /// Whether the value came through `${VAR}`, so its text is not to be shown.
    var isPlaceholder: Bool {
        if case .scalar(let scalar) = node { return scalar.string.contains("${") }
        return false
    }

    /// The environment variable a `${VAR}` or `${VAR:-default}` value names first.
    var environmentVariable: String? {
        guard case .scalar(let scalar) = node, let open = scalar.string.range(of: "${") else { return nil }
        let name = scalar.string[open.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return name.isEmpty ? nil : String(name)
    }

    /// How a value is echoed in a message: quoted, or as the file wrote it when it came from
    /// `${VAR}`, so that an environment variable's value (a token, a password) is never printed.
    public func shown(_ text: String) -> String {
        if isPlaceholder, case .scalar(let scalar) = node { return "'\(scalar.string)'" }
        return "'\(text.count > 80 ? String(text.prefix(77)) + "..." : text)'"
    }

    private var kindName: String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// A scalar as text, with `${VAR}` expanded.
    public func string() -> String? {
        guard case .scalar(let scalar) = node else {
            error("'\(path)' must be a string, found \(kindName)")
            return nil
        }
        if scalar.style == .plain, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" {
            error("'\(path)' must be a string, found null")
            return nil
        }
        switch Interpolation.expand(scalar.string, environment: context.environment) {
        case .success(let text):
            return text
        case .failure(.unset(let name)):
            error("environment variable \(name) is not set (used in '\(path)'; set it or write ${\(name):-default})")
            return nil
        case .failure(.malformed(let message)):
            error("'\(path)': \(message)")
            return nil
        }
    }

    public func integer(in range: ClosedRange<Int>? = nil) -> Int? {
        guard let text = string() else { return nil }
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
            error("'\(path)' must be an integer, found \(shown(text))")
            return nil
        }
        if let range, !range.contains(n) {
            error("'\(path)' must be between \(range.lowerBound) and \(range.upperBound), found \(isPlaceholder ? shown(text) : String(n))")
            return nil
        }
        return n
    }

    public func bool() -> Bool? {
        guard let text = string() else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error("'\(path)' must be true or false, found \(shown(text))")
            return nil
        }
    }

    public func map() -> ConfigMap? {
        guard case .mapping(let mapping) = node else {
            error("'\(path)' must be a mapping, found \(kindName)")
            return nil
        }
        return ConfigMap(mapping: mapping, node: node, path: path, context: context)
    }

    public func list() -> [ConfigValue]? {
        guard case .sequence(let sequence) = node else {
            error("'\(path)' must be a list, found \(kindName)")
            return nil
        }
        return sequence.enumerated().map { ConfigValue(node: $1, path: "\(path)[\($0)]", context: context) }
    }

    /// A list of strings; a single string is taken as a list of one.
    public func strings() -> [String]? {
        if case .scalar = node { return string().map { [$0] } }
        guard let items = list() else { return nil }
        let values = items.compactMap { $0.string() }
        return values.count == items.count ? values : nil
    }
}

/// A YAML mapping whose keys are read by name. Keys nobody asked for are reported by `finish()`.
public final class ConfigMap {
    public let mapping: Node.Mapping
    public let node: Node
    public let path: String
    public let context: ConfigContext
    private var known: [String] = []
    private var knownSet: Set<String> = []

    init(mapping: Node.Mapping, node: Node, path: String, context: ConfigContext) {
        self.mapping = mapping
        self.node = node
        self.path = path
        self.context = context
    }

    public var location: SourceLocation { context.location(of: node) }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// All entries in file order (for maps keyed by user names, such as stage ids). A key that
    /// is not a plain string is reported and skipped.
    public func entries() -> [(key: String, keyLocation: SourceLocation, value: ConfigValue)] {
        mapping.compactMap { key, value in
            guard let name = plainKey(key) else { return nil }
            return (name, context.location(of: key), ConfigValue(node: value, path: childPath(name), context: context))
        }
    }

    /// The key's text; nil, with an error, for a mapping, list or alias used as a key.
    private func plainKey(_ key: Node) -> String? {
        if case .scalar(let scalar) = key { return scalar.string }
        let kind = switch key {
        case .mapping: "mapping"
        case .sequence: "list"
        default: "complex value"
        }
        context.diagnostics.error("keys must be plain strings; '\(path.isEmpty ? "pipeline" : path)' has a \(kind) as a key", at: context.location(of: key))
        return nil
    }

    public var keys: [String] { mapping.compactMap { $0.key.string } }

    /// The raw value of `key`, marking the key as known.
    public func value(_ key: String, required: Bool = false) -> ConfigValue? {
        if knownSet.insert(key).inserted {
            known.append(key)
            context.noteRead(key, in: path)
        }
        guard let node = mapping[key] else {
            if required { context.diagnostics.error("'\(path)' is missing required key '\(key)'", at: location) }
            return nil
        }
        return ConfigValue(node: node, path: childPath(key), context: context)
    }

    public func has(_ key: String) -> Bool { mapping[key] != nil }

    /// `value(key).shown(text)`, or the text quoted when the key is absent.
    public func shown(_ key: String, _ text: String) -> String {
        mapping[key].map { ConfigValue(node: $0, path: childPath(key), context: context).shown(text) } ?? "'\(text)'"
    }

    public func keyLocation(_ key: String) -> SourceLocation {
        for (k, _) in mapping where k.string == key { return context.location(of: k) }
        return location
    }

    public func string(_ key: String, required: Bool = false) -> String? { value(key, required: required)?.string() }

    public func integer(_ key: String, in range: ClosedRange<Int>? = nil, required: Bool = false) -> Int? {
        value(key, required: required)?.integer(in: range)
    }
    public func bool(_ key: String) -> Bool? { value(key)?.bool() }
    public func map(_ key: String, required: Bool = false) -> ConfigMap? { value(key, required: required)?.map() }
    public func strings(_ key: String, required: Bool = false) -> [String]? { value(key, required: required)?.strings() }

    /// Reports every key that no reader asked for, suggesting the nearest known one.
    public func finish() {
        for (key, _) in mapping {
            guard let name = plainKey(key), !knownSet.contains(name) else { continue }
            if context.diagnostics.isFull {
                context.diagnostics.error("unknown key", at: context.location(of: key))
                continue
            }
            let hint = nearest(name, in: known).map { " (did you mean '\($0)'?)" } ?? ""
            let valid = known.isEmpty ? "" : "; valid keys: \(known.joined(separator: ", "))"
            context.diagnostics.error("unknown key '\(name)' in '\(path.isEmpty ? "pipeline" : path)'\(hint)\(hint.isEmpty ? valid : "")",
                                      at: context.location(of: key))
        }
    }
}
