import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm tail: not built yet") }
}
