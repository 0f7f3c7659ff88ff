/// The three endpoints of the server (protocols/abm-wire-v1.md §2). Any libzmq bind endpoint works; a
/// `tcp://127.0.0.1:*` bind takes an ephemeral port, readable afterwards from `AbmServer.endpoints`.
public struct AbmEndpoints: Sendable, Equatable, CustomStringConvertible {
    /// ROUTER for `lead` and `response`.
    public var ingress: String
    /// ROUTER for `pause`, `resume`, `cancel`, `status`, `events`, `clock.advance`.
    public var control: String
    /// PUB for events (`[topic][body]`).
    public var events: String

    public init(ingress: String = AbmEndpoints.defaultIngress, control: String = AbmEndpoints.defaultControl,
                events: String = AbmEndpoints.defaultEvents) {
        self.ingress = ingress
        self.control = control
        self.events = events
    }

    public static let defaultIngress = "tcp://127.0.0.1:5570"
    public static let defaultControl = "tcp://127.0.0.1:5571"
    public static let defaultEvents = "tcp://127.0.0.1:5572"

    /// Three ephemeral loopback ports (tests, `abm demo`, `abm bench`).
    public static let ephemeral = AbmEndpoints(ingress: "tcp://127.0.0.1:*", control: "tcp://127.0.0.1:*",
                                                   events: "tcp://127.0.0.1:*")

    /// One line per socket, `<name> <endpoint>`: what `abm serve` prints on start.
    public var description: String { "ingress \(ingress)\ncontrol \(control)\nevents \(events)" }
}
