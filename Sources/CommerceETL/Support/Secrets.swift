// Secrets a run knows (API tokens, client secrets, access tokens it was given, passwords in
// URLs) are taken out of every message it prints or keeps: errors, warnings, notes and the
// summary. Messages are built in many places, some from text a server sent back (which may echo
// the request that carried the secret), so the redaction happens where text leaves the process.
import Synchronization

public enum Secrets {
    private static let known = Mutex<Set<String>>([])
    /// Shorter values are not redacted: they would mangle ordinary text, and no real credential is this short.
    static let minimumLength = 6
    /// Placeholders that stand for no credential (the demo store's).
    static let placeholders: Set<String> = ["demo"]
    public static let mask = "[redacted]"

    /// Remembers `value` (and its URL-encoded form) as a secret.
    public static func register(_ value: String) {
        guard value.count >= minimumLength, !placeholders.contains(value) else { return }
        known.withLock {
            $0.insert(value)
            if let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != value { $0.insert(encoded) }
        }
    }

    /// `text` with every known secret, and any password in a URL, replaced by `[redacted]`.
    public static func redact(_ text: String) -> String {
        var out = text
        let secrets = known.withLock { $0 }.sorted { $0.count > $1.count }
        for secret in secrets where out.contains(secret) { out = out.replacingOccurrences(of: secret, with: mask) }
        return redactURLPasswords(out)
    }

    /// `scheme://user:password@host` -> `scheme://user:[redacted]@host`.
    static func redactURLPasswords(_ text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        return text.replacingOccurrences(of: #"(://[^/\s:@]+):[^@\s/]+@"#, with: "$1:\(mask)@", options: .regularExpression)
    }
}

import Foundation
