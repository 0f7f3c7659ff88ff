import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm status: not built yet") }
}
