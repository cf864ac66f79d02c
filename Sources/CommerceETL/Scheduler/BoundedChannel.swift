// A single-producer, single-consumer channel holding at most `capacity` elements.
// A full channel suspends the sender, which is how a slow load slows its extract
// (backpressure) instead of letting batches pile up in memory.
import DequeModule
import Synchronization

public final class BoundedChannel<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var buffer = Deque<Element>()
        var finished = false
        var failure: (any Error)? = nil
        var waitingReceiver: CheckedContinuation<Void, Never>? = nil
        var waitingSender: CheckedContinuation<Void, Never>? = nil
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Appends an element, waiting while the channel is full. Throws once the channel failed.
    public func send(_ element: Element) async throws {
        while true {
            try Task.checkCancellation()
            let sent: Bool = try state.withLock { s in
                if let failure = s.failure { throw failure }
                precondition(!s.finished, "send after finish")
                guard s.buffer.count < capacity else { return false }
                s.buffer.append(element)
                s.waitingReceiver.take()?.resume()
                return true
            }
            if sent { return }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s in
                        if s.failure != nil || s.buffer.count < capacity { return true }
                        s.waitingSender = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.fail(CancellationError())
            }
        }
    }

    /// The next element, or nil once the sender finished and the buffer is drained.
    public func receive() async throws -> Element? {
        while true {
            try Task.checkCancellation()
            let outcome: Element?? = try state.withLock { s in
                if let failure = s.failure { throw failure }
                if let element = s.buffer.popFirst() {
                    s.waitingSender.take()?.resume()
                    return .some(element)
                }
                if s.finished { return .some(nil) }
                return nil
            }
            if let outcome { return outcome }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s in
                        if s.failure != nil || s.finished || !s.buffer.isEmpty { return true }
                        s.waitingReceiver = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.fail(CancellationError())
            }
        }
    }

    /// No more elements will be sent; the receiver drains what is buffered.
    public func finish() {
        state.withLock { s in
            s.finished = true
            s.waitingReceiver.take()?.resume()
        }
    }

    /// Wakes both sides with `error`; every later call throws it.
    public func fail(_ error: any Error) {
        state.withLock { s in
            if s.failure == nil { s.failure = error }
            s.buffer.removeAll()
            s.waitingReceiver.take()?.resume()
            s.waitingSender.take()?.resume()
        }
    }

    /// Elements currently buffered (for tests and progress).
    public var count: Int { state.withLock { $0.buffer.count } }
}
