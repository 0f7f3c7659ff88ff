import AbmWire
import Foundation

/// The global suppression list, in memory (loaded at start, extended after each commit), so the engine
/// can ask synchronously through `EngineContext`.
final class SuppressionList: Sendable {
    private let emails: Locked<Set<String>>

    init(_ initial: Set<String> = []) {
        emails = Locked(initial)
    }

    func contains(_ email: String) -> Bool {
        emails.withLock { $0.contains(email) }
    }

    func insert<S: Sequence>(contentsOf more: S) where S.Element == String {
        emails.withLock { $0.formUnion(more) }
    }

    func replace(with all: Set<String>) {
        emails.withLock { $0 = all }
    }

    var count: Int { emails.withLock { $0.count } }
}
