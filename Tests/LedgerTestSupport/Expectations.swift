import Foundation
import LedgerCore
import Testing

/// Expects `body` to throw an `E` and returns it (Swift 6.3.1 miscompiles some nested
/// `#expect(throws:)` closures).
@discardableResult
public func expectError<E: Error>(
    _ errorType: E.Type, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> E? {
    do {
        try body()
    } catch let error as E {
        return error
    } catch {
        Issue.record("expected \(E.self), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
    Issue.record("expected \(E.self) to be thrown, nothing was thrown", sourceLocation: sourceLocation)
    return nil
}

/// A moment from an ISO-8601 text; tests only write valid ones.
public func at(_ text: String) -> Timestamp {
    guard let moment = Timestamp(iso8601: text) else { fatalError("bad test timestamp \(text)") }
    return moment
}

extension Timestamp {
    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + seconds * 1000)
    }
}
