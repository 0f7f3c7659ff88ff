import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm bench: not built yet") }
}
