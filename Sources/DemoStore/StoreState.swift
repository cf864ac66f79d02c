// The demo store's changing state: its clock, the records changed since generation, paging
// snapshots, and how often each request was seen (for fault injection).
import Synchronization

struct Snapshot: Sendable {
    var resource: XMLAPI.Resource
    var detailLevel: String
    /// Matching record indices, in the API's order (orders by date placed, products by date modified).
    var indices: IndexList
    var orderVersions: [Int: StoreState.Change]
    var productVersions: [Int: StoreState.Change]
}

public final class StoreState: Sendable {
    struct Change: Sendable {
        var version: Int
        var modified: Int64
    }

    private struct Data {
        var clock: Int64
        var orders: [Int: Change] = [:]
        var products: [Int: Change] = [:]
        var snapshots: [String: Snapshot] = [:]
        var seen: [UInt64: Int] = [:]
        var tokens: UInt64 = 0
        var inFlight = 0
        var maxInFlight = 0
        var requests = 0
        var tokensIssued = 0
        /// Orders marked as sent (Order Update tracking="sent", or a Get with tracking="automatic"), and when.
        var sent: [Int: Int64] = [:]
        /// How many times each order was marked sent.
        var sentCount: [Int: Int] = [:]
        /// Orders placed so far (the first N of the generated ones); the rest arrive later.
        var placed: Int
        var rateLimited = 0
        var requestTimes: [ContinuousClock.Instant] = []
    }

    let config: DemoStoreConfig
    private let data: Mutex<Data>

    init(config: DemoStoreConfig) {
        self.config = config
        data = Mutex(Data(clock: config.epoch, placed: config.orders))
    }

    var now: Int64 { data.withLock { $0.clock } }

    /// Changes an order (its status moves on and it counts as modified now); returns the new clock.
    @discardableResult
    public func changeOrder(index: Int) -> Int64 { change(\.orders, index) }

    /// Changes a product (its name gains a version suffix and it counts as modified now).
    @discardableResult
    public func changeProduct(index: Int) -> Int64 { change(\.products, index) }

    private func change(_ records: WritableKeyPath<Data, [Int: Change]>, _ index: Int) -> Int64 {
        data.withLock { d in
            d.clock += 1
            let version = (d[keyPath: records][index]?.version ?? 0) + 1
            d[keyPath: records][index] = Change(version: version, modified: d.clock)
            return d.clock
        }
    }

    func orderHeader(_ index: Int, versions: [Int: Change]? = nil) -> OrderHeader {
        let change = versions.map { $0[index] } ?? data.withLock { $0.orders[index] }
        return OrderGenerator.header(index: index, config: config, version: change?.version ?? 0, modifiedOverride: change?.modified)
    }

    func productHeader(_ index: Int, versions: [Int: Change]? = nil) -> ProductHeader {
        let change = versions.map { $0[index] } ?? data.withLock { $0.products[index] }
        return ProductGenerator.header(index: index, config: config, version: change?.version ?? 0, modifiedOverride: change?.modified)
    }

    var orderChanges: [Int: Change] { data.withLock { $0.orders } }
    var productChanges: [Int: Change] { data.withLock { $0.products } }

    func store(_ snapshot: Snapshot) -> String {
        data.withLock { d in
            d.tokens += 1
            let token = String(mix(config.seed, 7, d.tokens), radix: 16) + String(d.tokens, radix: 16)
            d.snapshots[token] = snapshot
            return token
        }
    }

    func snapshot(_ token: String) -> Snapshot? { data.withLock { $0.snapshots[token] } }

    /// Counts a request in; the most seen at once shows whether a client pages concurrently.
    func begin() {
        data.withLock { d in
            d.inFlight += 1
            d.requests += 1
            d.requestTimes.append(.now)
            d.maxInFlight = max(d.maxInFlight, d.inFlight)
        }
    }

    func end() { data.withLock { $0.inFlight -= 1 } }

    /// The most requests that were being answered at the same time.
    public var maxConcurrentRequests: Int { data.withLock { $0.maxInFlight } }
    /// Requests answered (or failed) so far.
    public var requestCount: Int { data.withLock { $0.requests } }

    /// Marks orders as sent now (tracking), or as not sent.
    public func setSent(_ indices: [Int], _ sent: Bool) {
        data.withLock { d in
            for i in indices {
                d.sent[i] = sent ? d.clock : nil
                if sent { d.sentCount[i, default: 0] += 1 }
            }
        }
    }

    /// How many times each order was marked sent (each should be once, unless it changed in between).
    public var sentCounts: [Int: Int] { data.withLock { $0.sentCount } }

    /// Orders placed so far: the API shows only the first `placedOrders` generated orders.
    public var placedOrders: Int { data.withLock { $0.placed } }

    /// New orders arrive: the API shows the first `count` generated orders (at most all of them).
    public func placeOrders(upTo count: Int) {
        data.withLock { d in d.placed = min(config.orders, max(d.placed, count)) }
    }

    /// Holds back all but the first `count` generated orders, as if the rest had not been placed yet.
    public func holdBackOrders(after count: Int) {
        data.withLock { d in d.placed = min(config.orders, count) }
    }

    /// When each order was marked sent.
    public var sentOrders: [Int: Int64] { data.withLock { $0.sent } }

    func countRateLimited() { data.withLock { $0.rateLimited += 1 } }
    /// Requests answered 429 by the AmeriCommerce API's own rate limit.
    public var rateLimitedCount: Int { data.withLock { $0.rateLimited } }
    /// When each request arrived, for checking a client's pace.
    public var requestTimes: [ContinuousClock.Instant] { data.withLock { $0.requestTimes } }

    func countToken() { data.withLock { $0.tokensIssued += 1 } }
    /// Aurora v2 access tokens issued so far.
    public var tokensIssued: Int { data.withLock { $0.tokensIssued } }

    /// How many times this exact request was seen before.
    func attempt(_ hash: UInt64) -> Int {
        data.withLock { d in
            let n = d.seen[hash, default: 0]
            d.seen[hash] = n + 1
            return n
        }
    }
}

/// Record indices of a snapshot: a plain range when nothing was filtered out, so a snapshot of
/// every order costs nothing however many orders there are.
enum IndexList: Sendable {
    case range(Range<Int>)
    case list([Int32])

    init() { self = .range(0..<0) }

    /// Adds the next matching index (indices arrive in increasing order, except for products,
    /// which are collected and sorted first). Stays a range while the matches are 0, 1, 2, ...
    mutating func append(_ index: Int) {
        switch self {
        case .range(let r) where r.upperBound == index: self = .range(r.lowerBound..<(index + 1))
        case .range(let r):
            var list = r.map(Int32.init)
            list.append(Int32(index))
            self = .list(list)
        case .list(var l):
            self = .range(0..<0)   // drop the reference so the append does not copy
            l.append(Int32(index))
            self = .list(l)
        }
    }

    var count: Int {
        switch self {
        case .range(let r): r.count
        case .list(let l): l.count
        }
    }

    func slice(_ bounds: Range<Int>) -> [Int] {
        switch self {
        case .range(let r): Array(r[(r.lowerBound + bounds.lowerBound)..<(r.lowerBound + bounds.upperBound)])
        case .list(let l): l[bounds].map(Int.init)
        }
    }
}
