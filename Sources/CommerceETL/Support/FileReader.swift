// Reads a file in chunks without loading it whole. Only regular files are read: a FIFO would
// block forever and a device such as /dev/zero never ends. `limit` caps what one file may hold.
// Errors are the system's own words ("No such file or directory"); callers add which file it was.
import Foundation

final class FileReader {
    let path: String
    private var fd: Int32
    private let limit: Int?
    private var total = 0

    init(path: String, limit: Int? = nil) throws {
        self.path = path
        self.limit = limit
        // Non-blocking, so that opening a FIFO with no writer returns at once.
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ETLError(String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ETLError(message)
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            let what = kind == S_IFDIR ? "a directory" : kind == S_IFIFO ? "a FIFO" : kind == S_IFCHR || kind == S_IFBLK ? "a device" : "a special file"
            throw ETLError("not a regular file (it is \(what))")
        }
        if let limit, Int(info.st_size) > limit { close(fd); throw Self.tooLarge(limit) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    }

    static func tooLarge(_ limit: Int) -> ETLError {
        ETLError("larger than the \(limit >> 20) MiB one file may hold")
    }

    /// The next chunk of at most `count` bytes, or nil at the end of the file.
    func read(_ count: Int) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: count)
        let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, count) }
        if n < 0 { throw ETLError(String(cString: strerror(errno))) }
        if n == 0 { return nil }
        total += n
        // The file may grow while it is read.
        if let limit, total > limit { throw Self.tooLarge(limit) }
        chunk.removeSubrange(n...)
        return chunk
    }

    deinit { close(fd) }
}
