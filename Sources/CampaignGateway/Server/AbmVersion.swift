import AbmWire
import CampaignStore
import ZeroMQ

/// What `abm --version` prints and the server's start line logs.
public enum AbmVersion {
    /// The release of this build. Raised with each release (docs/upgrading.md lists what changed).
    public static let current = "0.1.0"
    /// The wire protocol spoken (protocols/abm-wire-v1.md).
    public static let wireProtocol = "abm-wire-v1"

    /// `abm 0.1.0 (protocol abm-wire-v1, store schema v5-request-time, libzmq 4.3.4)`.
    public static var description: String {
        let z = zmqVersion()
        return "abm \(current) (protocol \(wireProtocol), store schema \(SQLiteStore.schemaVersion), "
            + "libzmq \(z.major).\(z.minor).\(z.patch))"
    }
}
