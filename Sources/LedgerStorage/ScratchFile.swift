import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary file with no name, for what a long run sets aside while it runs (an import's
/// planned events and the client states past its budget, a rebuild's events sorted by client
/// range). It is created on the first write in
/// `TMPDIR` (or `/tmp`), unlinked at once, and disappears when closed, however the process
/// ends. Reads and writes are positioned (`pread`/`pwrite`): nothing is mapped, so what it
/// holds is in the system's page cache, not in the process's memory.
public final class ScratchFile {
    /// What the file holds, for error messages ("the planned events").
    private let holding: String
    private var descriptor: Int32 = -1

    public init(holding: String) {
        self.holding = holding
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Writes `bytes` at `offset`, creating the file on the first write.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        if descriptor < 0 { descriptor = try openUnlinked() }
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress.map { $0 + written }, bytes.count - written, off_t(offset) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageError.backend("cannot keep \(holding) in a temporary file: \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }

    public func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// The `count` bytes at `offset`, which an earlier write put there.
    public func read(count: Int, at offset: Int64) throws -> [UInt8] {
        guard descriptor >= 0 || count == 0 else {
            throw StorageError.backend("cannot read \(holding) back: nothing was written to their temporary file")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        guard got == count else {
            throw StorageError.backend("cannot read \(holding) back from their temporary file: it ends \(count - got) bytes short")
        }
        return bytes
    }

    /// Reads up to `buffer.count` bytes at `offset` into `buffer`: fewer only at the end of
    /// what was written. Returns how many.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard descriptor >= 0 else { return 0 }
        var done = 0
        while done < buffer.count {
            let result = pread(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageError.backend("cannot read \(holding) back from their temporary file: \(String(cString: strerror(errno)))")
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// Closes the file, which gives its space back; a later write starts a new, empty one.
    public func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    private func openUnlinked() throws -> Int32 {
        let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((folder + "/clientledger-scratch-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { name in name.baseAddress.map { mkstemp($0) } ?? -1 }
        guard descriptor >= 0 else {
            throw StorageError.backend("cannot create a temporary file in \(folder) for \(holding): \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { name in _ = name.baseAddress.map { unlink($0) } }
        return descriptor
    }
}
