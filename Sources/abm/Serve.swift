import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm serve: not built yet") }
}
