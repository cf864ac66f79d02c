// Where a `postgres:` load connects: `postgres://user:password@host:port/database?sslmode=...`,
// usually `${DATABASE_URL}`. The password is registered as a secret when the URL is read, and
// only `shown` (the URL without it) ever goes into a message, the plan or the manifest.
import Foundation
import NIOSSL
import PostgresNIO

struct PostgresURL: Sendable, Equatable {
    enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not checked.
        case require
        /// TLS, the certificate checked against the trusted roots (or `sslrootcert`) and the host name.
        case verifyFull = "verify-full"
    }

    var user: String
    var password: String?
    var host: String
    var port: Int
    var database: String
    var sslMode: SSLMode
    /// A PEM file of the certificate authorities to trust for `verify-full`.
    var rootCertificate: String?
    /// How long connecting may take (`connect_timeout`, in seconds, as libpq's).
    var connectTimeout: Duration = .seconds(10)

    /// The URL as it may be shown: no password.
    var shown: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// Parses `text`; the error names what is wrong without repeating the URL (it may hold a password).
    static func parse(_ text: String) throws(ETLError) -> PostgresURL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql" else {
            throw ETLError("is not a postgres:// URL (postgres://user:password@host:port/database?sslmode=require)")
        }
        guard let user = components.user, !user.isEmpty else { throw ETLError("names no user (postgres://USER@host/database)") }
        guard let host = components.host, !host.isEmpty else { throw ETLError("names no host (postgres://user@HOST/database)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw ETLError("names no database (postgres://user@host/DATABASE)") }
        if let port = components.port, !(1...65_535).contains(port) { throw ETLError("has a port outside 1-65535") }
        var mode = SSLMode.prefer
        var rootCertificate: String?
        var timeout = 10
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = SSLMode(rawValue: value) else {
                    throw ETLError("has sslmode '\(item.value ?? "")'; expected one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                mode = parsed
            case "sslrootcert":
                rootCertificate = item.value
            case "connect_timeout":
                guard let value = item.value, let seconds = Int(value), (1...600).contains(seconds) else {
                    throw ETLError("has connect_timeout '\(item.value ?? "")'; expected a number of seconds from 1 to 600")
                }
                timeout = seconds
            default:
                throw ETLError("has the parameter '\(item.name)'; known: sslmode, sslrootcert, connect_timeout")
            }
        }
        return PostgresURL(user: user.removingPercentEncoding ?? user, password: components.password?.removingPercentEncoding ?? components.password,
                           host: host, port: components.port ?? 5432, database: database.removingPercentEncoding ?? database,
                           sslMode: mode, rootCertificate: rootCertificate, connectTimeout: .seconds(timeout))
    }

    /// The client's settings for this URL.
    func configuration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case .disable:
            tls = .disable
        case .prefer, .require:
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = .none
            let context = try NIOSSLContext(configuration: config)
            tls = sslMode == .prefer ? .prefer(context) : .require(context)
        case .verifyFull:
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = .fullVerification
            if let rootCertificate {
                do {
                    config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
                } catch {
                    throw ETLError("sslrootcert \(rootCertificate): cannot read the certificates (\(error))")
                }
            }
            tls = .require(try NIOSSLContext(configuration: config))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(connectTimeout.components.seconds * 1000)
        // The client checks the certificate against the host name (sent in SNI), or, for an IP
        // address (which SNI cannot carry), against the address it connected to.
        return configuration
    }
}
