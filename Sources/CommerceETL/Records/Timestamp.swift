// Date-time and date values as the API documents give them, normalised to ISO 8601.
// The documents show "2013-01-30T14:53:57+00:00", "2013-01-30 14:53:57" and
// "0000-00-00 00:00:00" (no date); values without an offset are taken as UTC.

public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var epochSeconds: Int64
    /// The offset from UTC the source wrote the value in, kept so the output shows the same wall time.
    public var offsetSeconds: Int32

    public init(epochSeconds: Int64, offsetSeconds: Int32 = 0) {
        self.epochSeconds = epochSeconds
        self.offsetSeconds = offsetSeconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.epochSeconds < rhs.epochSeconds }

    /// Appends `description`'s bytes without building a string.
    public func write<Out: ByteOutput & ~Copyable>(into out: inout Out) {
        let local = epochSeconds + Int64(offsetSeconds)
        let days = floorDiv(local, 86_400)
        let secs = Int(local - days * 86_400)
        let date = CalendarDate(daysSinceEpoch: days)
        let off = abs(Int(offsetSeconds))
        let negative = offsetSeconds < 0
        /// The 15 bytes after the date: T14:53:57+00:00
        func storeTime(_ p: UnsafeMutablePointer<UInt8>) -> Int {
            p[0] = UInt8(ascii: "T")
            store2(p + 1, secs / 3600); p[3] = 58; store2(p + 4, secs / 60 % 60); p[6] = 58; store2(p + 7, secs % 60)
            p[9] = negative ? UInt8(ascii: "-") : UInt8(ascii: "+")
            store2(p + 10, off / 3600); p[12] = 58; store2(p + 13, off / 60 % 60)
            return 15
        }
        if (0...9999).contains(date.year) {
            // The usual case, all 25 bytes at once: 2013-01-30T14:53:57+00:00
            out.append(upTo: 25) { p in
                date.store(p)
                return 10 + storeTime(p + 10)
            }
        } else {
            date.write(into: &out)
            out.append(upTo: 15, storeTime)
        }
    }

    public var description: String {
        let local = epochSeconds + Int64(offsetSeconds)
        let days = floorDiv(local, 86_400)
        let secs = local - days * 86_400
        let date = CalendarDate(daysSinceEpoch: days)
        let sign = offsetSeconds < 0 ? "-" : "+"
        let off = abs(Int(offsetSeconds))
        return "\(date)T\(pad(Int(secs / 3600)))" + ":\(pad(Int(secs / 60 % 60))):\(pad(Int(secs % 60)))"
            + "\(sign)\(pad(off / 3600)):\(pad(off / 60 % 60))"
    }
}

public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    // Month and day in a byte each, so a date fits in the 16 bytes a `Value` case may take.
    private let storedMonth: UInt8
    private let storedDay: UInt8
    public var month: Int { Int(storedMonth) }
    public var day: Int { Int(storedDay) }

    /// Month and day as read (two digits at most); a value beyond a byte is kept as 255 and so
    /// stays invalid.
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        storedMonth = UInt8(clamping: month)
        storedDay = UInt8(clamping: day)
    }

    /// Howard Hinnant's civil-from-days.
    public init(daysSinceEpoch: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), month: Int(m), day: Int(d))
    }

    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Appends `description`'s bytes without building a string.
    public func write<Out: ByteOutput & ~Copyable>(into out: inout Out) {
        if (0...9999).contains(year) {
            out.append(upTo: 10) { p in
                store(p)
                return 10
            }
            return
        }
        out.append(yearText)
        out.append(upTo: 6) { p in
            p[0] = 45; store2(p + 1, month); p[3] = 45; store2(p + 4, day)
            return 6
        }
    }

    /// The 10 bytes of a date whose year is in 0...9999.
    @inline(__always) fileprivate func store(_ p: UnsafeMutablePointer<UInt8>) {
        store2(p, year / 100); store2(p + 2, year % 100)
        p[4] = 45; store2(p + 5, month); p[7] = 45; store2(p + 8, day)
    }

    public var description: String { yearText + "-\(pad(month))-\(pad(day))" }

    /// At least four digits, and a minus before a year before year 0 (ISO 8601's expanded form).
    private var yearText: String {
        let digits = String(year.magnitude)
        return (year < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    var isValid: Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }
}

/// What a date text turned out to be.
public enum ParsedDate: Sendable, Equatable {
    case none
    case date(CalendarDate)
    case dateTime(Timestamp)
}

public enum DateParser {
    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DDTHH:MM:SS` with an optional
    /// fraction (dropped) and an optional `Z` or `±HH:MM`/`±HHMM` offset. All-zero dates are `.none`.
    /// Returns nil for anything else.
    public static func parse(_ text: some StringProtocol, zone: NaiveTimeZone = .utc) -> ParsedDate? {
        Array(text.utf8).withUnsafeBufferPointer { parse(utf8: $0, zone: zone) }
    }

    /// `parse` on the UTF-8 bytes of the text (a reader's buffer, no `String` made).
    public static func parse(utf8 b: UnsafeBufferPointer<UInt8>, zone: NaiveTimeZone = .utc) -> ParsedDate? {
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2)
        else { return nil }
        if b.count == 10 {
            if y == 0, mo == 0, d == 0 { return ParsedDate.none }
            let date = CalendarDate(year: y, month: mo, day: d)
            return date.isValid ? .date(date) : nil
        }
        guard b.count >= 19, b[10] == 32 || b[10] == 84, let h = num(11, 2), b[13] == 58,
              let mi = num(14, 2), b[16] == 58, let s = num(17, 2)
        else { return nil }
        var i = 19
        if i < b.count, b[i] == 46 {
            i += 1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            if i == start { return nil }
        }
        var offset = 0
        var naive = true
        if i < b.count {
            naive = false
            if b[i] == 90, i + 1 == b.count {
                i += 1
            } else if b[i] == 43 || b[i] == 45 {
                let sign = b[i] == 45 ? -1 : 1
                guard let oh = num(i + 1, 2) else { return nil }
                var om = 0
                if i + 3 < b.count, b[i + 3] == 58, let m = num(i + 4, 2), i + 6 == b.count {
                    om = m
                } else if let m = num(i + 3, 2), i + 5 == b.count {
                    om = m
                } else if i + 3 != b.count {
                    return nil
                }
                offset = sign * (oh * 3600 + om * 60)
                i = b.count
            } else {
                return nil
            }
        }
        if y == 0, mo == 0, d == 0 { return ParsedDate.none }
        let date = CalendarDate(year: y, month: mo, day: d)
        guard date.isValid, h < 24, mi < 60, s < 61 else { return nil }
        let local = date.daysSinceEpoch * 86_400 + Int64(h * 3600 + mi * 60 + s)
        if naive { offset = Int(zone.offset(forLocal: local)) }
        return .dateTime(Timestamp(epochSeconds: local - Int64(offset), offsetSeconds: Int32(offset)))
    }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : (a - b + 1) / b
}

@inline(__always) private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

@inline(__always) private func store2(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) {
    p[0] = UInt8(ascii: "0") + UInt8(n / 10 % 10)
    p[1] = UInt8(ascii: "0") + UInt8(n % 10)
}


/// The zone of date-times that carry no offset ("2013-01-30 14:53:57"): UTC unless a connection
/// says otherwise (`timezone: Europe/London` or `timezone: "+01:00"`).
public enum NaiveTimeZone: Sendable {
    case utc
    case fixed(Int32)
    case named(String)

    /// Parses `UTC`, `+01:00`/`-0530`, or an IANA zone name; nil if unknown.
    public init?(_ text: String) {
        if text == "UTC" || text == "Z" {
            self = .utc
        } else if let first = text.first, first == "+" || first == "-" {
            let digits = text.dropFirst().filter(\.isNumber)
            guard digits.count == 4, let h = Int(digits.prefix(2)), let m = Int(digits.suffix(2)), h < 24, m < 60 else { return nil }
            self = .fixed(Int32((h * 3600 + m * 60) * (first == "-" ? -1 : 1)))
        } else if TimeZone(identifier: text) != nil {
            self = .named(text)
        } else {
            return nil
        }
    }

    /// The offset in force at a local wall time (seconds since the epoch as if it were UTC).
    ///
    /// A wall time the clocks pass twice (the hour they go back) means the earlier instant, as
    /// java.time and Python do by default; a wall time they skip (the hour they go forward) is
    /// read with the offset in force before the change, so it lands that much later.
    public func offset(forLocal local: Int64) -> Int32 {
        switch self {
        case .utc: return 0
        case .fixed(let seconds): return seconds
        case .named(let name):
            guard let zone = TimeZone(identifier: name) else { return 0 }
            func offset(at instant: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))) }
            let before = offset(at: local - 86_400), after = offset(at: local + 86_400)
            // The offsets whose instant really shows this wall time.
            let valid = (before == after ? [before] : [before, after]).filter { offset(at: local - $0) == $0 }
            // Two: the larger offset gives the earlier instant. None: a skipped wall time.
            return Int32(valid.max() ?? before)
        }
    }
}

import Foundation
