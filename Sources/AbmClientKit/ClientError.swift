import AbmWire

/// A client command fails with the project's one error type, `AbmError`: the server's refusals keep the
/// server's code (`missing_field`, `not_found`, …); the client adds `bad_input` (the user's file or flags),
/// `timeout` (no reply in time), `zmq` (a socket error) and `bad_reply` (an answer that is not the
/// protocol's). `AbmError.exitCode` maps each to the command's exit status.
extension AbmError {
    public static func badInput(_ message: String, field: String? = nil) -> AbmError {
        AbmError(code: .badInput, message: message, field: field)
    }

    public static func timeout(_ message: String) -> AbmError {
        AbmError(code: .timeout, message: message)
    }

    public static func transport(_ message: String) -> AbmError {
        AbmError(code: .transport, message: message)
    }

    public static func badReply(_ message: String) -> AbmError {
        AbmError(code: .badReply, message: message)
    }

    /// A refusal by the server (`rejected` ack or `ok:false` reply), with the server's code.
    public static func refused(code: ErrorCode, message: String, field: String?) -> AbmError {
        AbmError(code: code, message: message, field: field)
    }
}
