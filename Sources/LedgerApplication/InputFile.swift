#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An input file that cannot be read: missing, a folder, not permitted.
public struct InputFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot read \(path): \(reason)" }
}

/// Reads whole inputs by streaming from a file descriptor (`open(2)` and a `read(2)` loop),
/// so that anything that can be read works the same: a plain file, a FIFO, a pipe,
/// `/dev/stdin`, a process substitution. (`FileManager.contents(atPath:)` returns nil for
/// FIFOs and pipes, which looked like a missing file.)
public enum InputFile {
    /// The bytes of the file at `path`, or of standard input for `-`.
    public static func read(_ path: String) throws(InputFileError) -> [UInt8] {
        if path == "-" { return try read(descriptor: 0, name: "standard input") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw InputFileError(path: path, reason: code == ENOENT ? "no such file" : String(cString: strerror(code)))
        }
        defer { close(descriptor) }
        return try read(descriptor: descriptor, name: path)
    }

    /// Everything readable from `descriptor` until its end.
    public static func read(descriptor: Int32, name: String) throws(InputFileError) -> [UInt8] {
        var info = stat()
        var bytes: [UInt8] = []
        if fstat(descriptor, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw InputFileError(path: name, reason: "it is a folder, not a file") }
            if (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        }
        let chunk = 1 << 20
        var failure: Int32 = 0
        while failure == 0 {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: chunk))
            let count = bytes.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return systemRead(descriptor, base + start, chunk)
            }
            if count < 0 {
                let code = errno
                bytes.removeSubrange(start...)
                if code == EINTR { continue }
                failure = code
            } else {
                bytes.removeSubrange((start + count)...)
                if count == 0 { return bytes }
            }
        }
        throw InputFileError(path: name, reason: String(cString: strerror(failure)))
    }
}

/// `read(2)` under one name on every platform (inside `InputFile`, `read` is its own method).
@inline(__always)
func systemRead(_ descriptor: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(descriptor, bytes, count)
    #else
    return Darwin.read(descriptor, bytes, count)
    #endif
}
