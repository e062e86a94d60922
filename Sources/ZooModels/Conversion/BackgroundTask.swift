import Foundation
import ZooTensor

/// A throwing computation on a thread of its own (the machine's second core), joined with
/// `value()`. Conversions run source hashing and the tokenizer check this way beside the
/// tensor streaming.
final class BackgroundTask<T>: @unchecked Sendable {
    private var result: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.start()
    }

    /// Waits for the computation; rethrows what it threw.
    func value() throws -> T {
        done.wait()
        done.signal()  // later calls return at once
        guard let result else { throw ZooError("internal: a background task ended without a result") }
        return try result.get()
    }
}
