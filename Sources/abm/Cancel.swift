import ArgumentParser

// PLACEHOLDER: replaced by the gateway/CLI work.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() async throws { throw ValidationError("abm cancel: not built yet") }
}
