import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm resume: not built yet") }
}
