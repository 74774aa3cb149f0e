import Foundation
import LedgerCore

/// Plain text tables for people: aligned columns, every cell escaped for display.
public enum TextTable {
    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        let cells = rows.map { $0.map { $0.escapedForDisplay() } }
        var widths = header.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 || index >= widths.count ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + cells.map(line)).joined(separator: "\n")
    }
}

/// CSV fields (RFC 4180), escaped for display like every other output.
public enum CSV {
    public static func row(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",")
    }

    public static func field(_ text: String) -> String {
        let safe = text.escapedForDisplay()
        guard safe.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return safe }
        return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// JSON output of records (schemas/output-conventions.md): keys sorted, pretty, amounts as
/// decimal strings (`Money` encodes so), moments as ISO-8601 (`Timestamp` encodes so), absent
/// values as `null` (`@NullEncoded`), display-changing characters escaped.
public enum OutputJSON {
    public static func text<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(value), as: UTF8.self)
        // Such characters can only stand inside JSON strings, where a \u escape means the same.
        guard json.unicodeScalars.contains(where: { $0.value >= 0x7F && $0.changesDisplay }) else { return json }
        var escaped = ""
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x7F, scalar.changesDisplay {
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
