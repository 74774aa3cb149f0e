import Foundation

// MARK: - Temporary ledgers

/// A fresh directory under the temporary directory, with a ledger path inside it; every test
/// that touches files works in one and removes it when done.
public struct Workspace: Sendable {
    public let directory: URL
    public var db: String { directory.appendingPathComponent("ledger.db").path }

    public init(_ label: String = "ClientLedgerTests") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a file into the workspace and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// Runs `body` with a fresh workspace; always cleans up.
public func withWorkspace<R>(_ body: (Workspace) throws -> R) throws -> R {
    let workspace = try Workspace()
    defer { workspace.remove() }
    return try body(workspace)
}

/// The repository root (this file is at Tests/LedgerTestSupport/).
public func repositoryRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// POSIX permission bits of a file.
public func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}
