import AbmWire
import Foundation

/// Runs blocking work (synchronous ZeroMQ clients) on a dedicated thread, so that it never ties up
/// Swift's cooperative pool, which the embedded server's actors need meanwhile.
func onThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
        }
        thread.name = name
        thread.stackSize = 1 << 22
        thread.start()
    }
}

/// Progress for long-running commands, on standard error (a `\r`-rewritten line on a terminal).
struct Progress: Sendable {
    let isTerminal = isatty(STDERR_FILENO) != 0

    func update(_ text: String) {
        if isTerminal { FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8)) }
    }

    func line(_ text: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }
}
