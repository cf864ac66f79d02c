// Turns the tokens of an Aurora XML API response (`AuroraResponseEnvelope`) into records, one
// `Order` or `Product` at a time, typed by `AuroraXMLSchema`. Also reads the envelope:
// `Response/Ack`, the paging token and the error details.
//
// This runs for every element of every page, so inside a record it works on the parser's bytes:
// names are found in the schema by their bytes (the `String` keys are the schema's own), text
// collects in one buffer shared by the open elements, and typed values are parsed from those
// bytes; only string values become new `String`s.
//
// Mapping rules (also in the README):
// - a leaf element becomes a value of its documented type; an empty one becomes null;
// - an element with children becomes an object, or an array when the schema marks it a list
//   (so `Items` is an array even with one or zero `Item`s);
// - repeated children of an object that is not a documented list become an array;
// - language-tagged text (`<ProductName language="en-gb">`) gives the text in the preferred
//   language (or the first), and, when several languages are present, `NAME_translations`
//   mapping each language to its text;
// - dates become ISO 8601; zero dates (`0000-00-00`) become null.
import Foundation
import OrderedCollections

public struct AuroraXMLRecordReader {
    public enum Resource: String, Sendable, CaseIterable {
        case orders, products
        var element: String { self == .orders ? "Order" : "Product" }
        var schema: SchemaTable { self == .orders ? AuroraXMLSchema.orderTable : AuroraXMLSchema.productTable }
    }

    private struct Child {
        var name: String
        var value: Value
        var language: String?
        /// Its place among the schema children of its parent, or -1 for an element the schema lacks.
        var known: Int
    }

    private struct Frame {
        var name: String
        /// This element's node in the schema (-1 if the documents do not describe it), and its
        /// place among its parent's children (-1 likewise).
        var node: Int
        var known = -1
        var line: Int
        var column: Int
        var language: String?
        /// Where this element's text starts in `text` and its finished children in `children`.
        var textStart: Int
        var childStart: Int
        var hasChildElements = false
    }

    public let resource: Resource
    public let language: String?
    public let zone: NaiveTimeZone
    private let schema: SchemaTable
    /// Element names from the document root, outside records.
    private var outer: [String] = []
    private var outerText = ""
    /// Open elements inside the current record (the record element first).
    private var frames: [Frame] = []
    /// The text of the open elements, innermost last, and their finished children, innermost last.
    private var text: [UInt8] = []
    private var children: [Child] = []
    /// Scratch for finding repeated children: one bit per schema child.
    private var seen: [UInt64] = []
    /// The last object built for each schema element (`shaped`): its names with null values,
    /// and their places in the schema when the schema knows them all.
    private struct Shape {
        var template: OrderedDictionary<String, Value>
        var places: [Int]?

        func matches(_ children: ArraySlice<Child>) -> Bool {
            if let places { return zip(places, children).allSatisfy { $0 == $1.known } }
            return zip(template.keys, children).allSatisfy { $0 == $1.name }
        }
    }
    /// By schema node, the last few different shapes, most recent first (an `Order` with and
    /// without a `Transaction` alternate, for instance).
    private var shapes: [[Shape]]
    private static let shapesKept = 4
    private var sawRoot = false

    public private(set) var ack: String?
    public private(set) var pagingToken: String?
    public private(set) var errors: [(code: String?, severity: String?, message: String?)] = []
    private var currentError: (code: String?, severity: String?, message: String?)? = nil

    public init(resource: Resource, language: String? = nil, zone: NaiveTimeZone = .utc) {
        self.resource = resource
        self.language = language
        self.zone = zone
        schema = resource.schema
        shapes = Array(repeating: [], count: schema.nodes.count)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "\(line):\(column): \(message)" }
    }

    /// Elements open at once: deeper input is refused rather than risk the stack of every
    /// recursive reader of the records it would become.
    public static let maxDepth = 100

    /// Reads tokens from `parser` until a record is complete (returned) or the parser needs more
    /// input (nil). Throws `XMLSyntaxError` for malformed XML and `Failure` for a response that
    /// is not what the documents describe.
    public mutating func read(from parser: inout XMLPullParser) throws -> Record? {
        while let token = try parser.nextToken() {
            switch token {
            case .start(let nameRange, let selfClosing):
                if frames.isEmpty {
                    try startOuter(parser.string(nameRange), parser)
                    if selfClosing {
                        if frames.isEmpty {
                            try endOuter(parser.string(nameRange), parser)
                        } else if let record = try endElement(&parser) {
                            return record
                        }
                    }
                    continue
                }
                try startElement(nameRange, parser)
                if selfClosing, let record = try endElement(&parser) { return record }
            case .text(let range):
                if frames.isEmpty {
                    var decoded: [UInt8] = []
                    parser.appendText(range, to: &decoded)
                    outerText += String(decoding: decoded, as: UTF8.self)
                    continue
                }
                if frames[frames.count - 1].hasChildElements, try parser.withBytes(range, { Self.isSpace($0) }) { continue }
                let start = text.count
                parser.appendText(range, to: &text)
                dropIndentation(from: start)
            case .cdata(let range):
                if frames.isEmpty {
                    outerText += parser.string(range)
                    continue
                }
                let start = text.count
                try parser.withBytes(range) { text.append(contentsOf: $0) }
                dropIndentation(from: start)
            case .end(let nameRange):
                guard !frames.isEmpty else {
                    try endOuter(parser.string(nameRange), parser)
                    continue
                }
                let open = frames.count - 1
                let node = frames[open].node
                let matches = try parser.withBytes(nameRange) { bytes in
                    if node > 0 { return schema.name(of: node, equals: bytes) }   // node 0, the record element, has no name there
                    return frames[open].name.utf8.withContiguousStorageIfAvailable {
                        $0.count == bytes.count && memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0
                    } ?? frames[open].name.utf8.elementsEqual(bytes)
                }
                guard matches else {
                    let frame = frames[open]
                    throw Failure(line: parser.tokenLine, column: parser.tokenColumn,
                                  message: "expected </\(frame.name)> (opened at \(frame.line):\(frame.column)), found </\(parser.string(nameRange))>")
                }
                if let record = try endElement(&parser) { return record }
            }
        }
        return nil
    }

    /// Indentation between child elements is not content.
    private mutating func dropIndentation(from start: Int) {
        if frames[frames.count - 1].hasChildElements, Self.isSpace(text[start...]) {
            text.removeLast(text.count - start)
        }
    }

    private mutating func startElement(_ nameRange: Range<Int>, _ parser: XMLPullParser) throws(Failure) {
        if frames.count + outer.count >= Self.maxDepth {
            throw Failure(line: parser.tokenLine, column: parser.tokenColumn,
                          message: "elements nested more than \(Self.maxDepth) levels deep (at <\(parser.string(nameRange))>)")
        }
        let parent = frames.count - 1
        frames[parent].hasChildElements = true
        let parentNode = frames[parent].node
        let node = parentNode < 0 ? nil : try? parser.withBytes(nameRange) { schema.child(of: parentNode, named: $0) }
        let language = parser.attributes.isEmpty ? nil : parser.attributes.first { $0.0 == "language" }?.1
        frames.append(Frame(name: node.map { schema.nodes[$0].name } ?? parser.string(nameRange), node: node ?? -1,
                            known: node.map { schema.nodes[$0].place } ?? -1,
                            line: parser.tokenLine, column: parser.tokenColumn, language: language,
                            textStart: text.count, childStart: children.count))
    }

    /// Closes the innermost open element: returns the record when it was the record element.
    private mutating func endElement(_ parser: inout XMLPullParser) throws(Failure) -> Record? {
        let frame = frames.removeLast()
        if frames.isEmpty {
            let record = Record(try object(childStart: frame.childStart, textStart: frame.textStart, parser: &parser, frame: frame))
            text.removeAll(keepingCapacity: true)
            children.removeAll(keepingCapacity: true)
            return record
        }
        let value = try self.value(of: frame, parser: &parser)
        text.removeLast(text.count - frame.textStart)
        children.removeLast(children.count - frame.childStart)
        children.append(Child(name: frame.name, value: value, language: frame.language, known: frame.known))
        return nil
    }

    private mutating func startOuter(_ name: String, _ parser: XMLPullParser) throws(Failure) {
        if frames.count + outer.count >= Self.maxDepth {
            throw Failure(line: parser.tokenLine, column: parser.tokenColumn, message: "elements nested more than \(Self.maxDepth) levels deep (at <\(name)>)")
        }
        if outer.isEmpty {
            guard !sawRoot else { throw Failure(line: parser.tokenLine, column: parser.tokenColumn, message: "a second root element <\(name)>") }
            guard name == "AuroraResponseEnvelope" else {
                throw Failure(line: parser.tokenLine, column: parser.tokenColumn,
                              message: "not an Aurora XML API response: the root element is <\(name)>, expected <AuroraResponseEnvelope>")
            }
            sawRoot = true
        }
        outer.append(name)
        outerText = ""
        if outer.count == 5, outer[1] == "Responses", outer[2] == "Response", outer[3] == "Data", name == resource.element {
            outer.removeLast()
            frames.append(Frame(name: name, node: 0, line: parser.tokenLine, column: parser.tokenColumn,
                                textStart: 0, childStart: 0))
        }
        if outer.count == 5, outer[3] == "Errors", name == "Error" { currentError = (nil, nil, nil) }
    }

    private mutating func endOuter(_ name: String, _ parser: XMLPullParser) throws(Failure) {
        guard let open = outer.last, open == name else {
            throw Failure(line: parser.tokenLine, column: parser.tokenColumn,
                          message: outer.last.map { "expected </\($0)>, found </\(name)>" } ?? "unexpected </\(name)>")
        }
        recordEnvelope(name)
        outer.removeLast()
        outerText = ""
    }

    /// Call at the end of the document: checks it was complete and not an error response.
    public func finish(line: Int, column: Int) throws(Failure) {
        if let frame = frames.last {
            throw Failure(line: line, column: column, message: "the response ends inside <\(frame.name)> opened at \(frame.line):\(frame.column) (truncated?)")
        }
        if let open = outer.last {
            throw Failure(line: line, column: column, message: "the response ends inside <\(open)> (truncated?)")
        }
        guard sawRoot else { throw Failure(line: line, column: column, message: "the response is empty") }
        if let ack, ack != "OK", ack != "Warning" {
            let details = errors.map { e in
                [e.code.map { "code \($0)" }, e.severity, e.message].compactMap { $0 }.joined(separator: ", ")
            }.joined(separator: "; ")
            throw Failure(line: line, column: column, message: "the API answered Ack \(ack)\(details.isEmpty ? "" : ": \(details)")")
        }
    }

    private mutating func recordEnvelope(_ name: String) {
        let text = outerText.trimmingXMLSpace()
        switch (outer.count, name) {
        case (4, "Ack") where outer[2] == "Response": ack = text
        case (5, "Token") where outer[3] == "Paging": pagingToken = text.isEmpty ? nil : text
        case (6, "Code") where currentError != nil: currentError?.code = text
        case (6, "Severity") where currentError != nil: currentError?.severity = text
        case (6, "Message") where currentError != nil: currentError?.message = text
        case (5, "Error"):
            if let e = currentError { errors.append(e) }
            currentError = nil
        default: break
        }
    }

    /// The dotted path of `frame` below the record (for messages), e.g. `Items.Item.Price`.
    private func path(of frame: Frame) -> String {
        (frames.dropFirst().map(\.name) + [frame.name]).joined(separator: ".")
    }

    private mutating func value(of frame: Frame, parser: inout XMLPullParser) throws(Failure) -> Value {
        let type = frame.node < 0 ? nil : schema.nodes[frame.node].type
        if frame.hasChildElements {
            if type == .list { return .array(children[frame.childStart...].map(\.value)) }
            return .object(Record(try object(childStart: frame.childStart, textStart: frame.textStart, parser: &parser, frame: frame)))
        }
        let raw = frame.textStart..<text.count
        if type == .list {
            guard Self.isSpace(text[raw]) else {
                throw Failure(line: frame.line, column: frame.column,
                              message: "\(path(of: frame)) is a list but holds text \"\(string(raw, parser: &parser, frame: frame))\"")
            }
            return .array([])
        }
        if raw.isEmpty { return .null }
        guard let type, type != .string else { return .string(string(raw, parser: &parser, frame: frame)) }
        let trimmed = Self.trimmed(raw, in: text)
        if trimmed.isEmpty { return .null }
        func fail(_ expected: String) -> Failure {
            Failure(line: frame.line, column: frame.column,
                    message: "\(path(of: frame)) must be \(expected) (its type in the API document), found \"\(String(decoding: text[trimmed], as: UTF8.self))\"")
        }
        let parsed: Value? = text.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[trimmed])
            switch type {
            case .integer:
                return Self.integer(bytes).map(Value.integer)
            case .decimal:
                return ExactDecimal(utf8: bytes).map(Value.decimal)
            case .bool:
                if bytes.count == 1, bytes[0] == UInt8(ascii: "1") { return .bool(true) }
                if bytes.count == 1, bytes[0] == UInt8(ascii: "0") { return .bool(false) }
                return nil
            case .date, .dateTime:
                switch DateParser.parse(utf8: bytes, zone: zone) {
                case .none?: return .null
                case .date(let d)?: return .date(d)
                case .dateTime(let t)?: return .dateTime(t)
                case nil: return nil
                }
            case .string, .list:
                return nil
            }
        }
        if let parsed { return parsed }
        switch type {
        case .integer: throw fail("an Integer")
        case .decimal: throw fail("a Float (a decimal number)")
        case .bool: throw fail("1 or 0")
        case .date, .dateTime: throw fail("a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or ISO 8601)")
        case .string, .list: return .string(string(raw, parser: &parser, frame: frame))
        }
    }

    /// The fields of an element with child elements: its children (`children[childStart...]`)
    /// and, when it also holds text that is not space, that text as `_text`.
    private mutating func object(childStart: Int, textStart: Int, parser: inout XMLPullParser, frame: Frame) throws(Failure) -> OrderedDictionary<String, Value> {
        // Most objects have no repeated child: build them directly, without a lookup per field.
        var fields = hasRepeats(childStart, of: frame.node) ? groupedObject(from: children[childStart...]) : shaped(childStart, of: frame.node)
        let raw = textStart..<text.count
        if !Self.isSpace(text[raw]) {
            fields["_text"] = .string(string(Self.trimmed(raw, in: text), parser: &parser, frame: frame))
        }
        return fields
    }

    /// An object of the children's names and values. The objects of one element are nearly
    /// always the same names in the same order (every `Order`, every `Item`), so the last such
    /// object is kept per schema element and a new one with the same names is a copy of it with
    /// the values replaced: its keys (and their hash table) are shared, not built again.
    /// The children's values are moved into the object (each child keeps a null), not copied.
    private mutating func shaped(_ childStart: Int, of node: Int) -> OrderedDictionary<String, Value> {
        guard node >= 0 else { return Self.fields(children[childStart...]) }
        let count = children.count - childStart
        if let hit = shapes[node].firstIndex(where: { $0.template.count == count && $0.matches(self.children[childStart...]) }) {
            if hit > 0 { shapes[node].swapAt(hit, hit - 1) }
            var fields = shapes[node][hit > 0 ? hit - 1 : 0].template
            fields.values.withUnsafeMutableBufferPointer { values in
                self.children.withUnsafeMutableBufferPointer { children in
                    for i in values.indices { swap(&values[i], &children[childStart + i].value) }
                }
            }
            return fields
        }
        let children = self.children[childStart...]
        let fields = Self.fields(children)
        var template = fields
        template.values.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = .null }
        }
        if shapes[node].count == Self.shapesKept { shapes[node].removeLast() }
        shapes[node].insert(Shape(template: template, places: children.allSatisfy { $0.known >= 0 } ? children.map(\.known) : nil), at: 0)
        return fields
    }

    private static func fields(_ children: ArraySlice<Child>) -> OrderedDictionary<String, Value> {
        var keys = ContiguousArray<String>(), values = ContiguousArray<Value>()
        keys.reserveCapacity(children.count)
        values.reserveCapacity(children.count)
        for child in children {
            keys.append(child.name)
            values.append(child.value)
        }
        return OrderedDictionary(uncheckedUniqueKeys: keys, values: values)
    }

    /// Whether two children have the same name: by their place in the schema, names compared
    /// only for elements the schema does not describe.
    private mutating func hasRepeats(_ childStart: Int, of node: Int) -> Bool {
        let words = ((node < 0 ? 0 : schema.nodes[node].childCount) + 63) / 64
        if seen.count < words { seen = Array(repeating: 0, count: words) }
        defer { for i in 0..<words { seen[i] = 0 } }
        var unknown: Set<String>? = nil
        for child in children[childStart...] {
            if child.known >= 0 {
                let bit: UInt64 = 1 << (child.known & 63)
                if seen[child.known >> 6] & bit != 0 { return true }
                seen[child.known >> 6] |= bit
            } else if unknown == nil {
                unknown = [child.name]
            } else if unknown!.insert(child.name).inserted == false {
                return true
            }
        }
        return false
    }

    private func groupedObject(from children: ArraySlice<Child>) -> OrderedDictionary<String, Value> {
        var groups = OrderedDictionary<String, [Child]>()
        for child in children { groups[child.name, default: []].append(child) }
        var fields = OrderedDictionary<String, Value>()
        fields.reserveCapacity(groups.count)
        for (name, group) in groups {
            if group.count == 1 {
                fields[name] = group[0].value
            } else if group.allSatisfy({ $0.language != nil }) {
                let preferred = group.first { $0.language == language } ?? group[0]
                fields[name] = preferred.value
                var translations = OrderedDictionary<String, Value>()
                for child in group { translations[child.language!] = child.value }
                fields[name + "_translations"] = .object(Record(translations))
            } else {
                fields[name] = .array(group.map(\.value))
            }
        }
        return fields
    }

    /// Text bytes as a string; invalid UTF-8 is replaced and counted on the parser.
    private func string(_ range: Range<Int>, parser: inout XMLPullParser, frame: Frame) -> String {
        if let valid = text.withUnsafeBufferPointer({ String(validatingUTF8Bytes: UnsafeBufferPointer(rebasing: $0[range])) }) {
            return valid
        }
        parser.noteInvalidUTF8(line: frame.line, column: frame.column)
        return String(decoding: text[range], as: UTF8.self)
    }

    /// A decimal integer as `Int64(_:)` reads it (optional sign, digits), without making a string.
    private static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        var negative = false
        if bytes.count > 1, bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < bytes.count else { return nil }
        var n: Int64 = 0
        while i < bytes.count {
            let digit = bytes[i] &- 48
            guard digit < 10 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(digit)) : m.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return nil }
            n = a
            i += 1
        }
        return n
    }

    private static func isSpace(_ bytes: some Sequence<UInt8>) -> Bool { bytes.allSatisfy(isXMLSpace) }

    /// `range` without XML space at either end.
    private static func trimmed(_ range: Range<Int>, in text: [UInt8]) -> Range<Int> {
        var from = range.lowerBound, to = range.upperBound
        while from < to, isXMLSpace(text[from]) { from += 1 }
        while to > from, isXMLSpace(text[to - 1]) { to -= 1 }
        return from..<to
    }
}
