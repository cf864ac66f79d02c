// One connection of a `postgres:` load, with SQL in and plain text out, and the client's errors
// turned into one line: the server's own message, or what stopped the connection.
import Foundation
import Logging
import NIOCore
import PostgresNIO

final class PostgresSession: @unchecked Sendable {
    // Used by one task at a time (the load's), like every LoadWriter; @unchecked so that the
    // commit action run at publish may hold it.
    let connection: PostgresConnection
    let url: PostgresURL
    private let logger: Logger
    private static let nextID = Mutex(0)

    /// The operation in flight, failed by the connection closing (see `whileOpen`).
    private let inFlight = InFlight()

    private final class InFlight: Sendable {
        let fail = Mutex<(@Sendable (any Error) -> Void)?>(nil)
        func take() -> (@Sendable (any Error) -> Void)? {
            fail.withLock { value in
                defer { value = nil }
                return value
            }
        }
    }

    private init(connection: PostgresConnection, url: PostgresURL, logger: Logger) {
        self.connection = connection
        self.url = url
        self.logger = logger
        let inFlight = self.inFlight
        connection.closeFuture.whenComplete { _ in inFlight.take()?(ConnectionLost()) }
    }

    /// Runs one operation of the connection, failing it when the connection closes first. The
    /// client can lose an operation begun as its connection broke (a COPY started on a closed
    /// connection waits forever), so the operation runs in a task of its own and the caller
    /// waits for whichever comes first: its end or the connection's.
    private func whileOpen<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        guard !connection.isClosed else { throw ConnectionLost() }
        let once = Once<T>()
        return try await withCheckedThrowingContinuation { continuation in
            once.continuation.withLock { $0 = continuation }
            inFlight.fail.withLock { $0 = { error in once.take()?.resume(throwing: error) } }
            if connection.isClosed { once.take()?.resume(throwing: ConnectionLost()) }
            Task {
                do {
                    let value = try await operation()
                    once.take()?.resume(returning: value)
                } catch {
                    once.take()?.resume(throwing: error)
                }
            }
        }
    }

    /// A continuation resumed once, by whichever of two racing parties takes it first.
    private final class Once<T: Sendable>: Sendable {
        let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)
        func take() -> CheckedContinuation<T, any Error>? {
            continuation.withLock { value in
                defer { value = nil }
                return value
            }
        }
    }

    /// Connects and makes `schema` the one unqualified names resolve to.
    static func open(_ url: PostgresURL, schema: String) async throws -> PostgresSession {
        var logger = Logger(label: "commerce-etl.postgres")
        logger.logLevel = .critical   // its errors come back as thrown errors, described below
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        let connection: PostgresConnection
        do {
            connection = try await connect(url, id: id, logger: logger)
        } catch {
            throw ETLError("cannot connect to \(url.shown): \(describe(postgres: error))")
        }
        let session = PostgresSession(connection: connection, url: url, logger: logger)
        do {
            let found = try await session.rows("SELECT count(*)::text FROM pg_namespace WHERE nspname = \(literal(schema))")
            guard found.first?.first == "1" else { throw ETLError("schema '\(schema)' does not exist in database '\(url.database)'") }
            try await session.execute("SET search_path TO \(quote(schema))")
        } catch {
            session.close()
            throw error
        }
        return session
    }

    /// Connects, authenticates and starts the session, or fails once `connect_timeout` has
    /// passed: a server that accepts the connection and never answers cannot hold the run.
    private static func connect(_ url: PostgresURL, id: Int, logger: Logger) async throws -> PostgresConnection {
        let configuration = try url.configuration()
        let waiting = Once<PostgresConnection>()   // the connection or the timer, whichever is first
        return try await withCheckedThrowingContinuation { continuation in
            waiting.continuation.withLock { $0 = continuation }
            let attempt = Task {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
                    if let waiter = waiting.take() {
                        waiter.resume(returning: connection)
                    } else {
                        try? await connection.close()   // it came too late
                    }
                } catch {
                    waiting.take()?.resume(throwing: error)
                }
            }
            Task {
                try? await Task.sleep(for: url.connectTimeout)
                guard let waiter = waiting.take() else { return }
                attempt.cancel()
                waiter.resume(throwing: ETLError("no answer within \(url.connectTimeout.components.seconds) s (connect_timeout)"))
            }
        }
    }

    func execute(_ sql: String) async throws {
        let connection = connection, logger = logger
        do {
            _ = try await whileOpen { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
        } catch {
            throw ETLError("\(url.shown): \(describe(postgres: error))")
        }
    }

    /// The rows of a query whose columns are all text (cast them with `::text`).
    func rows(_ sql: String) async throws -> [[String?]] {
        let connection = connection, logger = logger
        do {
            return try await whileOpen {
                var out: [[String?]] = []
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                    var values: [String?] = []
                    for cell in row { values.append(try cell.decode(String?.self)) }
                    out.append(values)
                }
                return out
            }
        } catch {
            throw ETLError("\(url.shown): \(describe(postgres: error))")
        }
    }

    /// The first column of the first row as an integer (a count or a max), 0 when there is none.
    func integer(_ sql: String) async throws -> Int64 {
        try await rows(sql).first?.first.flatMap { $0.flatMap { Int64($0) } } ?? 0
    }

    /// `COPY table (columns) FROM STDIN` in text format, the rows given by `body` in chunks.
    func copy(into table: String, columns: [String], _ body: @escaping @Sendable (PostgresCopyFromWriter) async throws -> Void) async throws {
        let connection = connection, logger = logger
        do {
            try await whileOpen { try await connection.copyFrom(table: table, columns: columns, logger: logger, writeData: body) }
        } catch let error as ETLError {
            throw error
        } catch {
            throw ETLError("\(url.shown): \(describe(postgres: error))")
        }
    }

    /// A session let go on any path that did not close it still closes its connection: the
    /// client requires it (a debug build asserts; a resumed run that failed in its load once
    /// ended that way), and the server would otherwise keep the connection, and its open
    /// transaction, until the process ends.
    deinit {
        if !connection.isClosed { close() }
    }

    /// Closes the connection; the server rolls back a transaction left open.
    func close() {
        // The connection is kept until it has closed (the client insists on that).
        let connection = self.connection
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// The columns of a table in `schema` and their types, or nil when it does not exist. Read
    /// from the catalog, which (unlike information_schema) shows tables the user may not use.
    func columns(of table: String, schema: String) async throws -> [(String, String)]? {
        let found = try await rows("""
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(literal(schema)) AND c.relname = \(literal(table)) AND c.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """)
        return found.isEmpty ? nil : found.map { ($0[0] ?? "", $0[1] ?? "") }
    }

    /// The tables of `schema` whose names start with `prefix`, shortest first (so parents before children).
    func tables(prefix: String, schema: String) async throws -> [String] {
        try await rows("""
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(literal(schema)) AND c.relkind IN ('r', 'p')
              AND left(c.relname, \(prefix.unicodeScalars.count)) = \(literal(prefix))
            ORDER BY length(c.relname), c.relname
            """).compactMap { $0.first ?? nil }
    }
}

/// An identifier, quoted: a field called `order` or `drop table` is just a name.
func quote(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

/// A string literal.
func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

/// The connection closed while an operation waited on it.
private struct ConnectionLost: Error {}

/// The server's message (with its SQLSTATE when it says more), or what broke the connection.
func describe(postgres error: any Error) -> String {
    if error is ConnectionLost { return "the server closed the connection" }
    if let error = error as? IOError { return "the connection was lost (\(String(cString: strerror(error.errnoCode))))" }
    if let error = error as? PSQLError {
        if let info = error.serverInfo, let message = info[.message] {
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return message + detail
        }
        if let underlying = error.underlying { return describe(tls: underlying) ?? describe(postgres: underlying) }
        switch error.code {
        case .serverClosedConnection: return "the server closed the connection"
        case .connectionError: return "the connection failed"
        case .sslUnsupported: return "the server does not offer TLS (sslmode=require or verify-full needs it)"
        default: return "\(error.code)"
        }
    }
    return describe(error)
}

/// A TLS failure in the terms of `sslmode`, or nil for another error.
private func describe(tls error: any Error) -> String? {
    if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
        return "the server's TLS certificate does not name the host connected to (sslmode=verify-full)"
    }
    if case .handshakeFailed(let reason) = error as? NIOSSLError {
        if "\(reason)".contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's TLS certificate is not signed by a trusted certificate authority (sslmode=verify-full; give the authority's certificate with sslrootcert=FILE)"
        }
        return "the TLS handshake failed"
    }
    return nil
}

import NIOSSL
import Synchronization
