/// The three endpoints of a server (CONTRACT.md defaults).
public struct AbmEndpoints: Sendable, Equatable {
    public var ingress: String
    public var control: String
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
}
