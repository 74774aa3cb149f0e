#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An import's input, mapped into memory rather than read into it: a regular file is mapped
/// as it is; anything else (standard input, a pipe, a FIFO) is first copied to a temporary
/// file, so that the input can be read twice (a batched import checks every line first) and
/// never has to fit in memory. Pages the import has read past are handed back
/// (`release(before:pass:)`), so its memory stays bounded whatever the size of the file.
/// Not for use from two threads at once: a caller with two readers serializes its calls.
public final class MappedInput {
    public let name: String
    private let base: UnsafeMutableRawPointer?
    public let count: Int
    /// How far each pass has handed pages back.
    private var released: [Int: Int] = [:]
    /// Pages are handed back in steps of at least this many bytes (one `madvise` each).
    private let releaseStep: Int
    /// Bytes handed back so far, over every pass.
    public private(set) var releasedBytes = 0

    public var buffer: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base?.assumingMemoryBound(to: UInt8.self), count: count)
    }

    /// Maps the file at `path` (or standard input for `-`).
    public init(_ path: String, releaseStep: Int = 4 << 20) throws(InputFileError) {
        name = path == "-" ? "standard input" : path
        self.releaseStep = max(releaseStep, 1)
        var descriptor: Int32 = 0
        if path != "-" {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                let code = errno
                throw InputFileError(path: path, reason: code == ENOENT ? "no such file" : String(cString: strerror(code)))
            }
        }
        defer { if path != "-" { close(descriptor) } }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw InputFileError(path: name, reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw InputFileError(path: name, reason: "it is a folder, not a file") }
        var mapped = descriptor
        var spooled: Int32 = -1
        if (info.st_mode & S_IFMT) != S_IFREG {
            spooled = try Self.spool(descriptor, name: name)
            mapped = spooled
            guard fstat(spooled, &info) == 0 else { throw InputFileError(path: name, reason: String(cString: strerror(errno))) }
        }
        defer { if spooled >= 0 { close(spooled) } }
        count = Int(info.st_size)
        guard count > 0 else {
            base = nil
            return
        }
        guard let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, mapped, 0), pointer != MAP_FAILED else {
            throw InputFileError(path: name, reason: "cannot be mapped: \(String(cString: strerror(errno)))")
        }
        base = pointer
        _ = madvise(pointer, count, Int32(MADV_SEQUENTIAL))
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// Hands back the pages `pass` has read before `offset` (they are read again from the
    /// file if needed, by this pass or another). Passes over the input may run one after the
    /// other or side by side (a batched import checks every line while it writes); each is
    /// followed on its own. An offset before the pass's last one starts it over (a reader
    /// going back to the start), and its pages are handed back in turn.
    public func release(before offset: Int, pass: Int = 0) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = min(offset, count) / page * page
        var from = released[pass] ?? 0
        if end < from { from = 0 }
        let last = count / page * page
        guard end - from >= releaseStep || (end == last && end > from) else {
            released[pass] = from
            return
        }
        _ = madvise(base + from, end - from, Int32(MADV_DONTNEED))
        releasedBytes += end - from
        released[pass] = end
    }

    /// Everything from `descriptor`, copied to an unlinked temporary file; returns its descriptor.
    private static func spool(_ descriptor: Int32, name: String) throws(InputFileError) -> Int32 {
        let folder = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(folder)/clientledger-input-XXXXXX".utf8CString)
        let file = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let path = buffer.baseAddress else { return -1 }
            let file = mkstemp(path)
            if file >= 0 { unlink(path) }
            return file
        }
        guard file >= 0 else { throw InputFileError(path: name, reason: "no temporary file for it: \(String(cString: strerror(errno)))") }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var failure: String?
        copying: while failure == nil {
            let read = chunk.withUnsafeMutableBytes { raw -> Int in
                guard let start = raw.baseAddress else { return 0 }
                return systemRead(descriptor, start, raw.count)
            }
            if read < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            if read == 0 { break }
            var written = 0
            while written < read {
                let step = chunk.withUnsafeBytes { raw -> Int in
                    guard let start = raw.baseAddress else { return -1 }
                    return write(file, start + written, read - written)
                }
                if step < 0, errno == EINTR { continue }
                guard step > 0 else {
                    failure = "cannot be copied to a temporary file: \(String(cString: strerror(errno)))"
                    break copying
                }
                written += step
            }
        }
        if let failure {
            close(file)
            throw InputFileError(path: name, reason: failure)
        }
        return file
    }
}

@available(*, unavailable)
extension MappedInput: Sendable {}
