// Where values are written as text: a byte array, or an `OutputBuffer` that the loads fill with
// every cell of every row. The writers (JSON, CSV cells, numbers, dates) are generic over this, so
// one implementation serves both and is specialised for each.

public protocol ByteOutput: ~Copyable {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeBufferPointer<UInt8>)
    /// Lets `body` write at most `maxCount` bytes straight into the output's free space; it
    /// returns how many it wrote. For numbers, whose few bytes are not worth a copy each.
    mutating func append(upTo maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int)
}

extension ByteOutput where Self: ~Copyable {
    @inline(__always) public mutating func append(_ text: String) {
        if let done: Void = text.utf8.withContiguousStorageIfAvailable({ append(bytes: $0) }) { return done }
        for byte in text.utf8 { append(byte) }
    }

    @inline(__always) public mutating func append(_ byte: UInt8, count: Int) {
        for _ in 0..<max(0, count) { append(byte) }
    }
}

extension Array: ByteOutput where Element == UInt8 {
    @inline(__always) public mutating func append(bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }

    public mutating func append(upTo maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxCount) { scratch in
            let written = body(scratch.baseAddress!)
            append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<written]))
        }
    }
}

/// A growable byte buffer without the per-append uniqueness check and bookkeeping of `[UInt8]`:
/// appending a byte is a bounds compare and a store. Owned by one writer (not copyable).
public struct OutputBuffer: ~Copyable, ByteOutput {
    private var base: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int

    public init(capacity: Int = 1 << 17) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) public mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always) public mutating func append(bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress else { return }
        if capacity - count < bytes.count { grow(to: count + bytes.count) }
        (base + count).update(from: from, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) public mutating func append(upTo maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        if capacity - count < maxCount { grow(to: count + maxCount) }
        count += body(base + count)
    }

    /// At least `count` more bytes fit after this without growing.
    public mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, capacity &* 2)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    public mutating func removeAll() { count = 0 }

    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }
}
