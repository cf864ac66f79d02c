// Turns the event stream of an Aurora XML API response (`AuroraResponseEnvelope`) into
// records, one `Order` or `Product` at a time, typed by `AuroraXMLSchema`. Also reads the
// envelope: `Response/Ack`, the paging token and the error details.
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
import OrderedCollections

public struct AuroraXMLRecordReader {
    public enum Resource: String, Sendable, CaseIterable {
        case orders, products
        var element: String { self == .orders ? "Order" : "Product" }
        var schema: SchemaNode { self == .orders ? AuroraXMLSchema.orderTree : AuroraXMLSchema.productTree }
    }

    private struct Child {
        var name: String
        var value: Value
        var language: String?
    }

    private struct Frame {
        var name: String
        /// This element's entry in the schema, if the documents describe it.
        var node: SchemaNode?
        var line: Int
        var column: Int
        var language: String?
        var text = ""
        var children: [Child] = []
        var hasChildElements = false
    }

    public let resource: Resource
    public let language: String?
    public let zone: NaiveTimeZone
    private let schema: SchemaNode
    /// Element names from the document root, outside records.
    private var outer: [String] = []
    private var outerText = ""
    /// Open elements inside the current record (the record element first).
    private var frames: [Frame] = []
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

    /// Feeds one event; returns a record when one is complete.
    public mutating func consume(_ event: XMLEvent) throws(Failure) -> Record? {
        switch event.kind {
        case .start(let name, let attributes, _):
            if frames.count + outer.count >= Self.maxDepth {
                throw Failure(line: event.line, column: event.column, message: "elements nested more than \(Self.maxDepth) levels deep (at <\(name)>)")
            }
            if !frames.isEmpty {
                frames[frames.count - 1].hasChildElements = true
                let node = frames[frames.count - 1].node?.children[name]
                frames.append(Frame(name: name, node: node, line: event.line, column: event.column,
                                    language: attributes.first { $0.0 == "language" }?.1))
                return nil
            }
            if outer.isEmpty {
                guard !sawRoot else { throw Failure(line: event.line, column: event.column, message: "a second root element <\(name)>") }
                guard name == "AuroraResponseEnvelope" else {
                    throw Failure(line: event.line, column: event.column,
                                  message: "not an Aurora XML API response: the root element is <\(name)>, expected <AuroraResponseEnvelope>")
                }
                sawRoot = true
            }
            outer.append(name)
            outerText = ""
            if outer.count == 5, outer[1] == "Responses", outer[2] == "Response", outer[3] == "Data", name == resource.element {
                outer.removeLast()
                frames.append(Frame(name: name, node: schema, line: event.line, column: event.column))
            }
            if outer.count == 5, outer[3] == "Errors", name == "Error" { currentError = (nil, nil, nil) }
            return nil

        case .text(let text, _):
            if frames.isEmpty {
                outerText += text
            } else if !(frames[frames.count - 1].hasChildElements && text.isXMLWhitespace) {
                // Indentation between child elements is not content.
                frames[frames.count - 1].text += text
            }
            return nil

        case .end(let name):
            if let frame = frames.last {
                guard frame.name == name else {
                    throw Failure(line: event.line, column: event.column, message: "expected </\(frame.name)> (opened at \(frame.line):\(frame.column)), found </\(name)>")
                }
                frames.removeLast()
                if frames.isEmpty {
                    return Record(try object(from: frame.children, hasText: frame.text))
                }
                let value = try self.value(of: frame)
                frames[frames.count - 1].children.append(Child(name: name, value: value, language: frame.language))
                return nil
            }
            guard let open = outer.last, open == name else {
                throw Failure(line: event.line, column: event.column,
                              message: outer.last.map { "expected </\($0)>, found </\(name)>" } ?? "unexpected </\(name)>")
            }
            recordEnvelope(name)
            outer.removeLast()
            outerText = ""
            return nil
        }
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

    private func value(of frame: Frame) throws(Failure) -> Value {
        let type = frame.node?.type
        if frame.hasChildElements {
            if type == .list { return .array(frame.children.map(\.value)) }
            return .object(Record(try object(from: frame.children, hasText: frame.text)))
        }
        if type == .list {
            guard frame.text.isXMLWhitespace else {
                throw Failure(line: frame.line, column: frame.column, message: "\(path(of: frame)) is a list but holds text \"\(frame.text)\"")
            }
            return .array([])
        }
        if frame.text.isEmpty { return .null }
        guard let type, type != .string else { return .string(frame.text) }
        let text = frame.text.trimmingXMLSpace()
        if text.isEmpty { return .null }
        func fail(_ expected: String) -> Failure {
            Failure(line: frame.line, column: frame.column, message: "\(path(of: frame)) must be \(expected) (its type in the API document), found \"\(text)\"")
        }
        switch type {
        case .integer:
            guard let n = Int64(text) else { throw fail("an Integer") }
            return .integer(n)
        case .decimal:
            guard let d = ExactDecimal(parsing: text) else { throw fail("a Float (a decimal number)") }
            return .decimal(d)
        case .bool:
            switch text {
            case "1": return .bool(true)
            case "0": return .bool(false)
            default: throw fail("1 or 0")
            }
        case .date, .dateTime:
            switch DateParser.parse(text, zone: zone) {
            case .none?: return .null
            case .date(let d)?: return .date(d)
            case .dateTime(let t)?: return .dateTime(t)
            case nil: throw fail("a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or ISO 8601)")
            }
        case .string, .list:
            return .string(frame.text)
        }
    }

    private func object(from children: [Child], hasText text: String) throws(Failure) -> OrderedDictionary<String, Value> {
        // Most objects have no repeated child: build them directly.
        var fields = OrderedDictionary<String, Value>(minimumCapacity: children.count + 1)
        var repeated = false
        for child in children {
            if fields.updateValue(child.value, forKey: child.name) != nil {
                repeated = true
                break
            }
        }
        if !repeated {
            if !text.isXMLWhitespace { fields["_text"] = .string(text.trimmingXMLSpace()) }
            return fields
        }
        return groupedObject(from: children, hasText: text)
    }

    private func groupedObject(from children: [Child], hasText text: String) -> OrderedDictionary<String, Value> {
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
        if !text.isXMLWhitespace { fields["_text"] = .string(text.trimmingXMLSpace()) }
        return fields
    }
}
