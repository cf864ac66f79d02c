// A run's outputs appear together or not at all. Before anything is committed or renamed, every
// target is checked: nothing in the way (a directory where a file goes) and a directory that can
// be written. What is checked here cannot then fail half way through publishing.
import Foundation

enum OutputTargets {
    static func check(_ finals: [String]) throws {
        for path in finals {
            var info = stat()
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                throw ETLError("cannot publish \(path): a directory of that name is in the way")
            }
            // The nearest directory that exists is the one the file (or its new directories) goes into.
            var dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            while lstat(dir, &info) != 0 {
                let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
                if parent == dir { break }
                dir = parent
            }
            guard stat(dir, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ETLError("cannot publish \(path): \(dir) is not a directory")
            }
            guard access(dir, W_OK) == 0 else {
                throw ETLError("cannot publish \(path): cannot write in \(dir): \(String(cString: strerror(errno)))")
            }
        }
    }
}
