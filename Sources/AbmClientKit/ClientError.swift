/// A failure of a client command: a stable `code`, a message for people naming the field, and the
/// process exit status it maps to.
///
/// Codes are the server's own (`rejected` acks and `ok:false` replies carry them through unchanged:
/// `missing_field`, `not_found`, …) plus the client's: `bad_input` (the user's file or flags),
/// `timeout` (no reply in time), `zmq` (a socket error), `bad_reply` (the server's answer is not the
/// protocol's).
public struct ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The offending field's path, when known (`lead.account_id`, `kind`).
    public var field: String?
    /// The exit status of the command that failed with this error.
    public var exitCode: Int32

    public init(code: String, message: String, field: String? = nil, exitCode: Int32) {
        self.code = code
        self.message = message
        self.field = field
        self.exitCode = exitCode
    }

    public var description: String {
        "\(code): \(message)" + (field.map { " (field \($0))" } ?? "")
    }

    /// Exit statuses: 1 = the server refused the request, 2 = bad input (file, flags),
    /// 3 = no reply in time, 4 = a socket or protocol failure.
    public enum Exit {
        public static let refused: Int32 = 1
        public static let badInput: Int32 = 2
        public static let timeout: Int32 = 3
        public static let transport: Int32 = 4
    }

    public static func badInput(_ message: String, field: String? = nil) -> ClientError {
        ClientError(code: "bad_input", message: message, field: field, exitCode: Exit.badInput)
    }

    public static func timeout(_ message: String) -> ClientError {
        ClientError(code: "timeout", message: message, exitCode: Exit.timeout)
    }

    public static func transport(_ message: String) -> ClientError {
        ClientError(code: "zmq", message: message, exitCode: Exit.transport)
    }

    public static func badReply(_ message: String) -> ClientError {
        ClientError(code: "bad_reply", message: message, exitCode: Exit.transport)
    }

    /// A refusal by the server (`rejected` ack or `ok:false` reply), with the server's code.
    public static func refused(code: String, message: String, field: String?) -> ClientError {
        ClientError(code: code, message: message, field: field, exitCode: Exit.refused)
    }
}
