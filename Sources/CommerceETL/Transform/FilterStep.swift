// `filter`: keeps the records for which every condition holds.
//
//   - filter:
//       where:
//         OrderStatus: { in: [Despatched, Completed] }
//         OrderTotal: { gte: 100 }
//         CouponCode: { not_null: true }
//       any:                       # and at least one of these groups
//         - { Currency: GBP }
//         - { ExchangeRate: { gt: 1 } }
//
// A condition is a value (equality) or a map of operators: eq, ne, in, not_in, gt, gte, lt, lte,
// null, not_null, contains. Numbers compare as exact decimals, dates as instants, the rest as text.
import Foundation

public struct FilterStep: StepKind {
    public enum Operator: String, Sendable, CaseIterable {
        case eq, ne, `in`, not_in, gt, gte, lt, lte, null, not_null, contains
    }

    public struct Condition: Sendable {
        var path: FieldPath
        var op: Operator
        var operands: [String]
    }

    /// All must hold.
    public var all: [Condition]
    /// When present, at least one group must hold entirely.
    public var any: [[Condition]]

    public static let name = "filter"
    /// A condition: a bare value (eq), or a mapping of operators.
    static let condition = OptionSpec.ValueType.mapOf(.any)
    enum Keys {
        static let all = OptionSpec("where", condition, doc: "conditions that must all hold, keyed by dotted path: a bare value means `eq`; otherwise `eq`, `ne`, `in`, `not_in`, `gt`, `gte`, `lt`, `lte`, `null`, `not_null`, `contains`",
                                    example: "{ OrderStatus: { in: [Despatched, Completed] }, OrderTotal: { gte: 100 } }")
        static let any = OptionSpec("any", .list(condition), doc: "alternatives: one of these groups of conditions must hold entirely", example: "[{ PaymentType: PayPal }, { DateCreated: { lt: \"2024-01-01\" } }]")
    }
    public static let value = OptionSpec(name, .options([Keys.all, Keys.any]), doc: "keeps the records for which the conditions hold (`where` and, if given, one group of `any`)",
                                         example: "{ where: { Currency: GBP } }")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let config = value.map() else { return nil }
        var ok = true
        let all = config.value(Keys.all)?.map().map { conditions($0, &ok) } ?? []
        var any: [[Condition]] = []
        if let groups = config.value(Keys.any)?.list() {
            for group in groups {
                if let map = group.map() { any.append(conditions(map, &ok)) } else { ok = false }
            }
        }
        if !config.has(Keys.all.name), !config.has(Keys.any.name) {
            value.error("'\(value.path)' needs 'where' (conditions that must all hold) or 'any' (alternatives)")
            ok = false
        }
        config.finish()
        return ok ? FilterStep(all: all, any: any) : nil
    }

    private static func conditions(_ map: ConfigMap, _ ok: inout Bool) -> [Condition] {
        var out: [Condition] = []
        for entry in map.entries() {
            guard let path = FieldPath(entry.key) else {
                map.context.diagnostics.error("'\(entry.key)' is not a valid field path", at: entry.keyLocation)
                ok = false
                continue
            }
            switch entry.value.node {
            case .mapping:
                guard let ops = entry.value.map() else { ok = false; continue }
                for opEntry in ops.entries() {
                    guard let op = Operator(rawValue: opEntry.key) else {
                        let names = Operator.allCases.map(\.rawValue)
                        let hint = nearest(opEntry.key, in: names).map { " (did you mean '\($0)'?)" } ?? ""
                        map.context.diagnostics.error("unknown condition '\(opEntry.key)'\(hint); conditions are \(names.joined(separator: ", "))", at: opEntry.keyLocation)
                        ok = false
                        continue
                    }
                    let operands: [String]?
                    switch op {
                    case .in, .not_in:
                        guard case .sequence = opEntry.value.node else {
                            opEntry.value.error("'\(opEntry.value.path)' must be a list of values")
                            ok = false
                            continue
                        }
                        operands = opEntry.value.strings()
                    case .null, .not_null:
                        operands = opEntry.value.bool().map { [$0 ? "true" : "false"] }
                    default:
                        operands = opEntry.value.string().map { [$0] }
                    }
                    guard let operands else { ok = false; continue }
                    out.append(Condition(path: path, op: op, operands: operands))
                }
            case .sequence:
                entry.value.error("'\(entry.value.path)' must be a value or a map of conditions (for a list of values use { in: [...] })")
                ok = false
            default:
                guard let text = entry.value.string() else { ok = false; continue }
                out.append(Condition(path: path, op: .eq, operands: [text]))
            }
        }
        return out
    }

    public func apply(_ records: [Record]) throws -> [Record] {
        records.filter { record in
            all.allSatisfy { Self.holds($0, record) } && (any.isEmpty || any.contains { $0.allSatisfy { Self.holds($0, record) } })
        }
    }

    static func holds(_ c: Condition, _ record: Record) -> Bool {
        let value = record.value(at: c.path) ?? .null
        switch c.op {
        case .null: return value.isNull == (c.operands[0] == "true")
        case .not_null: return !value.isNull == (c.operands[0] == "true")
        case .eq: return compare(value, c.operands[0]) == 0
        case .ne: return compare(value, c.operands[0]) != 0
        case .in: return c.operands.contains { compare(value, $0) == 0 }
        case .not_in: return !c.operands.contains { compare(value, $0) == 0 }
        case .gt: return compare(value, c.operands[0]).map { $0 > 0 } ?? false
        case .gte: return compare(value, c.operands[0]).map { $0 >= 0 } ?? false
        case .lt: return compare(value, c.operands[0]).map { $0 < 0 } ?? false
        case .lte: return compare(value, c.operands[0]).map { $0 <= 0 } ?? false
        case .contains:
            switch value {
            case .array(let items): return items.contains { compare($0, c.operands[0]) == 0 }
            case .null: return false
            default: return value.flatText?.contains(c.operands[0]) ?? false
            }
        }
    }

    /// -1, 0, 1; nil when the value cannot be ordered against the operand (null, or a number
    /// against text that is not a number).
    static func compare(_ value: Value, _ operand: String) -> Int? {
        func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
        switch value {
        case .null: return nil
        case .integer(let n):
            return ExactDecimal(parsing: operand).map { order(Decimal(n), $0.value) }
        case .decimal(let d):
            return ExactDecimal(parsing: operand).map { order(d.value, $0.value) }
        case .bool(let b):
            switch operand.lowercased() {
            case "true", "1": return b ? 0 : -1
            case "false", "0": return b ? 1 : 0
            default: return nil
            }
        case .dateTime(let t):
            switch DateParser.parse(operand) {
            case .dateTime(let o)?: return order(t.epochSeconds, o.epochSeconds)
            case .date(let d)?: return order(t.epochSeconds, d.daysSinceEpoch * 86_400)
            default: return nil
            }
        case .date(let d):
            switch DateParser.parse(operand) {
            case .date(let o)?: return order(d, o)
            case .dateTime(let o)?: return order(d.daysSinceEpoch * 86_400, o.epochSeconds)
            default: return nil
            }
        case .string(let s): return order(s, operand)
        case .array, .object: return value.flatText.map { order($0, operand) }
        }
    }
}
