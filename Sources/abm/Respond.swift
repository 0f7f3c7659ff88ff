import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Respond: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm respond: not built yet") }
}
