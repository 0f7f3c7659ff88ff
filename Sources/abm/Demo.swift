import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm demo: not built yet") }
}
