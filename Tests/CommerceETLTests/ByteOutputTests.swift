// The writers are generic over where their bytes go: a byte array or the loads' `OutputBuffer`.
// Both must give the same bytes, including when the buffer grows in the middle of a value.
import Foundation
import Testing
@testable import CommerceETL

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
}
