#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A commit message in the encoding its `encoding` header names, re-encoded to UTF-8 as git's
/// `log` does before it takes `%s` (pretty.c `repo_logmsg_reencode`, utf8.c `reencode_string`).
enum CommitEncoding {
    /// git's `is_encoding_utf8`: "utf-8" or "utf8" in any case.
    static func isUTF8(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered == "utf-8" || lowered == "utf8"
    }

    /// `bytes` converted from `encoding` to UTF-8; `nil` when iconv does not know the encoding
    /// or the bytes are not valid in it (git then shows the message as stored).
    static func utf8(_ bytes: [UInt8], from encoding: String) -> [UInt8]? {
        var converter = iconv_open("UTF-8", encoding)
        if converter == invalid {
            // git's fallback_encoding(): spellings some iconv builds do not know.
            converter = iconv_open("UTF-8", encoding.lowercased() == "latin-1" ? "ISO-8859-1" : encoding)
        }
        guard converter != invalid else { return nil }
        defer { iconv_close(converter) }

        var input = bytes.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: max(16, bytes.count * 4))
        var produced = 0
        var inputOffset = 0
        while true {
            let inputLeftBefore = input.count - inputOffset
            var status: Int = 0
            var failure: Int32 = 0
            var inputLeft = inputLeftBefore
            input.withUnsafeMutableBufferPointer { inputBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    var inputPointer: UnsafeMutablePointer<CChar>? = inputBuffer.baseAddress.map { $0 + inputOffset }
                    var outputPointer: UnsafeMutablePointer<CChar>? = outputBuffer.baseAddress! + produced
                    var outputLeft = outputBuffer.count - produced
                    // After the input, a call without input flushes a stateful encoding's shift state.
                    status = inputLeft > 0
                        ? iconv(converter, &inputPointer, &inputLeft, &outputPointer, &outputLeft)
                        : iconv(converter, nil, nil, &outputPointer, &outputLeft)
                    failure = errno
                    produced = outputBuffer.count - outputLeft
                }
            }
            inputOffset += inputLeftBefore - inputLeft
            if status != -1 {
                if inputLeftBefore == 0 { break }
                continue
            }
            // Out of room: grow the output and go on; anything else (EILSEQ, EINVAL) fails.
            guard failure == E2BIG else { return nil }
            output += [CChar](repeating: 0, count: output.count)
        }
        return output[..<produced].map { UInt8(bitPattern: $0) }
    }

    private static var invalid: iconv_t? { iconv_t(bitPattern: -1) }
}
