// Reads a file in chunks without loading it whole. Errors are the system's own words
// ("No such file or directory"); callers add which file it was.
import Foundation

final class FileReader {
    let path: String
    private var fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ETLError(String(cString: strerror(errno))) }
    }

    /// The next chunk of at most `count` bytes, or nil at the end of the file.
    func read(_ count: Int) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: count)
        let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, count) }
        if n < 0 { throw ETLError(String(cString: strerror(errno))) }
        if n == 0 { return nil }
        chunk.removeSubrange(n...)
        return chunk
    }

    deinit { close(fd) }
}
