// What a demo store holds and how it behaves.

public struct DemoStoreConfig: Sendable {
    /// Orders generated (ids from 1000000).
    public var orders: Int
    /// Products generated (ids from 1).
    public var products: Int
    /// Same seed, same data, byte for byte.
    public var seed: UInt64
    /// The store's clock starts here (2026-01-01T00:00:00Z): generated history ends at it, and
    /// `Interval` filters count back from it. Each change made to the data moves it on a second,
    /// so runs are repeatable whatever the wall clock says.
    public var epoch: Int64
    /// Added to every response.
    public var latency: Duration
    /// Faults injected into responses.
    public var faults: FaultPlan
    /// The `AuthToken` requests must carry; nil accepts any non-empty token.
    public var token: String?
    /// The largest `Paging.Limit` accepted.
    public var maxPageSize: Int
    /// Aurora v2: seconds an access token lives.
    public var tokenLifetime: Int = 3600
    /// Aurora v2: the client secret required; nil accepts any non-empty one.
    public var clientSecret: String? = nil
    /// AmeriCommerce: requests per second allowed before answering 429; nil for no limit.
    public var requestsPerSecond: Int? = nil

    public static let defaultEpoch: Int64 = 1_767_225_600
    /// The most orders or products a store generates (ids and dates stay in range).
    public static let maxRecords = 10_000_000

    public init(orders: Int = 1000, products: Int = 200, seed: UInt64 = 7, epoch: Int64 = DemoStoreConfig.defaultEpoch,
                latency: Duration = .zero, faults: FaultPlan = FaultPlan(), token: String? = nil, maxPageSize: Int = 1000) {
        self.orders = orders
        self.products = products
        self.seed = seed
        self.epoch = epoch
        self.latency = latency
        self.faults = faults
        self.token = token
        self.maxPageSize = maxPageSize
    }
}
