import Foundation
import LedgerStore

extension Ledger {
    /// Imports a JSON Lines input (SPEC §2).
    ///
    /// In one transaction (the default) parsing runs on a second thread while this one runs
    /// the policies and writes: a bad line anywhere rolls everything back, so nothing is
    /// committed unless every line is valid. With `batchSize`, the whole input is parsed and
    /// checked before the first batch is written (see `importEvents(_:batchSize:progress:)`).
    public func importJSONLines(
        _ input: UnsafeBufferPointer<UInt8>, batchSize: Int? = nil, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        if batchSize != nil {
            return try importEvents(
                ImportLineParser.parseAll(input), batchSize: batchSize, progress: progress, batchCommitted: batchCommitted)
        }
        let queue = ParsedChunks(capacity: 32)
        let source = UncheckedBuffer(input)
        let parser = Thread {
            var reader = ImportLineParser.LineReader(source.buffer)
            do throws(InputError) {
                while let chunk = try reader.next(upTo: 2_048) {
                    guard queue.put(chunk) else { break }
                }
                queue.finish(nil)
            } catch {
                queue.finish(error)
            }
        }
        parser.stackSize = 8 << 20
        parser.start()
        defer {
            queue.cancel()
            queue.waitUntilParserStopped()
        }
        return try importStream(progress: progress) { try queue.take() }
    }
}

/// An input buffer handed to the parser thread; the caller keeps it alive until the
/// import returns (the import waits for the parser thread).
private struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }
}

/// A bounded hand-off of parsed chunks from the parser thread to the writer.
final class ParsedChunks: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[IncomingEvent]] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var parserStopped = false
    private var failure: InputError?
    private var cancelled = false

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds a chunk; false when the writer has given up.
    func put(_ chunk: [IncomingEvent]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count - head >= capacity, !cancelled { condition.wait() }
        guard !cancelled else { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    func finish(_ error: InputError?) {
        condition.lock()
        finished = true
        parserStopped = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, nil at the end; throws the parser's error once every chunk before
    /// the bad line has been taken.
    func take() throws -> [IncomingEvent]? {
        condition.lock()
        defer { condition.unlock() }
        while head == chunks.count, !finished { condition.wait() }
        if head < chunks.count {
            let chunk = chunks[head]
            chunks[head] = []
            head += 1
            if head > 64 {
                chunks.removeFirst(head)
                head = 0
            }
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilParserStopped() {
        condition.lock()
        while !parserStopped { condition.wait() }
        condition.unlock()
    }
}
