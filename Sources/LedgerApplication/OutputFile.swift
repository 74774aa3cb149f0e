#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written so that a reader never finds half of it: the bytes go to a temporary file
/// in the target's folder, created with mode 0600 whatever the umask (exports and seeded
/// data hold personal data), and only once everything is written and on disk (`fsync`) is it
/// renamed over the target. A failure, or an `OutputFile` dropped without `commit()`,
/// removes the temporary file: the target is either the complete new file or untouched.
///
/// A target that exists and is not a plain file — a device (`/dev/full`), a FIFO, a symbolic
/// link (`/dev/stdout`) — is written in place instead: renaming over it would replace the
/// device or the link rather than write to it. Such a target gets no temporary file, and a
/// failure there can leave what was written so far.
public final class OutputFile {
    /// The path the caller asked for.
    public let path: String
    private let output: CheckedOutput
    /// The temporary file being written, renamed to `path` on commit; nil when writing in place.
    private let temporaryPath: String?
    private var descriptor: Int32
    private var done = false

    /// Opens `path` for writing. Throws when its folder does not exist or cannot be written.
    public init(path: String) throws(OutputError) {
        self.path = path
        var info = stat()
        let exists = lstat(path, &info) == 0
        if exists, (info.st_mode & S_IFMT) != S_IFREG {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw OutputError(target: path, reason: "it is a folder") }
            descriptor = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
            guard descriptor >= 0 else { throw OutputError(target: path, errno: errno) }
            temporaryPath = nil
        } else {
            let folder = Self.folder(of: path)
            var folderInfo = stat()
            guard stat(folder, &folderInfo) == 0 else {
                throw errno == ENOENT
                    ? OutputError(target: path, reason: "the folder \(folder) does not exist (create it first)")
                    : OutputError(target: path, errno: errno)
            }
            guard (folderInfo.st_mode & S_IFMT) == S_IFDIR else {
                throw OutputError(target: path, reason: "\(folder) is not a folder")
            }
            let name = String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "output")
            var template = Array((folder + "/." + name + ".tmp-XXXXXX").utf8CString)
            descriptor = template.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return -1 }
                return mkstemp(base)
            }
            guard descriptor >= 0 else { throw OutputError(target: path, errno: errno) }
            temporaryPath = template.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { String(cString: $0) } ?? ""
            }
            // mkstemp already uses 0600; say so explicitly, whatever the platform does.
            _ = fchmod(descriptor, 0o600)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        output = CheckedOutput(descriptor: descriptor, target: path, bufferSize: 1 << 20)
    }

    deinit {
        if !done { discard() }
    }

    /// Appends the UTF-8 of `text`.
    public func write(_ text: String) throws(OutputError) {
        do {
            try output.write(text)
        } catch {
            throw failed(error)
        }
    }

    /// Appends `text` and a line feed.
    public func line(_ text: String) throws(OutputError) {
        try write(text + "\n")
    }

    /// Writes out the rest, forces it to disk and puts the file in place. After a failure
    /// nothing is left behind.
    public func commit() throws(OutputError) {
        guard !done else { return }
        do {
            try output.flush()
        } catch {
            throw failed(error)
        }
        guard let temporaryPath else {
            done = true
            closeDescriptor()
            return
        }
        if fsync(descriptor) != 0 { throw failed(OutputError(target: path, errno: errno)) }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 { throw failed(OutputError(target: path, errno: errno)) }
        if rename(temporaryPath, path) != 0 { throw failed(OutputError(target: path, errno: errno)) }
        done = true
        // The rename itself is on disk only once the folder is.
        let folder = open(Self.folder(of: path), O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }

    /// Abandons the output: closes it and removes the temporary file.
    public func discard() {
        guard !done else { return }
        done = true
        output.discardBuffer()
        closeDescriptor()
        if let temporaryPath { unlink(temporaryPath) }
    }

    /// Discards the output and returns the error, saying whether a partial file was removed.
    private func failed(_ error: OutputError) -> OutputError {
        discard()
        var error = error
        error.partialFileRemoved = temporaryPath != nil
        return error
    }

    private func closeDescriptor() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// The folder a path is in ("." for a bare name).
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }
}

@available(*, unavailable)
extension OutputFile: Sendable {}
