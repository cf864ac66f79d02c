// A channel holding at most `capacity` elements, with one consumer and a fixed number of
// producers (one, except for a quarantine file several stages write to). A full channel suspends
// its senders, which is how a slow load slows its extract (backpressure) instead of letting
// batches pile up in memory. It is finished once every producer has finished.
import DequeModule
import Synchronization

public final class BoundedChannel<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var buffer = Deque<Element>()
        var finished = false
        var failure: (any Error)? = nil
        var waitingReceiver: CheckedContinuation<Void, Never>? = nil
        var waitingSenders = Deque<CheckedContinuation<Void, Never>>()
        var producers: Int
    }

    public let capacity: Int
    private let state: Mutex<State>

    public init(capacity: Int, producers: Int = 1) {
        precondition(capacity > 0 && producers > 0)
        self.capacity = capacity
        state = Mutex(State(producers: producers))
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
                        s.waitingSenders.append(continuation)
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
                    s.waitingSenders.popFirst()?.resume()
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

    /// One producer will send no more; once all have finished, the receiver drains what is buffered.
    public func finish() {
        state.withLock { s in
            s.producers -= 1
            guard s.producers <= 0 else { return }
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
            while let sender = s.waitingSenders.popFirst() { sender.resume() }
        }
    }

    /// Elements currently buffered (for tests and progress).
    public var count: Int { state.withLock { $0.buffer.count } }
}
