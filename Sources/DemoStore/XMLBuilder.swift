// Writes indented XML into a byte buffer, escaping text. Used to answer API requests.

struct XMLBuilder {
    private(set) var bytes: [UInt8] = []
    private var depth = 0

    init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    private mutating func indent() {
        bytes.append(10)
        bytes.append(contentsOf: repeatElement(9, count: depth))
    }

    mutating func declaration() { bytes.append(contentsOf: #"<?xml version="1.0" encoding="utf-8"?>"#.utf8) }

    mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        indent()
        bytes.append(60)
        bytes.append(contentsOf: name.utf8)
        appendAttributes(attributes)
        bytes.append(62)
        depth += 1
    }

    mutating func close(_ name: String) {
        depth -= 1
        indent()
        bytes.append(contentsOf: "</".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(62)
    }

    /// `<name>text</name>`, or `<name />` for nil.
    mutating func leaf(_ name: String, _ text: String?, _ attributes: [(String, String)] = []) {
        indent()
        bytes.append(60)
        bytes.append(contentsOf: name.utf8)
        appendAttributes(attributes)
        guard let text else {
            bytes.append(contentsOf: " />".utf8)
            return
        }
        bytes.append(62)
        escape(text)
        bytes.append(contentsOf: "</".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(62)
    }

    mutating func leaf(_ name: String, _ value: Int) { leaf(name, String(value)) }

    /// Text in a CDATA section, as the documents send product copy.
    mutating func cdata(_ name: String, _ text: String, _ attributes: [(String, String)] = []) {
        indent()
        bytes.append(60)
        bytes.append(contentsOf: name.utf8)
        appendAttributes(attributes)
        bytes.append(contentsOf: "><![CDATA[".utf8)
        bytes.append(contentsOf: text.replacingOccurrences(of: "]]>", with: "]]]]><![CDATA[>").utf8)
        bytes.append(contentsOf: "]]></".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(62)
    }

    private mutating func appendAttributes(_ attributes: [(String, String)]) {
        for (key, value) in attributes {
            bytes.append(32)
            bytes.append(contentsOf: key.utf8)
            bytes.append(contentsOf: "=\"".utf8)
            escape(value, quotes: true)
            bytes.append(34)
        }
    }

    private mutating func escape(_ text: String, quotes: Bool = false) {
        for byte in text.utf8 {
            switch byte {
            case 38: bytes.append(contentsOf: "&amp;".utf8)
            case 60: bytes.append(contentsOf: "&lt;".utf8)
            case 62: bytes.append(contentsOf: "&gt;".utf8)
            case 34 where quotes: bytes.append(contentsOf: "&quot;".utf8)
            case 13: bytes.append(contentsOf: "&#13;".utf8)   // a raw CR would be normalised away by XML readers
            default: bytes.append(byte)
            }
        }
    }
}

enum Money {
    /// Minor units as a two-decimal string: 1210 -> "12.10", -5 -> "-0.05".
    static func text(_ pennies: Int) -> String {
        let sign = pennies < 0 ? "-" : ""
        let p = abs(pennies)
        let fraction = p % 100
        return "\(sign)\(p / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

enum DemoDates {
    /// `2013-01-30T14:53:57+01:00`, in UK time (BST from April to October, roughly as the store would).
    static func iso(_ epoch: Int64) -> String {
        let utc = Timestamp(epochSeconds: epoch)
        let month = CalendarDateFromEpoch.month(epoch)
        let offset: Int32 = (4...10).contains(month) ? 3600 : 0
        return Timestamp(epochSeconds: utc.epochSeconds, offsetSeconds: offset).description
    }

    /// `2013-01-30 14:53:57`, UTC wall time (the documents' second shape, which carries no offset).
    static func plain(_ epoch: Int64) -> String {
        let iso = Timestamp(epochSeconds: epoch).description
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(8))
    }

    static func day(_ epoch: Int64) -> String { String(Timestamp(epochSeconds: epoch).description.prefix(10)) }
}

import CommerceETL

enum CalendarDateFromEpoch {
    static func month(_ epoch: Int64) -> Int {
        CalendarDate(daysSinceEpoch: epoch >= 0 ? epoch / 86_400 : (epoch - 86_399) / 86_400).month
    }
}
