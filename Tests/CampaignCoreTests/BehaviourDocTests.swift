import AbmWire
import Foundation
import Testing

/// docs/campaign-behaviour.md names, for each rule, the test that shows it: every name must be a test that exists.
@Suite struct BehaviourDocTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func everyTestTheDocumentNamesExists() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/campaign-behaviour.md"), encoding: .utf8)
        let names = doc.matches(of: /`(?:[A-Za-z]+\/)?([A-Za-z]+Tests)\.([A-Za-z]+)`/).map { (String($0.1), String($0.2)) }
        #expect(names.count > 40)
        let tests = Self.root.appendingPathComponent("Tests")
        var sources: [String: String] = [:] // file name (the suite) → text
        for case let url as URL in FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil)!
        where url.pathExtension == "swift" {
            sources[url.deletingPathExtension().lastPathComponent, default: ""] += try String(contentsOf: url, encoding: .utf8)
        }
        for (suite, test) in names {
            let text = sources[suite] ?? ""
            #expect(text.contains("func \(test)("), "docs/campaign-behaviour.md names \(suite).\(test), which does not exist")
        }
    }
}
