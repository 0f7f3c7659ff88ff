import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm pause: not built yet") }
}
