// Text with invalid UTF-8 from a source is kept, with each bad sequence replaced by U+FFFD (as
// every reader here decodes it), and reported once per extract as a warning with the count and
// the first place, so a stray byte in one product description neither stops a nightly export
// nor passes unnoticed.
import Synchronization

final class InvalidText: Sendable {
    private let state = Mutex<(count: Int, first: String?)>((0, nil))

    /// Adds `count` values found at `place` ("page 3 at 12:40").
    func add(_ count: Int, at place: @autoclosure () -> String) {
        guard count > 0 else { return }
        let where_ = place()
        state.withLock {
            $0.count += count
            if $0.first == nil { $0.first = where_ }
        }
    }

    /// One warning, if anything was replaced.
    func report(to log: RunLog, origin: String) {
        let (count, first) = state.withLock { ($0.count, $0.first) }
        guard count > 0 else { return }
        log.warning("\(count) text value(s)\(origin.isEmpty ? "" : " " + origin) held invalid UTF-8 and were kept with U+FFFD in place of the bad bytes (first: \(first ?? "?"))")
    }
}
