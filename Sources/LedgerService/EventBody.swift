import Foundation
import LedgerCore
import LedgerDomain

/// A `POST /events` body read into facts: one JSON object, a JSON array of them, or JSON
/// Lines (NDJSON), each object in the import line format. Every form goes through the one
/// import-line parser; an array's elements are numbered as lines 1, 2, … in the order given.
enum EventBody {
    enum Form: String { case object, array, lines }

    static func parse(_ bytes: [UInt8], expectedVersionHeader: String?) throws -> (events: [IncomingEvent], form: Form) {
        guard let first = bytes.firstIndex(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else {
            throw Problem.badRequest("the body holds no event (send one JSON object, an array of them, or JSON Lines)")
        }
        var form = Form.lines
        var lines = bytes
        if bytes[first] == UInt8(ascii: "[") {
            form = .array
            let value: JSONValue
            do {
                value = try bytes.withUnsafeBufferPointer { try JSONParser.parse($0) }
            } catch {
                throw Problem.badRequest("the body is not a JSON array of events: \(error)")
            }
            guard case .array(let elements) = value else { throw Problem.badRequest("the body is not a JSON array of events") }
            guard !elements.isEmpty else { throw Problem.badRequest("the array holds no event") }
            lines = []
            for (index, element) in elements.enumerated() {
                guard case .object = element else {
                    var problem = Problem.badRequest("element \(index) of the array is \(element.kindName), not an event object")
                    problem.line = index + 1
                    problem.index = index
                    throw problem
                }
                var w = JSONWriter(capacity: 256)
                w.value(element)
                lines += Array(w.text.utf8)
                lines.append(0x0A)
            }
        } else if bytes[first] == UInt8(ascii: "{"), bytes.contains(0x0A),
                  let value = try? bytes.withUnsafeBufferPointer({ try JSONParser.parse($0) }), case .object = value {
            // One object written over several lines: one event.
            form = .object
            var w = JSONWriter(capacity: 256)
            w.value(value)
            lines = Array(w.text.utf8)
        }
        var events: [IncomingEvent]
        do {
            events = try lines.withUnsafeBufferPointer { try ImportLineParser.parseAll($0) }
        } catch {
            var problem = Problem.from(error, parsing: true)
            if form == .array, let line = problem.line { problem.index = line - 1 }
            throw problem
        }
        if form == .lines, events.count == 1 { form = .object }
        if let header = expectedVersionHeader {
            guard let expected = Int64(header.trimmingCharacters(in: .whitespaces)), expected >= 0 else {
                throw Problem.badRequest("Expected-Version must be a whole number of 0 or more, found \"\(header)\"", field: "Expected-Version")
            }
            guard events.count == 1 else {
                throw Problem.badRequest("Expected-Version applies to one event; this body holds \(events.count) (give each its expectedVersion field)", field: "Expected-Version")
            }
            if let given = events[0].expectedVersion, given != expected {
                throw Problem.badRequest("Expected-Version \(expected) disagrees with the event's expectedVersion \(given)", field: "Expected-Version")
            }
            events[0].expectedVersion = expected
        }
        return (events, form)
    }
}
