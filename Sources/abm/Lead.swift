import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Lead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm lead: not built yet") }
}
