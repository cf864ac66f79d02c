// The writers are generic over where their bytes go: a byte array or the loads' `OutputBuffer`.
// Both must give the same bytes, including when the buffer grows in the middle of a value.
import Foundation
import Testing
@testable import CommerceETL
@testable import DemoStore

@Suite struct ByteOutputTests {
    private static let values: [(Value, String)] = [
        (.decimal(ExactDecimal(parsing: "16.6600")!), "16.6600"),
        (.decimal(ExactDecimal(parsing: "-0.05")!), "-0.05"),
        (.decimal(ExactDecimal(parsing: "0.000")!), "0.000"),
        (.decimal(ExactDecimal(parsing: "123456789012345678901234567890.5")!), "123456789012345678901234567890.5"),
        (.integer(-9_223_372_036_854_775_808), "-9223372036854775808"),
        (.integer(7), "7"),
        (.bool(false), "false"),
        (.null, "null"),
        (.dateTime(Timestamp(epochSeconds: 1_359_557_637, offsetSeconds: -18_000)), "\"2013-01-30T09:53:57-05:00\""),
        (.date(CalendarDate(year: 12_024, month: 2, day: 9)), "\"12024-02-09\""),
        (.string("Café \"Retro\"\n\t\u{1}"), "\"Café \\\"Retro\\\"\\n\\t\\u0001\""),
        (.array([.integer(1), .string("a,b")]), "[1,\"a,b\"]"),
    ]

    @Test func arrayAndBufferGetTheSameBytesAsTheBufferGrows() {
        var record = Record()
        for (i, (value, _)) in Self.values.enumerated() { record["f\(i)"] = value }
        var expected: [UInt8] = []
        JSONWriter.write(record, into: &expected)
        // The smallest buffer grows many times, at every offset within the values.
        for capacity in [1, 7, 64, 1 << 17] {
            var buffer = OutputBuffer(capacity: capacity)
            for _ in 0..<3 { JSONWriter.write(record, into: &buffer) }
            let bytes = buffer.withBytes { Array($0) }
            #expect(bytes == expected + expected + expected, "capacity \(capacity)")
        }
        for (value, text) in Self.values {
            var buffer = OutputBuffer(capacity: 1)
            JSONWriter.write(value, into: &buffer)
            #expect(String(decoding: buffer.withBytes { Array($0) }, as: UTF8.self) == text)
        }
    }

    @Test func csvCellsQuoteAndGuardTheSameIntoEither() {
        let load = CSVLoad(path: "x.csv")
        let cells: [(Value, String)] = [
            (.string("plain"), "plain"),
            (.string("a,b"), "\"a,b\""),
            (.string("say \"hi\""), "\"say \"\"hi\"\"\""),
            (.string("=SUM(A1)"), "'=SUM(A1)"),
            (.string("-5.20"), "-5.20"),
            (.string("+44 20 7946 0000"), "'+44 20 7946 0000"),
            (.string("@x,y"), "\"'@x,y\""),
            (.decimal(ExactDecimal(parsing: "1.90")!), "1.90"),
            (.null, ""),
            (.array([.integer(1), .integer(2)]), "\"[1,2]\""),
        ]
        for (value, text) in cells {
            var array: [UInt8] = []
            load.appendCell(value, to: &array)
            var buffer = OutputBuffer(capacity: 1)
            load.appendCell(value, to: &buffer)
            #expect(String(decoding: array, as: UTF8.self) == text)
            #expect(buffer.withBytes { Array($0) } == array)
        }
    }

    @Test func csvCellsAreQuotedForEveryKindOfDelimiter() {
        // The scan skips bytes above both the quote and the delimiter; delimiters below, between
        // and above the other special bytes.
        for (delimiter, text, expected) in [(UInt8(ascii: ";"), "a;b", "\"a;b\""), (UInt8(ascii: ";"), "a,b", "a,b"),
                                            (UInt8(ascii: "|"), "x|y", "\"x|y\""), (UInt8(ascii: "|"), "x\"y", "\"x\"\"y\""),
                                            (9, "t\tu", "\"t\tu\""), (9, "line\r\n", "\"line\r\n\""), (UInt8(ascii: ","), "zz|", "zz|")] {
            let load = CSVLoad(path: "x.csv", delimiter: delimiter)
            var buffer = OutputBuffer(capacity: 1)
            load.appendCell(.string(text), to: &buffer)
            #expect(String(decoding: buffer.withBytes { Array($0) }, as: UTF8.self) == expected, "\(text)")
        }
    }

    /// Numbers and dates are written straight into the output's free space when they are of the
    /// usual size; every other value takes the general path. Both must give the same text.
    @Test func numbersAndDatesWrittenInPlaceMatchTheGeneralPath() {
        var random = SeededRandom(seed: 23, stream: 0, index: 0)   // the same values every run
        var decimals: [ExactDecimal] = ["0", "-0.00", "0.000000000000000000001", "9223372036854775807", "-9223372036854775808",
                                        "-922337203685477580.8", "0.0000000000000000001", "1.0000000000000000000", "12.5", "-0.5"]
            .map { ExactDecimal(parsing: $0)! }
        for _ in 0..<4000 {
            let digits = Int.random(in: 1...19, using: &random)
            var text = (0..<digits).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
            let point = Int.random(in: 0...digits, using: &random)
            if point < digits { text.insert(".", at: text.index(text.startIndex, offsetBy: point)) }
            if Bool.random(using: &random) { text = "-" + text }
            guard var d = ExactDecimal(parsing: text) else { continue }
            if Int.random(in: 0..<3, using: &random) == 0 { d.scale = Int.random(in: 0...30, using: &random) }   // fewer digits, or more
            decimals.append(d)
        }
        for d in decimals {
            var general: [UInt8] = []
            d.writeInGeneral(into: &general)
            var array: [UInt8] = []
            d.write(into: &array)
            var buffer = OutputBuffer(capacity: 1)
            d.write(into: &buffer)
            #expect(array == general, "\(String(decoding: general, as: UTF8.self))")
            #expect(buffer.withBytes { Array($0) } == general)
        }
        #expect(decimals.filter { $0.description.hasPrefix("-") }.count > 1000)
        for n in [Int64.min, Int64.max, 0, -1, 9, 10, -10, 99, 100] + (0..<2000).map({ _ in Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...62, using: &random) }) {
            var buffer = OutputBuffer(capacity: 1)
            JSONWriter.writeInteger(n, into: &buffer)
            #expect(String(decoding: buffer.withBytes { Array($0) }, as: UTF8.self) == String(n))
        }
        for seconds in [Int64(0), -1, 253_402_300_799, 253_402_300_800, -62_167_219_200, -62_167_219_201]
            + (0..<2000).map({ _ in Int64.random(in: -70_000_000_000...300_000_000_000, using: &random) }) {
            let t = Timestamp(epochSeconds: seconds, offsetSeconds: Int32.random(in: -50_400...50_400, using: &random) / 60 * 60)
            var buffer = OutputBuffer(capacity: 1)
            t.write(into: &buffer)
            #expect(String(decoding: buffer.withBytes { Array($0) }, as: UTF8.self) == t.description)
            let date = CalendarDate(daysSinceEpoch: seconds / 86_400)
            var dateBytes = OutputBuffer(capacity: 1)
            date.write(into: &dateBytes)
            #expect(String(decoding: dateBytes.withBytes { Array($0) }, as: UTF8.self) == date.description)
            #expect(date.description.utf8.count >= 10)
        }
        // Before year 0 and after 9999 (only arithmetic on a date can get there): ISO 8601's expanded years.
        #expect(Timestamp(epochSeconds: -64_000_000_000).description == "-0059-12-03T06:13:20+00:00")   // GNU date -u -d @-64000000000
        #expect(CalendarDate(year: 12_024, month: 2, day: 9).description == "12024-02-09")
    }
}
