// A streaming XML tokenizer fed with chunks of bytes as they arrive (from a file or, later, an
// HTTP body), yielding start tags, end tags and text one at a time with their line and column.
// Written here rather than using Foundation's XMLParser because that parser can only be driven
// by a callback over a whole document or a blocking stream; this one is pulled by async code
// chunk by chunk and keeps memory flat whatever the response size.
//
// It reads the XML that APIs send: elements, attributes, text, CDATA, comments, processing
// instructions, a DOCTYPE without an internal subset, the five named entities and character
// references. Tag balance is checked by the caller.

import Foundation

public struct XMLEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case start(name: String, attributes: [(String, String)], selfClosing: Bool)
        case end(name: String)
        case text(String, cdata: Bool)

        public static func == (lhs: Kind, rhs: Kind) -> Bool {
            switch (lhs, rhs) {
            case let (.start(a, x, s1), .start(b, y, s2)):
                a == b && s1 == s2 && x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            case let (.end(a), .end(b)): a == b
            case let (.text(a, c1), .text(b, c2)): a == b && c1 == c2
            default: false
            }
        }
    }

    public var kind: Kind
    public var line: Int
    public var column: Int
}

/// A token of `XMLPullParser.nextToken()`: ranges of the parser's buffer, valid until its next `feed`.
public enum XMLToken: Sendable, Equatable {
    case start(name: Range<Int>, selfClosing: Bool)
    case end(name: Range<Int>)
    /// Character data, entity references not yet decoded (`appendText` decodes them).
    case text(Range<Int>)
    /// The content of a CDATA section, as it is.
    case cdata(Range<Int>)
}

public struct XMLSyntaxError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "\(line):\(column): \(message)" }
}

public struct XMLPullParser {
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    private var line = 1
    private var column = 1
    private var pendingEnd: XMLEvent? = nil
    // How far the search for the end of the construct at `position` got before more input was
    // needed, so a 40 MB text node arriving in 16 KB chunks is scanned once, not once a chunk.
    private var searched = 0
    private var searchedQuote: UInt8 = 0
    /// Text and attribute values that held invalid UTF-8 (each replaced by U+FFFD).
    public private(set) var invalidUTF8 = 0
    /// Where the first such value was.
    public private(set) var firstInvalidUTF8: (line: Int, column: Int)? = nil

    /// Where the last token starts.
    public private(set) var tokenLine = 1
    public private(set) var tokenColumn = 1
    /// The attributes of the last `start` token.
    public private(set) var attributes: [(String, String)] = []
    /// `Self.byteClasses`, held so the scan of each token does not go through the lazy global's
    /// once-check (1.4% of a replay).
    private let byteClasses = XMLPullParser.byteClasses

    public init() {}

    /// Adds the next chunk of the document.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if position > 0, position >= buffer.count / 2 {
            buffer.removeSubrange(0..<position)
            searched = max(0, searched - position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// No more chunks will come.
    public mutating func finish() { atEnd = true }

    /// The next event; nil when more input is needed (or, after `finish`, at the end).
    public mutating func next() throws(XMLSyntaxError) -> XMLEvent? {
        if let end = pendingEnd {
            pendingEnd = nil
            return end
        }
        guard let token = try nextToken() else { return nil }
        let kind: XMLEvent.Kind
        switch token {
        case .start(let name, let selfClosing):
            let name = string(name)
            if selfClosing { pendingEnd = XMLEvent(kind: .end(name: name), line: tokenLine, column: tokenColumn) }
            kind = .start(name: name, attributes: attributes, selfClosing: selfClosing)
        case .end(let name):
            kind = .end(name: string(name))
        case .text(let range):
            kind = .text(try decodeText(range), cdata: false)
        case .cdata(let range):
            kind = .text(decode(range.lowerBound, range.upperBound), cdata: true)
        }
        return XMLEvent(kind: kind, line: tokenLine, column: tokenColumn)
    }

    /// The next token, its names and text left as ranges of the buffer (valid until the next
    /// `feed`), so a reader that knows what it expects can compare names and decode values
    /// without making a `String` for each. A self-closing tag is one `start` token. nil when more
    /// input is needed (or, after `finish`, at the end).
    public mutating func nextToken() throws(XMLSyntaxError) -> XMLToken? {
        if searched == 0, position < buffer.count, let token = try commonToken() { return token }
        while position < buffer.count {
            tokenLine = line
            tokenColumn = column
            if buffer[position] != UInt8(ascii: "<") {
                guard let lt = find(UInt8(ascii: "<"), from: max(position, searched)) ?? (atEnd ? buffer.count : nil) else { return waiting() }
                let text = position..<lt
                if contains(UInt8(ascii: "&"), in: text) { try checkEntities(text) }
                advance(to: lt)
                return .text(text)
            }
            // Markup. Wait for enough bytes to tell "<![CDATA[" from a tag.
            if !atEnd, buffer.count - position < 9 { return nil }
            if startsWith("<!--") {
                guard let end = find("-->", from: max(position + 4, searched - 2)) else { return try needMore("comment") }
                advance(to: end + 3)
                continue
            }
            if startsWith("<![CDATA[") {
                guard let end = find("]]>", from: max(position + 9, searched - 2)) else { return try needMore("CDATA section") }
                let text = (position + 9)..<end
                advance(to: end + 3)
                return .cdata(text)
            }
            if startsWith("<?") {
                guard let end = find("?>", from: max(position + 2, searched - 1)) else { return try needMore("processing instruction") }
                advance(to: end + 2)
                continue
            }
            if startsWith("<!") {
                guard let end = find(UInt8(ascii: ">"), from: max(position + 2, searched)) else { return try needMore("declaration") }
                if buffer[position..<end].contains(UInt8(ascii: "[")) {
                    throw XMLSyntaxError(line: line, column: column, message: "DOCTYPE internal subsets are not supported")
                }
                advance(to: end + 1)
                continue
            }
            guard let end = findTagEnd(from: position + 1) else { return try needMore("tag") }
            searchedQuote = 0
            if buffer[position + 1] == UInt8(ascii: "/") {
                var from = position + 2, to = end
                while from < to, isXMLSpace(buffer[from]) { from += 1 }
                while to > from, isXMLSpace(buffer[to - 1]) { to -= 1 }
                guard isName(from, to) else {
                    let name = String(decoding: buffer[from..<to], as: UTF8.self)
                    throw XMLSyntaxError(line: line, column: column, message: "malformed end tag '</\(name)>'")
                }
                advance(to: end + 1)
                return .end(name: from..<to)
            }
            let selfClosing = buffer[end - 1] == UInt8(ascii: "/")
            let name = try parseTag(position + 1, selfClosing ? end - 1 : end)
            advance(to: end + 1)
            return .start(name: name, selfClosing: selfClosing)
        }
        return nil
    }

    /// The tokens that make up nearly all of a response, each read in one pass over its bytes
    /// that also counts lines and columns: text up to the next '<', an end tag, a start tag
    /// without attributes. nil for anything else (comments, CDATA, attributes, a token not
    /// complete in the buffer, a malformed name), which the general path then reads, reporting
    /// any error.
    private mutating func commonToken() throws(XMLSyntaxError) -> XMLToken? {
        // The scan writes its findings into these locals rather than returning a token from the
        // closure: a large optional tuple returned through memory cost more than the scan.
        let atEnd = self.atEnd
        let start = position
        var end = 0, line = self.line, column = self.column
        var kind = 0   // 0: none, 1: text, 2: start tag, 3: self-closing start tag, 4: end tag
        var nameStart = 0, nameEnd = 0
        var references = false
        buffer.withUnsafeBufferPointer { bytes in
          self.byteClasses.withUnsafeBufferPointer { classes in
            let p = bytes.baseAddress!, n = bytes.count
            var i = start
            // Plain bytes cost one table lookup; the column is worked out at the end from the
            // bytes since the last newline less the UTF-8 continuation bytes among them.
            var continuation = 0
            if p[i] != UInt8(ascii: "<") {
                var lineStart = -1
                while i < n {
                    let b = p[i]
                    if classes[Int(b)] & Self.textClass == 0 {
                        i += 1
                        continue
                    }
                    if b == UInt8(ascii: "<") { break }
                    if b == 10 {
                        line += 1
                        lineStart = i + 1
                        continuation = 0
                    } else if b == UInt8(ascii: "&") {
                        references = true
                    } else {
                        continuation += 1
                    }
                    i += 1
                }
                if i == n, !atEnd { return }
                column = lineStart >= 0 ? 1 + (i - lineStart) - continuation : column + (i - start) - continuation
                end = i
                kind = 1
                return
            }
            // A tag: '<', an optional '/', a name, an optional '/' (start tags), '>'.
            i += 1
            guard i < n else { return }
            let closing = p[i] == UInt8(ascii: "/")
            if closing { i += 1 }
            nameStart = i
            guard i < n else { return }
            switch p[i] {
            case 48...57, 45, 46, 33, 63: return   // digit, '-', '.', '<!', '<?'
            default: break
            }
            while i < n {
                let b = p[i]
                if classes[Int(b)] & Self.nameClass == 0 {
                    i += 1
                    continue
                }
                if b == 62 || b == 47 { break }
                guard b & 0xC0 == 0x80 else { return }   // space, '<', '=', a quote or '&': the general path
                continuation += 1
                i += 1
            }
            column += (closing ? 2 : 1) + (i - nameStart) - continuation
            nameEnd = i
            guard nameEnd > nameStart, i < n else { return }
            var selfClosing = false
            if p[i] == 47 {
                guard !closing, i + 1 < n, p[i + 1] == 62 else { return }
                selfClosing = true
                i += 1
                column += 1
            }
            column += 1
            end = i + 1
            kind = closing ? 4 : selfClosing ? 3 : 2
          }
        }
        let token: XMLToken
        switch kind {
        case 1: token = .text(start..<end)
        case 2, 3: token = .start(name: nameStart..<nameEnd, selfClosing: kind == 3)
        case 4: token = .end(name: nameStart..<nameEnd)
        default: return nil
        }
        tokenLine = self.line
        tokenColumn = self.column
        if references { try checkEntities(start..<end) }
        if kind == 2 || kind == 3, !attributes.isEmpty { attributes = [] }
        self.line = line
        self.column = column
        position = end
        return token
    }

    /// Bytes `commonToken` must look at: in text ('<', newline, '&', UTF-8 continuation bytes)
    /// and in a tag name (what ends it, what the general path must read, continuation bytes).
    private static let textClass: UInt8 = 1, nameClass: UInt8 = 2
    private static let byteClasses: [UInt8] = (0...255).map { b -> UInt8 in
        var c: UInt8 = 0
        if b == 60 || b == 10 || b == 38 || b & 0xC0 == 0x80 { c |= textClass }
        if [62, 47, 32, 9, 10, 13, 60, 61, 34, 39, 38].contains(b) || b & 0xC0 == 0x80 { c |= nameClass }
        return c
    }

    /// The name or text at `range` of the last token, as it is (invalid UTF-8 replaced, not counted).
    public func string(_ range: Range<Int>) -> String {
        buffer.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Calls `body` with the bytes at `range` of the last token.
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws(XMLSyntaxError) -> R) throws(XMLSyntaxError) -> R {
        try buffer.withUnsafeBufferPointer { bytes throws(XMLSyntaxError) in try body(UnsafeBufferPointer(rebasing: bytes[range])) }
    }

    /// Appends the text at `range` of the last `text` token with its entity and character
    /// references decoded (for a `cdata` token, append `withBytes` as they are).
    public func appendText(_ range: Range<Int>, to out: inout [UInt8]) {
        buffer.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress, memchr(base + range.lowerBound, Int32(UInt8(ascii: "&")), range.count) != nil else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
                return
            }
            // `nextToken` checked the references, so this cannot fail.
            _ = try? Self.decodeReferences(UnsafeBufferPointer(rebasing: bytes[range]), into: &out, line: 0, column: 0)
        }
    }

    /// Counts a value that held invalid UTF-8 (kept with U+FFFD), found by a reader decoding
    /// token bytes itself; `invalidUTF8` and `firstInvalidUTF8` then cover both.
    public mutating func noteInvalidUTF8(line: Int, column: Int) {
        invalidUTF8 += 1
        if firstInvalidUTF8 == nil { firstInvalidUTF8 = (line, column) }
    }

    /// The position of the next event, for messages about the end of the input.
    public var currentLine: Int { line }
    public var currentColumn: Int { column }

    private mutating func needMore(_ what: String) throws(XMLSyntaxError) -> XMLToken? {
        if atEnd { throw XMLSyntaxError(line: line, column: column, message: "the document ends inside a \(what)") }
        return waiting()
    }

    /// Everything buffered has been searched; the next search starts where this one stopped.
    private mutating func waiting() -> XMLToken? {
        searched = buffer.count
        return nil
    }

    /// Bytes as text; invalid UTF-8 becomes U+FFFD and is counted.
    private mutating func decode(_ from: Int, _ to: Int) -> String {
        let text = buffer.withUnsafeBufferPointer { String(validatingUTF8Bytes: UnsafeBufferPointer(rebasing: $0[from..<to])) }
        if let text { return text }
        noteInvalidUTF8(line: tokenLine, column: tokenColumn)
        return String(decoding: buffer[from..<to], as: UTF8.self)
    }

    private func startsWith(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard position + count <= buffer.count else { return false }
        return text.withUTF8Buffer { text in
            for i in 0..<count where buffer[position + i] != text[i] { return false }
            return true
        }
    }

    private func find(_ byte: UInt8, from start: Int) -> Int? {
        buffer.withUnsafeBufferPointer { bytes in
            guard start < bytes.count, let base = bytes.baseAddress,
                  let found = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    private func contains(_ byte: UInt8, in range: Range<Int>) -> Bool {
        buffer.withUnsafeBufferPointer { bytes in
            guard !range.isEmpty, let base = bytes.baseAddress else { return false }
            return memchr(base + range.lowerBound, Int32(byte), range.count) != nil
        }
    }

    private func find(_ text: StaticString, from start: Int) -> Int? {
        let count = text.utf8CodeUnitCount
        return text.withUTF8Buffer { pattern -> Int? in
            var i = start
            while i + count <= buffer.count {
                if buffer[i] == pattern[0] {
                    var match = true
                    for j in 1..<count where buffer[i + j] != pattern[j] {
                        match = false
                        break
                    }
                    if match { return i }
                }
                i += 1
            }
            return nil
        }
    }

    /// The `>` ending a tag, skipping any inside quoted attribute values.
    private mutating func findTagEnd(from start: Int) -> Int? {
        // Most tags have no attributes: the first '>' ends them when no quote comes before it.
        if searched <= start, let gt = find(UInt8(ascii: ">"), from: start),
           !contains(34, in: start..<gt), !contains(39, in: start..<gt) {
            return gt
        }
        var quote: UInt8 = searched > start ? searchedQuote : 0
        var i = max(start, searched)
        while i < buffer.count {
            let b = buffer[i]
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == 34 || b == 39 {
                quote = b
            } else if b == UInt8(ascii: ">") {
                return i
            }
            i += 1
        }
        searchedQuote = quote
        return nil
    }

    /// Moves past the bytes up to `end`, keeping the line and column (in characters) of where
    /// the parser stands. Every byte of every document goes through here, so it counts eight
    /// bytes at a time the UTF-8 continuation bytes (which start no character).
    private mutating func advance(to end: Int) {
        searched = 0
        guard end > position else { return }
        buffer.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress!
            // Newlines are found with memchr (a token holds at most a few); the characters
            // after the last one give the column.
            var lineStart = position
            while let found = memchr(base + lineStart, 10, end - lineStart) {
                line += 1
                lineStart = base.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
                column = 1
            }
            column += Self.countCharacters(base + lineStart, end - lineStart)
        }
        position = end
    }

    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Bytes that are not UTF-8 continuation bytes (10xxxxxx).
    private static func countCharacters(_ start: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var continuation = 0, i = 0
        while i + 8 <= count {
            let word = UnsafeRawPointer(start + i).loadUnaligned(as: UInt64.self)
            continuation += (word & ~(word << 1) & highs).nonzeroBitCount
            i += 8
        }
        while i < count {
            if start[i] & 0xC0 == 0x80 { continuation += 1 }
            i += 1
        }
        return count - continuation
    }

    /// The name of the start tag between `from` and `to`; its attributes go to `attributes`.
    private mutating func parseTag(_ from: Int, _ to: Int) throws(XMLSyntaxError) -> Range<Int> {
        var i = from
        while i < to, !isXMLSpace(buffer[i]) { i += 1 }
        guard isName(from, i) else {
            throw XMLSyntaxError(line: line, column: column, message: "malformed start tag '<\(string(from..<i))'")
        }
        let nameRange = from..<i
        if !attributes.isEmpty { attributes = [] }
        while true {
            while i < to, isXMLSpace(buffer[i]) { i += 1 }
            if i >= to { break }
            let name = string(nameRange)
            let nameStart = i
            while i < to, buffer[i] != UInt8(ascii: "="), !isXMLSpace(buffer[i]) { i += 1 }
            let attrName = String(decoding: buffer[nameStart..<i], as: UTF8.self)
            while i < to, isXMLSpace(buffer[i]) { i += 1 }
            guard i < to, buffer[i] == UInt8(ascii: "=") else {
                throw XMLSyntaxError(line: line, column: column, message: "attribute '\(attrName)' of <\(name)> has no value")
            }
            i += 1
            while i < to, isXMLSpace(buffer[i]) { i += 1 }
            guard i < to, buffer[i] == 34 || buffer[i] == 39 else {
                throw XMLSyntaxError(line: line, column: column, message: "attribute '\(attrName)' of <\(name)> is not quoted")
            }
            let quote = buffer[i]
            i += 1
            let valueStart = i
            while i < to, buffer[i] != quote { i += 1 }
            guard i < to else { throw XMLSyntaxError(line: line, column: column, message: "unterminated attribute value in <\(name)>") }
            let value = valueStart..<i
            if contains(UInt8(ascii: "&"), in: value) { try checkEntities(value) }
            attributes.append((attrName, try decodeText(value)))
            i += 1
        }
        return nameRange
    }

    /// A loose XML name check on bytes: not empty, not starting with a digit, '-' or '.', and no
    /// space or markup character. (Checked per tag, so it must be cheap.)
    private func isName(_ from: Int, _ to: Int) -> Bool {
        buffer.withUnsafeBufferPointer { bytes in
            guard from < to else { return false }
            let first = bytes[from]
            guard !(first >= 48 && first <= 57), first != 45, first != 46 else { return false }
            for i in from..<to {
                switch bytes[i] {
                case 32, 9, 10, 13, 60, 62, 47, 61, 34, 39, 38: return false
                default: break
                }
            }
            return true
        }
    }


    /// Text with entity and character references decoded.
    private mutating func decodeText(_ range: Range<Int>) throws(XMLSyntaxError) -> String {
        guard contains(UInt8(ascii: "&"), in: range) else {
            return decode(range.lowerBound, range.upperBound)
        }
        var out: [UInt8] = []
        appendText(range, to: &out)
        if let text = out.withUnsafeBufferPointer({ String(validatingUTF8Bytes: $0) }) { return text }
        noteInvalidUTF8(line: tokenLine, column: tokenColumn)
        return String(decoding: out, as: UTF8.self)
    }

    private func checkEntities(_ range: Range<Int>) throws(XMLSyntaxError) {
        var scratch: [UInt8] = []
        try withBytes(range) { bytes throws(XMLSyntaxError) in
            try Self.decodeReferences(bytes, into: &scratch, line: tokenLine, column: tokenColumn)
        }
    }

    /// Appends `bytes` with the five named entities and character references decoded.
    private static func decodeReferences(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], line: Int, column: Int) throws(XMLSyntaxError) {
        var i = 0
        let to = bytes.count
        while i < to {
            let b = bytes[i]
            guard b == UInt8(ascii: "&") else {
                out.append(b)
                i += 1
                continue
            }
            guard let semi = bytes[i..<to].firstIndex(of: UInt8(ascii: ";")), semi - i <= 12 else {
                throw XMLSyntaxError(line: line, column: column, message: "'&' must start an entity such as &amp;")
            }
            let entity = String(decoding: UnsafeBufferPointer(rebasing: bytes[(i + 1)..<semi]), as: UTF8.self)
            switch entity {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(34)
            case "apos": out.append(39)
            default:
                var scalar: Unicode.Scalar? = nil
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                }
                guard let scalar else {
                    throw XMLSyntaxError(line: line, column: column, message: "unknown entity '&\(entity);'")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            i = semi + 1
        }
    }
}

/// Space as XML means it: space, tab, newline, carriage return.
@inline(__always) func isXMLSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }

extension String {
    public func trimmingXMLSpace() -> String {
        // Most values have nothing to trim: a first and last byte that are not XML space mean
        // the first and last characters are not either, so the value is returned as it is.
        if let first = utf8.first, let last = utf8.last, !isXMLSpace(first), !isXMLSpace(last) { return self }
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }

    public var isXMLWhitespace: Bool { utf8.allSatisfy(isXMLSpace) }
}

extension String {
    /// The bytes as text, or nil when they are not valid UTF-8. This runs for every text value
    /// of every page: `_tryFromUTF8` is the standard library's own fast validating constructor
    /// (the one `String(decoding:)` uses), where `String(validating:as:)` takes a generic path
    /// measured 5-10% slower on the whole parse.
    init?(validatingUTF8Bytes bytes: UnsafeBufferPointer<UInt8>) {
        guard let text = String._tryFromUTF8(bytes) else { return nil }
        self = text
    }
}
