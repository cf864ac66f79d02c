// Exchange rates for `convert_currency`: a table against one base currency, and exact cross rates.
import Foundation
import Yams

/// Exchange rates against one base currency: `rates[X]` units of X buy one unit of `base`.
public struct RateTable: Sendable, Equatable {
    public var base: String
    public var rates: [String: Decimal]

    /// The rate that turns an amount in `from` into `to`, through the base: kept as the fraction
    /// to-rate / from-rate, so the arithmetic is exact.
    public func rate(from: String, to: String) -> ExactRate? {
        guard let f = from == base ? 1 : rates[from], let t = to == base ? 1 : rates[to], !f.isZero else { return nil }
        return ExactRate(numerator: t, denominator: f)
    }

    enum Keys {
        static let base = Key.string("base", required: true, doc: "the currency the rates are per one unit of", example: "EUR")
        static let rates = OptionSpec("rates", .mapOf(.string), required: true, doc: "units of each currency per one `base`", example: "{ GBP: 0.8478, USD: 1.0705 }")
    }

    static func parse(_ map: ConfigMap) -> RateTable? {
        let base = map.read(Keys.base)?.uppercased()
        var rates: [String: Decimal] = [:]
        if let list = map.value(Keys.rates.name, required: true)?.map() {
            for entry in list.entries() {
                guard let text = entry.value.string() else { continue }
                guard let d = ExactDecimal(parsing: text), d.value > 0 else {
                    entry.value.error("'\(entry.value.path)' must be a positive decimal rate, found \(entry.value.shown(text))")
                    continue
                }
                rates[entry.key.uppercased()] = d.value
            }
        }
        map.finish()
        return base.map { RateTable(base: $0, rates: rates) }
    }

    /// Reads a YAML or JSON file `{base: EUR, rates: {GBP: 0.8478, ...}}`.
    static func load(_ path: String, shown: String) throws -> RateTable {
        let text: String
        do {
            let reader = try FileReader(path: path, limit: 16 << 20)
            var bytes: [UInt8] = []
            while let chunk = try reader.read(1 << 16) { bytes += chunk }
            text = String(decoding: bytes, as: UTF8.self)
        } catch {
            throw ETLError("\(shown): cannot read the rate table: \(error)")
        }
        let diagnostics = Diagnostics()
        let context = ConfigContext(file: shown, environment: [:], diagnostics: diagnostics)
        let node: Node?
        do { node = try Yams.compose(yaml: text, .basic) } catch { throw ETLError("\(shown): not a YAML or JSON rate table: \(String(describing: error).split(separator: "\n").first ?? "")") }
        guard let node, let map = ConfigValue(node: node, path: "", context: context).map(), let table = RateTable.parse(map), !diagnostics.hasErrors else {
            throw ETLError(diagnostics.errors.first?.description ?? "\(shown): a rate table needs 'base' and 'rates'")
        }
        return table
    }
}

/// An exchange rate as an exact fraction (a cross rate is to-rate / from-rate).
public struct ExactRate: Sendable, Equatable {
    public var numerator: Decimal
    public var denominator: Decimal

    public init(numerator: Decimal, denominator: Decimal) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public init(_ rate: Decimal) { self.init(numerator: rate, denominator: 1) }

    /// The rate written to records (`conversion.rate`): the fraction to 38 digits, for display only.
    public var shown: Decimal { denominator == 1 ? numerator : numerator / denominator }
}
