// Incremental extracts, shared by the connectors that support them: the settings, where a run
// starts (the bookmark less the lookback), the newest value seen, and the filter on the records.
import Foundation

/// `incremental: { field: DateModified, lookback: PT10S, start: 2024-01-01 }`: each run asks only
/// for records whose `field` is later than the bookmark the last successful run saved, less
/// `lookback`; the first run starts at `start` (or exports everything).
public struct Incremental: Sendable {
    /// The record's date field that moves when it changes.
    public var field: String
    /// How far before the bookmark to look again (records changed while the last run read).
    public var lookbackSeconds: Int64
    /// Where the first run starts.
    public var start: CalendarDate?

    enum Keys {
        static func field(_ fields: [String]) -> Setting<String> {
            Key.choice("field", fields, required: true, doc: "the record date the bookmark follows")
        }
        static let lookback = Key.custom("lookback", .string, doc: "an ISO 8601 duration of days, hours, minutes or seconds (at most a century) the next run looks back past the bookmark, for records changed while the last run read",
                                         example: "PT1H") { (v: ConfigValue) -> Int64? in
            guard let text = v.string() else { return nil }
            if let seconds = Incremental.seconds(text) { return seconds }
            if Incremental.seconds(text, limit: .max) != nil || text.utf8.count > 40 {
                v.error("'\(v.path)' must be at most a century, found \(v.shown(text))")
            } else {
                v.error("'\(v.path)' must be an ISO 8601 duration of days, hours, minutes or seconds such as PT10S or P1DT2H, found \(v.shown(text))")
            }
            return nil
        }.defaulting(10, shown: "`PT10S`")
        static let start = Key.custom("start", .string, doc: "the date (YYYY-MM-DD) the first run starts from; without it the first run exports everything",
                                      example: "2024-01-01") { (v: ConfigValue) -> CalendarDate? in
            guard let text = v.string() else { return nil }
            if case .date(let d)? = DateParser.parse(text) { return d }
            v.error("'\(v.path)' must be a date as YYYY-MM-DD, found \(v.shown(text))")
            return nil
        }
    }

    /// The `incremental:` key of an extract whose records carry `fields` as dates.
    static func key(fields: [String]) -> Setting<Incremental> {
        Key.mapping("incremental", [Keys.field(fields).spec, Keys.lookback.spec, Keys.start.spec],
                    doc: "export only records changed since the last successful run (a bookmark kept in the pipeline's state)",
                    example: "{ field: \(fields[0]), lookback: PT1H }") { map in
            let field = map.read(Keys.field(fields))
            let lookback = map.read(Keys.lookback)
            let start = map.read(Keys.start)
            return field.map { Incremental(field: $0, lookbackSeconds: lookback, start: start) }
        }
    }

    /// The longest lookback: a century.
    static let maxLookbackSeconds: Int64 = 100 * 366 * 86_400

    /// `PT10S`, `P1DT2H`, `PT0S` as seconds; nil for anything else (years and months have no
    /// fixed length) and for durations over a century, so no arithmetic on it can overflow.
    static func seconds(_ text: String, limit: Int64 = maxLookbackSeconds) -> Int64? {
        guard text.hasPrefix("P"), text.count > 1, text.count <= 40 else { return nil }
        var total: Int64 = 0, number = "", inTime = false, any = false
        for ch in text.dropFirst() {
            if ch.isASCII, ch.isNumber { number.append(ch); continue }
            if ch == "T", !inTime, number.isEmpty { inTime = true; continue }
            guard let n = Int64(number), n <= 1_000_000_000_000 else { return limit == .max && !number.isEmpty ? .max : nil }
            number = ""
            any = true
            let unit: Int64
            switch (ch, inTime) {
            case ("W", false): unit = 604_800
            case ("D", false): unit = 86_400
            case ("H", true): unit = 3_600
            case ("M", true): unit = 60
            case ("S", true): unit = 1
            default: return nil
            }
            total += n * unit   // at most 10^12 x 604,800, well inside Int64
            if total > limit { return nil }
        }
        return any && number.isEmpty ? total : nil
    }
}

/// Where an incremental extract starts this run: after the bookmark less the lookback (exact,
/// applied to the records), the day to ask the API for, and the newest value seen so far.
struct IncrementalCut {
    /// Records must be later than this; nil on a first run.
    let after: Timestamp?
    /// YYYY-MM-DD for the API's day-level filter; nil to ask for everything.
    let serverSince: String?
    let tracker: HighWaterMark

    init(_ incremental: Incremental, bookmark: Timestamp?) {
        if let bookmark {
            let from = Timestamp(epochSeconds: bookmark.epochSeconds - incremental.lookbackSeconds)
            after = from
            serverSince = String(from.description.prefix(10))
        } else {
            after = nil
            serverSince = incremental.start?.description
        }
        tracker = HighWaterMark(field: incremental.field)
    }
}

/// The newest value of an incremental field among the records of one run.
final class HighWaterMark: @unchecked Sendable {
    // Only touched by the extract's own task, in page order.
    let field: String
    var value: Timestamp?
    init(field: String) { self.field = field }

    func see(_ record: Record) {
        if let t = Self.instant(record[field]), value.map({ t > $0 }) ?? true { value = t }
    }

    /// A date-time field, typed (XML) or as ISO 8601 text (JSON APIs).
    static func instant(_ value: Value?) -> Timestamp? {
        switch value {
        case .dateTime(let t)?: return t
        case .string(let s)?: if case .dateTime(let t)? = DateParser.parse(s) { return t } else { return nil }
        default: return nil
        }
    }
}

/// Passes records on, dropping those not after the incremental cut and noting the newest field value.
struct IncrementalEmitter {
    let output: RecordEmitter
    let field: String?
    let after: Timestamp?
    let tracker: HighWaterMark?
    var exported: ExportedOrders? = nil

    func emit(_ record: Record) async throws {
        if let field, let after {
            guard let t = HighWaterMark.instant(record[field]), t > after else { return }
        }
        tracker?.see(record)
        if let exported, case .integer(let id)? = record["OrderID"] { exported.add(id) }
        try await output.emit(record)
    }

    func countPage() throws { try output.countPage() }

    func pageDone(_ position: @autoclosure () -> Value) async throws { try await output.pageDone(position()) }

    func restart() async throws {
        tracker?.value = nil
        exported?.ids = []
        try await output.restart()
    }

    /// A checkpoint position: the connector's own fields plus the high-water mark and the orders to acknowledge.
    func position(_ fields: Record) -> Value {
        var r = fields
        if let t = tracker?.value { r["high_water"] = .string(t.description) }
        if let exported { r["acknowledge"] = .array(exported.ids.map { .integer($0) }) }
        return .object(r)
    }

    /// Takes the high-water mark and the orders to acknowledge from an interrupted run's position.
    func restore(_ position: Value?) {
        guard let position else { return }
        if let text = position["high_water"]?.string, case .dateTime(let t)? = DateParser.parse(text) { tracker?.value = t }
        if case .array(let ids)? = position["acknowledge"] {
            exported?.ids = ids.compactMap { if case .integer(let n) = $0 { n } else { nil } }
        }
    }
}
