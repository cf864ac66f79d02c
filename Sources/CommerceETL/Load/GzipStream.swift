// Streaming gzip compression through zlib. The header carries no timestamp or file name,
// so the same input always gives the same bytes.
import CZlib

public final class GzipStream {
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 1 << 16)
    private var finished = false

    public init(level: Int32 = 6) throws {
        // windowBits 15 + 16 asks zlib for a gzip wrapper instead of zlib's own.
        let rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw ETLError("cannot start gzip compression (zlib error \(rc))") }
    }

    /// Compresses `input`, passing every produced chunk to `sink`.
    public func compress(_ input: [UInt8], sink: ([UInt8]) throws -> Void) throws {
        try run(input, flush: Z_NO_FLUSH, sink: sink)
    }

    /// Ends the gzip member and writes its trailer.
    public func finish(sink: ([UInt8]) throws -> Void) throws {
        guard !finished else { return }
        try run([], flush: Z_FINISH, sink: sink)
        finished = true
        deflateEnd(&stream)
    }

    private func run(_ input: [UInt8], flush: Int32, sink: ([UInt8]) throws -> Void) throws {
        var input = input
        try input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                let (rc, produced): (Int32, Int) = out.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    let rc = deflate(&stream, flush)
                    return (rc, outBuf.count - Int(stream.avail_out))
                }
                guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                    throw ETLError("gzip compression failed (zlib error \(rc))")
                }
                if produced > 0 { try sink(Array(out[0..<produced])) }
                if flush == Z_FINISH, rc == Z_STREAM_END { break }
                if flush != Z_FINISH, stream.avail_in == 0, stream.avail_out != 0 { break }
            } while true
            stream.next_in = nil
        }
    }

    deinit { if !finished { deflateEnd(&stream) } }
}
