// Options are declared once: name, type (with its range or choices), default, one line of
// documentation and an example. Parsing reads through the declaration (`ConfigMap.read`), and
// `commerce-etl schema` and `commerce-etl docs` are generated from the same declarations, so
// what the tool accepts, what editors check and what the README says cannot drift apart.

/// What one key of a pipeline file holds, for the schema and the docs.
public struct OptionSpec: Sendable {
    public indirect enum ValueType: Sendable {
        /// Any scalar, read as text.
        case string
        case integer(ClosedRange<Int>)
        /// A decimal number between two bounds (written as decimal text).
        case number(minimum: String, maximum: String)
        case boolean
        case choice([String])
        /// A string, or a list of strings.
        case strings
        /// A mapping of names to strings, in the order written.
        case stringMap
        /// A mapping with keys of its own.
        case options([OptionSpec])
        case list(ValueType)
        /// Either of two shapes (a list of names, or a map of header to path).
        case either(ValueType, ValueType)
        /// A mapping whose keys are names the user chooses, each holding the same shape.
        case mapOf(ValueType)
        /// Anything: passed on as it is.
        case any
    }

    public var name: String
    public var type: ValueType
    public var required: Bool
    /// The default as the docs show it; `defaultValue` is also the schema's default.
    public var defaultText: String?
    public var defaultValue: Value?
    /// One line: what it means.
    public var doc: String
    /// A value as YAML (flow style), for the docs.
    public var example: String?

    public init(_ name: String, _ type: ValueType, required: Bool = false, default defaultText: String? = nil,
                defaultValue: Value? = nil, doc: String, example: String? = nil) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultText = defaultText
        self.defaultValue = defaultValue
        self.doc = doc
        self.example = example
    }
}

/// An option of type `T`: its spec and how a value of the file becomes a `T`.
public struct Setting<T: Sendable>: Sendable {
    public var spec: OptionSpec
    let parse: @Sendable (ConfigValue) -> T?

    public init(_ spec: OptionSpec, parse: @escaping @Sendable (ConfigValue) -> T?) {
        self.spec = spec
        self.parse = parse
    }

    /// The same option with a default, used when the key is absent (or its value was refused,
    /// which is reported). A default `shown` in words (one that depends on the machine) is not
    /// put in the schema.
    public func defaulting(_ value: T, shown: String? = nil) -> DefaultedSetting<T> {
        var option = self
        option.spec.defaultText = shown ?? Self.text(value)
        option.spec.defaultValue = shown == nil ? Self.json(value) : nil
        return DefaultedSetting(option: option, value: value)
    }

    private static func text(_ value: T) -> String {
        if let s = value as? String { return s.isEmpty ? "empty" : "`\(s)`" }
        return "\(value)"
    }

    private static func json(_ value: T) -> Value? {
        switch value {
        case let b as Bool: .bool(b)
        case let n as Int: .integer(Int64(n))
        case let s as String: .string(s)
        default: nil
        }
    }
}

/// An option with a default: reading it always gives a value.
public struct DefaultedSetting<T>: Sendable where T: Sendable {
    public var option: Setting<T>
    public var value: T
    public var spec: OptionSpec { option.spec }
}

/// Constructors of options: `static let url = Key.string("url", required: true, doc: "...")`.
public enum Key {
    public static func string(_ name: String, required: Bool = false, default defaultText: String? = nil, doc: String, example: String? = nil) -> Setting<String> {
        Setting<String>(OptionSpec(name, .string, required: required, default: defaultText, doc: doc, example: example)) { $0.string() }
    }

    /// A credential: remembered by `Secrets`, so that no message ever shows it.
    public static func secret(_ name: String, doc: String, example: String? = nil) -> Setting<String> {
        Setting<String>(OptionSpec(name, .string, doc: doc, example: example)) { v in
            let text = v.string()
            if let text { Secrets.register(text) }
            return text
        }
    }

    /// An output path: placeholders allowed, `../` escapes refused.
    public static func outputPath(_ name: String, required: Bool = true, doc: String, example: String? = nil) -> Setting<String> {
        Setting<String>(OptionSpec(name, .string, required: required, doc: doc, example: example)) { v in
            let text = v.string()
            OutputPath.check(v, text)
            return text
        }
    }

    public static func integer(_ name: String, in range: ClosedRange<Int>, required: Bool = false, doc: String, example: String? = nil) -> Setting<Int> {
        Setting<Int>(OptionSpec(name, .integer(range), required: required, doc: doc, example: example)) { $0.integer(in: range) }
    }

    public static func boolean(_ name: String, doc: String, example: String? = nil) -> Setting<Bool> {
        Setting<Bool>(OptionSpec(name, .boolean, doc: doc, example: example)) { $0.bool() }
    }

    public static func choice(_ name: String, _ choices: [String], required: Bool = false, default defaultText: String? = nil, doc: String,
                              example: String? = nil) -> Setting<String> {
        Setting<String>(OptionSpec(name, .choice(choices), required: required, default: defaultText, doc: doc, example: example)) { $0.choice(choices) }
    }

    public static func strings(_ name: String, required: Bool = false, default defaultText: String? = nil, doc: String, example: String? = nil) -> Setting<[String]> {
        Setting<[String]>(OptionSpec(name, .strings, required: required, default: defaultText, doc: doc, example: example)) { $0.strings() }
    }

    /// Lists of column names (a database load's `indexes`); empty lists are left out.
    public static func columnLists(_ name: String, doc: String, example: String? = nil) -> Setting<[[String]]> {
        Setting<[[String]]>(OptionSpec(name, .list(.strings), doc: doc, example: example)) { v in
            v.list()?.compactMap { item in item.strings().flatMap { $0.isEmpty ? nil : $0 } }
        }
    }

    /// A mapping with keys of its own, read by `read`.
    public static func mapping<U>(_ name: String, _ options: [OptionSpec], required: Bool = false, default defaultText: String? = nil,
                                  doc: String, example: String? = nil, read: @escaping @Sendable (ConfigMap) -> U?) -> Setting<U> {
        Setting<U>(OptionSpec(name, .options(options), required: required, default: defaultText, doc: doc, example: example)) { v in
            guard let map = v.map() else { return nil }
            let result = read(map)
            map.finish()
            return result
        }
    }

    /// Any other shape, described by `type`, read by `read`.
    public static func custom<U>(_ name: String, _ type: OptionSpec.ValueType, required: Bool = false, default defaultText: String? = nil,
                                 doc: String, example: String? = nil, read: @escaping @Sendable (ConfigValue) -> U?) -> Setting<U> {
        Setting<U>(OptionSpec(name, type, required: required, default: defaultText, doc: doc, example: example), parse: read)
    }
}

extension ConfigMap {
    /// The option's value; nil when it is absent (reported when it is required) or refused (reported).
    public func read<T>(_ option: Setting<T>) -> T? {
        value(option.spec.name, required: option.spec.required).flatMap(option.parse)
    }

    /// The option's value, or its default.
    public func read<T>(_ option: DefaultedSetting<T>) -> T {
        read(option.option) ?? option.value
    }

    /// The raw value of an option's key (marking it as known).
    public func value(_ spec: OptionSpec) -> ConfigValue? { value(spec.name) }

    /// `value(option).shown(text)`.
    public func shown<T>(_ option: Setting<T>, _ text: String) -> String { shown(option.spec.name, text) }
}

extension ConfigValue {
    /// A string that must be one of `choices`.
    public func choice(_ choices: [String]) -> String? {
        guard let text = string() else { return nil }
        guard choices.contains(text) else {
            let hint = nearest(text, in: choices).map { " (did you mean '\($0)'?)" } ?? ""
            error("'\(path)' must be one of \(choices.joined(separator: ", ")), found \(shown(text))\(hint)")
            return nil
        }
        return text
    }
}
